"""The trades in play and their orders, kept in memory as they are written.

Every iteration reads the open trades and their orders several times over (which pairs to
watch, what to exit, what is waiting on the exchange, how many slots are free), and a
backtest runs thousands of iterations: reading them from the database each time was most of
a backtest's time. The book reads them once and then follows every write:

- A trade is in the book while it is open or has an order open on the exchange. Its orders
  are in the book with it.
- Writes go to the database first, as before; each successful save or delete of a trade or
  an order updates the book (`models` tells it). A row saved from another Python object than
  the book's makes the book read everything again: an update writes only the columns that
  object changed, so neither object need hold the whole row as stored.
- When a write fails, the book is forgotten and read again on next use: a failed save, or a
  transaction (`write()`) that rolled back, may have left the objects changed where the
  database is not. Start-up reconciliation starts from a fresh read too.

So the database stays the truth: a restart or a forgotten book reads it again, and nothing
the book holds was not written first. Changes made behind the models' back (a raw `UPDATE`)
need `forget()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from store import models
from store.models import Order, Trade
from store.statements import WriteEvent, on_write


class Book:
    def __init__(self) -> None:
        self._trades: dict[int, Trade] | None = None  # by id, in id order
        self._orders: dict[int, list[Order]] = {}  # by trade id, in id order
        self._database: object = None  # what they were read from (tests open many)

    def forget(self) -> None:
        self._trades = None
        self._orders = {}

    def _loaded(self) -> dict[int, Trade]:
        if self._trades is None or self._database is not models.db.obj:
            self._database = models.db.obj
            trades = {t.id: t for t in models.open_trades()}
            for order in models.open_orders():  # a closed trade may still have one open
                if order.trade_id not in trades:
                    trades[order.trade_id] = order.trade
            self._trades = dict(sorted(trades.items()))
            self._orders = {trade_id: [] for trade_id in self._trades}
            if self._trades:
                for order in Order.select().where(Order.trade.in_(list(self._trades))) \
                        .order_by(Order.id):
                    # The book's trade object, not a copy peewee would read on `order.trade`.
                    order.__rel__["trade"] = self._trades[order.trade_id]
                    self._orders[order.trade_id].append(order)
        return self._trades

    # --- reads ---------------------------------------------------------------------------

    def open_trades(self) -> list[Trade]:
        return [t for t in self._loaded().values() if t.is_open]

    def trade(self, trade_id: int) -> Trade | None:
        kept = self._loaded().get(trade_id)
        return kept if kept is not None else models.trade_by_id(trade_id)

    def orders_of(self, trade_id: int) -> list[Order]:
        if trade_id in self._loaded():
            return list(self._orders[trade_id])
        return models.orders_of(trade_id)

    def open_orders(self) -> list[Order]:
        """Orders pending, open or partly filled on the exchange, oldest first."""
        self._loaded()
        found = [o for orders in self._orders.values() for o in orders if o.is_open]
        return sorted(found, key=lambda o: o.id)

    # --- writes --------------------------------------------------------------------------

    def _written(self, row: Trade | Order, event: WriteEvent) -> None:
        trades = self._trades
        if trades is None or self._database is not models.db.obj:
            return  # nothing kept: the next read sees the database
        if event is WriteEvent.FAILED:
            self.forget()
        elif isinstance(row, Trade):
            self._trade_written(trades, row, event)
        elif isinstance(row, Order):
            self._order_written(trades, row, event)

    def _trade_written(self, trades: dict[int, Trade], row: Trade, event: WriteEvent) -> None:
        kept = trades.get(row.id)
        if event is WriteEvent.DELETED:
            self._drop(trades, row.id)
        elif kept is None:
            if event is WriteEvent.CREATED and row.is_open:
                trades[row.id] = row
                self._orders[row.id] = []
            elif row.is_open:
                self.forget()  # reopened: its orders are not kept, read it all again
        elif kept is not row:
            self.forget()
        else:
            self._settle(trades, row.id)

    def _order_written(self, trades: dict[int, Trade], row: Order, event: WriteEvent) -> None:
        if row.trade_id not in trades:
            if row.is_open and event is not WriteEvent.DELETED:
                self.forget()  # an open order of a trade not kept: read them again
            return
        orders = self._orders[row.trade_id]
        kept = next((o for o in orders if o.id == row.id), None)
        if event is WriteEvent.DELETED:
            if kept is not None:
                orders.remove(kept)
        elif kept is None:
            row.__rel__["trade"] = trades[row.trade_id]
            orders.append(row)
        elif kept is not row:
            self.forget()
            return
        self._settle(trades, row.trade_id)

    def _settle(self, trades: dict[int, Trade], trade_id: int) -> None:
        """Let a trade go once it is closed and has nothing open on the exchange."""
        if not trades[trade_id].is_open and not any(o.is_open for o in self._orders[trade_id]):
            self._drop(trades, trade_id)

    def _drop(self, trades: dict[int, Trade], trade_id: int) -> None:
        trades.pop(trade_id, None)
        self._orders.pop(trade_id, None)


BOOK = Book()
on_write(Trade, BOOK._written)
on_write(Order, BOOK._written)


def open_trades() -> list[Trade]:
    return BOOK.open_trades()


def trade_by_id(trade_id: int) -> Trade | None:
    return BOOK.trade(trade_id)


def orders_of(trade_id: int) -> list[Order]:
    return BOOK.orders_of(trade_id)


def open_orders() -> list[Order]:
    return BOOK.open_orders()


def filled_orders(trade: Trade) -> list[Order]:
    return [o for o in orders_of(trade.id) if o.filled > 0]


@contextmanager
def write() -> Iterator[None]:
    """One transaction over trades and orders, for changes of more than one row (a single
    save is one statement, which SQLite applies whole or not at all). If it fails, the
    rollback may leave objects changed that the database is not: the book is forgotten."""
    try:
        # The database itself, not its proxy: each of the transaction's steps would go
        # through the proxy's attribute lookup, which doubled its cost.
        with models.db.obj.atomic():
            yield
    except BaseException:
        BOOK.forget()
        raise
