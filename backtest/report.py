"""What a backtest's trades add up to, shown as Freqtrade shows it: the per-pair, enter-tag,
exit-reason, mixed-tag and left-open tables, the day / week / month breakdowns (`--breakdown`),
the summary metrics, and the equity chart. The figures come from `backtest/metrics.py`, with
Freqtrade's definitions; the digits are the ones Freqtrade prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from backtest import metrics
from backtest.metrics import Drawdown, GroupStats, Period
from backtest.run import BacktestResult, BacktestTrade
from marketdata.timeframe import timeframe_to_timedelta

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BREAKDOWNS = ("day", "week", "month")
_COIN_DECIMALS = {"BTC": 8, "ETH": 5}  # Freqtrade's digits per stake currency; others 3


@dataclass(frozen=True, slots=True)
class Summary:
    total: GroupStats
    starting_balance: float
    final_balance: float
    start: datetime  # first candle after the startup candles
    end: datetime  # last candle
    days: int
    profit_factor: float
    expectancy: float
    expectancy_ratio: float
    cagr: float
    sharpe: float
    sortino: float
    calmar: float
    sqn: float
    market_change: float
    drawdown: Drawdown | None  # the largest absolute fall
    relative_drawdown: Drawdown | None  # the largest fall over the peak balance
    best_pair: GroupStats | None
    worst_pair: GroupStats | None
    best_trade: BacktestTrade | None
    worst_trade: BacktestTrade | None


def equity_curve(trades: Iterable[BacktestTrade], starting_balance: float
                 ) -> list[tuple[datetime, float]]:
    """The balance after each close, in close order."""
    balance = starting_balance
    curve = []
    for trade in metrics.in_close_order(list(trades)):
        balance += trade.profit_abs
        curve.append((trade.close_date, balance))
    return curve


def per_pair(result: BacktestResult) -> list[GroupStats]:
    return metrics.grouped(result.trades, lambda t: t.pair, result.starting_balance,
                           result.pairs)


def summarize(result: BacktestResult) -> Summary:
    trades, balance = list(result.trades), result.starting_balance
    start, end = result.range_start, result.end
    days = metrics.days_between(start, end)
    pairs = per_pair(result)[:-1]
    total = metrics.group_stats("TOTAL", trades, balance)
    final = balance + total.profit_abs
    expectancy, ratio = metrics.expectancy(trades)
    return Summary(
        total=total, starting_balance=balance, final_balance=final, start=start, end=end,
        days=days, profit_factor=metrics.profit_factor(trades), expectancy=expectancy,
        expectancy_ratio=ratio, cagr=metrics.cagr(balance, final, days),
        sharpe=metrics.sharpe(trades, balance, start, end),
        sortino=metrics.sortino(trades, balance, start, end),
        calmar=metrics.calmar(trades, balance, start, end), sqn=metrics.sqn(trades, balance),
        market_change=metrics.market_change(result.closes),
        drawdown=metrics.max_drawdown(trades, balance),
        relative_drawdown=metrics.max_drawdown(trades, balance, relative=True),
        best_pair=max(pairs, key=lambda p: p.profit_abs, default=None),
        worst_pair=min(pairs, key=lambda p: p.profit_abs, default=None),
        best_trade=max(trades, key=lambda t: t.profit_ratio, default=None),
        worst_trade=min(trades, key=lambda t: t.profit_ratio, default=None),
    )  # fmt: skip


# --- the terminal report ---------------------------------------------------------------------


def coin(value: float, currency: str, *, keep_zeros: bool = False) -> str:
    """An amount with Freqtrade's digits for the currency (BTC 8, ETH 5, others 3)."""
    text = f"{value:.{_COIN_DECIMALS.get(currency, 3)}f}"
    if not keep_zeros and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _pct(ratio: float) -> str:
    return f"{ratio:.2%}"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _win_rate(wins: int, draws: int, losses: int) -> str:
    if wins and not losses:
        rate = "100"
    elif not wins:
        rate = "0"
    else:
        rate = f"{100.0 / (wins + draws + losses) * wins:.1f}"
    return f"{wins:>4}  {draws:>4}  {losses:>4}  {rate:>4}"


