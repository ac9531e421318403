"""The test database: an in-memory SQLite opened as the bot opens its own (`database`), and the
Store on it (`store`); with TRADEPILOT_TEST_DATABASE=postgresql, a fresh PostgreSQL database
instead, for this and for every engine `tests/factories.py` builds (`tests/databases.py`).

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
from tests.databases import SERVER_ENV, drop_all, make_template, on_postgres, url_for
from tests.pgserver import PostgresServer, PostgresUnavailable


@pytest.fixture(scope="session")
def _postgres_template(postgres_server: PostgresServer) -> str:
    """The server's address for `tests.databases`, with the template of its databases."""
    admin = postgres_server.url("postgres")
    make_template(admin)
    return admin


@pytest.fixture(autouse=True)
def _postgres_pass(request: pytest.FixtureRequest,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """On the PostgreSQL pass, the server behind `tests.databases.url_for`; its databases are
    dropped after each test."""
    if not on_postgres():
        yield
        return
    admin = request.getfixturevalue("_postgres_template")
    monkeypatch.setenv(SERVER_ENV, admin)
    yield
    schema.close_db()
    drop_all(admin)


@pytest.fixture
def database() -> Iterator[Database]:
    opened = schema.init_db(url_for())
    yield opened
    schema.close_db()
    opened.close()


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
