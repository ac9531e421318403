"""One epoch of a hyperopt: a point of the spaces set on the strategy, then a whole backtest
through `backtest.run` (the live engine, a fresh in-memory database, a fresh engine and
exchange), then its loss.

Indicators are computed once per distinct value of the searched parameters that
`populate_indicators` reads: while it runs, each searched parameter is watched, its `.range`
being its whole search range (Freqtrade's hyperopt form, so a strategy computes every variant
at once) and its `.value` reads recorded. The indicator frames are kept by the values read
(usually none: one computation for the whole run), and each epoch runs only
populate_entry_trend and populate_exit_trend on them, as Freqtrade does.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from backtest import metrics
from backtest import run as backtest_run
from backtest.history import BacktestHistory
from backtest.run import BacktestResult, BacktestTrade
from engine.parameters import BaseParameter, CategoricalParameter, DecimalParameter, IntParameter
from engine.settings import Settings
from engine.strategy import IStrategy
from hyperopt import spaces as sp
from hyperopt.losses import LossFunction, trades_frame

logger = logging.getLogger(__name__)

MAX_LOSS = 100000.0  # Freqtrade's loss of an epoch with fewer trades than --min-trades
_KEPT_INDICATOR_SETS = 8


@dataclass(frozen=True, slots=True)
class Case:
    """What every epoch of one hyperopt shares."""

    settings: Settings  # through backtest_settings and the command's options
    frames: Mapping[str, pd.DataFrame]
    history: BacktestHistory
    markets: Sequence[Mapping[str, Any]]
    fee: float | None
    protections: bool
    spaces: Mapping[str, Sequence[sp.Dimension]]
    loss: LossFunction
    min_trades: int = 1
    detail: Mapping[str, pd.DataFrame] | None = None


@dataclass(frozen=True, slots=True)
class EpochStats:
    """An epoch's figures, as the results table shows them."""

    trades: int
    wins: int
    draws: int
    losses: int
    avg_profit_ratio: float
    profit_abs: float
    profit_ratio: float  # over the starting balance
    avg_duration_minutes: float
    max_drawdown_abs: float
    max_drawdown_account: float

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class EpochResult:
    params: dict[str, Any]  # the point, by dimension name
    details: dict[str, dict[str, Any]]  # the point by space, as the parameter file holds it
    loss: float
    stats: EpochStats
    trades: tuple[BacktestTrade, ...] = field(default=(), compare=False)


def epoch_stats(result: BacktestResult) -> EpochStats:
    total = metrics.group_stats("TOTAL", result.trades, result.starting_balance)
    drawdown = metrics.max_drawdown(result.trades, result.starting_balance)
    minutes = [t.duration.total_seconds() / 60 for t in result.trades]
    return EpochStats(
        trades=total.trades, wins=total.wins, draws=total.draws, losses=total.losses,
        avg_profit_ratio=total.avg_profit_ratio, profit_abs=total.profit_abs,
        profit_ratio=total.profit_ratio,
        avg_duration_minutes=sum(minutes) / len(minutes) if minutes else 0.0,
        max_drawdown_abs=drawdown.amount if drawdown else 0.0,
        max_drawdown_account=drawdown.account_ratio if drawdown else 0.0,
    )  # fmt: skip


def full_range(param: BaseParameter) -> Any:
    """A searched parameter's `.range` while the indicators are computed: every value."""
    if isinstance(param, IntParameter):
        return range(int(param.low), int(param.high) + 1)
    if isinstance(param, DecimalParameter):
        scale = 10 ** param.decimals
        return [round(n / scale, param.decimals)
                for n in range(int(param.low * scale), int(param.high * scale) + 1)]
    if isinstance(param, CategoricalParameter):
        return list(param.opt_range)
    return [param.value]  # a RealParameter has no range, in Freqtrade either


class _Watched:
    """A searched parameter as the strategy sees it during populate_indicators."""

    def __init__(self, param: BaseParameter, reads: set[str]) -> None:
        self._param = param
        self._reads = reads

    @property
    def value(self) -> Any:
        self._reads.add(self._param.name)
        return self._param.value

    @property
    def range(self) -> Any:
        return full_range(self._param)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._param, name)


