"""Stoploss on the exchange (`order_types.stoploss_on_exchange`): the trade's stop as an order
resting on the exchange, so a dead bot, server or network leaves the position protected.

The stop order is an order row like any other (intent first, with a fresh client id), kind
`stoploss` (`OrderSide.STOPLOSS`), its trigger in `stop_price` and its limit at
`stop x stoploss_on_exchange_limit_ratio`. Each iteration, for a trade that holds coins and has
no other order open, `ExchangeStops.follow` places it when none rests, and moves it when the
trade's (trailing or custom) stop rose above it or the trade's amount changed, at most once per
`stoploss_on_exchange_interval`: cancel first, then place, so two never rest at once. The
cancel's reason is written before it is sent; after a crash between the cancel and the place,
the next iteration finds no stop resting and places one, once. While a stop rests, the bot-side
stop stays quiet (the exchange sells); any other exit cancels the stop first
(`clear_for_exit`), and a stop found filled closes the trade instead, with the exit reason
`stoploss_on_exchange`, also when it filled while the bot was down (reconciliation refreshes
it like every open order). A stop that the exchange cancelled or refused is placed again; the
owner hears of it once. Backtests keep Freqtrade's rule: the setting is off there.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from core.errors import OrderRejected
from engine import events
from engine.orders import ENDED, Applied, new_client_order_id
from store.models import ExitReason, Order, OrderSide, OrderStatus, Trade
from venues.exchange import Rounding

if TYPE_CHECKING:
    from engine.trader import Trader

logger = logging.getLogger(__name__)

MOVED = "stoploss moved"
BEFORE_EXIT = "cancelled before another exit"


def resting_stop(trader: Trader, trade: Trade) -> Order | None:
    """The trade's stop order that is open or pending on the exchange, if any."""
    return next((o for o in trader.store.open_orders_of(trade) if o.is_stop), None)


def stop_changed(trader: Trader, trade: Trade, change: Applied) -> None:
    """React once to what a change did to a stop order (Trader.react hands it here)."""
    order = change.order
    if change.newly_filled or (change.fill_grew and not order.is_open):
        trade.exit_reason = ExitReason.STOPLOSS_ON_EXCHANGE.value
        trade.close_rate_requested = order.stop_price
        trader.exit_filled(trade, order)
        return
    if not change.newly_ended or order.order_status is not OrderStatus.CANCELED:
        return
    if order.ft_cancel_reason not in (None, "cancelled on exchange"):
        return  # one of ours: moved, before an exit, the owner's, on shutdown
    text = (f"Trade #{trade.id} {trade.pair}: the exchange cancelled the stop order "
            f"{order.order_id} (stop {order.stop_price:.8g}); placing it again.")
    if trader.log_once.warning(("stop-gone", trade.id), "%s", text):
        trader.notifier.notify(events.WarningNotice(text))


async def clear_for_exit(trader: Trader, trade: Trade) -> bool:
    """Cancel the trade's stop before another exit is placed. False when that exit must wait:
    the cancel is not confirmed yet, or the stop filled and closed the trade instead."""
    stop = resting_stop(trader, trade)
    if stop is None:
        return True
    if not await _cancel(trader, stop, BEFORE_EXIT):
        return False
    return trade.is_open


async def _cancel(trader: Trader, stop: Order, reason: str) -> bool:
    """Cancel a stop, its reason written first (a restart then knows the cancel was ours).
    True once it is no longer resting."""
    stop.ft_cancel_reason = reason
    trader.store.write(stop)
    applied = await trader.orders.cancel(stop, reason)
    if applied is not None:
        trader.react(applied)
    return not stop.is_open


