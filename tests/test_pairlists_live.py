"""Pairlists in the running bot: on the wire-level fake exchange with 300 markets (what one
iteration sends), in the offline demo, in backtests, in the chat, and their config checks."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.clock import ManualClock
from core.errors import ConfigError
from engine.config import parse_config
from engine.control.commands import Commands
from engine.pairlists.manager import check_backtest
from engine.settings import offline_datadir
from engine.strategy import IStrategy
from marketdata.files import load_pair_data
from tests.factories import DATA_START, make_engine, run_for
from tests.fakes import FakeExchangeServer
from tests.fakes.binance_book import generated_markets
from tests.fakes.telegram import open_chat
from venues.offline import OfflineMarket

START = datetime(2024, 3, 10, 12, 0, 30, tzinfo=UTC)


class Idle(IStrategy):
    """Enters nothing, exits nothing: the iteration's own requests only."""

    timeframe = "5m"
    stoploss = -0.99
    minimal_roi = {"0": 100.0}  # noqa: RUF012 - Freqtrade's class-attribute style
    startup_candle_count = 10

    def populate_indicators(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe

    def populate_exit_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe


async def open_trade(commands: Commands, pair: str) -> None:
    """An entry filled at once (a limit above the ask) on the paper exchange."""
    engine = commands.engine
    (ticker,) = (await engine.exchange.fetch_tickers([pair])).values()
    trade = await engine.force_entry(pair, ticker, ticker.ask * 1.01)
    assert trade is not None
    assert trade.amount > 0


async def requests_of(commands: Commands, server: FakeExchangeServer, clock: ManualClock,
                      step: timedelta) -> Counter[str]:
    clock.advance(step)
    before = len(server.requests)
    await commands.process()
    return Counter(r.path for r in server.requests[before:])


@pytest.mark.heavy
async def test_a_300_market_volume_list_costs_one_ticker_request_per_steady_iteration() -> None:
    """The issue's figure: 300 markets, a 20-pair VolumePairList, 5 open trades. Freqtrade
    fetches one ticker or order book per open trade each iteration; here the iteration's
    tickers are one batched request, the 300 markets' tickers one more every 30 minutes, and
    candles only when one has closed."""
    clock = ManualClock(START)
    async with FakeExchangeServer(clock, markets=generated_markets(300),
                                  balances={"USDT": 1000}, client_timeout=5.0) as server:
        ranked = sorted(generated_markets(300), key=lambda m: server.book.day_volume(m),
                        reverse=True)
        top = [m.pair for m in ranked[:20]]
        held = [m.pair for m in ranked[100:105]]  # traded, and not in the volume list
        commands = make_engine(strategy=Idle(), clock=clock, settings_overrides={
            "dry_run": True, "stake_currency": "USDT", "dry_run_wallet": 1000,
            "stake_amount": 20, "max_open_trades": 5,
            "exchange": {"name": "binance", "pair_whitelist": [],
                         "ccxt_config": server.ccxt_config()},
            "pairlists": [{"method": "VolumePairList", "number_assets": 20}]})
        await commands.startup()
        for pair in held:
            await open_trade(commands, pair)
        first = await requests_of(commands, server, clock, timedelta(seconds=5))
        steady = [await requests_of(commands, server, clock, timedelta(seconds=5))
                  for _ in range(10)]
        clock.set(START.replace(minute=5, second=1))
        at_candle = await requests_of(commands, server, clock, timedelta(0))
        clock.set(START + timedelta(minutes=31))
        before = len(server.requests)
        refreshed = await requests_of(commands, server, clock, timedelta(0))
        (batch,) = [r for r in server.requests[before:] if r.path == "/api/v3/ticker/24hr"]
        whitelist, pairs = commands.engine.whitelist(), commands.engine.pairs()
        await commands.shutdown()

    assert whitelist == top
    assert set(pairs) == set(top) | set(held)
    assert first == Counter({"/api/v3/ticker/24hr": 1, "/api/v3/klines": 25})  # first fill
    assert all(s == Counter({"/api/v3/ticker/24hr": 1}) for s in steady)
    assert at_candle == Counter({"/api/v3/ticker/24hr": 1, "/api/v3/klines": 25})
    # The list's own refresh: one request for all 300, which also serves the iteration's.
    assert refreshed == Counter({"/api/v3/ticker/24hr": 1, "/api/v3/klines": 25})
    assert len(json.loads(batch.params["symbols"])) == 300


async def test_pairs_dropping_out_stay_traded_and_the_change_is_logged(
    caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock(START)
    async with FakeExchangeServer(clock, markets=generated_markets(10),
                                  balances={"USDT": 1000}, client_timeout=5.0) as server:
        for i, market in enumerate(generated_markets(10)):
            server.set_volume(market.pair, 1000 * (i + 1))
        commands = make_engine(strategy=Idle(), clock=clock, settings_overrides={
            "dry_run": True, "stake_currency": "USDT", "stake_amount": 20,
            "dry_run_wallet": 1000, "exchange": {"name": "binance", "pair_whitelist": [],
                         "ccxt_config": server.ccxt_config()},
            "pairlists": [{"method": "VolumePairList", "number_assets": 2,
                           "refresh_period": 600}]})
        await commands.startup()
        assert commands.engine.whitelist() == ["C009/USDT", "C008/USDT"]
        await open_trade(commands, "C009/USDT")
        server.set_volume("C001/USDT", 10**6)
        server.set_volume("C002/USDT", 10**5)
        caplog.set_level(logging.INFO, "engine.pairlists")
        await run_for(commands, clock, 1, timedelta(minutes=11))
        informative = commands.engine.strategy.dp.current_whitelist()
        candles = commands.engine.signals.candles("C001/USDT", "5m")
        pairs = commands.engine.pairs()
        await commands.shutdown()

    assert informative == ["C001/USDT", "C002/USDT"]
    assert pairs == ["C001/USDT", "C002/USDT", "C009/USDT"]  # C009 kept for its exit
    assert not candles.empty  # the candle cache follows the new list
    assert "Whitelist changed (VolumePairList), now 2 pairs: added ['C001/USDT', 'C002/USDT'], " \
           "removed ['C009/USDT', 'C008/USDT']" in caplog.text


async def test_the_offline_demo_ranks_its_pairs_by_the_volume_of_their_candles() -> None:
    """A demo config with VolumePairList and no whitelist: the offline market replays every
    pair it has candles for and answers tickers with their 24h quote volume."""
    clock = ManualClock(DATA_START + timedelta(days=2, minutes=2))
    commands = make_engine(clock=clock, settings_overrides={
        "exchange": {"pair_whitelist": []},
        "pairlists": [{"method": "VolumePairList", "number_assets": 2}]})
    await commands.startup()
    pairs = ["ETH/BTC", "LTC/BTC", "ADA/BTC", "XLM/BTC", "NXT/BTC"]
    tickers = await commands.engine.exchange.fetch_tickers(pairs)
    whitelist = commands.engine.whitelist()
    await commands.shutdown()

    frames = load_pair_data(offline_datadir(commands.engine.settings), pairs, "5m")
    trading = pd.Timestamp(clock.now()).floor("5min")
    expected = {}
    for pair, frame in frames.items():
        day = frame[(frame["date"] >= trading - pd.Timedelta(days=1)) & (frame["date"] < trading)]
        typical = (day["high"] + day["low"] + day["close"]) / 3
        expected[pair] = float((typical * day["volume"]).sum())
    assert {p: t.quote_volume for p, t in tickers.items()} == pytest.approx(expected)
    assert whitelist == sorted(expected, key=lambda p: expected[p], reverse=True)[:2]


def backtest_lists(*methods: dict[str, Any]) -> Any:
    return parse_config({"pairlists": [{"method": "StaticPairList"}, *methods]}, {}).pairlists


def test_backtests_refuse_the_lists_freqtrade_refuses_and_warn_of_the_idle_ones() -> None:
    with pytest.raises(ConfigError, match=re.escape(
            "VolumePairList not allowed for backtesting. Please use StaticPairList instead.")):
        check_backtest(parse_config({"pairlists": [
            {"method": "VolumePairList", "number_assets": 5}]}, {}).pairlists)
    with pytest.raises(ConfigError, match=re.escape(
            "Pairlist Handlers AgeFilter, SpreadFilter do not support backtesting.")):
        check_backtest(backtest_lists({"method": "AgeFilter"}, {"method": "SpreadFilter"}))
    with pytest.raises(ConfigError, match="PriceFilter would filter a backtest on today's"):
        check_backtest(backtest_lists({"method": "PriceFilter", "min_price": 1}))
    assert check_backtest(backtest_lists({"method": "ShuffleFilter", "seed": 1})) == []
    (idle,) = check_backtest(backtest_lists({"method": "PerformanceFilter"},
                                            {"method": "FullTradesFilter"}))
    assert idle.startswith("Pairlist Handlers PerformanceFilter, FullTradesFilter do not "
                           "generate any changes during backtesting.")


async def test_whitelist_command_names_the_methods_that_made_the_list() -> None:
    clock = ManualClock(DATA_START + timedelta(days=2))
    lists = [{"method": "VolumePairList", "number_assets": 3}, {"method": "ShuffleFilter"}]
    overrides = {"exchange": {"pair_whitelist": []}, "pairlists": lists}
    async with open_chat(clock=clock, overrides=overrides) as chat:
        await run_for(chat.commands, clock, 1)
        pairs = chat.commands.whitelist()
        plain = await chat.say("/whitelist")
        ordered = await chat.say("/whitelist sorted baseonly")

    head = "Using whitelist VolumePairList, ShuffleFilter with 3 pairs\n"
    assert plain == head + ", ".join(pairs)
    assert ordered == head + ", ".join(sorted(p.split("/")[0] for p in pairs))


@pytest.mark.parametrize(("entry", "message"), [
    ({"method": "VolumePairList", "number_assets": 0},
     "pairlists[0].number_assets: expected a whole number >= 1, got 0"),
    ({"method": "VolumePairList", "number_assets": 5, "sort_key": "volume"},
     "pairlists[0].sort_key: expected one of \"quoteVolume\", got 'volume'"),
    ({"method": "VolumePairList", "number_assets": 5, "lookback_days": 1, "refresh_period": 60},
     "pairlists[0].refresh_period: 60 s is shorter than one 1d candle; expected at least 86400"),
    ({"method": "VolumePairList", "number_assets": 5, "lookback_days": 2,
      "lookback_timeframe": "1h"}, "pairlists[0].lookback_timeframe: lookback_days means daily"),
    ({"method": "VolumePairList", "number_assets": 5, "min_value": -1},
     "pairlists[0].min_value: expected a number >= 0.0 or null, got -1"),
    ({"method": "StaticPairList", "allow_inactive": "yes"},
     "pairlists[0].allow_inactive: expected true or false, got 'yes'"),
    ({"method": "StaticPairList", "number_assets": 3},
     "pairlists[0].number_assets: unknown option of StaticPairList"),
    ({"method": "MarketCapPairList"}, "pairlists[0].method: MarketCapPairList is not supported"),
    ("StaticPairList", "pairlists[0]: expected an object with a \"method\", got 'StaticPairList'"),
])  # fmt: skip
def test_a_bad_pairlist_option_is_refused_naming_it(entry: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"pairlists": [entry]}, {})
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(("entry", "message"), [
    ({"method": "AgeFilter", "min_days_listed": 0},
     "pairlists[1].min_days_listed: expected a whole number >= 1, got 0"),
    ({"method": "AgeFilter", "min_days_listed": 5, "max_days_listed": 5},
     "pairlists[1].max_days_listed: expected more than min_days_listed (5), got 5"),
    ({"method": "AgeFilter", "min_days_listed": 1001},
     "pairlists[1].min_days_listed: expected at most 1000"),
    ({"method": "PriceFilter", "low_price_ratio": -0.1},
     "pairlists[1].low_price_ratio: expected a number >= 0.0, got -0.1"),
    ({"method": "SpreadFilter", "max_spread_ratio": "1%"},
     "pairlists[1].max_spread_ratio: expected a number >= 0.0, got '1%'"),
    ({"method": "RangeStabilityFilter", "lookback_timeframe": "1h"},
     "pairlists[1].lookback_period: required with lookback_timeframe"),
    ({"method": "RangeStabilityFilter", "sort_direction": "up"},
     "pairlists[1].sort_direction: expected one of null, \"asc\", \"desc\", got 'up'"),
    ({"method": "VolatilityFilter", "lookback_period": 2000},
     "pairlists[1].lookback_period: expected at most 1000"),
    ({"method": "ShuffleFilter", "shuffle_frequency": "hourly"},
     "pairlists[1].shuffle_frequency: expected one of \"candle\", \"iteration\""),
    ({"method": "ShuffleFilter", "seed": 1.5}, "pairlists[1].seed: expected a whole number"),
    ({"method": "PerformanceFilter", "minutes": -5},
     "pairlists[1].minutes: expected a whole number >= 0, got -5"),
    ({"method": "PrecisionFilter"}, "pairlists[1]: PrecisionFilter needs the stoploss key"),
])  # fmt: skip
def test_a_bad_filter_option_is_refused_naming_it(entry: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"pairlists": [{"method": "StaticPairList"}, entry]}, {})
    assert str(caught.value).startswith(message)


