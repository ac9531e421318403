"""The test database: an in-memory SQLite opened as the bot opens its own (`database`), and the
Store on it (`store`).

PostgreSQL tests (marked `postgres`) get a throwaway server of their own (`postgres_server`,
started once per session, see `tests/pgserver.py`) and an empty database on it per test
(`postgres_url`).

Rows for it come from the one trade and order factory in `tests/factories.py` (`new_trade`,
`new_order`; `trade_row`, `order_row` when nothing needs storing), which also builds whole
engines through compose."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from peewee import Database

from store import schema
from store.store import Store
from tests.pgserver import PostgresServer, PostgresUnavailable


@pytest.fixture
def database() -> Iterator[Database]:
    yield schema.init_db("sqlite:///:memory:")
    schema.close_db()


@pytest.fixture
def store(database: Database) -> Store:
    return Store(database)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer()
        server.start()
    except PostgresUnavailable as failure:
        pytest.fail(str(failure), pytrace=False)
    yield server
    server.remove()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    return postgres_server.create_database()
