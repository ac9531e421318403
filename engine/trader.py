"""Turning decisions into orders and orders into trades: entries, exits and fills.

An order's walk, top to bottom of this module: `open_trade` or `exit_trade` decides and writes
the intent row (`orders.record_intent`), `_send` submits it and gets an outcome
(`orders.Placed`, `Refused` or `Unknown`), and `react` turns what the order's row changed into
the trade's events: entry filled, exit filled (the trade closes), entry or exit ended. Every
later change (a refresh, a cancel, reconciliation) is reacted to by the same `react`, so
notifications, trade closes and clean-ups happen exactly once whatever path the change took.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime
from typing import Literal

from core.clock import Clock
from core.errors import OrderRejected
from engine import events, exchange_stop
from engine.cancel_rules import remainder_too_small
from engine.events import Notifier
from engine.exits import ExitDecision, ExitKind, ExitRules, clamp_custom_price, initial_stop
from engine.orders import Applied, OrderManager, Placed, Refused, Unknown, record_intent
from engine.settings import Settings
from engine.strategy import IStrategy, LogOnce, TradeSnapshot, implements, safe_call
from engine.strategy_order import OrderInfo
from engine.strategy_runtime import bind_runtime
from marketdata.timeframe import timeframe_to_minutes
from store.models import ExitReason, Order, OrderStatus, Trade
from store.store import Store
from venues.exchange import Exchange, OrderType, Rounding, Ticker, TimeInForce

logger = logging.getLogger(__name__)

STOP_KINDS = (ExitKind.STOP, ExitKind.TRAILING)
# What the owner's exit did to a trade: an exit placed, or the cancel of its open orders
# finished it (the trade removed, or closed by an exit fill).
ForceExitOutcome = Literal["exiting", "removed", "closed"]


def finite_number(value: object) -> float | None:
    """A strategy's number, or None when it returned something unusable (None, NaN, text)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


