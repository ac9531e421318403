"""Pair locks as the engine asks for them every iteration: kept between reads, and never
stale after a lock is written, removed, or the clock moves either way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from store import schema
from store.models import PairLock
from store.store import Store

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_a_lock_holds_until_its_end_and_an_unlock_frees_the_pair_at_once(store: Store) -> None:
    assert store.locked_pairs(NOW) == set()
    store.lock_pair("ETH/BTC", NOW + 10 * MINUTE, "Auto lock", NOW)
    store.lock_pair("*", NOW + 5 * MINUTE, "Guard", NOW)
    assert store.locked_pairs(NOW) == {"ETH/BTC", "*"}
    assert store.locked_pairs(NOW + 5 * MINUTE) == {"ETH/BTC"}
    assert store.unlock("ETH/BTC", NOW + 6 * MINUTE) == 1
    assert store.locked_pairs(NOW + 6 * MINUTE) == set()


def test_the_clock_going_back_sees_locks_that_had_expired_again(store: Store) -> None:
    store.lock_pair("ETH/BTC", NOW + 10 * MINUTE, "Auto lock", NOW)
    assert store.locked_pairs(NOW + 20 * MINUTE) == set()
    assert store.locked_pairs(NOW + 5 * MINUTE) == {"ETH/BTC"}


def test_active_locks_come_soonest_end_first_and_expire_as_the_clock_moves(
        store: Store) -> None:
    store.lock_pair("LTC/BTC", NOW + 30 * MINUTE, "Auto lock", NOW)
    store.lock_pair("ETH/BTC", NOW + 5 * MINUTE, "Auto lock", NOW)
    assert [lock.pair for lock in store.active_locks(NOW)] == ["ETH/BTC", "LTC/BTC"]
    store.lock_pair("XLM/BTC", NOW + 20 * MINUTE, "Guard", NOW)  # joins the kept ones
    assert [lock.pair for lock in store.active_locks(NOW + 10 * MINUTE)] == [
        "XLM/BTC", "LTC/BTC"]
    assert store.active_locks(NOW + timedelta(hours=1)) == []
    store.forget()  # and the database says the same
    assert [lock.pair for lock in store.active_locks(NOW)] == ["ETH/BTC", "XLM/BTC", "LTC/BTC"]


def test_a_lock_is_removed_by_its_id_and_only_while_it_is_active(store: Store) -> None:
    first = store.lock_pair("ETH/BTC", NOW + 10 * MINUTE, "Auto lock", NOW)
    store.lock_pair("ETH/BTC", NOW + 20 * MINUTE, "Guard", NOW)
    assert store.unlock(str(first.id), NOW) == 1
    assert store.unlock(str(first.id), NOW) == 0
    assert [lock.reason for lock in store.active_locks(NOW)] == ["Guard"]
    assert [lock.active for lock in PairLock.select().order_by(PairLock.id)] == [False, True]


def test_another_database_has_its_own_locks(store: Store) -> None:
    store.lock_pair("ETH/BTC", NOW + 10 * MINUTE, "Auto lock", NOW)
    assert [lock.pair for lock in store.active_locks(NOW)] == ["ETH/BTC"]
    assert Store(schema.init_db("sqlite:///:memory:")).active_locks(NOW) == []
