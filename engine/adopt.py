"""Orders of ours that the exchange holds but this database gave up on or never knew.

Two ways the exchange can hold an order of ours that the database does not follow:

- a create marked failed ("never reached the exchange") that the exchange executed after all,
  as a request stuck in its gateway can be: the store remembers every failed order
  (`Store.remember_unplaced`) and each reconciliation looks it up by client id, for a day;
- an open order with our client-id form that this database does not know (a database
  restored from a backup, or a second copy of the bot on the same account).

An entry becomes an open trade with the fields the engine gives one it opens itself (stake and
fees from the order, the stop from the strategy's stoploss, the open date from the exchange),
so the stoploss and ROI protect it from the next iteration on. An order whose row is still
there (an exit, or an entry whose trade survived) is attached to its trade when that is open
and has no other order open. Anything else is reported to the owner once and never touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import cast

from core.errors import (
    ExchangeError,
    FatalExchangeError,
    OrderNotFound,
    OrderRejected,
    TemporaryError,
)
from engine import events
from engine.orders import is_ours, record_intent
from engine.trader import Trader
from store.models import Order, OrderStatus
from store.store import Store
from venues.exchange import OrderSnapshot, OrderType

logger = logging.getLogger(__name__)

# How long a failed order is looked up again. Binance drops a request after its recvWindow
# (seconds); a day also covers a bot that was down when the order executed.
ADOPT_HORIZON = timedelta(days=1)


@dataclass
class Adoption:
    adopted: list[str] = field(default_factory=list)  # "PAIR side client-id -> trade #N"
    refused: list[str] = field(default_factory=list)  # ours, but not safe to adopt
    foreign: list[str] = field(default_factory=list)  # open orders that are not ours


async def adopt_orders(trader: Trader, store: Store, pairs: list[str]) -> Adoption:
    """Look the remembered failed orders up, then the open orders of `pairs`; adopt ours."""
    found = Adoption()
    now = trader.clock.now()
    remembered = store.unplaced()
    store.forget_unplaced(u.client_order_id for u in remembered
                          if now - u.failed_at > ADOPT_HORIZON)
    settled: list[str] = []
    for unplaced in remembered:
        if now - unplaced.failed_at > ADOPT_HORIZON:
            continue
        try:
            snapshot = await trader.exchange.fetch_order(
                unplaced.pair, client_order_id=unplaced.client_order_id)
        except OrderNotFound:
            continue
        except ExchangeError as exc:
            logger.warning("reconcile: cannot look up failed order %s: %s",
                           unplaced.client_order_id, exc)
            continue
        _adopt(trader, store, snapshot, unplaced.tag, found)
        settled.append(unplaced.client_order_id)
    store.forget_unplaced(settled)
    await _open_orders(trader, store, pairs, found)
    return found


async def _listed(trader: Trader, pairs: list[str]) -> list[OrderSnapshot]:
    """The open orders of `pairs`: one request for all where the exchange serves it, else one
    per pair; an outage skips the look, as reconciliation goes on without it."""
    try:
        every = await trader.exchange.fetch_open_orders()
        wanted = set(pairs)
        return [order for order in every if order.pair in wanted]
    except (TemporaryError, FatalExchangeError) as exc:
        logger.warning("reconcile: cannot list open orders: %s", exc)
        return []
    except ExchangeError:
        pass
    listed: list[OrderSnapshot] = []
    for pair in pairs:
        try:
            listed += await trader.exchange.fetch_open_orders(pair)
        except ExchangeError as exc:
            logger.warning("reconcile: cannot list open orders of %s: %s", pair, exc)
    return listed


async def _open_orders(trader: Trader, store: Store, pairs: list[str], found: Adoption) -> None:
    known_ids, known_client_ids = store.exchange_order_ids(), store.client_order_ids()
    for snapshot in await _listed(trader, pairs):
        if snapshot.order_id in known_ids or snapshot.client_order_id in known_client_ids:
            continue
        if is_ours(snapshot.client_order_id):
            _adopt(trader, store, snapshot, None, found)
            continue
        found.foreign.append(f"{snapshot.pair} {snapshot.order_id}")
        logger.warning("reconcile: open order %s %s on the exchange is not in this "
                       "database", snapshot.pair, snapshot.order_id)


def _adopt(trader: Trader, store: Store, snapshot: OrderSnapshot, tag: str | None,
           found: Adoption) -> None:
    cid = cast(str, snapshot.client_order_id)
    if snapshot.filled <= 0 and not snapshot.is_open:
        logger.info("reconcile: order %s is on the exchange but ended with nothing filled", cid)
        return
    row = store.order_by_client_id(cid)
    if row is None and snapshot.side == "buy":
        reason = _new_trade(trader, store, snapshot, tag, found)
    elif row is None:
        reason = "an exit whose trade this database does not have"
    else:
        reason = _attach(trader, store, snapshot, row, found)
    if reason is None:
        return
    found.refused.append(f"{snapshot.pair} {snapshot.order_id}")
    text = (f"{snapshot.pair}: the exchange holds order {snapshot.order_id} ({snapshot.side}, "
            f"client id {cid}) of this bot that cannot be adopted: {reason}. Left as it is.")
    if trader.log_once.warning(("not-adopted", cid), "%s", text):
        trader.notifier.notify(events.WarningNotice(text))


def _new_trade(trader: Trader, store: Store, snapshot: OrderSnapshot, tag: str | None,
               found: Adoption) -> str | None:
    price = snapshot.average or snapshot.price
    if not price:
        return "the exchange gives no price for it"
    order_type = cast(OrderType, snapshot.order_type)
    try:
        with store.transaction():
            trade = trader.add_trade(snapshot.pair, price, snapshot.amount, order_type, tag,
                                     snapshot.timestamp)
            order = record_intent(store, trade, "buy", order_type, snapshot.amount, price, tag,
                                  trader.clock, client_order_id=snapshot.client_order_id,
                                  order_date=snapshot.timestamp)
    except OrderRejected as exc:
        return str(exc)
    _adopted(trader, snapshot, trade.id, found)
    trader.react(trader.orders.adopt(order, snapshot))
    return None


def _attach(trader: Trader, store: Store, snapshot: OrderSnapshot, row: Order,
            found: Adoption) -> str | None:
    trade = store.trade(row.trade_id)
    if row.order_status != OrderStatus.FAILED:
        return f"its order row is {row.status}, not failed"
    if trade is None or not trade.is_open:
        return "its trade is closed"
    if store.open_orders_of(trade):
        return f"trade #{trade.id} has another order open"
    # The kept objects, so that the store follows the change.
    row = next(o for o in store.orders_of(trade.id) if o.client_order_id == row.client_order_id)
    if not row.is_entry:
        trade.exit_reason = row.ft_order_tag
    _adopted(trader, snapshot, trade.id, found)
    trader.react(trader.orders.adopt(row, snapshot))
    return None


def _adopted(trader: Trader, snapshot: OrderSnapshot, trade_id: int, found: Adoption) -> None:
    cid = snapshot.client_order_id
    found.adopted.append(f"{snapshot.pair} {snapshot.side} {cid} -> trade #{trade_id}")
    logger.warning("trade=%s pair=%s client_id=%s: %s order of ours found on the exchange, "
                   "given up on or unknown; adopted", trade_id, snapshot.pair, cid, snapshot.side)
    trader.notifier.notify(events.WarningNotice(
        f"{snapshot.pair}: the exchange holds a {snapshot.side} order of this bot "
        f"({cid}, {snapshot.filled:.8g} of {snapshot.amount:.8g} filled) that it had given up "
        f"on or did not know; adopted into trade #{trade_id}, managed from now on."))
