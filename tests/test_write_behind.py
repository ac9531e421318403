"""A backtest's Store holds its writes back (store/write_behind.py): after any sequence of
writes, reads and failed transactions, what it hands out and what its database holds are what
a Store that writes each row at once hands out and holds; live code never holds a write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store import schema
from store.models import Order, OrderStatus, PairLock, PaperOrder, Trade
from store.paper_orders import PaperOrders
from store.store import Store
from store.write_behind import WriteBehind
from tests.factories import trade_row

pytestmark = pytest.mark.sqlite_only  # the backtest's database: in-memory SQLite
T0 = datetime(2018, 1, 10, 8, 5, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent
PAIRS = ("ETH/BTC", "LTC/BTC", "XRP/BTC")


class Cut(Exception):
    """Raised inside a transaction to roll it back."""


def _pick(items: list[Any], index: int) -> Any:
    return items[index % len(items)] if items else None


def _apply(store: Store, op: tuple[Any, ...], seen: list[Any], serial: list[int]) -> None:
    kind = op[0]
    trades = store.open_trades()
    if kind == "trade":
        serial[0] += 1
        store.add(trade_row(PAIRS[op[1]], open_date=T0 + timedelta(minutes=serial[0])))
    elif kind == "order" and trades:
        trade = _pick(trades, op[1])
        serial[0] += 1
        store.add(Order(trade=trade, client_order_id=f"c{serial[0]}", ft_order_side="buy",
                        ft_pair=trade.pair, ft_amount=1.0, ft_price=0.05,
                        status=OrderStatus.OPEN, order_type="limit", side="buy", price=0.05,
                        amount=1.0, filled=0.0, remaining=1.0, order_date=trade.open_date))
    elif kind == "move" and trades:
        trade = _pick(trades, op[1])
        trade.stop_loss, trade.max_rate = op[2], op[2] * 2
        store.write(trade)
    elif kind == "fill":
        order = _pick(store.open_orders(), op[1])
        if order is not None:
            order.transition(OrderStatus.FILLED)
            order.filled, order.remaining, order.average = order.amount, 0.0, order.price
            store.write(order)
    elif kind == "close" and trades:
        trade = _pick(trades, op[1])
        trade.is_open, trade.close_rate, trade.close_date = False, 0.06, T0
        store.write(trade)
    elif kind == "lock":
        store.lock_pair(PAIRS[op[1]], T0 + timedelta(hours=1), "test", T0)
    elif kind == "read":
        seen.append((
            [(t.id, t.stop_loss, t.max_rate) for t in store.open_trades()],
            [(o.id, o.status) for o in store.open_orders()],
            [t.id for t in store.closed_trades()],
            sorted(store.locked_pairs(T0)),
            store.entered_amounts(),
        ))
    elif kind in ("cut", "nested"):
        _transaction(store, op, seen, serial)


def _cut(store: Store, ops: list[tuple[Any, ...]], seen: list[Any], serial: list[int]) -> None:
    """`ops` in a transaction that then fails; the failure is seen."""
    try:
        with store.transaction():
            for inner in ops:
                _apply(store, inner, seen, serial)
            _fail()
    except Cut:
        seen.append("cut")


def _fail() -> None:
    raise Cut


def _transaction(store: Store, op: tuple[Any, ...], seen: list[Any], serial: list[int]) -> None:
    if op[0] == "cut":
        _cut(store, op[1], seen, serial)
        return
    with store.transaction():  # commits, around an inner transaction that fails
        for inner in op[1]:
            _apply(store, inner, seen, serial)
        _cut(store, op[2], seen, serial)


def _dump() -> dict[str, list[tuple[Any, ...]]]:
    return {model.__name__: list(model.select().order_by(model.id).tuples())
            for model in (Trade, Order, PairLock, PaperOrder)}


def _run(ops: list[tuple[Any, ...]], held_after: int | None) -> tuple[list[Any], dict]:
    database = schema.init_db("sqlite:///:memory:")
    try:
        held = None if held_after is None else WriteBehind(database, flush_after=held_after)
        store = Store(database, held)
        seen: list[Any] = []
        serial = [0]
        for op in ops:
            _apply(store, op, seen, serial)
        store.flush()
        return seen, _dump()
    finally:
        schema.close_db()


index = st.integers(0, 5)
simple = st.one_of(
    st.tuples(st.just("trade"), st.integers(0, 2)),
    st.tuples(st.just("order"), index),
    st.tuples(st.just("move"), index, st.floats(0.01, 0.05)),
    st.tuples(st.just("fill"), index),
    st.tuples(st.just("close"), index),
    st.tuples(st.just("lock"), st.integers(0, 2)),
    st.just(("read",)),
)
step = st.one_of(
    simple,
    st.tuples(st.just("cut"), st.lists(simple, max_size=6)),
    st.tuples(st.just("nested"), st.lists(simple, max_size=4), st.lists(simple, max_size=4)),
)


@pytest.mark.heavy
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(step, max_size=30), held_after=st.sampled_from([1, 3, 20_000]))
def test_held_writes_read_and_store_as_immediate_ones(ops: list[tuple[Any, ...]],
                                                       held_after: int) -> None:
    assert _run(ops, held_after) == _run(ops, None)


def test_writes_wait_until_something_reads_the_database() -> None:
    database = schema.init_db("sqlite:///:memory:")
    try:
        store = Store(database, WriteBehind(database))
        trade = store.add(trade_row("ETH/BTC"))
        trade.stop_loss = 0.04
        store.write(trade)
        assert trade.id == 1
        assert Trade.select().count() == 0
        assert [t.id for t in store.closed_trades()] == []  # a read: everything is written
        assert list(Trade.select(Trade.id, Trade.stop_loss).tuples()) == [(1, 0.04)]
    finally:
        schema.close_db()


def test_a_failed_transaction_takes_back_what_a_read_inside_it_flushed() -> None:
    database = schema.init_db("sqlite:///:memory:")
    try:
        store = Store(database, WriteBehind(database))
        kept = store.add(trade_row("ETH/BTC"))  # held, from before the transaction
        _cut(store, [("trade", 1), ("read",), ("trade", 2)], [], [0])  # the read flushes
        assert [t.pair for t in store.open_trades()] == ["ETH/BTC"]
        assert list(Trade.select(Trade.id, Trade.pair).tuples()) == [(kept.id, "ETH/BTC")]
    finally:
        schema.close_db()


def test_the_paper_exchange_rows_are_held_with_the_trades() -> None:
    database = schema.init_db("sqlite:///:memory:")
    try:
        held = WriteBehind(database)
        store = Store(database, held)
        paper = PaperOrders(database, held)
        store.add(trade_row("ETH/BTC"))
        paper.add(PaperOrder(id="p1", client_order_id="c1", pair="ETH/BTC", side="buy",
                             order_type="limit", price=0.05, amount=1.0, status="open",
                             created_at=T0, updated_at=T0))
        assert PaperOrder.select().count() == 0
        assert [row.id for row in paper.all()] == ["p1"]
        assert Trade.select().count() == 1
    finally:
        schema.close_db()


def test_only_the_backtest_holds_writes() -> None:
    """Live, dry-run and the demo write each order before sending it (the crash drills prove
    what a restart finds); only the backtest's own database may hold writes back."""
    users = sorted(str(path.relative_to(ROOT)) for folder in
                   ("bot.py", "compose.py", "engine", "venues", "handlers", "service",
                    "backtest", "hyperopt")
                   for path in ([ROOT / folder] if folder.endswith(".py")
                                else (ROOT / folder).rglob("*.py"))
                   if "WriteBehind(" in path.read_text())
    assert users == ["backtest/run.py"]
