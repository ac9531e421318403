"""Statements compiled once must read and write exactly what peewee's own would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from engine.locks import active_locks, lock_pair
from store import models, schema
from store.models import Order, Trade, prepared

NOW = datetime(2018, 1, 11, 6, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def database() -> Iterator[None]:
    schema.init_db("sqlite:///:memory:")
    yield
    schema.close_db()


def _trade(pair: str = "ETH/BTC") -> Trade:
    return Trade.create(exchange="binance", pair=pair, base_currency=pair.split("/")[0],
                        stake_currency="BTC", strategy="S", timeframe=5, open_date=NOW,
                        open_rate=0.1, amount_requested=1.0)


def _columns(trade_id: int) -> dict[str, object]:
    # peewee's own query, not the compiled path, is the reference.
    return Trade.select().where(Trade.id == trade_id).dicts().get()


def test_a_created_and_updated_trade_reads_back_column_for_column() -> None:
    trade = _trade()
    trade.stop_loss, trade.max_rate, trade.close_date = 0.095, 0.11, NOW + timedelta(hours=1)
    trade.exit_reason, trade.is_open = "roi", False
    trade.save()

    stored = _columns(trade.id)
    assert stored["stop_loss"] == 0.095
    assert stored["max_rate"] == 0.11
    assert stored["close_date"] == NOW + timedelta(hours=1)
    assert stored["exit_reason"] == "roi"
    assert stored["is_open"] is False
    assert stored["enter_tag"] is None
    assert stored["open_date"] == NOW
    assert models.trade_by_id(trade.id).__data__ == trade.__data__


def test_a_row_loaded_with_some_columns_saves_only_those() -> None:
    trade = _trade()
    trade.stop_loss = 0.09
    trade.save()
    partial = Trade.select(Trade.id, Trade.pair).where(Trade.id == trade.id).get()
    partial.pair = "LTC/BTC"
    partial.save()

    stored = _columns(trade.id)
    assert stored["pair"] == "LTC/BTC"
    assert stored["stop_loss"] == 0.09


def test_orders_get_their_own_ids_and_are_found_by_their_trade() -> None:
    first, second = _trade(), _trade("LTC/BTC")
    made = [Order.create(trade=t, client_order_id=f"c{i}", ft_order_side="buy", ft_pair=t.pair,
                         ft_amount=1.0, ft_price=0.1, order_type="limit", side="buy",
                         price=0.1, amount=1.0, order_date=NOW)
            for i, t in enumerate([first, second, first])]

    assert [o.id for o in models.orders_of(first.id)] == [made[0].id, made[2].id]
    assert [o.client_order_id for o in models.orders_of(second.id)] == ["c1"]
    assert [o.id for o in models.open_orders()] == [o.id for o in made]
    assert models.orders_of(first.id)[0].trade.pair == "ETH/BTC"


def test_a_prepared_query_runs_with_new_values_and_compares_datetimes_as_stored() -> None:
    lock_pair("ETH/BTC", NOW + timedelta(minutes=5), "Auto lock", NOW)
    lock_pair("LTC/BTC", NOW + timedelta(minutes=30), "Auto lock", NOW)

    assert [lock.pair for lock in active_locks(NOW)] == ["ETH/BTC", "LTC/BTC"]
    assert [lock.pair for lock in active_locks(NOW + timedelta(minutes=10))] == ["LTC/BTC"]
    assert active_locks(NOW + timedelta(hours=1)) == []


def test_a_prepared_query_refuses_values_that_are_not_its_last_parameters() -> None:
    query = prepared(lambda pair: Trade.select().where(Trade.pair == pair, Trade.amount > 1))

    with pytest.raises(ValueError, match="not its last parameters"):
        query("ETH/BTC")


def test_an_update_writes_only_what_changed_so_two_objects_of_a_row_keep_both_changes() -> None:
    trade = _trade()
    other = Trade.get_by_id(trade.id)
    trade.stop_loss = 0.09
    trade.save()
    other.max_rate = 0.2
    other.save()  # a whole-row update would put the stop back to 0

    stored = _columns(trade.id)
    assert (stored["stop_loss"], stored["max_rate"]) == (0.09, 0.2)


def test_a_save_with_nothing_changed_sends_no_statement() -> None:
    trade = _trade()
    sent: list[str] = []
    models.db.connection().set_trace_callback(sent.append)
    trade.save()
    trade.stop_loss = 0.09
    trade.save()
    models.db.connection().set_trace_callback(None)
    assert len(sent) == 1
    assert sent[0].startswith('UPDATE "trades" SET "stop_loss" = 0.09 WHERE')
