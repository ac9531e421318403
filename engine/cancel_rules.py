"""Freqtrade's rules around cancelling an order: the guard against leaving an unexitable
remainder, and the emergency exit once an exit has been cancelled too many times."""

from __future__ import annotations

from store.models import Order, OrderStatus, Trade
from store.store import Store
from venues.exchange import MarketRules


def remainder_too_small(order: Order, rules: MarketRules) -> bool:
    """Whether cancelling would leave less than the exchange's minimum: an entry cut short
    must leave a sellable position, an exit cut short a sellable rest."""
    price = order.average or order.price
    left = order.filled if order.is_entry else (order.remaining or 0.0)
    return left * price < (rules.min_cost or 0.0) or left < (rules.min_amount or 0.0)


def emergency_exit_due(store: Store, cancelled: Order, exit_timeout_count: int
                       ) -> tuple[Trade, int] | None:
    """After an exit of the trade was cancelled for its timeout: the trade and how many of
    its exits were cancelled, when that reached `unfilledtimeout.exit_timeout_count` (0: off)
    and the trade still holds coins."""
    trade = store.trade(cancelled.trade_id)
    if exit_timeout_count <= 0 or trade is None or not trade.is_open or trade.amount <= 0:
        return None
    count = sum(1 for o in store.orders_of(trade.id)
                if not o.is_entry and o.order_status == OrderStatus.CANCELED)
    return (trade, count) if count >= exit_timeout_count else None
