"""Stop orders on the paper exchange (stoploss_on_exchange in dry-run and the offline demo).

A stop sell rests untriggered (order type `stop_loss_limit` in the paper table) until the
traded range reaches its trigger: the ticker's last price live, the candle's low in a replay.
It then becomes a limit sell at its limit price (stop x stoploss_on_exchange_limit_ratio), as
Binance's STOP_LOSS_LIMIT does. A trigger whose price is still at or above the limit sells at
once, at the trigger price, or the candle's open when the market opened below the stop (the
price Freqtrade's backtest gives a stop exit); a market that fell through the limit leaves a
resting limit order that fills when the price comes back to it. As on Binance, a stop that
would trigger at once is refused.
"""

from __future__ import annotations

from typing import cast

from core.errors import OrderRejected
from store.models import PaperOrder
from venues.exchange import OrderRequest, Ticker

WAITING = "stop_loss_limit"  # the paper table's order type of a stop not yet triggered


def is_waiting(row: PaperOrder) -> bool:
    return row.order_type == WAITING


def check_placeable(request: OrderRequest, stop: float, ticker: Ticker) -> None:
    """Refuse a stop the market is already at or below (Binance's -2010)."""
    if request.side != "sell":
        raise OrderRejected(f"{request.pair}: only sell stops (a long's stoploss) are simulated")
    if ticker.last <= stop:
        raise OrderRejected(f"{request.pair}: Stop price would trigger immediately "
                            f"(stop {stop:.8g}, last {ticker.last:.8g})")


def triggered_at(row: PaperOrder, ticker: Ticker) -> float | None:
    """The price the stop triggered at in this ticker's range, or None while it waits."""
    stop = cast(float, row.stop_price)
    if ticker.low > stop:
        return None
    return min(stop, ticker.open)
