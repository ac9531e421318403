"""What the fake Binance's book does to an order that takes: market orders, IOC and FOK limit
orders, and LIMIT_MAKER (post-only) orders that would take, as Binance spot does them.

The book is `Book.depth`: the quote's bid and ask, then a tick apart, 10, 11, 12... coins a
level, or what a test pinned with `Book.set_book`. A taking order walks the levels of the other
side that its limit allows (a market order: all of them), filling at each level's price with
the taker fee (in the coin received, as without BNB); a market buy given `quoteOrderQty`
spends that much quote instead of buying a quantity. What an IOC leaves, and a whole FOK that
cannot fill, expires. Balances move at once: nothing of a taking order rests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.fakes.binance_book import Book, FakeOrder, MarketSpec

TAKER = Decimal("0.001")
Level = tuple[Decimal, Decimal]


def book_side(book: Book, market: MarketSpec, side: str) -> list[Level]:
    """The levels a BUY or SELL takes from, best first."""
    depth = book.depth(market, 5000)
    rows = depth["asks"] if side == "BUY" else depth["bids"]
    return [(Decimal(price), Decimal(amount)) for price, amount in rows]


def crossing(levels: Iterable[Level], side: str, limit: Decimal | None) -> list[Level]:
    """The levels a limit (None: market) reaches."""
    return [(p, a) for p, a in levels
            if limit is None or (p <= limit if side == "BUY" else p >= limit)]


def take_quantity(levels: Iterable[Level], quantity: Decimal) -> list[Level]:
    """(price, quantity) fills of `quantity` walking `levels`."""
    fills, left = [], quantity
    for price, amount in levels:
        if left <= 0:
            break
        taken = min(left, amount)
        fills.append((price, taken))
        left -= taken
    return fills


def take_cost(levels: Iterable[Level], cost: Decimal, step: Decimal) -> list[Level]:
    """(price, quantity) fills spending at most `cost`, each quantity on the lot step."""
    fills, left = [], cost
    for price, amount in levels:
        taken = min(amount, (left / price / step).to_integral_value(rounding=ROUND_DOWN) * step)
        if taken <= 0:
            break
        fills.append((price, taken))
        left -= taken * price
    return fills


def would_take(book: Book, market: MarketSpec, side: str, price: Decimal) -> bool:
    return bool(crossing(book_side(book, market, side)[:1], side, price))


def needs(market: MarketSpec, side: str, fills: Iterable[Level]) -> tuple[str, Decimal]:
    """The asset and amount the fills take from the account."""
    fills = list(fills)
    if side == "BUY":
        return market.quote, sum((p * q for p, q in fills), Decimal(0))
    return market.base, sum((q for _, q in fills), Decimal(0))


def execute(book: Book, order: FakeOrder, fills: list[Level]) -> None:
    """Apply taker fills to the order and the balances (checked by the caller)."""
    market = order.market
    for price, qty in fills:
        value = price * qty
        if order.side == "BUY":
            fee, fee_asset = qty * TAKER, market.base
            book.free[market.quote] -= value
            book.free[market.base] = book.free.get(market.base, Decimal(0)) + qty - fee
        else:
            fee, fee_asset = value * TAKER, market.quote
            book.free[market.base] -= qty
            book.free[market.quote] = book.free.get(market.quote, Decimal(0)) + value - fee
        order.executed += qty
        order.quote_qty += value
        order.fills.append({"price": f"{price:f}", "qty": f"{qty:f}",
                            "commission": f"{fee:f}", "commissionAsset": fee_asset,
                            "tradeId": str(order.order_id * 100 + len(order.fills))})
    order.update_time = book.now_ms()


def immediate_fills(book: Book, market: MarketSpec, params: Mapping[str, str], side: str,
                    quantity: Decimal) -> tuple[list[Level], str]:
    """The fills of a taking order and its status after them."""
    order_type = params.get("type", "")
    tif = params.get("timeInForce", "GTC")
    levels = book_side(book, market, side)
    if order_type == "MARKET":
        if side == "BUY" and "quoteOrderQty" in params:
            fills = take_cost(levels, Decimal(params["quoteOrderQty"]),
                              Decimal(market.amount_step))
        else:
            fills = take_quantity(levels, quantity)
        return fills, "FILLED"
    fills = take_quantity(crossing(levels, side, Decimal(params["price"])), quantity)
    filled = sum((q for _, q in fills), Decimal(0))
    if tif == "FOK" and filled < quantity:
        return [], "EXPIRED"
    return fills, "FILLED" if filled == quantity else "EXPIRED"
