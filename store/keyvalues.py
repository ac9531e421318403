"""The key/value table: start times, the schema version, the last write after an outage."""

from __future__ import annotations

from peewee import Database

from store.models import KeyValue


def read_value(database: Database, key: str) -> str | None:
    found = KeyValue.select(KeyValue.value).where(KeyValue.key == key).tuples() \
        .execute(database)
    return next((str(value) for (value,) in found), None)


def write_value(database: Database, key: str, value: str) -> None:
    # ON CONFLICT ... DO UPDATE: SQLite (3.24+) and PostgreSQL both have it; REPLACE is SQLite's.
    KeyValue.insert(key=key, value=value).on_conflict(
        conflict_target=[KeyValue.key], update={KeyValue.value: value}).execute(database)
