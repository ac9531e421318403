"""Opening the database: connect, create the tables, bring an older schema up to date."""

from __future__ import annotations

from typing import Any

from peewee import FloatField
from playhouse.db_url import connect
from playhouse.migrate import SchemaMigrator, migrate

from store.models import TABLES, KeyValue, db

SCHEMA_VERSION = 2


def _migrate_1_to_2(migrator: SchemaMigrator) -> None:
    """Schema 2 records fees charged in the bought coin and adds the outbox table."""
    columns = {c.name for c in db.get_columns("orders")}
    if "fee_base" not in columns:
        migrate(migrator.add_column("orders", "fee_base", FloatField(default=0.0)))


MIGRATIONS = {2: _migrate_1_to_2}


def init_db(url: str) -> None:
    """Open the database at `url`, create missing tables and migrate an older schema."""
    pragmas: dict[str, Any] = {}
    if url.startswith("sqlite"):
        pragmas = {"journal_mode": "wal", "foreign_keys": 1, "synchronous": "full",
                   "busy_timeout": 5000}
    database = connect(url, pragmas=pragmas) if pragmas else connect(url)
    db.initialize(database)
    db.connect(reuse_if_open=True)
    existing = set(db.get_tables())
    version = _stored_version(existing)
    with db.atomic():
        db.create_tables(TABLES, safe=True)
        migrator = SchemaMigrator.from_database(database)
        for target in range(version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[target](migrator)
        KeyValue.set_value("schema_version", str(SCHEMA_VERSION))


def _stored_version(existing: set[str]) -> int:
    if "trades" not in existing:
        return SCHEMA_VERSION
    if "keyvalue" not in existing:
        return 1
    row = KeyValue.get_or_none(KeyValue.key == "schema_version")
    return int(row.value) if row else 1


def close_db() -> None:
    if not db.is_closed():
        db.close()
