"""The Store: the one way the engine, its commands and the backtest read and write trades,
orders, pair locks and key/values.

The composition root builds it on the database `schema.init_db` opened and hands it to
whatever needs it. Every write goes through it, so it keeps the trades in play in memory and
follows its own writes (`store/in_play.py`):

- Every iteration reads the open trades and their orders several times over (which pairs to
  watch, what to exit, what is waiting on the exchange, how many slots are free), and a
  backtest runs thousands of iterations: reading them from the database each time was most of
  a backtest's time. So they are read once, each row one object: a caller changes that object
  and saves it here.
- Writes go to the database first; only a write that succeeded changes what is kept. A failed
  write, or a transaction that rolled back, may have left objects changed where the database
  is not: then all that is kept is forgotten and read again on next use. Start-up
  reconciliation starts from a fresh read too (`forget()`).
- Saving another object of a kept row (one built by hand, or read while the row was not kept)
  writes it, and what is kept is read again: the kept object no longer holds the row as stored.

So the database stays the truth: a restart or a forgotten view reads it again, and nothing kept
was not written first. An update writes only the columns that changed (`store/rows.py`).

A backtest's Store is given a `WriteBehind` (`store/write_behind.py`): its writes are held and
written in batches, before anything reads the database. Nothing else changes: the same engine
code writes through the same methods, and only the composition root chooses.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from peewee import Database, fn

from store.in_play import InPlay
from store.keyvalues import read_value, write_value
from store.locks import Locks
from store.models import Order, OrderSide, OrderStatus, PairLock, Trade
from store.rows import Table
from store.unplaced import Unplaced, read_unplaced, write_unplaced
from store.write_behind import WriteBehind

Row = TypeVar("Row", Trade, Order)
_OPEN_STATUSES = [s.value for s in OrderStatus if s.is_open]


class Store:
    def __init__(self, database: Database, held: WriteBehind | None = None) -> None:
        self._database = database
        self._held = held
        self._trades = Table(database, Trade, held)  # trades first: orders refer to them
        self._orders = Table(database, Order, held)
        self._locks = Locks(Table(database, PairLock, held))
        self._in_play: InPlay | None = None

    def flush(self) -> None:
        """Write the writes held back (with a WriteBehind); nothing otherwise."""
        if self._held is not None:
            self._held.flush()

    # --- the trades in play ----------------------------------------------------------------

    def forget(self) -> None:
        """Read the trades in play, and the active locks, from the database on next use."""
        self._in_play = None
        self._locks.forget()

    def _play(self) -> InPlay:
        play = self._in_play
        if play is None:
            play = self._in_play = self._read_in_play()
        return play

    def _read_in_play(self) -> InPlay:
        # "= 1" rather than the bare column: only a comparison lets SQLite use the index.
        trades = {t.id: t for t in self._trades.read(
            Trade.select().where(Trade.is_open == True).order_by(Trade.id))}  # noqa: E712
        waiting = {o.trade_id for o in self._orders.read(
            Order.select().where(Order.status.in_(_OPEN_STATUSES)))}
        missing = sorted(waiting - trades.keys())  # closed, with an order still open
        if missing:
            trades.update((t.id, t) for t in self._trades.read(
                Trade.select().where(Trade.id.in_(missing))))
        ids = sorted(trades)
        orders: dict[int, list[Order]] = {trade_id: [] for trade_id in ids}
        if ids:
            for order in self._orders.read(
                    Order.select().where(Order.trade.in_(ids)).order_by(Order.id)):
                order.trade = trades[order.trade_id]  # the kept object, not a copy read later
                orders[order.trade_id].append(order)
        return InPlay({trade_id: trades[trade_id] for trade_id in ids}, orders)

    def open_trades(self) -> list[Trade]:
        """Open trades, oldest first."""
        return self._play().open_trades()

    def trade(self, trade_id: int) -> Trade | None:
        kept = self._play().trade(trade_id)
        if kept is not None:
            return kept
        found = self._trades.read(Trade.select().where(Trade.id == trade_id))
        return found[0] if found else None

    def trade_of(self, order: Order) -> Trade:
        trade = self.trade(order.trade_id)
        if trade is None:
            raise LookupError(f"order {order.client_order_id}: trade {order.trade_id} is gone")
        return trade

    def orders_of(self, trade_id: int) -> list[Order]:
        """The trade's orders, oldest first."""
        kept = self._play().orders_of(trade_id)
        if kept is not None:
            return kept
        return self._orders.read(Order.select().where(Order.trade == trade_id).order_by(Order.id))

    def filled_orders(self, trade: Trade) -> list[Order]:
        return [o for o in self.orders_of(trade.id) if o.filled > 0]

    def open_orders(self) -> list[Order]:
        """Orders pending, open or partly filled on the exchange, oldest first."""
        return self._play().open_orders()

    def open_orders_of(self, trade: Trade) -> list[Order]:
        return [o for o in self.orders_of(trade.id) if o.is_open]

    def trades_with_open_orders(self) -> set[int]:
        """Ids of the trades that have an order open or pending on the exchange."""
        return {order.trade_id for order in self.open_orders()}

    # --- writes ----------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction for a change of more than one row (a single write is one
        statement, applied whole or not at all). If it fails, the rollback may leave objects
        changed that the database is not: everything kept is forgotten."""
        try:
            with self._database.atomic() if self._held is None else self._held.transaction():
                yield
        except BaseException:
            self._rolled_back()
            raise

    def _rolled_back(self) -> None:
        self.forget()
        self._trades.forget()
        self._orders.forget()

    def add(self, row: Row) -> Row:
        """Insert a new trade or order; `row` gets its id."""
        try:
            if isinstance(row, Trade):
                self._trades.insert(row)
            else:
                self._orders.insert(row)
        except BaseException:
            self.forget()
            raise
        self._written(row, created=True)
        return row

    def write(self, row: Trade | Order) -> None:
        """Write what changed in a trade or order since it was read or last written."""
        try:
            changed = (self._trades.update(row) if isinstance(row, Trade)
                       else self._orders.update(row))
        except BaseException:
            self.forget()
            raise
        if changed:
            self._written(row, created=False)

    def _written(self, row: Trade | Order, *, created: bool) -> None:
        play = self._in_play
        if play is None:
            return  # nothing kept: the next read sees the database
        followed = (play.trade_written(row, created) if isinstance(row, Trade)
                    else play.order_written(row))
        if not followed:
            self._in_play = None

    def delete_trade(self, trade: Trade) -> None:
        """Delete the trade and its orders."""
        with self.transaction():
            self.flush()
            Order.delete().where(Order.trade == trade.id).execute(self._database)
            self._trades.delete(trade)
        if self._in_play is not None:
            self._in_play.drop(trade.id)

    # --- history ---------------------------------------------------------------------------

    def closed_trades(self, since: datetime | None = None) -> list[Trade]:
        """Closed trades (closed at or after `since`), in the order they closed."""
        query = Trade.select().where(Trade.is_open == False)  # noqa: E712
        if since is not None:
            query = query.where(Trade.close_date >= since)
        return self._trades.read(query.order_by(Trade.close_date, Trade.id))

    def orders_of_closed_trades(self) -> dict[int, list[Order]]:
        """Every closed trade's orders, oldest first, by trade id, in one query (a report over
        many trades would otherwise ask once per trade)."""
        orders: dict[int, list[Order]] = {}
        for order in self._orders.read(Order.select().join(Trade).where(
                Trade.is_open == False).order_by(Order.id)):  # noqa: E712
            orders.setdefault(order.trade_id, []).append(order)
        return orders

    def latest_closed_trades(self, limit: int) -> list[Trade]:
        """The last `limit` trades to close, the latest first."""
        return self._trades.read(Trade.select().where(Trade.is_open == False)  # noqa: E712
                                 .order_by(Trade.close_date.desc(), Trade.id).limit(limit))

    def traded_value(self, trade_ids: Iterable[int]) -> float:
        """Traded value of all fills of these trades, in one query per thousand trades."""
        self.flush()
        ids = list(trade_ids)
        total = 0.0
        for start in range(0, len(ids), 1000):
            total += Order.select(fn.SUM(Order.cost)).where(
                Order.trade.in_(ids[start:start + 1000]), Order.filled > 0
            ).scalar(self._database) or 0.0
        return total

    def entered_amounts(self) -> dict[int, float]:
        """What each trade bought over all its filled entries, by trade id."""
        self.flush()
        bought: dict[int, float] = {}
        for trade_id, filled in Order.select(Order.trade, Order.filled).where(
                Order.ft_order_side == OrderSide.BUY, Order.filled > 0).order_by(Order.id) \
                .tuples().execute(self._database):
            bought[trade_id] = bought.get(trade_id, 0.0) + filled
        return bought

    def exchange_order_ids(self) -> set[str]:
        """The exchange's ids of every order of ours it acknowledged."""
        self.flush()
        return {str(order_id) for (order_id,) in Order.select(Order.order_id)
                .where(Order.order_id.is_null(False)).tuples().execute(self._database)}

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        found = self._orders.read(Order.select().where(Order.client_order_id == client_order_id))
        return found[0] if found else None

    def client_order_ids(self) -> set[str]:
        """The client ids of every order this database holds."""
        self.flush()
        return {str(cid) for (cid,) in Order.select(Order.client_order_id).tuples()
                .execute(self._database)}

    def latest_order_date(self) -> datetime | None:
        latest = self._orders.read(Order.select().order_by(Order.order_date.desc()).limit(1))
        return latest[0].order_date if latest else None

    # --- pair locks ------------------------------------------------------------------------

    def lock_pair(self, pair: str, until: datetime, reason: str, now: datetime) -> PairLock:
        return self._locks.add(pair, until, reason, now)

    def active_locks(self, now: datetime) -> list[PairLock]:
        """Locks in force at `now`, soonest end first."""
        return self._locks.active(now)

    def locked_pairs(self, now: datetime) -> set[str]:
        """Pairs that may not be entered now; contains "*" when everything is locked."""
        return {lock.pair for lock in self._locks.active(now)}

    def unlock(self, target: str, now: datetime) -> int:
        """Deactivate the active locks of a pair, or one lock given by its numeric id."""
        return self._locks.remove(target, now)

    # --- orders given up on, kept to be looked up later (store/unplaced.py) ---------------

    def remember_unplaced(self, order: Order, failed_at: datetime) -> None:
        self.flush()
        kept = [u for u in read_unplaced(self._database)
                if u.client_order_id != order.client_order_id]
        kept.append(Unplaced(order.client_order_id, order.ft_pair, order.side,
                             order.order_type, order.ft_order_tag, failed_at))
        write_unplaced(self._database, kept)

    def unplaced(self) -> list[Unplaced]:
        """Failed orders remembered for a later look-up, oldest first."""
        return read_unplaced(self._database)

    def forget_unplaced(self, client_order_ids: Iterable[str]) -> None:
        self.flush()
        gone = set(client_order_ids)
        kept = read_unplaced(self._database)
        if any(u.client_order_id in gone for u in kept):
            write_unplaced(self._database, [u for u in kept if u.client_order_id not in gone])

    # --- key/values ------------------------------------------------------------------------

    def value(self, key: str) -> str | None:
        return read_value(self._database, key)

    def set_value(self, key: str, value: str) -> None:
        self.flush()
        write_value(self._database, key, value)
