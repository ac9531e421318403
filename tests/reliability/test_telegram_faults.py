"""Telegram faults: the Bot API down, slow, flood-limited, answering 502, and a second process
polling the same token. Trading goes on meanwhile; the notifications written during the fault
reach the chat once Telegram heals, late but complete, in order and once each.

The real PTB Application (handlers.app.build_application) runs over tests.fakes.telegram's
FakeTelegram, on a real engine trading the shipped candles on the paper exchange. The outbox
sender's back-off sleeps on the test's ManualClock, so a two-hour outage takes milliseconds.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from telegram.request import RequestData

import models
from engine.clock import ManualClock
from engine.commands import Commands
from engine.outbox import Outbox
from handlers.app import TICK_JOB, App, build_application
from handlers.notify import TelegramNotifier
from handlers.sender import OutboxSender
from tests.engine.scripted import Scripted
from tests.factories import DATA_START, make_engine, make_settings
from tests.fakes.telegram import (
    OWNER_CHAT,
    OWNER_ENV,
    QUIET,
    FakeTelegram,
    eventually,
    make_command_update,
    running,
    strip_html,
)

PAIR = "ETH/BTC"
FIVE = timedelta(minutes=5)
SETTINGS = {**QUIET, "exchange": {"pair_whitelist": [PAIR]}, "stake_amount": 0.05,
            "max_open_trades": 1}
# A round trip every hour: the entry signal on the half hour, the exit signal 20 minutes later.
ENTRIES = [DATA_START + timedelta(hours=h, minutes=30) for h in range(12)]
EXITS = [t + timedelta(minutes=20) for t in ENTRIES]


class TimedTelegram(FakeTelegram):
    """FakeTelegram that also notes when, on the test's clock, each sendMessage was tried."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self.clock = clock
        self.attempts: list[datetime] = []

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         **timeouts: Any) -> tuple[int, bytes]:
        if url.lower().endswith("/sendmessage"):
            self.attempts.append(self.clock.now())
        return await super().do_request(url, method, request_data, **timeouts)


class SignallingClock(ManualClock):
    """A ManualClock that wakes whoever waits for it to move."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.moved = asyncio.Event()

    def advance(self, delta: timedelta) -> None:
        super().advance(delta)
        self.moved.set()


class ClockSleep:
    """The sender's sleep, on the test's clock: it returns once the clock moved `seconds`."""

    def __init__(self, clock: SignallingClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        until = self.clock.now() + timedelta(seconds=seconds)
        while self.clock.now() < until:
            self.clock.moved.clear()
            await self.clock.moved.wait()


@dataclass
class Rig:
    app: App
    tg: TimedTelegram
    commands: Commands
    clock: SignallingClock
    sender: OutboxSender
    sleep: ClockSleep

    async def iterate(self, count: int, step: timedelta = FIVE) -> None:
        """`count` iterations through the application's own tick job, `step` apart."""
        (job,) = self.app.job_queue.get_jobs_by_name(TICK_JOB)
        for _ in range(count):
            self.clock.advance(step)
            await job.run(self.app)
            assert self.commands.engine.last_process == self.clock.now()
            await asyncio.sleep(0.005)  # the sender's turn, as between real iterations

    async def drain(self, within: float = 10.0) -> None:
        """Let the clock run until the outbox is empty (back-offs of up to a minute elapse)."""
        outbox = self.sender.outbox
        deadline = asyncio.get_running_loop().time() + within
        while outbox.count_pending():
            assert asyncio.get_running_loop().time() < deadline, "outbox never drained"
            self.clock.advance(timedelta(seconds=61))
            await asyncio.sleep(0.01)


@asynccontextmanager
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    clock = SignallingClock(DATA_START)
    sleep = ClockSleep(clock)
    sender = OutboxSender(Outbox(), OWNER_CHAT, clock=clock, sleep=sleep)
    settings = make_settings(SETTINGS, OWNER_ENV)
    notifier = TelegramNotifier(settings, sender.outbox, sender.wake, clock=clock)
    commands = make_engine(tmp_path, settings_overrides=SETTINGS, env=OWNER_ENV, clock=clock,
                           notifier=notifier, strategy=Scripted(enter={PAIR: ENTRIES},
                                                                exit_={PAIR: EXITS}))
    tg = TimedTelegram(clock)
    app = build_application(settings, commands, request=tg, get_updates_request=tg,
                            notifier=notifier, sender=sender, clock=clock)
    async with running(app):
        yield Rig(app, tg, commands, clock, sender, sleep)
    models.close_db()


