"""The headless loop (Telegram disabled) keeps its period: an iteration starts every
`process_throttle_secs` however long the last one took, and one that overran is followed at
once rather than a whole period later. It waited the period after each iteration, so a loop
of 1 s with iterations of 0.4 s ran every 1.4 s."""

from __future__ import annotations

import asyncio
import os
import signal
from itertools import pairwise

import bot
from service import heartbeat
from tests.factories import make_settings


class Timed:
    """The command API's loop face: start-up, iterations that take given times, shutdown.
    SIGTERM, as systemd sends it, after the last."""

    def __init__(self, durations: list[float]) -> None:
        self.durations = durations
        self.starts: list[float] = []
        self.shut = False

    async def startup(self) -> None:
        return None

    async def process(self) -> None:
        loop = asyncio.get_running_loop()
        self.starts.append(loop.time())
        await asyncio.sleep(self.durations[len(self.starts) - 1])
        if len(self.starts) == len(self.durations):
            os.kill(os.getpid(), signal.SIGTERM)

    async def shutdown(self) -> None:
        self.shut = True


async def test_iterations_start_every_period_whatever_they_take() -> None:
    settings = make_settings({"internals": {"process_throttle_secs": 0.5}})
    timed = Timed([0.2, 0.2, 0.7, 0.1, 0.1])

    quiet = heartbeat.from_environment({}, sd_notify=None, throttle_secs=0.5, log_every=0,
                                       state=lambda: "running", version="test")
    await bot._headless(timed, settings, quiet)  # type: ignore[arg-type]

    gaps = [b - a for a, b in pairwise(timed.starts)]
    assert [round(g, 1) for g in gaps] == [0.5, 0.5, 0.7, 0.5]
    assert timed.shut