def _table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]
    lines = [title, " | ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def _group_cells(row: GroupStats, currency: str) -> list[str]:
    return [str(row.trades), str(round(row.avg_profit_ratio * 100, 2)),
            coin(row.profit_abs, currency, keep_zeros=True), str(round(row.profit_ratio * 100, 2)),
            str(row.avg_duration), _win_rate(row.wins, row.draws, row.losses)]


def _headers(currency: str, count: str) -> list[str]:
    return [count, "Avg Profit %", f"Tot Profit {currency}", "Tot Profit %", "Avg Duration",
            "Win  Draw  Loss  Win%"]


def group_table(title: str, key: str, count: str, rows: Sequence[GroupStats], currency: str,
                blank: str = "") -> str:
    return _table(title, [key, *_headers(currency, count)],
                  [[row.key or blank, *_group_cells(row, currency)] for row in rows])


def mixed_tag_table(trades: Sequence[BacktestTrade], balance: float, currency: str) -> str:
    rows = metrics.grouped(trades, lambda t: f"{t.enter_tag or ''}\0{t.exit_reason}", balance)
    cells = []
    for row in rows:
        tag, _, reason = row.key.partition("\0")
        cells.append([tag, reason, *_group_cells(row, currency)])
    return _table("MIXED TAG STATS", ["Enter Tag", "Exit Reason", *_headers(currency, "Trades")],
                  cells)


def breakdown_table(unit: str, rows: Sequence[Period], currency: str) -> str:
    cells = [[row.label.strftime("%d/%m/%Y"), str(row.trades), coin(row.profit_abs, currency),
              str(round(row.profit_factor, 2)), _win_rate(row.wins, row.draws, row.losses)]
             for row in rows]
    return _table(f"{unit.upper()} BREAKDOWN", [unit.capitalize(), "Trades",
                                               f"Tot Profit {currency}", "Profit Factor",
                                               "Win  Draw  Loss  Win%"], cells)


def _drawdown_lines(s: Summary, currency: str) -> list[tuple[str, str]]:
    dd, rel = s.drawdown, s.relative_drawdown
    if dd is None or rel is None:
        return []
    return [
        ("Max % of account underwater", _pct(rel.account_ratio)),
        ("Absolute drawdown", f"{coin(dd.amount, currency)} {currency} "
                              f"({_pct(dd.account_ratio)})"),
        ("Drawdown duration", str(pd.Timedelta(dd.low_date - dd.high_date))),
        ("Profit at drawdown start", f"{coin(dd.high_profit, currency)} {currency}"),
        ("Profit at drawdown end", f"{coin(dd.low_profit, currency)} {currency}"),
        ("Drawdown start", _when(dd.high_date)),
        ("Drawdown end", _when(dd.low_date)),
    ]


def _pair_line(pair: GroupStats | None) -> str:
    return "-" if pair is None else f"{pair.key} {_pct(pair.profit_ratio)}"


def _trade_line(trade: BacktestTrade | None) -> str:
    return "-" if trade is None else f"{trade.pair} {_pct(trade.profit_ratio)}"


def metric_lines(s: Summary, currency: str) -> list[tuple[str, str]]:
    t = s.total
    return [
        ("Backtesting from", _when(s.start)),
        ("Backtesting to", _when(s.end)),
        ("Total/Daily Avg Trades", f"{t.trades} / {round(t.trades / s.days, 2)}"),
        ("Starting balance", f"{coin(s.starting_balance, currency)} {currency}"),
        ("Final balance", f"{coin(s.final_balance, currency)} {currency}"),
        ("Absolute profit", f"{coin(t.profit_abs, currency)} {currency}"),
        ("Total profit %", _pct(t.profit_ratio)),
        ("CAGR %", _pct(s.cagr)),
        ("Sharpe (closed trades)", f"{s.sharpe:.2f}"),
        ("Sortino (closed trades)", f"{s.sortino:.2f}"),
        ("Calmar (closed trades)", f"{s.calmar:.2f}"),
        ("SQN", f"{s.sqn:.2f}"),
        ("Profit factor", f"{s.profit_factor:.2f}"),
        ("Expectancy (Ratio)", f"{s.expectancy:.2f} ({s.expectancy_ratio:.2f})"),
        ("Market change", _pct(s.market_change)),
        ("Best Pair", _pair_line(s.best_pair)),
        ("Worst Pair", _pair_line(s.worst_pair)),
        ("Best trade", _trade_line(s.best_trade)),
        ("Worst trade", _trade_line(s.worst_trade)),
        *_drawdown_lines(s, currency),
    ]


def render(result: BacktestResult, breakdowns: Sequence[str] = ()) -> str:
    """The terminal report, in Freqtrade's order: the tables, the breakdowns asked for, then
    the summary metrics."""
    currency, trades, balance = result.stake_currency, result.trades, result.starting_balance
    summary = summarize(result)
    left_open = [t for t in trades if metrics.left_open(t)]
    lines = metric_lines(summary, currency)
    width = max(len(k) for k, _ in lines)
    head = (f"Backtest of {result.strategy} on {len(result.pairs)} pairs, {result.timeframe}, "
            f"{result.candles} candles, simulated in {result.simulation_seconds:.2f} s")
    parts = [
        head,
        group_table("BACKTESTING REPORT", "Pair", "Trades", per_pair(result), currency),
        group_table("LEFT OPEN TRADES REPORT", "Pair", "Trades",
                    metrics.grouped(left_open, lambda t: t.pair, balance), currency),
        group_table("ENTER TAG STATS", "Enter Tag", "Entries",
                    metrics.grouped(trades, lambda t: t.enter_tag or "", balance), currency,
                    blank="OTHER"),
        group_table("EXIT REASON STATS", "Exit Reason", "Exits",
                    metrics.grouped(trades, lambda t: t.exit_reason, balance), currency),
        mixed_tag_table(trades, balance, currency),
        *(breakdown_table(unit, metrics.breakdown(trades, unit), currency)
          for unit in BREAKDOWNS if unit in breakdowns),
        "SUMMARY METRICS\n" + "\n".join(f"{k.ljust(width)}  {v}" for k, v in lines),
    ]
    return "\n\n".join(parts) + "\n"


# --- the chart -------------------------------------------------------------------------------


def _balance_at(curve: Sequence[tuple[datetime, float]], moment: datetime) -> float:
    """The balance of the step curve at `moment` (closes at that moment not yet counted)."""
    balance = curve[0][1]
    for when, value in curve[1:]:
        if when >= moment:
            break
        balance = value
    return balance


def chart_figure(result: BacktestResult) -> Figure:
    """The balance over the backtest, the drawdown from its peak shaded, each entry and each
    exit marked on the curve (exits green for a profit, red for a loss)."""
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
    trades = result.trades
    if trades:
        axes.scatter(date2num([t.open_date for t in trades]),
                     [_balance_at(curve, t.open_date) for t in trades], marker="^", s=18,
                     color="tab:blue", zorder=3, label="entries")
        after = dict(zip((t.trade_id for t in metrics.in_close_order(trades)),
                         (value for _, value in curve[1:-1]), strict=True))
        axes.scatter(date2num([t.close_date for t in trades]),
                     [after[t.trade_id] for t in trades], marker="v", s=18, zorder=3,
                     color=["tab:green" if t.profit_abs > 0 else "tab:red" for t in trades],
                     label="exits")
    axes.set_title(f"{result.strategy}: balance in {result.stake_currency}")
    axes.set_ylabel(result.stake_currency)
    axes.grid(alpha=0.3)
    axes.legend(loc="best")
    return figure


def write_chart(result: BacktestResult, path: str | Path) -> None:
    """The chart as a PNG file."""
    chart_figure(result).savefig(path, format="png", dpi=100)
