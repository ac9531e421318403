"""Statements compiled once must read and write exactly what peewee's own would, and an
update writes only what changed since the store last read or wrote the object."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from store.models import Order, Trade
from store.store import Store
from tests.factories import new_order, new_trade

NOW = datetime(2018, 1, 11, 6, 0, tzinfo=UTC)


def _columns(trade_id: int) -> dict[str, object]:
    # peewee's own query, not the compiled path, is the reference.
    return Trade.select().where(Trade.id == trade_id).dicts().get()


def _traced(store: Store, work: object) -> list[tuple[str, Any]]:
    """The SQL statements `work()` sent, with their parameters."""
    sent: list[tuple[str, Any]] = []
    hooks = Trade._meta.database.query_hooks  # peewee's, on SQLite and PostgreSQL alike

    def hook(event: Any) -> None:
        sent.append((event.sql, event.params))

    hooks.append(hook)
    try:
        work()  # type: ignore[operator]
    finally:
        hooks.remove(hook)
    return sent


def test_a_created_and_updated_trade_reads_back_column_for_column(store: Store) -> None:
    trade = new_trade(store, open_date=NOW, amount_requested=1.0)
    trade.stop_loss, trade.max_rate, trade.close_date = 0.095, 0.11, NOW + timedelta(hours=1)
    trade.exit_reason, trade.is_open = "roi", False
    store.write(trade)

    stored = _columns(trade.id)
    assert stored["stop_loss"] == 0.095
    assert stored["max_rate"] == 0.11
    assert stored["close_date"] == NOW + timedelta(hours=1)
    assert stored["exit_reason"] == "roi"
    assert stored["is_open"] is False
    assert stored["enter_tag"] is None
    assert stored["open_date"] == NOW
    assert stored["amount_requested"] == 1.0
    store.forget()
    again = store.trade(trade.id)
    assert again is not None
    assert {name: getattr(again, name) for name in stored} == stored


def test_orders_get_their_own_ids_and_are_found_by_their_trade(store: Store) -> None:
    first, second = new_trade(store), new_trade(store, "LTC/BTC")
    made = [new_order(store, t) for t in [first, second, first]]
    store.forget()

    assert [o.id for o in store.orders_of(first.id)] == [made[0].id, made[2].id]
    assert [o.client_order_id for o in store.orders_of(second.id)] == [made[1].client_order_id]
    assert [o.id for o in store.open_orders()] == [o.id for o in made]
    assert store.trade_of(store.orders_of(first.id)[0]).pair == "ETH/BTC"
    assert Order.get_by_id(made[1].id).trade_id == second.id


def test_an_update_writes_only_what_changed_so_two_objects_of_a_row_keep_both_changes(
        store: Store) -> None:
    trade = new_trade(store)
    trade.is_open = False
    store.write(trade)  # no longer kept: each read below hands out a new object
    one, other = store.trade(trade.id), store.trade(trade.id)
    assert one is not None
    assert other is not None
    assert one is not other
    one.stop_loss = 0.09
    store.write(one)
    other.max_rate = 0.2
    store.write(other)  # a whole-row update would put the stop back to 0

    stored = _columns(trade.id)
    assert (stored["stop_loss"], stored["max_rate"]) == (0.09, 0.2)


def test_a_save_with_nothing_changed_sends_no_statement(store: Store) -> None:
    trade = new_trade(store)

    def work() -> None:
        store.write(trade)
        trade.stop_loss = trade.stop_loss  # the same value again is no change
        store.write(trade)
        trade.stop_loss = 0.09
        store.write(trade)

    sent = _traced(store, work)
    assert len(sent) == 1
    statement, params = sent[0]
    assert statement.startswith('UPDATE "trades" SET "stop_loss" = ')
    assert statement.count(" = ") == 2  # the one column, and the key
    assert params[0] == 0.09


def test_a_moving_stop_writes_only_its_columns(store: Store) -> None:
    trade = new_trade(store)

    def move() -> None:
        trade.stop_loss, trade.max_rate, trade.is_stop_loss_trailing = 0.099, 0.12, True
        store.write(trade)

    ((sent, _),) = _traced(store, move)
    assigned = sent.split(" SET ")[1].split(" WHERE ")[0]
    assert sorted(part.split(" = ")[0] for part in assigned.split(", ")) == [
        '"is_stop_loss_trailing"', '"max_rate"', '"stop_loss"']


def test_an_object_the_store_never_saw_is_written_whole(store: Store) -> None:
    trade = new_trade(store, stop_loss=0.09)
    stranger = Trade(**{f.name: getattr(trade, f.name) for f in Trade._meta.sorted_fields})
    stranger.max_rate = 0.2
    store.write(stranger)

    stored = _columns(trade.id)
    assert (stored["stop_loss"], stored["max_rate"]) == (0.09, 0.2)
    assert store.open_trades()[0].max_rate == 0.2  # what was kept is read again
