"""Data refresh for 100 pairs against the local fake Binance: API requests and time per iteration.

One iteration is what the engine does for market data: `CandleCache.refresh` (5m candles) plus
`fetch_tickers` for every pair, through the real ccxt binance class and `CcxtExchange`. Two
cases: no new candle (the usual iteration, a few seconds after the previous one) and a new
candle for every pair. Each runs twice: with binance's own ccxt rate limit (50 ms per request
weight, what a live bot pays) and with the limiter at 1 ms, which leaves the cost of our code,
ccxt and the local HTTP round trips. The baseline, measured in the same run, is one ticker
fetched through the same stack (a plain aiohttp GET of it is printed too); ratios are iteration
time / baseline.

With binance's limits the time is the limiter's: ccxt charges each request's weight as a delay
before the next request, and idle time between iterations is not credited (its leaky bucket
refills only while requests wait). A ticker request for 100 symbols weighs 16 (0.8 s), a klines
request 0.4 (20 ms).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import aiohttp

from core.clock import ManualClock
from marketdata.cache import CandleCache
from tests.fakes import FakeExchangeServer, RecordingSleep, generated_markets
from venues.ccxt_exchange import CcxtExchange

PAIRS = 100
STARTUP_CANDLES = 200
QUIET_ITERATIONS = 10
NEW_CANDLE_ITERATIONS = 5
BASELINE_ROUNDS = 10


async def _timed(
    server: FakeExchangeServer, step: Callable[[], Awaitable[object]]
) -> tuple[float, Counter[str]]:
    before = len(server.requests)
    started = time.perf_counter()
    await step()
    elapsed = time.perf_counter() - started
    return elapsed, Counter(r.path.rsplit("/", 1)[-1] for r in server.requests[before:])


async def _baseline(url: str) -> float:
    """One plain HTTP round trip to the same server (aiohttp GET of one ticker), no ccxt."""
    times = []
    async with aiohttp.ClientSession() as session:
        for _ in range(BASELINE_ROUNDS):
            started = time.perf_counter()
            async with session.get(f"{url}/api/v3/ticker/24hr?symbol=C000USDT") as response:
                await response.read()
            times.append(time.perf_counter() - started)
    return statistics.median(times)


async def _ticker_round_trip(exchange: CcxtExchange, clock: ManualClock, pair: str) -> float:
    """One ticker through the whole stack: our adapter, ccxt and its limiter, the fake."""
    times = []
    for _ in range(BASELINE_ROUNDS):
        clock.advance(timedelta(seconds=5))  # past the ticker cache
        started = time.perf_counter()
        await exchange.fetch_tickers([pair])
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def _scenario(
    server: FakeExchangeServer,
    iteration: Callable[[], Awaitable[object]],
    advance: Callable[[], None],
    rounds: int,
) -> tuple[list[float], Counter[str]]:
    times: list[float] = []
    requests: Counter[str] = Counter()
    for _ in range(rounds):
        advance()
        elapsed, counted = await _timed(server, iteration)
        times.append(elapsed)
        requests += counted
    return times, requests


async def _run(rate_limit_ms: float) -> list[str]:
    clock = ManualClock(datetime(2024, 3, 1, 0, 0, 20, tzinfo=UTC))
    markets = generated_markets(PAIRS)
    pairs = [m.pair for m in markets]
    async with FakeExchangeServer(
        clock, markets=markets, client_timeout=10, rate_limit_ms=rate_limit_ms
    ) as server:
        exchange = server.ccxt_exchange(sleep=RecordingSleep())
        await exchange.load_markets()
        cache = CandleCache(exchange, "5m", startup_candles=STARTUP_CANDLES)
        first_fill, first_requests = await _timed(server, lambda: cache.refresh(pairs, clock.now()))
        await exchange.fetch_tickers(pairs)
        plain = await _baseline(server.url)
        baseline = await _ticker_round_trip(exchange, clock, pairs[0])

        async def iteration() -> None:
            await cache.refresh(pairs, clock.now())
            await exchange.fetch_tickers(pairs)

        clock.set(datetime(2024, 3, 1, 0, 5, 1, tzinfo=UTC))
        await iteration()  # the candle of 00:00 closes; from here on none closes for 5 minutes
        quiet = await _scenario(
            server, iteration, lambda: clock.advance(timedelta(seconds=5)), QUIET_ITERATIONS
        )
        clock.set(datetime(2024, 3, 1, 0, 10, 1, tzinfo=UTC))
        fresh = await _scenario(
            server,
            iteration,
            lambda: clock.advance(timedelta(minutes=5)),
            NEW_CANDLE_ITERATIONS,
        )
    label = f"rate limit {rate_limit_ms:g} ms"
    return [
        f"{label:<18} first fill ({STARTUP_CANDLES} candles/pair): "
        f"{_requests(first_requests, 1)} requests, {first_fill * 1000:.0f} ms",
        f"{label:<18} baseline, one ticker via CcxtExchange: {baseline * 1000:.2f} ms "
        f"(a plain aiohttp GET of it: {plain * 1000:.2f} ms)",
        _line(label, "no new candle", quiet, QUIET_ITERATIONS, baseline),
        _line(label, "new candle", fresh, NEW_CANDLE_ITERATIONS, baseline),
    ]


def _requests(counted: Counter[str], rounds: int) -> str:
    total = sum(counted.values()) / rounds
    parts = ", ".join(f"{path} {n / rounds:g}" for path, n in sorted(counted.items()))
    return f"{total:g} ({parts})" if parts else "0"


def _line(
    label: str, case: str, result: tuple[list[float], Counter[str]], rounds: int, baseline: float
) -> str:
    times, counted = result
    mean = statistics.mean(times)
    return (
        f"{label:<18} {case:<14} requests/iteration {_requests(counted, rounds)}; "
        f"time/iteration mean {mean * 1000:.1f} ms, "
        f"median {statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms "
        f"= {mean / baseline:.1f}x baseline"
    )


def main() -> None:
    print(f"data refresh: {PAIRS} pairs, 5m candles + tickers, local fake Binance via ccxt binance")
    for rate_limit in (50.0, 1.0):
        for line in asyncio.run(_run(rate_limit)):
            print(line, flush=True)


if __name__ == "__main__":
    main()
