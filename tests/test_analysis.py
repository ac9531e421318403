"""Analysis: signals from closed candles only, computed once per candle, stale data refused,
a broken strategy skipping only its pair; and the sample strategy on real candles."""

from __future__ import annotations

import itertools
import logging
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.analysis import Analyzer, Signal
from engine.loader import load_strategy
from engine.strategy import IStrategy

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT = Path(__file__).parent.parent
FIVE = timedelta(minutes=5)


@pytest.fixture(scope="module")
def eth() -> pd.DataFrame:
    return pd.read_feather(FIXTURES / "ETH_BTC-5m.feather")


@pytest.fixture(scope="module")
def ltc() -> pd.DataFrame:
    return pd.read_feather(FIXTURES / "LTC_BTC-5m.feather")


@pytest.fixture(scope="module")
def sample() -> IStrategy:
    return load_strategy("SampleStrategy", PROJECT / "strategies", {})


def open_time(candles: pd.DataFrame, row: int) -> datetime:
    return candles["date"].iloc[row].to_pydatetime()


def just_after_close(candles: pd.DataFrame, row: int) -> datetime:
    """A clock one minute into the candle after `row`: `row` is the last closed one."""
    return open_time(candles, row) + FIVE + timedelta(minutes=1)


class Recorder(IStrategy):
    """Counts its runs, remembers the newest candle it was shown, and signals on every candle."""

    timeframe = "5m"
    stoploss = -0.1

    def __init__(self, fail_on: str | None = None) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.newest_seen: list[pd.Timestamp] = []
        self.fail_on = fail_on

    def populate_indicators(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        if metadata["pair"] == self.fail_on:
            raise ValueError("cannot compute the indicator")
        self.calls.append("indicators")
        self.newest_seen.append(dataframe["date"].max())
        return dataframe

    def populate_entry_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        self.calls.append("entry")
        dataframe["enter_long"] = 1
        dataframe["enter_tag"] = "always"
        return dataframe

    def populate_exit_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        self.calls.append("exit")
        return dataframe


# --- the sample strategy on real candles -----------------------------------------------------


def test_sample_strategy_enters_and_exits_many_times_on_the_shipped_candles(
    sample: IStrategy, eth: pd.DataFrame, ltc: pd.DataFrame,
) -> None:
    analyzer = Analyzer(sample, "5m")
    for pair, candles in (("ETH/BTC", eth), ("LTC/BTC", ltc)):
        frame = analyzer.populate(pair, candles)
        assert frame is not None
        assert (frame["enter_long"] == 1).sum() > 100
        assert (frame["exit_long"] == 1).sum() > 100
        assert set(frame.loc[frame["enter_long"] == 1, "enter_tag"]) == {"ema_cross"}


def ema_by_hand(closes: list[float], period: int) -> list[float]:
    alpha = 2 / (period + 1)
    values = [closes[0]]
    for close in closes[1:]:
        values.append(alpha * close + (1 - alpha) * values[-1])
    return values


def rsi_by_hand(closes: list[float], period: int) -> float:
    """Wilder's RSI of the last close: average gain / average loss, each average moving
    1/period of the way towards every new change, starting from the first change."""
    gain = loss = math.nan
    for previous, close in itertools.pairwise(closes):
        up, down = max(close - previous, 0.0), max(previous - close, 0.0)
        if math.isnan(gain):
            gain, loss = up, down
        else:
            gain += (up - gain) / period
            loss += (down - loss) / period
    return 100 - 100 / (1 + gain / loss)


@pytest.mark.parametrize(("when", "enter", "exit_", "reason"), [
    ("2018-01-10 19:55", True, False, "fast EMA crossed above the slow one, RSI 61.8 < 65"),
    ("2018-01-10 11:40", False, False, "fast EMA crossed above the slow one, but RSI 66.4"),
    ("2018-01-10 09:35", False, True, "fast EMA crossed below the slow one"),
])
def test_sample_strategy_signals_match_hand_checked_eth_candles(
    sample: IStrategy, eth: pd.DataFrame, when: str, enter: bool, exit_: bool, reason: str,
) -> None:
    row = int(np.flatnonzero(eth["date"] == pd.Timestamp(when, tz="UTC"))[0])
    # Hand-checked with plain arithmetic over every close up to this candle.
    closes = [float(c) for c in eth["close"].iloc[: row + 1]]
    fast, slow = ema_by_hand(closes, 9), ema_by_hand(closes, 21)
    rsi = rsi_by_hand(closes, 14)
    crossed_up = fast[-1] > slow[-1] and fast[-2] <= slow[-2]
    crossed_down = fast[-1] < slow[-1] and fast[-2] >= slow[-2]
    assert (crossed_up and rsi < 65, crossed_down) == (enter, exit_), reason

    analyzer = Analyzer(sample, "5m")
    signal = analyzer.analyze("ETH/BTC", eth.iloc[: row + 2], just_after_close(eth, row))
    assert signal is not None
    assert (signal.candle_time, signal.enter_long, signal.exit_long) == \
        (open_time(eth, row), enter, exit_)
    assert signal.enter_tag == ("ema_cross" if enter else None)
    frame = analyzer.dataframe("ETH/BTC")
    assert frame is not None
    last = frame.iloc[-1]
    assert (last["ema_fast"], last["ema_slow"], last["rsi"]) == \
        pytest.approx((fast[-1], slow[-1], rsi), rel=1e-9)


@pytest.mark.heavy
def test_stepping_candle_by_candle_gives_the_signals_of_the_whole_range_computed_at_once(
    sample: IStrategy, eth: pd.DataFrame,
) -> None:
    """Live runs analyze as candles close; a backtest analyzes the range once. Same signals."""
    backtest = Analyzer(sample, "5m")
    whole = backtest.populate("ETH/BTC", eth.iloc[:400])
    assert whole is not None
    backtest.set_frame("ETH/BTC", whole)
    live = Analyzer(sample, "5m")
    stepped, looked_up = [], []
    for row in range(250, 399):
        stepped.append(live.analyze("ETH/BTC", eth.iloc[: row + 1], just_after_close(eth, row)))
        looked_up.append(backtest.signal_at("ETH/BTC", open_time(eth, row)))
    assert stepped == looked_up
    assert any(s.enter_long for s in stepped if s)
    assert any(s.exit_long for s in stepped if s)


# --- no look-ahead, no needless work ---------------------------------------------------------


def test_strategy_never_sees_a_candle_that_has_not_closed(eth: pd.DataFrame) -> None:
    strategy = Recorder()
    analyzer = Analyzer(strategy, "5m")
    # Handed the whole file while the clock stands 2 minutes into candle 300.
    now = open_time(eth, 300) + timedelta(minutes=2)
    signal = analyzer.analyze("ETH/BTC", eth, now)
    assert signal is not None
    assert strategy.newest_seen == [eth["date"].iloc[299]]
    assert signal.candle_time == open_time(eth, 299)
    # At the very second candle 300 closes, it becomes visible.
    analyzer.analyze("ETH/BTC", eth, open_time(eth, 300) + FIVE)
    assert strategy.newest_seen[-1] == eth["date"].iloc[300]


def test_populate_methods_are_not_called_until_a_new_candle_closes(eth: pd.DataFrame) -> None:
    strategy = Recorder()
    analyzer = Analyzer(strategy, "5m")
    candles = eth.iloc[:200]
    first = just_after_close(candles, 199)
    signals = [analyzer.analyze("ETH/BTC", candles, first + timedelta(seconds=s))
               for s in (0, 30, 150, 200)]
    assert strategy.calls == ["indicators", "entry", "exit"]
    assert len(set(signals)) == 1
    assert signals[0] is not None
    assert signals[0].enter_long
    analyzer.analyze("ETH/BTC", eth.iloc[:201], first + FIVE)
    assert strategy.calls == ["indicators", "entry", "exit"] * 2


def test_without_process_only_new_candles_every_call_recomputes(eth: pd.DataFrame) -> None:
    strategy = Recorder()
    strategy.apply_overrides({"process_only_new_candles": False})
    analyzer = Analyzer(strategy, "5m")
    for _ in range(3):
        analyzer.analyze("ETH/BTC", eth.iloc[:200], just_after_close(eth, 199))
    assert strategy.calls.count("indicators") == 3


def test_a_strategy_swapped_in_by_reload_analyses_the_current_candle_again(
        eth: pd.DataFrame) -> None:
    before, after = Recorder(), Recorder()
    analyzer = Analyzer(before, "5m")
    now = just_after_close(eth, 199)
    analyzer.analyze("ETH/BTC", eth.iloc[:200], now)

    analyzer.use(after)
    analyzer.analyze("ETH/BTC", eth.iloc[:200], now + timedelta(seconds=30))

    assert before.calls == ["indicators", "entry", "exit"]
    assert after.calls == ["indicators", "entry", "exit"]


# --- stale data, broken strategies -----------------------------------------------------------


def test_outdated_pair_gets_no_entry_and_one_warning_until_it_recovers(
    eth: pd.DataFrame, caplog: pytest.LogCaptureFixture,
) -> None:
    analyzer = Analyzer(Recorder(), "5m", outdated_offset=timedelta(minutes=5))
    candles = eth.iloc[:100]
    last = open_time(candles, 99)
    with caplog.at_level(logging.WARNING):
        fresh = analyzer.analyze("ETH/BTC", candles, last + timedelta(minutes=15))
        stale = [analyzer.analyze("ETH/BTC", candles, last + timedelta(minutes=m))
                 for m in (16, 20, 30)]
        recovered = analyzer.analyze("ETH/BTC", eth.iloc[:104], last + timedelta(minutes=25))
        again = analyzer.analyze("ETH/BTC", eth.iloc[:104], last + timedelta(minutes=40))
    assert fresh is not None
    assert fresh.enter_long
    assert not fresh.stale
    assert all(s is not None and s.stale and not s.enter_long for s in stale)
    assert recovered is not None
    assert recovered.enter_long
    assert not recovered.stale
    assert again is not None
    assert again.stale
    assert [r.getMessage() for r in caplog.records] == [
        "Outdated history for pair ETH/BTC. Last tick is 16 minutes old",
        "Outdated history for pair ETH/BTC. Last tick is 20 minutes old",
    ]


def test_strategy_raising_on_one_pair_skips_only_that_pair_and_is_logged_once(
    eth: pd.DataFrame, ltc: pd.DataFrame, caplog: pytest.LogCaptureFixture,
) -> None:
    analyzer = Analyzer(Recorder(fail_on="LTC/BTC"), "5m")
    results = []
    with caplog.at_level(logging.WARNING):
        for row in range(100, 105):  # a new candle each iteration: the strategy runs each time
            now = just_after_close(eth, row)
            results.append((analyzer.analyze("LTC/BTC", ltc.iloc[: row + 1], now),
                            analyzer.analyze("ETH/BTC", eth.iloc[: row + 1], now)))
    assert all(bad is None for bad, _ in results)
    assert all(good is not None and good.enter_long for _, good in results)
    assert len(caplog.records) == 1
    assert "populate_indicators raised for LTC/BTC: ValueError: cannot compute the indicator" \
        in caplog.records[0].getMessage()


def test_strategy_that_drops_candles_is_skipped_with_a_clear_message(
    eth: pd.DataFrame, caplog: pytest.LogCaptureFixture,
) -> None:
    class Dropper(Recorder):
        def populate_exit_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
            return dataframe.dropna().iloc[:-1]

    analyzer = Analyzer(Dropper(), "5m")
    with caplog.at_level(logging.ERROR):
        assert analyzer.analyze("ETH/BTC", eth.iloc[:50], just_after_close(eth, 49)) is None
    assert "the strategy returned 49 rows for 50 candles" in caplog.text


def test_changing_the_returned_dataframe_changes_nothing_inside(eth: pd.DataFrame) -> None:
    analyzer = Analyzer(Recorder(), "5m")
    analyzer.analyze("ETH/BTC", eth.iloc[:50], just_after_close(eth, 49))
    frame = analyzer.dataframe("ETH/BTC")
    assert frame is not None
    frame["enter_long"] = 0
    frame.loc[49, "close"] = -1.0
    again = analyzer.dataframe("ETH/BTC")
    assert again is not None
    assert again["enter_long"].iloc[-1] == 1
    assert again["close"].iloc[-1] > 0
    assert "enter_long" not in eth.columns


def test_no_candles_or_no_closed_candle_gives_no_signal(eth: pd.DataFrame) -> None:
    analyzer = Analyzer(Recorder(), "5m")
    assert analyzer.analyze("ETH/BTC", eth.iloc[:0], open_time(eth, 0)) is None
    assert analyzer.analyze("ETH/BTC", eth.iloc[:1], open_time(eth, 0) + FIVE / 2) is None
    assert analyzer.signal_at("ETH/BTC", open_time(eth, 0)) is None
    assert analyzer.dataframe("ETH/BTC") is None


# --- signal rules ------------------------------------------------------------------------------

cell = st.sampled_from([0, 1, math.nan])


@settings(max_examples=60, deadline=None)
@given(enters=st.lists(cell, min_size=1, max_size=20), data=st.data(),
       unit=st.sampled_from(["s", "ms", "us", "ns"]))
def test_entry_needs_enter_and_no_exit_and_exit_needs_exit_and_no_enter(
    enters: list[Any], data: st.DataObject, unit: Literal["s", "ms", "us", "ns"],
) -> None:
    exits = data.draw(st.lists(cell, min_size=len(enters), max_size=len(enters)))
    dates = pd.date_range("2018-01-10", periods=len(enters), freq="5min", tz="UTC", unit=unit)
    frame = pd.DataFrame({"date": dates, "close": 1.0, "enter_long": enters, "exit_long": exits})
    analyzer = Analyzer(Recorder(), "5m")
    analyzer.set_frame("X/BTC", frame)
    for when, enter, exit_ in zip(dates, enters, exits, strict=True):
        signal = analyzer.signal_at("X/BTC", when.to_pydatetime())
        assert signal is not None
        assert signal.candle_time == when.to_pydatetime()
        assert signal.enter_long == (enter == 1 and exit_ != 1)
        assert signal.exit_long == (exit_ == 1 and enter != 1)
    assert analyzer.signal_at("X/BTC", datetime(2018, 1, 9, tzinfo=UTC)) is None


tag = st.sampled_from(["", "cross", "rsi", None, math.nan])


def tag_of(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(cell, cell, tag, tag), min_size=1, max_size=12),
       asked=st.lists(st.integers(-3, 26), max_size=40))
