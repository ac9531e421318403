"""The candle cache: closed candles only, incremental, concurrent, bounded, venue-agnostic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.clock import ManualClock
from core.errors import ConfigError
from marketdata.cache import CandleCache
from marketdata.candles import CANDLE_COLUMNS
from marketdata.timeframe import timeframe_to_prev_date
from tests.fakes import FakeExchangeServer, Fault, RecordingSleep, shipped_frames
from venues.ccxt_exchange import CcxtExchange

PAIRS = ["ETH/BTC", "LTC/BTC", "XLM/BTC", "NXT/BTC", "ADA/BTC"]
START = datetime(2018, 1, 20, 12, 2, 30, tzinfo=UTC)  # the 12:00 candle is still forming
KLINES = "/api/v3/klines"
FIVE_MIN = timedelta(minutes=5)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def server(clock: ManualClock) -> AsyncIterator[FakeExchangeServer]:
    # No slow fault here: a generous client timeout keeps a loaded machine from failing a read.
    async with FakeExchangeServer(clock, frames=shipped_frames(PAIRS), klines_limit=100,
                                  client_timeout=5.0) as fake:
        yield fake


@pytest.fixture
async def exchange(server: FakeExchangeServer) -> CcxtExchange:
    exchange = server.ccxt_exchange(sleep=RecordingSleep(), retries=0)
    await exchange.load_markets()
    return exchange


def stamp(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


async def test_first_fill_holds_the_startup_candles_all_closed(
    exchange: CcxtExchange, clock: ManualClock
) -> None:
    cache = CandleCache(exchange, "5m", startup_candles=30)

    fresh = await cache.refresh(PAIRS, clock.now())

    assert fresh == set(PAIRS)
    eth = cache.candles("ETH/BTC")
    assert tuple(eth.columns) == CANDLE_COLUMNS
    assert str(eth["date"].dtype) == "datetime64[ns, UTC]"
    assert len(eth) == 30
    assert eth["date"].iloc[-1] == stamp("2018-01-20 11:55")  # 12:00 is still forming
    assert eth["date"].diff().dropna().eq(FIVE_MIN).all()


async def test_first_fill_pages_back_when_the_exchange_sends_fewer_per_request(
    exchange: CcxtExchange, server: FakeExchangeServer, clock: ManualClock
) -> None:
    cache = CandleCache(exchange, "5m", startup_candles=250)

    await cache.refresh(["ETH/BTC"], clock.now())

    assert server.count(KLINES) == 3  # the fake sends at most 100 candles per request
    eth = cache.candles("ETH/BTC")
    assert len(eth) == 250
    assert eth["date"].diff().dropna().eq(FIVE_MIN).all()


async def test_first_fill_takes_the_exchange_limit_or_the_startup_count_within_the_cache(
    exchange: CcxtExchange, clock: ManualClock
) -> None:
    by_limit = CandleCache(exchange, "5m", startup_candles=30, max_candles=400, first_fill=150)
    by_startup = CandleCache(exchange, "5m", startup_candles=200, max_candles=400,
                             first_fill=150)
    capped = CandleCache(exchange, "5m", startup_candles=30, max_candles=120, first_fill=150)

    for cache in (by_limit, by_startup, capped):
        await cache.refresh(["ETH/BTC"], clock.now())

    assert [len(c.candles("ETH/BTC")) for c in (by_limit, by_startup, capped)] == [150, 200, 120]
    assert by_limit.candles("ETH/BTC")["date"].iloc[-1] == stamp("2018-01-20 11:55")


async def test_refresh_without_a_new_candle_sends_no_candle_request(
    exchange: CcxtExchange, server: FakeExchangeServer, clock: ManualClock
) -> None:
    cache = CandleCache(exchange, "5m", startup_candles=30)
    await cache.refresh(PAIRS, clock.now())
    before = server.count(KLINES)

    clock.advance(timedelta(minutes=2))  # 12:04:30, the 12:00 candle has not closed
    fresh = await cache.refresh(PAIRS, clock.now())

    assert fresh == set()
    assert server.count(KLINES) == before


async def test_refresh_with_a_new_candle_fetches_only_the_new_candle_of_each_pair(
    exchange: CcxtExchange, server: FakeExchangeServer, clock: ManualClock
) -> None:
    cache = CandleCache(exchange, "5m", startup_candles=30)
    await cache.refresh(PAIRS, clock.now())
    server.requests.clear()

    clock.advance(timedelta(minutes=3))  # 12:05:30: the 12:00 candle has closed
    fresh = await cache.refresh(PAIRS, clock.now())

    assert fresh == set(PAIRS)
    requests = server.requests_to(KLINES)
    assert len(requests) == len(PAIRS)
    new_candle_ms = str(int(stamp("2018-01-20 12:00").timestamp() * 1000))
    assert {(r.params["startTime"], r.params["limit"]) for r in requests} == {(new_candle_ms, "1")}
    eth = cache.candles("ETH/BTC")
    assert (len(eth), eth["date"].iloc[-1]) == (31, stamp("2018-01-20 12:00"))


async def test_a_failed_pair_keeps_its_candles_and_catches_up_on_the_next_refresh(
    exchange: CcxtExchange,
    server: FakeExchangeServer,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = CandleCache(exchange, "5m", startup_candles=30)
    await cache.refresh(PAIRS, clock.now())
    clock.advance(timedelta(minutes=8))  # 12:10:30: the 12:00 and 12:05 candles closed
    server.inject(KLINES, Fault.UNAVAILABLE, times=1)

    fresh = await cache.refresh(PAIRS, clock.now())

    (failed,) = set(PAIRS) - fresh
    assert len(cache.candles(failed)) == 30
    assert f"candles pair={failed} timeframe=5m: refresh failed" in caplog.text
    assert all(len(cache.candles(p)) == 32 for p in fresh)
    server.requests.clear()

    assert await cache.refresh(PAIRS, clock.now()) == {failed}
    assert len(server.requests_to(KLINES)) == 1
    assert len(cache.candles(failed)) == 32


async def test_cache_keeps_at_most_max_candles_and_a_long_pause_refetches_only_that_many(
    exchange: CcxtExchange, server: FakeExchangeServer, clock: ManualClock
) -> None:
    cache = CandleCache(exchange, "5m", startup_candles=30, max_candles=40)
    await cache.refresh(["ETH/BTC"], clock.now())

    clock.advance(timedelta(days=1))
    server.requests.clear()
    await cache.refresh(["ETH/BTC"], clock.now())

    eth = cache.candles("ETH/BTC")
    assert len(eth) == 40
    forming = pd.Timestamp(timeframe_to_prev_date("5m", clock.now()))
    assert eth["date"].iloc[-1] == forming - FIVE_MIN
    assert [r.params["limit"] for r in server.requests_to(KLINES)] == ["40"]


async def test_a_missing_candle_on_the_exchange_is_not_asked_for_again(
    clock: ManualClock,
) -> None:
    dates = pd.date_range("2018-01-20 10:00", "2018-01-20 12:00", freq="5min", tz=UTC)
    gap = stamp("2018-01-20 11:55")  # nothing traded in the last closed slot
    frame = pd.DataFrame({"date": dates, "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0,
                          "volume": 1.0})  # fmt: skip
    async with FakeExchangeServer(clock, frames={"ETH/BTC": frame[frame.date != gap]},
                                  client_timeout=5.0) as server:
        exchange = server.ccxt_exchange(sleep=RecordingSleep())
        cache = CandleCache(exchange, "5m", startup_candles=10)
        await cache.refresh(["ETH/BTC"], clock.now())
        asked = server.count(KLINES)

        await cache.refresh(["ETH/BTC"], clock.now() + timedelta(minutes=1))

        assert server.count(KLINES) == asked
        assert cache.candles("ETH/BTC")["date"].iloc[-1] == stamp("2018-01-20 11:50")


def test_startup_candles_beyond_the_cache_size_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="1500 candles do not fit the candle cache of 1000"):
        CandleCache(None, "5m", startup_candles=1500)  # type: ignore[arg-type]


def test_unknown_pair_has_an_empty_frame_with_the_candle_columns() -> None:
    cache = CandleCache(None, "1h", startup_candles=10)  # type: ignore[arg-type]

    empty = cache.candles("ETH/BTC")

    assert empty.empty
    assert tuple(empty.columns) == CANDLE_COLUMNS


# --- any venue: a property over an in-memory source ------------------------------------


class MemoryVenue:
    """A venue serving candles like an exchange does: from `since`, up to the one forming now."""

    def __init__(self, clock: ManualClock, frame: pd.DataFrame, per_request: int) -> None:
        self.clock, self.frame, self.per_request = clock, frame, per_request
        self.calls = 0

    async def fetch_ohlcv(
        self, pair: str, timeframe: str, since: datetime | None = None, limit: int | None = None
    ) -> pd.DataFrame:
        self.calls += 1
        forming = pd.Timestamp(timeframe_to_prev_date(timeframe, self.clock.now()))
        rows = self.frame[(self.frame.date >= pd.Timestamp(since)) & (self.frame.date <= forming)]
        return rows.head(min(limit or self.per_request, self.per_request))


HISTORY = pd.DataFrame({
    "date": pd.date_range("2018-01-01", periods=3000, freq="1min", tz=UTC),
    "open": range(3000), "high": range(3000), "low": range(3000), "close": range(3000),
    "volume": 1.0,
}).astype({"open": float, "high": float, "low": float, "close": float})  # fmt: skip


@pytest.mark.heavy
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(st.integers(min_value=0, max_value=290), min_size=1, max_size=8),
    startup=st.integers(min_value=1, max_value=200),
    per_request=st.integers(min_value=7, max_value=150),
)
async def test_cache_always_equals_the_venues_closed_candles_and_asks_only_when_one_closed(
    steps: list[int], startup: int, per_request: int
) -> None:
    clock = ManualClock(datetime(2018, 1, 1, 10, 0, 20, tzinfo=UTC))
    venue = MemoryVenue(clock, HISTORY, per_request)
    cache = CandleCache(venue, "1m", startup_candles=startup, max_candles=250)  # type: ignore[arg-type]
    await cache.refresh(["X/Y"], clock.now())
    first = cache.candles("X/Y")["date"].iloc[0]

    for minutes in steps:
        calls = venue.calls
        clock.advance(timedelta(minutes=minutes, seconds=1))
        fresh = await cache.refresh(["X/Y"], clock.now())

        closed = HISTORY[HISTORY.date < pd.Timestamp(timeframe_to_prev_date("1m", clock.now()))]
        expected = closed[closed.date >= first].tail(250).reset_index(drop=True)
        pd.testing.assert_frame_equal(cache.candles("X/Y"), expected, check_dtype=False)
        assert (venue.calls > calls) == (fresh == {"X/Y"}) == (minutes > 0)




async def test_refresh_asks_each_pair_once_even_when_listed_twice(
    exchange: CcxtExchange, server: FakeExchangeServer, clock: ManualClock
) -> None:
    cache = CandleCache(exchange, "5m", startup_candles=10)

    await cache.refresh(["ETH/BTC", "ETH/BTC"], clock.now())

    assert server.count(KLINES) == 1
