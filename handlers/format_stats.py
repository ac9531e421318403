"""Replies about closed trades by tag and reason, and a trade's orders: /entries, /exits,
/mix_tags, /stats and /order, laid out as Freqtrade lays them out. Pure functions of the
engine's views.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from engine.control.views import StatsView, TagPerformance, TradeOrders
from handlers.format import amount, coin, esc, field, pct, table, when

TAG_TITLES = {"enter_tag": "Entry Tag Performance", "exit_reason": "Exit Reason Performance",
              "mix": "Mix Tag Performance"}
# Freqtrade's names for the exit reasons in /stats.
_REASON_NAMES = {"roi": "ROI", "stop_loss": "Stoploss", "trailing_stop_loss": "Trail. Stop",
                 "stoploss_on_exchange": "Stoploss", "exit_signal": "Exit Signal",
                 "force_exit": "Force Exit", "emergency_exit": "Emergency Exit"}


def tag_performance_text(by: str, rows: Sequence[TagPerformance], stake_currency: str) -> str:
    if not rows:
        return "No closed trades yet."
    lines = [f"<b>{TAG_TITLES[by]}:</b>"]
    for index, row in enumerate(rows, start=1):
        lines.append(f"{index}. <code>{esc(row.tag)}</code> {coin(row.profit_abs, stake_currency)}"
                     f" ({pct(row.profit_ratio)}) <code>({row.count})</code>")
    return "\n".join(lines)


def _mean(value: timedelta | None) -> str:
    return "N/A" if value is None else str(timedelta(seconds=round(value.total_seconds())))


def stats_text(view: StatsView) -> str:
    if not view.exit_reasons:
        return "No trades yet."
    rows = [[_REASON_NAMES.get(r.reason, r.reason), str(r.wins + r.draws + r.losses),
             str(r.wins), str(r.losses)] for r in view.exit_reasons]
    reasons = table(["Exit Reason", "Exits", "Wins", "Losses"], rows)
    durations = table(["", "Avg. Duration"], [["Wins", _mean(view.win_duration)],
                                              ["Losses", _mean(view.loss_duration)]])
    return reasons + "\n" + durations


def orders_text(trades: Sequence[TradeOrders]) -> str:
    return "\n\n".join(_trade_orders(t) for t in trades)


def _trade_orders(trade: TradeOrders) -> str:
    lines = [f"<b>Order List for Trade #</b><code>{trade.trade_id}</code> ({esc(trade.pair)})"]
    if not trade.orders:
        lines.append("No filled orders yet.")
    first = trade.orders[0].average if trade.orders else 0.0
    for number, order in enumerate(trade.orders, start=1):
        kind = "Entry" if order.is_entry else "Exit"
        lines += ["", f"<b>{kind} #{number}:</b>",
                  field("Amount", f"{amount(order.amount)} "
                                  f"({coin(order.cost, trade.stake_currency)})")]
        if number == 1:
            lines.append(field("Average Price", amount(order.average)))
        else:
            change = (order.average - first) / first if first else 0.0
            lines.append(field(f"Average {kind} Price",
                               f"{amount(order.average)} ({pct(change)} from 1st entry rate)"))
            lines.append(field("Order Filled", when(order.filled_date)))
    return "\n".join(lines)
