"""Per-pair analysis: run the strategy over closed candles and read the signal of the last one.

The strategy never sees a candle that has not closed at `now`, whatever the caller passes in,
and a signal is read from the last closed candle only, so there is no look-ahead. With
`process_only_new_candles` the strategy runs once per new candle; until the next one closes
the cached result is reused and no strategy code runs at all.

A backtest computes the whole range at once (`populate`, vectorized) and hands the frame over
with `set_frame`; `signal_at` then reads the candle it asks for, so live and backtest runs read
signals through the same code. A backtest asks for every pair's candles in turn, so `signal_at`
reads plain Python sequences (numpy's per-element overhead would dominate) and checks the
candle after the last one asked for before searching.
"""

from __future__ import annotations

import logging
from array import array
from bisect import bisect_left
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import numpy as np
import pandas as pd

from core.errors import StrategyError
from engine.informative import decorated, merge_decorated
from engine.strategy import IStrategy, LogOnce, safe_populate
from engine.strategy_compat import legacy_columns
from marketdata.timeframe import timeframe_to_timedelta

logger = logging.getLogger(__name__)


class Signal(NamedTuple):
    """What the strategy says about one candle, in Freqtrade's terms.

    `enter_long`: the candle has enter_long == 1 and not exit_long == 1 (NaN counts as 0).
    `exit_long`: the candle has exit_long == 1 and not enter_long == 1.
    A stale signal (outdated candles) never says enter or exit.
    A named tuple (like `Ticker`): one is read per pair and candle.
    """

    pair: str
    candle_time: datetime  # open time of the candle the signal was read from
    enter_long: bool
    exit_long: bool
    enter_tag: str | None
    exit_tag: str | None
    stale: bool


def entry_expired(signal: Signal, now: datetime, strategy: IStrategy) -> bool:
    """Freqtrade's ignore_buying_expired_candle_after: an entry signal is not taken once its
    candle closed more than that many seconds ago (0: always taken)."""
    limit = strategy.ignore_buying_expired_candle_after
    closed = signal.candle_time + timeframe_to_timedelta(strategy.timeframe)
    return bool(limit) and (now - closed).total_seconds() > limit