class Evaluator:
    """Runs epochs of one case on one strategy instance; one per worker process."""

    def __init__(self, strategy: IStrategy, case: Case) -> None:
        self.strategy = strategy
        self.case = case
        parameters = sp.strategy_parameters(strategy)
        self._searched = {d.name: parameters[space][d.name]
                          for space, dims in case.spaces.items() if space not in sp.GENERATED
                          for d in dims}
        self._reads: tuple[str, ...] | None = None
        self._indicators: OrderedDict[tuple[Any, ...], dict[str, pd.DataFrame]] = OrderedDict()
        self.indicator_runs = 0

    def prepare(self) -> None:
        """The indicators for the strategy's current values, before any epoch (and before the
        workers are forked, so each starts with them)."""
        self._indicators_for({name: p.value for name, p in self._searched.items()})

    def evaluate(self, params: Mapping[str, Any]) -> EpochResult:
        point = sp.clean(params, self.case.spaces)
        settings = self._apply(point)
        analyzed = backtest_run.populate_signals(self.strategy, self._indicators_for(point),
                                                 self.case.history)
        result = asyncio.run(backtest_run.run(
            settings, self.strategy, self.case.frames, self.case.markets, fee=self.case.fee,
            protections=self.case.protections, history=self.case.history,
            detail=self.case.detail, analyzed=analyzed))
        stats = epoch_stats(result)
        details = sp.params_details(self.strategy, self.case.spaces, point,
                                    settings.max_open_trades)
        return EpochResult(params=point, details=details, loss=self._loss(result, stats),
                           stats=stats, trades=result.trades)

    def _loss(self, result: BacktestResult, stats: EpochStats) -> float:
        if stats.trades < self.case.min_trades:
            return MAX_LOSS
        loss = self.case.loss(
            results=trades_frame(result.trades), trade_count=stats.trades,
            min_date=result.range_start, max_date=result.end,
            config={"stake_currency": result.stake_currency,
                    "timeframe": result.timeframe, "dry_run_wallet": result.starting_balance},
            processed=self.case.frames, backtest_stats={"total_trades": stats.trades},
            starting_balance=result.starting_balance)
        return float(loss)

    def _apply(self, point: Mapping[str, Any]) -> Settings:
        """The point on the strategy; the settings the epoch runs with."""
        strategy, chosen = self.strategy, self.case.spaces
        for name, param in self._searched.items():
            param.value = point[name]
        if "roi" in chosen:
            strategy.minimal_roi = sp.roi_table(strategy, point)
        if "stoploss" in chosen:
            strategy.stoploss = float(point["stoploss"])
        if "trailing" in chosen:
            for key, value in sp.trailing_params(strategy, point).items():
                setattr(strategy, key, value)
        settings = self.case.settings
        if "trades" in chosen:
            trades = int(point["max_open_trades"])
            unlimited = settings.stake_amount == "unlimited" and trades in (-1, 0)
            settings = replace(settings, max_open_trades=settings.max_open_trades if unlimited
                               else -1 if trades in (-1, 0) else trades)
        return settings

    def _indicators_for(self, point: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
        key = () if self._reads is None else tuple(point[name] for name in self._reads)
        if self._reads is not None and key in self._indicators:
            self._indicators.move_to_end(key)
            return self._indicators[key]
        reads: set[str] = set()
        with self._watching(reads):
            frames = backtest_run.analyze(self.strategy, self.case.frames, self.case.history,
                                          markets=self.case.markets,
                                          stake_currency=self.case.settings.stake_currency,
                                          signals=False)
        self.indicator_runs += 1
        if self._reads is None:
            self._reads = tuple(sorted(reads))
            key = tuple(point[name] for name in self._reads)
            if self._reads:
                logger.info("populate_indicators reads %s: indicators are computed once per "
                            "value of them", ", ".join(self._reads))
        self._indicators[key] = frames
        while len(self._indicators) > _KEPT_INDICATOR_SETS:
            self._indicators.popitem(last=False)
        return frames

    @contextmanager
    def _watching(self, reads: set[str]) -> Iterator[None]:
        for name, param in self._searched.items():
            setattr(self.strategy, name, _Watched(param, reads))
        try:
            yield
        finally:
            for name, param in self._searched.items():
                setattr(self.strategy, name, param)

