"""Downloading candles for backtests from a fake Binance at the wire, through the real ccxt
client: paged, closed candles only, resumable, Freqtrade-named files the backtester reads."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from backtest.cli import add_backtest_arguments, run_backtest
from backtest.download import download, read_markets
from backtest.run import market_definitions
from core.clock import ManualClock
from core.errors import ConfigError, TemporaryError
from engine.config import parse_config
from marketdata.files import load_candles
from tests.fakes import FakeExchangeServer, RecordingSleep, shipped_frames
from venues.ccxt_exchange import CcxtExchange
from venues.offline import OfflineMarket

START = datetime(2024, 3, 1, 12, 2, 30, tzinfo=UTC)  # the 12:00 candle is still forming
KLINES = "/api/v3/klines"


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def ms(when: datetime) -> str:
    return str(int(when.timestamp() * 1000))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def server(clock: ManualClock) -> AsyncIterator[FakeExchangeServer]:
    async with FakeExchangeServer(clock, klines_limit=100) as fake:
        yield fake


@pytest.fixture
def exchange(server: FakeExchangeServer) -> CcxtExchange:
    return server.ccxt_exchange(sleep=RecordingSleep(), retries=0)


async def test_first_download_pages_through_the_days_and_keeps_closed_candles_only(
    exchange: CcxtExchange, server: FakeExchangeServer, clock: ManualClock, tmp_path: Path
) -> None:
    results = await download(exchange, ["ETH/BTC"], ["5m"], 1, tmp_path, clock)

    frame = load_candles(tmp_path / "ETH_BTC-5m.feather")
    assert len(frame) == 288
    assert frame["date"].iloc[0] == pd.Timestamp("2024-02-29 12:00", tz=UTC)
    assert frame["date"].iloc[-1] == pd.Timestamp("2024-03-01 11:55", tz=UTC)
    assert frame["date"].diff().iloc[1:].eq(pd.Timedelta(minutes=5)).all()
    assert server.count(KLINES) == 3  # the fake serves at most 100 candles a request
    assert [(r.pair, r.new_candles, r.total_candles) for r in results] == [("ETH/BTC", 288, 288)]


async def test_a_second_run_asks_only_for_the_candles_closed_since(
    exchange: CcxtExchange, server: FakeExchangeServer, clock: ManualClock, tmp_path: Path
) -> None:
    await download(exchange, ["ETH/BTC", "LTC/BTC"], ["5m"], 1, tmp_path, clock)
    asked = server.count(KLINES)

    await download(exchange, ["ETH/BTC", "LTC/BTC"], ["5m"], 1, tmp_path, clock)
    assert server.count(KLINES) == asked  # nothing has closed since

    clock.advance(timedelta(hours=1))
    results = await download(exchange, ["ETH/BTC", "LTC/BTC"], ["5m"], 1, tmp_path, clock)

    requests = server.requests_to(KLINES)[asked:]
    assert [r.params["startTime"] for r in requests] == [ms(START.replace(minute=0, second=0))] * 2
    assert [(r.new_candles, r.total_candles) for r in results] == [(12, 300), (12, 300)]
    frame = load_candles(tmp_path / "LTC_BTC-5m.feather")
    assert frame["date"].diff().iloc[1:].eq(pd.Timedelta(minutes=5)).all()


async def test_asking_for_more_days_fetches_only_the_older_candles(
    exchange: CcxtExchange, server: FakeExchangeServer, clock: ManualClock, tmp_path: Path
) -> None:
    await download(exchange, ["ETH/BTC"], ["5m"], 1, tmp_path, clock)
    asked = server.count(KLINES)

    results = await download(exchange, ["ETH/BTC"], ["5m"], 2, tmp_path, clock)

    first = server.requests_to(KLINES)[asked]
    assert first.params["startTime"] == ms(datetime(2024, 2, 28, 12, tzinfo=UTC))
    assert server.count(KLINES) - asked == 3
    assert (results[0].new_candles, results[0].total_candles) == (288, 576)


class FailingFetch:
    """The real exchange, whose candle request number `failing` fails as a dropped
    connection does (the fake's faults hit the next request, not the n-th)."""

    def __init__(self, exchange: CcxtExchange, failing: int) -> None:
        self._exchange = exchange
        self._failing = failing
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._exchange, name)

    async def fetch_ohlcv(self, *args: Any) -> pd.DataFrame:
        self.calls += 1
        if self.calls == self._failing:
            raise TemporaryError("NetworkError: connection reset by peer")
        return await self._exchange.fetch_ohlcv(*args)