class _Analyzed:
    """One analyzed frame, with its signal columns pre-read for fast lookups by time."""

    __slots__ = ("at", "dates", "enter", "enter_tags", "exit", "exit_tags", "frame", "rows")

    def __init__(self, frame: pd.DataFrame, at: datetime | None) -> None:
        self.frame = frame
        self.at = at  # when it was analysed (live), for dp.get_analyzed_dataframe
        self.dates = _dates_ns(frame)
        raw_enter = _flags(frame, "enter_long")
        raw_exit = _flags(frame, "exit_long")
        self.enter = raw_enter & ~raw_exit
        self.exit = raw_exit & ~raw_enter
        self.enter_tags = _tags(frame, "enter_tag")
        self.exit_tags = _tags(frame, "exit_tag")
        self.rows: _Rows | None = None  # built by the first `signal_at`

    @property
    def last_date(self) -> int:
        return int(self.dates[-1])

    def signal(self, pair: str, row: int, stale: bool) -> Signal:
        fresh = not stale
        return Signal(
            pair=pair,
            candle_time=_EPOCH + timedelta(microseconds=int(self.dates[row]) // 1000),
            enter_long=fresh and bool(self.enter[row]),
            exit_long=fresh and bool(self.exit[row]),
            enter_tag=_tag(self.enter_tags, row),
            exit_tag=_tag(self.exit_tags, row),
            stale=stale,
        )


class _Rows:
    """An analyzed frame's signal columns as Python sequences, with a cursor on the last row
    read."""

    __slots__ = ("at", "dates", "enter", "enter_tags", "exit", "exit_tags")

    def __init__(self, analyzed: _Analyzed) -> None:
        self.dates = array("q", analyzed.dates.tolist())
        self.enter: list[bool] = analyzed.enter.tolist()
        self.exit: list[bool] = analyzed.exit.tolist()
        self.enter_tags = _tag_list(analyzed.enter_tags, len(self.dates))
        self.exit_tags = _tag_list(analyzed.exit_tags, len(self.dates))
        self.at = -1

    def find(self, wanted: int) -> int | None:
        """The first row dated `wanted` (what searchsorted finds), None if there is none."""
        dates = self.dates
        for row in (self.at + 1, self.at):
            if 0 <= row < len(dates) and dates[row] == wanted \
                    and (row == 0 or dates[row - 1] < wanted):
                self.at = row
                return row
        row = bisect_left(dates, wanted)
        if row == len(dates) or dates[row] != wanted:
            return None
        self.at = row
        return row

    def signal(self, pair: str, row: int, candle_time: datetime) -> Signal:
        return Signal(
            pair=pair,
            candle_time=candle_time,
            enter_long=self.enter[row],
            exit_long=self.exit[row],
            enter_tag=self.enter_tags[row],
            exit_tag=self.exit_tags[row],
            stale=False,
        )


class Analyzer:
    def __init__(self, strategy: IStrategy, timeframe: str,
                 outdated_offset: timedelta = timedelta(minutes=5),
                 log_once: LogOnce | None = None) -> None:
        self._strategy = strategy
        self._informative = decorated(strategy)
        self._candle_length = timeframe_to_timedelta(timeframe)
        # Freqtrade's limit: two candles late plus exchange.outdated_offset.
        self._outdated_after = 2 * self._candle_length + outdated_offset
        self._log_once = log_once or LogOnce(logger)
        self._analyzed: dict[str, _Analyzed] = {}
        self._last_when: datetime | None = None
        self._last_moment = (0, _EPOCH)

    def use(self, strategy: IStrategy) -> None:
        """Run `strategy` from now on (a /reload's, same timeframe): the frames the one before
        computed are dropped, so the current candle is analysed again by the new code."""
        self._informative = decorated(strategy)
        self._strategy = strategy
        self._analyzed.clear()

    @property
    def strategy(self) -> IStrategy:
        return self._strategy

    def analyze(self, pair: str, candles: pd.DataFrame, now: datetime) -> Signal | None:
        """The signal of the last candle closed at `now`; None when there is none or the
        strategy failed on this pair (logged once, the pair is skipped this iteration)."""
        closed, last = self._closed(candles, now)
        if last is None:
            return None
        analyzed = self._analyzed.get(pair)
        if analyzed is None or analyzed.last_date != last \
                or not self._strategy.process_only_new_candles:
            frame = self.populate(pair, closed)
            if frame is None:
                return None
            analyzed = self._store(pair, frame, now)
        return analyzed.signal(pair, len(analyzed.dates) - 1, self._is_stale(pair, last, now))

    def populate(self, pair: str, candles: pd.DataFrame, *, indicators: bool = True,
                 signals: bool = True) -> pd.DataFrame | None:
        """Run populate_indicators, populate_entry_trend and populate_exit_trend on a copy of
        `candles`; None when the strategy raised or broke the frame (logged once). Hyperopt
        runs the two halves apart: the indicators once (`signals=False`), the signals per
        epoch on a copy of them (`indicators=False`)."""
        metadata = {"pair": pair}
        strategy = self._strategy
        frame = candles.copy(deep=False)
        methods = []
        if indicators:
            if self._informative:
                methods.append(self._merge_informative)
            methods.append(strategy.populate_indicators)
        if signals:
            methods += [strategy.populate_entry_trend, strategy.populate_exit_trend]
        try:
            for method in methods:
                frame = safe_populate(pair, method, frame, dict(metadata),
                                      log_once=self._log_once)
            frame = legacy_columns(frame)
        except StrategyError:
            return None  # the fence has logged it
        problem = _frame_problem(candles, frame)
        if problem is not None:
            self._log_once.error((pair, "frame", problem), "strategy: %s for %s; pair skipped",
                                 problem, pair)
            return None
        return frame

    def _merge_informative(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        """Freqtrade's first step of populating indicators: the `@informative` methods."""
        return merge_decorated(self._strategy, dataframe, metadata, self._informative)

    def set_frame(self, pair: str, analyzed: pd.DataFrame) -> None:
        """Adopt a frame analyzed elsewhere (a backtest's whole range) as `pair`'s result."""
        self._store(pair, analyzed, None)

    def signal_at(self, pair: str, candle_time: datetime) -> Signal | None:
        """The signal of `pair`'s candle that opened at `candle_time`; None if there is none."""
        analyzed = self._analyzed.get(pair)
        if analyzed is None or not len(analyzed.dates):
            return None
        rows = analyzed.rows
        if rows is None:
            rows = analyzed.rows = _Rows(analyzed)
        wanted, opened = self._moment(candle_time)
        row = rows.find(wanted)
        return None if row is None else rows.signal(pair, row, opened)

    def dataframe(self, pair: str) -> pd.DataFrame | None:
        """The last analyzed frame of `pair`; changing it changes nothing here."""
        analyzed = self._analyzed.get(pair)
        return None if analyzed is None else analyzed.frame.copy(deep=False)

    def analyzed(self, pair: str) -> tuple[pd.DataFrame | None, datetime | None]:
        """`dataframe(pair)` and when it was analysed (None for an adopted frame)."""
        analyzed = self._analyzed.get(pair)
        return (None, None) if analyzed is None else (analyzed.frame.copy(deep=False),
                                                      analyzed.at)

    def _moment(self, when: datetime) -> tuple[int, datetime]:
        """`when` in ns and as the UTC open time a signal reports, kept for the last `when`:
        a backtest asks for every pair's signal of a candle with the same datetime object."""
        if when is not self._last_when:
            wanted = _ns(when)
            self._last_when = when
            self._last_moment = wanted, _EPOCH + timedelta(microseconds=wanted // 1000)
        return self._last_moment

    def _store(self, pair: str, frame: pd.DataFrame, at: datetime | None) -> _Analyzed:
        analyzed = _Analyzed(frame, at)
        self._analyzed[pair] = analyzed
        return analyzed

    def _closed(self, candles: pd.DataFrame, now: datetime) -> tuple[pd.DataFrame, int | None]:
        """The candles closed at `now`, and the open time of the last one (ns)."""
        dates = _dates_ns(candles)
        closed = int(np.searchsorted(dates, _ns(now - self._candle_length), side="right"))
        if closed == 0:
            return candles.iloc[:0], None
        return (candles if closed == len(dates) else candles.iloc[:closed]), int(dates[closed - 1])

    def _is_stale(self, pair: str, last: int, now: datetime) -> bool:
        age = timedelta(microseconds=(_ns(now) - last) // 1000)
        key = ("outdated", pair)
        if age <= self._outdated_after:
            self._log_once.forget(key)
            return False
        self._log_once.warning(key, "Outdated history for pair %s. Last tick is %s minutes old",
                               pair, int(age.total_seconds() // 60))
        return True


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _ns(when: datetime) -> int:
    """Nanoseconds since the epoch (exact integer maths: a backtest asks once per pair and
    candle, and pandas' Timestamp costs ten times more)."""
    return (when - _EPOCH) // _MICROSECOND * 1000


def _dates_ns(frame: pd.DataFrame) -> np.ndarray:
    return pd.DatetimeIndex(frame["date"]).as_unit("ns").asi8


def _flags(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return (pd.to_numeric(frame[column], errors="coerce") == 1).to_numpy(dtype=bool)


def _tags(frame: pd.DataFrame, column: str) -> np.ndarray | None:
    return frame[column].to_numpy(dtype=object) if column in frame.columns else None


def _tag(tags: np.ndarray | None, row: int) -> str | None:
    return None if tags is None else _tag_value(tags[row])


def _tag_list(tags: np.ndarray | None, rows: int) -> list[str | None]:
    return [None] * rows if tags is None else [_tag_value(value) for value in tags.tolist()]


def _tag_value(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _frame_problem(candles: pd.DataFrame, frame: pd.DataFrame) -> str | None:
    """Freqtrade's dataframe checks: the strategy adds columns, it never drops or moves rows."""
    if len(frame) != len(candles):
        return (f"the strategy returned {len(frame)} rows for {len(candles)} candles; expected "
                "it to keep every row")
    if not {"date", "close"} <= set(frame.columns) \
            or _last(frame, "date") != _last(candles, "date") \
            or _last(frame, "close") != _last(candles, "close"):
        return "the strategy changed the last candle's date or close; expected it to add columns"
    return None


def _last(frame: pd.DataFrame, column: str) -> object:
    return frame[column].iloc[-1:].to_numpy()[0]
