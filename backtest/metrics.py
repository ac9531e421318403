"""A backtest's statistics with Freqtrade 2026.9's definitions, so a Freqtrade user compares the
figures one for one (checked against Freqtrade's own numbers in tests/test_backtest_report.py).

All of them are over the closed trades (trades still open at the end are sold first, F1) and
the backtest range: `start` is the first candle after the startup candles, `end` the last one,
and "days" is the whole number of days between them (at least 1). A trade's return is its
`profit_abs` over the starting balance.

- Sharpe: the sum of the returns per day over the population deviation of the returns;
  Sortino: the same over the population deviation of the losing trades' returns; Calmar: the
  profit in percent per day over the relative drawdown. All three are annualised by sqrt(365)
  and are -100 when the denominator is zero or undefined (Freqtrade's "not optimal").
- SQN: sqrt(trades) times the mean return over the sample deviation (n - 1), to 4 decimals.
- Expectancy: win rate times the mean win minus loss rate times the mean loss (draws count in
  neither); its ratio is (1 + mean win / mean loss) * win rate - 1, 100 without losses.
- CAGR: (final / starting balance) ^ (365 / days) - 1, 0 when undefined.
- Drawdown: over the cumulative profit in close order, its running high never below 0; the
  largest absolute fall, its peak and low dates and profits, and the fall over the balance at
  the peak.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import fmean, pstdev, stdev

import pandas as pd

from backtest.run import BacktestTrade

DAYS_PER_YEAR = 365
NOT_OPTIMAL = -100.0


@dataclass(frozen=True, slots=True)
class GroupStats:
    """The trades of one pair, tag or exit reason (or all of them): one row of a table."""

    key: str
    trades: int
    wins: int
    draws: int
    losses: int
    avg_profit_ratio: float
    profit_abs: float
    profit_ratio: float  # profit_abs over the starting balance
    avg_duration: timedelta  # rounded to whole minutes, as Freqtrade shows it


@dataclass(frozen=True, slots=True)
class Drawdown:
    amount: float  # stake currency
    account_ratio: float  # the fall over the balance at the peak
    high_date: datetime
    low_date: datetime
    high_profit: float  # cumulative profit at the peak
    low_profit: float  # and at the low


@dataclass(frozen=True, slots=True)
class Period:
    """One row of the day, week or month breakdown."""

    label: date  # the day, the Monday that ends the week, the last day of the month
    trades: int
    profit_abs: float
    profit_factor: float
    wins: int
    draws: int
    losses: int


def group_stats(key: str, trades: Sequence[BacktestTrade], starting_balance: float
                ) -> GroupStats:
    profits = [t.profit_abs for t in trades]
    total = sum(profits)
    minutes = [t.duration.total_seconds() // 60 for t in trades]
    return GroupStats(
        key=key, trades=len(trades),
        wins=sum(1 for p in profits if p > 0), draws=sum(1 for p in profits if p == 0),
        losses=sum(1 for p in profits if p < 0),
        avg_profit_ratio=fmean(t.profit_ratio for t in trades) if trades else 0.0,
        profit_abs=total, profit_ratio=total / starting_balance if starting_balance else 0.0,
        avg_duration=timedelta(minutes=round(fmean(minutes))) if minutes else timedelta(),
    )  # fmt: skip


def grouped(trades: Sequence[BacktestTrade], key: Callable[[BacktestTrade], str],
            starting_balance: float, keys: Sequence[str] = ()) -> list[GroupStats]:
    """One row per key (those in `keys` even without trades), best total profit first, then
    the TOTAL row."""
    groups: dict[str, list[BacktestTrade]] = {k: [] for k in keys}
    for trade in trades:
        groups.setdefault(key(trade), []).append(trade)
    rows = sorted((group_stats(k, ts, starting_balance) for k, ts in groups.items()),
                  key=lambda row: -row.profit_abs)
    return [*rows, group_stats("TOTAL", trades, starting_balance)]


def days_between(start: datetime, end: datetime) -> int:
    return max(1, (end - start).days)


def _returns(trades: Sequence[BacktestTrade], starting_balance: float) -> list[float]:
    return [t.profit_abs / starting_balance for t in trades]


def _annualised(mean: float, deviation: float) -> float:
    if deviation == 0 or math.isnan(deviation):
        return NOT_OPTIMAL
    return mean / deviation * math.sqrt(DAYS_PER_YEAR)


def sharpe(trades: Sequence[BacktestTrade], starting_balance: float, start: datetime,
           end: datetime) -> float:
    if not trades or start == end:
        return 0.0
    returns = _returns(trades, starting_balance)
    return _annualised(sum(returns) / days_between(start, end), pstdev(returns))


def sortino(trades: Sequence[BacktestTrade], starting_balance: float, start: datetime,
            end: datetime) -> float:
    if not trades or start == end:
        return 0.0
    returns = _returns(trades, starting_balance)
    losing = [r for r in returns if r < 0]
    return _annualised(sum(returns) / days_between(start, end),
                       pstdev(losing) if losing else math.nan)


def calmar(trades: Sequence[BacktestTrade], starting_balance: float, start: datetime,
           end: datetime) -> float:
    drawdown = max_drawdown(trades, starting_balance)
    if drawdown is None or start == end:
        return 0.0
    profit = sum(_returns(trades, starting_balance))
    return _annualised(profit / days_between(start, end) * 100, drawdown.account_ratio)


def sqn(trades: Sequence[BacktestTrade], starting_balance: float) -> float:
    if not trades:
        return 0.0
    returns = _returns(trades, starting_balance)
    deviation = stdev(returns) if len(returns) > 1 else math.nan
    if deviation == 0 or math.isnan(deviation):
        return NOT_OPTIMAL
    return round(math.sqrt(len(returns)) * fmean(returns) / deviation, 4)


def expectancy(trades: Sequence[BacktestTrade]) -> tuple[float, float]:
    """(expectancy in stake currency, expectancy ratio)."""
    if not trades:
        return 0.0, 100.0
    wins = [t.profit_abs for t in trades if t.profit_abs > 0]
    losses = [-t.profit_abs for t in trades if t.profit_abs < 0]
    mean_win, mean_loss = (fmean(wins) if wins else 0.0), (fmean(losses) if losses else 0.0)
    win_rate, loss_rate = len(wins) / len(trades), len(losses) / len(trades)
    ratio = (1 + mean_win / mean_loss) * win_rate - 1 if mean_loss > 0 else 100.0
    return win_rate * mean_win - loss_rate * mean_loss, ratio


def profit_factor(trades: Sequence[BacktestTrade]) -> float:
    """Gross profit over gross loss; 0 without losses, as Freqtrade reports it."""
    won = sum(t.profit_abs for t in trades if t.profit_abs > 0)
    lost = sum(t.profit_abs for t in trades if t.profit_abs < 0)
    return won / abs(lost) if lost else 0.0


def cagr(starting_balance: float, final_balance: float, days: int) -> float:
    if final_balance < 0 or starting_balance <= 0 or days <= 0:
        return 0.0
    try:
        return float((final_balance / starting_balance) ** (DAYS_PER_YEAR / days) - 1)
    except OverflowError:
        return 0.0


def left_open(trade: BacktestTrade) -> bool:
    """Still open at the end and sold at the last candle (F1): nothing else force-exits in a
    backtest."""
    return trade.exit_reason == "force_exit"


def in_close_order(trades: Sequence[BacktestTrade]) -> list[BacktestTrade]:
    """Freqtrade's order: by close; trades closing together in the order they opened, and the
    ones left open at the end after the others, by pair."""
    return sorted(trades, key=lambda t: (t.close_date, left_open(t),
                                         t.pair if left_open(t) else "", t.open_date,
                                         t.trade_id))


def max_drawdown(trades: Sequence[BacktestTrade], starting_balance: float, *,
                 relative: bool = False) -> Drawdown | None:
    """The largest absolute fall (or, `relative`, the largest fall over the peak balance)."""
    ordered = in_close_order(trades)
    if not ordered:
        return None
    # Point 0 is the start (nothing earned yet); point i is after the i-th close.
    cumulative, highs = [0.0], [0.0]
    for trade in ordered:
        cumulative.append(cumulative[-1] + trade.profit_abs)
        highs.append(max(highs[-1], cumulative[-1]))
    falls = [c - h for c, h in zip(cumulative, highs, strict=True)]
    ratios = [(h - c) / (starting_balance + h) if starting_balance + h else 0.0
              for c, h in zip(cumulative, highs, strict=True)]
    low = (ratios.index(max(ratios)) if relative else falls.index(min(falls)))
    peak = highs[:low + 1].index(max(highs[:low + 1]))
    return Drawdown(amount=abs(falls[low]), account_ratio=ratios[low],
                    high_date=ordered[max(peak - 1, 0)].close_date,
                    low_date=ordered[max(low - 1, 0)].close_date,
                    high_profit=cumulative[peak], low_profit=cumulative[low])


def market_change(closes: Mapping[str, Sequence[float]]) -> float:
    """The mean over pairs of the change from the first to the last close of the range."""
    changes = [(c[-1] - c[0]) / c[0] for c in closes.values() if len(c) and c[0]]
    return fmean(changes) if changes else 0.0


_RESAMPLE = {"day": "1D", "week": "W-MON", "month": "ME"}


def breakdown(trades: Sequence[BacktestTrade], unit: str) -> list[Period]:
    """Trades by the day, week (Tuesday to Monday, labelled by the Monday) or month of their
    close, every period from the first close to the last, as Freqtrade's --breakdown."""
    if not trades:
        return []
    closes = pd.Series([t.profit_abs for t in trades],
                       index=pd.DatetimeIndex([t.close_date for t in trades]))
    rows = []
    for label, profits in closes.resample(_RESAMPLE[unit]):
        when = pd.Timestamp(label)  # type: ignore[arg-type]  # resample groups by Timestamp
        values = [float(p) for p in profits]
        won = sum(p for p in values if p > 0)
        lost = sum(p for p in values if p < 0)
        rows.append(Period(
            label=when.date(), trades=len(values), profit_abs=round(sum(values), 10),
            profit_factor=round(won / abs(lost), 8) if lost else 0.0,
            wins=sum(1 for p in values if p > 0), draws=sum(1 for p in values if p == 0),
            losses=sum(1 for p in values if p < 0)))
    return rows
