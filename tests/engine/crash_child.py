"""Run the scripted round trip on a database file and SIGKILL this process at one step.

Usage: python -m tests.engine.crash_child DB_DIR WHEN:METHOD:SIDE   (e.g. after:create_order:buy)
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from core.clock import ManualClock
from tests.engine.crash_plan import ROUND_TRIP_STEPS, SETTINGS, START, scripted
from tests.factories import make_engine, run_for
from venues.exchange import Exchange, OrderRequest, OrderSnapshot


class CrashingExchange:
    """Delegates to the real exchange; dies (for real) right before or after one call."""

    def __init__(self, inner: Exchange, when: str, side: str, nth: int = 1) -> None:
        self._inner = inner
        self._when = when
        self._side = side
        self._left = nth  # the nth order of that side (an addition is the second buy)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def create_order(self, request: OrderRequest) -> OrderSnapshot:
        victim = False
        if request.side == self._side:
            self._left -= 1
            victim = self._left == 0
        if self._when == "before" and victim:
            os.kill(os.getpid(), signal.SIGKILL)
        result = await self._inner.create_order(request)
        if self._when == "after" and victim:
            os.kill(os.getpid(), signal.SIGKILL)
        return result


async def main(folder: Path, point: str) -> None:
    when, _method, side = point.split(":")
    clock = ManualClock(START)
    commands = make_engine(folder, settings_overrides=SETTINGS, strategy=scripted(), clock=clock,
                           wrap=lambda inner: CrashingExchange(inner, when, side))  # type: ignore[arg-type,return-value]
    await commands.startup()
    await run_for(commands, clock, ROUND_TRIP_STEPS)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
