"""The trade database: trades, orders, pair locks, a key/value table, the notification outbox
and the paper exchange's own order book.

A trade's amount, average open rate, stake and profit are never edited by hand: they are
recomputed from its filled orders (`Trade.recalc_from_orders`), so applying the same exchange
snapshot twice changes nothing. Money maths follows Freqtrade's definitions, computed in exact
decimals and converted to float once, as Freqtrade's FtPrecise does.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Context, Decimal
from enum import StrEnum
from typing import Any

from peewee import (
    SQL,
    AutoField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DoubleField,
    Field,
    ForeignKeyField,
    IntegerField,
    Model,
    NodeList,
    SqliteDatabase,
    TextField,
)

from core.errors import InvalidTransition

db = DatabaseProxy()
_EXACT = Context(prec=60)


def dec(value: float) -> Decimal:
    """The float's shortest decimal form, as Freqtrade's FtPrecise reads it."""
    # The money maths call this about a hundred times per trade, nearly always on a float.
    return Decimal(repr(value if type(value) is float else float(value)))


class OrderStatus(StrEnum):
    PENDING_SUBMIT = "pending_submit"
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    FAILED = "failed"

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.PENDING_SUBMIT, OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)


# The open statuses' values: every iteration asks orders whether they are open, and looking
# the enum member up from the stored text each time was a noticeable part of a backtest.
_OPEN_VALUES = frozenset(s.value for s in OrderStatus if s.is_open)
_S = OrderStatus
# (from, to) pairs; staying in the same status is always allowed. CANCELED -> FILLED and
# CANCELED -> PARTIALLY_FILLED are real: a fill can race the cancel request.
ALLOWED: frozenset[tuple[OrderStatus, OrderStatus]] = frozenset({
    (_S.PENDING_SUBMIT, _S.OPEN), (_S.PENDING_SUBMIT, _S.PARTIALLY_FILLED),
    (_S.PENDING_SUBMIT, _S.FILLED), (_S.PENDING_SUBMIT, _S.CANCELED),
    (_S.PENDING_SUBMIT, _S.REJECTED), (_S.PENDING_SUBMIT, _S.FAILED),
    (_S.OPEN, _S.PARTIALLY_FILLED), (_S.OPEN, _S.FILLED), (_S.OPEN, _S.CANCELED),
    (_S.PARTIALLY_FILLED, _S.FILLED), (_S.PARTIALLY_FILLED, _S.CANCELED),
    (_S.CANCELED, _S.PARTIALLY_FILLED), (_S.CANCELED, _S.FILLED),
})  # fmt: skip


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"
    STOPLOSS = "stoploss"  # a sell resting on the exchange as the trade's stop (Freqtrade's)


class ExitReason(StrEnum):
    """Freqtrade's ExitType values: stored on the trade and shown to the user as they are."""

    ROI = "roi"
    STOP_LOSS = "stop_loss"
    STOPLOSS_ON_EXCHANGE = "stoploss_on_exchange"
    TRAILING_STOP_LOSS = "trailing_stop_loss"
    LIQUIDATION = "liquidation"
    EXIT_SIGNAL = "exit_signal"
    FORCE_EXIT = "force_exit"
    EMERGENCY_EXIT = "emergency_exit"
    CUSTOM_EXIT = "custom_exit"
    PARTIAL_EXIT = "partial_exit"
    SOLD_ON_EXCHANGE = "sold_on_exchange"
    NONE = ""


