"""One engine iteration with 100 pairs and 20 open trades on the paper exchange.

Figures: time with no new candle, time with a new candle (strategy included), and peak
memory (RSS) after 100 and after 10,000 iterations. Baseline, same run: one
`fetch_tickers` call for the 100 pairs, the least an iteration must do.
"""

from __future__ import annotations

import asyncio
import json
import resource
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from core.clock import ManualClock
from engine.analysis import Analyzer
from engine.config import parse_config
from engine.control.commands import Commands
from engine.engine import Engine
from engine.events import LogNotifier
from engine.loader import strategy_for
from engine.signals import LiveSignals
from marketdata.cache import CandleCaches
from store import schema
from store.paper_orders import PaperOrders
from store.store import Store
from venues.offline import OfflineMarket
from venues.paper import PaperExchange

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["ETH", "LTC", "XLM", "NXT", "ADA"]
PAIRS = 100
START = datetime(2018, 1, 12, 0, 0, tzinfo=UTC)


def _universe() -> tuple[dict[str, pd.DataFrame], list[dict]]:
    shipped = json.loads((ROOT / "data/markets.json").read_text(encoding="utf-8"))["markets"]
    markets = {m["base"]: m for m in shipped}
    frames, defs = {}, []
    for n in range(PAIRS):
        base = SOURCES[n % len(SOURCES)]
        pair = f"C{n:03d}/BTC"
        frames[pair] = pd.read_feather(ROOT / f"data/ohlcv/{base}_BTC-5m.feather")
        defs.append({**markets[base], "id": f"C{n:03d}BTC", "symbol": pair, "base": f"C{n:03d}",
                     "baseId": f"C{n:03d}"})
    return frames, defs


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _run() -> None:
    database = schema.init_db("sqlite:///:memory:")
    store = Store(database)
    frames, defs = _universe()
    clock = ManualClock(START)
    settings = parse_config({"exchange": {"pair_whitelist": list(frames)}, "max_open_trades": 20,
                             "stake_amount": 0.01, "dry_run_wallet": 10.0}, {})
    strategy = strategy_for(settings)
    market = OfflineMarket(frames, "5m", defs, clock)
    exchange = PaperExchange(market, clock, PaperOrders(database), wallet=10.0,
                             stake_currency="BTC")
    signals = LiveSignals(CandleCaches(exchange, "5m", 200), Analyzer(strategy, "5m"))
    engine = Engine(settings, exchange, strategy, clock, LogNotifier(), signals, store)
    commands = Commands(engine, store)
    await commands.startup()
    await commands.process()
    for pair in commands.entry_pair_choices():
        if commands.count().open_trades >= 20:
            break
        await commands.force_entry(pair)
    baseline = []
    for _ in range(20):
        t = time.perf_counter()
        await market.fetch_tickers(list(frames))
        baseline.append(time.perf_counter() - t)
    quiet, fresh = [], []
    for i in range(40):
        clock.advance(timedelta(seconds=5) if i % 2 else timedelta(minutes=5))
        t = time.perf_counter()
        await commands.process()
        (quiet if i % 2 else fresh).append(time.perf_counter() - t)
    base = statistics.median(baseline)
    print(f"open trades: {commands.count().open_trades}")
    print(f"baseline fetch_tickers(100 pairs): {base * 1e3:.2f} ms")
    for name, values in (("no new candle", quiet), ("new candle", fresh)):
        median = statistics.median(values)
        print(f"iteration, {name}: {median * 1e3:.1f} ms (x{median / base:.0f} baseline)")
    done = 0
    for target in (100, 10_000):
        while done < target:
            clock.advance(timedelta(seconds=1))
            await commands.process()
            done += 1
        print(f"peak RSS after {target} quiet iterations: {_rss_mb():.0f} MB")
    schema.close_db()


def main() -> None:
    asyncio.run(_run())


if __name__ == "__main__":
    main()
