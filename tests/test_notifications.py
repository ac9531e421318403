"""Notifications: formatted, filtered by notification_settings, stored in the outbox, and
delivered in order, once, through outages, flood limits and restarts."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from peewee import Database
from telegram import Bot

from engine.events import (
    EntryCancelled,
    EntryFilled,
    EntryPlaced,
    ErrorNotice,
    Event,
    ExitCancelled,
    ExitFilled,
    ExitPlaced,
    GlobalProtectionTriggered,
    ProtectionTriggered,
    ReplayLapStarted,
    Startup,
    WarningNotice,
)
from handlers.notify import TelegramNotifier, format_event
from handlers.sender import OutboxSender
from store import models
from store.outbox import Outbox
from tests.factories import make_settings, run_for
from tests.fakes.telegram import (
    OWNER_CHAT,
    OWNER_ENV,
    QUIET,
    TOKEN,
    FakeTelegram,
    html_problem,
    open_chat,
    strip_html,
)

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


class VirtualSleep:
    """Sleeps that take no real time; heals the fake Telegram once `outage` seconds passed."""

    def __init__(self, tg: FakeTelegram | None = None, outage: float = float("inf")) -> None:
        self.tg = tg
        self.outage = outage
        self.waits: list[float] = []
        self.called = asyncio.Event()

    async def until(self, count: int) -> None:
        """Wait (for real) until the sender has backed off `count` times."""
        while len(self.waits) < count:
            self.called.clear()
            await self.called.wait()

    @property
    def elapsed(self) -> float:
        return sum(self.waits)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.called.set()
        if self.tg is not None and self.elapsed >= self.outage:
            self.tg.heal()
        await asyncio.sleep(0.001)


class BrokenOutbox(Outbox):
    def add(self, kind: str, text: str, silent: bool, now: datetime) -> int:
        raise OSError("disk full")


def notifier_for(overrides: dict | None = None, outbox: Outbox | None = None,
                 wake=lambda: None) -> TelegramNotifier:
    settings = make_settings({**QUIET, **(overrides or {})}, OWNER_ENV)
    return TelegramNotifier(settings, outbox or Outbox(), wake)


def rows() -> list[models.OutboxMessage]:
    return list(models.OutboxMessage.select().order_by(models.OutboxMessage.id))


def exit_fill(reason: str = "roi", ratio: float = 0.031) -> ExitFilled:
    return ExitFilled(trade_id=3, pair="ETH/BTC", amount=1.5, open_rate=0.05, close_rate=0.0516,
                      exit_reason=reason, enter_tag="<tag>", profit_ratio=ratio,
                      profit_abs=0.00233, stake_currency="BTC", open_date=T0,
                      close_date=T0 + timedelta(hours=2, minutes=10), partial=False)


EVENTS: list[Event] = [
    EntryPlaced(1, "ETH/BTC", 1.0, 0.05, 0.05, "BTC", "limit", "a<b", 0.0501, "offline", True),
    EntryFilled(1, "ETH/BTC", 1.0, 0.05, 0.05, "BTC", None),
    EntryCancelled(1, "ETH/BTC", "timeout & gone", partial=True),
    ExitPlaced(1, "ETH/BTC", 1.0, 0.05, 0.052, 0.0521, "roi", None, 0.04, 0.002, "BTC", "limit"),
    exit_fill(),
    ExitCancelled(1, "ETH/BTC", "<unfilled>"),
    ProtectionTriggered("ETH/BTC", T0, "StoplossGuard"),
    GlobalProtectionTriggered(T0, "MaxDrawdown > 10%"),
    WarningNotice("balance <low> & falling"),
    ErrorNotice("boom </b>"),
    ReplayLapStarted(2, T0, T0 - timedelta(days=20), T0 - timedelta(minutes=5)),
    Startup(True, "offline", "S", "5m", "0.05", "BTC", 3, {"0": 0.04, "30": 0.02}, -0.1, False,
            ("ETH/BTC",), "running", 0, "checked 0 open orders"),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.kind)
def test_every_event_becomes_a_message_telegram_accepts(event: Event) -> None:
    text = format_event(event, "offline (dry)")
    assert html_problem(text) is None
    assert strip_html(text).strip()


def test_exit_fill_shows_profit_and_duration() -> None:
    text = strip_html(format_event(exit_fill(), "offline (dry)"))
    assert "Exited ETH/BTC (#3)" in text
    assert "Profit: 3.10% (0.00233 BTC)" in text
    assert "Duration: 2h 10m" in text


def test_an_addition_says_added_to_the_trade_with_its_new_average() -> None:
    placed = strip_html(format_event(EntryPlaced(
        4, "ETH/BTC", 0.6, 0.048, 0.0288, "BTC", "limit", "dca1", 0.048, "offline", True,
        addition=True), "offline (dry)"))
    filled = strip_html(format_event(EntryFilled(4, "ETH/BTC", 1.6, 0.0493, 0.07888, "BTC",
                                                 None, addition=True), "offline (dry)"))
    assert "Adding to #4" in placed
    assert "New Trade" not in placed + filled
    assert "Addition filled, added to #4" in filled
    assert "Amount: 1.6" in filled
    assert "Open Rate: 0.0493" in filled


def test_a_partial_exit_says_so_with_the_realized_profit() -> None:
    event = ExitFilled(trade_id=3, pair="ETH/BTC", amount=0.5, open_rate=0.05,
                       close_rate=0.0516, exit_reason="partial_exit", enter_tag=None,
                       profit_ratio=0.03, profit_abs=0.00078, stake_currency="BTC",
                       open_date=T0, close_date=T0 + timedelta(hours=1), partial=True)
    text = strip_html(format_event(event, "offline (dry)"))
    assert "Partial exit of ETH/BTC (#3)" in text
    assert "Realized Profit: 0.00078 BTC" in text


@pytest.mark.parametrize(("dry_run", "mode"), [(True, "DRY-RUN"), (False, "LIVE")])
def test_the_startup_message_says_live_or_dry_run_first(dry_run: bool, mode: str) -> None:
    event = Startup(dry_run, "binance", "S", "5m", "0.05", "BTC", 3, {}, -0.1, True, (), "running",
                    0, "ok")
    first = strip_html(format_event(event, "binance")).splitlines()[0]
    assert mode in first
    assert ("LIVE" in first) != ("DRY-RUN" in first)


def test_notification_settings_on_silent_off_and_per_exit_reason(database: Database) -> None:
    notifier = notifier_for({"telegram": {"notification_settings": {
        "warning": "silent", "startup": "off", "exit_fill": {"stop_loss": "off", "roi": "silent"},
    }}})
    notifier.notify(WarningNotice("w"))
    notifier.notify(Startup(True, "offline", "S", "5m", "0.05", "BTC", 3, {}, -0.1, False, (),
                            "running", 0, "ok"))
    notifier.notify(exit_fill("stop_loss", -0.05))
    notifier.notify(exit_fill("roi"))
    notifier.notify(exit_fill("force_exit"))
    notifier.notify(ErrorNotice("e"))
    assert [(r.kind, r.silent) for r in rows()] == [
        ("warning", True), ("exit_fill", True), ("exit_fill", False), ("error", False)]


def test_entry_fill_is_off_by_default_as_in_freqtrade(database: Database) -> None:
    notifier = notifier_for()
    notifier.notify(EVENTS[1])
    notifier.notify(EVENTS[0])
    assert [r.kind for r in rows()] == ["entry"]


def test_notify_never_raises_when_the_outbox_fails(database: Database) -> None:
    woken: list[bool] = []
    notifier = notifier_for(outbox=BrokenOutbox(), wake=lambda: woken.append(True))
    notifier.notify(WarningNotice("w"))
    assert woken == []
    assert rows() == []


async def deliver(tg: FakeTelegram, sleep: VirtualSleep, count: int) -> list[str]:
    """Run a sender over `tg` until the outbox is empty; the texts the chat received."""
    outbox = Outbox()
    sender = OutboxSender(outbox, OWNER_CHAT, sleep=sleep)
    async with Bot(TOKEN, request=tg) as bot:
        sender.start(bot)
        await asyncio.wait_for(sender.drained(), 10)
        await sender.stop()
    assert outbox.count_pending() == 0
    return [strip_html(t) for t in tg.texts(OWNER_CHAT)][-count:]


async def test_messages_go_out_in_order_and_flood_limits_are_waited_out(
        database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # RetryAfter without the v22.2 deprecation
    notifier = notifier_for()
    for i in range(5):
        notifier.notify(WarningNotice(f"message {i}"))
    tg = FakeTelegram()
    tg.fail("429", times=1, method="sendMessage", retry_after=7)
    tg.fail("502", times=2, method="sendMessage")
    sleep = VirtualSleep()
    texts = await deliver(tg, sleep, 5)
    assert texts == [f"⚠️ Warning: message {i}" for i in range(5)]
    assert sleep.waits == [7.0, 1.0, 2.0]


async def test_an_unparsable_message_is_set_aside_and_other_400s_are_retried(
        database: Database) -> None:
    outbox = Outbox()
    outbox.add("warning", "first", False, T0)
    outbox.add("warning", "broken <b>", False, T0)
    outbox.add("warning", "third", False, T0)
    tg = FakeTelegram()
    tg.fail("bad_request", times=1, method="sendMessage", description="Bad Request: chat not "
            "found")
    texts = await deliver(tg, VirtualSleep(), 2)
    assert texts == ["first", "third"]
    assert all(r.sent_at is not None for r in rows())


async def test_back_off_is_exponential_and_capped(database: Database) -> None:
    notifier_for().notify(WarningNotice("late"))
    tg = FakeTelegram()
    tg.fail("down", times=10, method="sendMessage")
    sleep = VirtualSleep()
    assert await deliver(tg, sleep, 1) == ["⚠️ Warning: late"]
    assert sleep.waits == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]


async def test_notifications_survive_an_outage_of_minutes_and_a_restart(tmp_path) -> None:
    tg = FakeTelegram()
    tg.fail("down", times=None)
    sleep = VirtualSleep(tg, outage=6 * 60)

    async def run(first: int) -> None:
        outbox = Outbox()
        sender = OutboxSender(outbox, OWNER_CHAT, sleep=sleep)
        notifier = notifier_for(outbox=outbox, wake=sender.wake)
        async with open_chat(tmp_path, tg=tg, notifier=notifier, sender=sender):
            for i in range(first, first + 3):
                notifier.notify(WarningNotice(f"message {i}"))
            if first == 0:
                await asyncio.wait_for(sleep.until(3), 10)
                await sender.stop()  # the process dies in the middle of the outage
            else:
                await asyncio.wait_for(sender.drained(), 10)

    await run(0)
    assert tg.texts(OWNER_CHAT) == []
    await run(3)
    assert sleep.elapsed >= 6 * 60
    delivered = [strip_html(t) for t in tg.texts(OWNER_CHAT)]
    stored = [strip_html(r.text) for r in rows()]
    assert delivered == stored
    assert all(r.sent_at is not None for r in rows())
    mine = [t for t in delivered if t.startswith("⚠️ Warning: message")]
    assert mine == [f"⚠️ Warning: message {i}" for i in range(6)]


async def test_a_hanging_telegram_never_slows_the_engine(tmp_path) -> None:
    outbox = Outbox()
    sender = OutboxSender(outbox, OWNER_CHAT)
    notifier = notifier_for(outbox=outbox, wake=sender.wake)
    tg = FakeTelegram()
    async with open_chat(tmp_path, tg=tg, notifier=notifier, sender=sender) as chat:
        await run_for(chat.commands, chat.commands.engine.clock, 1)
        tg.delay = 30.0
        started = time.perf_counter()
        await chat.commands.force_entry("ETH/BTC")
        await chat.commands.force_exit(1)
        await run_for(chat.commands, chat.commands.engine.clock, 2)
        assert time.perf_counter() - started < 2.0
        tg.delay = 0.0
        await sender.stop()
        sender.start(chat.app.bot)
        await asyncio.wait_for(sender.drained(), 10)
    texts = [strip_html(t) for t in tg.texts(OWNER_CHAT)]
    assert any("New Trade (#1)" in t for t in texts)
    assert any("Exited ETH/BTC (#1)" in t and "Duration:" in t for t in texts)
    assert texts[0].startswith("🧪 DRY-RUN")
