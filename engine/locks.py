"""Pair locks: a pair (or "*" for every pair) may not be entered until a time.

Every iteration asks which pairs are locked, and locks change only when one is written here:
the active locks are read once and kept, with the time they were read at, until a lock is
created or removed (or another database is opened). A later time only lets some expire.
"""

from __future__ import annotations

from datetime import datetime

from store.models import PairLock, db, prepared
from store.statements import Prepared, WriteEvent, on_write


def lock_pair(pair: str, until: datetime, reason: str, now: datetime) -> PairLock:
    return PairLock.create(pair=pair, side="*", reason=reason, lock_time=now,
                           lock_end_time=until, active=True)


_ACTIVE: Prepared[PairLock] = prepared(lambda now: PairLock.select().where(
    PairLock.active, PairLock.lock_end_time > now).order_by(PairLock.lock_end_time))


class _Kept:
    def __init__(self) -> None:
        self.read_at: datetime | None = None
        self.database: object = None
        self.locks: list[PairLock] = []

    def forget(self, _row: object = None, _event: WriteEvent | None = None) -> None:
        self.read_at = None


_kept = _Kept()
on_write(PairLock, _kept.forget)


def active_locks(now: datetime) -> list[PairLock]:
    kept = _kept
    if kept.read_at is None or now < kept.read_at or kept.database is not db.obj:
        kept.locks, kept.read_at, kept.database = _ACTIVE(now), now, db.obj
    return [lock for lock in kept.locks if lock.lock_end_time > now]


def locked_pairs(now: datetime) -> set[str]:
    """Pairs that may not be entered now; contains "*" when everything is locked."""
    return {lock.pair for lock in active_locks(now)}


def unlock(target: str, now: datetime) -> int:
    """Deactivate the active locks of a pair, or one lock given by its numeric id."""
    query = PairLock.update(active=False).where(PairLock.active, PairLock.lock_end_time > now)
    if target.isdigit():
        query = query.where(PairLock.id == int(target))
    else:
        query = query.where(PairLock.pair == target)
    try:
        with db.atomic():
            return int(query.execute())
    finally:
        _kept.forget()
