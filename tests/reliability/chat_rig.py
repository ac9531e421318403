"""A real engine behind the real PTB Application over a FakeTelegram, with the durable outbox,
on a clock the test moves: the rig of the Telegram and database fault drills.

    async with open_rig(tmp_path) as rig:
        await rig.iterate(12)          # an hour of candles through the app's own tick job
        await rig.drain()              # the clock runs until the outbox is empty

The outbox sender's back-off sleeps on the test clock (ClockSleep), so an outage of hours takes
milliseconds and "the sender waited 45 s" is a fact about the clock, not about the host.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from peewee import Database
from telegram.request import RequestData

from core.clock import ManualClock
from engine.control.commands import Commands
from handlers.app import TICK_JOB, build_application
from handlers.notify import TelegramNotifier
from handlers.runner import ChatApp
from handlers.sender import OutboxSender
from store import models, schema
from store.outbox import Outbox
from tests.engine.scripted import Scripted
from tests.factories import DATA_START, make_engine, make_settings
from tests.fakes.telegram import OWNER_CHAT, OWNER_ENV, QUIET, FakeTelegram, running
from venues.exchange import Exchange

PAIR = "ETH/BTC"
FIVE = timedelta(minutes=5)
SETTINGS = {**QUIET, "exchange": {"pair_whitelist": [PAIR]}, "stake_amount": 0.05,
            "max_open_trades": 1}
# A round trip every hour: the entry signal on the half hour, the exit signal 20 minutes later.
ENTRIES = [DATA_START + timedelta(hours=h, minutes=30) for h in range(12)]
EXITS = [t + timedelta(minutes=20) for t in ENTRIES]


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


class TimedTelegram(FakeTelegram):
    """FakeTelegram that also notes when, on the test's clock, each sendMessage was tried."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self.clock = clock
        self.attempts: list[datetime] = []

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None,
                         connect_timeout: Any = None, pool_timeout: Any = None,
                         ) -> tuple[int, bytes]:
        if url.lower().endswith("/sendmessage"):
            self.attempts.append(self.clock.now())
        return await super().do_request(url, method, request_data, read_timeout, write_timeout,
                                        connect_timeout, pool_timeout)


@dataclass
class Rig:
    app: ChatApp
    tg: TimedTelegram
    commands: Commands
    clock: SignallingClock
    sender: OutboxSender
    sleep: ClockSleep

    async def iterate(self, count: int, step: timedelta = FIVE) -> None:
        """`count` iterations through the application's own tick job, `step` apart."""
        assert self.app.job_queue is not None
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
async def open_rig(tmp_path: Path, *, overrides: dict[str, Any] | None = None,
                   strategy: Scripted | None = None,
                   wrap: Callable[[Exchange], Exchange] | None = None,
                   clock: SignallingClock | None = None,
                   database: Database | None = None,
                   wait_for_telegram: bool = True) -> AsyncIterator[Rig]:
    """The rig on a database file in `tmp_path` (or on `database`, not yet opened); `wrap`
    replaces or decorates the exchange. Without `wait_for_telegram` the rig is handed over as
    soon as the engine runs, Telegram connected or not (`rig.app.connected` tells)."""
    clock = clock or SignallingClock(DATA_START)
    sleep = ClockSleep(clock)
    sender = OutboxSender(Outbox(), OWNER_CHAT, clock=clock, sleep=sleep)
    config = {**SETTINGS, **(overrides or {})}
    settings = make_settings(config, OWNER_ENV)
    notifier = TelegramNotifier(settings, sender.outbox, sender.wake, clock=clock)
    strategy = strategy or Scripted(enter={PAIR: ENTRIES}, exit_={PAIR: EXITS})
    commands = make_engine(tmp_path, settings_overrides=config, env=OWNER_ENV, clock=clock,
                           notifier=notifier, strategy=strategy, wrap=wrap, database=database)
    tg = TimedTelegram(clock)
    app = build_application(settings, commands, request=tg, get_updates_request=tg,
                            notifier=notifier, sender=sender, clock=clock)
    try:
        if wait_for_telegram:
            async with running(app):
                yield Rig(app, tg, commands, clock, sender, sleep)
        else:
            async with app.lifecycle(poll=False):
                yield Rig(app, tg, commands, clock, sender, sleep)
    finally:
        schema.close_db()


def outbox_rows() -> list[models.OutboxMessage]:
    return list(models.OutboxMessage.select().order_by(models.OutboxMessage.id))


def closed_trades() -> int:
    return models.Trade.select().where(~models.Trade.is_open).count()


def assert_chat_is_the_outbox(tg: FakeTelegram) -> None:
    """Every stored notification reached the chat exactly once, in the order it was written."""
    rows = outbox_rows()
    assert all(r.sent_at is not None for r in rows)
    assert tg.texts(OWNER_CHAT) == [r.text for r in rows]
