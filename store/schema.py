"""Opening the database: connect, create the tables, bring an older schema up to date."""

from __future__ import annotations

from peewee import (
    Database,
    DoubleField,
    Field,
    OperationalError,
    PostgresqlDatabase,
    SqliteDatabase,
    TextField,
)
from playhouse.migrate import SchemaMigrator, migrate

from core.errors import ConfigError, StorageError
from store.connection import database_for, describe
from store.keyvalues import read_value, write_value
from store.models import TABLES, Trade, db

SCHEMA_VERSION = 5
_SQLITE_KEY = '"id" INTEGER NOT NULL PRIMARY KEY'


def _migrate_1_to_2(database: Database, migrator: SchemaMigrator) -> None:
    """Schema 2 records fees charged in the bought coin and adds the outbox table."""
    columns = {c.name for c in database.get_columns("orders")}
    if "fee_base" not in columns:
        migrate(migrator.add_column("orders", "fee_base", DoubleField(default=0.0)))


def _migrate_2_to_3(database: Database, migrator: SchemaMigrator) -> None:
    """Schema 3 never hands a trade id out twice (`models.UniqueIdField`). SQLite cannot
    change a key in place: the trades table is built again with an AUTOINCREMENT key, rows
    and ids copied as they are. Foreign keys are off meanwhile (`open_database`), so
    dropping the old table does not cascade to the orders, which keep pointing at "trades"."""
    if not isinstance(database, SqliteDatabase):
        return
    (create,) = database.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'trades'").fetchone()
    if f"{_SQLITE_KEY} AUTOINCREMENT" in create or _SQLITE_KEY not in create:
        return
    rebuilt = create.replace('CREATE TABLE "trades"', 'CREATE TABLE "trades_rebuilt"', 1)
    database.execute_sql(rebuilt.replace(_SQLITE_KEY, f"{_SQLITE_KEY} AUTOINCREMENT", 1))
    database.execute_sql('INSERT INTO "trades_rebuilt" SELECT * FROM "trades"')
    database.execute_sql('DROP TABLE "trades"')
    database.execute_sql('ALTER TABLE "trades_rebuilt" RENAME TO "trades"')
    database.create_tables([Trade], safe=True)  # the indexes went with the old table
    broken = database.execute_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration to schema 3 left orders without their trade: {broken}")


def _migrate_3_to_4(database: Database, migrator: SchemaMigrator) -> None:
    """Schema 4 records the trigger price of stop orders (stoploss_on_exchange), ours and
    the paper exchange's."""
    for table in ("orders", "paper_orders"):
        if "stop_price" not in {c.name for c in database.get_columns(table)}:
            migrate(migrator.add_column(table, "stop_price", DoubleField(null=True)))


def _migrate_4_to_5(database: Database, migrator: SchemaMigrator) -> None:
    """Schema 5 keeps money in double precision and free text (tags, reasons) unbounded.
    SQLite's REAL was always 8 bytes and its VARCHAR never bounded, so only PostgreSQL's
    columns change: `real` (4 bytes: a stake of 1001.234558 read back as 1001.23456) to
    `double precision`, `varchar(255)` to `text`. A value already stored as `real` keeps the
    digits it has left."""
    if not isinstance(database, PostgresqlDatabase):
        return
    for model in TABLES:
        table = model._meta.table_name
        stored = {c.name: c.data_type for c in database.get_columns(table)}
        for field in model._meta.sorted_fields:
            if _widened(field, stored.get(field.column_name, "")):
                migrate(migrator.alter_column_type(table, field.column_name, field))


def _widened(field: Field, stored_type: str) -> bool:
    if isinstance(field, DoubleField):
        return stored_type.lower() == "real"
    return isinstance(field, TextField) and stored_type.lower().startswith("character varying")


MIGRATIONS = {2: _migrate_1_to_2, 3: _migrate_2_to_3, 4: _migrate_3_to_4, 5: _migrate_4_to_5}


def init_db(url: str, key: str = "db_url") -> Database:
    """Open the database at `url`, create missing tables and migrate an older schema. A URL
    we cannot use, or a server that refuses us (a wrong password, nobody listening), is a
    ConfigError naming `key`: the owner has to fix something before the bot can start."""
    database = database_for(url, key)
    try:
        database.connect()
    except OperationalError as exc:
        text = f"{key}: cannot open the {describe(database)}: {' '.join(str(exc).split())}"
        # A server that never answered (not up yet at boot, unreachable) is no fault of the
        # config: exit 1, so the service manager starts the bot again; a server that answered
        # and refused (password, database name: libpq says its FATAL) is one to fix: exit 2.
        if isinstance(database, PostgresqlDatabase) and "FATAL:" not in str(exc):
            raise StorageError(text) from None
        raise ConfigError(text) from None
    return open_database(database)


def open_database(database: Database) -> Database:
    """Make `database` the tables' own (the outbox and the tests reach it through them),
    create missing tables and migrate an older schema; returns it, for the Store."""
    replaced = db.obj
    if isinstance(replaced, PostgresqlDatabase) and replaced is not database:
        # A server connection nobody uses any more (an in-memory SQLite is left open: closing
        # it would lose it, and a test may still read the store on it).
        replaced.close()
    db.initialize(database)
    database.connect(reuse_if_open=True)
    version = _stored_version(database, set(database.get_tables()))
    # SQLite takes this switch only outside a transaction; a table rebuilt by a migration must
    # not cascade its drop to the rows that point at it.
    enforced = isinstance(database, SqliteDatabase) and version < SCHEMA_VERSION \
        and bool(database.execute_sql("PRAGMA foreign_keys").fetchone()[0])
    if enforced:
        database.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        with database.atomic():
            database.create_tables(TABLES, safe=True)
            migrator = SchemaMigrator.from_database(database)
            for target in range(version + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[target](database, migrator)
            write_value(database, "schema_version", str(SCHEMA_VERSION))
    finally:
        if enforced:
            database.execute_sql("PRAGMA foreign_keys = ON")
    return database


def _stored_version(database: Database, existing: set[str]) -> int:
    if "trades" not in existing:
        return SCHEMA_VERSION
    if "keyvalue" not in existing:
        return 1
    stored = read_value(database, "schema_version")
    return int(stored) if stored else 1


def close_db() -> None:
    if db.obj is not None and not db.is_closed():
        db.close()
