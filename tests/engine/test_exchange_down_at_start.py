"""An exchange that is down when the bot starts: the bot starts anyway, tells the owner once,
keeps iterating, and trades once the exchange answers; with only the markets down, the
markets the last run stored let reconciliation and the stops go on.

Live engines (real ccxt binance through CcxtExchange) against the fake Binance.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from compose import build_commands
from core.clock import ManualClock
from engine.control.commands import Commands
from engine.events import LogNotifier, Startup, WarningNotice
from engine.startup import MARKETS_KEY
from store import schema
from store.store import Store
from tests.databases import url_for
from tests.engine.scripted import Scripted
from tests.factories import make_settings
from tests.fakes import FakeExchangeServer, Fault, RecordingSleep

PAIR = "ETH/BTC"
START = datetime(2018, 1, 20, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)
SETTINGS = {
    "dry_run": False, "stake_amount": 0.05, "max_open_trades": 1,
    "exchange": {"name": "binance", "pair_whitelist": [PAIR]},
}  # fmt: skip
KEYS = {"EXCHANGE_API_KEY": "test-key", "EXCHANGE_API_SECRET": "test-secret"}
ALWAYS = list(pd.date_range(START - timedelta(days=1), START + timedelta(days=1), freq="5min"))


def engine_on(server: FakeExchangeServer, clock: ManualClock, database_url: str,
              notifier: LogNotifier, strategy: Scripted) -> Commands:
    settings = make_settings(SETTINGS, KEYS)
    strategy.apply_overrides(settings.strategy_overrides())
    exchange = server.ccxt_exchange(clock, sleep=RecordingSleep(), retries=1, backoff_base=0.1)
    return build_commands(settings, strategy, exchange, clock, notifier,
                          Store(schema.init_db(database_url)))


def warnings(notifier: LogNotifier) -> list[str]:
    return [e.text for e in notifier.events if isinstance(e, WarningNotice)]


def started(notifier: LogNotifier) -> list[Startup]:
    return [e for e in notifier.events if isinstance(e, Startup)]


async def test_a_start_with_the_exchange_down_for_15_minutes_is_told_once_and_trades_after(
        ) -> None:
    clock = ManualClock(START)
    notifier = LogNotifier()
    async with FakeExchangeServer(clock, balances={"BTC": "1"}) as server:
        server.inject("*", Fault.UNAVAILABLE, duration=timedelta(minutes=15))
        commands = engine_on(server, clock, url_for(), notifier,
                             Scripted(enter={PAIR: ALWAYS}))
        try:
            await commands.startup()
            while clock.now() < START + timedelta(minutes=15):
                await commands.process()
                clock.advance(STEP)
            assert server.orders() == []
            assert started(notifier) == []
            assert len(warnings(notifier)) == 1
            assert "unavailable at start-up" in warnings(notifier)[0]

            await commands.process()

            (startup,) = started(notifier)
            assert startup.dry_run is False
            assert [o.side for o in server.orders(PAIR)] == ["BUY"]
            assert warnings(notifier)[1:] == ["Exchange reachable again."]
        finally:
            await commands.shutdown()
            schema.close_db()


async def test_with_only_the_markets_down_at_a_restart_the_stored_markets_let_the_stop_fire(
        tmp_path: Path) -> None:
    clock = ManualClock(START)
    url = url_for(tmp_path, "bot")
    async with FakeExchangeServer(clock, balances={"BTC": "1"}) as server:
        strategy = Scripted(enter={PAIR: [START - STEP]}, stoploss=-0.1)
        first = engine_on(server, clock, url, LogNotifier(), strategy)
        try:
            await first.startup()
            await first.process()
            (entry,) = server.orders(PAIR)
            server.fill(entry.order_id)
            clock.advance(STEP)
            await first.process()
            (trade,) = first.store.open_trades()
            assert trade.amount > 0
        finally:
            await first.shutdown()
            schema.close_db()

        server.inject("/api/v3/exchangeInfo", Fault.UNAVAILABLE, duration=timedelta(days=1))
        server.set_price(PAIR, float(entry.price) * 0.5)
        notifier = LogNotifier()
        second = engine_on(server, clock, url, notifier, Scripted(stoploss=-0.1))
        try:
            clock.advance(STEP)
            await second.startup()
            assert len(started(notifier)) == 1
            await second.process()
            sides = [o.side for o in server.orders(PAIR)]
            assert sides == ["BUY", "SELL"]
            (trade,) = second.store.open_trades()
            assert trade.exit_reason == "stop_loss"
        finally:
            await second.shutdown()
            schema.close_db()


async def test_through_an_hour_down_at_start_the_attempts_space_out_to_five_minutes_and_it_trades_after(  # noqa: E501
        ) -> None:
    """It retried every iteration (720 start-up attempts in the hour at 5 s); now the pause
    doubles from one interval up to five minutes, the owner hears of it once, and the first
    attempt after the exchange is back, at most five minutes later, trades."""
    clock = ManualClock(START)
    notifier = LogNotifier()
    outage = timedelta(hours=1)
    interval = timedelta(seconds=5)  # internals.process_throttle_secs, the default
    async with FakeExchangeServer(clock, balances={"BTC": "1"}) as server:
        server.inject("*", Fault.UNAVAILABLE, duration=outage)
        commands = engine_on(server, clock, "sqlite:///:memory:", notifier,
                             Scripted(enter={PAIR: ALWAYS}))
        try:
            attempts = []
            await commands.startup()
            while not started(notifier):
                before = server.requests_to("/api/v3/exchangeInfo")
                await commands.process()
                if server.requests_to("/api/v3/exchangeInfo") != before:
                    attempts.append(clock.now() - START)
                clock.advance(interval)
                assert clock.now() < START + outage + timedelta(minutes=6)
            late = attempts[-1] - outage
            pauses = [b - a for a, b in zip([timedelta(0), *attempts], attempts, strict=False)]
        finally:
            await commands.shutdown()
            schema.close_db()
    assert [p.total_seconds() for p in pauses[:7]] == [5, 10, 20, 40, 80, 160, 300]
    assert set(pauses[7:]) == {timedelta(minutes=5)}
    assert len(attempts) == 17  # after the one at start-up; 720 without the pauses
    assert timedelta(0) <= late <= timedelta(minutes=5)
    assert [o.side for o in server.orders(PAIR)] == ["BUY"]
    assert warnings(notifier)[0].startswith("Exchange unavailable at start-up")
    assert "growing pauses (at most 5 minutes)" in warnings(notifier)[0]
    assert warnings(notifier)[1:] == ["Exchange reachable again."]


async def test_a_market_changed_on_the_exchange_is_stored_again_at_the_next_markets_refresh(
        ) -> None:
    clock = ManualClock(START)
    async with FakeExchangeServer(clock, balances={"BTC": "1"}) as server:
        commands = engine_on(server, clock, url_for(), LogNotifier(), Scripted())
        try:
            await commands.startup()
            await commands.process()
            stored = json.loads(commands.store.value(MARKETS_KEY) or "{}")
            assert stored[PAIR]["precision"]["price"] == 1e-06
            market = server.book.by_pair[PAIR]
            changed = replace(market, min_cost="0.002")
            server.book.markets[market.symbol] = server.book.by_pair[PAIR] = changed
            clock.advance(timedelta(minutes=30))
            await commands.process()
            assert json.loads(commands.store.value(MARKETS_KEY) or "{}") == stored
            clock.advance(timedelta(minutes=31))
            await commands.process()
            stored = json.loads(commands.store.value(MARKETS_KEY) or "{}")
            assert stored[PAIR]["limits"]["cost"]["min"] == 0.002
        finally:
            await commands.shutdown()
            schema.close_db()
