"""The offline demo keeps going past the end of its bundled candles (issue #18, item 3): the
replay starts a new lap, continuous in time and in price, tells the owner once, and a restart
after the end starts a fresh lap instead of resuming at the dead end."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pandas as pd
import pytest

from compose import REPLAY_WARM_UP_CANDLES, replay_start
from core.clock import ManualClock
from store import models
from store.store import Store
from tests.engine.scripted import Scripted
from tests.factories import make_settings, new_order, new_trade, run_for
from tests.test_first_hour import notified_chat
from tests.test_offline import DATA, MARKETS, PAIRS
from venues.offline import OfflineMarket, ReplayLap

FIRST = datetime(2018, 1, 10, 4, 55, tzinfo=UTC)
LAST = datetime(2018, 1, 30, 4, 50, tzinfo=UTC)
FIVE = timedelta(minutes=5)
LAP = LAST + FIVE - FIRST  # the length of the data: what a lap moves the candles on by
LAP_2 = FIRST + LAP  # the first candle of the second lap, one timeframe after the last
WARM_UP = FIVE * REPLAY_WARM_UP_CANDLES


def looped(clock: ManualClock, laps: list[ReplayLap] | None = None) -> OfflineMarket:
    return OfflineMarket.from_files(DATA, PAIRS, "5m", MARKETS, clock, loop=True,
                                    on_lap=None if laps is None else laps.append)


@pytest.mark.heavy
async def test_the_demo_trades_on_past_the_end_of_its_candles(tmp_path: Path) -> None:
    clock = ManualClock(LAST - timedelta(hours=1))
    entry_candle = LAP_2 + timedelta(minutes=30)
    strategy = Scripted(enter={"LTC/BTC": [entry_candle]})
    async with notified_chat(tmp_path, clock=clock, strategy=strategy) as (chat, sender):
        commands = chat.commands
        await run_for(commands, clock, 1)
        assert await chat.say("/forceenter ETH/BTC") == "Entering ETH/BTC: trade #1."
        before = len(chat.tg.messages)

        await run_for(commands, clock, 24)  # two hours: an hour past the last candle
        await asyncio.wait_for(sender.drained(), 10)

        now = clock.now()
        assert now > LAST + timedelta(minutes=55)
        signal = commands.engine.signals.signal("ETH/BTC")
        assert (signal.candle_time, signal.stale) == (now - FIVE, False)  # fresh candles
        entered = commands.store.trade(2)  # the strategy's entry on a candle of lap 2
        assert (entered.pair, entered.open_date) == ("LTC/BTC", entry_candle + FIVE)
        assert await chat.say("/forceexit 1") == "Exiting trade(s) #1."
        sells = models.PaperOrder.select().where(models.PaperOrder.side == "sell")
        assert [o.pair for o in sells] == ["ETH/BTC"]
        texts = [m.text for m in chat.tg.messages[before:]]
        laps = [t for t in texts if "Offline demo" in t]
        assert len(laps) == 1
        assert "ran out, so the replay starts over: lap 2 from 2018-01-30 04:55:00 UTC" \
            in laps[0]
        assert "Open trades carry on" in laps[0]


async def test_a_lap_follows_on_from_the_last_candle_in_time_and_price() -> None:
    clock = ManualClock(LAP_2 + timedelta(hours=3, minutes=2))
    market = looped(clock)

    frame = await market.fetch_ohlcv("ETH/BTC", "5m", since=LAST - timedelta(hours=2), limit=500)

    dates = list(frame["date"])
    assert dates[0] == pd.Timestamp(LAST - timedelta(hours=2))
    assert dates[-1] == pd.Timestamp(LAP_2 + timedelta(hours=2, minutes=55))  # the last closed
    assert all(b - a == FIVE for a, b in pairwise(dates))
    by_date = frame.set_index("date")
    last, first = by_date.loc[pd.Timestamp(LAST)], by_date.loc[pd.Timestamp(LAP_2)]
    assert abs(first["open"] / last["close"] - 1) < 1e-12
    same_candle = by_date.loc[pd.Timestamp(LAP_2 + timedelta(hours=1))]
    original = await looped(ManualClock(LAST)).fetch_ohlcv(
        "ETH/BTC", "5m", since=FIRST + timedelta(hours=1), limit=1)
    ratio = same_candle["open"] / original["open"].iloc[0]
    assert abs(same_candle["high"] / original["high"].iloc[0] / ratio - 1) < 1e-12
    assert same_candle["volume"] == original["volume"].iloc[0]
    (ticker,) = (await market.fetch_tickers(["ETH/BTC"])).values()
    assert abs(ticker.open / by_date["close"].iloc[-1] - 1) < 0.05  # on from the last candle

    latest = await market.fetch_ohlcv("ETH/BTC", "5m", limit=5790)  # more than a lap holds
    assert len(latest) == 5790
    assert latest["date"].iloc[-1] == pd.Timestamp(LAP_2 + timedelta(hours=2, minutes=55))


async def test_each_new_lap_is_announced_once_and_a_resumed_one_not_again() -> None:
    laps: list[ReplayLap] = []
    clock = ManualClock(LAST)
    market = looped(clock, laps)
    for moment in (LAST, LAP_2, LAP_2 + FIVE, LAP_2 + LAP + timedelta(hours=1)):
        clock.set(moment)
        await market.fetch_tickers(["ETH/BTC"])
    assert [(lap.number, lap.starts) for lap in laps] == [(2, LAP_2), (3, LAP_2 + LAP)]
    assert (laps[0].data_first, laps[0].data_last) == (FIRST, LAST)

    resumed: list[ReplayLap] = []
    clock = ManualClock(LAP_2 + timedelta(hours=5))
    await looped(clock, resumed).fetch_tickers(["ETH/BTC"])
    fresh: list[ReplayLap] = []
    clock = ManualClock(LAP_2)
    await looped(clock, fresh).fetch_tickers(["ETH/BTC"])
    assert resumed == []
    assert [lap.number for lap in fresh] == [2]


def test_a_backtests_market_does_not_loop() -> None:
    clock = ManualClock(LAP_2 + timedelta(hours=1))
    market = OfflineMarket.from_files(DATA, PAIRS, "5m", MARKETS, clock)
    assert asyncio.run(market.fetch_tickers(["ETH/BTC"])) == {}


def test_where_the_demo_starts_a_run(store: Store) -> None:
    settings = make_settings()

    assert replay_start(settings, "5m", store) == FIRST + WARM_UP  # a first run

    trade = new_trade(store, open_date=FIRST + timedelta(days=5))
    new_order(store, trade, order_date=FIRST + timedelta(days=5))
    assert replay_start(settings, "5m", store) == FIRST + timedelta(days=5)  # resumed

    store.set_value("startup_time", (FIRST + timedelta(days=6)).isoformat())
    assert replay_start(settings, "5m", store) == FIRST + timedelta(days=6)  # never behind

    # A run that stopped at the end of the data (as they all did before the replay looped)
    # or in a lap's last hours starts the next lap afresh.
    new_order(store, trade, order_date=LAST - timedelta(hours=1))
    assert replay_start(settings, "5m", store) == LAP_2
    new_order(store, trade, order_date=LAP_2 + timedelta(days=3))
    assert replay_start(settings, "5m", store) == LAP_2 + timedelta(days=3)
    new_order(store, trade, order_date=LAP_2 + LAP - FIVE)
    assert replay_start(settings, "5m", store) == LAP_2 + LAP
