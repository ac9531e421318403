"""Position adjustment: adding to an open trade (DCA) and selling part of it.

With `position_adjustment_enable`, the strategy's `adjust_trade_position` is asked once per
iteration for every open trade that has no open order, just before its exits are checked (the
order of Freqtrade's backtest, so that an addition and an exit on the same candle happen in
Freqtrade's order). A positive answer adds that stake (an entry order on the same trade), a
negative one sells that stake's worth (an exit order of part of the amount, `partial_exit`);
`(stake, tag)` gives the order a tag. The orders are ordinary intents: written before they
are sent, followed and reconciled like any other, and the trade is recomputed from its filled
orders after every fill (`Trade.recalc_from_orders`).

The limits are Freqtrade's: at most `max_entry_position_adjustment` additions (-1: any), an
addition's stake fitted between the exchange minimum (without a stoploss reserve) and the
exchange maximum less the trade's stake, within the available balance; no confirm_trade_entry
or confirm_trade_exit is asked for them, as in Freqtrade; a partial exit that would leave less
than the exchange minimum stake is not made. In a Freqtrade-compatible backtest the minimum
stake the callback is shown, and the one a partial exit must leave, carry the 10% stoploss
reserve that Freqtrade's backtester uses.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine import events, sizing
from engine.dataprovider import RunMode
from engine.exits import ExitDecision, ExitKind, clamp_custom_price
from engine.orders import record_intent
from engine.runstate import EngineState
from engine.stake import stake_room
from engine.strategy import TradeSnapshot, safe_call
from engine.trader import finite_number
from store.models import ExitReason, Trade, dec
from venues.exchange import OrderType, Ticker

if TYPE_CHECKING:
    from engine.engine import Engine

logger = logging.getLogger(__name__)

# Freqtrade's backtester shows adjust_trade_position, and checks a partial exit's remainder
# against, the minimum stake with this stoploss reserve.
BACKTEST_RESERVE_STOPLOSS = -0.1


def adjustment_of(answer: Any) -> tuple[float | None, str | None]:
    """The stake and tag of an adjust_trade_position answer: a number, or `(stake, tag)`;
    anything unusable (None, NaN, text, an empty tuple) is no adjustment."""
    tag: str | None = None
    if isinstance(answer, tuple | list):
        if not answer:
            return None, None
        if len(answer) > 1 and isinstance(answer[1], str) and answer[1]:
            tag = answer[1]
        answer = answer[0]
    stake = finite_number(answer)
    return (stake if stake else None), tag


async def adjust_position(engine: Engine, trade: Trade, ticker: Ticker, now: datetime) -> bool:
    """Ask the strategy about `trade` and place what it asks for; True when an order was
    placed (its exits wait for it)."""
    strategy = engine.strategy
    settings = engine.settings
    rules = engine.exchange.rules(trade.pair)
    in_backtest = (settings.backtest.freqtrade_compat
                   and strategy.dp.runmode is RunMode.BACKTEST)
    entry = engine.pricer.entry_rate(trade.pair, ticker)
    if entry is None:  # the order book it needs is not there this iteration (logged)
        return False
    leave = engine.pricer.exit_rate(trade.pair, ticker)
    entry_profit, exit_profit = trade.profit_ratio(entry), trade.profit_ratio(leave)
    reserve = settings.amount_reserve_percent
    shown_min = sizing.min_stake(rules, entry, BACKTEST_RESERVE_STOPLOSS if in_backtest
                                 else 0.0, reserve)
    room = await stake_room(settings, engine.exchange, engine.trader.runtime, engine.store,
                            trade.pair)
    snapshot = engine.trader.snapshot(trade)
    answer = safe_call(
        trade.pair, strategy.adjust_trade_position, default=None, log_once=engine.log_once,
        trade=snapshot, current_time=now, current_rate=entry, current_profit=entry_profit,
        min_stake=shown_min, max_stake=min(sizing.max_stake(rules, entry), room.available),
        current_entry_rate=entry, current_exit_rate=leave, current_entry_profit=entry_profit,
        current_exit_profit=exit_profit,
    )  # fmt: skip
    stake, tag = adjustment_of(answer)
    if stake is None:
        return False
    if stake > 0:
        limit = strategy.max_entry_position_adjustment
        if engine.run_state.state is not EngineState.RUNNING or (
                limit > -1 and snapshot.nr_of_successful_entries > limit):
            return False
        return await _add(engine, trade, snapshot, stake, tag, entry, room.available, now)
    exit_min = sizing.min_stake(rules, leave, BACKTEST_RESERVE_STOPLOSS if in_backtest
                                else engine.trader.rules.stoploss, reserve)
    return await _sell_part(engine, trade, ticker, -stake, tag, leave, exit_min)


async def add_stake(engine: Engine, trade: Trade, ticker: Ticker, stake: float,
                    now: datetime) -> bool:
    """The owner's addition of `stake` to `trade` (/forceenter on its pair), within the same
    limits as the strategy's, with the force-entry order type."""
    room = await stake_room(engine.settings, engine.exchange, engine.trader.runtime,
                            engine.store, trade.pair)
    snapshot = engine.trader.snapshot(trade)
    types = engine.trader.order_types
    entry = engine.pricer.entry_rate(trade.pair, ticker)
    if entry is None:
        return False
    return await _add(engine, trade, snapshot, stake, "force_entry", entry, room.available,
                      now, types.force_entry or types.entry)


