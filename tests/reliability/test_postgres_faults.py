"""PostgreSQL's faults, the counterparts of SQLite's file lock and full disk (test_db_faults.py):
the server restarted in the middle of an iteration (the exchange's answer to an order in
hand, not yet recorded), the server down for several iterations (connection refused), and a
table locked by another session until the statement timeout.

The engine trades on the fake Binance (real ccxt over HTTP), whose order book lives outside
the database, so "nothing reached the exchange that the database does not know" and "every
fill the exchange made is in the database" are checked against an independent record. The
database is a real PostgreSQL server (tests/pgserver.py) that is really restarted or stopped.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from store.connection import database_for
from store.models import Order
from tests.engine.scripted import Scripted
from tests.fakes.exchange_server import FakeExchangeServer
from tests.pgserver import PostgresServer
from tests.reliability.chat_rig import assert_chat_is_the_outbox, closed_trades
from tests.reliability.test_db_faults import (
    PAIR,
    RECOVERED,
    START,
    UNAVAILABLE,
    Market,
    assert_agrees_with_exchange,
    assert_told_once_each,
    run,
    told,
    trading,
)
from venues.exchange import Exchange, OrderRequest, OrderSnapshot

pytestmark = pytest.mark.postgres

# A round trip every half hour for four hours: an entry on the 05:30 candle and every half hour
# after, its exit signal twenty minutes later.
ROUND_TRIPS = 8
BUSY = Scripted(enter={PAIR: [START + timedelta(minutes=5 + 30 * k) for k in range(ROUND_TRIPS)]},
                exit_={PAIR: [START + timedelta(minutes=25 + 30 * k) for k in range(ROUND_TRIPS)]})
CANDLES = 6 * ROUND_TRIPS + 2
RESTARTED = "terminating connection due to administrator command"
TIMEOUT = "canceling statement due to statement timeout"


class RestartsTheServer:
    """The exchange, with the database server restarted between the exchange's answer and
    the bot recording it: the `at`-th calls of `method` (counted from 1)."""

    def __init__(self, inner: Exchange, server: PostgresServer, method: str,
                 at: set[int], mode: str = "fast") -> None:
        self._inner = inner
        self._server = server
        self._method = method
        self._at = at
        self._mode = mode
        self.calls = 0
        self.restarted = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def _around(self, name: str, *args: Any, **kwargs: Any) -> Any:
        answer = await getattr(self._inner, name)(*args, **kwargs)
        if name == self._method:
            self.calls += 1
            if self.calls in self._at:
                self._server.restart(self._mode)
                self.restarted += 1
        return answer

    async def create_order(self, request: OrderRequest) -> OrderSnapshot:
        return await self._around("create_order", request)

    async def fetch_order(self, *args: Any, **kwargs: Any) -> OrderSnapshot:
        return await self._around("fetch_order", *args, **kwargs)


@pytest.mark.heavy
async def test_a_server_restart_mid_iteration_loses_no_order_and_sends_none_twice(
        tmp_path: Path, postgres_server: PostgresServer, postgres_url: str) -> None:
    wrapped: list[RestartsTheServer] = []

    def restarting(exchange: Exchange) -> Exchange:
        wrapped.append(RestartsTheServer(exchange, postgres_server, "create_order", {2}))
        return wrapped[0]  # type: ignore[return-value]

    async with trading(tmp_path, database_for(postgres_url), wrap=restarting) \
            as (rig, server):
        # The second order is the first trade's exit: placed, and its answer not recorded.
        await run(rig, server, 14, check=True)
        await rig.drain()
        assert wrapped[0].calls >= 3  # trading went on after the restart
        assert closed_trades() == 2
        assert_agrees_with_exchange(server)
        assert_chat_is_the_outbox(rig.tg)
        assert_told_once_each(told(rig), RESTARTED)
        assert UNAVAILABLE.format(RESTARTED) in told(rig)


async def test_a_server_down_for_several_iterations_holds_orders_back_and_trading_recovers(
        tmp_path: Path, postgres_server: PostgresServer, postgres_url: str) -> None:
    async with trading(tmp_path, database_for(postgres_url)) as (rig, server):
        await run(rig, server, 4)  # 05:45: trade 1 is open and filled
        sent = len(server.orders())
        postgres_server.stop()
        try:
            await run(rig, server, 4)  # 05:50 to 06:05: its exit signal is lost
            assert len(server.orders()) == sent
            await asyncio.sleep(0.05)
            # The stop ends the bot's connection: the first statement after it meets that,
            # the next iterations a refused connection; the owner is told once.
            assert told(rig)[-1] == UNAVAILABLE.format(RESTARTED)
        finally:
            postgres_server.start()
        await run(rig, server, 6)
        await rig.drain()
        assert closed_trades() == 2
        assert_agrees_with_exchange(server)
        assert_chat_is_the_outbox(rig.tg)
        assert_told_once_each(told(rig), RESTARTED)
        assert told(rig).count(RECOVERED) == 1


@contextmanager
def locked_by_another_session(url: str, table: str) -> Iterator[None]:
    """Another session holds `table` locked against every statement until the block ends."""
    with psycopg.connect(url) as other:
        other.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        yield
        other.rollback()


@pytest.mark.heavy
async def test_a_table_locked_by_another_session_times_out_and_trading_recovers(
        tmp_path: Path, postgres_url: str) -> None:
    quick = f"{postgres_url}?options=-c%20statement_timeout%3D300"
    async with trading(tmp_path, database_for(quick)) as (rig, server):
        await run(rig, server, 4)
        sent = len(server.orders())
        with locked_by_another_session(postgres_url, "orders"):
            await run(rig, server, 4, check=False)
            assert len(server.orders()) == sent
            await asyncio.sleep(0.05)
            assert told(rig)[-1] == UNAVAILABLE.format(TIMEOUT)
        await run(rig, server, 6)
        await rig.drain()
        assert closed_trades() == 2
        assert_agrees_with_exchange(server)
        assert_chat_is_the_outbox(rig.tg)
        assert_told_once_each(told(rig), TIMEOUT)


def seen_from_outside(url: str, server: FakeExchangeServer) -> None:
    """assert_consistent, on a connection of its own: the bot's may be the one the restart
    ended, which its next iteration, not this check, is to meet."""
    with psycopg.connect(url) as observer:
        (orphans,), = observer.execute(
            "SELECT count(*) FROM orders WHERE trade_id NOT IN (SELECT id FROM trades)")
        (bare,), = observer.execute(
            "SELECT count(*) FROM trades t WHERE NOT EXISTS (SELECT 1 FROM orders o "
            "WHERE o.trade_id = t.id AND o.ft_order_side = 'buy')")
        known = {cid for (cid,) in observer.execute("SELECT client_order_id FROM orders")}
    assert (orphans, bare) == (0, 0)
    assert {o.client_order_id for o in server.orders()} <= known


@pytest.mark.heavy
@pytest.mark.parametrize("seed", range(3))
async def test_server_restarts_through_a_busy_session_lose_nothing_and_double_nothing(
        tmp_path: Path, postgres_server: PostgresServer, postgres_url: str, seed: int) -> None:
    """The drill: restarts (clean, and crashes of the server) at moments drawn from a seed,
    between the exchange's answer to an order or to a look-up and its record, and between
    iterations; every order on the exchange is ours, once, with its fill."""
    draw = random.Random(seed)
    mode = ("fast", "immediate")[seed % 2]
    method = ("create_order", "fetch_order")[draw.randrange(2)]
    at = set(draw.sample(range(1, 13), 3))  # of the session's orders, or look-ups
    restarts: list[RestartsTheServer] = []

    def restarting(exchange: Exchange) -> Exchange:
        restarts.append(RestartsTheServer(exchange, postgres_server, method, at, mode))
        return restarts[0]  # type: ignore[return-value]

    with psycopg.connect(postgres_url, autocommit=True) as admin:
        # The test server commits without waiting for its log (tests/pgserver.py); a crash
        # of it would lose commits the bot was told were made, which no real server set up
        # as docs/postgresql.md says does.
        admin.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = on").format(
            sql.Identifier(postgres_url.rsplit("/", 1)[1])))
    async with trading(tmp_path, database_for(postgres_url), wrap=restarting,
                       strategy=BUSY) as (rig, server):
        market = Market(server)
        between = draw.randrange(3, CANDLES)
        for candle in range(CANDLES):
            if candle == between:
                postgres_server.restart(mode)
            await rig.iterate(1)
            market.trade()
            seen_from_outside(postgres_url, server)
        await rig.drain()
        assert_agrees_with_exchange(server)
        assert_chat_is_the_outbox(rig.tg)
        ids = [o.client_order_id for o in Order.select()]
        assert len(ids) == len(set(ids)) == len(server.orders())
        assert closed_trades() >= 1  # an iteration an outage cut may miss its signal
    assert restarts[0].restarted == 3
