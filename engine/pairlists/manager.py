"""The whitelist from Freqtrade's `pairlists`: the methods run in order every iteration, on
tickers from ONE batched request (kept 30 minutes, as Freqtrade's, or VolumePairList's
shorter refresh_period) and on closed candles from candle caches of their own, which ask the
exchange only for candles that closed since they last asked. The generator's result and the
range filters' values are kept for their refresh_period, so a steady iteration sends nothing.

The blacklist (pairs and patterns) is applied after the chain, as in Freqtrade; pairs with
open trades are the engine's to keep (`Engine.pairs`). A backtest builds the list once, at
its first iteration, as Freqtrade's backtest does, and seeds ShuffleFilter."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import pandas as pd

from core.errors import ConfigError, TemporaryError
from engine.pairlists.base import CandleNeed, Handler, Inputs, logger
from engine.pairlists.candle_filters import AgeFilter, RangeStabilityFilter, VolatilityFilter
from engine.pairlists.config import DEFAULT_REFRESH, PairlistMethod
from engine.pairlists.generators import StaticPairList, VolumePairList
from engine.pairlists.ticker_filters import PrecisionFilter, PriceFilter, SpreadFilter
from engine.pairlists.trade_filters import FullTradesFilter, PerformanceFilter, ShuffleFilter
from engine.pairs import is_pattern
from engine.settings import Settings
from engine.strategy import LogOnce
from marketdata.cache import CandleCache, CandleSource
from marketdata.candles import empty_candles
from store.store import Store
from venues.exchange import Exchange, Ticker

_CLASSES: dict[str, type[Handler]] = {c.__name__: c for c in (
    StaticPairList, VolumePairList, AgeFilter, PrecisionFilter, PriceFilter, SpreadFilter,
    RangeStabilityFilter, VolatilityFilter, ShuffleFilter, PerformanceFilter, FullTradesFilter)}


def build_handlers(methods: tuple[PairlistMethod, ...], *, stoploss: float | None,
                   backtest: bool) -> list[Handler]:
    handlers: list[Handler] = []
    for index, spec in enumerate(methods):
        cls, first = _CLASSES[spec.method], index == 0
        if cls is PrecisionFilter:
            handlers.append(PrecisionFilter(spec, first=first, stoploss=stoploss))
        elif cls is ShuffleFilter:
            handlers.append(ShuffleFilter(spec, first=first, backtest=backtest))
        else:
            handlers.append(cls(spec, first=first))
    return handlers


def check_backtest(methods: tuple[PairlistMethod, ...]) -> list[str]:
    """Refuse, as Freqtrade's backtest does, the methods that need the live market; the
    warnings for those that do nothing in a backtest. PrecisionFilter and PriceFilter, which
    Freqtrade applies with today's tickers, are refused too: a backtest here has none."""
    names = [m.method for m in methods]
    if "VolumePairList" in names:
        raise ConfigError("pairlists: VolumePairList not allowed for backtesting. Please use "
                          "StaticPairList instead.")
    handlers = build_handlers(methods, stoploss=None, backtest=True)
    refused = [h.name for h in handlers if h.in_backtests == "no"]
    if refused:
        raise ConfigError(f"pairlists: Pairlist Handlers {', '.join(refused)} do not support "
                          "backtesting.")
    biased = [h.name for h in handlers if h.in_backtests == "biased"]
    if biased:
        raise ConfigError(f"pairlists: {', '.join(biased)} would filter a backtest on today's "
                          "tickers from the exchange (Freqtrade's lookahead bias), which a "
                          "backtest here does not fetch; expected them left out of a backtest")
    idle = [h.name for h in handlers if h.in_backtests == "no_action"]
    return [f"Pairlist Handlers {', '.join(idle)} do not generate any changes during "
            "backtesting. While it's safe to leave them enabled, they will not behave like in "
            "dry/live modes."] if idle else []


