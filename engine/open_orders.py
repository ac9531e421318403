"""The open orders' watch, every iteration: each open order looked up (its fills applied, an
unknown intent resolved), and those past their timeout (`unfilledtimeout`, or the strategy's
check_entry_timeout / check_exit_timeout) cancelled; after the exit of a trade was cancelled
`exit_timeout_count` times, the emergency exit."""

from __future__ import annotations

import logging
from datetime import datetime

from core.errors import TemporaryError
from engine import events
from engine.cancel_rules import emergency_exit_due
from engine.exits import ExitDecision, ExitKind
from engine.strategy import safe_call
from engine.trader import Trader
from store.models import ExitReason, Order

logger = logging.getLogger(__name__)


async def manage_open_orders(trader: Trader, now: datetime) -> None:
    """Apply fills, resolve unknown intents, and cancel orders past their timeout."""
    for order in trader.store.open_orders():
        try:
            applied = await trader.orders.refresh(order)
        except TemporaryError as exc:
            trader.log_once.warning(("fetch", order.ft_pair), "cannot fetch order %s (%s): %s",
                                    order.client_order_id, order.ft_pair, exc)
            continue
        if applied is not None:
            trader.react(applied)
        if order.is_open and order.order_id is not None and not order.is_stop \
                and _timed_out(trader, order, now):
            await trader.cancel_order(order, "cancelled due to timeout")
            if not order.is_entry and not order.is_open:
                await _emergency_exit(trader, order)


def _timed_out(trader: Trader, order: Order, now: datetime) -> bool:
    timeouts = trader.timeouts
    limit = timeouts.entry_delta if order.is_entry else timeouts.exit_delta
    if now - order.order_date >= limit:
        return True
    strategy = trader.strategy
    callback = strategy.check_entry_timeout if order.is_entry else strategy.check_exit_timeout
    return bool(safe_call(order.ft_pair, callback, default=False, log_once=trader.log_once,
                          trade=trader.snapshot(trader.store.trade_of(order)),
                          order=None, current_time=now))


async def _emergency_exit(trader: Trader, cancelled: Order) -> None:
    """Freqtrade's rule: once `exit_timeout_count` exit orders of a trade were cancelled, the
    next exit is the emergency one (order_types.emergency_exit, at the last one's price)."""
    due = emergency_exit_due(trader.store, cancelled, trader.timeouts.exit_timeout_count)
    if due is None:
        return
    trade, count = due
    text = (f"Trade #{trade.id} {trade.pair}: the exit timed out {count} times; emergency "
            f"exit ({trader.order_types.emergency_exit} order)")
    logger.warning("trade=%s pair=%s %s", trade.id, trade.pair, text)
    trader.notifier.notify(events.WarningNotice(text))
    decision = ExitDecision(ExitReason.EMERGENCY_EXIT.value, ExitKind.EMERGENCY,
                            cancelled.price)
    await trader.exit_trade(trade, decision, None)
