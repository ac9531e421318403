"""Kill the engine for real (SIGKILL) between every step of an entry and of an exit while it
trades live through the real ccxt binance client. The fake Binance lives in this process, so
the exchange's state survives the kill; a fresh engine on the same database and the same
exchange must end with exactly one buy and one sell, each owned by one order row of one
closed trade: no create sent twice, no fill lost, no ghost trade.

The steps of one order, and who kills the engine between them:
  intent_committed   the order row is committed, the request not sent yet      (the engine)
  request_received   the request reached the exchange, which never processed it (the exchange)
  order_placed       the exchange placed the order, its answer never arrived    (the exchange)
  answer_received    the answer arrived, the order row is not updated yet       (the engine)
  row_updated        the row is updated and committed: dies at its next request (the exchange)
Limit orders rest on the book, so they are also filled while the engine is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from core.clock import Clock
from store import schema
from store.models import Order, Trade
from tests.databases import url_for
from tests.engine.crash_child_wire import CLOCK_FILE, PLAN_FILE
from tests.engine.crash_plan import (
    END,
    FIVE,
    LIMIT,
    MARKET,
    PAIR,
    START,
    WIRE_ENV,
    FileClock,
    SharedClock,
    scripted,
    wire_settings,
)
from tests.factories import make_engine, run_for
from tests.fakes import FakeExchangeServer, FakeOrder, shipped_frames
from tests.fakes.binance_book import BinanceError

ROOT = Path(__file__).resolve().parents[2]
ORDER = "/api/v3/order"
ETH_STEP = Decimal("0.001")  # ETH/BTC's amount step on the fake (data/markets.json)
FEE = 0.001  # the fake's maker and taker fee
CHILD_KILLS = {"intent_committed": "before", "answer_received": "after"}
SERVER_KILLS = ("request_received", "order_placed", "row_updated")
STEPS = ("intent_committed", "request_received", "order_placed", "answer_received", "row_updated")
# At each kill point: (request sent, order on the exchange, order row updated).
DIED_AT = {"intent_committed": (False, False, False), "request_received": (True, False, False),
           "order_placed": (True, True, False), "answer_received": (True, True, False),
           "row_updated": (True, True, True)}


@dataclass(frozen=True, slots=True)
class Drill:
    side: str  # "buy": the entry, "sell": the exit
    kill: str  # one of STEPS
    order_type: str = "market"
    fill_while_down: bool = False

    def __str__(self) -> str:
        down = "-filled-while-down" if self.fill_while_down else ""
        return f"{self.side}-{self.order_type}-{self.kill}{down}"


DRILLS = [
    *(Drill(side, kill) for side in ("buy", "sell") for kill in STEPS),
    *(Drill(side, kill, "limit", fill_while_down=True)
      for side in ("buy", "sell") for kill in ("order_placed", "row_updated")),
]


class DrillServer(FakeExchangeServer):
    """The fake Binance, killing the engine process at one exact point of one order request.

    A resting limit order fills when it is next looked up: the market moved through it.
    """

    def __init__(self, clock: Clock, drill: Drill, **kwargs: Any) -> None:
        super().__init__(clock, **kwargs)
        self.kill_point = drill.kill if drill.kill in SERVER_KILLS else None
        self.kill_side = drill.side.upper()
        self.victim: asyncio.subprocess.Process | None = None
        self._kill_on_next_request = False

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if self._kill_on_next_request:
            self._kill()
            return web.Response(status=503)
        if (request.method, request.path) == ("GET", ORDER):
            self._fill_resting(dict(request.query))
        return await super()._dispatch(request)

    def _place(self, params: Mapping[str, str]) -> Any:
        placing = params.get("side") == self.kill_side
        if placing and self.kill_point == "request_received":
            self._kill()
            raise BinanceError(-1000, "never processed: the engine died first")
        answer = super()._place(params)
        if placing and self.kill_point == "order_placed":
            self._kill()
        elif placing and self.kill_point == "row_updated":
            self._kill_on_next_request = True
        return answer

    def _kill(self) -> None:
        """SIGKILL the engine and wait until it is dead, so that it never reads an answer."""
        victim, self.victim = self.victim, None
        self.kill_point, self._kill_on_next_request = None, False
        if victim is None:
            raise AssertionError("the drill's kill point came before the engine process started")
        os.kill(victim.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):  # already reaped by asyncio's watcher
            # WNOWAIT: wait for the death but leave the reaping to asyncio.
            os.waitid(os.P_PID, victim.pid, os.WEXITED | os.WNOWAIT)

    def _fill_resting(self, params: Mapping[str, str]) -> None:
        try:
            order = self.book.find(params)
        except BinanceError:
            return
        if order.is_open and order.order_type == "LIMIT":
            self.book.fill(order.order_id)


def _write_plan(folder: Path, server: FakeExchangeServer, drill: Drill) -> None:
    when = CHILD_KILLS.get(drill.kill)
    plan = {"ccxt_config": server.ccxt_config(), "order_types": drill.order_type,
            "point": f"{when}:create_order:{drill.side}" if when else ""}
    (folder / PLAN_FILE).write_text(json.dumps(plan))


async def _run_child_until_killed(folder: Path, server: DrillServer) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with (folder / "child.log").open("w") as log:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.engine.crash_child_wire", str(folder), cwd=ROOT,
            env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)
        server.victim = child
        try:
            return await asyncio.wait_for(child.wait(), timeout=60)
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()


async def _restart(folder: Path, server: FakeExchangeServer, drill: Drill) -> None:
    """A fresh engine on the same database and exchange, from the moment the old one died."""
    clock_file = folder / CLOCK_FILE
    died_at = FileClock(clock_file).now()
    clock = SharedClock(clock_file, died_at)
    commands = make_engine(folder, settings_overrides=wire_settings(server.ccxt_config()),
                           strategy=scripted(LIMIT if drill.order_type == "limit" else MARKET),
                           clock=clock, env=WIRE_ENV)
    try:
        await commands.startup()
        await commands.process()
        await run_for(commands, clock, (END - died_at) // FIVE)
    finally:
        await commands.shutdown()


def _assert_died_at(folder: Path, server: FakeExchangeServer, drill: Drill) -> None:
    """The database and the exchange show the engine died exactly where the drill says."""
    schema.init_db(url_for(folder))
    row = Order.select().where(Order.side == drill.side).order_by(Order.id.desc()).first()
    schema.close_db()
    sent = {r.params.get("newClientOrderId") for r in server.requests_to(ORDER, "POST")}
    placed = {o.client_order_id for o in server.orders()}
    seen = (row.client_order_id in sent, row.client_order_id in placed, row.order_id is not None)
    assert seen == DIED_AT[drill.kill], f"(sent, placed, row updated) = {seen}"


def _commission(order: FakeOrder) -> Decimal:
    return sum((Decimal(f["commission"]) for f in order.fills), Decimal(0))


def _owners(fake: FakeOrder) -> list[Order]:
    return list(Order.select().where(Order.order_id == str(fake.order_id)))


def _assert_one_clean_round_trip(server: FakeExchangeServer) -> None:
    on_exchange = sorted(server.orders(), key=lambda o: o.order_id)
    assert [(o.side, o.status) for o in on_exchange] == [("BUY", "FILLED"), ("SELL", "FILLED")]
    creates = [r.params.get("newClientOrderId") for r in server.requests_to(ORDER, "POST")]
    assert len(creates) == len(set(creates)), f"a create was sent twice: {creates}"
    (trade,) = Trade.select()
    assert not trade.is_open
    assert trade.exit_reason == "exit_signal"
    for fake in on_exchange:
        (row,) = _owners(fake)
        assert (row.trade_id, row.client_order_id, row.status) == (
            trade.id, fake.client_order_id, "filled")
        assert row.filled == float(fake.executed)
    placed = {o.client_order_id for o in on_exchange}
    for row in Order.select().where(Order.order_id.is_null()):
        assert (row.status, row.client_order_id in placed) == ("failed", False)
    buy, sell = on_exchange
    # The buy's fee is paid in ETH (reported or not): the trade holds what arrived, and the
    # exit sells that, cut to the amount step.
    arrived = buy.executed - _commission(buy)
    (entry,) = _owners(buy)
    assert entry.filled - entry.fee_base == pytest.approx(float(arrived), abs=1e-12)
    assert sell.quantity == arrived.quantize(ETH_STEP, rounding=ROUND_DOWN)
    sold, bought_at, sold_at = float(sell.quantity), float(buy.price), float(sell.price)
    expected = sold * sold_at * (1 - FEE) - sold * bought_at * (1 + FEE)
    assert trade.close_profit_abs == pytest.approx(expected, abs=1e-8)


def _fill_while_down(server: DrillServer, drill: Drill) -> None:
    """The market trades through the resting order while the engine is dead."""
    (resting,) = [o for o in server.orders() if o.is_open]
    assert resting.side == drill.side.upper()
    server.fill(resting.order_id)


@pytest.mark.heavy
@pytest.mark.parametrize("drill", DRILLS, ids=str)
async def test_restart_after_sigkill_on_the_wire_neither_duplicates_nor_loses_an_order(
        tmp_path: Path, drill: Drill) -> None:
    SharedClock(tmp_path / CLOCK_FILE, START)
    server = DrillServer(FileClock(tmp_path / CLOCK_FILE), drill, balances={"BTC": 1},
                         frames=shipped_frames([PAIR]), client_timeout=5.0)
    async with server:
        _write_plan(tmp_path, server, drill)
        returncode = await _run_child_until_killed(tmp_path, server)
        log = (tmp_path / "child.log").read_text()
        assert returncode == -signal.SIGKILL, f"the engine was not killed:\n{log[-3000:]}"
        _assert_died_at(tmp_path, server, drill)
        if drill.fill_while_down:
            _fill_while_down(server, drill)
        await _restart(tmp_path, server, drill)
        _assert_one_clean_round_trip(server)