class Pairlists:
    def __init__(self, settings: Settings, exchange: Exchange, candles: CandleSource,
                 store: Store, timeframe: str, *, backtest: bool = False) -> None:
        self._settings = settings
        self._exchange = exchange
        self._source = candles
        self._store = store
        self._timeframe = timeframe
        self._backtest = backtest
        self.handlers = build_handlers(settings.pairlists, stoploss=settings.stoploss,
                                       backtest=backtest)
        self._log = LogOnce(logger)
        self._caches: dict[tuple[str, int], CandleCache] = {}
        self._tickers: dict[str, Ticker] = {}
        self._tickers_at: datetime | None = None
        volume = [h.spec["refresh_period"] for h in self.handlers if h.name == "VolumePairList"]
        self._ticker_ttl = min([DEFAULT_REFRESH, *volume])
        self._needs_tickers = any(h.needs_tickers for h in self.handlers)
        self._whitelist: list[str] | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.handlers)

    def describe(self) -> list[str]:
        return [h.describe() for h in self.handlers]

    def whitelist(self) -> list[str]:
        """The last list built; before the first, the configured pairs."""
        if self._whitelist is None:
            return list(self._settings.exchange.pair_whitelist)
        return list(self._whitelist)

    async def refresh(self, now: datetime, blacklisted: Callable[[str], bool]) -> list[str]:
        """Run the chain (a backtest: once) and return the new whitelist."""
        if self._backtest and self._whitelist is not None:
            return list(self._whitelist)
        try:
            tickers = await self._fresh_tickers(now)
        except TemporaryError as exc:
            # The trades in play still need this iteration: the last list stands meanwhile.
            logger.warning("pairlists: tickers unavailable (%s); the whitelist stays as it "
                           "was, %d pairs", exc, len(self.whitelist()))
            return self.whitelist()
        inputs = Inputs(
            now=now, tickers=tickers, markets=self._exchange.markets(),
            stake_currency=self._settings.stake_currency,
            configured=self._settings.exchange.pair_whitelist, blacklisted=blacklisted,
            candles=self._candles, round_price=self._exchange.round_price, store=self._store,
            max_open_trades=self._settings.max_open_trades, timeframe=self._timeframe,
            log=self._log,
        )  # fmt: skip
        first, *rest = self.handlers
        await self._fetch(first.candles_for([], inputs), now)
        pairs = first.generate(inputs)
        for handler in rest:
            await self._fetch(handler.candles_for(pairs, inputs), now)
            pairs = handler.filter(pairs, inputs)
        pairs = inputs.without_blacklisted(pairs)
        self._announce(pairs)
        self._whitelist = pairs
        return list(pairs)

    def _announce(self, pairs: list[str]) -> None:
        before = self._whitelist
        if before == pairs:
            return
        if before is not None and set(before) == set(pairs):
            logger.debug("Whitelist reordered: %s", pairs)
            return
        if before is None:
            logger.info("Whitelist with %d pairs (%s): %s", len(pairs), ", ".join(self.names),
                        pairs)
            return
        added = [p for p in pairs if p not in before]
        dropped = [p for p in before if p not in pairs]
        logger.info("Whitelist changed (%s), now %d pairs: added %s, removed %s",
                    ", ".join(self.names), len(pairs), added or "none", dropped or "none")

    async def _fresh_tickers(self, now: datetime) -> dict[str, Ticker]:
        if not self._needs_tickers:
            return {}
        if self._tickers_at is not None \
                and (now - self._tickers_at).total_seconds() < self._ticker_ttl:
            return self._tickers
        self._tickers = await self._exchange.fetch_tickers(self._ticker_pairs())
        self._tickers_at = now
        return self._tickers

    def _ticker_pairs(self) -> list[str]:
        """One request for every market the chain may look at."""
        stake = self._settings.stake_currency
        markets = self._exchange.markets()
        configured = self._settings.exchange.pair_whitelist
        if self.handlers[0].name == "VolumePairList" or any(map(is_pattern, configured)):
            return [p for p, rules in markets.items() if rules.quote == stake and rules.active]
        return [p for p in configured if not markets or p in markets]

    async def _fetch(self, needs: list[CandleNeed], now: datetime) -> None:
        jobs = []
        for need in needs:
            if not need.pairs:
                continue
            key = (need.timeframe, need.count)
            cache = self._caches.get(key)
            if cache is None:
                cache = self._caches[key] = CandleCache(self._source, need.timeframe, need.count,
                                                        max_candles=need.count)
            jobs.append(cache.refresh(need.pairs, now))
        await asyncio.gather(*jobs)

    def _candles(self, pair: str, timeframe: str, count: int) -> pd.DataFrame:
        cache = self._caches.get((timeframe, count))
        return cache.candles(pair) if cache is not None else empty_candles()
