"""The durable notification outbox: chat messages wait in the database until Telegram takes them.

The engine's notifier only writes rows here, so a notification never waits on the network;
the chat sender reads them oldest first and marks each one sent once it is delivered. Rows
that are not marked sent survive a restart and go out on the next run, in their order.

While the database refuses writes (locked by another process, disk full, a PostgreSQL server
down or restarting), new messages wait in memory behind the stored ones and are delivered all
the same: that is when the owner most needs
to hear from the bot. They are stored once a write succeeds again (delivered or not, so the
table stays the record of what the chat was told). A delivery that could not be
recorded is remembered in memory, so it is not sent twice (only a restart before the database
recovers could repeat it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from core.errors import StorageError
from store import models
from store.errors import storage_errors

logger = logging.getLogger(__name__)

HELD_LIMIT = 1000  # messages kept in memory while the database refuses them


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    text: str
    silent: bool


@dataclass(slots=True)
class _Held:
    id: int  # negative: not a row yet
    kind: str
    text: str
    silent: bool
    created_at: datetime
    sent_at: datetime | None = None


class Outbox:
    """Each call is its own short transaction, so a crash loses nothing already added."""

    def __init__(self) -> None:
        self._held: list[_Held] = []
        self._stored_as: dict[int, int] = {}  # held id -> row id, for a delivery in flight
        self._unrecorded: dict[int, datetime] = {}  # row id -> when it was delivered
        self._last_held_id = 0

    def add(self, kind: str, text: str, silent: bool, now: datetime) -> int:
        if self._catch_up():
            try:
                with storage_errors(), models.db.atomic():
                    row = models.OutboxMessage.create(created_at=now, kind=kind, text=text,
                                                      silent=silent)
                return int(row.id)
            except StorageError as exc:
                logger.warning("notification kept in memory until the database recovers: %s",
                               exc)
        return self._hold(kind, text, silent, now)

    def pending(self, limit: int = 50) -> list[OutboxItem]:
        """Undelivered messages, oldest first."""
        # No write here: the sender polls this, and a locked database makes each write wait
        # out SQLite's busy timeout. Held messages are stored by the next add or delivery.
        self._stored_as.clear()  # the sender has settled the previous batch
        try:
            with storage_errors(), models.db.atomic():
                rows = list(
                    models.OutboxMessage.select()
                    .where(models.OutboxMessage.sent_at.is_null())
                    .order_by(models.OutboxMessage.id)
                    .limit(limit + len(self._unrecorded))
                )
        except StorageError:
            # A database server that is down cannot even be read: what memory holds (the
            # news of that outage among it) goes out, the stored rows once it is back.
            rows = []
        items = [OutboxItem(id=int(r.id), text=str(r.text), silent=bool(r.silent))
                 for r in rows if int(r.id) not in self._unrecorded]
        items += [OutboxItem(id=h.id, text=h.text, silent=h.silent) for h in self._held
                  if h.sent_at is None]
        return items[:limit]

    def mark_sent(self, message_id: int, now: datetime) -> None:
        for held in self._held:
            if held.id == message_id:
                held.sent_at = now
                return
        self._unrecorded[self._stored_as.pop(message_id, message_id)] = now
        self._catch_up()

    def count_pending(self) -> int:
        """Undelivered messages; while the database cannot be read, those memory holds."""
        held = sum(h.sent_at is None for h in self._held)
        try:
            with storage_errors(), models.db.atomic():
                stored = int(
                    models.OutboxMessage.select()
                    .where(models.OutboxMessage.sent_at.is_null())
                    .count()
                )
        except StorageError:
            return held
        return stored - len(self._unrecorded) + held

    def _hold(self, kind: str, text: str, silent: bool, now: datetime) -> int:
        if len(self._held) >= HELD_LIMIT:
            logger.error("database unavailable and %d notifications waiting: dropped %r",
                         len(self._held), text[:200])
            return 0
        self._last_held_id -= 1
        self._held.append(_Held(self._last_held_id, kind, text, silent, now))
        return self._last_held_id

    def _catch_up(self) -> bool:
        """Write what memory holds (deliveries, then held messages, in order); False while
        the database still refuses."""
        try:
            with storage_errors():
                for row_id, sent_at in list(self._unrecorded.items()):
                    with models.db.atomic():
                        models.OutboxMessage.update(sent_at=sent_at).where(
                            models.OutboxMessage.id == row_id).execute()
                    del self._unrecorded[row_id]
                while self._held:
                    held = self._held[0]
                    with models.db.atomic():
                        row = models.OutboxMessage.create(
                            created_at=held.created_at, kind=held.kind, text=held.text,
                            silent=held.silent, sent_at=held.sent_at)
                    self._stored_as[held.id] = int(row.id)
                    self._held.pop(0)
        except StorageError:
            return False
        return True
