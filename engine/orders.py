"""The order life cycle, crash-safe: intent row → submit → outcome → snapshots → cancel.

Intent before send: an order's row (with a fresh client order id, status PENDING_SUBMIT) is
committed before the exchange is called, so a crash or a lost response can always be
resolved by looking the order up by its client id, and a pending intent is never sent twice.
Submitting returns an outcome for every answer the exchange can give: placed, refused, or
unknown. Snapshots are absolute: each overwrites the row with the exchange's cumulative values
and the trade is recomputed from its orders, so applying the same snapshot twice changes
nothing. Every change to a row is returned as an `Applied`, for the trader to react to once.
"""

from __future__ import annotations

import logging
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from core.clock import Clock
from core.errors import (
    InvalidTransition,
    OrderNotFound,
    OrderNotPlaced,
    OrderRejected,
    OrderStateUnknown,
    TemporaryError,
)
from store.models import Order, OrderSide, OrderStatus, Trade
from store.store import Store
from venues.exchange import Exchange, OrderRequest, OrderSnapshot, OrderType, Side, TimeInForce

logger = logging.getLogger(__name__)

CLIENT_ID_PREFIX = "tp"
# How long an order the exchange acknowledged may be "not found" before it is taken for
# cancelled: Binance answers -2013 for a while after placing, and during incidents.
NOT_FOUND_GRACE = timedelta(hours=1)


_OURS = re.compile(rf"{CLIENT_ID_PREFIX}[0-9a-f]{{22}}")


def new_client_order_id() -> str:
    # 24 characters of [a-z0-9]: inside every major exchange's client-id alphabet and length.
    return CLIENT_ID_PREFIX + secrets.token_hex(11)


def is_ours(client_order_id: str | None) -> bool:
    """Whether a client id has the form of those this bot gives its orders."""
    return client_order_id is not None and _OURS.fullmatch(client_order_id) is not None


ENDED = (OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.FAILED)


@dataclass(frozen=True, slots=True)
class Applied:
    """What one change to an order's row did, so the trader can tell the user once."""

    order: Order
    before: OrderStatus
    after: OrderStatus
    filled_before: float
    filled_after: float

    @property
    def newly_filled(self) -> bool:
        return self.after == OrderStatus.FILLED and self.before != OrderStatus.FILLED

    @property
    def newly_ended(self) -> bool:
        """Cancelled, rejected or failed by this change: the order will not fill (further)."""
        return self.after in ENDED and self.before != self.after

    @property
    def fill_grew(self) -> bool:
        return self.filled_after > self.filled_before


@dataclass(frozen=True, slots=True)
class Placed:
    """The exchange took the order; `change` is what its answer changed (it may have filled,
    or ended at once, as an expired market order does)."""

    change: Applied


@dataclass(frozen=True, slots=True)
class Refused:
    """The exchange refused the order, or confirmed it never arrived: the row is marked
    REJECTED or FAILED (`change`), and it is never sent again."""

    change: Applied
    reason: str


@dataclass(frozen=True, slots=True)
class Unknown:
    """No answer: the row stays PENDING_SUBMIT, resolved later by looking up its client id."""

    order: Order


Submitted = Placed | Refused | Unknown


def status_of(snapshot: OrderSnapshot) -> OrderStatus:
    if snapshot.status == "closed":
        return OrderStatus.FILLED
    if snapshot.status == "rejected":
        return OrderStatus.REJECTED
    if snapshot.status in ("canceled", "expired"):
        return OrderStatus.CANCELED
    return OrderStatus.PARTIALLY_FILLED if snapshot.filled > 0 else OrderStatus.OPEN


def record_intent(store: Store, trade: Trade, side: Side, order_type: OrderType, amount: float,
                  price: float, tag: str | None, clock: Clock, *,
                  client_order_id: str | None = None, order_date: datetime | None = None) -> Order:
    """Write the order row before anything is sent. The caller commits (with the trade).
    An adopted order (engine/adopt.py) keeps the client id and date it has on the exchange."""
    return store.add(Order(
        trade=trade, client_order_id=client_order_id or new_client_order_id(),
        ft_order_side=OrderSide.BUY if side == "buy" else OrderSide.SELL,
        ft_pair=trade.pair, ft_amount=amount, ft_price=price, ft_order_tag=tag,
        status=OrderStatus.PENDING_SUBMIT, order_type=order_type, side=side, price=price,
        amount=amount, remaining=amount, order_date=order_date or clock.now(),
    ))  # fmt: skip


