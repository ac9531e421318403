"""The trades in play and their orders, as the Store last read or wrote them.

A trade is in play while it is open or has an order open on the exchange; its orders are kept
with it, each row one object. The Store tells this view about each of its writes once the
database took it; a write the view cannot follow (another object of a kept row, a trade
reopened, an open order of a trade not kept) returns False, and the Store then drops the whole
view and reads it again on next use.
"""

from __future__ import annotations

from store.models import Order, Trade


class InPlay:
    def __init__(self, trades: dict[int, Trade], orders: dict[int, list[Order]]) -> None:
        self._trades = trades  # by id, in id order
        self._orders = orders  # by trade id, each list in id order

    # --- reads -------------------------------------------------------------------------

    def open_trades(self) -> list[Trade]:
        return [t for t in self._trades.values() if t.is_open]

    def trade(self, trade_id: int) -> Trade | None:
        return self._trades.get(trade_id)

    def orders_of(self, trade_id: int) -> list[Order] | None:
        """The trade's orders, or None when the trade is not in play."""
        orders = self._orders.get(trade_id)
        return None if orders is None else list(orders)

    def open_orders(self) -> list[Order]:
        """Orders pending, open or partly filled on the exchange, oldest first."""
        found = [o for orders in self._orders.values() for o in orders if o.is_open]
        return sorted(found, key=lambda o: o.id)

    # --- writes the database took --------------------------------------------------------

    def trade_written(self, row: Trade, created: bool) -> bool:
        kept = self._trades.get(row.id)
        if kept is None:
            if created and row.is_open:
                self._trades[row.id] = row
                self._orders[row.id] = []
                return True
            return not row.is_open  # an open trade not kept was reopened: read it all again
        if kept is not row:
            return False
        self._settle(row.id)
        return True

    def order_written(self, row: Order) -> bool:
        trade = self._trades.get(row.trade_id)
        if trade is None:
            return not row.is_open  # an open order of a trade not kept: read them again
        orders = self._orders[row.trade_id]
        kept = next((o for o in orders if o.id == row.id), None)
        if kept is None:
            row.trade = trade
            orders.append(row)
        elif kept is not row:
            return False
        self._settle(row.trade_id)
        return True

    def drop(self, trade_id: int) -> None:
        self._trades.pop(trade_id, None)
        self._orders.pop(trade_id, None)

    def _settle(self, trade_id: int) -> None:
        """Let a trade go once it is closed and has nothing open on the exchange."""
        if not self._trades[trade_id].is_open \
                and not any(o.is_open for o in self._orders[trade_id]):
            self.drop(trade_id)
