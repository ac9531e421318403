"""`freqtrade.persistence`: `Trade` as a strategy uses it, and `Order` (what order_filled gets).

A strategy never holds a database row: `Trade`'s class methods give frozen snapshots
(engine.strategy.TradeSnapshot, the same `trade` its callbacks receive) of the trades of the
engine that runs the strategy. Each strategy module gets its own subclass (`bound_trade`),
bound when the engine adopts the strategy; before that it sees no trades.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from engine.strategy import TradeSnapshot
from engine.strategy_order import OrderInfo
from engine.strategy_runtime import RuntimeSlot

__all__ = ["Order", "Trade"]

NOT_PROVIDED = {
    "PairLocks": "use the strategy's self.lock_pair, self.unlock_pair and self.is_pair_locked",
    "LocalTrade": "backtests run the live engine; use Trade",
}

Order = OrderInfo


class Trade:
    """Freqtrade's Trade class methods that read trades, as frozen snapshots."""

    slot: ClassVar[RuntimeSlot | None] = None

    @classmethod
    def get_trades_proxy(cls, *, pair: str | None = None, is_open: bool | None = None,
                         open_date: datetime | None = None, close_date: datetime | None = None
                         ) -> list[TradeSnapshot]:
        """Trades of `pair` (all pairs by default), open or closed or both, opened after
        `open_date`, closed after `close_date`; oldest first."""
        runtime = cls.slot.runtime if cls.slot is not None else None
        if runtime is None:
            return []
        return runtime.trades(pair=pair, is_open=is_open, open_date=open_date,
                              close_date=close_date)

    @classmethod
    def get_open_trades(cls) -> list[TradeSnapshot]:
        return cls.get_trades_proxy(is_open=True)

    @classmethod
    def get_open_trade_count(cls) -> int:
        return len(cls.get_open_trades())

    @classmethod
    def get_total_closed_profit(cls) -> float:
        return sum(t.close_profit_abs or 0.0 for t in cls.get_trades_proxy(is_open=False))

    @classmethod
    def total_open_trades_stakes(cls) -> float:
        return sum(t.stake_amount for t in cls.get_open_trades())


def bound_trade(slot: RuntimeSlot) -> type[Trade]:
    """The `Trade` of one strategy module: it reads the runtime `slot` will hold."""
    return type("Trade", (Trade,), {"slot": slot, "__module__": "freqtrade.persistence",
                                    "__doc__": Trade.__doc__})
