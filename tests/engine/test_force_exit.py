"""/forceexit on trades that are not simply holding coins: an entry still resting on the
exchange, an exit that filled before the bot saw it, a mix of those with a holding trade."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.clock import ManualClock
from core.errors import CommandError
from engine.events import EntryCancelled, LogNotifier
from store.models import PaperOrder, Trade
from tests.engine.scripted import Scripted
from tests.factories import make_engine, run_for

START = datetime(2018, 1, 11, 5, 0, tzinfo=UTC)
SIGNAL = datetime(2018, 1, 11, 6, 0, tzinfo=UTC)
FIVE = timedelta(minutes=5)
MARKET_EXITS = {"entry": "limit", "exit": "market", "stoploss": "market",
                "stoploss_on_exchange": False}


class BidsBelowTheMarketOn(Scripted):
    """Entries on `resting` pairs bid 2% under the price, so they wait unfilled."""

    resting: tuple[str, ...] = ()

    def custom_entry_price(self, pair, trade, current_time, proposed_rate, entry_tag, side,
                           **kwargs):
        return proposed_rate * 0.98 if pair in self.resting else proposed_rate


async def engine_for(pairs: list[str], strategy: Scripted, partial: float | None = None,
                     **overrides) -> tuple:
    clock = ManualClock(START)
    notifier = LogNotifier()
    settings = {"exchange": {"pair_whitelist": pairs}, "stake_amount": 0.05,
                "max_open_trades": len(pairs), "unfilledtimeout": {"entry": 60, "exit": 60},
                **overrides}
    commands = make_engine(settings_overrides=settings, strategy=strategy, clock=clock,
                           notifier=notifier, partial_fill_ratio=partial)
    await commands.startup()
    return commands, clock, notifier


def trade_of(pair: str) -> Trade:
    return Trade.get(Trade.pair == pair)


async def test_forceexit_all_when_the_only_trade_rests_unfilled_cancels_it_and_says_so() -> None:
    strategy = BidsBelowTheMarketOn(enter={"ETH/BTC": [SIGNAL]}, resting=("ETH/BTC",),
                                    order_types=MARKET_EXITS)
    commands, clock, notifier = await engine_for(["ETH/BTC"], strategy)
    await run_for(commands, clock, 13)  # 06:05: the entry bid rests unfilled
    await commands.stop()
    (listed,) = commands.status()

    result = await commands.force_exit("all")

    assert result.text == (f"Trade(s) #{listed.id}: the entry was cancelled with "
                           "nothing filled; removed.")
    assert result.trade_ids == (listed.id,)
    assert commands.status() == []
    assert Trade.select().count() == 0
    assert [(p.side, p.status, p.filled) for p in PaperOrder.select()] == [("buy", "canceled", 0)]
    cancelled = [e for e in notifier.events if isinstance(e, EntryCancelled)]
    assert [(e.trade_id, e.partial) for e in cancelled] == [(listed.id, False)]


async def test_forceexit_of_one_unfilled_entry_cancels_it_instead_of_refusing() -> None:
    strategy = BidsBelowTheMarketOn(enter={"ETH/BTC": [SIGNAL]}, resting=("ETH/BTC",))
    commands, clock, _ = await engine_for(["ETH/BTC"], strategy)
    await run_for(commands, clock, 13)
    trade = trade_of("ETH/BTC")

    result = await commands.force_exit(trade.id)

    assert result.text == f"Trade(s) #{trade.id}: the entry was cancelled with nothing " \
                          "filled; removed."
    assert Trade.select().count() == 0


async def test_forceexit_all_exits_the_holding_trade_and_cancels_the_resting_entry() -> None:
    strategy = BidsBelowTheMarketOn(enter={"ETH/BTC": [SIGNAL], "LTC/BTC": [SIGNAL]},
                                    resting=("LTC/BTC",), order_types=MARKET_EXITS)
    commands, clock, _ = await engine_for(["ETH/BTC", "LTC/BTC"], strategy)
    await run_for(commands, clock, 13)
    holding, resting = trade_of("ETH/BTC"), trade_of("LTC/BTC")
    assert holding.amount > 0
    assert resting.amount == 0

    result = await commands.force_exit("all")

    assert result.text == (f"Exiting trade(s) #{holding.id}. Trade(s) #{resting.id}: the "
                           "entry was cancelled with nothing filled; removed.")
    assert result.trade_ids == (holding.id, resting.id)
    exited = Trade.get_by_id(holding.id)
    assert (exited.is_open, exited.exit_reason) == (False, "force_exit")
    assert Trade.get_or_none(Trade.id == resting.id) is None


class AsksAboveTheMarket(Scripted):
    def custom_exit_price(self, pair, trade, current_time, proposed_rate, current_profit,
                          exit_tag, **kwargs):
        return proposed_rate * 1.01


async def test_forceexit_of_a_trade_whose_exit_filled_unseen_reports_it_closed() -> None:
    strategy = AsksAboveTheMarket(enter={"ETH/BTC": [SIGNAL]},
                                  exit_={"ETH/BTC": [SIGNAL + timedelta(hours=1)]})
    commands, clock, _ = await engine_for(["ETH/BTC"], strategy)
    await run_for(commands, clock, 25)  # 07:05: the exit ask rests above the price
    trade = trade_of("ETH/BTC")
    (ask,) = PaperOrder.select().where(PaperOrder.side == "sell", PaperOrder.status == "open")
    # 07:25 trades up to the ask while the bot is not looking: the exchange has filled it.
    clock.set(datetime(2018, 1, 11, 7, 25, tzinfo=UTC))
    filled = await commands.engine.exchange.fetch_order("ETH/BTC", order_id=ask.id)
    assert filled.status == "closed"
    assert Trade.get_by_id(trade.id).is_open

    result = await commands.force_exit(trade.id)

    assert result.text == f"Trade(s) #{trade.id}: the exit filled before it could be " \
                          "replaced; closed."
    closed = Trade.get_by_id(trade.id)
    assert closed.is_open is False
    assert closed.exit_reason == "exit_signal"


async def test_forceexit_of_a_partial_entry_that_cannot_be_cut_short_is_refused() -> None:
    # 5 NXT for 0.00015 BTC; the part filled is worth less than the 0.0001 BTC minimum order,
    # so the entry is kept open (the coins could never be sold) and nothing can exit yet.
    commands, clock, _ = await engine_for(
        ["NXT/BTC"], Scripted(enter={"NXT/BTC": [SIGNAL]}), partial=0.3, stake_amount=0.00015)
    await run_for(commands, clock, 13)
    trade = trade_of("NXT/BTC")

    with pytest.raises(CommandError, match="Nothing to exit"):
        await commands.force_exit("all")
    assert Trade.get_by_id(trade.id).is_open
