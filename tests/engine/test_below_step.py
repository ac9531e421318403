"""A position smaller than one amount step can never be sold; it must not stop the bot."""

from __future__ import annotations

from datetime import timedelta

from core.clock import ManualClock
from engine.events import LogNotifier, WarningNotice
from store.models import Order, PaperOrder, Trade
from store.store import Store
from tests.engine.scripted import Scripted
from tests.factories import DATA_START, make_engine, new_order, new_trade, run_for

DUST = 0.0004  # ETH/BTC trades in steps of 0.001


def _dust_trade(store: Store) -> Trade:
    """An open ETH/BTC trade holding less than one step, its coins in the paper wallet."""
    trade = new_trade(store, strategy="Scripted", amount=DUST, amount_requested=DUST,
                      stake_amount=DUST * 0.1, open_trade_value=DUST * 0.1, fee_open=0.0,
                      fee_close=0.0)
    new_order(store, trade, amount=DUST, filled=DUST, client_order_id="dust-buy",
              order_id="paper-dust")
    PaperOrder.create(id="paper-dust", client_order_id="dust-buy", pair="ETH/BTC", side="buy",
                      order_type="limit", price=0.1, amount=DUST, filled=DUST, average=0.1,
                      cost=DUST * 0.1, status="closed", created_at=DATA_START,
                      updated_at=DATA_START)
    return trade


async def test_an_exit_below_one_amount_step_is_skipped_with_one_warning_and_trading_goes_on(
        ) -> None:
    notifier = LogNotifier()
    clock = ManualClock(DATA_START)
    # ROI below -100% asks for an exit on every candle; LTC/BTC gets an entry signal.
    strategy = Scripted(enter={"LTC/BTC": [DATA_START + timedelta(minutes=10)]},
                        minimal_roi={"0": -2.0})
    commands = make_engine(settings_overrides={
        "exchange": {"pair_whitelist": ["ETH/BTC", "LTC/BTC"]}, "max_open_trades": 2},
        strategy=strategy, notifier=notifier, clock=clock)
    dust = _dust_trade(commands.store)
    await commands.startup()

    await run_for(commands, clock, 6)

    warnings = [e.text for e in notifier.events if isinstance(e, WarningNotice)]
    assert len([w for w in warnings if "below the exchange's amount step" in w]) == 1
    assert Trade.get_by_id(dust.id).is_open
    assert [o.client_order_id for o in Order.select().where(Order.trade == dust.id)] == [
        "dust-buy"]
    assert Trade.select().where(Trade.pair == "LTC/BTC").count() == 1
    assert commands.engine.last_process == clock.now()