class Trader:
    """Places and follows orders for one engine; owns no schedule and no state machine."""

    def __init__(self, settings: Settings, exchange: Exchange, strategy: IStrategy, clock: Clock,
                 notifier: Notifier, log_once: LogOnce, store: Store, *,
                 on_close: Callable[[Trade], None]) -> None:
        self.exchange = exchange
        self.clock = clock
        self.notifier = notifier
        self.log_once = log_once
        self.store = store
        self.orders = OrderManager(exchange, clock, store)
        self._on_close = on_close  # after every close, whoever closed the trade
        self.configure(settings, strategy)

    def configure(self, settings: Settings, strategy: IStrategy) -> None:
        self.settings = settings
        self.strategy = strategy
        self.orders.unknown_fee_rate = settings.exchange.unknown_fee_rate
        # The one place a strategy is given the running bot (engine/strategy_runtime.py).
        self.runtime = bind_runtime(strategy, settings, self.store, self.clock)
        self.rules = ExitRules.from_strategy(strategy, settings.backtest.freqtrade_compat)
        self.order_types = strategy.resolved_order_types()
        self.timeouts = strategy.resolved_unfilledtimeout()
        self.time_in_force = strategy.resolved_time_in_force()

    def round_up(self, pair: str) -> Callable[[float], float]:
        return lambda price: self.exchange.round_price(pair, price, Rounding.ROUND_UP)

    # --- entries ---------------------------------------------------------------------------

    async def open_trade(self, pair: str, price: float, stake: float, order_type: OrderType,
                         tag: str | None, *, current_rate: float) -> Trade | None:
        """Record the trade and its entry intent in one commit, then send the order. `price`
        is the order's (limit) price, `current_rate` the market's entry-side price now: they
        differ for an owner's entry at a price of their own."""
        now = self.clock.now()
        rules = self.exchange.rules(pair)
        price = self.exchange.round_price(pair, price)
        amount = self.sellable_amount(pair, stake / price, "entry")
        if amount is None:
            return None
        with self.store.transaction():
            trade = self.add_trade(pair, price, amount, order_type, tag, now)
            order = record_intent(self.store, trade, "buy", order_type, amount, price, tag,
                                  self.clock)
        logger.info("trade=%s pair=%s client_id=%s entry %s %.8g @ %.8g", trade.id, pair,
                    order.client_order_id, order_type, amount, price)
        self.notifier.notify(events.EntryPlaced(
            trade_id=trade.id, pair=pair, amount=amount, price=price, stake_amount=amount * price,
            stake_currency=rules.quote, order_type=order_type, enter_tag=tag,
            current_rate=current_rate,
            exchange=self.exchange.name, dry_run=self.settings.dry_run,
        ))  # fmt: skip
        await self._send(order, self.time_in_force.entry)
        return self.store.trade(trade.id)

    def add_trade(self, pair: str, price: float, amount: float, order_type: OrderType,
                  tag: str | None, open_date: datetime) -> Trade:
        """A new trade's row, its stop from the strategy's stoploss; the caller commits."""
        rules = self.exchange.rules(pair)
        fee = rules.taker_fee if order_type == "market" else rules.maker_fee
        stop = initial_stop(price, self.rules.stoploss, self.round_up(pair))
        return self.store.add(Trade(
            exchange=self.exchange.name, pair=pair, base_currency=rules.base,
            stake_currency=rules.quote, strategy=type(self.strategy).__name__,
            enter_tag=tag, timeframe=self.timeframe_minutes, open_date=open_date,
            open_rate=price, open_rate_requested=price, amount_requested=amount,
            fee_open=fee, fee_close=fee, stop_loss=stop.stop_loss,
            stop_loss_pct=stop.stop_loss_pct, initial_stop_loss=stop.stop_loss,
            initial_stop_loss_pct=stop.stop_loss_pct, max_rate=price, min_rate=price,
            price_tick=rules.price_tick,
        ))  # fmt: skip

    @property
    def timeframe_minutes(self) -> int:
        return timeframe_to_minutes(self.strategy.timeframe)

    # --- exits -----------------------------------------------------------------------------

    def exit_order_type(self, kind: ExitKind) -> OrderType:
        types = self.order_types
        if kind in STOP_KINDS:
            return types.stoploss
        if kind == ExitKind.FORCE:
            return types.force_exit or types.exit
        if kind == ExitKind.EMERGENCY:
            return types.emergency_exit
        return types.exit

    async def exit_trade(self, trade: Trade, decision: ExitDecision, ticker: Ticker | None,
                         amount: float | None = None) -> bool:
        """Place the exit order for a decision (after the strategy's price and veto hooks; a
        market order's price is not the strategy's to set, and, as in Freqtrade, neither an
        emergency exit nor a partial one of `amount` is the strategy's to veto)."""
        await self.book_unreported_coin_fee(trade)
        now = self.clock.now()
        order_type = self.exit_order_type(decision.kind)
        rate = decision.price
        if order_type == "limit" and implements(self.strategy, "custom_exit_price"):
            custom = safe_call(
                trade.pair, self.strategy.custom_exit_price, default=None,
                log_once=self.log_once, trade=self.snapshot(trade), current_time=now,
                proposed_rate=rate,
                current_profit=trade.profit_ratio(rate), exit_tag=decision.reason,
            )  # fmt: skip
            rate = clamp_custom_price(rate, finite_number(custom),
                                      self.settings.custom_price_max_distance_ratio)
        part = amount
        amount = self.sellable_amount(trade.pair, trade.amount if part is None else part,
                                      f"exit of trade {trade.id}")
        if amount is None:
            return False
        confirmed = decision.kind == ExitKind.EMERGENCY or part is not None \
            or not implements(self.strategy, "confirm_trade_exit") or safe_call(
            trade.pair, self.strategy.confirm_trade_exit, default=True, log_once=self.log_once,
            trade=self.snapshot(trade), order_type=order_type, amount=amount, rate=rate,
            time_in_force=self.time_in_force.exit, exit_reason=decision.reason,
            current_time=now,
        )  # fmt: skip
        if not confirmed or not await exchange_stop.clear_for_exit(self, trade):
            return False
        amount = self.sellable_amount(trade.pair, min(amount, trade.amount),
                                      f"exit of trade {trade.id}")
        if amount is None:
            return False  # a stop that filled in part while being cancelled left dust
        price = self.exchange.round_price(trade.pair, rate)
        with self.store.transaction():
            trade.exit_reason = decision.reason
            trade.close_rate_requested = price
            self.store.write(trade)
            order = record_intent(self.store, trade, "sell", order_type, amount, price,
                                  decision.reason, self.clock)
        logger.info("trade=%s pair=%s client_id=%s exit (%s) %s %.8g @ %.8g", trade.id,
                    trade.pair, order.client_order_id, decision.reason, order_type, amount, price)
        self.notifier.notify(events.ExitPlaced(
            trade_id=trade.id, pair=trade.pair, amount=amount, open_rate=trade.open_rate,
            exit_rate=price, current_rate=ticker.last if ticker else price,
            exit_reason=decision.reason,
            enter_tag=trade.enter_tag, profit_ratio=trade.profit_ratio(price),
            profit_abs=trade.profit_abs(price), stake_currency=trade.stake_currency,
            order_type=order_type,
        ))  # fmt: skip
        await self._send(order, self.time_in_force.exit)
        return True

    def sellable_amount(self, pair: str, amount: float, what: str) -> float | None:
        """`amount` on the exchange's step, or None (the owner told once) when it is below
        one step: such an order can never be placed, and must not fail the whole iteration."""
        try:
            return self.exchange.round_amount(pair, amount)
        except OrderRejected as exc:
            text = f"{pair}: no {what}, {amount:.8g} is below the exchange's amount step: {exc}"
            if self.log_once.warning(("below-step", pair, what), "%s", text):
                self.notifier.notify(events.WarningNotice(text))
            return None

    async def book_unreported_coin_fee(self, trade: Trade) -> None:
        """Book an entry fee that the exchange took from the coins but did not report.

        Binance's order lookups carry no fee, so a fill seen only that way (a lost create
        answer, a limit order filled later) leaves the trade holding more than the wallet, and
        its exit would be refused forever. As Freqtrade's _safe_exit_amount does, a shortfall
        of up to 2% is that fee: booked on the entry, the trade is what the wallet holds.
        """
        held = (await self.exchange.fetch_balance()).get(trade.base_currency)
        missing = trade.amount - (held.total if held is not None else 0.0)
        entry = next((o for o in reversed(self.store.orders_of(trade.id))
                      if o.is_entry and o.filled > 0), None)
        if entry is None or not 0 < missing <= trade.amount * 0.02:
            return
        logger.info("trade=%s pair=%s: the wallet holds %.8g less than the trade; booked as "
                    "the entry fee", trade.id, trade.pair, missing)
        with self.store.transaction():
            entry.fee_base = (entry.fee_base or 0.0) + missing
            self.store.write(entry)
            trade.recalc_from_orders(self.store.filled_orders(trade))
            self.store.write(trade)

    # --- sending, and reacting to what changed ---------------------------------------------

    async def place(self, order: Order, time_in_force: TimeInForce = "GTC") -> None:
        """Send an intent committed outside the trader: the exchange stop's (it rests until
        triggered, good till cancelled), an addition's (engine/adjust.py)."""
        await self._send(order, time_in_force)

    async def _send(self, order: Order, time_in_force: TimeInForce) -> None:
        # A refusal repeats every iteration while its cause lasts: the owner hears of it once,
        # until an order of that pair and side goes through.
        episode = ("order-refused", order.ft_pair, order.side)
        match await self.orders.submit(order, time_in_force):
            case Placed(change):
                self.log_once.forget(episode)
                self.react(change)
            case Refused(change, reason):
                if self.log_once.warning(episode, "order for %s refused: %s", order.ft_pair,
                                         reason):
                    self.notifier.notify(
                        events.WarningNotice(f"{order.ft_pair}: order refused: {reason}"))
                self.react(change)
            case Unknown():
                self.log_once.forget(episode)

    def react(self, change: Applied) -> None:
        """React once to what a change of an order's row did to its trade."""
        order = change.order
        trade = self.store.trade(order.trade_id)
        if trade is None:
            return
        if order.is_stop:
            exchange_stop.stop_changed(self, trade, change)
        elif order.is_entry:
            if change.fill_grew:
                self._rebase_stop(trade)
            if change.newly_filled:
                self._entry_filled(trade, order)
            elif change.newly_ended:
                self._entry_gone(trade, order)
        elif change.newly_filled or (change.fill_grew and not order.is_open):
            self.exit_filled(trade, order)
        elif change.newly_ended:
            self._exit_ended(trade, order)

    def _entry_filled(self, trade: Trade, order: Order) -> None:
        logger.info("trade=%s pair=%s entry filled %.8g @ %.8g", trade.id, trade.pair,
                    trade.amount, trade.open_rate)
        self.notifier.notify(events.EntryFilled(
            trade_id=trade.id, pair=trade.pair, amount=trade.amount,
            open_rate=trade.open_rate, stake_amount=trade.stake_amount,
            stake_currency=trade.stake_currency, enter_tag=trade.enter_tag,
            addition=any(o.is_entry and o.id != order.id for o in self.store.filled_orders(trade)),
        ))  # fmt: skip
        self._order_filled(trade, order)

    def snapshot(self, trade: Trade) -> TradeSnapshot:
        """The trade as the strategy's callbacks see it."""
        return TradeSnapshot.from_trade(trade, self.store.orders_of(trade.id))

    def _order_filled(self, trade: Trade, order: Order) -> None:
        if implements(self.strategy, "order_filled"):
            safe_call(trade.pair, self.strategy.order_filled, default=None,
                      log_once=self.log_once, trade=self.snapshot(trade),
                      order=OrderInfo.from_order(order), current_time=self.clock.now())

    def _entry_gone(self, trade: Trade, order: Order) -> None:
        reason = order.ft_cancel_reason or order.status
        if trade.amount <= 0 and not self.store.open_orders_of(trade):
            logger.info("trade=%s pair=%s entry %s with nothing filled: trade removed",
                        trade.id, trade.pair, order.status)
            self.store.delete_trade(trade)
            self.notifier.notify(events.EntryCancelled(
                trade_id=trade.id, pair=trade.pair, reason=f"{reason}, fully cancelled",
                partial=False))
            return
        what = "partially filled" if order.filled > 0 else "nothing added to the trade"
        self.notifier.notify(events.EntryCancelled(
            trade_id=trade.id, pair=trade.pair, reason=f"{reason}, {what}", partial=True))

    def _rebase_stop(self, trade: Trade) -> None:
        """The first entry's stop follows its average price until it has trailed. After an
        addition the stop, at its distance, only moves up, and then counts as trailed: as
        Freqtrade's adjust_stop_loss, averaging down leaves the stop where it was."""
        if trade.amount <= 0:
            return
        if sum(1 for o in self.store.filled_orders(trade) if o.is_entry) > 1:
            raised = initial_stop(trade.open_rate, trade.stop_loss_pct or self.rules.stoploss,
                                  self.round_up(trade.pair))
            if raised.stop_loss > trade.stop_loss:
                trade.stop_loss, trade.stop_loss_pct = raised.stop_loss, raised.stop_loss_pct
                trade.is_stop_loss_trailing = True
                self.store.write(trade)
            return
        if trade.is_stop_loss_trailing:
            return
        stop = initial_stop(trade.open_rate, self.rules.stoploss, self.round_up(trade.pair))
        trade.stop_loss = trade.initial_stop_loss = stop.stop_loss
        trade.stop_loss_pct = trade.initial_stop_loss_pct = stop.stop_loss_pct
        self.store.write(trade)

    def _exit_ended(self, trade: Trade, order: Order) -> None:
        trade.exit_reason = None
        self.store.write(trade)
        self.notifier.notify(events.ExitCancelled(
            trade_id=trade.id, pair=trade.pair, reason=order.ft_cancel_reason or order.status))

    def exit_filled(self, trade: Trade, order: Order) -> None:
        """The exit filled (partly, when it left more than dust): close the trade, tell the
        owner. Reconciliation calls it too, for a fill recorded before a crash."""
        rate = order.average or order.price
        closes = is_dust(trade, self.exchange.rules(trade.pair).amount_step)
        when = order.order_filled_date or self.clock.now()
        # Before the close, as Freqtrade's backtest calls it (its live bot calls it after).
        self._order_filled(trade, order)
        if closes:
            trade.close(rate, when, self.store.filled_orders(trade))
        self.store.write(trade)
        logger.info("trade=%s pair=%s exit filled @ %.8g (%s)%s", trade.id, trade.pair, rate,
                    trade.exit_reason, "" if closes else ", partial")
        self.notifier.notify(events.ExitFilled(
            trade_id=trade.id, pair=trade.pair, amount=order.filled, open_rate=trade.open_rate,
            close_rate=rate, exit_reason=trade.exit_reason or "",
            enter_tag=trade.enter_tag,
            profit_ratio=trade.close_profit if closes and trade.close_profit is not None
            else trade.profit_ratio(rate),
            profit_abs=trade.close_profit_abs if closes and trade.close_profit_abs is not None
            else trade.realized_profit,
            stake_currency=trade.stake_currency, open_date=trade.open_date, close_date=when,
            partial=not closes,
        ))  # fmt: skip
        if closes:
            self._on_close(trade)

    def close_externally(self, trade: Trade, rate: float) -> None:
        """The coins left the wallet without us (sold by hand): close the trade at `rate`.

        A synthetic filled exit order keeps the rule that a trade is what its orders say.
        """
        now = self.clock.now()
        with self.store.transaction():
            self.store.add(Order(
                trade=trade, client_order_id=f"ext-{trade.id}-{int(now.timestamp())}",
                ft_order_side="sell", ft_pair=trade.pair, ft_amount=trade.amount, ft_price=rate,
                ft_order_tag=ExitReason.SOLD_ON_EXCHANGE, status=OrderStatus.FILLED,
                order_type="market", side="sell", price=rate, amount=trade.amount,
                filled=trade.amount, remaining=0.0, average=rate, cost=trade.amount * rate,
                order_date=now, order_filled_date=now, order_update_date=now,
            ))  # fmt: skip
            trade.exit_reason = ExitReason.SOLD_ON_EXCHANGE
            trade.close(rate, now, self.store.filled_orders(trade))
            self.store.write(trade)
        logger.warning("trade=%s pair=%s: coins no longer in the wallet; closed as %s",
                       trade.id, trade.pair, ExitReason.SOLD_ON_EXCHANGE.value)
        self.notifier.notify(events.WarningNotice(
            f"Trade #{trade.id} {trade.pair}: the coins are no longer in the wallet (sold "
            f"outside the bot?). Closed it as {ExitReason.SOLD_ON_EXCHANGE.value}."))
        self._on_close(trade)

    # --- cancelling (the open orders' watch: engine/open_orders.py) ---------------------

    async def cancel_order(self, order: Order, reason: str) -> None:
        """Cancel with Freqtrade's guards against leaving an unexitable remainder."""
        trade = self.store.trade_of(order)
        if order.filled > 0 and remainder_too_small(order, self.exchange.rules(trade.pair)):
            self.log_once.info(("keep", order.client_order_id),
                               "trade=%s keeping order %s open: cancelling would leave an "
                               "amount below the exchange minimum", trade.id,
                               order.client_order_id)
            return
        applied = await self.orders.cancel(order, reason)
        if applied is not None:
            self.react(applied)

    async def cancel_open_orders(self, trade: Trade, reason: str) -> int:
        """Cancel every order of the trade still open; how many were asked to cancel."""
        orders = self.store.open_orders_of(trade)
        for order in orders:
            await self.cancel_order(order, reason)
        return len(orders)

    async def force_exit(self, trade: Trade, ticker: Ticker | None, amount: float | None = None
                         ) -> ForceExitOutcome | None:
        """The owner's exit at the bid, after cancelling the trade's open orders, which alone
        may finish the trade. None when it was refused: no price yet, nothing held, an order
        still open, or a veto."""
        await self.cancel_open_orders(trade, "forcesold")
        fresh = self.store.trade(trade.id)
        if fresh is None:
            return "removed"  # an entry with nothing filled, as in Freqtrade
        if not fresh.is_open:
            return "closed"  # an exit filled before the exchange took the cancel
        if ticker is None or fresh.amount <= 0 or self.store.open_orders_of(fresh):
            return None
        decision = ExitDecision(ExitReason.FORCE_EXIT.value, ExitKind.FORCE, ticker.open)
        part = amount if amount is not None and amount < fresh.amount else None
        return "exiting" if await self.exit_trade(fresh, decision, ticker, part) else None


def is_dust(trade: Trade, amount_step: float | None) -> bool:
    """Whether what is left of the trade is no position: an exit that left this closed it."""
    return trade.amount <= _dust(trade, amount_step)


def _dust(trade: Trade, amount_step: float | None) -> float:
    """Amounts this small are rounding residue, not a position. Less than one amount step
    (e.g. left by an entry fee paid in the coin) cannot be sold: it stays in the wallet as
    dust, as in Freqtrade, rather than keep the trade open."""
    below_one_step = (amount_step or 0.0) * (1 - 1e-9)
    return max(abs(trade.amount_requested or 0.0) * 1e-9, 1e-12, below_one_step)
