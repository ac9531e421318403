"""The database a URL names: SQLite (a file, or memory) or PostgreSQL through psycopg 3.

PostgreSQL is written as Freqtrade's users write it: `postgresql://`, `postgres://`, and
SQLAlchemy's `postgresql+psycopg2://` and `postgresql+psycopg://`. Whichever form, the bot
connects with psycopg 3, the driver requirements.txt installs.
"""

from __future__ import annotations

import importlib.util
from typing import Any
from urllib.parse import urlsplit

from peewee import Database, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import parse

from core.errors import ConfigError

SQLITE_SCHEMES = frozenset({"sqlite"})
POSTGRES_SCHEMES = frozenset({"postgresql", "postgres", "postgresql+psycopg",
                              "postgresql+psycopg2"})
DRIVER = "psycopg"
# A server that drops packets instead of refusing them would hold the start-up (and every
# reconnection) for the kernel's TCP timeout, minutes; a URL may set its own.
CONNECT_TIMEOUT = 10
# A statement waiting on a lock another session holds fails after this long instead of
# holding the iteration (and the chat) forever, as SQLite's busy timeout does; an outage.
STATEMENT_TIMEOUT_MS = 10_000
_SQLITE_PRAGMAS = {"journal_mode": "wal", "foreign_keys": 1, "synchronous": "full",
                   "busy_timeout": 5000}


def check_url(url: str, key: str) -> str:
    """The URL's kind, "sqlite" or "postgresql"; a ConfigError naming `key` for a scheme we do
    not speak, a PostgreSQL URL without a database name or without its driver installed."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in SQLITE_SCHEMES:
        return "sqlite"
    if scheme not in POSTGRES_SCHEMES:
        raise ConfigError(f"{key}: expected sqlite:///path/to/file.sqlite or "
                          f"postgresql://user@host:port/database, got {scheme or 'no'} scheme")
    if not urlsplit(url).path.strip("/"):
        raise ConfigError(f"{key}: expected the database name after the host, as in "
                          "postgresql://user@host:5432/tradepilot")
    if importlib.util.find_spec(DRIVER) is None:
        raise ConfigError(f"{key}: PostgreSQL needs the {DRIVER} driver, which is not "
                          "installed: pip install -r requirements.txt")
    return "postgresql"


def database_for(url: str, key: str = "db_url") -> Database:
    """The database `url` names, not yet connected."""
    if check_url(url, key) == "sqlite":
        return SqliteDatabase(parse(url)["database"], pragmas=_SQLITE_PRAGMAS)
    options: dict[str, Any] = parse(url, unquote_password=True, unquote_user=True)
    options.setdefault("connect_timeout", CONNECT_TIMEOUT)
    options.setdefault("options", f"-c statement_timeout={STATEMENT_TIMEOUT_MS}")
    return Postgres(options.pop("database"), prefer_psycopg3=True, **options)


def describe(database: Database) -> str:
    """Where the database is, for a message: never its password."""
    if isinstance(database, PostgresqlDatabase):
        params = database.connect_params
        return (f"PostgreSQL database {database.database!r} at "
                f"{params.get('host', 'localhost')}:{params.get('port', 5432)}")
    return f"SQLite database {database.database!r}"


class Postgres(PostgresqlDatabase):
    """A connection the server dropped (a restart, a crash, a network cut) is closed the next
    time a statement needs one outside a transaction, so that statement opens a new one:
    the iteration that met the loss fails as a database outage, the next one reconnects.
    Inside a transaction it stays as it is: the transaction fails whole and is rolled back."""

    def cursor(self, named_cursor: Any = None) -> Any:
        if not self.is_closed() and not self.in_transaction() and self.connection().broken:
            self.close()
        return super().cursor(named_cursor)
