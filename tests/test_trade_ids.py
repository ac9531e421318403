"""A trade id is given out once (issue #18, item 5): deleting the newest trade does not hand
its id to the next one, on a database file, across restarts, and on a database made before
schema 3 once it is migrated."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from store import schema
from store.store import Store
from tests.factories import new_order, new_trade, run_for
from tests.fakes.telegram import Chat, open_chat, strip_html


async def delete(chat: Chat, trade_id: int) -> str:
    (question,) = await chat.send(f"/delete {trade_id}")
    (answer,) = await chat.press(question.buttons[0][1], question)
    return strip_html(answer.text)


async def test_a_deleted_trades_id_is_not_given_again_even_after_a_restart(
        tmp_path: Path) -> None:
    async with open_chat(tmp_path) as chat:
        await run_for(chat.commands, chat.commands.engine.clock, 1)
        assert await chat.say("/forceenter ETH/BTC") == "Entering ETH/BTC: trade #1."
        assert (await delete(chat, 1)).startswith("Deleted trade #1 (ETH/BTC).")
        assert await chat.say("/forceenter ETH/BTC") == "Entering ETH/BTC: trade #2."
        assert (await delete(chat, 2)).startswith("Deleted trade #2 (ETH/BTC).")

    async with open_chat(tmp_path) as chat:
        await run_for(chat.commands, chat.commands.engine.clock, 1)
        assert await chat.say("/forceenter LTC/BTC") == "Entering LTC/BTC: trade #3."
        assert await chat.say("/status 2") == "No trade with id 2."


def _as_schema_2(path: Path) -> None:
    """Give the trades table the key schema 2 made (no AUTOINCREMENT) and say schema 2."""
    con = sqlite3.connect(path)
    (create,) = con.execute("SELECT sql FROM sqlite_master WHERE name = 'trades'").fetchone()
    con.execute("PRAGMA foreign_keys = OFF")
    con.execute(create.replace(" AUTOINCREMENT", "").replace('"trades"', '"trades_v2"', 1))
    con.execute("INSERT INTO trades_v2 SELECT * FROM trades")
    con.execute("DROP TABLE trades")
    con.execute("ALTER TABLE trades_v2 RENAME TO trades")
    if con.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
        con.execute("DELETE FROM sqlite_sequence WHERE name = 'trades'")
    con.execute("UPDATE keyvalue SET value = '2' WHERE key = 'schema_version'")
    con.commit()
    con.close()


def test_a_schema_2_database_keeps_its_trades_and_orders_and_stops_reusing_ids(
        tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    store = Store(schema.init_db(f"sqlite:///{path}"))
    first = new_trade(store, "ETH/BTC")
    new_order(store, first, "buy", 2.0, filled=2.0)
    second = new_trade(store, "LTC/BTC")
    new_order(store, second, "buy", 3.0, filled=3.0)
    schema.close_db()
    _as_schema_2(path)

    database = schema.init_db(f"sqlite:///{path}")
    store = Store(database)
    assert store.value("schema_version") == str(schema.SCHEMA_VERSION)
    assert database.execute_sql("PRAGMA foreign_keys").fetchone() == (1,)  # on again
    assert [(t.id, t.pair) for t in store.open_trades()] == [(1, "ETH/BTC"), (2, "LTC/BTC")]
    assert [o.filled for o in store.orders_of(1)] == [2.0]
    assert [o.filled for o in store.orders_of(2)] == [3.0]
    store.delete_trade(store.trade(2))
    assert new_trade(store, "XLM/BTC").id == 3
    schema.close_db()

    store = Store(schema.init_db(f"sqlite:///{path}"))
    store.delete_trade(store.trade(3))
    assert new_trade(store, "ADA/BTC").id == 4
    assert [o.filled for o in store.orders_of(1)] == [2.0]
    schema.close_db()
