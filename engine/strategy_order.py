"""The `order` a strategy's `order_filled` receives: a frozen copy of the order's row, with
the field names of Freqtrade's Order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from store.models import Order


@dataclass(frozen=True, slots=True)
class OrderInfo:
    order_id: str | None
    ft_order_side: str  # "buy" for an entry, "sell" for an exit
    side: str
    order_type: str
    status: str
    amount: float
    filled: float
    remaining: float | None
    price: float
    average: float | None
    cost: float
    ft_order_tag: str | None
    order_date: datetime
    order_filled_date: datetime | None

    @property
    def ft_price(self) -> float:
        return self.price

    @property
    def safe_price(self) -> float:
        return self.average or self.price

    @property
    def safe_filled(self) -> float:
        return self.filled

    @property
    def safe_amount(self) -> float:
        return self.amount

    @property
    def stake_amount(self) -> float:
        return self.safe_filled * self.safe_price

    @property
    def order_date_utc(self) -> datetime:
        return self.order_date

    @property
    def order_filled_utc(self) -> datetime | None:
        return self.order_filled_date

    @classmethod
    def from_order(cls, order: Order) -> OrderInfo:
        return cls(
            order_id=order.order_id, ft_order_side=order.ft_order_side, side=order.side,
            order_type=order.order_type, status=order.status, amount=order.amount,
            filled=order.filled, remaining=order.remaining, price=order.price,
            average=order.average, cost=order.cost, ft_order_tag=order.ft_order_tag,
            order_date=order.order_date, order_filled_date=order.order_filled_date,
        )  # fmt: skip
