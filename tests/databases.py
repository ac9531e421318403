"""The tests' databases: SQLite unless TRADEPILOT_TEST_DATABASE=postgresql, then databases of
their own on the throwaway PostgreSQL server (`tests/pgserver.py`).

`make test` runs the database-touching tests a second time that way (the Makefile's PG pass).
For that pass the autouse fixture in `tests/conftest.py` starts the server and hands its
address to `url_for` through SERVER_ENV, so child processes (the crash drills' bots) reach the
same databases; every database made during a test is dropped after it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

import psycopg
from psycopg import sql

from store import schema

ENV = "TRADEPILOT_TEST_DATABASE"
SERVER_ENV = "TRADEPILOT_TEST_POSTGRES_ADMIN_URL"
PREFIX = "tp_"
TEMPLATE = "tradepilot_template"


def on_postgres() -> bool:
    chosen = os.environ.get(ENV, "sqlite")
    if chosen not in ("sqlite", "postgresql"):
        raise RuntimeError(f"{ENV}: expected sqlite or postgresql, got {chosen!r}")
    return chosen == "postgresql"


def url_for(folder: Path | None = None, name: str = "trades") -> str:
    """The database `name` of a test in `folder` (the same one for every call with them, as a
    bot restarted on its database finds it), or a fresh one when no folder is given."""
    admin = os.environ.get(SERVER_ENV)
    if admin is None:
        return f"sqlite:///{folder / f'{name}.sqlite'}" if folder else "sqlite:///:memory:"
    name = PREFIX + (hashlib.sha256(str(folder / name).encode()).hexdigest()[:24] if folder
                     else secrets.token_hex(12))
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() \
                is None:
            # A copy of a database that has the tables is a third of the time of creating
            # them in an empty one, and the pass makes one or more for every test.
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(TEMPLATE)))
    return f"{admin.rsplit('/', 1)[0]}/{name}"


def make_template(admin: str) -> None:
    """The database every test database is a copy of: the current schema, no rows."""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(TEMPLATE)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
    schema.init_db(f"{admin.rsplit('/', 1)[0]}/{TEMPLATE}").close()


def drop_all(admin: str) -> None:
    """Drop every test database, whoever is still connected to it."""
    with psycopg.connect(admin, autocommit=True) as conn:
        pattern = PREFIX.replace("_", r"\_") + "%"
        names = [n for (n,) in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (pattern,))]
        for name in names:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
