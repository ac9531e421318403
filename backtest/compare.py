"""`backtest --strategy-list`: one line per strategy, as Freqtrade's strategy summary."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from backtest.report import summarize
from backtest.run import BacktestResult


def _duration(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 1440)
    text = f"{minutes // 60}:{minutes % 60:02d}"
    return f"{days}d {text}" if days else text


def render_comparison(results: Sequence[BacktestResult]) -> str:
    """The strategies side by side on the same pairs and candles."""
    currency = results[0].stake_currency
    headers = ["Strategy", "Trades", "Avg profit %", f"Tot profit {currency}", "Tot profit %",
               "Avg duration", "Win/Draw/Loss", "Win %", "Drawdown %"]
    rows = []
    for result in results:
        summary = summarize(result)
        t = summary.total
        drawdown = summary.drawdown.account_ratio * 100 if summary.drawdown is not None else 0.0
        win_rate = t.wins / t.trades * 100 if t.trades else 0.0
        rows.append([result.strategy, str(t.trades), f"{t.avg_profit_ratio * 100:.2f}",
                     f"{t.profit_abs:.8f}", f"{t.profit_ratio * 100:.2f}",
                     _duration(t.avg_duration), f"{t.wins}/{t.draws}/{t.losses}",
                     f"{win_rate:.1f}", f"{drawdown:.2f}"])
    widths = [max(len(c) for c in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return " | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                          for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    lines = ["STRATEGY SUMMARY", line(headers), "-+-".join("-" * w for w in widths)]
    lines += [line(row) for row in rows]
    return "\n".join(lines) + "\n"
