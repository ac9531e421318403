"""Start-up and the steady iteration, in dry-run and live, over real ccxt against the local fake
Binance (tests/fakes) with Binance's own rate limit (50 ms per weight unit).

Figures for 3, 20 and 100 pairs: the requests the start-up and the first iteration send (by
path) and the time until the first iteration has run; then the requests of a steady iteration
(no new candle, the ticker cache expired) and its time. Baseline, same run and same client:
one `fetch_tickers` call for all the pairs, the least an iteration must ask.
`LOOP_MINUTES=10` adds the loop period with 20 pairs over that long (the job queue's schedule,
5 s between iterations), as the median and the longest gap between iteration starts.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import time
from collections import Counter
from typing import Any

from compose import build_commands, build_exchange
from core.clock import SystemClock
from engine.config import parse_config
from engine.events import LogNotifier
from store import schema
from store.paper_orders import PaperOrders
from store.store import Store
from tests.engine.scripted import Scripted
from tests.fakes import FakeExchangeServer
from tests.fakes.binance_book import generated_markets

BINANCE_RATE_LIMIT_MS = 50
THROTTLE = 5.0
TICKER_TTL = 2.1  # the live venue's ticker cache (2 s): past it, an iteration asks again


def _settings(server: FakeExchangeServer, pairs: list[str], live: bool) -> Any:
    keys = {"EXCHANGE_API_KEY": "bench-key", "EXCHANGE_API_SECRET": "bench-secret"}
    return parse_config({
        "dry_run": not live, "stake_currency": "USDT", "stake_amount": 10, "max_open_trades": 5,
        "dry_run_wallet": 1000,
        "exchange": {"name": "binance", "pair_whitelist": pairs,
                     "ccxt_config": server.ccxt_config()},
        "internals": {"process_throttle_secs": THROTTLE},
    }, keys if live else {})  # fmt: skip


def _by_path(server: FakeExchangeServer, since: int) -> str:
    counts = Counter(r.path.rsplit("/", 1)[-1] for r in server.requests[since:])
    return ", ".join(f"{path} {n}" for path, n in counts.most_common())


async def _case(count: int, loop_minutes: float, live: bool) -> None:
    clock = SystemClock()
    markets = generated_markets(count)
    pairs = [m.pair for m in markets]
    async with FakeExchangeServer(clock, markets=markets, balances={"USDT": 1000},
                                  rate_limit_ms=BINANCE_RATE_LIMIT_MS,
                                  client_timeout=10) as server:
        settings = _settings(server, pairs, live)
        strategy = Scripted()
        strategy.apply_overrides(settings.strategy_overrides())
        database = schema.init_db("sqlite:///:memory:")
        exchange = build_exchange(settings, strategy.timeframe, clock, PaperOrders(database))
        commands = build_commands(settings, strategy, exchange, clock, LogNotifier(),
                                  Store(database))
        try:
            began = time.perf_counter()
            await commands.startup()
            await commands.process()
            first = time.perf_counter() - began
            start_requests = len(server.requests)
            mode = "live   " if live else "dry-run"
            print(f"  {mode} {count:>3} pairs  start-up + first iteration: "
                  f"{start_requests:>3} requests, {first:6.2f} s  ({_by_path(server, 0)})")
            steady, mark = [], 0
            for _ in range(3):
                await asyncio.sleep(TICKER_TTL)
                mark, began = len(server.requests), time.perf_counter()
                await commands.process()
                steady.append((len(server.requests) - mark, time.perf_counter() - began))
            paths = _by_path(server, mark)
            await asyncio.sleep(TICKER_TTL)
            began = time.perf_counter()
            await exchange.fetch_tickers(pairs)
            baseline = time.perf_counter() - began
            print(f"                    steady iteration: {steady[-1][0]} requests, "
                  f"{statistics.median(s for _, s in steady):.3f} s ({paths}); "
                  f"baseline one fetch_tickers: {baseline:.3f} s")
            if loop_minutes:
                await _loop_period(commands, loop_minutes)
        finally:
            await commands.shutdown()
            schema.close_db()


async def _loop_period(commands: Any, minutes: float) -> None:
    """Iterations on a fixed 5 s schedule, as the job queue runs them; gaps between starts."""
    starts: list[float] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + minutes * 60
    next_start = loop.time()
    while next_start < end:
        await asyncio.sleep(max(0.0, next_start - loop.time()))
        starts.append(loop.time())
        await commands.process()
        next_start += THROTTLE
        while next_start < loop.time():
            next_start += THROTTLE
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    print(f"            loop over {minutes:g} min: {len(starts)} iterations, period median "
          f"{statistics.median(gaps):.2f} s, longest {max(gaps):.2f} s (schedule {THROTTLE} s)")


def main() -> None:
    loop_minutes = float(os.environ.get("LOOP_MINUTES", "0"))
    print("start-up over the fake Binance (rate limit 50 ms a weight unit)")
    for live in (False, True):
        for count in (3, 20, 100):
            asyncio.run(_case(count, loop_minutes if count == 20 and not live else 0, live))


if __name__ == "__main__":
    main()
