"""Informative candles: `merge_informative_pair` never shows a candle before it closed, and
`@informative` names and merges columns as Freqtrade 2026.9 does."""

from __future__ import annotations

from datetime import UTC

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ConfigError, StrategyError
from engine.analysis import Analyzer
from engine.dataprovider import DataProvider, RunMode
from engine.informative import informative, merge_informative_pair, requested_candles
from engine.strategy import IStrategy
from venues.exchange import MarketRules

FIVE = pd.Timedelta(minutes=5)
HOUR = pd.Timedelta(hours=1)


def candles(start: str, count: int, step: pd.Timedelta, first_close: float = 1.0
            ) -> pd.DataFrame:
    dates = pd.date_range(pd.Timestamp(start, tz=UTC), periods=count, freq=step)
    close = first_close + np.arange(count, dtype=float)
    return pd.DataFrame({"date": dates, "open": close, "high": close, "low": close,
                         "close": close, "volume": 1.0})


def at(frame: pd.DataFrame, when: str, column: str) -> object:
    return frame.loc[frame["date"] == pd.Timestamp(when, tz=UTC), column].iloc[0]


# --- merge_informative_pair on hand-made frames -------------------------------------------------


def test_an_hourly_candle_reaches_the_5m_rows_from_the_one_that_closes_with_it() -> None:
    base = candles("2018-01-10 10:00", 36, FIVE)  # 10:00 .. 12:55
    hourly = candles("2018-01-10 09:00", 4, HOUR, first_close=100.0)  # 09:00 .. 12:00

    merged = merge_informative_pair(base, hourly, "5m", "1h")

    assert len(merged) == len(base)
    # The 10:00 candle closes at 11:00, with the 5m candle that opened at 10:55.
    assert at(merged, "2018-01-10 10:50", "date_1h") == pd.Timestamp("2018-01-10 09:00", tz=UTC)
    assert at(merged, "2018-01-10 10:55", "date_1h") == pd.Timestamp("2018-01-10 10:00", tz=UTC)
    assert at(merged, "2018-01-10 10:55", "close_1h") == 101.0
    assert at(merged, "2018-01-10 11:50", "close_1h") == 101.0
    assert at(merged, "2018-01-10 11:55", "close_1h") == 102.0
    # The first rows take the 09:00 candle, closed at 10:00: before the frame starts.
    assert at(merged, "2018-01-10 10:00", "close_1h") == 100.0
    # The 12:00 candle closes at 13:00 with the last row, and not a row earlier.
    assert at(merged, "2018-01-10 12:50", "close_1h") == 102.0
    assert at(merged, "2018-01-10 12:55", "close_1h") == 103.0
    assert list(merged.columns[:6]) == ["date", "open", "high", "low", "close", "volume"]
    assert {"date_1h", "open_1h", "volume_1h"} <= set(merged.columns)


def test_without_ffill_only_the_closing_rows_carry_the_hourly_candle() -> None:
    base = candles("2018-01-10 10:00", 24, FIVE)
    hourly = candles("2018-01-10 10:00", 2, HOUR, first_close=100.0)

    merged = merge_informative_pair(base, hourly, "5m", "1h", ffill=False)

    carried = merged.loc[merged["close_1h"].notna(), "date"]
    assert list(carried) == [pd.Timestamp("2018-01-10 10:55", tz=UTC),
                             pd.Timestamp("2018-01-10 11:55", tz=UTC)]


def test_a_nan_indicator_of_a_closed_candle_is_not_filled_from_the_one_before() -> None:
    base = candles("2018-01-10 10:00", 24, FIVE)
    hourly = candles("2018-01-10 09:00", 3, HOUR).assign(rsi=[40.0, np.nan, 60.0])

    merged = merge_informative_pair(base, hourly, "5m", "1h")

    assert at(merged, "2018-01-10 10:50", "rsi_1h") == 40.0
    assert np.isnan(at(merged, "2018-01-10 10:55", "rsi_1h"))  # type: ignore[arg-type]
    assert at(merged, "2018-01-10 11:55", "rsi_1h") == 60.0


