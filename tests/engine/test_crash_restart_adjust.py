"""Kill the engine for real (SIGKILL) between every two steps of an adjustment order: the
addition (the trade's second buy) and the partial exit (its first sell), live through the
real ccxt binance client against the fake Binance of this process. A fresh engine on the same
database and exchange must end with exactly two buys and two sells, each owned by one order
row of the one closed trade, and the trade's figures those of its orders.

The steps and who kills are those of test_crash_restart_wire.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core.clock import Clock
from store import schema
from store.models import Order, Trade
from tests.databases import url_for
from tests.engine.crash_child_wire import CLOCK_FILE, PLAN_FILE
from tests.engine.crash_plan import (
    END,
    FIVE,
    MARKET,
    PAIR,
    START,
    WIRE_ENV,
    FileClock,
    SharedClock,
    adjusting,
    wire_settings,
)
from tests.engine.test_crash_restart_wire import CHILD_KILLS, DIED_AT, ORDER, STEPS, Drill
from tests.engine.test_crash_restart_wire import DrillServer as FirstOrderDrillServer
from tests.factories import make_engine, run_for
from tests.fakes import FakeExchangeServer, shipped_frames

ROOT = Path(__file__).resolve().parents[2]
FEE = Decimal("0.001")


@dataclass(frozen=True, slots=True)
class AdjustDrill:
    side: str  # "buy": the addition (second buy), "sell": the partial exit (first sell)
    kill: str

    @property
    def nth(self) -> int:
        return 2 if self.side == "buy" else 1

    def __str__(self) -> str:
        return f"{'addition' if self.side == 'buy' else 'partial-exit'}-{self.kill}"


DRILLS = [AdjustDrill(side, kill) for side in ("buy", "sell") for kill in STEPS]


class DrillServer(FirstOrderDrillServer):
    """Kills at the drill's step of the nth order of its side."""

    def __init__(self, clock: Clock, drill: AdjustDrill, **kwargs: Any) -> None:
        super().__init__(clock, Drill(drill.side, drill.kill), **kwargs)
        self._skip = drill.nth - 1

    def _place(self, params: Mapping[str, str]) -> Any:
        if params.get("side") == self.kill_side and self._skip:
            self._skip -= 1
            return FakeExchangeServer._place(self, params)
        return super()._place(params)


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


def _adjusted_row(folder: Path, drill: AdjustDrill) -> Order:
    schema.init_db(url_for(folder))
    try:
        rows = list(Order.select().where(Order.side == drill.side).order_by(Order.id))
        return rows[drill.nth - 1]
    finally:
        schema.close_db()


def by_hand(orders: list[Order]) -> Decimal:
    """The realized profit of the trade's orders, Freqtrade's recalc written out."""
    amount = stake = realized = Decimal(0)
    for order in orders:
        filled = Decimal(repr(order.filled - (order.fee_base or 0.0)))
        price = Decimal(repr(order.average or order.price))
        if filled <= 0:
            continue
        if order.is_entry:
            amount, stake = amount + filled, stake + filled * price
        else:
            average = stake / amount
            realized += (filled * price * (1 - FEE) - filled * average * (1 + FEE)).quantize(
                Decimal("1e-8"))
            amount -= filled
            stake = average * amount
    return realized


@pytest.mark.heavy
@pytest.mark.parametrize("drill", DRILLS, ids=str)
async def test_restart_after_sigkill_inside_an_adjustment_neither_duplicates_nor_loses_one(
        tmp_path: Path, drill: AdjustDrill) -> None:
    SharedClock(tmp_path / CLOCK_FILE, START)
    server = DrillServer(FileClock(tmp_path / CLOCK_FILE), drill, balances={"BTC": 1},
                         frames=shipped_frames([PAIR]), client_timeout=5.0)
    async with server:
        when = CHILD_KILLS.get(drill.kill)
        point = f"{when}:create_order:{drill.side}:{drill.nth}" if when else ""
        (tmp_path / PLAN_FILE).write_text(json.dumps({
            "ccxt_config": server.ccxt_config(), "order_types": "market", "point": point,
            "adjusting": True}))
        returncode = await _run_child_until_killed(tmp_path, server)
        log = (tmp_path / "child.log").read_text()
        assert returncode == -signal.SIGKILL, f"the engine was not killed:\n{log[-3000:]}"
        row = _adjusted_row(tmp_path, drill)
        sent = {r.params.get("newClientOrderId") for r in server.requests_to(ORDER, "POST")}
        placed = {o.client_order_id for o in server.orders()}
        seen = (row.client_order_id in sent, row.client_order_id in placed,
                row.order_id is not None)
        assert seen == DIED_AT[drill.kill], f"(sent, placed, row updated) = {seen}"

        clock = SharedClock(tmp_path / CLOCK_FILE, FileClock(tmp_path / CLOCK_FILE).now())
        commands = make_engine(tmp_path, settings_overrides=wire_settings(server.ccxt_config()),
                               strategy=adjusting(MARKET), clock=clock, env=WIRE_ENV)
        try:
            await commands.startup()
            await commands.process()
            await run_for(commands, clock, (END - clock.now()) // FIVE)
        finally:
            await commands.shutdown()

        on_exchange = sorted(server.orders(), key=lambda o: o.order_id)
        assert [(o.side, o.status) for o in on_exchange] == [
            ("BUY", "FILLED"), ("BUY", "FILLED"), ("SELL", "FILLED"), ("SELL", "FILLED")]
        creates = [r.params.get("newClientOrderId") for r in server.requests_to(ORDER, "POST")]
        assert len(creates) == len(set(creates)), f"a create was sent twice: {creates}"
        (trade,) = Trade.select()
        assert not trade.is_open
        assert trade.exit_reason == "exit_signal"
        for fake in on_exchange:
            (owner,) = Order.select().where(Order.order_id == str(fake.order_id))
            assert (owner.trade_id, owner.client_order_id, owner.status) == (
                trade.id, fake.client_order_id, "filled")
            assert owner.filled == float(fake.executed)
        for stray in Order.select().where(Order.order_id.is_null()):
            assert (stray.status, stray.client_order_id in placed) == ("failed", False)
        rows = list(trade.orders.order_by(Order.id))
        assert [o.ft_order_tag for o in rows if o.status == "filled"] == [
            None, "add", "part", "exit_signal"]
        assert trade.close_profit_abs == pytest.approx(float(by_hand(rows)), abs=1e-8)
        bought = sum(o.executed - sum(Decimal(f["commission"]) for f in o.fills)
                     for o in on_exchange if o.side == "BUY")
        assert sum(o.executed for o in on_exchange if o.side == "SELL") <= bought
        schema.close_db()