async def test_an_interrupted_download_keeps_its_pages_and_the_next_run_resumes(
    exchange: CcxtExchange, server: FakeExchangeServer, clock: ManualClock, tmp_path: Path
) -> None:
    flaky: Any = FailingFetch(exchange, failing=3)

    with pytest.raises(TemporaryError):
        await download(flaky, ["ETH/BTC"], ["5m"], 1, tmp_path, clock)
    kept = load_candles(tmp_path / "ETH_BTC-5m.feather")
    assert len(kept) == 200
    asked = server.count(KLINES)

    results = await download(exchange, ["ETH/BTC"], ["5m"], 1, tmp_path, clock)

    assert server.requests_to(KLINES)[asked].params["startTime"] == ms(
        kept["date"].iloc[-1].to_pydatetime() + timedelta(minutes=5))
    assert (results[0].new_candles, results[0].total_candles) == (88, 288)


async def test_each_timeframe_gets_its_own_freqtrade_named_file(
    exchange: CcxtExchange, clock: ManualClock, tmp_path: Path
) -> None:
    await download(exchange, ["ETH/BTC"], ["5m", "1h"], 1, tmp_path, clock)

    assert files_in(tmp_path) == [
        "ETH_BTC-1h.feather", "ETH_BTC-5m.feather", "markets.json"]
    assert len(load_candles(tmp_path / "ETH_BTC-1h.feather")) == 24


async def test_the_markets_file_rounds_offline_as_the_exchange_does(
    exchange: CcxtExchange, clock: ManualClock, tmp_path: Path
) -> None:
    await download(exchange, ["ETH/BTC", "ADA/BTC"], ["5m"], 1, tmp_path, clock)

    markets = market_definitions(read_markets(tmp_path / "markets.json"), ["ETH/BTC", "ADA/BTC"])
    offline = OfflineMarket({}, "5m", markets, clock)
    for pair in ("ETH/BTC", "ADA/BTC"):
        assert offline.round_amount(pair, 12.3456789) == exchange.round_amount(pair, 12.3456789)
        assert offline.round_price(pair, 0.0123456789) == exchange.round_price(pair, 0.0123456789)
        assert offline.rules(pair) == exchange.rules(pair)


@pytest.mark.parametrize(("pairs", "timeframes", "days", "message"), [
    (["ETH/BTC"], ["5m"], 0, "--days: expected a positive number"),
    (["DOGE/BTC"], ["5m"], 1, "--pairs: DOGE/BTC not a market on binance"),
    (["ETH/BTC"], ["5 minutes"], 1, "--timeframes: '5 minutes' is not a timeframe"),
    (["ETH/BTC"], ["5x"], 1, "--timeframes: '5x' is not a timeframe"),
])  # fmt: skip
async def test_bad_download_requests_are_refused_before_anything_is_written(
    exchange: CcxtExchange, clock: ManualClock, tmp_path: Path, pairs: list[str],
    timeframes: list[str], days: float, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        await download(exchange, pairs, timeframes, days, tmp_path / "data", clock)
    assert not (tmp_path / "data").exists()


async def test_a_timeframe_no_backtest_replays_is_refused_before_any_request(
    exchange: CcxtExchange, server: FakeExchangeServer, clock: ManualClock, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="--timeframes: '7m' is not a timeframe backtests "
                                          "replay; expected one of 1m, 3m, 5m"):
        await download(exchange, ["ETH/BTC"], ["5m", "7m"], 1, tmp_path / "data", clock)
    assert server.requests == []
    assert not (tmp_path / "data").exists()


def test_downloaded_candles_backtest_without_the_network(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = ["ETH/BTC", "LTC/BTC"]
    clock = ManualClock(datetime(2018, 1, 20, 12, 2, 30, tzinfo=UTC))

    async def fetch() -> None:
        async with FakeExchangeServer(clock, frames=shipped_frames(pairs)) as server:
            exchange = server.ccxt_exchange(sleep=RecordingSleep(), retries=0)
            await download(exchange, pairs, ["5m"], 3, tmp_path, clock)

    asyncio.run(fetch())
    parser = argparse.ArgumentParser()
    add_backtest_arguments(parser)
    args = parser.parse_args(["--datadir", str(tmp_path), "--strategy", "SampleStrategy"])
    settings = parse_config({"exchange": {"name": "binance", "pair_whitelist": pairs}}, {})

    assert run_backtest(settings, args) == 0
    assert "Backtest of SampleStrategy on 2 pairs, 5m, 1666 candles" in capsys.readouterr().out