def test_same_timeframe_merges_row_to_row_and_suffix_names_the_columns() -> None:
    base = candles("2018-01-10 10:00", 6, FIVE)
    other = candles("2018-01-10 10:00", 6, FIVE, first_close=50.0)

    merged = merge_informative_pair(base, other, "5m", "5m", append_timeframe=False,
                                    suffix="eth")

    assert list(merged["close_eth"]) == list(other["close"])
    assert "date_eth" in merged.columns


def test_a_column_on_both_sides_keeps_both_suffixed_as_pandas_merge_does() -> None:
    base = candles("2018-01-10 10:00", 12, FIVE).assign(close_1h=7.0)
    hourly = candles("2018-01-10 09:00", 2, HOUR, first_close=100.0)

    merged = merge_informative_pair(base, hourly, "5m", "1h")

    assert set(merged["close_1h_x"]) == {7.0}
    assert set(merged["close_1h_y"]) == {100.0, 101.0}
    assert "close_1h" not in merged.columns


def test_a_shorter_informative_timeframe_or_both_namings_is_refused() -> None:
    base = candles("2018-01-10 10:00", 6, HOUR)
    with pytest.raises(ValueError, match="shorter"):
        merge_informative_pair(base, candles("2018-01-10 10:00", 6, FIVE), "1h", "5m")
    with pytest.raises(ValueError, match="suffix"):
        merge_informative_pair(base, base, "1h", "1h", suffix="x")


def test_a_base_gap_never_makes_the_first_rows_see_a_later_candle() -> None:
    # The 5m candles 10:10 .. 11:55 are missing, so the 10:00 1h candle matches no row.
    base = pd.concat([candles("2018-01-10 10:00", 2, FIVE),
                      candles("2018-01-10 12:00", 12, FIVE)], ignore_index=True)
    hourly = candles("2018-01-10 09:00", 4, HOUR, first_close=100.0)

    merged = merge_informative_pair(base, hourly, "5m", "1h")

    # Freqtrade fills the rows before 12:55 with the 11:00 candle, closed only at 12:00.
    assert at(merged, "2018-01-10 10:00", "close_1h") == 100.0  # 09:00, closed at 10:00
    assert at(merged, "2018-01-10 10:05", "close_1h") == 100.0
    assert at(merged, "2018-01-10 12:00", "close_1h") == 102.0  # 11:00, as Freqtrade
    assert at(merged, "2018-01-10 12:55", "close_1h") == 103.0


# --- the no-look-ahead rule, property-tested ------------------------------------------------------


def closed_by(base: pd.DataFrame, hourly: pd.DataFrame, tf: pd.Timedelta, *, ffill: bool
              ) -> list[object]:
    """The direct definition: each 5m row sees the newest informative candle that had closed
    when the row closed, among those closing with some row (Freqtrade's join); the rows before
    the first such take the last candle closed before the frame's first row. Without ffill,
    only the row a candle closes with sees it."""
    ready = hourly["date"] + tf - FIVE
    rows = set(base["date"])
    joined = [(r, d) for r, d in zip(ready, hourly["date"], strict=True) if r in rows]
    if not ffill:
        closing = dict(joined)
        return [closing.get(when) for when in base["date"]]
    expected: list[object] = []
    for when in base["date"]:
        seen = [d for r, d in joined if r <= when]
        expected.append(max(seen) if seen else None)
    first = next((i for i, value in enumerate(expected) if value is not None), None)
    if first and len(base) > 1:
        before = [d for r, d in zip(ready, hourly["date"], strict=True)
                  if r < base["date"].iloc[0]]
        if before:
            expected[:first] = [max(before)] * first
    return expected


