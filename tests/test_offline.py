"""The offline market replays the shipped candles on the injected clock."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import ccxt
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.clock import ManualClock
from core.errors import ConfigError, ExchangeError, OrderRejected
from marketdata.files import load_candles, load_pair_data
from venues import precision
from venues.exchange import OrderRequest, Rounding
from venues.offline import OfflineMarket

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "ohlcv"
MARKETS = ROOT / "data" / "markets.json"
PAIRS = ["ETH/BTC", "LTC/BTC", "XLM/BTC", "NXT/BTC", "ADA/BTC"]
FIRST = datetime(2018, 1, 10, 4, 55, tzinfo=UTC)
LAST = datetime(2018, 1, 30, 4, 50, tzinfo=UTC)
FIVE = timedelta(minutes=5)

# Any second in and around the data, plus candle boundaries and a microsecond either side.
clock_times = st.one_of(
    st.integers(-3600, int((LAST - FIRST).total_seconds()) + 3600).map(
        lambda s: FIRST + timedelta(seconds=s)
    ),
    st.builds(
        lambda k, nudge: FIRST + k * FIVE + timedelta(microseconds=nudge),
        st.integers(-3, 5763),
        st.sampled_from([-1, 0, 1]),
    ),
)


@cache
def shared_market() -> tuple[OfflineMarket, ManualClock]:
    """One market for the property tests (hypothesis reruns them many times)."""
    clock = ManualClock(FIRST)
    return OfflineMarket.from_files(DATA, PAIRS, "5m", MARKETS, clock), clock


@cache
def eth() -> pd.DataFrame:
    return load_candles(DATA / "ETH_BTC-5m.feather").set_index("date")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2018, 1, 15, 12, 2, 30, tzinfo=UTC))


@pytest.fixture
def market(clock: ManualClock) -> OfflineMarket:
    return OfflineMarket.from_files(DATA, PAIRS, "5m", MARKETS, clock)


def test_data_window_is_the_first_and_last_candle_open(market: OfflineMarket) -> None:
    assert market.first_time() == FIRST
    assert market.last_time() == LAST
    assert market.name == "offline"
    assert market.pairs() == PAIRS


async def test_ticker_prices_are_the_current_candle_open_and_its_range_is_the_candle(
    market: OfflineMarket,
) -> None:
    tickers = await market.fetch_tickers(["ETH/BTC"])
    candle = eth().loc[pd.Timestamp("2018-01-15 12:00", tz=UTC)]
    ticker = tickers["ETH/BTC"]
    assert ticker.bid == ticker.ask == ticker.last == ticker.open == candle["open"]
    assert (ticker.high, ticker.low) == (candle["high"], candle["low"])
    assert ticker.time == datetime(2018, 1, 15, 12, 2, 30, tzinfo=UTC)


@settings(max_examples=200)
@given(clock_times)
def test_ticker_range_always_equals_the_candle_open_at_or_before_now(now: datetime) -> None:
    market, clock = shared_market()
    clock.set(now)
    ticker = asyncio.run(market.fetch_tickers(["ETH/BTC"])).get("ETH/BTC")
    if now < FIRST or now >= LAST + FIVE:
        assert ticker is None
        return
    assert ticker is not None
    candle = eth().loc[eth().index[eth().index <= now][-1]]
    assert (ticker.open, ticker.high, ticker.low) == (candle["open"], candle["high"], candle["low"])
    assert ticker.bid == ticker.ask == ticker.last == candle["open"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["step", "stay"]) | clock_times, min_size=1, max_size=30))
def test_tickers_follow_the_clock_stepping_standing_still_or_jumping_anywhere(
    moves: list[str | datetime],
) -> None:
    market, clock = shared_market()
    for move in moves:
        if move == "step":
            clock.advance(FIVE)
        elif isinstance(move, datetime):
            clock.set(move)
        now = clock.now()
        ticker = asyncio.run(market.fetch_tickers(["ETH/BTC"])).get("ETH/BTC")
        opened = eth().index[eth().index <= now]
        if now >= LAST + FIVE or opened.empty:
            assert ticker is None
            continue
        candle = eth().loc[opened[-1]]
        assert ticker is not None
        assert (ticker.open, ticker.high, ticker.low) == (candle["open"], candle["high"],
                                                          candle["low"])


@cache
def reference_ccxt() -> ccxt.Exchange:
    exchange = ccxt.binance()
    exchange.set_markets(json.loads(MARKETS.read_text())["markets"])
    return exchange


def ccxt_outcome(call: Callable[[], float]) -> str:
    """The value (repr, so -0.0 and 0.0 differ) or that it was refused."""
    try:
        return repr(call())
    except (ccxt.BaseError, ExchangeError):
        return "refused"


values = st.one_of(
    st.floats(-1.0, 1000.0, allow_nan=False), st.integers(-2, 3), st.just(-0.0),
    st.sampled_from([0.0831236, 0.0831231, 0.0831239, 150.9, 0.1239999, 0.0009]),
)


@settings(max_examples=300)
@given(st.sampled_from(["ETH/BTC", "ADA/BTC"]), values,
       st.sampled_from([None, *Rounding]))
def test_rounding_again_gives_ccxts_answer_again(
    pair: str, value: float, rounding: Rounding | None,
) -> None:
    market, _ = shared_market()
    if rounding is None:
        expected = ccxt_outcome(lambda: precision.round_amount(reference_ccxt(), pair, value))
        again = [ccxt_outcome(lambda: market.round_amount(pair, value)) for _ in range(2)]
    else:
        expected = ccxt_outcome(
            lambda: precision.round_price(reference_ccxt(), pair, value, rounding))
        again = [ccxt_outcome(lambda: market.round_price(pair, value, rounding))
                 for _ in range(2)]
    assert again == [expected, expected]


@pytest.mark.heavy
@settings(max_examples=200)
@given(
    clock_times,
    st.none() | clock_times,
    st.none() | st.integers(1, 2000),
)
def test_fetch_ohlcv_returns_only_closed_candles_and_every_one_that_closed(
    now: datetime, since: datetime | None, limit: int | None
) -> None:
    market, clock = shared_market()
    clock.set(now)
    candles = asyncio.run(market.fetch_ohlcv("ETH/BTC", "5m", since, limit))
    closed = eth().index[eth().index <= now - FIVE]
    if since is not None:
        closed = closed[closed >= since]
        expected = closed[:limit]
    else:
        expected = closed[max(0, len(closed) - limit) :] if limit else closed
    assert (candles["date"] + FIVE <= now).all()
    assert list(candles["date"]) == list(expected)
    if len(candles):
        rows = eth().loc[candles["date"]]
        assert candles["close"].tolist() == rows["close"].tolist()


async def test_a_gap_in_the_data_replays_as_a_flat_candle_at_the_previous_close(
    market: OfflineMarket, clock: ManualClock
) -> None:
    raw = load_candles(DATA / "ADA_BTC-5m.feather")
    gap = raw.index[raw["date"].diff() > FIVE][0]
    clock.set(raw["date"][gap - 1] + FIVE)
    ticker = (await market.fetch_tickers(["ADA/BTC"]))["ADA/BTC"]
    close = raw["close"][gap - 1]
    assert (ticker.open, ticker.high, ticker.low, ticker.last) == (close, close, close, close)
    clock.advance(FIVE)
    candles = await market.fetch_ohlcv("ADA/BTC", "5m", limit=1)
    assert candles["volume"].tolist() == [0.0]


async def test_pairs_outside_their_data_or_unknown_get_no_ticker(
    market: OfflineMarket, clock: ManualClock
) -> None:
    assert set(await market.fetch_tickers(["ETH/BTC", "DOGE/BTC"])) == {"ETH/BTC"}
    clock.set(LAST + FIVE)
    assert await market.fetch_tickers(PAIRS) == {}
    assert len(await market.fetch_ohlcv("ETH/BTC", "5m")) == 5760


def test_rounding_uses_the_market_precision_through_ccxt(market: OfflineMarket) -> None:
    assert market.round_amount("ETH/BTC", 0.1239999) == 0.123
    assert market.round_amount("ADA/BTC", 150.9) == 150.0
    assert market.round_price("ETH/BTC", 0.0831236) == 0.083124
    assert market.round_price("ETH/BTC", 0.0831231, Rounding.ROUND_UP) == 0.083124
    assert market.round_price("ETH/BTC", 0.0831239, Rounding.TRUNCATE) == 0.083123
    rules = market.rules("ETH/BTC")
    assert (rules.amount_step, rules.min_amount, rules.min_cost) == (0.001, 0.001, 0.0001)


async def test_offline_market_refuses_orders_and_unknown_pairs(market: OfflineMarket) -> None:
    request = OrderRequest("ETH/BTC", "buy", "market", 1.0, 0.09, "cid-1")
    with pytest.raises(OrderRejected, match="use PaperExchange"):
        await market.create_order(request)
    with pytest.raises(OrderRejected, match="use PaperExchange"):
        await market.fetch_open_orders("ETH/BTC")
    with pytest.raises(OrderRejected, match="DOGE/BTC"):
        market.rules("DOGE/BTC")
    assert await market.fetch_balance() == {}


async def test_another_timeframe_is_refused_with_the_one_replayed(market: OfflineMarket) -> None:
    with pytest.raises(ExchangeError, match="replays 5m candles; 1h"):
        await market.fetch_ohlcv("ETH/BTC", "1h")


def test_candles_without_a_market_definition_are_a_config_error(clock: ManualClock) -> None:
    markets = json.loads(MARKETS.read_text())["markets"]
    only_eth = [m for m in markets if m["symbol"] == "ETH/BTC"]
    candles = load_pair_data(DATA, ["ETH/BTC", "LTC/BTC"], "5m")
    with pytest.raises(ConfigError, match="no market definition for LTC/BTC"):
        OfflineMarket(candles, "5m", copy.deepcopy(only_eth), clock)


def test_unreadable_markets_file_is_a_config_error(tmp_path: Path, clock: ManualClock) -> None:
    bad = tmp_path / "markets.json"
    bad.write_text('{"symbols": []}')
    with pytest.raises(ConfigError, match="'markets' list"):
        OfflineMarket.from_files(DATA, PAIRS, "5m", bad, clock)


def test_a_new_price_tick_rounds_from_then_on_and_shows_in_the_rules(
        market: OfflineMarket) -> None:
    other = market.round_price("ADA/BTC", 0.0000123456)
    assert market.round_price("ETH/BTC", 0.08312341, Rounding.ROUND_UP) == 0.083124
    market.set_price_tick("ETH/BTC", 1e-08)
    assert market.round_price("ETH/BTC", 0.08312341, Rounding.ROUND_UP) == 0.08312341
    assert market.rules("ETH/BTC").price_tick == 1e-08
    assert market.round_price("ADA/BTC", 0.0000123456) == other
