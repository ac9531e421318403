"""Opening the database: connect, create the tables, bring an older schema up to date."""

from __future__ import annotations

from typing import Any

from peewee import Database, FloatField
from playhouse.db_url import connect
from playhouse.migrate import SchemaMigrator, migrate

from store.keyvalues import read_value, write_value
from store.models import TABLES, db

SCHEMA_VERSION = 2


def _migrate_1_to_2(database: Database, migrator: SchemaMigrator) -> None:
    """Schema 2 records fees charged in the bought coin and adds the outbox table."""
    columns = {c.name for c in database.get_columns("orders")}
    if "fee_base" not in columns:
        migrate(migrator.add_column("orders", "fee_base", FloatField(default=0.0)))


MIGRATIONS = {2: _migrate_1_to_2}


def init_db(url: str) -> Database:
    """Open the database at `url`, create missing tables and migrate an older schema."""
    pragmas: dict[str, Any] = {}
    if url.startswith("sqlite"):
        pragmas = {"journal_mode": "wal", "foreign_keys": 1, "synchronous": "full",
                   "busy_timeout": 5000}
    return open_database(connect(url, pragmas=pragmas) if pragmas else connect(url))


def open_database(database: Database) -> Database:
    """Make `database` the tables' own (the outbox and the tests reach it through them),
    create missing tables and migrate an older schema; returns it, for the Store."""
    db.initialize(database)
    database.connect(reuse_if_open=True)
    version = _stored_version(database, set(database.get_tables()))
    with database.atomic():
        database.create_tables(TABLES, safe=True)
        migrator = SchemaMigrator.from_database(database)
        for target in range(version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[target](database, migrator)
        write_value(database, "schema_version", str(SCHEMA_VERSION))
    return database


def _stored_version(database: Database, existing: set[str]) -> int:
    if "trades" not in existing:
        return SCHEMA_VERSION
    if "keyvalue" not in existing:
        return 1
    stored = read_value(database, "schema_version")
    return int(stored) if stored else 1


def close_db() -> None:
    if not db.is_closed():
        db.close()
