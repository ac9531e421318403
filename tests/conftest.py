"""The test database: an in-memory SQLite opened as the bot opens its own (`database`), and the
Store on it (`store`).

Rows for it come from the one trade and order factory in `tests/factories.py` (`new_trade`,
`new_order`; `trade_row`, `order_row` when nothing needs storing), which also builds whole
engines through compose."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from peewee import Database

from store import schema
from store.store import Store


@pytest.fixture
def database() -> Iterator[Database]:
    yield schema.init_db("sqlite:///:memory:")
    schema.close_db()


@pytest.fixture
def store(database: Database) -> Store:
    return Store(database)
