"""The Store's trades in play: after any sequence of writes, failed ones included, what it
hands out is what the database holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import peewee
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store import schema
from store.models import Order, OrderStatus, Trade
from store.store import Store
from tests.factories import new_order, new_trade

T0 = datetime(2018, 1, 10, 8, 5, tzinfo=UTC)


def columns(row: peewee.Model) -> dict[str, Any]:
    """The row's values by column, as the object holds them."""
    return {f.column_name: getattr(row, f.column_name) for f in type(row)._meta.sorted_fields}


def rows(found: list[Any]) -> list[tuple[int, dict[str, Any]]]:
    return [(r.id, columns(r)) for r in found]


def stored_trades() -> list[Trade]:
    """A fresh read of every trade, not through the store."""
    return list(Trade.select().order_by(Trade.id))


def stored_orders(**where: Any) -> list[Order]:
    query = Order.select().order_by(Order.id)
    if "trade" in where:
        query = query.where(Order.trade == where["trade"])
    if where.get("open"):
        query = query.where(Order.status.in_([s.value for s in OrderStatus if s.is_open]))
    return list(query)


def _cut_transaction(store: Store, work: Callable[[], object]) -> None:
    """Run `work` in a transaction that then fails, so it is rolled back."""
    with store.transaction():
        work()
        raise RuntimeError("cut")


def assert_store_is_the_database(store: Store) -> None:
    assert rows(store.open_trades()) == rows([t for t in stored_trades() if t.is_open])
    assert rows(store.open_orders()) == rows(stored_orders(open=True))
    for trade in stored_trades():
        assert rows(store.orders_of(trade.id)) == rows(stored_orders(trade=trade.id))
        kept = store.trade(trade.id)
        assert kept is not None
        assert columns(kept) == columns(trade)


def test_reads_hand_out_one_object_per_trade_and_its_orders_point_to_it(store: Store) -> None:
    trade = new_trade(store)
    new_order(store, trade)
    store.forget()
    kept = store.open_trades()[0]
    assert store.trade(trade.id) is kept
    assert store.trade_of(store.open_orders()[0]) is kept
    assert store.open_orders()[0].trade is kept


def test_a_save_from_another_object_is_seen_by_the_next_read(store: Store) -> None:
    trade = new_trade(store)
    kept = store.open_trades()[0]
    other = Trade.get_by_id(trade.id)  # an object the store did not hand out
    other.stop_loss = 0.5
    store.write(other)
    kept.max_rate = 2.0
    store.write(kept)  # only what changed is written: the other object's stop stays
    assert (store.open_trades()[0].stop_loss, store.open_trades()[0].max_rate) == (0.5, 2.0)
    assert_store_is_the_database(store)


def test_a_rolled_back_transaction_leaves_what_the_database_holds(store: Store) -> None:
    new_trade(store)
    kept = store.open_trades()[0]
    with pytest.raises(RuntimeError):
        _cut_transaction(store, lambda: setattr(kept, "stop_loss", 0.5) or store.write(kept))
    assert store.open_trades()[0].stop_loss == 0.0
    assert_store_is_the_database(store)


def test_a_failed_save_leaves_what_the_database_holds(store: Store) -> None:
    new_trade(store, "ADA/BTC")
    kept = store.open_trades()[0]
    kept.stop_loss = 0.5
    kept.pair = None  # NOT NULL: the save fails after the object changed
    with pytest.raises(peewee.IntegrityError):
        store.write(kept)
    assert (store.open_trades()[0].pair, store.open_trades()[0].stop_loss) == ("ADA/BTC", 0.0)


def test_a_closed_trade_stays_while_an_order_of_it_is_open(store: Store) -> None:
    trade = new_trade(store)
    order = new_order(store, trade)
    store.open_trades()
    trade.is_open = False
    store.write(trade)
    assert store.open_trades() == []
    assert [o.id for o in store.open_orders()] == [order.id]
    order.status = OrderStatus.CANCELED
    store.write(order)
    assert store.open_orders() == []
    assert_store_is_the_database(store)


def test_each_database_has_its_own_store() -> None:
    first = Store(schema.init_db("sqlite:///:memory:"))
    new_trade(first)
    second = Store(schema.init_db("sqlite:///:memory:"))
    assert len(first.open_trades()) == 1
    assert second.open_trades() == []
    schema.close_db()


# Operations on trade number `index` (modulo how many exist); each may run in a transaction
# that is rolled back.
OPERATIONS = st.lists(st.tuples(
    st.sampled_from(["trade", "order", "fill", "cancel", "close", "reopen", "delete", "stop",
                     "stranger", "forget"]),
    st.integers(0, 5), st.booleans()), max_size=25)


def _apply(store: Store, operation: str, index: int) -> None:
    trades = stored_trades()
    if operation == "trade" or not trades:
        new_trade(store, "ADA/BTC")
        return
    kept = store.trade(trades[index % len(trades)].id)
    assert kept is not None
    orders = store.orders_of(kept.id)
    if operation == "order":
        new_order(store, kept, status=OrderStatus.PENDING_SUBMIT)
    elif operation in ("fill", "cancel") and orders:
        order = orders[index % len(orders)]
        order.status = OrderStatus.FILLED if operation == "fill" else OrderStatus.CANCELED
        store.write(order)
    elif operation in ("close", "reopen"):
        kept.is_open = operation == "reopen"
        store.write(kept)
    elif operation == "delete":
        store.delete_trade(kept)
    elif operation == "stop":
        kept.stop_loss += 0.01
        store.write(kept)
    elif operation == "stranger":  # the same row through an object the store did not hand out
        other = Trade.get_by_id(kept.id)
        other.max_rate = (other.max_rate or 0.0) + 1.0
        store.write(other)
    elif operation == "forget":
        store.forget()


@pytest.mark.heavy
@settings(max_examples=150, deadline=None)
@given(OPERATIONS)
def test_after_any_writes_and_rollbacks_the_store_is_the_database(
        operations: list[tuple[str, int, bool]]) -> None:
    store = Store(schema.init_db("sqlite:///:memory:"))
    try:
        for operation, index, rolled_back in operations:
            if rolled_back:
                with pytest.raises(RuntimeError):
                    _cut_transaction(store, partial(_apply, store, operation, index))
            else:
                _apply(store, operation, index)
            assert_store_is_the_database(store)
    finally:
        schema.close_db()