class OrderManager:
    def __init__(self, exchange: Exchange, clock: Clock, store: Store, *,
                 unknown_fee_rate: float | None = None) -> None:
        self._exchange = exchange
        self._clock = clock
        self._store = store
        self.unknown_fee_rate = unknown_fee_rate  # exchange.unknown_fee_rate; reload sets it
        # Client order id -> when an acknowledged open order was first not found.
        self._missing: dict[str, datetime] = {}

    async def submit(self, order: Order, time_in_force: TimeInForce = "GTC") -> Submitted:
        """Send a committed intent and record what the exchange answered. A market buy
        carries its stake as the quote to spend, for an exchange that sizes it so.

        Outages (TemporaryError, FatalExchangeError) still end the iteration: the intent stays
        PENDING_SUBMIT and is resolved by client id, as an unknown one is.
        """
        request = OrderRequest(
            pair=order.ft_pair, side=cast(Side, order.side),
            order_type=cast(OrderType, order.order_type),
            amount=order.amount, price=order.price, client_order_id=order.client_order_id,
            stop_price=order.stop_price,
            time_in_force=time_in_force,
            cost=order.amount * order.price if (order.side, order.order_type) == ("buy", "market")
            else None,
        )  # fmt: skip
        try:
            snapshot = await self._exchange.create_order(request)
        except OrderStateUnknown:
            logger.warning("order %s: outcome unknown, will look it up by client id",
                           order.client_order_id)
            return Unknown(order)
        except (OrderRejected, OrderNotPlaced) as exc:
            status = OrderStatus.REJECTED if isinstance(exc, OrderRejected) else OrderStatus.FAILED
            return Refused(self._fail(order, status, str(exc)), str(exc))
        return Placed(self.apply(order, snapshot))

    def _fail(self, order: Order, status: OrderStatus, reason: str) -> Applied:
        before = order.order_status
        order.transition(status)
        order.ft_cancel_reason = reason[:250]
        order.remaining = 0.0
        order.order_update_date = self._clock.now()
        with self._store.transaction():
            self._store.write(order)
            if status == OrderStatus.FAILED:
                # "Never reached" can still be wrong (a request stuck in the exchange's
                # gateway): reconciliation looks it up again (engine/adopt.py).
                self._store.remember_unplaced(order, order.order_update_date)
        logger.info("trade=%s pair=%s client_id=%s order %s: %s", order.trade_id, order.ft_pair,
                    order.client_order_id, status.value, reason)
        return Applied(order, before, status, order.filled, order.filled)

    def apply(self, order: Order, snapshot: OrderSnapshot) -> Applied:
        """Overwrite the order with the exchange's cumulative values; recompute its trade."""
        before, filled_before = order.order_status, order.filled
        target = status_of(snapshot)
        try:
            order.transition(target)
        except InvalidTransition:
            logger.exception("refusing an exchange snapshot for order %s", order.client_order_id)
            return Applied(order, before, before, filled_before, filled_before)
        order.order_id = snapshot.order_id
        order.amount = snapshot.amount
        order.filled = snapshot.filled
        order.remaining = snapshot.remaining
        order.average = snapshot.average
        order.cost = snapshot.cost
        order.fee_cost = snapshot.fee_cost
        order.fee_currency = snapshot.fee_currency
        order.order_update_date = snapshot.last_update or self._clock.now()
        if snapshot.price is not None:
            order.price = snapshot.price
        if target == OrderStatus.FILLED and order.order_filled_date is None:
            order.order_filled_date = snapshot.last_update or self._clock.now()
        trade = self._store.trade_of(order)
        if order.is_entry and snapshot.fee_currency == trade.base_currency:
            # Paid out of the coins bought (Binance without BNB): the position is what arrived.
            order.fee_base = snapshot.fee_cost or 0.0
        with self._store.transaction():
            self._store.write(order)
            _update_fee_rate(trade, order, self.unknown_fee_rate)
            trade.recalc_from_orders(self._store.filled_orders(trade))
            self._store.write(trade)
        return Applied(order, before, target, filled_before, order.filled)

    def adopt(self, order: Order, snapshot: OrderSnapshot) -> Applied:
        """Apply the snapshot of an order the exchange holds after all, to a row marked failed
        (or a new intent row): the exchange's word is proof that the request reached it."""
        if order.order_status == OrderStatus.FAILED:
            order.status = OrderStatus.PENDING_SUBMIT.value
            order.ft_cancel_reason = None
        return self.apply(order, snapshot)

    async def refresh(self, order: Order) -> Applied | None:
        """Fetch the order's current state and apply it. Unknown intents resolve here too."""
        try:
            snapshot = await self._exchange.fetch_order(
                order.ft_pair, order_id=order.order_id, client_order_id=order.client_order_id
            )
        except OrderNotFound:
            return self._not_found(order)
        self._missing.pop(order.client_order_id, None)
        return self.apply(order, snapshot)

    def _not_found(self, order: Order) -> Applied | None:
        if order.order_status == OrderStatus.PENDING_SUBMIT:
            # Never reached the exchange: it is failed, and it is never sent again.
            return self._fail(order, OrderStatus.FAILED, "not found on the exchange after submit")
        if not order.is_open:
            return None
        # The exchange took this order: "not found" is its glitch until it lasts, and taking
        # it for cancelled would lose any fill it has.
        first = self._missing.setdefault(order.client_order_id, self._clock.now())
        if self._clock.now() - first < NOT_FOUND_GRACE:
            raise TemporaryError(f"order {order.order_id} ({order.ft_pair}) not found on "
                                 f"the exchange since {first:%H:%M} UTC")
        self._missing.pop(order.client_order_id, None)
        return self._fail(order, OrderStatus.CANCELED, "cancelled on exchange")

    async def cancel(self, order: Order, reason: str) -> Applied | None:
        """Ask the exchange to cancel, then apply what it reports (a fill may have won)."""
        if order.order_id is None:
            return await self.refresh(order)
        try:
            applied = await self._cancel_or_look_up(order, order.order_id)
        except (TemporaryError, OrderStateUnknown) as exc:
            # Cancelling twice is harmless: the next iteration asks again or sees it gone.
            logger.warning("order %s: cancel not confirmed (%s), will retry",
                           order.client_order_id, exc)
            return None
        if applied is not None and applied.order.is_open:
            # The exchange still reports it open: ask again next iteration rather than guess.
            return applied
        order.ft_cancel_reason = reason
        self._store.write(order)
        return applied

    async def _cancel_or_look_up(self, order: Order, order_id: str) -> Applied | None:
        try:
            snapshot = await self._exchange.cancel_order(order.ft_pair, order_id)
        except OrderNotFound:
            return await self.refresh(order)
        return self.apply(order, snapshot)


def _update_fee_rate(trade: Trade, order: Order, unknown_fee_rate: float | None) -> None:
    """Record the real fee rate once a side has filled: paid in the quote coin, or in a third
    coin (BNB) valued at `unknown_fee_rate` stake per coin, Freqtrade's setting for a fee coin
    it cannot price. Without that setting the configured rate stays."""
    if not order.fee_cost or not order.cost:
        return
    fee_cost = order.fee_cost
    if order.fee_currency != trade.stake_currency:
        if unknown_fee_rate is None or order.fee_currency in (None, trade.base_currency):
            return
        fee_cost = order.fee_cost * unknown_fee_rate
    rate = fee_cost / order.cost
    current = trade.fee_open if order.is_entry else trade.fee_close
    if math.isclose(rate, current, rel_tol=1e-6):
        # Keep the configured rate: fee/cost rounding noise must not move profit decisions.
        rate = current
    if order.is_entry:
        trade.fee_open = rate
        trade.fee_open_cost = fee_cost
    else:
        trade.fee_close = rate
        trade.fee_close_cost = fee_cost
