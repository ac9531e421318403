"""Filters that read no market data: `ShuffleFilter` (a random order, new each candle or each
iteration), `PerformanceFilter` (the store's closed trades, best profit first) and
`FullTradesFilter` (nothing to enter while every slot is taken)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from engine.pairlists.base import Handler, Inputs
from engine.pairlists.config import PairlistMethod
from marketdata.timeframe import timeframe_to_prev_date


class ShuffleFilter(Handler):
    """Freqtrade applies the seed in backtests only: live and dry-run never repeat an order.
    With `shuffle_frequency` "candle" the order changes once per candle of the strategy."""

    in_backtests = "yes"

    def __init__(self, spec: PairlistMethod, *, first: bool = False,
                 backtest: bool = False) -> None:
        super().__init__(spec, first=first)
        self._seed: int | None = spec["seed"] if backtest else None
        self._random = random.Random(self._seed)  # noqa: S311 - an order, not a secret
        self._last: tuple[tuple[str, ...], datetime, list[str]] | None = None

    def describe(self) -> str:
        seed = f", seed = {self._seed}." if self._seed is not None else "."
        return f"{self.name} - Shuffling pairs every {self.spec['shuffle_frequency']}{seed}"

    def filter(self, pairs: list[str], inputs: Inputs) -> list[str]:
        given = tuple(pairs)
        candle = timeframe_to_prev_date(inputs.timeframe, inputs.now)
        if self.spec["shuffle_frequency"] == "candle" and self._last is not None \
                and self._last[:2] == (given, candle):
            return list(self._last[2])
        shuffled = list(pairs)
        self._random.shuffle(shuffled)
        self._last = (given, candle, list(shuffled))
        return shuffled


class PerformanceFilter(Handler):
    """Sorted by the profit ratio of the pair's closed trades (profit over the stake entered),
    then fewer trades first, then the order given; pairs without trades count as 0."""

    in_backtests = "no_action"

    def describe(self) -> str:
        return f"{self.name} - Sorting pairs by performance."

    def filter(self, pairs: list[str], inputs: Inputs) -> list[str]:
        minutes = self.spec["minutes"]
        since = inputs.now - timedelta(minutes=minutes) if minutes else None
        profit: dict[str, float] = {}
        staked: dict[str, float] = {}
        count: dict[str, int] = {}
        for trade in inputs.store.closed_trades(since):
            profit[trade.pair] = profit.get(trade.pair, 0.0) + (trade.close_profit_abs or 0.0)
            staked[trade.pair] = staked.get(trade.pair, 0.0) + (trade.max_stake_amount or 0.0)
            count[trade.pair] = count.get(trade.pair, 0) + 1
        if not count:
            return pairs
        ratio = {p: profit[p] / staked[p] if staked.get(p) else 0.0 for p in count}
        order = sorted(range(len(pairs)), key=lambda i: (
            -ratio.get(pairs[i], 0.0), count.get(pairs[i], 0), i))
        ranked = [pairs[i] for i in order]
        floor = self.spec["min_profit"]
        if floor is None:
            return ranked
        kept = []
        for pair in ranked:
            if ratio.get(pair, 0.0) < floor:
                inputs.log.info(("pl-perf", pair, floor), "Removing pair %s since %s is below "
                                "%s", pair, ratio.get(pair, 0.0), floor)
            else:
                kept.append(pair)
        return kept


class FullTradesFilter(Handler):
    in_backtests = "no_action"

    def describe(self) -> str:
        return f"{self.name} - Shrink whitelist when trade slots are full."

    def filter(self, pairs: list[str], inputs: Inputs) -> list[str]:
        limit = inputs.max_open_trades
        if limit > 0 and len(inputs.store.open_trades()) >= limit:
            return []
        return pairs
