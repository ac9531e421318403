"""Filters on closed candles the manager fetched through its candle caches: `AgeFilter` (days
listed, from daily candles), `RangeStabilityFilter` (highest high over lowest low) and
`VolatilityFilter` (the spread of log returns), the last two over `lookback_period` candles
of `lookback_timeframe` (Freqtrade fetches one more, the change over N candles needing N + 1),
each value kept for the filter's `refresh_period`."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from engine.pairlists.base import CandleNeed, Handler, Inputs, ValueCache, plural
from engine.pairlists.config import PairlistMethod


class AgeFilter(Handler):
    """A pair that passed is never fetched again; one that failed is asked again a day later
    (Freqtrade's caches)."""

    def __init__(self, spec: PairlistMethod, *, first: bool = False) -> None:
        super().__init__(spec, first=first)
        self._min: int = spec["min_days_listed"]
        self._max: int | None = spec["max_days_listed"]
        self._passed: set[str] = set()
        self._failed: dict[str, datetime] = {}

    def _bounds(self) -> str:
        text = f"{self._min} {plural(self._min, 'day')}"
        return text + (f" or more than {self._max} {plural(self._max, 'day')}"
                       if self._max else "")

    def describe(self) -> str:
        return f"{self.name} - Filtering pairs with age less than {self._bounds()}"

    def _failed_recently(self, pair: str, now: datetime) -> bool:
        at = self._failed.get(pair)
        return at is not None and now - at < timedelta(days=1)

    def _unchecked(self, pairs: list[str], now: datetime) -> list[str]:
        return [p for p in pairs if p not in self._passed and not self._failed_recently(p, now)]

    def candles_for(self, pairs: list[str], inputs: Inputs) -> list[CandleNeed]:
        unchecked = self._unchecked(pairs, inputs.now)
        days = (self._max or self._min) + 1
        return [CandleNeed("1d", days, tuple(unchecked))] if unchecked else []

    def filter(self, pairs: list[str], inputs: Inputs) -> list[str]:
        unchecked = set(self._unchecked(pairs, inputs.now))
        days = (self._max or self._min) + 1
        kept = []
        for pair in pairs:
            if pair in self._passed:
                kept.append(pair)
                continue
            if pair not in unchecked:
                continue
            age = len(inputs.candles(pair, "1d", days))
            if age >= self._min and (not self._max or age <= self._max):
                self._passed.add(pair)
                kept.append(pair)
            else:
                self._failed[pair] = inputs.now
                inputs.removed(pair, f"age {age} is less than {self._bounds()}")
        if unchecked:
            inputs.log.info(("pl-age", len(kept)), "Validated %d pairs.", len(kept))
        return kept


class RangeFilter(Handler):
    """A value per pair over the lookback range, kept within bounds, optionally sorted."""

    def __init__(self, spec: PairlistMethod, *, first: bool = False) -> None:
        super().__init__(spec, first=first)
        self._period: int = spec["lookback_period"]
        self._timeframe: str = spec["lookback_timeframe"]
        self._cache = ValueCache(spec["refresh_period"])

    def _range_text(self) -> str:
        return f"{self._period} x {self._timeframe} {plural(self._period, 'candle')}"

    def candles_for(self, pairs: list[str], inputs: Inputs) -> list[CandleNeed]:
        missing = [p for p in pairs if self._cache.get(p, inputs.now) is None]
        return [CandleNeed(self._timeframe, self._period + 1, tuple(missing))] if missing else []

    def filter(self, pairs: list[str], inputs: Inputs) -> list[str]:
        values: dict[str, float] = {}
        for pair in pairs:
            value = self._cache.get(pair, inputs.now)
            if value is None:
                frame = inputs.candles(pair, self._timeframe, self._period + 1)
                if frame.empty:
                    inputs.log.info(("pl-removed", pair, self.name), "Removed %s from "
                                    "whitelist, no candles found.", pair)
                    continue
                value = self.measure(frame)
                self._cache.put(pair, inputs.now, value)
            if self.within(pair, value, inputs):
                values[pair] = value
        kept = list(values)
        direction = self.spec["sort_direction"]
        if direction:
            kept.sort(key=lambda p: _sortable(values[p]), reverse=direction == "desc")
        return kept

    def measure(self, frame: pd.DataFrame) -> float:
        raise NotImplementedError

    def within(self, pair: str, value: float, inputs: Inputs) -> bool:
        raise NotImplementedError


def _sortable(value: float) -> float:
    return 0.0 if math.isnan(value) else value


class RangeStabilityFilter(RangeFilter):
    def describe(self) -> str:
        top = self.spec["max_rate_of_change"]
        above = f" and above {top}" if top else ""
        return (f"{self.name} - Filtering pairs with rate of change below "
                f"{self.spec['min_rate_of_change']}{above} over the last {self._range_text()}.")

    def measure(self, frame: pd.DataFrame) -> float:
        high, low = float(frame["high"].max()), float(frame["low"].min())
        return (high - low) / low if low > 0 else 0.0

    def within(self, pair: str, value: float, inputs: Inputs) -> bool:
        low, top = self.spec["min_rate_of_change"], self.spec["max_rate_of_change"]
        where = f"rate of change over {self._range_text()} is {value:.3f}"
        if value < low:
            inputs.removed(pair, f"{where}, which is below the threshold of {low}.")
            return False
        if top and value > top:
            inputs.removed(pair, f"{where}, which is above the threshold of {top}.")
            return False
        return True


class VolatilityFilter(RangeFilter):
    def _bounds(self) -> str:
        top = self.spec["max_volatility"]
        return f"{self.spec['min_volatility']}-{top if top is not None else 'inf'}"

    def describe(self) -> str:
        return (f"{self.name} - Filtering pairs with volatility range {self._bounds()} over "
                f"the last {self._range_text()}.")

    def measure(self, frame: pd.DataFrame) -> float:
        """The mean over the range of the rolling standard deviation of log returns, scaled
        by the square root of the period (Freqtrade's measure; a return of the candle before
        the first is 0)."""
        close = frame["close"].astype(float)
        returns = np.log(close.shift(1) / close).fillna(0)
        rolling = returns.rolling(window=self._period).std() * np.sqrt(self._period)
        return float(rolling.mean())

    def within(self, pair: str, value: float, inputs: Inputs) -> bool:
        low, top = self.spec["min_volatility"], self.spec["max_volatility"]
        if low <= value <= (top if top is not None else math.inf):
            return True
        inputs.removed(pair, f"volatility over {self._range_text()} is: {value:.3f} which is "
                             f"not in the configured range of {self._bounds()}.")
        return False
