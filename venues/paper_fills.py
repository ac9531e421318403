"""How the paper exchange fills an order: the arithmetic of its rows, and what an order meets
in the book when it is placed.

- A market order fills at once at the price Freqtrade's dry run gives it: the average of the
  book's levels its amount walks through (20 levels; what is beyond them at the last level's
  price), never more than 5% worse than the reference price, rounded to the price tick by the
  caller. Without a book (or with an empty side) it fills at the reference price.
- IOC fills what crosses now (the levels at or better than its limit, at their prices) and
  expires the rest; FOK fills only when all of it crosses, else it expires empty; PO is
  rejected when it would take (a buy at or above the best ask, a sell at or below the best
  bid). Without a book, the ticker stands for it: the range traded reached the limit (the
  same test as a resting limit order's) or not.

The book's prices are taken on the price tick, as an exchange's are: the demo's book is made
from candle prices finer than the tick, and an order at its ask must meet that ask.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Context, Decimal, localcontext
from typing import cast

from store.models import PaperOrder, dec
from venues.exchange import OrderBook, OrderRequest, Side, Ticker

# Exact decimal sums: the wallet must not depend on the order fills were added in, so that a
# restart (which sums every row again) finds the very same balances.
EXACT = Context(prec=60)
OPEN, CLOSED, CANCELED, EXPIRED = "open", "closed", "canceled", "expired"
BOOK_LEVELS = 20  # as Freqtrade's dry run reads the book
MAX_SLIPPAGE = 0.05


def currencies(pair: str) -> tuple[str, str]:
    base, _, rest = pair.partition("/")
    return base, rest.split(":")[0]


def effect(row: PaperOrder) -> dict[str, Decimal]:
    """What the order's fills so far did to the balances."""
    base, quote = currencies(row.pair)
    with localcontext(EXACT):
        filled, value, fee = dec(row.filled), dec(row.cost), dec(row.fee_cost)
        if row.side == "buy":
            return {base: filled, quote: -(value + fee)}
        return {base: -filled, quote: value - fee}


def remaining(row: PaperOrder) -> float:
    with localcontext(EXACT):
        return float(dec(row.amount) - dec(row.filled))


def price(row: PaperOrder) -> float:
    # The column is nullable for the exchange's sake; every paper order records its price.
    return cast(float, row.price)


def crosses(row: PaperOrder, ticker: Ticker) -> bool:
    """Whether the range traded reached a limit order's price."""
    return price(row) >= ticker.low if row.side == "buy" else price(row) <= ticker.high


def market_price(side: Side, amount: float, reference: float, book: OrderBook | None) -> float:
    """Freqtrade's dry-run fill price of a market order (unrounded)."""
    levels = () if book is None else book.asks if side == "buy" else book.bids
    if not levels:
        return reference
    left, value, level_price = amount, 0.0, 0.0
    for level_price, volume in levels:
        if left <= 0:
            break
        taken = min(left, volume)
        value += taken * level_price
        left -= taken
    value += max(left, 0.0) * level_price
    average = max(value, 0.0) / amount
    if side == "buy":
        return min(average, reference * (1 + MAX_SLIPPAGE))
    return max(average, reference * (1 - MAX_SLIPPAGE))


def crossing(side: Side, limit: float, amount: float, book: OrderBook) -> tuple[float, float]:
    """How much of a limit order the book fills now, and the average price of that part."""
    levels = book.asks if side == "buy" else book.bids
    left, value = amount, 0.0
    for level_price, volume in levels:
        better = level_price <= limit if side == "buy" else level_price >= limit
        if left <= 0 or not better:
            break
        taken = min(left, volume)
        value += taken * level_price
        left -= taken
    filled = amount - left
    return filled, (value / filled if filled > 0 else limit)


def would_take(side: Side, limit: float, book: OrderBook | None, ticker: Ticker) -> bool:
    """Whether a post-only order would take liquidity instead of resting."""
    if book is None:
        return limit >= ticker.ask if side == "buy" else limit <= ticker.bid
    levels = book.asks if side == "buy" else book.bids
    if not levels:
        return False
    return limit >= levels[0][0] if side == "buy" else limit <= levels[0][0]


def on_ticks(book: OrderBook, to_tick: Callable[[float], float]) -> OrderBook:
    """The book with every level's price on the tick (a live book's already are)."""
    return replace(book, bids=tuple((to_tick(p), a) for p, a in book.bids),
                   asks=tuple((to_tick(p), a) for p, a in book.asks))


def order_price(request: OrderRequest, ticker: Ticker, amount: float, book: OrderBook | None,
                on_tick: Callable[[float], float]) -> float:
    """The price an order is placed at: a limit's own, on the tick; a market order's quote as
    is (on replayed candles the candle open, the price a Freqtrade backtest trades at) or,
    with a book, what the amount walks through, on the tick."""
    if request.order_type == "limit":
        return on_tick(request.price)
    quoted = ticker.ask if request.side == "buy" else ticker.bid
    if book is None:
        return quoted
    return on_tick(market_price(request.side, amount, quoted, book))
