"""What the live venue asks of the exchange, and how long it waits in ccxt's rate limiter, over
real ccxt against the fake Binance with Binance's own rate limit (50 ms a weight unit).

- An iteration's all-tickers call does not wait out the previous iteration's weight: Binance
  counts weight per minute, and an idle gap is time that counts.
- A config that names ccxt's limiter keeps it.
- Start-up in dry-run asks no ticker for pairs that have no open paper order."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from compose import build_commands, build_exchange
from core.clock import ManualClock
from engine.config import parse_config
from engine.events import LogNotifier
from store import schema
from store.paper_orders import PaperOrders
from store.store import Store
from tests.engine.scripted import Scripted
from tests.fakes import FakeExchangeServer
from tests.fakes.binance_book import generated_markets, parity_markets
from venues.ccxt_exchange import CcxtExchange

START = datetime(2018, 1, 20, 12, 0, tzinfo=UTC)
BINANCE_RATE_LIMIT_MS = 50
PAIRS = [m.pair for m in parity_markets()]


async def _second_call_seconds(server: FakeExchangeServer, clock: ManualClock,
                               **extra: Any) -> float:
    config = server.ccxt_config() | extra
    exchange = CcxtExchange("binance", config, None, None, None, clock)
    try:
        await exchange.fetch_tickers(PAIRS)
        await asyncio.sleep(1.0)  # idle between iterations; the ticker cache uses the manual clock
        clock.advance(timedelta(seconds=5))
        began = time.perf_counter()
        await exchange.fetch_tickers(PAIRS)
        return time.perf_counter() - began
    finally:
        await exchange.close()


@pytest.mark.heavy
async def test_the_next_iterations_tickers_do_not_wait_out_the_last_ones_weight() -> None:
    clock = ManualClock(START)
    async with FakeExchangeServer(clock, rate_limit_ms=BINANCE_RATE_LIMIT_MS,
                                  client_timeout=5) as server:
        assert await _second_call_seconds(server, clock) < 0.4


@pytest.mark.heavy
async def test_a_config_that_names_ccxts_leaky_bucket_keeps_it() -> None:
    clock = ManualClock(START)
    async with FakeExchangeServer(clock, rate_limit_ms=BINANCE_RATE_LIMIT_MS,
                                  client_timeout=5) as server:
        waited = await _second_call_seconds(server, clock, rateLimiterAlgorithm="leakyBucket")
        # ccxt's cost of Binance's all-tickers call is 16 units of 50 ms.
        assert waited >= 0.7


async def test_a_dry_run_start_up_asks_no_ticker_per_pair() -> None:
    clock = ManualClock(START)
    markets = generated_markets(40)
    async with FakeExchangeServer(clock, markets=markets, balances={"USDT": 1000},
                                  client_timeout=10) as server:
        settings = parse_config({
            "dry_run": True, "stake_currency": "USDT", "stake_amount": 10,
            "exchange": {"name": "binance", "pair_whitelist": [m.pair for m in markets],
                         "ccxt_config": server.ccxt_config()},
        }, {})  # fmt: skip
        strategy = Scripted()
        strategy.apply_overrides(settings.strategy_overrides())
        database = schema.init_db("sqlite:///:memory:")
        exchange = build_exchange(settings, strategy.timeframe, clock, PaperOrders(database))
        commands = build_commands(settings, strategy, exchange, clock, LogNotifier(),
                                  Store(database))
        try:
            await commands.startup()
            await commands.process()
        finally:
            await commands.shutdown()
            schema.close_db()
        assert server.count("/api/v3/ticker/24hr") == 1
        assert server.count("/api/v3/klines") == 40
        assert len(server.requests) == 42