def stop_intent(trader: Trader, trade: Trade, amount: float, stop: float, limit: float,
                when: datetime, client_order_id: str | None = None) -> Order:
    """The stop order's row, written before it is sent (or adopted: engine/adopt.py, with the
    client id it has on the exchange)."""
    with trader.store.transaction():
        return trader.store.add(Order(
            trade=trade, client_order_id=client_order_id or new_client_order_id(),
            ft_order_side=OrderSide.STOPLOSS, ft_pair=trade.pair, ft_amount=amount,
            ft_price=stop, ft_order_tag=ExitReason.STOPLOSS_ON_EXCHANGE.value,
            status=OrderStatus.PENDING_SUBMIT, order_type="limit", side="sell", price=limit,
            amount=amount, remaining=amount, stop_price=stop, order_date=when,
        ))  # fmt: skip


class ExchangeStops:
    """Keeps each trade's stop order on the exchange in step with its stop."""

    def __init__(self, trader: Trader) -> None:
        self.trader = trader
        self.backtest = False  # Freqtrade's backtest turns stoploss_on_exchange off
        # Trade id -> when its last stop was refused: the next try waits an interval.
        self._refused_at: dict[int, datetime] = {}

    @property
    def enabled(self) -> bool:
        return self.trader.order_types.stoploss_on_exchange and not self.backtest

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=self.trader.order_types.stoploss_on_exchange_interval)

    def waiting(self) -> set[int]:
        """Trades with an order open other than their stop: their exits wait for it."""
        return {o.trade_id for o in self.trader.store.open_orders() if not o.is_stop}

    async def follow(self, trade: Trade, now: datetime) -> bool:
        """Place or move the trade's stop order; True while one rests on the exchange (the
        bot-side stop then leaves the selling to it). The trade may be closed on return: a
        cancel found the stop filled."""
        if not self.enabled or not trade.is_open or trade.amount <= 0:
            return False
        orders = self.trader.store.open_orders_of(trade)
        stop = next((o for o in orders if o.is_stop), None)
        if any(not o.is_stop for o in orders):
            return stop is not None
        if stop is None:
            return await self._place(trade, now)
        if stop.order_id is None or not self._due(stop, trade, now):
            return True  # an unanswered create is looked up by client id first
        logger.info("trade=%s pair=%s moving the exchange stop %.8g -> %.8g", trade.id,
                    trade.pair, stop.stop_price or 0.0, trade.stop_loss)
        if not await _cancel(self.trader, stop, MOVED):
            return True
        return trade.is_open and await self._place(trade, now)

    def _due(self, stop: Order, trade: Trade, now: datetime) -> bool:
        if self._amount(trade) not in (None, stop.amount):
            return True  # the position changed: the stop must cover what is held now
        risen = trade.stop_loss > (stop.stop_price or 0.0)
        return risen and now - stop.order_date >= self.interval

    def _amount(self, trade: Trade) -> float | None:
        try:
            return self.trader.exchange.round_amount(trade.pair, trade.amount)
        except OrderRejected:
            return None

    async def _place(self, trade: Trade, now: datetime) -> bool:
        refused = self._refused_at.get(trade.id)
        if refused is not None and now - refused < self.interval:
            return False
        trader = self.trader
        # An entry fee taken from the coins but not reported would make the stop ask for
        # more than the wallet holds, refused on every try.
        await trader.book_unreported_coin_fee(trade)
        amount = self._amount(trade)
        if not amount or trade.stop_loss <= 0:
            return False
        ratio = trader.order_types.stoploss_on_exchange_limit_ratio
        limit = trader.exchange.round_price(trade.pair, trade.stop_loss * ratio, Rounding.ROUND)
        order = stop_intent(trader, trade, amount, trade.stop_loss, limit, now)
        logger.info("trade=%s pair=%s client_id=%s stop order %.8g, stop %.8g limit %.8g",
                    trade.id, trade.pair, order.client_order_id, amount, trade.stop_loss, limit)
        await trader.place(order)
        if order.order_status in ENDED:
            self._refused_at[trade.id] = now
            return False
        self._refused_at.pop(trade.id, None)
        trader.log_once.forget(("stop-gone", trade.id))
        return order.is_open
