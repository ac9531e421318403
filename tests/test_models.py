"""Trade maths and order bookkeeping: recomputed from orders, Freqtrade's profit formulas."""

from __future__ import annotations

import math
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import peewee
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidTransition
from store import schema
from store.models import Order, OrderStatus, Trade
from store.store import Store
from tests.factories import new_order, new_trade, order_row, trade_row

T0 = datetime(2018, 1, 10, 8, 5, tzinfo=UTC)


def fills(trade: Trade, *done: tuple[str, float, float]) -> list[Order]:
    """Filled orders of `trade`, each (side, amount, price), in that order."""
    return [order_row(trade, side, amount, price, filled=amount) for side, amount, price in done]


def test_round_trip_profit_matches_freqtrade_reference_trade() -> None:
    # First trade of the parity reference: ADA/BTC 999 @ 5.004e-05 -> 4.92e-05, fee 0.1%.
    trade = trade_row("ADA/BTC", open_date=T0)
    orders = fills(trade, ("buy", 999.0, 5.004e-05), ("sell", 999.0, 4.92e-05))
    trade.close(4.92e-05, T0 + timedelta(minutes=15), orders)
    assert trade.close_profit == -0.01875101795165744
    assert trade.amount == 0
    assert trade.is_open is False


def test_hand_computed_open_value_close_value_and_profit() -> None:
    trade = trade_row(fee_open=0.0025, fee_close=0.0025)
    trade.recalc_from_orders(fills(trade, ("buy", 2.0, 100.0)))
    assert trade.open_trade_value == pytest.approx(200.5)  # 200 + 0.25% fee
    assert trade.close_value_of(110.0) == pytest.approx(219.45)  # 220 - 0.25% fee
    assert trade.profit_abs(110.0) == pytest.approx(18.95)
    assert trade.profit_ratio(110.0) == pytest.approx(round(219.45 / 200.5 - 1, 8))


def test_partial_exit_realizes_profit_against_the_average_entry_price() -> None:
    trade = trade_row(fee_open=0.0, fee_close=0.0)
    trade.recalc_from_orders(fills(trade, ("buy", 1.0, 100.0), ("buy", 1.0, 200.0),  # avg 150
                                   ("sell", 1.0, 180.0)))
    assert trade.open_rate == pytest.approx(150.0)
    assert trade.amount == pytest.approx(1.0)
    assert trade.realized_profit == pytest.approx(30.0)
    assert trade.stake_amount == pytest.approx(150.0)


def test_orders_without_a_fill_count_for_nothing() -> None:
    trade = trade_row()
    filled = fills(trade, ("buy", 2.0, 100.0))
    trade.recalc_from_orders([*filled, order_row(trade, "buy", 5.0, 50.0),
                              order_row(trade, "sell", 2.0, 120.0)])
    once = (trade.amount, trade.open_rate, trade.stake_amount, trade.realized_profit)
    trade.recalc_from_orders(filled)
    assert (trade.amount, trade.open_rate, trade.stake_amount, trade.realized_profit) == once


amounts = st.floats(min_value=0.001, max_value=1e4, allow_nan=False)
prices = st.floats(min_value=1e-6, max_value=1e5, allow_nan=False)
fees = st.floats(min_value=0.0, max_value=0.01)


@settings(max_examples=60, deadline=None)
@given(amounts, prices, prices, fees)
def test_fees_always_reduce_profit(amount: float, entry: float, exit_: float, fee: float) -> None:
    free = trade_row(fee_open=0.0, fee_close=0.0)
    paid = trade_row(fee_open=fee, fee_close=fee)
    for trade in (free, paid):
        trade.recalc_from_orders(fills(trade, ("buy", amount, entry)))
    assert paid.profit_abs(exit_) <= free.profit_abs(exit_) + 1e-8


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(amounts, prices), min_size=1, max_size=5), st.randoms())
def test_recompute_is_idempotent_and_independent_of_entry_order(fills_: list, rnd) -> None:
    first, second = trade_row(), trade_row()
    mine = fills(first, *(("buy", amount, price) for amount, price in fills_))
    shuffled = list(fills_)
    rnd.shuffle(shuffled)
    theirs = fills(second, *(("buy", amount, price) for amount, price in shuffled))
    first.recalc_from_orders(mine)
    once = (first.amount, first.open_rate, first.stake_amount, first.open_trade_value)
    first.recalc_from_orders(mine)
    assert (first.amount, first.open_rate, first.stake_amount, first.open_trade_value) == once
    second.recalc_from_orders(theirs)
    assert math.isclose(second.amount, first.amount, rel_tol=1e-12)
    assert math.isclose(second.open_rate, first.open_rate, rel_tol=1e-12)


def test_order_status_changes_follow_the_transition_table() -> None:
    order = fills(trade_row(), ("buy", 1.0, 1.0))[0]
    order.status = OrderStatus.OPEN
    order.transition(OrderStatus.CANCELED)
    order.transition(OrderStatus.FILLED)  # a fill that raced the cancel is real
    with pytest.raises(InvalidTransition):
        order.transition(OrderStatus.PENDING_SUBMIT)


def test_client_order_ids_are_unique(store: Store) -> None:
    trade = new_trade(store)
    new_order(store, trade, client_order_id="tp1")
    with pytest.raises(peewee.IntegrityError):
        new_order(store, trade, client_order_id="tp1")


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        new_trade(store, open_date=datetime(2020, 1, 1))  # noqa: DTZ001
    assert store.open_trades() == []


def test_database_of_schema_1_is_migrated_in_place_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    store = Store(schema.init_db(f"sqlite:///{path}"))
    new_order(store, new_trade(store, "ADA/BTC"), "buy", 3.0, 2.0, filled=3.0)
    schema.close_db()
    # Rebuild the orders table as schema 1 had it: without fee_base, and no version row.
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE orders_v1 AS SELECT * FROM orders")
    columns = [r[1] for r in con.execute("PRAGMA table_info(orders)") if r[1] != "fee_base"]
    con.execute("DROP TABLE orders")
    con.execute(f"CREATE TABLE orders AS SELECT {', '.join(columns)} FROM orders_v1")  # noqa: S608
    con.execute("DROP TABLE orders_v1")
    con.execute("DELETE FROM keyvalue WHERE key = 'schema_version'")
    con.commit()
    con.close()

    store = Store(schema.init_db(f"sqlite:///{path}"))
    assert store.value("schema_version") == str(schema.SCHEMA_VERSION)
    (trade,) = store.open_trades()
    (order,) = store.orders_of(trade.id)
    assert order.filled == 3.0
    assert order.fee_base == 0.0
    assert trade.pair == "ADA/BTC"
    schema.close_db()


def test_a_database_made_before_the_hot_query_indexes_gets_them_at_start(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    schema.init_db(f"sqlite:///{path}")
    schema.close_db()
    with sqlite3.connect(path) as raw:
        for index in ("order_status", "paperorder_status", "pairlock_lock_end_time"):
            raw.execute(f'DROP INDEX "{index}"')

    schema.init_db(f"sqlite:///{path}")
    schema.close_db()

    with sqlite3.connect(path) as raw:
        plan = raw.execute("EXPLAIN QUERY PLAN SELECT * FROM orders WHERE status IN "
                           "('open', 'pending_submit')").fetchall()
        names = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE "
                                               "type = 'index'")}
    assert {"order_status", "paperorder_status", "pairlock_lock_end_time"} <= names
    assert "order_status" in " ".join(str(step[-1]) for step in plan)
