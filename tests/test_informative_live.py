"""Informative candles live, through the real ccxt binance client against the wire-level fake
exchange: fetched in the same batch as the traded pairs, only once a candle of their timeframe
has closed, and seen by the strategy through `self.dp` and `@informative`, closed only."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from core.clock import ManualClock
from engine.control.commands import Commands
from engine.dataprovider import RunMode
from engine.informative import informative
from engine.strategy import IStrategy
from tests.factories import make_engine
from tests.fakes import FakeExchangeServer, shipped_frames

PAIRS = ["LTC/BTC", "XLM/BTC"]
START = datetime(2018, 1, 20, 11, 57, tzinfo=UTC)  # the 11:55 candle is still forming
KLINES = "/api/v3/klines"


class HourlyTrend(IStrategy):
    """Reads its pairs' 1h candles through `@informative` and ETH/BTC's through
    `informative_pairs()` and `self.dp`; enters nothing."""

    timeframe = "5m"
    stoploss = -0.1
    minimal_roi = {"0": 1.0}  # noqa: RUF012 - Freqtrade's class-attribute style
    startup_candle_count = 20

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        self.seen: dict[str, Any] = {}

    def informative_pairs(self) -> list[tuple[str, ...]]:
        return [("ETH/BTC", "1h")]

    @informative("1h")
    def populate_indicators_1h(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        dataframe["hourly_close"] = dataframe["close"]
        return dataframe

    def populate_indicators(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        eth = self.dp.get_pair_dataframe("ETH/BTC", "1h")
        self.seen[metadata["pair"]] = {
            "runmode": self.dp.runmode, "config_runmode": self.config.get("runmode"),
            "eth_last": eth["date"].iloc[-1].to_pydatetime(),
            "eth_rows": len(eth), "merged_last": dataframe["date_1h"].iloc[-1].to_pydatetime(),
            "base_last": dataframe["date"].iloc[-1].to_pydatetime(),
            "ohlcv": len(self.dp.ohlcv("ETH/BTC", "1h")),
            # The ticker this engine fetched last (none before its first iteration's).
            "ticker": self.dp.ticker(metadata["pair"]).get("symbol"),
            "whitelist": self.dp.current_whitelist(),
        }  # fmt: skip
        return dataframe

    def populate_entry_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe

    def populate_exit_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def server(clock: ManualClock) -> AsyncIterator[FakeExchangeServer]:
    async with FakeExchangeServer(clock, frames=shipped_frames([*PAIRS, "ETH/BTC"]),
                                  client_timeout=5.0) as fake:
        yield fake


@pytest.fixture
async def commands(server: FakeExchangeServer, clock: ManualClock
                   ) -> AsyncIterator[tuple[Commands, HourlyTrend]]:
    strategy = HourlyTrend()
    exchange = {"name": "binance", "pair_whitelist": PAIRS, "ccxt_config": server.ccxt_config()}
    made = make_engine(settings_overrides={"dry_run": True, "exchange": exchange},
                       strategy=strategy, clock=clock)
    await made.startup()
    yield made, strategy
    await made.shutdown()


async def iteration(commands: Commands, server: FakeExchangeServer, clock: ManualClock,
                    when: datetime) -> Counter[tuple[str, str]]:
    """The OHLCV requests of one iteration at `when`, by (symbol, interval)."""
    clock.set(when)
    before = len(server.requests)
    await commands.process()
    return Counter((r.params["symbol"], r.params["interval"])
                   for r in server.requests[before:] if r.path == KLINES)


async def test_informative_candles_are_fetched_with_the_batch_and_only_once_closed(
    commands: tuple[Commands, HourlyTrend], server: FakeExchangeServer, clock: ManualClock
) -> None:
    engine, strategy = commands
    everything = Counter({("LTCBTC", "5m"): 1, ("XLMBTC", "5m"): 1, ("LTCBTC", "1h"): 1,
                          ("XLMBTC", "1h"): 1, ("ETHBTC", "1h"): 1})

    first = await iteration(engine, server, clock, START)
    assert first == everything
    # Freqtrade's first request of each takes Binance's limit of 1000 candles, the one still
    # forming included: 999 closed ones, not the strategy's 20, in one request each.
    assert {r.params["limit"] for r in server.requests_to(KLINES)} == {"999"}
    assert strategy.seen["LTC/BTC"] == {
        "runmode": RunMode.DRY_RUN, "config_runmode": RunMode.DRY_RUN,
        "eth_last": datetime(2018, 1, 20, 10, tzinfo=UTC),
        "eth_rows": 999, "merged_last": datetime(2018, 1, 20, 10, tzinfo=UTC),
        "base_last": datetime(2018, 1, 20, 11, 50, tzinfo=UTC), "ohlcv": 999,
        "ticker": None, "whitelist": PAIRS,
    }  # fmt: skip

    # 11:58: nothing has closed since, so nothing is asked for.
    assert await iteration(engine, server, clock, START + timedelta(minutes=1)) == Counter()

    # 12:00:30: a 5m and a 1h candle closed: one request each, in one iteration.
    assert await iteration(engine, server, clock,
                           datetime(2018, 1, 20, 12, 0, 30, tzinfo=UTC)) == everything
    assert strategy.seen["LTC/BTC"]["eth_last"] == datetime(2018, 1, 20, 11, tzinfo=UTC)
    assert strategy.seen["LTC/BTC"]["merged_last"] == datetime(2018, 1, 20, 11, tzinfo=UTC)
    assert strategy.seen["LTC/BTC"]["base_last"] == datetime(2018, 1, 20, 11, 55, tzinfo=UTC)
    assert strategy.seen["LTC/BTC"]["ticker"] == "LTC/BTC"

    # 12:05:30: only a 5m candle closed: no informative request.
    assert await iteration(engine, server, clock,
                           datetime(2018, 1, 20, 12, 5, 30, tzinfo=UTC)) == Counter(
        {("LTCBTC", "5m"): 1, ("XLMBTC", "5m"): 1})
    assert strategy.seen["LTC/BTC"]["eth_last"] == datetime(2018, 1, 20, 11, tzinfo=UTC)


async def test_the_offline_demo_makes_the_hourly_candles_from_its_replay_closed_only() -> None:
    clock = ManualClock(START)
    strategy = HourlyTrend()
    # ETH/BTC is not traded: the offline market reads its file on the informative pair's
    # first fetch, as a backtest does.
    made = make_engine(settings_overrides={"exchange": {"pair_whitelist": PAIRS}},
                       strategy=strategy, clock=clock)
    await made.startup()
    try:
        await made.process()
        first = strategy.seen["LTC/BTC"]
        analysed_at = datetime(2018, 1, 20, 12, 0, 30, tzinfo=UTC)
        clock.set(analysed_at)
        await made.process()
        second = strategy.seen["LTC/BTC"]
        clock.set(analysed_at + timedelta(minutes=1))
        frame, when = strategy.dp.get_analyzed_dataframe("LTC/BTC", "5m")
        other, never = strategy.dp.get_analyzed_dataframe("LTC/BTC", "1h")
    finally:
        await made.shutdown()

    assert first["runmode"] is RunMode.DRY_RUN
    # The first fill takes all the replay has (up to 999 candles, as live): its hours from
    # 05:00 on the 10th, the first whole one (the data starts at 04:55), to 10:00 on the 20th.
    assert (first["eth_last"], first["merged_last"], first["eth_rows"]) == (
        datetime(2018, 1, 20, 10, tzinfo=UTC), datetime(2018, 1, 20, 10, tzinfo=UTC), 246)
    assert strategy.dp.get_pair_dataframe("ETH/BTC", "1h")["date"].iloc[0] == pd.Timestamp(
        "2018-01-10 05:00", tz=UTC)
    assert (second["eth_last"], second["merged_last"]) == (
        datetime(2018, 1, 20, 11, tzinfo=UTC), datetime(2018, 1, 20, 11, tzinfo=UTC))
    assert (frame["date"].iloc[-1].to_pydatetime(), when) == (
        datetime(2018, 1, 20, 11, 55, tzinfo=UTC), analysed_at)
    assert {"close_1h", "hourly_close_1h"} <= set(frame.columns)
    assert other.empty
    assert never == datetime(1970, 1, 1, tzinfo=UTC)
    eth = shipped_frames(["ETH/BTC"])["ETH/BTC"]
    hour = eth[(eth["date"] >= pd.Timestamp("2018-01-20 11:00", tz=UTC))
               & (eth["date"] < pd.Timestamp("2018-01-20 12:00", tz=UTC))]
    hourly = made.engine.strategy.dp.get_pair_dataframe("ETH/BTC", "1h").iloc[-1]
    assert (hourly["open"], hourly["high"], hourly["low"], hourly["close"]) == (
        hour["open"].iloc[0], hour["high"].max(), hour["low"].min(), hour["close"].iloc[-1])
    assert hourly["volume"] == pytest.approx(hour["volume"].sum())


class FollowsAMissingPair(HourlyTrend):
    def informative_pairs(self) -> list[tuple[str, ...]]:
        return [("DOGE/BTC", "1h")]

    def populate_indicators(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        self.seen[metadata["pair"]] = len(self.dp.get_pair_dataframe("DOGE/BTC", "1h"))
        return dataframe


async def test_the_offline_demo_names_the_file_an_informative_pair_lacks_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock(START)
    strategy = FollowsAMissingPair()
    made = make_engine(settings_overrides={"exchange": {"pair_whitelist": PAIRS}},
                       strategy=strategy, clock=clock)
    await made.startup()
    try:
        for minutes in (0, 5, 65):
            clock.set(START + timedelta(minutes=minutes))
            await made.process()
    finally:
        await made.shutdown()
    assert strategy.seen == {"LTC/BTC": 0, "XLM/BTC": 0}
    missing = [r.getMessage() for r in caplog.records if "DOGE_BTC" in r.getMessage()]
    assert len(missing) == 1
    assert "no candles for DOGE/BTC" in missing[0]
    assert "expected DOGE_BTC-5m.feather" in missing[0]