class UTCDateTimeField(Field):
    """Aware UTC datetimes stored as ISO text, so text order is time order on every backend."""

    field_type = "TEXT"

    def db_value(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        if value.tzinfo is not UTC:
            if value.tzinfo is None:
                raise ValueError("naive datetime refused: store UTC-aware datetimes only")
            value = value.astimezone(UTC)
        return value.isoformat(timespec="microseconds")

    def python_value(self, value: str | None) -> datetime | None:
        if value is None:
            return None
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class UniqueIdField(AutoField):
    """A key the database never hands out twice. SQLite gives a new row the highest rowid
    plus one, so deleting the newest trade would let the next one take its id (and its place
    in the owner's chat history) unless the key is AUTOINCREMENT; PostgreSQL's SERIAL and
    MySQL's AUTO_INCREMENT never reuse a key, so only SQLite's DDL changes."""

    def ddl(self, ctx: Any) -> NodeList:
        node = super().ddl(ctx)
        if isinstance(db.obj, SqliteDatabase):
            return NodeList((node, SQL("AUTOINCREMENT")))
        return node


class BaseModel(Model):
    class Meta:
        database = db


class KeyValue(BaseModel):
    key = CharField(primary_key=True, max_length=64)
    value = TextField()


class Trade(BaseModel):
    id = UniqueIdField()
    exchange = CharField()
    pair = CharField(index=True)
    base_currency = CharField()
    stake_currency = CharField()
    strategy = CharField()
    enter_tag = TextField(null=True)
    timeframe = IntegerField()  # minutes
    is_short = BooleanField(default=False)
    leverage = DoubleField(default=1.0)
    is_open = BooleanField(default=True, index=True)
    open_date = UTCDateTimeField()
    close_date = UTCDateTimeField(null=True)
    exit_reason = TextField(null=True)
    amount = DoubleField(default=0.0)
    amount_requested = DoubleField(null=True)
    stake_amount = DoubleField(default=0.0)
    max_stake_amount = DoubleField(default=0.0)
    open_rate = DoubleField()
    open_rate_requested = DoubleField(null=True)
    open_trade_value = DoubleField(default=0.0)
    close_rate = DoubleField(null=True)
    close_rate_requested = DoubleField(null=True)
    fee_open = DoubleField(default=0.0)
    fee_close = DoubleField(default=0.0)
    fee_open_cost = DoubleField(null=True)
    fee_close_cost = DoubleField(null=True)
    realized_profit = DoubleField(default=0.0)
    close_profit = DoubleField(null=True)
    close_profit_abs = DoubleField(null=True)
    stop_loss = DoubleField(default=0.0)
    stop_loss_pct = DoubleField(null=True)
    initial_stop_loss = DoubleField(default=0.0)
    initial_stop_loss_pct = DoubleField(null=True)
    is_stop_loss_trailing = BooleanField(default=False)
    max_rate = DoubleField(null=True)
    min_rate = DoubleField(null=True)
    price_tick = DoubleField(null=True)  # fixed at entry; backtests take it from the data
    orders: Any  # backref of Order.trade

    class Meta:
        table_name = "trades"

    # --- money maths (Freqtrade's definitions, long side) --------------------------------

    def open_value_of(self, amount: float, rate: float) -> float:
        """What buying `amount` at `rate` costs, entry fee included."""
        gross = _EXACT.multiply(dec(amount), dec(rate))
        return float(gross + _EXACT.multiply(gross, dec(self.fee_open)))

    def close_value_of(self, rate: float, amount: float | None = None) -> float:
        """What selling `amount` (default: the trade amount) at `rate` yields, fee deducted."""
        gross = _EXACT.multiply(dec(self.amount if amount is None else amount), dec(rate))
        return float(gross - _EXACT.multiply(gross, dec(self.fee_close)))

    def profit_abs(self, rate: float, amount: float | None = None,
                   open_rate: float | None = None) -> float:
        """Profit of selling at `rate` in stake currency, fees on both sides, rounded to 8 dp."""
        if amount is None or open_rate is None:
            open_value = self.open_trade_value
        else:
            open_value = self.open_value_of(amount, open_rate)
        return round(self.close_value_of(rate, amount) - open_value, 8)

    def profit_ratio(self, rate: float) -> float:
        """Profit ratio of selling the whole position at `rate` (the one exits decide on)."""
        if not self.open_trade_value:
            return 0.0
        return round(self.close_value_of(rate) / self.open_trade_value - 1, 8)

    def total_profit_abs(self, rate: float) -> float:
        """Realized partial-exit profit plus the unrealized profit at `rate`."""
        return round(self.realized_profit + self.profit_abs(rate), 8)

    # --- recomputation from orders ---------------------------------------------------------

    def recalc_from_orders(self, orders: Iterable[Order]) -> float:
        """Rebuild amount, average price, stake and profit from the orders' cumulative fills
        (orders without a fill count for nothing), in the orders' order.

        Exits realize profit against the average entry price at the time of the exit, as
        Freqtrade's recalc_trade_from_orders does. Returns the entry value (fees included)
        that the close profit ratio is measured against.
        """
        amount = Decimal(0)
        stake = Decimal(0)
        max_stake = Decimal(0)
        entry_value = 0.0
        realized = 0.0
        avg: float | None = None
        open_rate: float | None = None
        for order in orders:
            filled = dec(order.filled - (order.fee_base or 0.0))
            if filled <= 0:
                continue
            price = order.average or order.price
            if order.ft_order_side == OrderSide.BUY:
                cost = _EXACT.multiply(filled, dec(price))
                amount += filled
                stake += cost
                max_stake += cost
                entry_value += self.open_value_of(float(filled), price)
                avg = float(_EXACT.divide(stake, amount))
            elif avg is not None:
                realized += self.profit_abs(price, float(filled), avg)
                amount -= filled
                stake = _EXACT.multiply(dec(avg), amount)
            if amount > 0:
                # Exits realize against the exact average; the open rate is on the price
                # tick, as Freqtrade rounds it, and stays what it was once nothing is held.
                open_rate = self._on_tick(_EXACT.divide(stake, amount))
        self.amount = float(amount)
        self.stake_amount = float(stake)
        self.max_stake_amount = float(max_stake)
        self.realized_profit = round(realized, 8)
        if open_rate is not None:
            self.open_rate = open_rate
            self.open_trade_value = self.open_value_of(self.amount, open_rate)
        return entry_value

    def _on_tick(self, price: Decimal) -> float:
        """`price` on the trade's price tick, half up (ccxt's rounding); as is without one."""
        if not self.price_tick:
            return float(price)
        tick = dec(self.price_tick)
        return float((price / tick).quantize(Decimal(1), rounding=ROUND_HALF_UP) * tick)

    def close(self, rate: float, when: datetime, orders: Iterable[Order]) -> None:
        """Mark the trade closed at `rate`; its profit is what the exits realized."""
        entry_value = self.recalc_from_orders(orders)
        self.is_open = False
        self.close_rate = rate
        self.close_date = when
        self.close_profit_abs = self.realized_profit
        self.close_profit = self.realized_profit / entry_value if entry_value else 0.0


class Order(BaseModel):
    id = AutoField()
    trade = ForeignKeyField(Trade, backref="orders", on_delete="CASCADE")
    client_order_id = CharField(unique=True, max_length=64)
    order_id = CharField(null=True, index=True)  # the exchange's id, once known
    ft_order_side = CharField()  # buy = entry, sell = exit
    ft_pair = CharField()
    ft_amount = DoubleField()
    ft_price = DoubleField()
    ft_order_tag = TextField(null=True)
    ft_cancel_reason = TextField(null=True)
    # Indexed because every iteration asks for the open orders; create_tables(safe=True) at
    # start-up adds this index (and the two below) to a database made before it.
    status = CharField(default=OrderStatus.PENDING_SUBMIT, index=True)
    order_type = CharField()
    side = CharField()
    price = DoubleField()
    amount = DoubleField()
    filled = DoubleField(default=0.0)
    remaining = DoubleField(null=True)
    average = DoubleField(null=True)
    cost = DoubleField(default=0.0)
    fee_cost = DoubleField(null=True)
    fee_currency = CharField(null=True)
    fee_base = DoubleField(default=0.0)  # fee taken from the bought coins (schema 2)
    stop_price = DoubleField(null=True)  # the trigger of a stop order (schema 4)
    trade_id: int  # the foreign key's raw column
    order_date = UTCDateTimeField()
    order_filled_date = UTCDateTimeField(null=True)
    order_update_date = UTCDateTimeField(null=True)

    class Meta:
        table_name = "orders"

    @property
    def order_status(self) -> OrderStatus:
        return OrderStatus(self.status)

    @property
    def is_open(self) -> bool:
        return self.status in _OPEN_VALUES

    @property
    def is_entry(self) -> bool:
        return self.ft_order_side == OrderSide.BUY

    @property
    def is_stop(self) -> bool:
        """A stop order resting on the exchange (stoploss_on_exchange), not an exit we placed."""
        return self.ft_order_side == OrderSide.STOPLOSS

    def transition(self, to: OrderStatus) -> None:
        """Move to `to` if the table allows it; anything else is a bug or an exchange lie."""
        current = self.order_status
        if to != current and (current, to) not in ALLOWED:
            raise InvalidTransition(
                f"order {self.client_order_id}: {current.value} -> {to.value} is not allowed"
            )
        self.status = to.value


class PairLock(BaseModel):
    id = AutoField()
    pair = CharField(index=True)  # "*" locks every pair
    side = CharField(default="*")
    reason = TextField(null=True)
    lock_time = UTCDateTimeField()
    lock_end_time = UTCDateTimeField(index=True)
    active = BooleanField(default=True, index=True)

    class Meta:
        table_name = "pairlocks"


class OutboxMessage(BaseModel):
    """A chat message waiting to be delivered; rows leave only once Telegram accepted them."""

    id = AutoField()
    created_at = UTCDateTimeField()
    kind = CharField()
    text = TextField()
    silent = BooleanField(default=False)
    sent_at = UTCDateTimeField(null=True, index=True)

    class Meta:
        table_name = "outbox"


class PaperOrder(BaseModel):
    """The paper exchange's own order book: what a real exchange would remember."""

    id = CharField(primary_key=True)
    client_order_id = CharField(unique=True, max_length=64)
    pair = CharField(index=True)
    side = CharField()
    order_type = CharField()  # stop_loss_limit until a stop order triggers, then limit
    price = DoubleField(null=True)
    stop_price = DoubleField(null=True)  # schema 4
    amount = DoubleField()
    filled = DoubleField(default=0.0)
    average = DoubleField(null=True)
    cost = DoubleField(default=0.0)
    fee_cost = DoubleField(default=0.0)
    fee_currency = CharField(null=True)
    status = CharField(index=True)  # ccxt's: open, closed, canceled
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()

    class Meta:
        table_name = "paper_orders"


TABLES: list[type[Model]] = [KeyValue, Trade, Order, PairLock, OutboxMessage, PaperOrder]
