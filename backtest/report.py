"""What a backtest's trades add up to: statistics, the terminal report and the equity chart.

Pure functions over the trade list, so each figure can be checked by hand:

- the balance starts at the starting balance and moves by each trade's `profit_abs` when the
  trade closes (the equity curve);
- the maximum drawdown is the largest fall of that curve from its running peak, in stake
  currency and relative to the peak;
- daily returns are each UTC day's closed profit over the balance at the start of that day, for
  every day of the backtest (days without a close return 0); Sharpe is their mean over their
  standard deviation (n - 1), Sortino their mean over the downside deviation
  (sqrt(mean(min(r, 0)^2)), both annualised by sqrt(365): crypto trades every day;
- CAGR is (final / starting balance) ^ (365 / days) - 1 over the backtest's length in days.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path
from statistics import fmean, stdev

from backtest.run import BacktestResult, BacktestTrade, iso
from marketdata.timeframe import timeframe_to_timedelta

DAYS_PER_YEAR = 365
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class GroupStats:
    """The trades of one pair or one exit reason (or all of them)."""

    key: str
    trades: int
    wins: int
    draws: int
    losses: int
    avg_profit_ratio: float  # mean of the trades' profit ratios
    profit_abs: float
    profit_ratio: float  # profit_abs over the starting balance
    avg_duration: timedelta

    @property
    def win_rate(self) -> float:
        return self.wins / self.trades if self.trades else 0.0


@dataclass(frozen=True, slots=True)
class Drawdown:
    amount: float  # stake currency
    ratio: float  # of the peak balance
    peak_date: datetime
    trough_date: datetime
    peak_balance: float
    trough_balance: float


@dataclass(frozen=True, slots=True)
class Summary:
    total: GroupStats
    starting_balance: float
    final_balance: float
    profit_factor: float | None  # None without losing trades
    expectancy: float  # mean profit_abs per trade
    expectancy_ratio: float | None  # expectancy over the mean loss; None without losses
    drawdown: Drawdown | None  # None when the balance never fell
    cagr: float | None
    sharpe: float | None
    sortino: float | None
    start: datetime
    end: datetime  # close of the last candle


# --- statistics ------------------------------------------------------------------------------


def group_stats(key: str, trades: Sequence[BacktestTrade], starting_balance: float
                ) -> GroupStats:
    profits = [t.profit_abs for t in trades]
    durations = [t.duration for t in trades]
    total = sum(profits)
    return GroupStats(
        key=key, trades=len(trades),
        wins=sum(1 for p in profits if p > 0), draws=sum(1 for p in profits if p == 0),
        losses=sum(1 for p in profits if p < 0),
        avg_profit_ratio=fmean(t.profit_ratio for t in trades) if trades else 0.0,
        profit_abs=total, profit_ratio=total / starting_balance if starting_balance else 0.0,
        avg_duration=sum(durations, timedelta()) / len(durations) if durations else timedelta(),
    )  # fmt: skip


def grouped(trades: Sequence[BacktestTrade], key: Callable[[BacktestTrade], str],
            starting_balance: float) -> list[GroupStats]:
    """One row per key, best total profit first."""
    groups: dict[str, list[BacktestTrade]] = {}
    for trade in trades:
        groups.setdefault(key(trade), []).append(trade)
    rows = [group_stats(k, ts, starting_balance) for k, ts in groups.items()]
    return sorted(rows, key=lambda row: (-row.profit_abs, row.key))


def equity_curve(trades: Iterable[BacktestTrade], starting_balance: float
                 ) -> list[tuple[datetime, float]]:
    """The balance after each close, in close order (trades closing together: entry order)."""
    balance = starting_balance
    curve = []
    for trade in sorted(trades, key=lambda t: (t.close_date, t.open_date, t.trade_id)):
        balance += trade.profit_abs
        curve.append((trade.close_date, balance))
    return curve


def max_drawdown(curve: Sequence[tuple[datetime, float]], start: datetime,
                 starting_balance: float) -> Drawdown | None:
    """The largest fall from a running peak; the starting balance is the first peak."""
    peak_date, peak = start, starting_balance
    worst: Drawdown | None = None
    for when, balance in curve:
        if balance > peak:
            peak_date, peak = when, balance
            continue
        fall = peak - balance
        if fall > 0 and (worst is None or fall > worst.amount):
            worst = Drawdown(fall, fall / peak if peak > 0 else 1.0, peak_date, when, peak,
                             balance)
    return worst


def daily_returns(trades: Iterable[BacktestTrade], starting_balance: float, start: datetime,
                  end: datetime) -> list[float]:
    """Each UTC day's closed profit over the balance at that day's start, from start to end."""
    first = start.replace(hour=0, minute=0, second=0, microsecond=0)
    days = max(math.ceil((end - first) / DAY), 1)
    profit = [0.0] * days
    for trade in trades:
        index = min(max(int((trade.close_date - first) // DAY), 0), days - 1)
        profit[index] += trade.profit_abs
    returns = []
    balance = starting_balance
    for amount in profit:
        returns.append(amount / balance if balance > 0 else 0.0)
        balance += amount
    return returns


def sharpe(returns: Sequence[float]) -> float | None:
    if len(returns) < 2:
        return None
    deviation = stdev(returns)
    return fmean(returns) / deviation * math.sqrt(DAYS_PER_YEAR) if deviation > 0 else None


def sortino(returns: Sequence[float]) -> float | None:
    if len(returns) < 2:
        return None
    downside = math.sqrt(fmean(min(r, 0.0) ** 2 for r in returns))
    return fmean(returns) / downside * math.sqrt(DAYS_PER_YEAR) if downside > 0 else None


def cagr(starting_balance: float, final_balance: float, days: float) -> float | None:
    if starting_balance <= 0 or days <= 0:
        return None
    if final_balance <= 0:
        return -1.0
    return float((final_balance / starting_balance) ** (DAYS_PER_YEAR / days) - 1)


def profit_factor(trades: Iterable[BacktestTrade]) -> float | None:
    profits = [t.profit_abs for t in trades]
    lost = -sum(p for p in profits if p < 0)
    return sum(p for p in profits if p > 0) / lost if lost > 0 else None


def summarize(result: BacktestResult) -> Summary:
    trades = result.trades
    balance = result.starting_balance
    end = result.end + timeframe_to_timedelta(result.timeframe)
    total = group_stats("TOTAL", trades, balance)
    losses = [t.profit_abs for t in trades if t.profit_abs < 0]
    expectancy = total.profit_abs / total.trades if total.trades else 0.0
    returns = daily_returns(trades, balance, result.start, end)
    final = balance + total.profit_abs
    return Summary(
        total=total, starting_balance=balance, final_balance=final,
        profit_factor=profit_factor(trades), expectancy=expectancy,
        expectancy_ratio=expectancy / -fmean(losses) if losses else None,
        drawdown=max_drawdown(equity_curve(trades, balance), result.start, balance),
        cagr=cagr(balance, final, (end - result.start) / DAY),
        sharpe=sharpe(returns), sortino=sortino(returns), start=result.start, end=end,
    )  # fmt: skip


# --- the terminal report ---------------------------------------------------------------------


def _duration(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 1440)
    text = f"{minutes // 60}:{minutes % 60:02d}"
    return f"{days}d {text}" if days else text


def _number(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def _table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]
    first = " | ".join(h.ljust(w) if i == 0 else h.rjust(w)
                       for i, (h, w) in enumerate(zip(headers, widths, strict=True)))
    lines = [title, first, "-+-".join("-" * w for w in widths)]
    for row in rows:
        lines.append(" | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    return "\n".join(lines)


def _group_rows(rows: Sequence[GroupStats]) -> list[list[str]]:
    return [[r.key, str(r.trades), f"{r.avg_profit_ratio * 100:.2f}",
             f"{r.profit_abs:.8f}", f"{r.profit_ratio * 100:.2f}", _duration(r.avg_duration),
             f"{r.wins}/{r.draws}/{r.losses}", f"{r.win_rate * 100:.1f}"] for r in rows]


def _group_table(title: str, key: str, rows: Sequence[GroupStats], currency: str) -> str:
    headers = [key, "Trades", "Avg profit %", f"Tot profit {currency}", "Tot profit %",
               "Avg duration", "Win/Draw/Loss", "Win %"]
    return _table(title, headers, _group_rows(rows))


def _totals(s: Summary, currency: str) -> list[tuple[str, str]]:
    t = s.total
    dd = s.drawdown
    drawdown = "-" if dd is None else (
        f"{dd.amount:.8f} {currency} ({dd.ratio * 100:.2f}%), from {iso(dd.peak_date)} "
        f"to {iso(dd.trough_date)}")
    return [
        ("Backtest", f"{iso(s.start)} to {iso(s.end)}"),
        ("Trades", str(t.trades)),
        ("Win rate", f"{t.win_rate * 100:.2f}% ({t.wins}/{t.draws}/{t.losses})"),
        ("Starting balance", f"{s.starting_balance:.8f} {currency}"),
        ("Final balance", f"{s.final_balance:.8f} {currency}"),
        ("Profit", f"{t.profit_abs:.8f} {currency} ({t.profit_ratio * 100:.2f}%)"),
        ("Profit factor", _number(s.profit_factor)),
        ("Expectancy", f"{s.expectancy:.8f} {currency} (ratio "
                       f"{_number(s.expectancy_ratio)})"),
        ("Max drawdown", drawdown),
        ("Average duration", _duration(t.avg_duration)),
        ("CAGR", "-" if s.cagr is None else f"{s.cagr * 100:.2f}%"),
        ("Sharpe (daily)", _number(s.sharpe)),
        ("Sortino (daily)", _number(s.sortino)),
    ]


def render(result: BacktestResult) -> str:
    """The terminal report: per pair, per exit reason, then the totals."""
    currency = result.stake_currency
    trades = result.trades
    balance = result.starting_balance
    summary = summarize(result)
    pairs = [*grouped(trades, lambda t: t.pair, balance), summary.total]
    reasons = grouped(trades, lambda t: t.exit_reason, balance)
    totals = _totals(summary, currency)
    width = max(len(k) for k, _ in totals)
    head = (f"Backtest of {result.strategy} on {len(result.pairs)} pairs, {result.timeframe}, "
            f"{result.candles} candles, simulated in {result.simulation_seconds:.2f} s")
    return "\n\n".join([
        head,
        _group_table("Per pair", "Pair", pairs, currency),
        _group_table("Exit reasons", "Exit reason", reasons, currency),
        "Summary\n" + "\n".join(f"{k.ljust(width)}  {v}" for k, v in totals),
    ]) + "\n"  # fmt: skip


# --- the chart -------------------------------------------------------------------------------


def write_chart(result: BacktestResult, path: str | Path) -> None:
    """A PNG of the balance over the backtest, the drawdown from its peak shaded."""
    # Only a --chart run pays for importing matplotlib.
    from matplotlib.dates import date2num
    from matplotlib.figure import Figure

    balance = result.starting_balance
    end = result.end + timeframe_to_timedelta(result.timeframe)
    curve = [(result.start, balance), *equity_curve(result.trades, balance)]
    curve.append((end, curve[-1][1]))
    dates = date2num([when for when, _ in curve])
    values = [value for _, value in curve]
    peaks = list(accumulate(values, max))
    figure = Figure(figsize=(10, 5), layout="constrained")
    axes = figure.subplots()
    axes.xaxis_date()
    axes.step(dates, values, where="post", color="tab:blue", label="balance")
    axes.fill_between(dates, values, peaks, step="post", color="tab:red", alpha=0.3,
                      label="drawdown")
    axes.set_title(f"{result.strategy}: balance in {result.stake_currency}")
    axes.set_ylabel(result.stake_currency)
    axes.grid(alpha=0.3)
    axes.legend(loc="best")
    figure.savefig(path, format="png", dpi=100)
