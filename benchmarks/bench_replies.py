"""Reply latency of chat commands, from `process_update` to the last sendMessage the fake
Telegram records: /status with 50 open trades and /profit with 5,000 closed trades, against
/version (no database) in the same run as the baseline.

The real Application, handlers and engine (factory: offline market, paper exchange, SQLite
file in WAL mode) answer; only the Telegram transport is the in-process fake. Trades are
inserted straight into the database. Runs are spaced so that the rate limiter's bucket
(30 messages a second) is empty at the start of each run: what is measured is our work.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from tests.factories import run_for
from tests.fakes.telegram import Chat, drive, make_command_update, open_chat, seed_trades

RUNS = 15
PAIRS = ["ETH/BTC", "LTC/BTC", "XLM/BTC", "NXT/BTC", "ADA/BTC"]


async def _latency(chat: Chat, command: str) -> tuple[float, int]:
    """Milliseconds until the last part of the reply was sent, and how many parts there were."""
    before = len(chat.tg.messages)
    started = time.perf_counter()
    await drive(chat.app, make_command_update(command))
    parts = chat.tg.messages[before:]
    return (parts[-1].at - started) * 1000, len(parts)


async def _measure(chat: Chat, command: str) -> str:
    timings = []
    parts = 0
    for _ in range(RUNS):
        took, parts = await _latency(chat, command)
        timings.append(took)
        await asyncio.sleep(0.05 + 0.04 * parts)  # let the rate limiter's bucket drain
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    return (f"{command:<10} median {statistics.median(timings):7.2f} ms   p95 {p95:7.2f} ms   "
            f"max {timings[-1]:7.2f} ms   ({parts} message{'s' if parts > 1 else ''})")


async def _run(directory: Path) -> list[str]:
    async with open_chat(directory) as chat:
        await run_for(chat.commands, chat.commands.engine.clock, 1)
        now = chat.commands.engine.clock.now()
        lines = [await _measure(chat, "/version")]
        store = chat.commands.store
        seed_trades(store, 50, is_open=True, start=now - timedelta(days=3), pairs=PAIRS)
        lines.append(await _measure(chat, "/status"))
        lines.append(await _measure(chat, "/status table"))
        seed_trades(store, 5000, is_open=False, start=now - timedelta(days=400), pairs=PAIRS)
        lines.append(await _measure(chat, "/profit"))
        lines.append(await _measure(chat, "/daily"))
    return lines


def main() -> None:
    print(f"reply latency over {RUNS} runs each (50 open trades for /status, "
          "then 5,000 closed trades for /profit and /daily)")
    with tempfile.TemporaryDirectory() as directory:
        for line in asyncio.run(_run(Path(directory))):
            print(line)


if __name__ == "__main__":
    main()
