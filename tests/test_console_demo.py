"""The offline demo: the same Application and handlers on the console transport. Lines typed at
the prompt are commands, the terminal shows every message the bot would send."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from handlers.app import build_application
from handlers.auth import DEMO_CHAT_ID
from handlers.console import BANNER, ConsoleRequest, start_stdin_reader
from handlers.notify import TelegramNotifier
from handlers.sender import OutboxSender
from store.outbox import Outbox
from tests.factories import make_engine, make_settings, run_for
from tests.fakes.telegram import QUIET, eventually, running


class Terminal:
    """What the user sees, and a keyboard to type on."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.keyboard: asyncio.Queue[str] = asyncio.Queue()

    def show(self, text: str) -> None:
        self.lines.append(text)

    @property
    def screen(self) -> str:
        return "\n".join(self.lines)

    async def type(self, line: str) -> str:
        """Type a line and return what appeared on the screen in answer."""
        before = len(self.lines)
        await self.keyboard.put(line)
        await eventually(lambda: len(self.lines) > before)
        return "\n".join(self.lines[before:])


@pytest.fixture
async def demo(tmp_path: Path):
    """The offline demo as bot.py wires it without a token: console transport, outbox
    notifications, offline market and paper trading; iterations driven by the test."""
    terminal = Terminal()
    settings = make_settings(QUIET, {})
    outbox = Outbox()
    sender = OutboxSender(outbox, DEMO_CHAT_ID)
    notifier = TelegramNotifier(settings, outbox, sender.wake)
    commands = make_engine(tmp_path, settings_overrides=QUIET, notifier=notifier)
    console = ConsoleRequest(terminal.keyboard, terminal.show, photo_dir=tmp_path)
    app = build_application(settings, commands, request=console, get_updates_request=console,
                            clock=commands.engine.clock, notifier=notifier, sender=sender)
    async with running(app):
        await app.updater.start_polling(timeout=1)
        yield terminal, commands, sender
        await app.updater.stop()


async def iterate(commands, sender: OutboxSender, count: int = 1) -> None:
    await run_for(commands, commands.engine.clock, count)
    await asyncio.wait_for(sender.drained(), 5)


async def test_the_demo_trades_on_its_own_and_answers_status_and_profit(demo) -> None:
    terminal, commands, sender = demo
    await asyncio.wait_for(sender.drained(), 5)
    assert terminal.lines[0] == BANNER
    assert "DRY-RUN: simulated orders, no real money." in terminal.screen
    for _ in range(60):
        await iterate(commands, sender)
        if commands.trades(1):
            break
    assert "New Trade (#1)" in terminal.screen
    assert "Exited ETH/BTC (#1)" in terminal.screen
    status = await terminal.type("/status")
    assert "Trade ID:" in status or status == "No open trades."
    profit = await terminal.type("profit")
    assert "ROI: Closed trades" in profit
    assert "Win / Loss:" in profit
    assert "<b>" not in terminal.screen


async def test_typed_commands_and_numbered_buttons_drive_a_forced_trade(demo) -> None:
    terminal, commands, sender = demo
    await iterate(commands, sender)
    picker = await terminal.type("/forceenter")
    assert "Which pair should be entered?" in picker
    assert "[1] ADA/BTC" in picker
    entered = await terminal.type("1")
    assert "Entering ADA/BTC: trade #" in entered
    trade_id = commands.status()[-1].id
    assert "Exiting trade(s)" in await terminal.type(f"/forceexit {trade_id}")
    await iterate(commands, sender)
    assert f"Exited ADA/BTC (#{trade_id})" in terminal.screen


async def test_refresh_edits_are_shown_as_updates_of_the_same_message(demo) -> None:
    terminal, *_ = demo
    daily = await terminal.type("/daily 2")
    assert "[1] 🔄 Refresh" in daily
    updated = await terminal.type("1")
    assert updated.startswith("(message ")
    assert "updated)" in updated
    assert "Updated:" in updated


async def test_a_chart_is_saved_as_a_png_and_its_path_printed(demo, tmp_path: Path) -> None:
    terminal, *_ = demo
    shown = await terminal.type("/chart 3")
    assert shown.startswith(f"[picture saved to {tmp_path}")
    path = Path(shown.split("]")[0].removeprefix("[picture saved to "))
    assert path.parent == tmp_path
    assert (await asyncio.to_thread(path.read_bytes)).startswith(b"\x89PNG")


async def test_lines_typed_on_stdin_reach_the_bot() -> None:
    queue: asyncio.Queue[str] = asyncio.Queue()
    thread = start_stdin_reader(queue, asyncio.get_running_loop(), io.StringIO("/status\n/help\n"))
    first = await asyncio.wait_for(queue.get(), 5)
    second = await asyncio.wait_for(queue.get(), 5)
    thread.join(5)
    assert [first, second] == ["/status\n", "/help\n"]


def test_the_terminal_speaks_as_the_first_authorized_user() -> None:
    settings = make_settings({"telegram": {"authorized_users": [77, 88]}}, {})
    console = ConsoleRequest.for_terminal(settings)
    update = console._update_from("/status")
    assert update is not None
    assert update["message"]["from"]["id"] == 77
    assert update["message"]["chat"]["id"] == DEMO_CHAT_ID
