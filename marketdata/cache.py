"""Closed candles per pair for one timeframe, kept in memory and refreshed incrementally;
`CandleCaches` holds one per timeframe (the strategy's and its informative ones).

Venue-agnostic: the live, paper and offline venues all feed it through `fetch_ohlcv` (the
`CandleSource` protocol below, which every venue meets).
For each pair it remembers the newest closed candle slot the exchange has already been asked
about, so a refresh sends nothing until another candle has closed, and then asks only for the
candles since that slot (gaps in thin markets are therefore not asked for again and again). The
candle still forming at `now` is never kept: strategies see closed candles only.

Candle boundaries come from `marketdata.timeframe`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Protocol

import pandas as pd

from core.errors import ConfigError, ExchangeError
from marketdata.candles import CANDLE_COLUMNS, empty_candles
from marketdata.timeframe import timeframe_to_msecs, timeframe_to_prev_date

logger = logging.getLogger(__name__)


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    """Our columns only, dates in ns, so frames from any venue concatenate cleanly."""
    frame = frame.loc[:, list(CANDLE_COLUMNS)]
    return frame.assign(date=frame["date"].dt.tz_convert(UTC).dt.as_unit("ns"))


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _stamp(ms: int) -> pd.Timestamp:
    return pd.Timestamp(ms, unit="ms", tz=UTC)


class CandleSource(Protocol):
    """Where candles come from: every venue's `fetch_ohlcv`."""

    async def fetch_ohlcv(self, pair: str, timeframe: str, since: datetime | None = None,
                          limit: int | None = None) -> pd.DataFrame: ...


