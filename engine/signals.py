"""Where the engine's entry and exit signals come from.

Live, dry-run and the offline demo refresh closed candles and run the strategy on them each
iteration (`LiveSignals`). A backtest computes every signal once over the whole range and
looks them up as its clock advances (`backtest.run`). Either way the engine sees the same
`SignalSource`, so no engine code knows which kind of run it is in.

A signal source is also the strategy's candle data (`engine.dataprovider.CandleData`): live,
the candle cache, which fetches the strategy's informative pairs and timeframes in the same
batch as the traded pairs.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

import pandas as pd

from engine.analysis import Analyzer, Signal
from engine.dataprovider import CandleData, RunMode
from engine.informative import requested_candles
from engine.strategy import ALL_PAIRS, IStrategy, LogOnce, safe_call
from marketdata.cache import CandleCaches

logger = logging.getLogger(__name__)


class SignalSource(CandleData, Protocol):
    async def refresh(self, pairs: list[str], now: datetime) -> None:
        """Bring candles and signals up to `now` (closed candles only)."""
        ...

    def signal(self, pair: str) -> Signal | None: ...

    def use(self, strategy: IStrategy) -> None:
        """Compute signals with `strategy` from now on (a /reload's): nothing the strategy
        before it computed is reused."""
        ...


class LiveSignals:
    def __init__(self, candles: CandleCaches, analyzer: Analyzer,
                 runmode: RunMode = RunMode.DRY_RUN) -> None:
        self._candles = candles
        self._analyzer = analyzer
        self._runmode = runmode
        self._signals: dict[str, Signal | None] = {}
        self._log_once = LogOnce(logger)

    async def refresh(self, pairs: list[str], now: datetime) -> None:
        timeframe = self._candles.timeframe
        wanted = [(pair, timeframe) for pair in pairs] + self._informative()
        await self._candles.refresh(wanted, now)
        self._signals = {
            pair: self._analyzer.analyze(pair, self._candles.candles(pair), now) for pair in pairs
        }

    def _informative(self) -> list[tuple[str, str]]:
        """What the strategy asks for beyond its pairs (asked every iteration, as Freqtrade
        does: `informative_pairs()` may follow the whitelist)."""
        strategy = self._analyzer.strategy
        declared = safe_call(ALL_PAIRS, strategy.informative_pairs, default=[],
                             log_once=self._log_once)
        try:
            dp = strategy.dp
            return requested_candles(strategy, declared, dp.current_whitelist(), dp.market,
                                     dp.stake_currency)
        except Exception as exc:  # strategy data; the fence's rule: log once, carry on
            self._log_once.error(("informative", str(exc)), "strategy: informative pairs "
                                 "unusable: %s (logged once)", exc)
            return []

    def signal(self, pair: str) -> Signal | None:
        return self._signals.get(pair)

    def use(self, strategy: IStrategy) -> None:
        self._analyzer.use(strategy)
        self._signals = {}

    # --- CandleData ----------------------------------------------------------------------------

    @property
    def runmode(self) -> RunMode:
        return self._runmode

    def candles(self, pair: str, timeframe: str) -> pd.DataFrame:
        return self._candles.candles(pair, timeframe)

    def analyzed(self, pair: str) -> tuple[pd.DataFrame | None, datetime | None]:
        return self._analyzer.analyzed(pair)

    def available(self) -> list[tuple[str, str]]:
        return self._candles.available()