OPTIONS = ["number_assets", "min_value", "max_value", "refresh_period", "lookback_days",
           "lookback_period", "lookback_timeframe", "min_days_listed", "max_days_listed",
           "low_price_ratio", "min_price", "max_spread_ratio", "min_rate_of_change",
           "sort_direction", "shuffle_frequency", "seed", "minutes", "min_profit", "bogus"]
METHODS = ["VolumePairList", "AgeFilter", "PriceFilter", "SpreadFilter", "RangeStabilityFilter",
           "VolatilityFilter", "ShuffleFilter", "PerformanceFilter", "FullTradesFilter"]
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10, 2000),
                   st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5),
                   st.sampled_from(["1d", "1h", "asc", "candle", "quoteVolume"]),
                   st.lists(st.integers(), max_size=2))


@given(method=st.sampled_from(METHODS),
       options=st.dictionaries(st.sampled_from(OPTIONS), VALUES, max_size=4))
def test_any_pairlist_entry_loads_or_is_refused_with_its_key(method: str,
                                                             options: dict[str, Any]) -> None:
    entry = {"method": method, **options}
    if method == "VolumePairList":
        entry.setdefault("number_assets", 5)
    problem = ""
    try:
        settings = parse_config({"stoploss": -0.1, "pairlists": [
            {"method": "StaticPairList"}, entry]}, {})
    except ConfigError as exc:
        problem = str(exc)
    if problem:
        assert problem.startswith("pairlists[1]")
        return
    (_, loaded) = settings.pairlists
    assert loaded.method == method
    assert set(options) <= set(loaded.options)


