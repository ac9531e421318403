"""Pair locks: a pair (or "*" for every pair) may not be entered until a time."""

from __future__ import annotations

from datetime import datetime

from engine.statements import Prepared
from models import PairLock, db, prepared


def lock_pair(pair: str, until: datetime, reason: str, now: datetime) -> PairLock:
    with db.atomic():
        return PairLock.create(pair=pair, side="*", reason=reason, lock_time=now,
                               lock_end_time=until, active=True)


_ACTIVE: Prepared[PairLock] = prepared(lambda now: PairLock.select().where(
    PairLock.active, PairLock.lock_end_time > now).order_by(PairLock.lock_end_time))


def active_locks(now: datetime) -> list[PairLock]:
    return _ACTIVE(now)


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
    with db.atomic():
        return int(query.execute())
