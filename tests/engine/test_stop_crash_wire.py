"""Kill the engine for real (SIGKILL) while it moves its stop order on the exchange: the
trailing stop rose, so the old stop is cancelled and a new one placed. Whatever the step,
the restarted engine ends with exactly one stop resting at the risen price: never two on the
exchange at once, no create sent twice, and none missing once the restart's first iteration
ran.

The steps of a move, and who kills the engine between them:
  cancel_received  the exchange cancelled the stop, its answer never arrived  (the exchange)
  after_cancel     the answer arrived, the new stop's row is not written yet  (the engine)
  before_place     the new stop's row is committed, its create not sent yet   (the engine)
  place_received   the exchange placed the new stop, its answer never arrived (the exchange)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from core.clock import Clock
from store.models import Order, Trade
from tests.engine.crash_plan import FIVE, PAIR, START, WIRE_ENV, FileClock, SharedClock
from tests.engine.crash_plan import wire_settings as wire
from tests.engine.stop_crash_child import CLOCK_FILE, PLAN_FILE, STEPS, trailing_strategy
from tests.factories import make_engine, run_for
from tests.fakes import FakeExchangeServer, shipped_frames

ROOT = Path(__file__).resolve().parents[2]
ORDER = "/api/v3/order"
RISE_AT = datetime(2018, 1, 11, 6, 20, tzinfo=UTC)
CHILD_KILLS = ("after_cancel", "before_place")
SERVER_KILLS = ("cancel_received", "place_received")


class MovingMarket(FakeExchangeServer):
    """ETH/BTC pinned at 0.088, 5% higher from RISE_AT on (the trailing stop rises); kills the
    engine at one step of the stop's move, and records the most stops ever resting at once."""

    def __init__(self, clock: Clock, kill: str) -> None:
        super().__init__(clock, balances={"BTC": 1}, frames=shipped_frames([PAIR]),
                         client_timeout=5.0)
        self.kill = kill if kill in SERVER_KILLS else None
        self.victim: asyncio.subprocess.Process | None = None
        self.most_resting = 0
        self.book.set_price(PAIR, 0.088)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if self.book.clock.now() >= RISE_AT and self.book.prices[PAIR][0] < Decimal("0.0924"):
            self.book.set_price(PAIR, 0.0924)
        return await super()._dispatch(request)

    def _stops(self) -> list[Any]:
        return [o for o in self.orders(PAIR) if o.order_type == "STOP_LOSS_LIMIT"]

    def _place(self, params: Mapping[str, str]) -> Any:
        answer = super()._place(params)
        self.most_resting = max(self.most_resting, sum(o.is_open for o in self._stops()))
        moved = len(self._stops()) > 1
        if self.kill == "place_received" and params.get("type") == "STOP_LOSS_LIMIT" and moved:
            self._kill()
        return answer

    def _cancel(self, params: Mapping[str, str]) -> Any:
        answer = super()._cancel(params)
        if self.kill == "cancel_received":
            self._kill()
        return answer

    def _kill(self) -> None:
        victim, self.victim, self.kill = self.victim, None, None
        assert victim is not None, "the kill point came before the engine started"
        os.kill(victim.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitid(os.P_PID, victim.pid, os.WEXITED | os.WNOWAIT)


async def _run_child(folder: Path, server: MovingMarket, point: str) -> int:
    plan = {"ccxt_config": server.ccxt_config(), "point": point if point in CHILD_KILLS else ""}
    (folder / PLAN_FILE).write_text(json.dumps(plan))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with (folder / "child.log").open("w") as log:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.engine.stop_crash_child", str(folder), cwd=ROOT,
            env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)
        server.victim = child
        try:
            return await asyncio.wait_for(child.wait(), timeout=60)
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()


@pytest.mark.heavy
@pytest.mark.parametrize("kill", [*SERVER_KILLS[:1], *CHILD_KILLS, *SERVER_KILLS[1:]])
async def test_a_stop_move_killed_at_any_step_leaves_one_stop_no_duplicate_no_gap(
        tmp_path: Path, kill: str) -> None:
    SharedClock(tmp_path / CLOCK_FILE, START)
    server = MovingMarket(FileClock(tmp_path / CLOCK_FILE), kill)
    async with server:
        code = await _run_child(tmp_path, server, kill)
        log = (tmp_path / "child.log").read_text()
        assert code == -signal.SIGKILL, f"the engine was not killed:\n{log[-3000:]}"
        died_at = FileClock(tmp_path / CLOCK_FILE).now()
        assert died_at == RISE_AT  # at the move, not before or after
        clock = SharedClock(tmp_path / CLOCK_FILE, died_at)
        commands = make_engine(tmp_path, settings_overrides=wire(server.ccxt_config()),
                               strategy=trailing_strategy(), clock=clock, env=WIRE_ENV)
        await commands.startup()
        await commands.process()
        open_stops = [o for o in server.orders(PAIR) if o.is_open]
        await run_for(commands, clock, STEPS - (died_at - START) // FIVE)
        await commands.shutdown()

    (trade,) = Trade.select()
    assert trade.is_open
    # The trailing stop follows the exit price, as Freqtrade's live bot moves it: the ask
    # (exit_pricing "same"), the fake's 0.05% above the risen last price.
    assert trade.stop_loss == pytest.approx(0.0924 * 1.0005 * 0.97, abs=1e-6)
    # No gap: the first iteration after the restart has the risen stop resting.
    assert [(o.order_type, float(o.stop_price)) for o in open_stops] == [
        ("STOP_LOSS_LIMIT", trade.stop_loss)]
    stops = [o for o in server.orders(PAIR) if o.order_type == "STOP_LOSS_LIMIT"]
    assert [o.status for o in stops] == ["CANCELED", "NEW"]
    assert server.most_resting == 1
    creates = [r.params.get("newClientOrderId") for r in server.requests_to(ORDER, "POST")]
    assert len(creates) == len(set(creates)), f"a create was sent twice: {creates}"
    rows = list(Order.select().where(Order.ft_order_side == "stoploss").order_by(Order.id))
    live = [r for r in rows if r.order_id is not None]
    assert [(r.order_id, r.status) for r in live] == [(str(o.order_id), s) for o, s in
                                                      zip(stops, ("canceled", "open"),
                                                          strict=True)]
    assert all(r.status == "failed" for r in rows if r.order_id is None)
