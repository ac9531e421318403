"""Database faults: the SQLite file locked by another process, and the disk full when writing.
SQLite's by nature (marked sqlite_only); PostgreSQL's own are in test_postgres_faults.py.

The engine trades on the fake Binance (the real ccxt client over HTTP, tests/fakes), whose
order book lives outside our database, so "nothing reached the exchange that the database does
not know" is checked against an independent record. The database is the real SQLite file; the
faults come from a second process holding the write lock, and from a full disk at the driver.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import peewee
import pytest

from store import models
from tests.engine.scripted import Scripted
from tests.factories import DATA_START
from tests.fakes.exchange_server import FakeExchangeServer, shipped_frames
from tests.fakes.telegram import strip_html
from tests.reliability.chat_rig import (
    PAIR,
    Rig,
    SignallingClock,
    assert_chat_is_the_outbox,
    closed_trades,
    open_rig,
)
from venues.exchange import Exchange

pytestmark = pytest.mark.sqlite_only

_HOLD_LOCK = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
con.execute("COMMIT")
"""


@contextmanager
def locked_by_another_process(path: Path) -> Iterator[None]:
    """A second process holds SQLite's write lock on `path` until the block ends."""
    with subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(path)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as holder:
        assert holder.stdout is not None
        assert holder.stdin is not None
        assert holder.stdout.readline().strip() == "locked"
        try:
            yield
        finally:
            holder.stdin.write("release\n")
            holder.stdin.flush()
            holder.wait(10)
    assert holder.returncode == 0


class FullDisk(peewee.SqliteDatabase):
    """The same database file, on a disk that fills up: while `full`, every write statement
    fails as SQLite reports it. `allow` lets that many more writes through first, so the disk
    can fill up in the middle of a transaction."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.full = False
        self.allow = 0
        self.refused = 0

    def fill_after(self, writes: int) -> None:
        self.full, self.allow = True, writes

    def execute_sql(self, sql: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        if self.full and sql.lstrip()[:7].upper() in _WRITES:
            if self.allow > 0:
                self.allow -= 1
            else:
                self.refused += 1
                cause = sqlite3.OperationalError(FULL)
                raise peewee.OperationalError(str(cause)) from cause
        return super().execute_sql(sql, params, *args, **kwargs)


_WRITES = {"INSERT ", "UPDATE ", "DELETE ", "REPLACE"}


def on_full_disk(path: Path) -> FullDisk:
    """The rig's database file through FullDisk, with the pragmas schema.init_db sets but no
    fsync per commit: this drill is about refused writes, not power cuts, and runs dozens of
    sessions."""
    return FullDisk(str(path), pragmas={"journal_mode": "wal", "foreign_keys": 1,
                                        "synchronous": "off", "busy_timeout": 5000})


def assert_consistent(server: FakeExchangeServer) -> None:
    """No torn state: the file is sound, every order has its trade and every trade its entry
    order, and every order on the exchange is one the database recorded before sending it."""
    if isinstance(models.db.obj, peewee.SqliteDatabase):
        assert models.db.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
    orphans = models.db.execute_sql(
        "SELECT count(*) FROM orders WHERE trade_id NOT IN (SELECT id FROM trades)").fetchone()
    assert orphans[0] == 0
    bare = models.db.execute_sql(
        "SELECT count(*) FROM trades t WHERE NOT EXISTS (SELECT 1 FROM orders o "
        "WHERE o.trade_id = t.id AND o.ft_order_side = 'buy')").fetchone()
    assert bare[0] == 0
    known = {o.client_order_id for o in models.Order.select(models.Order.client_order_id)}
    assert {o.client_order_id for o in server.orders()} <= known


def assert_agrees_with_exchange(server: FakeExchangeServer) -> None:
    """Settled: every exchange order is a filled order of ours with the same fill, and no
    trade is left open."""
    assert_consistent(server)
    ours = {o.client_order_id: o for o in models.Order.select()}
    for order in server.orders():
        mine = ours[order.client_order_id]
        assert mine.status == "filled"
        assert mine.filled == pytest.approx(float(order.executed))
    assert models.Trade.select().where(models.Trade.is_open).count() == 0


class Market:
    """The fake exchange's other side: every resting order fills once per candle."""

    def __init__(self, server: FakeExchangeServer) -> None:
        self.server = server

    def trade(self) -> None:
        for order in self.server.orders():
            if order.is_open:
                self.server.fill(order.order_id)


