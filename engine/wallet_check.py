"""Trades whose coins left the wallet (sold by hand on the exchange) are closed at the last
price instead of blocking a slot for ever; the wallet is looked at once an hour, and only
while some trade holds coins without an open order."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from engine.trader import Trader
from store.store import Store
from venues.exchange import Exchange, Ticker

WALLET_CHECK = timedelta(minutes=60)


class WalletCheck:
    """When the wallet was last looked at; a failed look counts, so an outage does not turn
    the hourly look into one every iteration."""

    def __init__(self) -> None:
        self.checked_at: datetime | None = None

    async def run(self, store: Store, trader: Trader, exchange: Exchange,
                  tickers: Mapping[str, Ticker], now: datetime) -> None:
        if self.checked_at is not None and now - self.checked_at < WALLET_CHECK:
            return
        waiting = store.trades_with_open_orders()
        holding = [t for t in store.open_trades() if t.amount > 0 and t.id not in waiting]
        if not holding:
            return
        self.checked_at = now
        balances = trader.runtime.saw(await exchange.fetch_balance())
        for trade in holding:
            held = balances.get(trade.base_currency)
            ticker = tickers.get(trade.pair)
            if ticker is not None and (held is None or held.total < trade.amount * 0.98):
                trader.close_externally(trade, ticker.last)