@pytest.mark.heavy
@settings(max_examples=30, deadline=None)
@given(minutes=st.integers(0, 2 * 28_800 // 5).map(lambda k: k * 5 + 2))
def test_offline_tickers_carry_the_24h_volume_of_the_replayed_candles(minutes: int) -> None:
    """Also in a later lap of the demo's replay, whose prices (and so quote volumes) are the
    data's scaled by the lap's ratio."""
    datadir = Path("data/ohlcv")
    frame = load_pair_data(datadir, ["ETH/BTC"], "5m")["ETH/BTC"]
    first, last = frame["date"].iloc[0], frame["date"].iloc[-1]
    span = last - first + pd.Timedelta(minutes=5)
    clock = ManualClock(first.to_pydatetime() + timedelta(minutes=minutes))
    market = OfflineMarket.from_files(datadir, ["ETH/BTC"], "5m", "data/markets.json", clock,
                                      loop=True)
    (ticker,) = asyncio.run(market.fetch_tickers(["ETH/BTC"])).values()

    now = pd.Timestamp(clock.now())
    lap = int((now - first) // span)
    trading = (now - lap * span).floor("5min")
    day = frame[(frame["date"] >= trading - pd.Timedelta(days=1)) & (frame["date"] < trading)]
    typical = (day["high"] + day["low"] + day["close"]) / 3
    ratio = float(frame["close"].iloc[-1] / frame["open"].iloc[0]) ** lap
    assert ticker.quote_volume == pytest.approx(float((typical * day["volume"]).sum()) * ratio,
                                                rel=1e-9, abs=1e-12)
