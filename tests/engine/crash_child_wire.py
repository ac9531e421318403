"""Run the scripted round trip live through the real ccxt binance client, against a fake
Binance that lives in the parent process (so the exchange outlives this one), and SIGKILL
this process at one step on our side of the wire. The kill points inside the exchange are
the parent's (tests/engine/test_crash_restart_wire.py).

Usage: python -m tests.engine.crash_child_wire DB_DIR
DB_DIR/plan.json: {"ccxt_config": {...}, "order_types": "market" | "limit",
                   "point": "WHEN:create_order:SIDE[:NTH]" (e.g. before:create_order:buy) or "",
                   "adjusting": true for the round trip with an addition and a partial exit}
The engine's time is published to DB_DIR/clock for the fake exchange.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from tests.engine.crash_child import CrashingExchange
from tests.engine.crash_plan import (
    LIMIT,
    MARKET,
    ROUND_TRIP_STEPS,
    START,
    WIRE_ENV,
    SharedClock,
    adjusting,
    scripted,
    wire_settings,
)
from tests.factories import make_engine, run_for
from venues.exchange import Exchange

PLAN_FILE = "plan.json"
CLOCK_FILE = "clock"


async def main(folder: Path) -> None:
    plan = json.loads((folder / PLAN_FILE).read_text())
    clock = SharedClock(folder / CLOCK_FILE, START)
    wrap = None
    if plan["point"]:
        when, _method, side, *nth = plan["point"].split(":")

        def wrap(inner: Exchange) -> Exchange:
            return CrashingExchange(inner, when, side, int(nth[0]) if nth else 1)

    order_types = LIMIT if plan["order_types"] == "limit" else MARKET
    strategy = adjusting(order_types) if plan.get("adjusting") else scripted(order_types)
    commands = make_engine(folder, settings_overrides=wire_settings(plan["ccxt_config"]),
                           strategy=strategy, clock=clock, env=WIRE_ENV, wrap=wrap)
    try:
        await commands.startup()
        await run_for(commands, clock, ROUND_TRIP_STEPS)
    finally:
        await commands.shutdown()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
