"""The /chart picture: cumulative closed profit over time and the open positions' profit.

Rendered with matplotlib's Agg canvas and the object API (no pyplot, no display, no global
figure state), so it can run in a worker thread while the event loop keeps serving commands.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import date2num
from matplotlib.figure import Figure

from engine.control.views import TradeView


def render_chart(series: Sequence[tuple[datetime, float]], open_trades: Sequence[TradeView],
                 stake_currency: str, days: int) -> bytes:
    """A PNG with two panels; empty data gets a "nothing yet" note instead of an empty axis."""
    figure = Figure(figsize=(8, 6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, height_ratios=(3, 2))
    _profit_panel(top, series, stake_currency, days)
    _positions_panel(bottom, open_trades)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _profit_panel(ax: Axes, series: Sequence[tuple[datetime, float]], currency: str,
                  days: int) -> None:
    ax.set_title(f"Cumulative closed profit, last {days} days")
    ax.set_ylabel(currency)
    if not series:
        _note(ax, "No closed trades in this period")
        return
    times = date2num([t for t, _ in series])
    values = [v for _, v in series]
    ax.step(times, values, where="post", color="tab:blue")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.xaxis_date()
    ax.grid(alpha=0.3)


def _positions_panel(ax: Axes, trades: Sequence[TradeView]) -> None:
    ax.set_title("Open positions: unrealized profit")
    ax.set_ylabel("%")
    if not trades:
        _note(ax, "No open trades")
        return
    labels = [f"#{t.id} {t.pair}" for t in trades]
    values = [t.profit_ratio * 100 for t in trades]
    colors = ["tab:green" if v >= 0 else "tab:red" for v in values]
    ax.bar(labels, values, color=colors)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.tick_params(axis="x", labelrotation=30)


def _note(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
