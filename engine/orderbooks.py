"""Order books for the strategy's `self.dp.orderbook`, fetched before its code runs.

Strategy code calls `dp.orderbook(pair, maximum)` synchronously, inside an iteration that must
never wait on the exchange, so the engine fetches the books the strategy will read ahead of it
(concurrently, alongside the candle refresh and the tickers) and `dp.orderbook` only reads the
books fetched in the current iteration:

- a pair whose book was asked for and not there ("standing") is fetched every iteration from
  then on, with the candles, so `populate_*` and `bot_loop_start` find it;
- a strategy that uses order books (a method of its class names `orderbook`, or it asked once)
  gets the books of the pairs about to reach its entry callbacks (a fresh entry signal) and of
  the open trades (exit callbacks run for them every iteration) before those callbacks run;
- every book is fetched `DEFAULT_DEPTH` levels deep, or as deep as the deepest ask so far.

A book not fetched in this iteration (an ask outside the above, deeper than fetched, or a fetch
that failed) is never answered with an older one: `book` gives None, which `dp.orderbook`
raises as a StrategyError, and counts a miss. An entry whose callbacks met a miss is not placed
in that iteration (the engine compares `misses`); an exit goes ahead with the callback's default
answer, as getting out of a position never waits for a book. Backtests fetch none (`use`).
The books that `entry_pricing` / `exit_pricing` price orders from come in the same fetch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable, Mapping
from types import CodeType
from typing import Any, Protocol, TypeVar

from core.errors import ExchangeError
from engine.strategy import IStrategy
from venues.exchange import OrderBook

logger = logging.getLogger(__name__)

T = TypeVar("T")
# Freqtrade's own default depth; Binance weighs a request up to 100 levels the same.
DEFAULT_DEPTH = 100


class BookSource(Protocol):
    async def fetch_order_book(self, pair: str, limit: int) -> OrderBook: ...


class OrderBooks:
    def __init__(self, exchange: BookSource) -> None:
        self._exchange = exchange
        self._uses = False
        self._trading = False
        self._standing: dict[str, None] = {}
        self._deepest = DEFAULT_DEPTH
        self._books: dict[str, tuple[int, OrderBook]] = {}
        self.misses = 0

    def use(self, strategy: IStrategy, *, trading: bool) -> None:
        """Serve `strategy` from now on (at start and on /reload); nothing when not trading."""
        self._trading = trading
        self._uses = trading and names_orderbook(strategy)
        self._standing = {}
        self._deepest = DEFAULT_DEPTH
        self._books = {}

    @property
    def used(self) -> bool:
        return self._uses

    def new_iteration(self) -> None:
        self._books = {}

    def standing(self) -> list[str]:
        return list(self._standing)

    async def fetch(self, pairs: Iterable[str], deeper: Mapping[str, int] | None = None) -> None:
        """Fetch the books of `pairs` and of `deeper` (pair -> levels at least: the prices'
        books, engine/pricing.py) not fetched deep enough yet in this iteration, concurrently;
        a failed fetch leaves the pair without a book (logged; the watcher tells the owner)."""
        todo = self._todo(pairs, deeper)
        if todo:
            await asyncio.gather(*(self._fetch_one(pair, depth) for pair, depth in todo.items()))

    async def alongside(self, main: Awaitable[T], pairs: Iterable[str],
                        deeper: Mapping[str, int] | None = None) -> T:
        """`main`'s result, with `fetch(pairs, deeper)` run concurrently; both have ended when
        it returns (so no fetch lands in a later iteration) and `main`'s failure is raised.
        With no book to fetch, `main` is awaited alone (most iterations: no gather's tasks)."""
        todo = self._todo(pairs, deeper)
        if not todo:
            return await main
        books = asyncio.gather(*(self._fetch_one(pair, depth) for pair, depth in todo.items()))
        result, _ = await asyncio.gather(main, books, return_exceptions=True)
        if isinstance(result, BaseException):
            raise result
        return result

    def _todo(self, pairs: Iterable[str], deeper: Mapping[str, int] | None) -> dict[str, int]:
        if not self._trading:
            return {}
        wanted = dict.fromkeys(pairs, 0) | dict(deeper or {})
        return {pair: max(depth, self._deepest) for pair, depth in wanted.items()
                if self.fetched(pair, max(depth, 1)) is None}

    def fetched(self, pair: str, depth: int) -> OrderBook | None:
        """This iteration's book of `pair` if it is `depth` levels deep (no miss counted)."""
        fetched = self._books.get(pair)
        return fetched[1] if fetched is not None and fetched[0] >= depth else None

    async def _fetch_one(self, pair: str, depth: int) -> None:
        try:
            self._books[pair] = (depth, await self._exchange.fetch_order_book(pair, depth))
        except ExchangeError as error:
            logger.warning("order book pair=%s: not fetched: %s", pair, error)

    def book(self, pair: str, maximum: int) -> OrderBook | None:
        """This iteration's book of `pair` if it is `maximum` levels deep; None (a miss, and
        the pair fetched from the next iteration on) when it is not there."""
        fetched = self._books.get(pair)
        if fetched is not None and fetched[0] >= maximum:
            return fetched[1]
        self.misses += 1
        self._uses = self._trading
        self._standing[pair] = None
        self._deepest = max(self._deepest, maximum)
        return None



def names_orderbook(strategy: IStrategy) -> bool:
    """Whether a method of the strategy's own classes reads an attribute called
    `orderbook` (as `self.dp.orderbook(...)` does), nested functions included."""
    for klass in type(strategy).__mro__:
        if klass is IStrategy or klass is object:
            break
        for value in vars(klass).values():
            function: Any = getattr(value, "__func__", value)
            code = getattr(function, "__code__", None)
            if isinstance(code, CodeType) and _names(code, "orderbook"):
                return True
    return False


def _names(code: CodeType, name: str) -> bool:
    return name in code.co_names or any(
        _names(const, name) for const in code.co_consts if isinstance(const, CodeType))
