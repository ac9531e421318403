"""Trade live (real ccxt binance) with the stop on the exchange and a trailing stop, against a
fake Binance in the parent process, and SIGKILL this process at one step of moving the stop
on our side of the wire (the exchange's kill points are the parent's:
tests/engine/test_stop_crash_wire.py).

Usage: python -m tests.engine.stop_crash_child DB_DIR
DB_DIR/plan.json: {"ccxt_config": {...}, "point": "after_cancel" | "before_place" | ""}
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.engine.crash_plan import PAIR, START, WIRE_ENV, SharedClock, wire_settings
from tests.engine.scripted import Scripted
from tests.factories import make_engine, run_for
from venues.exchange import Exchange, OrderRequest, OrderSnapshot

PLAN_FILE = "plan.json"
CLOCK_FILE = "clock"
STEPS = 24  # 05:05 .. 07:00: the entry at 06:05, the price up at 06:20
TRAILING = {"entry": "market", "exit": "market", "stoploss": "limit",
            "stoploss_on_exchange": True, "stoploss_on_exchange_interval": 60}


def trailing_strategy() -> Scripted:
    return Scripted(enter={PAIR: [datetime(2018, 1, 11, 6, 0, tzinfo=UTC)]}, stoploss=-0.03,
                    trailing_stop=True, order_types=TRAILING)


class DiesMovingTheStop:
    """The real exchange, killing this process right after a stop's cancel was answered
    (`after_cancel`) or right before the stop that replaces it is sent (`before_place`)."""

    def __init__(self, inner: Exchange, point: str) -> None:
        self._inner = inner
        self._point = point
        self._cancelled = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def cancel_order(self, pair: str, order_id: str) -> OrderSnapshot:
        answer = await self._inner.cancel_order(pair, order_id)
        self._cancelled = answer.stop_price is not None
        if self._cancelled and self._point == "after_cancel":
            os.kill(os.getpid(), signal.SIGKILL)
        return answer

    async def create_order(self, request: OrderRequest) -> OrderSnapshot:
        if self._cancelled and request.stop_price is not None and self._point == "before_place":
            os.kill(os.getpid(), signal.SIGKILL)
        return await self._inner.create_order(request)


async def main(folder: Path) -> None:
    plan = json.loads((folder / PLAN_FILE).read_text())
    clock = SharedClock(folder / CLOCK_FILE, START)
    point = plan["point"]

    def wrap(inner: Exchange) -> Exchange:
        return DiesMovingTheStop(inner, point) if point else inner  # type: ignore[return-value]

    commands = make_engine(folder, settings_overrides=wire_settings(plan["ccxt_config"]),
                           strategy=trailing_strategy(), clock=clock, env=WIRE_ENV, wrap=wrap)
    try:
        await commands.startup()
        await run_for(commands, clock, STEPS)
    finally:
        await commands.shutdown()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
