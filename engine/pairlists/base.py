"""What every pairlist handler sees (`Inputs`) and is (`Handler`).

A handler takes the list the previous one left and returns its own; the first one (a
generator) starts from nothing. Handlers read only `Inputs`: the tickers of one batched
request, the markets, closed candles the manager fetched for them beforehand (`candles_for`
says which), the store's trades and the clock's time, so none of them talks to the exchange.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from engine.pairlists.config import PairlistMethod
from engine.strategy import LogOnce
from store.store import Store
from venues.exchange import MarketRules, Rounding, Ticker

logger = logging.getLogger("engine.pairlists")


@dataclass(frozen=True, slots=True)
class CandleNeed:
    """Closed candles a handler reads: `count` of them of `timeframe` for each of `pairs`."""

    timeframe: str
    count: int
    pairs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Inputs:
    now: datetime
    tickers: Mapping[str, Ticker]
    markets: Mapping[str, MarketRules]
    stake_currency: str
    configured: tuple[str, ...]  # exchange.pair_whitelist
    blacklisted: Callable[[str], bool]
    candles: Callable[[str, str, int], pd.DataFrame]  # (pair, timeframe, count)
    round_price: Callable[[str, float, Rounding], float]
    store: Store
    max_open_trades: int
    timeframe: str  # the strategy's
    log: LogOnce

    def stake_markets(self) -> list[str]:
        """Active markets quoted in the stake currency, as the exchange lists them."""
        return [pair for pair, rules in self.markets.items()
                if rules.quote == self.stake_currency and rules.active]

    def tradable(self, pairs: list[str], *, allow_inactive: bool = False) -> list[str]:
        """`pairs` without those the exchange does not trade for us, each said once, as
        Freqtrade's whitelist check says it; with no markets loaded yet, `pairs` as given."""
        if not self.markets:
            return list(dict.fromkeys(pairs))
        kept: list[str] = []
        for pair in dict.fromkeys(pairs):
            rules = self.markets.get(pair)
            if rules is None:
                self.log.warning(("pl-unknown", pair), "Pair %s is not compatible with "
                                 "exchange. Removing it from whitelist..", pair)
            elif rules.quote != self.stake_currency:
                self.log.warning(("pl-quote", pair), "Pair %s is not compatible with your "
                                 "stake currency %s. Removing it from whitelist..", pair,
                                 self.stake_currency)
            elif not rules.active and not allow_inactive:
                self.log.info(("pl-inactive", pair), "Ignoring %s from whitelist. Market is "
                              "not active.", pair)
            else:
                kept.append(pair)
        return kept

    def without_blacklisted(self, pairs: list[str]) -> list[str]:
        kept = []
        for pair in pairs:
            if self.blacklisted(pair):
                self.log.info(("pl-black", pair), "Pair %s in your blacklist. Removing it from "
                              "whitelist...", pair)
            else:
                kept.append(pair)
        return kept

    def removed(self, pair: str, why: str) -> None:
        """A filter took `pair` out: said once per pair and reason, as Freqtrade logs it."""
        self.log.info(("pl-removed", pair, why), "Removed %s from whitelist, because %s",
                      pair, why)


class Handler:
    """One entry of `pairlists`. Filters override `filter`; generators `generate` too."""

    generator = False
    needs_tickers = False
    # Freqtrade's word on backtests: "yes", "no", "no_action" or "biased".
    in_backtests = "no"

    def __init__(self, spec: PairlistMethod, *, first: bool = False) -> None:
        self.spec = spec
        self.first = first  # starts the chain

    @property
    def name(self) -> str:
        return self.spec.method

    def describe(self) -> str:
        return self.name

    def candles_for(self, pairs: list[str], inputs: Inputs) -> list[CandleNeed]:
        """The candles `filter` will read for `pairs`, fetched before it runs."""
        return []

    def generate(self, inputs: Inputs) -> list[str]:
        raise NotImplementedError(f"{self.name} cannot start the list")

    def filter(self, pairs: list[str], inputs: Inputs) -> list[str]:
        return pairs


class ValueCache:
    """Values per pair kept for `ttl` seconds (Freqtrade's TTL caches of the range filters)."""

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._values: dict[str, tuple[datetime, float]] = {}

    def get(self, pair: str, now: datetime) -> float | None:
        kept = self._values.get(pair)
        if kept is None or (now - kept[0]).total_seconds() >= self._ttl:
            return None
        return kept[1]

    def put(self, pair: str, now: datetime, value: float) -> None:
        self._values[pair] = (now, value)


def plural(count: int, word: str) -> str:
    return word if count == 1 else f"{word}s"