@pytest.mark.heavy
@settings(max_examples=150, deadline=None)
@given(
    offset=st.integers(min_value=0, max_value=47),
    length=st.integers(min_value=1, max_value=80),
    hours=st.lists(st.integers(min_value=-4, max_value=10), min_size=0, max_size=14,
                   unique=True),
    tf=st.sampled_from(["15m", "1h", "4h"]),
    gaps=st.lists(st.integers(min_value=0, max_value=79), max_size=10),
    ffill=st.booleans(),
)
def test_no_row_ever_sees_an_informative_candle_before_it_closed(
    offset: int, length: int, hours: list[int], tf: str, gaps: list[int], ffill: bool
) -> None:
    step = pd.Timedelta(tf)
    start = pd.Timestamp("2018-01-10 08:00", tz=UTC)
    base = candles(str(start + FIVE * offset), length, FIVE)
    if gaps:
        base = base.drop(index=[g for g in gaps if g < length and g > 0]).reset_index(drop=True)
    informative_dates = pd.DatetimeIndex(sorted(start + step * h for h in hours))
    hourly = pd.DataFrame({"date": informative_dates,
                           "close": np.arange(len(informative_dates), dtype=float)})

    merged = merge_informative_pair(base, hourly, "5m", tf, ffill=ffill)

    assert list(merged["date"]) == list(base["date"])
    for when, seen in zip(merged["date"], merged[f"date_{tf}"], strict=True):
        if not pd.isna(seen):
            assert seen + step <= when + FIVE, f"{when}: saw the {seen} candle before it closed"
    if not gaps:
        expected = closed_by(base, hourly, step, ffill=ffill)
        got = [None if pd.isna(value) else value for value in merged[f"date_{tf}"]]
        assert got == expected


# --- @informative ---------------------------------------------------------------------------------


MARKETS = {pair: MarketRules(pair=pair, base=pair.split("/")[0], quote=pair.split("/")[1],
                             active=True, amount_step=0.001, price_tick=1e-8, min_amount=None,
                             max_amount=None, min_cost=None, max_cost=None, maker_fee=0.001,
                             taker_fee=0.001)
           for pair in ("LTC/BTC", "ETH/BTC", "ETH/USDT", "LTC/USDT")}


class HeldCandles:
    """Candle data a test holds: whatever (pair, timeframe) frames it was given."""

    def __init__(self, frames: dict[tuple[str, str], pd.DataFrame]) -> None:
        self.frames = frames
        self.asked: list[tuple[str, str]] = []

    @property
    def runmode(self) -> RunMode:
        return RunMode.BACKTEST

    def candles(self, pair: str, timeframe: str) -> pd.DataFrame:
        self.asked.append((pair, timeframe))
        return self.frames.get((pair, timeframe), pd.DataFrame())

    def analyzed(self, pair: str) -> tuple[None, None]:
        return None, None

    def available(self) -> list[tuple[str, str]]:
        return list(self.frames)


def bound(strategy: IStrategy, data: HeldCandles) -> IStrategy:
    strategy.dp = DataProvider(data, strategy.timeframe, stake_currency="BTC",
                               startup_candles=0, whitelist=lambda: ["LTC/BTC"],
                               markets=lambda: MARKETS, tickers=dict, clock=None)
    return strategy


