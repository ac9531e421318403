"""Pair locks as the engine asks for them every iteration: kept between reads, and never
stale after a lock is written, removed, or the clock moves either way."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from engine.locks import active_locks, lock_pair, locked_pairs, unlock
from store import schema

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def database() -> Iterator[None]:
    schema.init_db("sqlite:///:memory:")
    yield
    schema.close_db()


def test_a_lock_holds_until_its_end_and_an_unlock_frees_the_pair_at_once() -> None:
    assert locked_pairs(NOW) == set()
    lock_pair("ETH/BTC", NOW + 10 * MINUTE, "Auto lock", NOW)
    lock_pair("*", NOW + 5 * MINUTE, "Guard", NOW)
    assert locked_pairs(NOW) == {"ETH/BTC", "*"}
    assert locked_pairs(NOW + 5 * MINUTE) == {"ETH/BTC"}
    assert unlock("ETH/BTC", NOW + 6 * MINUTE) == 1
    assert locked_pairs(NOW + 6 * MINUTE) == set()


def test_the_clock_going_back_sees_locks_that_had_expired_again() -> None:
    lock_pair("ETH/BTC", NOW + 10 * MINUTE, "Auto lock", NOW)
    assert locked_pairs(NOW + 20 * MINUTE) == set()
    assert locked_pairs(NOW + 5 * MINUTE) == {"ETH/BTC"}


def test_another_database_has_its_own_locks() -> None:
    lock_pair("ETH/BTC", NOW + 10 * MINUTE, "Auto lock", NOW)
    assert [lock.pair for lock in active_locks(NOW)] == ["ETH/BTC"]
    schema.init_db("sqlite:///:memory:")
    assert active_locks(NOW) == []