def test_signal_at_reads_the_candle_asked_for_in_any_order_and_none_between_candles(
    rows: list[tuple[Any, Any, Any, Any]], asked: list[int],
) -> None:
    enters, exits, enter_tags, exit_tags = (list(column) for column in zip(*rows, strict=True))
    dates = pd.date_range("2018-01-10", periods=len(rows), freq="10min", tz="UTC")
    frame = pd.DataFrame({"date": dates, "close": 1.0, "enter_long": enters, "exit_long": exits,
                          "enter_tag": enter_tags, "exit_tag": exit_tags})
    analyzer = Analyzer(Recorder(), "5m")
    analyzer.set_frame("X/BTC", frame)
    start = dates[0].to_pydatetime()
    # Even steps of five minutes are candle opens, odd ones fall between two candles; asked in
    # any order (jumps, repeats, backwards), then stepped through as a backtest does.
    for step in [*asked, *range(-2, 2 * len(rows) + 2)]:
        when = start + step * FIVE
        row, between = divmod(step, 2)
        expected = None
        if not between and 0 <= row < len(rows):
            enter, exit_, enter_tag, exit_tag = rows[row]
            expected = Signal("X/BTC", when, enter == 1 and exit_ != 1, exit_ == 1 and enter != 1,
                              tag_of(enter_tag), tag_of(exit_tag), stale=False)
        assert analyzer.signal_at("X/BTC", when) == expected


def test_a_frame_set_again_is_read_from_its_own_rows(eth: pd.DataFrame) -> None:
    frame = eth.iloc[:10].assign(enter_long=0)
    analyzer = Analyzer(Recorder(), "5m")

    def entries(rows: range) -> list[tuple[datetime, bool] | None]:
        signals = (analyzer.signal_at("ETH/BTC", open_time(eth, row)) for row in rows)
        return [None if s is None else (s.candle_time, s.enter_long) for s in signals]

    analyzer.set_frame("ETH/BTC", frame)
    assert entries(range(5)) == [(open_time(eth, row), False) for row in range(5)]
    analyzer.set_frame("ETH/BTC", frame.assign(enter_long=1).iloc[2:])
    assert entries(range(10)) == [None, None] + [(open_time(eth, row), True)
                                                 for row in range(2, 10)]
