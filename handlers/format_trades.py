"""Replies about trades: /status, /status table, /trades, /performance, /count, /locks.

The figures and their order follow Freqtrade's (reference §2.3), so a Freqtrade user reads
them without surprise. Pure functions of the engine's views and `now`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from engine.control.views import CountView, LockView, OrderView, PairPerformance, TradeView
from handlers.format import amount, coin, duration, esc, field, number, pct, rate, table, when


def trade_block(trade: TradeView, now: datetime) -> str:
    """One trade as /status shows it."""
    head = f"<b>Trade ID:</b> <code>{trade.id}</code>"
    if trade.is_open:
        head += f" <i>(since {duration(now - trade.open_date)})</i>"
    lines = [
        head,
        field("Pair", esc(trade.pair)),
        field("Direction", "Long"),
        field("Amount", f"{amount(trade.amount)} {esc(trade.base_currency)} "
                        f"({coin(trade.stake_amount, trade.stake_currency)})"),
    ]
    if trade.enter_tag:
        lines.append(field("Enter Tag", esc(trade.enter_tag)))
    if trade.exit_reason:
        lines.append(field("Exit Reason", esc(trade.exit_reason)))
    lines += _rates(trade)
    lines += _profits(trade)
    lines += _stops(trade)
    lines += _adjustments(trade)
    lines += [_order_line(o) for o in trade.open_orders if o.stop_price is None]
    lines += [_stop_order_line(o) for o in trade.open_orders if o.stop_price is not None]
    return "\n".join(lines)


def _adjustments(trade: TradeView) -> list[str]:
    """A trade of more than one entry or with a partial exit: its orders, and the average."""
    orders = trade.filled_orders
    if len(orders) < 2 or (not trade.is_open and len(orders) == 2):
        return []
    cur = trade.stake_currency
    lines = [field("Entries / Exits", f"{trade.entries} / {trade.exits}"),
             field("Average Open Rate", rate(trade.open_rate))]
    numbers = {True: 0, False: 0}
    for order in orders:
        numbers[order.is_entry] += 1
        kind = "Entry" if order.is_entry else "Exit"
        lines.append(field(f"{kind} #{numbers[order.is_entry]}",
                           f"{amount(order.amount)} @ {rate(order.average)} "
                           f"({coin(order.cost, cur)})"))
    return lines


def _rates(trade: TradeView) -> list[str]:
    lines = [field("Open Rate", rate(trade.open_rate))]
    if not trade.is_open:
        lines.append(field("Close Rate", rate(trade.close_rate)))
    lines.append(field("Open Date", when(trade.open_date)))
    if not trade.is_open:
        lines.append(field("Close Date", when(trade.close_date)))
    else:
        lines.append(field("Current Rate", rate(trade.current_rate)))
    return lines


def _profits(trade: TradeView) -> list[str]:
    cur = trade.stake_currency
    label = "Unrealized Profit" if trade.is_open else "Close Profit"
    lines = [field(label, f"{pct(trade.profit_ratio)} ({coin(trade.profit_abs, cur)})")]
    if trade.is_open and trade.exits and trade.realized_profit:
        lines.append(field("Realized Profit", coin(trade.realized_profit, cur)))
        lines.append(field("Total Profit", coin(trade.total_profit_abs, cur)))
    return lines


def _stops(trade: TradeView) -> list[str]:
    lines: list[str] = []
    if trade.initial_stop_loss and trade.initial_stop_loss != trade.stop_loss:
        lines.append(field("Initial Stoploss", f"{rate(trade.initial_stop_loss)} "
                                               f"({pct(trade.initial_stop_loss_pct)})"))
    if trade.stop_loss:
        lines.append(field("Stoploss", f"{rate(trade.stop_loss)} ({pct(trade.stop_loss_pct)})"))
    if trade.is_open and trade.current_rate and trade.stoploss_distance_ratio is not None:
        distance = trade.stop_loss - trade.current_rate
        lines.append(field("Stoploss distance",
                           f"{rate(distance)} ({pct(trade.stoploss_distance_ratio)})"))
    return lines


def _stop_order_line(order: OrderView) -> str:
    """The stop resting on the exchange (stoploss_on_exchange): id, trigger, limit, status."""
    ident = esc(order.order_id or "not placed yet")
    return field("Stoploss on exchange", f"order {ident}, stop {rate(order.stop_price)}, "
                                         f"limit {rate(order.price)}, {esc(order.status)}")


def _order_line(order: OrderView) -> str:
    kind = "Entry" if order.side == "buy" else "Exit"
    detail = f"({esc(order.order_type)} {esc(order.side)} rem={amount(order.remaining)})"
    return field(f"Open {kind} Order", f"{detail} {esc(order.status)}")


def status_text(trades: Sequence[TradeView], now: datetime) -> str:
    if not trades:
        return "No open trades."
    return "\n\n".join(trade_block(t, now) for t in trades)


def _pair_marks(trade: TradeView) -> str:
    entries = sum(1 for o in trade.open_orders if o.side == "buy")
    exits = sum(1 for o in trade.open_orders if o.side == "sell" and o.stop_price is None)
    return trade.pair + "*" * entries + "**" * exits


def status_table_text(trades: Sequence[TradeView], now: datetime) -> str:
    if not trades:
        return "No open trades."
    currency = trades[0].stake_currency
    rows = [[str(t.id), _pair_marks(t), duration(now - t.open_date),
             f"{pct(t.profit_ratio)} ({number(t.profit_abs, currency)})"]
            for t in trades]
    if len(trades) > 1:
        total = sum(t.profit_abs for t in trades)
        rows.append(["", "Total", "", number(total, currency)])
    return table(["ID", "Pair", "Since", "Profit"], rows)


def trades_text(trades: Sequence[TradeView], now: datetime) -> str:
    if not trades:
        return "No closed trades yet."
    rows = [[f"{duration(now - t.close_date)} ago" if t.close_date else "n/a",
             f"{t.pair} (#{t.id})",
             f"{pct(t.profit_ratio)} ({number(t.profit_abs, t.stake_currency)})"]
            for t in trades]
    head = f"<b>Last {len(trades)} closed trades</b> ({esc(trades[0].stake_currency)})"
    return head + "\n" + table(["Closed", "Pair", "Profit"], rows)


def performance_text(rows: Sequence[PairPerformance], stake_currency: str) -> str:
    if not rows:
        return "No closed trades yet."
    lines = ["<b>Performance:</b>"]
    for index, row in enumerate(rows, start=1):
        lines.append(f"{index}. <code>{esc(row.pair)}</code> {coin(row.profit_abs, stake_currency)}"
                     f" ({pct(row.profit_ratio)}) <code>({row.count})</code>")
    return "\n".join(lines)


def count_text(view: CountView) -> str:
    limit = "unlimited" if view.max_open_trades < 0 else str(view.max_open_trades)
    rows = [[str(view.open_trades), limit, number(view.total_stake, view.stake_currency)]]
    return table(["current", "max", f"total stake ({view.stake_currency})"], rows)


def locks_text(locks: Sequence[LockView]) -> str:
    if not locks:
        return "No active locks."
    rows = [[str(lock.id), "all pairs" if lock.pair == "*" else lock.pair,
             lock.until.strftime("%Y-%m-%d %H:%M"), lock.reason or ""] for lock in locks]
    return "<b>Active locks</b>\n" + table(["ID", "Pair", "Until (UTC)", "Reason"], rows)


def trade_button_label(trade: TradeView, now: datetime) -> str:
    """A /forceexit picker button: id, pair, age and current profit."""
    return f"{trade.id} {trade.pair} {duration(now - trade.open_date)} {pct(trade.profit_ratio)}"
