"""The application around the handlers: the iteration job, crash reports, the error handler,
the polling conflict warning, and /status answering while the exchange hangs."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

import pytest
from peewee import Database

from compose import build_commands, build_exchange
from core.clock import ManualClock
from engine.events import ErrorNotice, LogNotifier
from engine.loader import strategy_for
from handlers.app import CANDLE_SLACK_SECONDS, TICK_JOB, build_application
from handlers.context import BOT_DATA_KEY, bot_context
from store.paper_orders import PaperOrders
from store.store import Store
from tests.factories import DATA_START, make_settings, run_for
from tests.fakes.telegram import (
    OWNER_ENV,
    QUIET,
    TOKEN,
    Chat,
    FakeTelegram,
    drive,
    eventually,
    make_command_update,
    running,
    strip_html,
)


class FaultyExchange:
    """The real paper exchange, with faults switched on by the test: a hang or an error."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.hang = False
        self.error: Exception | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def _gate(self) -> None:
        if self.error is not None:
            raise self.error
        if self.hang:
            await asyncio.Event().wait()

    async def fetch_tickers(self, pairs: list[str]) -> Any:
        await self._gate()
        return await self._inner.fetch_tickers(pairs)

    async def fetch_balance(self) -> Any:
        await self._gate()
        return await self._inner.fetch_balance()


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def rig(database: Database):
    """(chat, exchange, notifier, monotonic) over a real engine whose exchange can fail."""
    settings = make_settings(QUIET, OWNER_ENV)
    clock = ManualClock(DATA_START)
    strategy = strategy_for(settings)
    exchange = FaultyExchange(build_exchange(settings, strategy.timeframe, clock,
                                             PaperOrders(database)))
    notifier = LogNotifier()
    commands = build_commands(settings, strategy, exchange, clock, notifier, Store(database))
    tg = FakeTelegram()
    monotonic = FakeMonotonic()
    app = build_application(settings, commands, request=tg, get_updates_request=tg,
                            clock=clock, notifier=notifier, monotonic=monotonic)
    chat = Chat(app, tg)
    chat.commands = commands
    async with running(app):
        await run_for(commands, clock, 1)
        yield chat, exchange, notifier, monotonic


def errors_told(notifier: LogNotifier) -> list[str]:
    return [e.text for e in notifier.events if isinstance(e, ErrorNotice)]


async def run_tick(chat: Chat) -> None:
    (job,) = chat.app.job_queue.get_jobs_by_name(TICK_JOB)
    await job.run(chat.app)


async def test_the_iteration_job_never_overlaps_and_starts_just_after_a_boundary(rig) -> None:
    chat, *_ = rig
    (job,) = chat.app.job_queue.get_jobs_by_name(TICK_JOB)
    assert job.job.max_instances == 1
    assert job.job.coalesce is True
    assert job.job.trigger.interval.total_seconds() == 3600
    offset = job.next_t.timestamp() % 3600
    assert offset == pytest.approx(CANDLE_SLACK_SECONDS, abs=0.01)


async def test_the_handlers_collaborators_are_one_typed_context_in_bot_data(rig) -> None:
    chat, *_ = rig
    assert list(chat.app.bot_data) == [BOT_DATA_KEY]
    assert bot_context(chat.app).control is chat.commands


async def test_a_crashing_iteration_is_reported_once_per_window_and_the_next_one_runs(
        rig, caplog: pytest.LogCaptureFixture) -> None:
    chat, exchange, notifier, monotonic = rig
    exchange.error = RuntimeError(f"exploded near {TOKEN}")
    with caplog.at_level(logging.ERROR, logger="handlers.app"):
        for _ in range(3):
            await run_tick(chat)
    assert caplog.text.count("engine iteration failed") == 3
    (told,) = errors_told(notifier)
    assert "An iteration failed (RuntimeError: exploded near ***)" in told
    assert TOKEN not in told
    monotonic.now += 601
    await run_tick(chat)
    assert len(errors_told(notifier)) == 2
    exchange.error = None
    before = chat.commands.engine.last_process
    chat.commands.engine.clock.advance(timedelta(minutes=5))
    await run_tick(chat)
    assert chat.commands.engine.last_process > before


async def test_status_answers_at_once_while_the_exchange_hangs(rig) -> None:
    chat, exchange, *_ = rig
    await chat.say("/forceenter ETH/BTC")
    started = time.perf_counter()
    await chat.say("/status")
    usual = time.perf_counter() - started
    exchange.hang = True
    chat.commands.engine.clock.advance(timedelta(minutes=5))
    iteration = asyncio.create_task(chat.commands.process())
    balance = asyncio.create_task(drive(chat.app, make_command_update("/balance")))
    await asyncio.sleep(0.05)
    assert not iteration.done()
    assert not balance.done()
    started = time.perf_counter()
    text = await chat.say("/status")
    took = time.perf_counter() - started
    iteration.cancel()
    balance.cancel()
    await asyncio.gather(iteration, balance, return_exceptions=True)
    assert "Pair: ETH/BTC" in text
    assert took < max(0.5, 5 * usual)


async def test_an_unexpected_error_in_a_command_gets_a_short_reply_and_a_logged_traceback(
        rig, caplog: pytest.LogCaptureFixture) -> None:
    chat, exchange, *_ = rig
    exchange.error = RuntimeError(f"bad state {TOKEN}")
    with caplog.at_level(logging.ERROR, logger="handlers.app"):
        text = await chat.say("/balance")
    assert text == "Something went wrong with that command; the details are in the log (/logs)."
    assert "error while handling an update" in caplog.text
    assert "Traceback" in caplog.text


@pytest.mark.heavy
async def test_a_second_poller_on_the_same_token_is_reported_clearly_and_once(
        rig, caplog: pytest.LogCaptureFixture) -> None:
    chat, _exchange, notifier, _ = rig
    app = chat.app
    chat.tg.fail("conflict", method="getUpdates", times=2)

    def report(exc: Exception) -> None:  # what Application.run_polling wires up
        app.create_task(app.process_error(error=exc, update=None))

    with caplog.at_level(logging.ERROR, logger="handlers.app"):
        await app.updater.start_polling(error_callback=report)
        await eventually(lambda: caplog.text.count("another process is polling") >= 2)
        await app.updater.stop()
    assert "another process is polling this bot token; stop it" in caplog.text
    (told,) = errors_told(notifier)
    assert "another process is polling this bot token" in told


async def test_commands_typed_at_the_phone_arrive_through_polling(rig) -> None:
    chat, *_ = rig
    app = chat.app
    await app.updater.start_polling()
    await chat.tg.updates.put(make_command_update("/count"))
    await eventually(lambda: bool(chat.tg.messages))
    await app.updater.stop()
    assert "current  max" in strip_html(chat.tg.messages[-1].text)


async def test_an_iteration_outlasting_the_interval_skips_runs_without_a_warning_each(
        rig, caplog: pytest.LogCaptureFixture) -> None:
    """APScheduler logged "maximum number of running instances reached" once a second while an
    exchange outage made each iteration outlast a 1 s interval."""
    chat, *_ = rig
    release = asyncio.Event()

    async def slow(_context: Any) -> None:
        await release.wait()

    with caplog.at_level(logging.WARNING):
        chat.app.job_queue.run_repeating(slow, interval=0.05, first=0.0, name="slow",
                                         job_kwargs={"max_instances": 1, "coalesce": True})
        await asyncio.sleep(0.4)
        release.set()
        await asyncio.sleep(0.05)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("apscheduler")] == []
