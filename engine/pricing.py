"""The price an entry or an exit is placed at, from `entry_pricing` / `exit_pricing`, as
Freqtrade's `get_rate` computes it, and its depth-of-market check before entries.

- `price_side` picks the bid or the ask: `same` is the side the order rests on (the bid for a
  long entry, the ask for a long exit), `other` the one it would take.
- From the ticker, a side beyond `last` (an entry's ask above it, an exit's bid below it) is
  moved towards `last` by `price_last_balance` (0: the side's price, 1: `last`).
- With `use_order_book`, the price is the `order_book_top`-th level of that side of the book
  (counted from 1), and `price_last_balance` does not apply.
- `check_depth_of_market`: an entry only when the bids' total volume over the asks' total (in
  the 1000 levels Freqtrade fetches) reaches `bids_to_ask_delta`, when that is above 0.

Books are fetched only for the pairs that need a price in this iteration (entry candidates,
and open trades with no open order) and only when a setting asks for them, through the
engine's `OrderBooks` (one concurrent fetch with the books the strategy reads). An entry
without its book (a failed fetch) is not placed in that iteration; an exit never waits for
one and is priced from the ticker. Backtests read no books: their tickers are candles, whose
bid, ask and last are one price.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

from engine.orderbooks import OrderBooks
from engine.settings import Pricing
from engine.strategy import LogOnce
from venues.exchange import OrderBook, Ticker

Side = Literal["entry", "exit"]
BidAsk = Literal["bid", "ask"]
# Freqtrade reads this many levels a side for the depth-of-market check.
DEPTH_OF_MARKET_LEVELS = 1000


def price_side(side: Side, setting: str) -> BidAsk:
    """The side of the book a long entry or exit is priced from."""
    if setting == "bid":
        return "bid"
    if setting == "ask":
        return "ask"
    resting: BidAsk = "bid" if side == "entry" else "ask"
    taking: BidAsk = "ask" if side == "entry" else "bid"
    return resting if setting == "same" else taking


def rate_from_ticker(side: Side, ticker: Ticker, pricing: Pricing) -> float | None:
    rate = ticker.bid if price_side(side, pricing.price_side) == "bid" else ticker.ask
    last = ticker.last
    if last and rate:
        if side == "entry" and rate > last:
            rate = rate + pricing.price_last_balance * (last - rate)
        elif side == "exit" and rate < last:
            rate = rate - pricing.price_last_balance * (rate - last)
    return rate or None


def rate_from_book(side: Side, book: OrderBook, pricing: Pricing) -> float | None:
    levels = book.bids if price_side(side, pricing.price_side) == "bid" else book.asks
    top = pricing.order_book_top
    return levels[top - 1][0] if len(levels) >= top else None


def depth_of_market_ok(book: OrderBook, bids_to_ask_delta: float) -> bool:
    """Whether the bids outweigh the asks by the ratio asked for (a long entry's check)."""
    bids = sum(amount for _, amount in book.bids)
    asks = sum(amount for _, amount in book.asks)
    if asks == 0:
        return bids > 0
    return bids / asks >= bids_to_ask_delta


class Pricer:
    """Entry and exit prices for one engine; `use` at start and on /reload."""

    def __init__(self, books: OrderBooks, log_once: LogOnce) -> None:
        self._books = books
        self._log_once = log_once
        self.entry = Pricing()
        self.exit = Pricing()
        self._trading = False

    def use(self, entry: Pricing, exit: Pricing, *, trading: bool) -> None:
        self.entry, self.exit, self._trading = entry, exit, trading

    @property
    def _checks_depth(self) -> bool:
        return self.entry.check_depth_of_market and self.entry.bids_to_ask_delta > 0

    def _entry_depth(self) -> int | None:
        if not self._trading:
            return None
        if self._checks_depth:
            return DEPTH_OF_MARKET_LEVELS
        return self.entry.order_book_top if self.entry.use_order_book else None

    def _exit_depth(self) -> int | None:
        return self.exit.order_book_top if self._trading and self.exit.use_order_book else None

    @property
    def reads_books(self) -> bool:
        return self._entry_depth() is not None or self._exit_depth() is not None

    def books_wanted(self, entries: Iterable[str], exits: Callable[[], Iterable[str]]
                     ) -> dict[str, int]:
        """The books this iteration's prices need, pair -> levels: of the entry candidates,
        and of the pairs `exits` gives (asked only when exits read books)."""
        wanted: dict[str, int] = {}
        entry_depth, exit_depth = self._entry_depth(), self._exit_depth()
        if entry_depth is not None:
            wanted |= dict.fromkeys(entries, entry_depth)
        if exit_depth is not None:
            for pair in exits():
                wanted[pair] = max(wanted.get(pair, 0), exit_depth)
        return wanted

    def entry_rate(self, pair: str, ticker: Ticker) -> float | None:
        """The entry price now; None (logged) when the book it needs is not there."""
        if not (self.entry.use_order_book and self._trading):
            return rate_from_ticker("entry", ticker, self.entry)
        book = self._books.fetched(pair, self.entry.order_book_top)
        rate = None if book is None else rate_from_book("entry", book, self.entry)
        if rate is None:
            self._log_once.info(("price", pair), "no entry for %s in this iteration: no price "
                                "at level %d of its order book (entry_pricing)", pair,
                                self.entry.order_book_top)
        return rate

    def exit_rate(self, pair: str, ticker: Ticker) -> float:
        rate = None
        if self.exit.use_order_book and self._trading:
            book = self._books.fetched(pair, self.exit.order_book_top)
            rate = None if book is None else rate_from_book("exit", book, self.exit)
        return rate or rate_from_ticker("exit", ticker, self.exit) or ticker.last

    def exit_ticker(self, pair: str, ticker: Ticker) -> Ticker:
        """The ticker the exit rules test: a point at the exit price, as Freqtrade's live bot
        tests its exit rate; a replayed candle (all its quotes its open) stays the candle."""
        rate = self.exit_rate(pair, ticker)
        if rate == ticker.open:
            return ticker
        return ticker._replace(open=rate, high=rate, low=rate, last=rate)

    def depth_allows(self, pair: str) -> bool:
        """Freqtrade's depth-of-market check for an entry in `pair` (False, logged, when it
        fails or its book is not there)."""
        if not (self._checks_depth and self._trading):
            return True
        book = self._books.fetched(pair, DEPTH_OF_MARKET_LEVELS)
        if book is not None and depth_of_market_ok(book, self.entry.bids_to_ask_delta):
            return True
        self._log_once.info(("depth", pair, book is None), "no entry for %s: %s", pair,
                            "its order book was not fetched" if book is None else
                            "bids to asks below check_depth_of_market.bids_to_ask_delta")
        return False
