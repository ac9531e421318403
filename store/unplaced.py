"""Orders marked failed ("never reached the exchange"), remembered for a later look-up.

A failed entry's trade is deleted with its rows, yet the exchange may still hold the order
(executed after the bot gave up on it). What is needed to find it again and to adopt it is kept
here, in the key/value table, until the engine decides the look-up horizon has passed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from peewee import Database

from store.keyvalues import read_value, write_value

KEY = "unplaced_orders"


@dataclass(frozen=True, slots=True)
class Unplaced:
    client_order_id: str
    pair: str
    side: str
    order_type: str
    tag: str | None
    failed_at: datetime


def read_unplaced(database: Database) -> list[Unplaced]:
    stored = read_value(database, KEY)
    if not stored:
        return []
    return [Unplaced(**{**row, "failed_at": datetime.fromisoformat(row["failed_at"])})
            for row in json.loads(stored)]


def write_unplaced(database: Database, rows: list[Unplaced]) -> None:
    text = json.dumps([{**asdict(row), "failed_at": row.failed_at.isoformat()} for row in rows])
    write_value(database, KEY, text)
