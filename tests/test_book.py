"""The book of trades in play: after any sequence of writes, failed ones included, what it
hands out is what the database holds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import peewee
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store import book, models, schema
from store.models import Order, OrderStatus, Trade

T0 = datetime(2018, 1, 10, 8, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def memory_db() -> Iterator[None]:
    schema.init_db("sqlite:///:memory:")
    yield
    schema.close_db()


def new_trade(pair: str = "ADA/BTC") -> Trade:
    return Trade.create(exchange="paper", pair=pair, base_currency=pair.split("/")[0],
                        stake_currency="BTC", strategy="S", timeframe=5, open_date=T0,
                        open_rate=1.0)


def new_order(trade: Trade, status: OrderStatus, n: list[int] = [0]) -> Order:  # noqa: B006
    n[0] += 1
    return Order.create(trade=trade, client_order_id=f"c{n[0]}", ft_order_side="buy",
                        ft_pair=trade.pair, ft_amount=1.0, ft_price=1.0, status=status,
                        order_type="limit", side="buy", price=1.0, amount=1.0, order_date=T0)


def rows(found: list[Any]) -> list[tuple[int, dict[str, Any]]]:
    return [(r.id, dict(r.__data__)) for r in found]


def _cut_transaction(work: Callable[[], object]) -> None:
    """Run `work` in a transaction that then fails, so it is rolled back."""
    with book.write():
        work()
        raise RuntimeError("cut")


def assert_book_is_the_database() -> None:
    assert rows(book.open_trades()) == rows(models.open_trades())
    assert rows(book.open_orders()) == rows(models.open_orders())
    for trade in Trade.select():
        assert rows(book.orders_of(trade.id)) == rows(models.orders_of(trade.id))
        kept = book.trade_by_id(trade.id)
        stored = models.trade_by_id(trade.id)
        assert kept is not None
        assert stored is not None
        assert kept.__data__ == stored.__data__


def test_reads_hand_out_one_object_per_trade_and_its_orders_point_to_it() -> None:
    trade = new_trade()
    new_order(trade, OrderStatus.OPEN)
    book.BOOK.forget()
    kept = book.open_trades()[0]
    assert book.trade_by_id(trade.id) is kept
    assert book.open_orders()[0].trade is kept


def test_a_save_from_another_object_is_seen_by_the_next_read() -> None:
    trade = new_trade()
    kept = book.open_trades()[0]
    other = Trade.get_by_id(trade.id)
    other.stop_loss = 0.5
    other.save()
    kept.max_rate = 2.0
    kept.save()  # only what changed is written: the other object's stop stays
    assert (book.open_trades()[0].stop_loss, book.open_trades()[0].max_rate) == (0.5, 2.0)
    assert_book_is_the_database()


def test_a_rolled_back_transaction_leaves_what_the_database_holds() -> None:
    new_trade()
    kept = book.open_trades()[0]
    with pytest.raises(RuntimeError):
        _cut_transaction(lambda: setattr(kept, "stop_loss", 0.5) or kept.save())
    assert book.open_trades()[0].stop_loss == 0.0
    assert_book_is_the_database()


def test_a_failed_save_leaves_what_the_database_holds() -> None:
    new_trade()
    kept = book.open_trades()[0]
    kept.stop_loss = 0.5
    kept.pair = None  # NOT NULL: the save fails after the object changed
    with pytest.raises(peewee.IntegrityError):
        kept.save()
    assert (book.open_trades()[0].pair, book.open_trades()[0].stop_loss) == ("ADA/BTC", 0.0)


def test_a_closed_trade_stays_while_an_order_of_it_is_open() -> None:
    trade = new_trade()
    order = new_order(trade, OrderStatus.OPEN)
    book.open_trades()
    trade.is_open = False
    trade.save()
    assert book.open_trades() == []
    assert [o.id for o in book.open_orders()] == [order.id]
    order.status = OrderStatus.CANCELED
    order.save()
    assert book.open_orders() == []
    assert_book_is_the_database()


def test_another_database_is_read_afresh() -> None:
    new_trade()
    assert len(book.open_trades()) == 1
    schema.init_db("sqlite:///:memory:")
    assert book.open_trades() == []


# Operations on trade number `index` (modulo how many exist); each may run in a transaction
# that is rolled back.
OPERATIONS = st.lists(st.tuples(
    st.sampled_from(["trade", "order", "fill", "cancel", "close", "reopen", "delete", "stop",
                     "stranger", "forget"]),
    st.integers(0, 5), st.booleans()), max_size=25)


def _apply(operation: str, index: int) -> None:
    trades = list(Trade.select().order_by(Trade.id))
    if operation == "trade" or not trades:
        new_trade()
        return
    kept = book.trade_by_id(trades[index % len(trades)].id)
    assert kept is not None
    orders = book.orders_of(kept.id)
    if operation == "order":
        new_order(kept, OrderStatus.PENDING_SUBMIT)
    elif operation in ("fill", "cancel") and orders:
        order = orders[index % len(orders)]
        order.status = OrderStatus.FILLED if operation == "fill" else OrderStatus.CANCELED
        order.save()
    elif operation in ("close", "reopen"):
        kept.is_open = operation == "reopen"
        kept.save()
    elif operation == "delete":
        kept.delete_instance(recursive=True)
    elif operation == "stop":
        kept.stop_loss += 0.01
        kept.save()
    elif operation == "stranger":  # the same row through another object
        other = Trade.get_by_id(kept.id)
        other.max_rate = (other.max_rate or 0.0) + 1.0
        other.save()
    elif operation == "forget":
        book.BOOK.forget()


@settings(max_examples=150, deadline=None)
@given(OPERATIONS)
def test_after_any_writes_and_rollbacks_the_book_is_the_database(
        operations: list[tuple[str, int, bool]]) -> None:
    schema.init_db("sqlite:///:memory:")
    for operation, index, rolled_back in operations:
        if rolled_back:
            with pytest.raises(RuntimeError):
                _cut_transaction(partial(_apply, operation, index))
        else:
            _apply(operation, index)
        assert_book_is_the_database()
