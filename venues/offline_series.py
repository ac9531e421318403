"""One pair's candles for the offline market: arrays for fast lookups by time, and the frame
and lap arithmetic of its replay."""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from marketdata.candles import CANDLE_COLUMNS


class CandleSeries:
    """One pair's candles as arrays (`opens_ns`: open times in ns since the epoch, `values`:
    rows of open, high, low, close, volume), plus the open times, opens, highs and lows as
    `array`s (8 bytes a value) for the per-candle ticker lookup, where numpy's per-element
    overhead would dominate."""

    __slots__ = ("_at", "_highs", "_lows", "_opens", "_prices", "_traded", "lap_ratio",
                 "opens_ns", "values")

    def __init__(self, opens_ns: np.ndarray, values: np.ndarray) -> None:
        self.opens_ns = opens_ns
        self.values = values
        # What a lap multiplies the prices by: its first open continues the last close.
        self.lap_ratio = float(values[-1, 3] / values[0, 0]) if values[0, 0] > 0 else 1.0
        self._opens = array("q", opens_ns.tolist())
        self._prices, self._highs, self._lows = (array("d", column.tolist())
                                                 for column in values[:, :3].T)
        self._at = 0  # the candle of the last lookup
        self._traded: array | None = None  # running sum of quote volume, made on first use

    @classmethod
    def of(cls, frame: pd.DataFrame) -> CandleSeries:
        dates = frame["date"].dt.as_unit("ns").astype("int64").to_numpy()
        values = frame.loc[:, list(CANDLE_COLUMNS[1:])].to_numpy(dtype="float64")
        return cls(opens_ns=dates, values=values)

    def current(self, now_ns: int, step_ns: int) -> tuple[float, float, float] | None:
        """Open, high and low of the candle trading at `now_ns` (open <= now < open + step)."""
        index = self._index(now_ns)
        if index < 0 or now_ns >= self._opens[index] + step_ns:
            return None
        return self._prices[index], self._highs[index], self._lows[index]

    def day_volume(self, step_ns: int) -> float:
        """Quote volume (base volume at the typical price) of the candles that closed in the
        24 hours before the candle of the last lookup: what a 24h ticker reports."""
        if self._traded is None:
            v = self.values
            typical = (v[:, 1] + v[:, 2] + v[:, 3]) / 3
            self._traded = array("d", [0.0, *np.cumsum(typical * v[:, 4]).tolist()])
        count = max(86_400_000_000_000 // step_ns, 1)
        return self._traded[self._at] - self._traded[max(self._at - count, 0)]

    def open_ns(self) -> int:
        """Open time of the candle of the last lookup."""
        return self._opens[self._at]

    def span(self, start_ns: int, end_ns: int) -> tuple[int, int]:
        """The first candle opened at or after `start_ns`, and how many open before `end_ns`."""
        first = bisect_left(self._opens, start_ns)
        return first, bisect_left(self._opens, end_ns) - first

    def at(self, index: int) -> tuple[float, float, float]:
        return self._prices[index], self._highs[index], self._lows[index]

    def _index(self, now_ns: int) -> int:
        """The last candle opened at or before `now_ns` (-1 if none): bisect_right - 1."""
        opens = self._opens
        last = len(opens) - 1
        for index in (self._at, self._at + 1):
            if index <= last and opens[index] <= now_ns \
                    and (index == last or now_ns < opens[index + 1]):
                self._at = index
                return index
        index = bisect_right(opens, now_ns) - 1
        self._at = max(index, 0)
        return index


def to_ns(when: datetime) -> int:
    """ns since the epoch, in integers so no float rounding moves a candle boundary."""
    delta = when.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def from_ns(ns: int) -> datetime:
    return pd.Timestamp(ns, unit="ns", tz=UTC).to_pydatetime()


def scaled(series: CandleSeries, lap: int) -> np.ndarray:
    """The pair's candles as lap `lap` trades them: prices scaled, volumes as they were."""
    if not lap:
        return series.values
    values = series.values.copy()
    values[:, :4] *= series.lap_ratio ** lap
    return values


def candle_frame(opens_ns: np.ndarray, all_values: np.ndarray, start: int,
                 end: int) -> pd.DataFrame:
    """Rows `start` to `end` as a candle frame."""
    values = all_values[start:end]
    frame = pd.DataFrame(values, columns=list(CANDLE_COLUMNS[1:]))
    dates = pd.to_datetime(opens_ns[start:end], unit="ns", utc=True)
    frame.insert(0, "date", dates)
    return frame