# Two round trips on ETH/BTC: entries on the 05:30 and 06:15 candles, exits on 05:50, 06:05
# (for a trade the fault kept open) and 06:25; the bot acts on a candle when it has closed,
# five minutes later. The faults last from the 05:30 iteration to the 06:05 one.
START = DATA_START + timedelta(minutes=25)
ENTER = [DATA_START + timedelta(minutes=m) for m in (30, 75)]
EXIT = [DATA_START + timedelta(minutes=m) for m in (50, 65, 85)]
UNAVAILABLE = ("⚠️ Warning: Database unavailable ({}); no new orders until it can be written "
               "again.")
RECOVERED = "⚠️ Warning: Database writable again; trading goes on."
FULL = "database or disk is full"


@asynccontextmanager
async def trading(tmp_path: Path, database: peewee.Database | None = None,
                  wrap: Callable[[Exchange], Exchange] | None = None,
                  strategy: Scripted | None = None
                  ) -> AsyncIterator[tuple[Rig, FakeExchangeServer]]:
    """The rig trading on the fake Binance (decorated by `wrap`), on `database` if given,
    with the two round trips below unless `strategy` says otherwise."""
    clock = SignallingClock(START)
    async with FakeExchangeServer(clock, frames=shipped_frames([PAIR])) as server:
        exchange = server.ccxt_exchange(clock)
        chosen = exchange if wrap is None else wrap(exchange)
        strategy = strategy or Scripted(enter={PAIR: ENTER}, exit_={PAIR: EXIT})
        async with open_rig(tmp_path, strategy=strategy, clock=clock,
                            wrap=lambda _paper: chosen, database=database) as rig:
            yield rig, server


async def run(rig: Rig, server: FakeExchangeServer, candles: int, *,
              check: bool = False) -> None:
    """Iterations one candle apart; the market fills every resting order in between."""
    market = Market(server)
    for _ in range(candles):
        await rig.iterate(1)
        market.trade()
        if check:
            assert_consistent(server)


def told(rig: Rig) -> list[str]:
    return [strip_html(t) for t in rig.tg.texts()]


def assert_told_once_each(said: list[str], cause: str) -> None:
    """The owner heard of the outage once and of the recovery once (or of neither, when no
    iteration ran into it); every closed trade's exit reached the chat exactly once."""
    assert said.count(UNAVAILABLE.format(cause)) == said.count(RECOVERED) <= 1
    for trade in models.Trade.select():
        assert sum(f"Exited {PAIR} (#{trade.id})" in t for t in said) == 1


async def test_a_database_locked_by_another_process_holds_orders_back_and_trading_recovers(
        tmp_path: Path) -> None:
    async with trading(tmp_path) as (rig, server):
        # The bot waits 5 s for a lock (busy_timeout); the same failure, sooner.
        models.db.pragma("busy_timeout", 200)
        await run(rig, server, 4)  # 05:45: trade 1 is open and filled
        sent = len(server.orders())
        with locked_by_another_process(tmp_path / "trades.sqlite"):
            await run(rig, server, 4, check=True)  # 05:50 to 06:05: its exit signal is lost
            assert len(server.orders()) == sent
            await asyncio.sleep(0.02)
            assert told(rig)[-1] == UNAVAILABLE.format("database is locked")
        await run(rig, server, 6)
        await rig.drain()
        assert closed_trades() == 2
        assert_agrees_with_exchange(server)
        assert_chat_is_the_outbox(rig.tg)
        assert_told_once_each(told(rig), "database is locked")


@pytest.mark.heavy
async def test_a_disk_that_fills_up_at_any_write_tears_nothing_and_trading_recovers(
        tmp_path: Path) -> None:
    refused = []
    for writes in range(60):
        (tmp_path / str(writes)).mkdir()
        disk = on_full_disk(tmp_path / str(writes) / "trades.sqlite")
        async with trading(tmp_path / str(writes), disk) as (rig, server):
            disk.fill_after(writes)
            await run(rig, server, 8, check=True)  # 05:30 to 06:05
            await asyncio.sleep(0.01)
            during = told(rig).count(UNAVAILABLE.format(FULL))
            disk.full = False
            healed = rig.clock.now()
            await run(rig, server, 6)
            await rig.drain()
            assert models.Trade.select().where(models.Trade.open_date > healed).count() == 1
            assert_agrees_with_exchange(server)
            assert_chat_is_the_outbox(rig.tg)
            assert_told_once_each(told(rig), FULL)
            assert during == told(rig).count(UNAVAILABLE.format(FULL))  # told while it lasted
        refused.append(disk.refused)
        if disk.refused == 0:
            break
    assert len(refused) > 20
