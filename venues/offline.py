"""The offline market: a price source that replays candle files on the injected clock.

It implements the read half of `Exchange` (markets, rules, rounding, tickers, candles); orders
go to a `PaperExchange` placed on top of it. At clock time `now` the "current" candle is the
one with the latest open time <= now: its open is the price (bid = ask = last) and its
open/high/low are the ticker's range, so exits decided on a replayed ticker see the same candle
a Freqtrade backtest sees. `fetch_ohlcv` returns only candles that have closed by `now`.

The offline demo replays the candles in laps (`loop=True`): when the clock passes the last
candle, the same candles come again, moved on by the length of the data, so the next candle
opens one timeframe after the last one, and with each pair's prices scaled by its last close
over its first open, so the first candle of a lap opens where the last one closed. Each lap
repeats the data's moves (every return, every candle's shape) from where the market stood:
indicators see no jump and an open trade carries on at a price that follows on. `on_lap` hears
of each new lap. Backtests never loop: their data ends where it ends.

A ticker's 24h quote volume is that of the candles closed in the day before the current one
(base volume at the typical price), so VolumePairList ranks the demo's pairs as the data
traded them.

Backtests call `fetch_tickers` once per candle while the clock moves one candle at a time, so
each pair keeps a cursor on its current candle and checks it and the next one before a binary
search; the clock of the offline demo (or a test) may jump anywhere, and then the search finds
the candle. Candles are never found by filtering frames.

A pair it was not given (an informative pair outside the demo's whitelist) is read from the
data directory on its first `fetch_ohlcv`, at the replayed timeframe, as a backtest reads an
informative pair's file on first use; longer timeframes are made from it as from the others
(`marketdata/resampled.py`). Without a file the pair has no candles, and one warning names the
file it expected.

There is no order book in candle files, so `fetch_order_book` makes one up from the replay,
and it is no more than that: both sides start at the ticker's price (the replay has no spread)
and step one price tick per level, each level holding the last closed candle's volume spread
evenly over the levels asked for. A strategy reading depth in the demo sees a plausible shape,
never real liquidity.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import ccxt
import numpy as np
import pandas as pd

from core.clock import Clock
from core.errors import ConfigError, ExchangeError, OrderRejected
from marketdata.candles import empty_candles
from marketdata.files import fill_gaps, load_pair_data
from marketdata.timeframe import timeframe_to_seconds
from venues import precision
from venues.ccxt_parse import candle_limit
from venues.exchange import (
    Balance,
    MarketRules,
    OrderBook,
    OrderRequest,
    OrderSnapshot,
    Rounding,
    Ticker,
    classify,
)
from venues.offline_series import CandleSeries, candle_frame, from_ns, scaled, to_ns

logger = logging.getLogger(__name__)

_NO_ORDERS = "offline market: use PaperExchange for orders"
_MAX_REMEMBERED = 100_000  # rounded values kept; a backtest of 57,000 candles uses about 5,300


@dataclass(frozen=True, slots=True)
class ReplayLap:
    """A new lap of the looped replay: its number (the first replay is lap 1), when it
    starts, and the data window it replays again."""

    number: int
    starts: datetime
    data_first: datetime
    data_last: datetime


class OfflineMarket:
    """Replays `candles` (one frame per pair, gaps filled here) of `timeframe` on `clock`."""

    def __init__(
        self,
        candles: Mapping[str, pd.DataFrame],
        timeframe: str,
        markets: list[dict[str, Any]],
        clock: Clock,
        *,
        loop: bool = False,
        on_lap: Callable[[ReplayLap], None] | None = None,
        detail: Mapping[str, pd.DataFrame] | None = None,
        detail_timeframe: str | None = None,
        datadir: Path | str | None = None,
    ) -> None:
        self._clock = clock
        self._datadir = datadir
        # Pairs read on first use (informative ones), and those without a file.
        self._read: dict[str, CandleSeries | None] = {}
        self._timeframe = timeframe
        self._step_ns = timeframe_to_seconds(timeframe) * 1_000_000_000
        self._ccxt = ccxt.binance()
        self._ccxt.set_markets(markets)
        self._rule_map = {m["symbol"]: precision.rules_from_market(m) for m in markets}
        self._rules = MappingProxyType(self._rule_map)
        missing = sorted(set(candles) - set(self._rules))
        if missing:
            raise ConfigError(f"offline market: no market definition for {', '.join(missing)}")
        self._series = {
            pair: CandleSeries.of(fill_gaps(frame, timeframe))
            for pair, frame in candles.items()
            if not frame.empty
        }
        self._detail: dict[str, CandleSeries] = {}
        if detail and detail_timeframe:
            if loop:
                raise ConfigError("offline market: a looped replay has no detail candles")
            self._detail = {pair: CandleSeries.of(fill_gaps(frame, detail_timeframe))
                            for pair, frame in detail.items()
                            if not frame.empty and pair in self._series}
            self._detail_ns = timeframe_to_seconds(detail_timeframe) * 1_000_000_000
        self._last_now: datetime | None = None
        self._last_now_ns = 0
        self._loop = loop and bool(self._series)
        self._on_lap = on_lap
        if self._loop:
            self._origin_ns = min(int(s.opens_ns[0]) for s in self._series.values())
            self._end_ns = max(int(s.opens_ns[-1]) for s in self._series.values()) + self._step_ns
            self._span_ns = self._end_ns - self._origin_ns
            # A run that starts on a lap's first candle (a fresh lap) announces it; one that
            # resumes inside a lap does not announce it again.
            self._lap_seen = self._lap(to_ns(clock.now()) - self._step_ns)
        # ccxt's rounding is a pure function of the fixed markets and its arguments, and the
        # engine and the paper exchange round the same prices and amounts again and again.
        self._rounded: dict[tuple[str, float, Rounding | None], float] = {}

    @classmethod
    def from_files(
        cls,
        datadir: Path | str,
        pairs: Iterable[str],
        timeframe: str,
        markets_path: Path | str,
        clock: Clock,
        *,
        loop: bool = False,
        on_lap: Callable[[ReplayLap], None] | None = None,
    ) -> OfflineMarket:
        """Candle files of `pairs` in `datadir` plus a `{"markets": [...]}` JSON file."""
        try:
            markets = json.loads(Path(markets_path).read_text(encoding="utf-8"))["markets"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"markets file {markets_path}: expected JSON with a 'markets' list ({exc})"
            ) from exc
        return cls(load_pair_data(datadir, pairs, timeframe), timeframe, markets, clock,
                   loop=loop, on_lap=on_lap, datadir=datadir)

    @property
    def name(self) -> str:
        return "offline"

    @property
    def timeframe(self) -> str:
        return self._timeframe

    def pairs(self) -> list[str]:
        """Pairs with candles, in the order they were given."""
        return list(self._series)

    def first_time(self) -> datetime:
        """Open time of the earliest candle of any pair: where the data window starts."""
        return from_ns(min(int(s.opens_ns[0]) for s in self._series.values()))

    def last_time(self) -> datetime:
        """Open time of the latest candle of any pair: the last candle of the data window."""
        return from_ns(max(int(s.opens_ns[-1]) for s in self._series.values()))

    async def load_markets(self, reload: bool = False) -> None:
        """Markets are fixed at construction; nothing to fetch."""

    def markets(self) -> Mapping[str, MarketRules]:
        return self._rules

    def market_definitions(self, pairs: Iterable[str]) -> dict[str, dict[str, Any]]:
        return {pair: dict(self._ccxt.markets[pair]) for pair in pairs
                if pair in self._ccxt.markets}

    def use_markets(self, definitions: Mapping[str, Mapping[str, Any]]) -> None:
        """Its markets never fail to load; the ones it was built with stay."""

    def rules(self, pair: str) -> MarketRules:
        try:
            return self._rules[pair]
        except KeyError:
            raise OrderRejected(f"{pair}: not a market of the offline exchange") from None

    def set_price_tick(self, pair: str, tick: float) -> None:
        """Round `pair`'s prices to `tick` from now on, as an exchange changing its tick size
        would (a backtest follows the tick its data shows, month by month)."""
        market = self._ccxt.markets[pair]
        if market["precision"]["price"] == tick:
            return
        market["precision"]["price"] = tick
        self._rule_map[pair] = replace(self._rule_map[pair], price_tick=tick)
        self._rounded = {key: value for key, value in self._rounded.items() if key[0] != pair}

    def round_amount(self, pair: str, amount: float) -> float:
        key = (pair, amount, None)
        rounded = self._rounded.get(key)
        if rounded is not None:
            return rounded
        self.rules(pair)
        try:
            rounded = precision.round_amount(self._ccxt, pair, amount)
        except ccxt.BaseError as exc:  # ccxt refuses amounts below one step
            raise classify(exc, "create_order") from exc
        return self._remember(key, rounded)

    def round_price(self, pair: str, price: float, rounding: Rounding = Rounding.ROUND) -> float:
        key = (pair, price, rounding)
        rounded = self._rounded.get(key)
        if rounded is not None:
            return rounded
        self.rules(pair)
        return self._remember(key, precision.round_price(self._ccxt, pair, price, rounding))

    def _remember(self, key: tuple[str, float, Rounding | None], rounded: float) -> float:
        """Keep `rounded` for `key` when the key identifies the input exactly: a positive
        float (as dict keys 0.0 equals -0.0 and True equals 1.0, which ccxt refuses)."""
        value = key[1]
        if type(value) is float and value > 0:
            if len(self._rounded) >= _MAX_REMEMBERED:
                self._rounded.clear()
            self._rounded[key] = rounded
        return rounded

    def _lap(self, now_ns: int) -> int:
        """Which lap of the replay `now_ns` is in: 0 for the data itself (and before it)."""
        if not self._loop or now_ns < self._end_ns:
            return 0
        return (now_ns - self._origin_ns) // self._span_ns

    def _announce(self, lap: int) -> None:
        if lap <= self._lap_seen:
            return
        self._lap_seen = lap
        if self._on_lap is not None:
            self._on_lap(ReplayLap(lap + 1, from_ns(self._origin_ns + lap * self._span_ns),
                                   from_ns(self._origin_ns), from_ns(self._end_ns - self._step_ns)))

    async def fetch_tickers(self, pairs: list[str]) -> dict[str, Ticker]:
        """Tickers of the pairs trading at clock time; a pair outside its data is left out."""
        now = self._clock.now()
        now_ns = self._now_ns(now)
        lap = self._lap(now_ns)
        if self._loop:
            self._announce(lap)
        at_ns = now_ns - lap * self._span_ns if lap else now_ns
        tickers: dict[str, Ticker] = {}
        for pair in pairs:
            series = self._series.get(pair)
            row = None if series is None else series.current(at_ns, self._step_ns)
            if series is not None and row is not None and pair in self._detail:
                row = self._detail_row(self._detail[pair], at_ns, series)
            if series is None or row is None:
                continue
            o, h, low = row
            volume = series.day_volume(self._step_ns)
            if lap:
                scale = series.lap_ratio ** lap
                o, h, low, volume = o * scale, h * scale, low * scale, volume * scale
            tickers[pair] = Ticker(pair, now, o, o, o, o, h, low, volume)
        return tickers

    def drop_detail(self) -> None:
        """Trade whole candles from now on (a backtest's end sells at a candle's open)."""
        self._detail.clear()

    def _detail_row(self, detail: CandleSeries, now_ns: int, series: CandleSeries
                    ) -> tuple[float, float, float] | None:
        """With detail candles, the k-th one of the current candle trades at the candle's
        open plus k detail steps, as Freqtrade's backtester takes them: by position among the
        detail candles inside the candle, so a candle the detail data covers only in part
        (at its ends) plays the ones it has from its open on, and one it does not cover at
        all trades whole, once, at its open."""
        opened = series.open_ns()
        k = (now_ns - opened) // self._detail_ns
        first, count = detail.span(opened, opened + self._step_ns)
        if not count:
            return series.current(now_ns, self._step_ns) if k == 0 else None
        return detail.at(first + k) if k < count else None

    def _now_ns(self, now: datetime) -> int:
        """`to_ns(now)`, kept for the last `now`: the clock hands out the same object until it
        moves, and an iteration asks for tickers more than once."""
        if now is not self._last_now:
            self._last_now, self._last_now_ns = now, to_ns(now)
        return self._last_now_ns

    async def fetch_ohlcv(
        self, pair: str, timeframe: str, since: datetime | None = None, limit: int | None = None
    ) -> pd.DataFrame:
        """Closed candles (open + timeframe <= now) from `since` on, like ccxt's.

        With `since`, the first `limit` candles from there; without, the latest `limit`.
        """
        if timeframe != self._timeframe:
            raise ExchangeError(
                f"offline market replays {self._timeframe} candles; {timeframe} was asked for"
            )
        series = self._series.get(pair) or self._read_file(pair)
        if series is None:
            return empty_candles()
        closed_ns = to_ns(self._clock.now()) - self._step_ns  # the last closed candle opened here
        opens, values = series.opens_ns, series.values
        if self._loop:
            opens, values = self._laps(series, closed_ns, since, limit)
        closed_end = int(np.searchsorted(opens, closed_ns, "right"))
        start = 0 if since is None else int(np.searchsorted(opens, to_ns(since)))
        if limit is not None and since is None:
            start = max(start, closed_end - limit)
        end = closed_end if limit is None or since is None else min(closed_end, start + limit)
        return candle_frame(opens, values, start, max(start, end))

    def _read_file(self, pair: str) -> CandleSeries | None:
        """The candles of a pair the market was not given, read once from the data
        directory; None (one warning naming the file) when there is none."""
        if pair in self._read:
            return self._read[pair]
        series = None
        if self._datadir is None:
            logger.warning("offline market: no candles for %s: it replays only %s", pair,
                           ", ".join(self._series) or "nothing")
        else:
            try:
                frame = load_pair_data(self._datadir, [pair], self._timeframe)[pair]
                series = CandleSeries.of(frame)
            except ConfigError as exc:
                logger.warning("offline market: no candles for %s, its candles stay empty: %s",
                               pair, exc)
        self._read[pair] = series
        return series

    def _laps(self, series: CandleSeries, closed_ns: int, since: datetime | None,
              limit: int | None) -> tuple[np.ndarray, np.ndarray]:
        """The pair's candles of the laps a request can reach, one after the other."""
        last = self._lap(max(closed_ns, self._origin_ns))
        per_lap = len(series.opens_ns)
        reach = None if limit is None else limit // per_lap + 1
        if since is not None:
            first = self._lap(to_ns(since))
            if reach is not None:
                last = min(last, first + reach)
        else:
            first = 0 if reach is None else max(0, last - reach)
        laps = range(first, max(first, last) + 1)
        opens = np.concatenate([series.opens_ns + lap * self._span_ns for lap in laps])
        values = np.concatenate([scaled(series, lap) for lap in laps])
        return opens, values

    def ohlcv_candle_limit(self, timeframe: str) -> int:
        """Its data is local; it answers as the Binance it stands in for."""
        return candle_limit(self._ccxt)

    async def fetch_order_book(self, pair: str, limit: int) -> OrderBook:
        """A book made up from the replay (see the module docstring)."""
        ticker = (await self.fetch_tickers([pair])).get(pair)
        if ticker is None:
            raise OrderRejected(f"{pair}: no candle trading now in the offline market")
        last = await self.fetch_ohlcv(pair, self._timeframe, limit=1)
        levels = max(limit, 1)
        amount = float(last["volume"].iloc[-1]) / levels if not last.empty else 0.0
        tick = self.rules(pair).price_tick or ticker.last * 1e-4
        bids = tuple((ticker.bid - i * tick, amount) for i in range(levels)
                     if ticker.bid - i * tick > 0)
        asks = tuple((ticker.ask + i * tick, amount) for i in range(levels))
        return OrderBook(pair, bids, asks, ticker.time)

    async def fetch_balance(self) -> dict[str, Balance]:
        return {}

    async def create_order(self, request: OrderRequest) -> OrderSnapshot:
        raise OrderRejected(_NO_ORDERS)

    async def fetch_order(
        self, pair: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderSnapshot:
        raise OrderRejected(_NO_ORDERS)

    async def cancel_order(self, pair: str, order_id: str) -> OrderSnapshot:
        raise OrderRejected(_NO_ORDERS)

    async def fetch_open_orders(self, pair: str | None = None) -> list[OrderSnapshot]:
        raise OrderRejected(_NO_ORDERS)

    async def close(self) -> None:
        """Nothing to release: the ccxt instance never opened a connection."""
