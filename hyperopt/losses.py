"""Hyperopt loss functions: Freqtrade 2026.9's ten by name and formula, or a user's class.

Each is called as Freqtrade calls one, with keyword arguments: `results` (the epoch's closed
trades as a DataFrame with Freqtrade's columns: pair, profit_ratio, profit_abs, open_date,
close_date, trade_duration in minutes, exit_reason, ...), `trade_count`, `min_date` and
`max_date` (the first candle after the startup candles and the last one), `config`,
`processed`, `backtest_stats` and `starting_balance`. Smaller is better. Sharpe, Sortino and
Calmar are backtest/metrics.py's (Freqtrade's definitions); the daily variants take each day's
summed profit ratios less 0.0005 slippage per trade over every day of the range.

A name that is not one of these is a class in a `*.py` file of `--hyperopt-path` (default: the
strategy folder) with a `hyperopt_loss_function`, loaded as a strategy is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from statistics import fmean, stdev
from typing import Any

import pandas as pd

from backtest import metrics
from backtest.run import BacktestTrade
from core.errors import ConfigError
from engine.loader import import_user_file

LossFunction = Callable[..., float]
DEFAULT_LOSS = "ShortTradeDurHyperOptLoss"
# ShortTradeDur's constants.
TARGET_TRADES = 600
EXPECTED_MAX_PROFIT = 3.0
MAX_ACCEPTED_TRADE_DURATION = 300
PROFIT_DRAWDOWN_MULT = 0.075
DAILY_SLIPPAGE = 0.0005
DAILY_NOT_OPTIMAL = 20.0


def trades_frame(trades: Sequence[BacktestTrade]) -> pd.DataFrame:
    """The trades as Freqtrade's `results` frame."""
    columns = ["pair", "profit_ratio", "profit_abs", "open_date", "close_date",
               "trade_duration", "exit_reason", "enter_tag", "open_rate", "close_rate",
               "amount", "stake_amount"]
    rows = [[t.pair, t.profit_ratio, t.profit_abs, t.open_date, t.close_date,
             int(t.duration.total_seconds() // 60), t.exit_reason, t.enter_tag, t.open_rate,
             t.close_rate, t.amount, t.stake_amount] for t in trades]
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("open_date", "close_date"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _trades(results: pd.DataFrame) -> list[BacktestTrade]:
    """The results frame back as trades, for the metrics module (which reads only these)."""
    records = results.to_dict("records")
    return [BacktestTrade(
        trade_id=n, pair=str(r["pair"]), open_date=pd.Timestamp(r["open_date"]).to_pydatetime(),
        close_date=pd.Timestamp(r["close_date"]).to_pydatetime(), open_rate=0.0,
        close_rate=0.0, amount=0.0, stake_amount=0.0, exit_reason=str(r["exit_reason"]),
        enter_tag=None, profit_ratio=float(r["profit_ratio"]),
        profit_abs=float(r["profit_abs"])) for n, r in enumerate(records)]


def short_trade_duration(*, results: pd.DataFrame, trade_count: int, **_: Any) -> float:
    total = float(results["profit_ratio"].sum())
    duration = float(results["trade_duration"].mean()) if len(results) else math.nan
    trade_loss = 1 - 0.25 * math.exp(-((trade_count - TARGET_TRADES) ** 2) / 10 ** 5.8)
    profit_loss = max(0.0, 1 - total / EXPECTED_MAX_PROFIT)
    duration_loss = 0.4 * min(duration / MAX_ACCEPTED_TRADE_DURATION, 1)
    return trade_loss + profit_loss + duration_loss


def only_profit(*, results: pd.DataFrame, **_: Any) -> float:
    return -float(results["profit_abs"].sum())


def sharpe(*, results: pd.DataFrame, min_date: datetime, max_date: datetime,
           starting_balance: float, **_: Any) -> float:
    return -metrics.sharpe(_trades(results), starting_balance, min_date, max_date)


def sortino(*, results: pd.DataFrame, min_date: datetime, max_date: datetime,
            starting_balance: float, **_: Any) -> float:
    return -metrics.sortino(_trades(results), starting_balance, min_date, max_date)


def calmar(*, results: pd.DataFrame, min_date: datetime, max_date: datetime,
           starting_balance: float, **_: Any) -> float:
    return -metrics.calmar(_trades(results), starting_balance, min_date, max_date)


def _daily(results: pd.DataFrame, min_date: datetime, max_date: datetime) -> list[float]:
    """Each day's summed profit ratio after slippage, every day from min_date to max_date."""
    sums: dict[Any, float] = {}
    for close, ratio in zip(results["close_date"], results["profit_ratio"], strict=True):
        day = close.date()
        sums[day] = sums.get(day, 0.0) + float(ratio) - DAILY_SLIPPAGE
    days = (max_date.date() - min_date.date()).days + 1
    return [sums.get(min_date.date() + timedelta(days=n), 0.0) for n in range(days)]


def sharpe_daily(*, results: pd.DataFrame, min_date: datetime, max_date: datetime,
                 **_: Any) -> float:
    daily = _daily(results, min_date, max_date)
    deviation = stdev(daily) if len(daily) > 1 else math.nan
    if deviation == 0:
        return DAILY_NOT_OPTIMAL
    return -fmean(daily) / deviation * math.sqrt(metrics.DAYS_PER_YEAR)


def sortino_daily(*, results: pd.DataFrame, min_date: datetime, max_date: datetime,
                  **_: Any) -> float:
    daily = _daily(results, min_date, max_date)
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in daily) / len(daily))
    if downside == 0:
        return DAILY_NOT_OPTIMAL
    return -fmean(daily) / downside * math.sqrt(metrics.DAYS_PER_YEAR)


