"""Unfilled entries time out: nothing filled removes the trade, a partial fill keeps what was
bought, and an order is never cut short where the rest could not be sold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.clock import ManualClock
from engine.events import EntryCancelled, ExitCancelled, LogNotifier
from store.models import Order, PaperOrder, Trade
from tests.engine.scripted import Scripted
from tests.factories import make_engine, run_for

START = datetime(2018, 1, 11, 5, 0, tzinfo=UTC)
SIGNAL = datetime(2018, 1, 11, 6, 0, tzinfo=UTC)


class BidsBelowTheMarket(Scripted):
    def custom_entry_price(self, pair, trade, current_time, proposed_rate, entry_tag, side,
                           **kwargs):
        return proposed_rate * 0.98


async def engine_for(pair: str, strategy: Scripted, stake: float = 0.05,
                     partial: float | None = None) -> tuple:
    clock = ManualClock(START)
    notifier = LogNotifier()
    overrides = {"exchange": {"pair_whitelist": [pair]}, "stake_amount": stake,
                 "max_open_trades": 1, "unfilledtimeout": {"entry": 10, "exit": 10}}
    commands = make_engine(settings_overrides=overrides, strategy=strategy, clock=clock,
                           notifier=notifier, partial_fill_ratio=partial)
    await commands.startup()
    return commands, clock, notifier


async def test_entry_with_nothing_filled_is_cancelled_after_the_timeout_and_the_trade_removed(
) -> None:
    commands, clock, notifier = await engine_for(
        "ETH/BTC", BidsBelowTheMarket(enter={"ETH/BTC": [SIGNAL]}))
    await run_for(commands, clock, 13)  # 06:05 entry placed
    assert Trade.select().count() == 1
    await run_for(commands, clock, 2)  # 06:15: ten minutes old
    assert Trade.select().count() == 0
    assert [(p.side, p.status, p.filled) for p in PaperOrder.select()] == [("buy", "canceled", 0)]
    cancelled = [e for e in notifier.events if isinstance(e, EntryCancelled)]
    assert [(e.partial, e.reason) for e in cancelled] == [
        (False, "cancelled due to timeout, fully cancelled")]


async def test_partially_filled_entry_keeps_the_filled_amount_when_the_rest_times_out() -> None:
    commands, clock, notifier = await engine_for(
        "ETH/BTC", Scripted(enter={"ETH/BTC": [SIGNAL]}), partial=0.5)
    await run_for(commands, clock, 15)  # placed 06:05, partly filled, cancelled at 06:15

    paper = PaperOrder.get()
    trade = Trade.get()
    assert paper.status == "canceled"
    assert 0 < paper.filled < paper.amount
    assert trade.is_open
    assert trade.amount == paper.filled
    order = Order.get()
    assert (order.status, order.filled) == ("canceled", paper.filled)
    assert [e.partial for e in notifier.events if isinstance(e, EntryCancelled)] == [True]


async def test_partial_entry_below_the_exchange_minimum_is_not_cancelled() -> None:
    # 5 NXT for 0.00015 BTC; half of it would be worth less than the 0.0001 BTC minimum
    # order, so cancelling would leave coins that can never be sold.
    commands, clock, _ = await engine_for(
        "NXT/BTC", Scripted(enter={"NXT/BTC": [SIGNAL]}), stake=0.00015, partial=0.3)
    await run_for(commands, clock, 15)
    paper = PaperOrder.get()
    assert paper.filled * paper.price < 0.0001
    assert paper.status == "open"
    assert Order.get().status == "partially_filled"
    assert clock.now() - Order.get().order_date >= timedelta(minutes=10)


class AsksAboveTheMarket(Scripted):
    def custom_exit_price(self, pair, trade, current_time, proposed_rate, current_profit,
                          exit_tag, **kwargs):
        return proposed_rate * 1.02


async def test_exit_not_filled_in_time_is_cancelled_and_the_trade_stays_open() -> None:
    strategy = AsksAboveTheMarket(enter={"ETH/BTC": [SIGNAL]},
                                  exit_={"ETH/BTC": [SIGNAL + timedelta(hours=1)]})
    commands, clock, notifier = await engine_for("ETH/BTC", strategy)
    await run_for(commands, clock, 27)  # exit placed 07:05, ten minutes old at 07:15

    trade = Trade.get()
    sell = PaperOrder.get(PaperOrder.side == "sell")
    assert (sell.status, sell.filled) == ("canceled", 0)
    assert trade.is_open
    assert trade.exit_reason is None
    assert trade.amount == PaperOrder.get(PaperOrder.side == "buy").filled
    cancelled = [e for e in notifier.events if isinstance(e, ExitCancelled)]
    assert [e.reason for e in cancelled] == ["cancelled due to timeout"]
