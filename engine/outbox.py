"""The durable notification outbox: chat messages wait in the database until Telegram takes them.

The engine's notifier only writes rows here, so a notification never waits on the network;
the chat sender reads them oldest first and marks each one sent once it is delivered. Rows
that are not marked sent survive a restart and go out on the next run, in their order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import models


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    text: str
    silent: bool


class Outbox:
    """Each call is its own short transaction, so a crash loses nothing already added."""

    def add(self, kind: str, text: str, silent: bool, now: datetime) -> int:
        with models.db.atomic():
            row = models.OutboxMessage.create(created_at=now, kind=kind, text=text, silent=silent)
        return int(row.id)

    def pending(self, limit: int = 50) -> list[OutboxItem]:
        """Undelivered messages, oldest first."""
        with models.db.atomic():
            rows = list(
                models.OutboxMessage.select()
                .where(models.OutboxMessage.sent_at.is_null())
                .order_by(models.OutboxMessage.id)
                .limit(limit)
            )
        return [OutboxItem(id=int(r.id), text=str(r.text), silent=bool(r.silent)) for r in rows]

    def mark_sent(self, message_id: int, now: datetime) -> None:
        with models.db.atomic():
            models.OutboxMessage.update(sent_at=now).where(
                models.OutboxMessage.id == message_id
            ).execute()

    def count_pending(self) -> int:
        with models.db.atomic():
            return int(
                models.OutboxMessage.select()
                .where(models.OutboxMessage.sent_at.is_null())
                .count()
            )
