"""A backtest trade's orders as exported: the filled entries and exits, in order, so that a
trade made of several orders (position adjustment) can be held against Freqtrade's, order for
order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from store.models import Order


@dataclass(frozen=True, slots=True)
class BacktestOrder:
    side: str  # "buy" for an entry, "sell" for an exit
    amount: float  # what filled
    price: float  # the average fill price
    filled_date: datetime
    tag: str | None

    @classmethod
    def of(cls, order: Order) -> BacktestOrder:
        when = order.order_filled_date or order.order_update_date or order.order_date
        return cls(side=order.ft_order_side, amount=order.filled,
                   price=order.average or order.price, filled_date=when.astimezone(UTC),
                   tag=order.ft_order_tag or None)

    def to_json(self) -> dict[str, Any]:
        return {"side": self.side, "amount": self.amount, "price": self.price,
                "filled_date": self.filled_date.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "tag": self.tag}


def filled_orders(orders: list[Order]) -> tuple[BacktestOrder, ...]:
    return tuple(BacktestOrder.of(o) for o in orders if o.filled > 0)


def held_at_close(orders: tuple[BacktestOrder, ...]) -> float | None:
    """What the trade held when its last exit sold it, Freqtrade's exported `amount`."""
    exits = [o for o in orders if o.side == "sell"]
    return exits[-1].amount if exits else None
