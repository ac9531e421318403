"""The live iteration's database time on SQLite and on PostgreSQL.

The engine of bench_engine.py (100 pairs, 20 open trades on the paper exchange, whose order
book is in the same database), once on a SQLite file opened as the bot opens it (WAL,
synchronous=full) and once on PostgreSQL over TCP on 127.0.0.1 with its default durability
(fsync, synchronous_commit on): TRADEPILOT_BENCH_POSTGRES_URL names an empty database to use,
otherwise a throwaway server is started (Debian's package, as tests/pgserver.py does).

Database time is what the iteration spends in the driver: statements, BEGIN and COMMIT (row
fetching on SQLite, which is lazy, is left out; psycopg fetches with the statement).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.bench_engine import START, _universe
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

URL_ENV = "TRADEPILOT_BENCH_POSTGRES_URL"
ITERATIONS = 40


class Stopwatch:
    """Time spent in the methods through which every statement and transaction passes."""

    def __init__(self) -> None:
        self.spent = 0.0
        self.calls = 0

    def reset(self) -> None:
        self.spent, self.calls = 0.0, 0

    @contextmanager
    def timing(self) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.spent += time.perf_counter() - began
            self.calls += 1


def timed(database: Any, watch: Stopwatch) -> Any:
    """`database`'s class, its driver calls timed by `watch`."""

    class Timed(type(database)):  # type: ignore[misc]
        def execute_sql(self, *args: Any, **kwargs: Any) -> Any:
            with watch.timing():
                return super().execute_sql(*args, **kwargs)

        def begin(self, *args: Any, **kwargs: Any) -> Any:
            with watch.timing():
                return super().begin(*args, **kwargs)

        def commit(self) -> Any:
            with watch.timing():
                return super().commit()

        def rollback(self) -> Any:
            with watch.timing():
                return super().rollback()

    database.__class__ = Timed
    return database


async def measure(url: str) -> dict[str, float]:
    """Per new-candle iteration: the median iteration time, the mean and the largest database
    time, the driver calls; per entry of the first iteration (a trade, its order and the paper
    exchange's order written): the database time."""
    watch = Stopwatch()
    database = timed(schema.init_db(url), watch)
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
    watch.reset()
    await commands.process()  # the strategy's signals fill the 20 slots at once
    entries = watch.spent / max(commands.count().open_trades, 1)
    for pair in commands.entry_pair_choices():
        if commands.count().open_trades >= 20:
            break
        await commands.force_entry(pair)
    totals, in_database, calls = [], [], []
    for _ in range(ITERATIONS):
        clock.advance(timedelta(minutes=5))
        watch.reset()
        began = time.perf_counter()
        await commands.process()
        totals.append(time.perf_counter() - began)
        in_database.append(watch.spent)
        calls.append(watch.calls)
    schema.close_db()
    return {"iteration": statistics.median(totals), "mean": statistics.fmean(in_database),
            "max": max(in_database), "calls": statistics.fmean(calls),
            "entry": entries}


@contextmanager
def postgres_url() -> Iterator[str]:
    given = os.environ.get(URL_ENV)
    if given:
        yield given
        return
    from tests.pgserver import PostgresServer

    server = PostgresServer()
    command = [str(server.bin / "pg_ctl"), "-D", str(server.data), "-l", str(server.log),
               "-o", f"-p {server.port} -k {server.root} -c listen_addresses=127.0.0.1",
               "-w", "start"]  # the server's defaults: fsync and synchronous commit on
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True, cwd=server.root)
    try:
        yield server.create_database("bench")
    finally:
        server.remove()


async def _run() -> None:
    with tempfile.TemporaryDirectory() as folder, postgres_url() as url:
        for name, where in (("SQLite file", f"sqlite:///{Path(folder) / 'bench.sqlite'}"),
                            ("PostgreSQL", url)):
            got = await measure(where)
            print(f"{name}: new-candle iteration {got['iteration'] * 1e3:.0f} ms (median), "
                  f"database {got['mean'] * 1e3:.2f} ms mean, {got['max'] * 1e3:.1f} ms max "
                  f"({got['calls']:.1f} driver calls); an entry: database "
                  f"{got['entry'] * 1e3:.1f} ms")


def main() -> None:
    asyncio.run(_run())


if __name__ == "__main__":
    main()
