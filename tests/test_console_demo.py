"""The offline demo: the same Application and handlers on the console transport. Lines typed at
the prompt are commands, the terminal shows every message the bot would send."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from handlers.app import build_application
from handlers.auth import DEMO_CHAT_ID
from handlers.console import BANNER, INPUT_CLOSED, ConsoleRequest, start_stdin_reader
from handlers.notify import TelegramNotifier
from handlers.sender import OutboxSender
from store.outbox import Outbox
from tests.factories import make_engine, make_settings, run_for
from tests.fakes.telegram import QUIET, eventually, running

ROOT = Path(__file__).resolve().parents[1]


class Terminal:
    """What the user sees, and a keyboard to type on."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.keyboard: asyncio.Queue[str | None] = asyncio.Queue()
        self.stop_asked = asyncio.Event()

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


@asynccontextmanager
async def offline_demo(tmp_path: Path, photo_dir: Path | None) -> AsyncIterator[tuple]:
    """The offline demo as bot.py wires it without a token: console transport, outbox
    notifications, offline market and paper trading; iterations driven by the test."""
    terminal = Terminal()
    settings = make_settings(QUIET, {})
    outbox = Outbox()
    sender = OutboxSender(outbox, DEMO_CHAT_ID)
    notifier = TelegramNotifier(settings, outbox, sender.wake)
    commands = make_engine(tmp_path, settings_overrides=QUIET, notifier=notifier)
    console = ConsoleRequest(terminal.keyboard, terminal.show, stop=terminal.stop_asked.set,
                             photo_dir=photo_dir)
    app = build_application(settings, commands, request=console, get_updates_request=console,
                            clock=commands.engine.clock, notifier=notifier, sender=sender)
    async with running(app):
        await app.updater.start_polling(timeout=1)
        try:
            yield terminal, commands, sender
        finally:
            await app.updater.stop()


@pytest.fixture
async def demo(tmp_path: Path):
    async with offline_demo(tmp_path, photo_dir=tmp_path) as parts:
        yield parts


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


async def test_without_a_folder_given_charts_go_to_one_removed_when_the_bot_stops(
    tmp_path: Path
) -> None:
    async with offline_demo(tmp_path, photo_dir=None) as (terminal, _commands, sender):
        await asyncio.wait_for(sender.drained(), 5)
        shown = await terminal.type("/chart 3")
        path = Path(shown.split("]")[0].removeprefix("[picture saved to "))
        assert path.parent != tmp_path
        assert (await asyncio.to_thread(path.read_bytes)).startswith(b"\x89PNG")
    assert not path.parent.exists()


async def test_the_end_of_the_input_says_stopping_and_stops_the_bot(demo) -> None:
    terminal, _commands, sender = demo
    await asyncio.wait_for(sender.drained(), 5)
    await terminal.type("/status")
    await terminal.keyboard.put(None)
    await asyncio.wait_for(terminal.stop_asked.wait(), 5)
    assert terminal.lines[-1] == INPUT_CLOSED


async def test_lines_typed_on_stdin_reach_the_bot_then_the_end_of_the_input() -> None:
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    thread = start_stdin_reader(queue, asyncio.get_running_loop(), io.StringIO("/status\n/help\n"))
    typed = [await asyncio.wait_for(queue.get(), 5) for _ in range(3)]
    thread.join(5)
    assert typed == ["/status\n", "/help\n", None]


def test_the_terminal_speaks_as_the_first_authorized_user() -> None:
    settings = make_settings({"telegram": {"authorized_users": [77, 88]}}, {})
    console = ConsoleRequest.for_terminal(settings, stop=lambda: None)
    update = console._update_from("/status")
    assert update is not None
    assert update["message"]["from"]["id"] == 77
    assert update["message"]["chat"]["id"] == DEMO_CHAT_ID


# --- the real process: `make run` with no .env ----------------------------------------------


@dataclass(frozen=True)
class DemoRun:
    ended_by_ctrl_d: bool  # else it was still running 30 s later and got Ctrl-C
    returncode: int
    stdout: str
    stderr: str
    log_file: str
    chart: Path


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """bot.py with no token and no config, as `make run` starts it: /chart typed at its
    terminal, then the input closed (Ctrl-D) once the picture is shown."""
    folder = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "EXCHANGE_"))}
    lines: list[str] = []
    shown = threading.Event()
    with (folder / "stderr.txt").open("w") as stderr, subprocess.Popen(
            [sys.executable, str(ROOT / "bot.py"), "--logfile", "bot.log"], cwd=folder,
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
            text=True) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        output = process.stdout

        def read() -> None:
            for line in output:
                lines.append(line)
                if line.startswith("[picture saved to "):
                    shown.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        process.stdin.write("/chart 3\n")
        process.stdin.flush()
        assert shown.wait(60), "".join(lines)
        process.stdin.close()
        try:
            process.wait(30)
            ended_by_ctrl_d = True
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)
            process.wait(30)
            ended_by_ctrl_d = False
        reader.join(5)
    chart = next(line for line in lines if line.startswith("[picture saved to "))
    return DemoRun(ended_by_ctrl_d, process.returncode, "".join(lines),
                   (folder / "stderr.txt").read_text(), (folder / "bot.log").read_text(),
                   Path(chart.split("]")[0].removeprefix("[picture saved to ")))


@pytest.mark.heavy
def test_ctrl_d_stops_the_demo_saying_so_with_exit_status_0(demo_run: DemoRun) -> None:
    assert demo_run.ended_by_ctrl_d
    assert demo_run.returncode == 0
    assert demo_run.stdout.splitlines()[-1] == INPUT_CLOSED
    assert "Traceback" not in demo_run.stderr


@pytest.mark.heavy
def test_the_demo_terminal_shows_the_chat_and_its_log_lines_go_to_the_log_file(
    demo_run: DemoRun
) -> None:
    assert " INFO " not in demo_run.stderr
    assert " INFO tradepilot: tradepilot " in demo_run.log_file
    assert " INFO engine.engine: started: DRY-RUN, offline" in demo_run.log_file


@pytest.mark.heavy
def test_the_demo_removes_its_chart_folder_when_it_stops(demo_run: DemoRun) -> None:
    assert demo_run.chart.name.endswith(".png")
    assert not demo_run.chart.parent.exists()
