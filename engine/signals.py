"""Where the engine's entry and exit signals come from.

Live, dry-run and the offline demo refresh closed candles and run the strategy on them each
iteration (`LiveSignals`). A backtest computes every signal once over the whole range and
looks them up as its clock advances (`backtest.run`). Either way the engine sees the same
`SignalSource`, so no engine code knows which kind of run it is in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from engine.analysis import Analyzer, Signal
from engine.strategy import IStrategy
from marketdata.cache import CandleCache


class SignalSource(Protocol):
    async def refresh(self, pairs: list[str], now: datetime) -> None:
        """Bring candles and signals up to `now` (closed candles only)."""
        ...

    def signal(self, pair: str) -> Signal | None: ...

    def use(self, strategy: IStrategy) -> None:
        """Compute signals with `strategy` from now on (a /reload's): nothing the strategy
        before it computed is reused."""
        ...


class LiveSignals:
    def __init__(self, candles: CandleCache, analyzer: Analyzer) -> None:
        self._candles = candles
        self._analyzer = analyzer
        self._signals: dict[str, Signal | None] = {}

    async def refresh(self, pairs: list[str], now: datetime) -> None:
        await self._candles.refresh(pairs, now)
        self._signals = {
            pair: self._analyzer.analyze(pair, self._candles.candles(pair), now) for pair in pairs
        }

    def signal(self, pair: str) -> Signal | None:
        return self._signals.get(pair)

    def use(self, strategy: IStrategy) -> None:
        self._analyzer.use(strategy)
        self._signals = {}