class CandleCache:
    """The last `max_candles` closed candles of each pair, for one timeframe. A pair's first
    fetch takes `startup_candles`, or `first_fill` when that is more (within `max_candles`)."""

    def __init__(
        self, exchange: CandleSource, timeframe: str, startup_candles: int, max_candles: int = 1000,
        first_fill: int = 0,
    ) -> None:
        if startup_candles > max_candles:
            raise ConfigError(
                f"startup_candle_count: {startup_candles} candles do not fit the candle cache "
                f"of {max_candles}; expected at most {max_candles}"
            )
        self._exchange = exchange
        self._timeframe = timeframe
        self._tf_ms = timeframe_to_msecs(timeframe)
        self._startup = min(max(startup_candles, first_fill, 1), max_candles)
        self._max = max_candles
        self._frames: dict[str, pd.DataFrame] = {}
        # Per pair: open time (ms) of the newest closed slot the exchange was asked about.
        self._asked: dict[str, int] = {}

    @property
    def timeframe(self) -> str:
        return self._timeframe

    def pairs(self) -> list[str]:
        """The pairs holding candles."""
        return list(self._frames)

    def candles(self, pair: str) -> pd.DataFrame:
        """Closed candles of `pair`, oldest first; empty before the first successful refresh."""
        frame = self._frames.get(pair)
        # Not a .get() default: building an empty frame costs a millisecond, on every call.
        return empty_candles() if frame is None else frame

    async def refresh(self, pairs: Iterable[str], now: datetime) -> set[str]:
        """Fetch, concurrently, the candles that closed since the last refresh.

        Returns the pairs that received new closed candles. A pair whose fetch fails keeps its
        cached candles (a warning is logged) and is asked again on the next refresh.
        """
        # The candle forming at `now` is not closed: the newest closed one opened a candle before.
        newest = _ms(timeframe_to_prev_date(self._timeframe, now)) - self._tf_ms
        due = [p for p in dict.fromkeys(pairs) if self._asked.get(p, newest - 1) < newest]
        results = await asyncio.gather(*(self._refresh_pair(p, newest) for p in due))
        return {pair for pair, fresh in zip(due, results, strict=True) if fresh}

    async def _refresh_pair(self, pair: str, newest: int) -> bool:
        oldest_kept = newest - (self._max - 1) * self._tf_ms
        asked = self._asked.get(pair)
        if asked is None:
            since = newest - (self._startup - 1) * self._tf_ms
        else:
            since = max(asked + self._tf_ms, oldest_kept)
        try:
            fetched = await self._fetch_range(pair, since, newest)
        except ExchangeError as error:
            kept = len(self._frames.get(pair, ()))
            logger.warning(
                "candles pair=%s timeframe=%s: refresh failed, keeping %d cached candles: %s",
                pair, self._timeframe, kept, error,
            )  # fmt: skip
            return False
        self._asked[pair] = newest
        if fetched.empty:
            return False
        self._frames[pair] = self._merged(self._frames.get(pair), fetched)
        return True

    async def _fetch_range(self, pair: str, since: int, newest: int) -> pd.DataFrame:
        """Candles opening in [since, newest], paging while the exchange returns fewer."""
        pages: list[pd.DataFrame] = []
        cursor = since
        while cursor <= newest:
            wanted = min((newest - cursor) // self._tf_ms + 1, self._max)
            frame = await self._exchange.fetch_ohlcv(
                pair, self._timeframe, _stamp(cursor).to_pydatetime(), wanted
            )
            dates = frame["date"]
            frame = frame[(dates >= _stamp(cursor)) & (dates <= _stamp(newest))]
            if frame.empty:
                break
            pages.append(_normalised(frame))
            cursor = _ms(frame["date"].iloc[-1].to_pydatetime()) + self._tf_ms
        return pd.concat(pages, ignore_index=True) if pages else empty_candles()

    def _merged(self, cached: pd.DataFrame | None, fetched: pd.DataFrame) -> pd.DataFrame:
        frame = fetched if cached is None else pd.concat([cached, fetched], ignore_index=True)
        frame = frame.drop_duplicates("date", keep="last").sort_values("date")
        return frame.tail(self._max).reset_index(drop=True)


class CandleCaches:
    """Closed candles per (pair, timeframe): one `CandleCache` per timeframe, all refreshed in
    one concurrent batch. The strategy's timeframe and its informative ones use the same
    startup candle count, each in candles of its own timeframe (as Freqtrade fetches them).

    Freqtrade's first fetch of a (pair, timeframe) takes as many candles as the exchange
    serves in one request, whatever the strategy's startup count; `first_fill(timeframe)` says
    how many that is, so long indicators warm up on as much history here."""

    def __init__(self, exchange: CandleSource, timeframe: str, startup_candles: int,
                 max_candles: int = 1000,
                 first_fill: Callable[[str], int] | None = None) -> None:
        self._exchange = exchange
        self._startup = startup_candles
        self._max = max_candles
        self._first_fill = first_fill
        self._caches = {timeframe: self._new(timeframe)}
        self._timeframe = timeframe

    def _new(self, timeframe: str) -> CandleCache:
        first = self._first_fill(timeframe) if self._first_fill is not None else 0
        return CandleCache(self._exchange, timeframe, self._startup, self._max, first)

    @property
    def timeframe(self) -> str:
        return self._timeframe

    def candles(self, pair: str, timeframe: str | None = None) -> pd.DataFrame:
        cache = self._caches.get(timeframe or self._timeframe)
        return empty_candles() if cache is None else cache.candles(pair)

    def available(self) -> list[tuple[str, str]]:
        return [(pair, timeframe) for timeframe, cache in self._caches.items()
                for pair in cache.pairs()]

    async def refresh(self, wanted: Iterable[tuple[str, str]], now: datetime
                      ) -> set[tuple[str, str]]:
        """Fetch what closed since the last refresh for every (pair, timeframe) in `wanted`,
        concurrently; returns those that received new candles."""
        by_timeframe: dict[str, list[str]] = {}
        for pair, timeframe in wanted:
            by_timeframe.setdefault(timeframe, []).append(pair)
        for timeframe in by_timeframe:
            if timeframe not in self._caches:
                self._caches[timeframe] = self._new(timeframe)
        results = await asyncio.gather(*(self._caches[timeframe].refresh(pairs, now)
                                         for timeframe, pairs in by_timeframe.items()))
        return {(pair, timeframe) for timeframe, fresh in zip(by_timeframe, results,
                                                              strict=True) for pair in fresh}