class Plain(IStrategy):
    timeframe = "5m"
    stoploss = -0.1

    def populate_indicators(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe

    def populate_exit_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe


class Decorated(Plain):
    @informative("1h")
    def populate_indicators_1h(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        dataframe["twice"] = dataframe["close"] * 2
        return dataframe

    @informative("1h", "ETH/{stake}")
    def populate_indicators_eth(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        dataframe["seen_as"] = metadata["pair"]
        return dataframe

    @informative("1h", "{base}/USDT", fmt="{column}_{quote}_{timeframe}")
    @informative("4h", "ETH/USDT", fmt=lambda **names: f"{names['BASE']}_{names['column']}")
    def populate_indicators_usdt(self, dataframe: pd.DataFrame, metadata: dict
                                 ) -> pd.DataFrame:
        return dataframe

    @informative("1h", fmt="{column}_sparse", ffill=False)
    def populate_indicators_sparse(self, dataframe: pd.DataFrame, metadata: dict
                                   ) -> pd.DataFrame:
        dataframe["sparse"] = dataframe["close"]
        return dataframe


def decorated_data() -> HeldCandles:
    frames = {(pair, "1h"): candles("2018-01-10 08:00", 6, HOUR, first_close=10.0)
              for pair in ("LTC/BTC", "ETH/BTC", "LTC/USDT")}
    frames[("ETH/USDT", "4h")] = candles("2018-01-10 04:00", 3, pd.Timedelta(hours=4))
    return HeldCandles(frames)


def test_informative_methods_add_their_columns_under_freqtrades_names() -> None:
    data = decorated_data()
    strategy = bound(Decorated(), data)

    frame = Analyzer(strategy, "5m").populate("LTC/BTC", candles("2018-01-10 10:00", 24, FIVE))

    assert frame is not None
    assert {"close_1h", "twice_1h", "date_1h"} <= set(frame.columns)  # the pair itself
    assert {"eth_btc_close_1h", "eth_btc_seen_as_1h"} <= set(frame.columns)  # {base}_{quote}_
    assert set(frame["eth_btc_seen_as_1h"].dropna()) == {"ETH/BTC"}
    assert "close_usdt_1h" in frame.columns  # fmt string; asset from the pair's {base}
    assert {"ETH_close", "ETH_date"} <= set(frame.columns)  # fmt callable
    assert frame["close_sparse"].notna().sum() == 2  # ffill=False: 10:55 and 11:55 only
    assert at(frame, "2018-01-10 10:55", "twice_1h") == 2 * at(frame, "2018-01-10 10:55",
                                                               "close_1h")
    assert set(data.asked) >= {("LTC/BTC", "1h"), ("ETH/BTC", "1h"), ("LTC/USDT", "1h"),
                               ("ETH/USDT", "4h")}


def test_the_requested_candles_follow_the_decorators_and_informative_pairs() -> None:
    strategy = bound(Decorated(), decorated_data())

    wanted = requested_candles(strategy, [("XLM/BTC", "15m"), ("ADA/BTC", "1d", "spot")],
                               ["LTC/BTC", "ETH/BTC"], strategy.dp.market, "BTC")

    assert set(wanted) == {("XLM/BTC", "15m"), ("ADA/BTC", "1d"), ("LTC/BTC", "1h"),
                           ("ETH/BTC", "1h"), ("LTC/USDT", "1h"), ("ETH/USDT", "1h"),
                           ("ETH/USDT", "4h")}
    with pytest.raises(StrategyError, match="spot only"):
        requested_candles(strategy, [("XLM/BTC", "1h", "futures")], [], strategy.dp.market,
                          "BTC")


def test_an_informative_timeframe_shorter_than_the_strategys_is_refused() -> None:
    class TooFast(Plain):
        timeframe = "1h"

        @informative("5m")
        def populate_indicators_5m(self, dataframe: pd.DataFrame, metadata: dict
                                   ) -> pd.DataFrame:
            return dataframe

    with pytest.raises(ConfigError, match=r"populate_indicators_5m.*shorter"):
        Analyzer(TooFast(), "1h")


def test_two_informative_methods_with_the_same_names_are_refused() -> None:
    class Twice(Plain):
        @informative("1h")
        def populate_indicators_a(self, dataframe: pd.DataFrame, metadata: dict
                                  ) -> pd.DataFrame:
            return dataframe

        @informative("1h")
        def populate_indicators_b(self, dataframe: pd.DataFrame, metadata: dict
                                  ) -> pd.DataFrame:
            return dataframe

    strategy = bound(Twice(), decorated_data())
    assert Analyzer(strategy, "5m").populate("LTC/BTC", candles("2018-01-10 10:00", 5, FIVE)) \
        is None


def test_a_missing_informative_market_or_candles_skips_the_pair() -> None:
    class Unknown(Plain):
        @informative("1h", "DOGE/BTC")
        def populate_indicators_doge(self, dataframe: pd.DataFrame, metadata: dict
                                     ) -> pd.DataFrame:
            return dataframe

    strategy = bound(Unknown(), HeldCandles({}))
    assert Analyzer(strategy, "5m").populate("LTC/BTC", candles("2018-01-10 10:00", 5, FIVE)) \
        is None
    strategy = bound(Decorated(), HeldCandles({}))
    assert Analyzer(strategy, "5m").populate("LTC/BTC", candles("2018-01-10 10:00", 5, FIVE)) \
        is None


def test_a_futures_candle_type_is_refused_when_the_strategy_is_defined() -> None:
    with pytest.raises(ConfigError, match="spot only"):
        informative("1h", candle_type="futures")