async def _add(engine: Engine, trade: Trade, snapshot: TradeSnapshot, stake: float,
               tag: str | None, proposed: float, available: float, now: datetime,
               order_type: OrderType | None = None) -> bool:
    trader, pair = engine.trader, trade.pair
    custom = safe_call(pair, engine.strategy.custom_entry_price, default=None,
                       log_once=engine.log_once, trade=snapshot, current_time=now,
                       proposed_rate=proposed, entry_tag=tag, side="long")
    price = engine.exchange.round_price(pair, clamp_custom_price(
        proposed, finite_number(custom), engine.settings.custom_price_max_distance_ratio))
    rules = engine.exchange.rules(pair)
    check = sizing.validate_stake(
        stake, min_stake=sizing.min_stake(rules, price, 0.0,
                                          engine.settings.amount_reserve_percent),
        max_stake=sizing.max_stake(rules, price), available=available,
        trade_stake=trade.stake_amount)
    if check.stake is None:
        engine.log_once.info(("add", pair, check.reason), "trade=%s no addition to %s: %s",
                             trade.id, pair, check.reason)
        return False
    amount = trader.sellable_amount(pair, check.stake / price, f"addition to trade {trade.id}")
    if amount is None:
        return False
    order_type = order_type or trader.order_types.entry
    with engine.store.transaction():
        order = record_intent(engine.store, trade, "buy", order_type, amount, price, tag,
                              engine.clock)
    logger.info("trade=%s pair=%s client_id=%s addition %s %.8g @ %.8g", trade.id, pair,
                order.client_order_id, order_type, amount, price)
    engine.notifier.notify(events.EntryPlaced(
        trade_id=trade.id, pair=pair, amount=amount, price=price, stake_amount=amount * price,
        stake_currency=trade.stake_currency, order_type=order_type, enter_tag=tag,
        current_rate=proposed, exchange=engine.exchange.name,
        dry_run=engine.settings.dry_run, addition=True,
    ))  # fmt: skip
    await trader.place(order, trader.time_in_force.entry)
    return True


async def _sell_part(engine: Engine, trade: Trade, ticker: Ticker, stake: float,
                     tag: str | None, rate: float, exit_min: float | None) -> bool:
    if not trade.stake_amount:
        return False
    # The amount that stake's worth is, at the trade's own stake per coin (Freqtrade's rule).
    wanted = float(dec(stake) * dec(trade.amount) / dec(trade.stake_amount))
    amount = engine.trader.sellable_amount(trade.pair, min(wanted, trade.amount),
                                           f"partial exit of trade {trade.id}")
    if not amount:
        return False
    remaining = (trade.amount - amount) * rate
    if exit_min and remaining != 0 and remaining < exit_min:
        engine.log_once.info(("part", trade.id), "trade=%s no partial exit: it would leave "
                             "%.8g, below the minimum stake %.8g", trade.id, remaining, exit_min)
        return False
    decision = ExitDecision(tag or ExitReason.PARTIAL_EXIT.value, ExitKind.PARTIAL, rate)
    return await engine.trader.exit_trade(trade, decision, ticker, amount=amount)
