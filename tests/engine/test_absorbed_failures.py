"""Exchange failures that a part of the iteration absorbs still reach the owner, once per
outage: the composition root hands the engine the watched exchange's failures."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest
from peewee import Database

from compose import build_exchange
from core.clock import ManualClock
from core.errors import TemporaryError
from engine.events import LogNotifier, WarningNotice
from store.paper_orders import PaperOrders
from tests.factories import DATA_START, make_engine, make_settings, run_for
from venues.exchange import Exchange
from venues.watched import WatchedExchange

OUTAGE = "binance GET klines: 503 Service Unavailable"


class CandleOutage:
    """An exchange whose candles are unavailable while `down`."""

    def __init__(self, inner: Exchange) -> None:
        self._inner = inner
        self.down = False

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    async def fetch_ohlcv(self, pair: str, timeframe: str, since: datetime | None = None,
                          limit: int | None = None) -> pd.DataFrame:
        if self.down:
            raise TemporaryError(OUTAGE)
        return await self._inner.fetch_ohlcv(pair, timeframe, since, limit)


async def test_a_candle_outage_the_cache_absorbs_is_told_once_and_so_is_its_end() -> None:
    clock, notifier = ManualClock(DATA_START), LogNotifier()
    outages: list[CandleOutage] = []

    def wrap(inner: Exchange) -> Exchange:
        outages.append(CandleOutage(inner))
        return outages[-1]  # type: ignore[return-value]

    commands = make_engine(clock=clock, notifier=notifier, wrap=wrap)
    await commands.startup()
    await run_for(commands, clock, 2)
    outages[0].down = True
    await run_for(commands, clock, 3)
    outages[0].down = False
    await run_for(commands, clock, 2)

    warnings = [e.text for e in notifier.events if isinstance(e, WarningNotice)]
    assert warnings == [f"Exchange unavailable, retrying: {OUTAGE}", "Exchange reachable again."]
    assert commands.engine.last_process == clock.now()


async def test_the_watched_exchange_keeps_its_failures_until_they_are_taken(
        database: Database) -> None:
    clock = ManualClock(DATA_START)
    outage = CandleOutage(build_exchange(make_settings(), "5m", clock, PaperOrders(database)))
    watched = WatchedExchange(outage)  # type: ignore[arg-type]
    await watched.load_markets()

    outage.down = True
    for _ in range(2):
        with pytest.raises(TemporaryError):
            await watched.fetch_ohlcv("ETH/BTC", "5m", limit=1)
    outage.down = False
    candles = await watched.fetch_ohlcv("ETH/BTC", "5m", limit=1)

    assert watched.take_failures() == [OUTAGE, OUTAGE]
    assert watched.take_failures() == []
    assert len(candles) == 1
    assert watched.name == outage.name
