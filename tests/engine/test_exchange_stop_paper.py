"""Stoploss on the exchange in dry-run and the offline demo: the paper exchange holds the stop
order, triggers it on the candle low and fills its limit, so a trade there ends as it would
live. Expected figures come from the candle file, not from the engine's code."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import ROUND_CEILING

import pandas as pd
import pytest

from store.models import Order, PaperOrder, Trade
from tests.engine.scripted import Scripted
from tests.engine.test_lifecycle import FIVE, PAIR, candles, expected_profit, row, run, to_tick

__all__ = ["candles"]  # the module fixture, shared
ON_EXCHANGE = {"entry": "limit", "exit": "limit", "stoploss": "limit",
               "stoploss_on_exchange": True, "stoploss_on_exchange_limit_ratio": 0.99}
SIGNAL_AT = datetime(2018, 1, 11, 6, 0, tzinfo=UTC)


def only_trade() -> Trade:
    (trade,) = Trade.select()
    return trade


@pytest.mark.heavy
async def test_a_stop_order_rests_on_the_paper_exchange_from_the_entry_and_closes_the_trade(
        candles: pd.DataFrame) -> None:
    strategy = Scripted(enter={PAIR: [SIGNAL_AT]}, stoploss=-0.01, order_types=ON_EXCHANGE)
    await run(strategy, 24 * 60)

    trade = only_trade()
    stop = to_tick(trade.open_rate * 0.99, "0.000001", ROUND_CEILING)
    orders = list(trade.orders.order_by(Order.id))
    assert [(o.ft_order_side, o.status) for o in orders] == [("buy", "filled"),
                                                             ("stoploss", "filled")]
    held = orders[1]
    assert held.stop_price == pytest.approx(stop)
    assert held.price == pytest.approx(to_tick(stop * 0.99, "0.000001"))
    assert held.order_date == SIGNAL_AT + FIVE  # placed in the iteration the entry filled
    # The first later candle whose low reaches the stop triggers it; it sells at the stop
    # (the open, when the candle opened below it), the limit being lower.
    after = candles.loc[pd.Timestamp(SIGNAL_AT + 2 * FIVE):]
    hit = after[after["low"] <= stop].index[0].to_pydatetime()
    price = min(stop, to_tick(row(candles, hit)["open"], "0.000001"))
    assert trade.is_open is False
    assert trade.exit_reason == "stoploss_on_exchange"
    assert trade.close_rate == pytest.approx(price, rel=1e-12)
    assert trade.close_date == hit
    profit, _ = expected_profit(trade.amount_requested, trade.open_rate, price)
    assert trade.close_profit_abs == pytest.approx(profit, abs=1e-9)
    (paper_stop,) = PaperOrder.select().where(PaperOrder.stop_price.is_null(False))
    assert (paper_stop.status, paper_stop.order_type) == ("closed", "limit")


async def test_a_trailing_stop_moves_the_paper_stop_order_cancel_first_never_two_at_once(
        candles: pd.DataFrame) -> None:
    strategy = Scripted(enter={PAIR: [SIGNAL_AT]}, stoploss=-0.02, trailing_stop=True,
                        order_types=ON_EXCHANGE)
    await run(strategy, 24 * 60)

    trade = only_trade()
    stops = [o for o in trade.orders.order_by(Order.id) if o.ft_order_side == "stoploss"]
    assert len(stops) > 2
    assert [o.status for o in stops[:-1]] == ["canceled"] * (len(stops) - 1)
    assert {o.ft_cancel_reason for o in stops[:-1]} == {"stoploss moved"}
    prices = [o.stop_price for o in stops]
    assert prices == sorted(prices)
    assert prices[-1] > prices[0]
    # Never two resting: each stop was placed only after the one before ended.
    for before, after in itertools.pairwise(stops):
        assert before.order_update_date <= after.order_date
    assert trade.is_open is False
    assert trade.exit_reason == "stoploss_on_exchange"
