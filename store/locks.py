"""Pair locks: a pair (or "*" for every pair) may not be entered until a time.

Every iteration asks which locks are active, and locks change only through here: the active
ones are read once and kept, with the time they were read at. A later time only lets some
expire (they are let go, and the time kept moves on); an earlier one (a clock set back)
reads them again. A lock written here joins the
kept ones; a removal, or a failed write, makes the next question read them again.
"""

from __future__ import annotations

from bisect import insort
from datetime import datetime

from store.models import PairLock
from store.rows import Table


def _order(lock: PairLock) -> tuple[datetime, int]:
    return lock.lock_end_time, lock.id


class Locks:
    def __init__(self, table: Table[PairLock]) -> None:
        self._table = table
        self._read_at: datetime | None = None
        self._kept: list[PairLock] = []  # by end, then id

    def forget(self) -> None:
        self._read_at = None

    def add(self, pair: str, until: datetime, reason: str, now: datetime) -> PairLock:
        lock = PairLock(pair=pair, side="*", reason=reason, lock_time=now, lock_end_time=until,
                        active=True)
        try:
            self._table.insert(lock)
        except BaseException:
            self.forget()
            raise
        if self._read_at is not None:
            insort(self._kept, lock, key=_order)
        return lock

    def active(self, now: datetime) -> list[PairLock]:
        """Locks in force at `now` (their end strictly after it), soonest end first."""
        if self._read_at is None or now < self._read_at:
            self._kept = self._table.read(
                PairLock.select().where(PairLock.active == True,  # noqa: E712
                                        PairLock.lock_end_time > now)
                .order_by(PairLock.lock_end_time, PairLock.id))
        else:
            self._kept = [lock for lock in self._kept if lock.lock_end_time > now]
        self._read_at = now
        return list(self._kept)

    def remove(self, target: str, now: datetime) -> int:
        """Deactivate the active locks of a pair, or the one lock with this numeric id."""
        query = PairLock.update(active=False).where(PairLock.active == True,  # noqa: E712
                                                    PairLock.lock_end_time > now)
        if target.isdigit():
            query = query.where(PairLock.id == int(target))
        else:
            query = query.where(PairLock.pair == target)
        self._table.flush()
        try:
            with self._table.database.atomic():
                return int(query.execute(self._table.database))
        finally:
            self.forget()