def outbox_rows() -> list[models.OutboxMessage]:
    return list(models.OutboxMessage.select().order_by(models.OutboxMessage.id))


def closed_trades() -> int:
    return models.Trade.select().where(~models.Trade.is_open).count()


def assert_chat_is_the_outbox(tg: FakeTelegram) -> None:
    """Every stored notification reached the chat exactly once, in the order it was written."""
    rows = outbox_rows()
    assert all(r.sent_at is not None for r in rows)
    assert tg.texts(OWNER_CHAT) == [r.text for r in rows]


FAULTS = ["down", "slow", "502"]


@pytest.mark.parametrize("kind", FAULTS)
async def test_trading_goes_on_while_telegram_fails_and_every_notification_arrives_after(
        tmp_path: Path, kind: str) -> None:
    async with rig(tmp_path) as r:
        await r.iterate(2)
        await r.drain()
        before = len(r.tg.texts())
        r.tg.fail(kind, times=None)
        outage_start = r.clock.now()
        await r.iterate(48)  # four hours of candles
        assert closed_trades() >= 3
        assert len(r.tg.texts()) == before
        waiting = r.sender.outbox.count_pending()
        assert waiting >= 9  # entry, exit and exit fill of each round trip
        r.tg.heal()
        await r.drain()
        healed_at = r.clock.now()
    assert_chat_is_the_outbox(r.tg)
    late = outbox_rows()[before:]
    assert len(late) == waiting
    assert all(outage_start <= r.created_at < r.sent_at for r in late)
    assert all(r.sent_at <= healed_at for r in late)
    texts = [strip_html(t) for t in r.tg.texts()[before:]]
    for trade in models.Trade.select().where(~models.Trade.is_open):
        mine = [t for t in texts if f"(#{trade.id})" in t]
        assert [t.split(":", 1)[1].split("(")[0].strip().split()[0] for t in mine] == [
            "New", "Exiting", "Exited"]


async def test_a_flood_limit_is_waited_out_for_its_retry_after_and_trading_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # RetryAfter without the v22.2 deprecation
    retry_after = 45
    async with rig(tmp_path) as r:
        await r.iterate(3)
        await r.drain()
        before, tried = len(r.tg.texts()), len(r.tg.attempts)
        r.tg.fail("429", times=4, method="sendMessage", retry_after=retry_after)
        await r.iterate(135, step=timedelta(seconds=20))  # 45 minutes: one round trip
        assert closed_trades() == 1
        await r.drain()
    assert_chat_is_the_outbox(r.tg)
    assert len(r.tg.texts()) - before == 3
    attempts = r.tg.attempts[tried:]
    assert len(attempts) == 4 + 3
    refused = attempts[:5]  # each 429 is followed by the next try of the same message
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(refused)]
    assert all(gap >= retry_after for gap in gaps)
    assert r.sleep.waits.count(float(retry_after)) == 4


async def test_a_second_poller_is_reported_once_while_trading_and_notifications_go_on(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with rig(tmp_path) as r:
        await r.iterate(2)
        await r.drain()
        app = r.app

        def report(exc: Exception) -> None:  # what Application.run_polling wires up
            app.create_task(app.process_error(error=exc, update=None))

        r.tg.fail("conflict", method="getUpdates", times=2)
        with caplog.at_level(logging.ERROR, logger="handlers.app"):
            await app.updater.start_polling(error_callback=report, drop_pending_updates=True)
            await r.iterate(24)  # two hours of candles while the other process polls
            await eventually(lambda: caplog.text.count("another process is polling") >= 2)
            await r.drain()
            await r.tg.updates.put(make_command_update("/count"))
            await eventually(lambda: any("current" in t for t in r.tg.texts()))
            await app.updater.stop()
        assert closed_trades() == 2
    assert caplog.text.count("Telegram refused getUpdates: Conflict") == 2
    notices = [strip_html(t) for t in r.tg.texts() if "conflict" in t]
    assert notices == ["❌ Error: Telegram reports a conflict: another process is polling this "
                       "bot token; stop it (a second copy of the bot, a container or a test run)"
                       ", or commands will not get replies."]
    reply = r.tg.texts()[-1]
    assert "current" in strip_html(reply)
    rows = outbox_rows()
    assert all(row.sent_at is not None for row in rows)
    assert r.tg.texts()[:-1] == [row.text for row in rows]
