"""Longer timeframes from a venue that replays one: the offline market's candles aggregated
the way an exchange builds its own from the same trades (first open, highest high, lowest low,
last close, summed volume, labelled by their open time on the timeframe's grid).

Only the offline demo needs it: real exchanges serve every timeframe themselves. A longer
candle is made only from closed shorter ones, and the candle cache keeps only the longer ones
whose slot has closed, so nothing of a candle still forming is ever seen. Nor is a longer
candle made of part of its slot where the replay's data begins.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from core.errors import ExchangeError
from marketdata.cache import CandleSource
from marketdata.candles import empty_candles
from marketdata.timeframe import timeframe_to_prev_date, timeframe_to_seconds

_AGGREGATE = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


class ResampledCandles:
    """`source`'s candles of `timeframe`, and any multiple of it aggregated from them."""

    def __init__(self, source: CandleSource, timeframe: str) -> None:
        self._source = source
        self._timeframe = timeframe
        self._seconds = timeframe_to_seconds(timeframe)

    async def fetch_ohlcv(self, pair: str, timeframe: str, since: datetime | None = None,
                          limit: int | None = None) -> pd.DataFrame:
        if timeframe == self._timeframe:
            return await self._source.fetch_ohlcv(pair, timeframe, since, limit)
        seconds = timeframe_to_seconds(timeframe)
        if seconds < self._seconds or seconds % self._seconds:
            raise ExchangeError(f"{timeframe} candles cannot be made from the replayed "
                                f"{self._timeframe} ones; expected a multiple of "
                                f"{self._timeframe}")
        ratio = seconds // self._seconds
        start = None if since is None else timeframe_to_prev_date(timeframe, since)
        frame = await self._source.fetch_ohlcv(pair, self._timeframe, start,
                                               None if limit is None else limit * ratio)
        if frame.empty:
            return empty_candles()
        grid = pd.Timedelta(seconds=seconds)
        longer = frame.resample(grid, on="date", label="left", closed="left").agg(_AGGREGATE)
        if len(longer) and longer.index[0] < frame["date"].iloc[0]:
            # Its first shorter candles are not in the replay (its data starts later): a
            # candle made of the rest would be one no exchange ever served.
            longer = longer.iloc[1:]
        longer = longer.dropna(subset=["open"]).reset_index()
        return longer if limit is None or since is not None else longer.tail(limit)
