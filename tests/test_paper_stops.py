"""Stop orders on the paper exchange over the shipped candles: a trigger on the candle low,
then the limit, as Binance's STOP_LOSS_LIMIT; refused when it would trigger at once."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pandas as pd
import pytest

from core.clock import ManualClock
from core.errors import OrderRejected
from tests.test_paper import ETH, START, buy, candle, clock, market, orders, paper, sell
from venues.paper import PaperExchange

__all__ = ["clock", "market", "orders", "paper"]  # the fixtures, shared
FIVE = timedelta(minutes=5)


def first_low_below(level: float) -> pd.Timestamp:
    after = ETH.loc[pd.Timestamp(START).floor("5min") + FIVE:]
    return after[after["low"] <= level].index[0]


async def test_a_stop_rests_untriggered_holds_the_coins_and_sells_when_a_low_reaches_it(
        paper: PaperExchange, clock: ManualClock) -> None:
    await paper.create_order(buy(2.0))
    stop = round(candle(START)["open"] * 0.99, 6)
    limit = round(stop * 0.99, 6)
    placed = await paper.create_order(replace(sell(2.0, limit, "limit"), stop_price=stop))
    assert (placed.status, placed.stop_price, placed.order_type) == ("open", stop, "limit")
    assert (await paper.fetch_balance())["ETH"].used == 2.0

    hit = first_low_below(stop)
    clock.set(hit.to_pydatetime() + timedelta(seconds=30))
    filled = await paper.fetch_order("ETH/BTC", placed.order_id)
    opened = round(float(ETH.loc[hit, "open"]), 8)
    assert filled.status == "closed"
    assert filled.average == pytest.approx(min(stop, opened))  # the stop, or a gap's open
    assert filled.price == limit


async def test_a_stop_the_market_opens_below_its_limit_rests_until_the_price_is_back(
        paper: PaperExchange, clock: ManualClock) -> None:
    await paper.create_order(buy(2.0))
    now = candle(START)["open"]
    stop, limit = round(now * 0.99, 6), round(now * 0.985, 6)
    placed = await paper.create_order(replace(sell(2.0, limit, "limit"), stop_price=stop))
    after = ETH.loc[pd.Timestamp(START).floor("5min") + FIVE:]
    gap = after[after["open"] < limit * 0.995].index[0]  # the bot looks again only here
    clock.set(gap.to_pydatetime())
    triggered = await paper.fetch_order("ETH/BTC", placed.order_id)
    assert (triggered.status, triggered.filled) == ("open", 0.0)
    assert (await paper.fetch_balance())["ETH"].used == 2.0

    back = after[(after.index > gap) & (after["high"] >= limit)].index[0]
    clock.set(back.to_pydatetime())
    filled = await paper.fetch_order("ETH/BTC", placed.order_id)
    assert (filled.status, filled.average) == ("closed", limit)  # at its limit, a maker


async def test_a_stop_at_or_above_the_market_is_refused_as_binance_does(
        paper: PaperExchange) -> None:
    await paper.create_order(buy(2.0))
    now = candle(START)["open"]
    with pytest.raises(OrderRejected, match="would trigger immediately"):
        await paper.create_order(replace(sell(2.0, now * 0.98, "limit"), stop_price=now * 1.01))