def _ratio(profit: float, by: float) -> float:
    """profit / by as numpy divides: infinite (or undefined) over a zero."""
    if by:
        return profit / by
    return math.copysign(math.inf, profit) if profit else math.nan


def max_drawdown(*, results: pd.DataFrame, **_: Any) -> float:
    profit = float(results["profit_abs"].sum())
    drawdown = metrics.max_drawdown(_trades(results), 0.0)
    if drawdown is None:
        return -profit
    return -_ratio(profit, drawdown.amount)


def max_drawdown_relative(*, results: pd.DataFrame, starting_balance: float, **_: Any
                          ) -> float:
    profit = float(results["profit_abs"].sum())
    trades = _trades(results)
    absolute = metrics.max_drawdown(trades, starting_balance)
    relative = metrics.max_drawdown(trades, starting_balance, relative=True)
    if absolute is None or relative is None or absolute.amount == 0 \
            or relative.account_ratio == 0:
        return -profit
    return -profit / absolute.amount / relative.account_ratio


def profit_drawdown(*, results: pd.DataFrame, starting_balance: float, **_: Any) -> float:
    profit = float(results["profit_abs"].sum())
    drawdown = metrics.max_drawdown(_trades(results), starting_balance)
    ratio = drawdown.account_ratio if drawdown is not None else 0.0
    return -(profit - ratio * profit * (1 - PROFIT_DRAWDOWN_MULT))


BUILTIN: dict[str, LossFunction] = {
    "ShortTradeDurHyperOptLoss": short_trade_duration,
    "DefaultHyperOptLoss": short_trade_duration,
    "OnlyProfitHyperOptLoss": only_profit,
    "SharpeHyperOptLoss": sharpe,
    "SharpeHyperOptLossDaily": sharpe_daily,
    "SortinoHyperOptLoss": sortino,
    "SortinoHyperOptLossDaily": sortino_daily,
    "CalmarHyperOptLoss": calmar,
    "MaxDrawDownHyperOptLoss": max_drawdown,
    "MaxDrawDownRelativeHyperOptLoss": max_drawdown_relative,
    "ProfitDrawDownHyperOptLoss": profit_drawdown,
}


def load_loss(name: str, folder: Path, timeframe: str) -> LossFunction:
    """A built-in loss, or the class `name` of a file in `folder`."""
    if name in BUILTIN:
        return BUILTIN[name]
    expected = f"one of {', '.join(BUILTIN)}, or a loss class in a .py file of {folder}"
    if not folder.is_dir():
        raise ConfigError(f"--hyperopt-loss {name}: not a built-in loss and {folder} is not a "
                          f"folder; expected {expected}")
    for file in sorted(folder.glob("*.py")):
        text = file.read_text(encoding="utf-8", errors="replace")
        if f"class {name}" not in text:
            continue
        found = getattr(import_user_file(file), name, None)
        function = getattr(found, "hyperopt_loss_function", None)
        if isinstance(found, type) and callable(function):
            found.timeframe = timeframe  # type: ignore[attr-defined]  # IHyperOptLoss's
            return function
    raise ConfigError(f"--hyperopt-loss {name}: no such loss; expected {expected}")
