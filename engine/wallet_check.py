"""Trades whose coins left the wallet (sold by hand): closed as `sold_on_exchange` instead of
blocking a slot forever, checked once an hour."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from engine.trader import Trader
from store.store import Store
from venues.exchange import Ticker

WALLET_CHECK = timedelta(minutes=60)


async def close_sold_trades(trader: Trader, store: Store, tickers: Mapping[str, Ticker],
                            now: datetime, checked_at: datetime | None) -> datetime | None:
    """Check when due; when the check last ran (to hand back next time)."""
    due = checked_at is None or now - checked_at >= WALLET_CHECK
    if not due:
        return checked_at
    waiting = store.trades_with_open_orders()
    holding = [t for t in store.open_trades() if t.amount > 0 and t.id not in waiting]
    if not holding:
        return checked_at
    balances = trader.runtime.saw(await trader.exchange.fetch_balance())
    for trade in holding:
        held = balances.get(trade.base_currency)
        ticker = tickers.get(trade.pair)
        if ticker is not None and (held is None or held.total < trade.amount * 0.98):
            trader.close_externally(trade, ticker.last)
    return now
