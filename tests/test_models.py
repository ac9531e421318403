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
from store import models, schema
from store.models import Order, OrderStatus, Trade

T0 = datetime(2018, 1, 10, 8, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def memory_db() -> None:
    schema.init_db("sqlite:///:memory:")
    yield
    schema.close_db()


def new_trade(fee: float = 0.001, pair: str = "ADA/BTC") -> Trade:
    return Trade.create(exchange="paper", pair=pair, base_currency=pair.split("/")[0],
                        stake_currency="BTC", strategy="S", timeframe=5, open_date=T0,
                        open_rate=0.0, fee_open=fee, fee_close=fee)


def fill(trade: Trade, side: str, amount: float, price: float, n: list[int] = [0]) -> Order:  # noqa: B006
    n[0] += 1
    return Order.create(trade=trade, client_order_id=f"c{n[0]}", ft_order_side=side,
                        ft_pair=trade.pair, ft_amount=amount, ft_price=price,
                        status=OrderStatus.FILLED, order_type="limit", side=side, price=price,
                        amount=amount, filled=amount, remaining=0.0, average=price,
                        cost=amount * price, order_date=T0)


def test_round_trip_profit_matches_freqtrade_reference_trade() -> None:
    # First trade of the parity reference: ADA/BTC 999 @ 5.004e-05 -> 4.92e-05, fee 0.1%.
    trade = new_trade()
    fill(trade, "buy", 999.0, 5.004e-05)
    fill(trade, "sell", 999.0, 4.92e-05)
    trade.close(4.92e-05, T0 + timedelta(minutes=15))
    assert trade.close_profit == -0.01875101795165744
    assert trade.amount == 0
    assert trade.is_open is False


def test_hand_computed_open_value_close_value_and_profit() -> None:
    trade = new_trade(fee=0.0025)
    fill(trade, "buy", 2.0, 100.0)
    trade.recalc_from_orders()
    assert trade.open_trade_value == pytest.approx(200.5)  # 200 + 0.25% fee
    assert trade.close_value_of(110.0) == pytest.approx(219.45)  # 220 - 0.25% fee
    assert trade.profit_abs(110.0) == pytest.approx(18.95)
    assert trade.profit_ratio(110.0) == pytest.approx(round(219.45 / 200.5 - 1, 8))


def test_partial_exit_realizes_profit_against_the_average_entry_price() -> None:
    trade = new_trade(fee=0.0)
    fill(trade, "buy", 1.0, 100.0)
    fill(trade, "buy", 1.0, 200.0)  # average 150
    fill(trade, "sell", 1.0, 180.0)
    trade.recalc_from_orders()
    assert trade.open_rate == pytest.approx(150.0)
    assert trade.amount == pytest.approx(1.0)
    assert trade.realized_profit == pytest.approx(30.0)
    assert trade.stake_amount == pytest.approx(150.0)


amounts = st.floats(min_value=0.001, max_value=1e4, allow_nan=False)
prices = st.floats(min_value=1e-6, max_value=1e5, allow_nan=False)
fees = st.floats(min_value=0.0, max_value=0.01)


@settings(max_examples=60, deadline=None)
@given(amounts, prices, prices, fees)
def test_fees_always_reduce_profit(amount: float, entry: float, exit_: float, fee: float) -> None:
    free = new_trade(fee=0.0)
    paid = new_trade(fee=fee)
    for trade in (free, paid):
        fill(trade, "buy", amount, entry)
        trade.recalc_from_orders()
    assert paid.profit_abs(exit_) <= free.profit_abs(exit_) + 1e-8


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(amounts, prices), min_size=1, max_size=5), st.randoms())
def test_recompute_is_idempotent_and_independent_of_entry_order(fills: list, rnd) -> None:
    first, second = new_trade(), new_trade()
    for amount, price in fills:
        fill(first, "buy", amount, price)
    shuffled = list(fills)
    rnd.shuffle(shuffled)
    for amount, price in shuffled:
        fill(second, "buy", amount, price)
    first.recalc_from_orders()
    once = (first.amount, first.open_rate, first.stake_amount, first.open_trade_value)
    first.recalc_from_orders()
    assert (first.amount, first.open_rate, first.stake_amount, first.open_trade_value) == once
    second.recalc_from_orders()
    assert math.isclose(second.amount, first.amount, rel_tol=1e-12)
    assert math.isclose(second.open_rate, first.open_rate, rel_tol=1e-12)


def test_order_status_changes_follow_the_transition_table() -> None:
    trade = new_trade()
    order = fill(trade, "buy", 1.0, 1.0)
    order.status = OrderStatus.OPEN
    order.transition(OrderStatus.CANCELED)
    order.transition(OrderStatus.FILLED)  # a fill that raced the cancel is real
    with pytest.raises(InvalidTransition):
        order.transition(OrderStatus.PENDING_SUBMIT)


def test_client_order_ids_are_unique() -> None:
    trade = new_trade()
    fill(trade, "buy", 1.0, 1.0, n=[100])
    with pytest.raises(peewee.IntegrityError):
        fill(trade, "buy", 1.0, 1.0, n=[100])


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        Trade.create(exchange="x", pair="A/B", base_currency="A", stake_currency="B",
                     strategy="S", timeframe=5, open_date=datetime(2020, 1, 1),  # noqa: DTZ001
                     open_rate=1.0)


def test_database_of_schema_1_is_migrated_in_place_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    schema.init_db(f"sqlite:///{path}")
    trade = new_trade()
    fill(trade, "buy", 3.0, 2.0)
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

    schema.init_db(f"sqlite:///{path}")
    assert models.KeyValue.get_value("schema_version") == str(schema.SCHEMA_VERSION)
    order = Order.get()
    assert order.filled == 3.0
    assert order.fee_base == 0.0
    assert Trade.get().pair == "ADA/BTC"


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
