"""Exchange failures that the engine's parts absorb, kept for the one alert the owner gets.

A failed candle refresh keeps the cached candles, a failed order lookup or cancel is tried
again next iteration: each part carries on, so no exception reaches the engine's iteration,
and without this the owner would never hear of an outage that only those calls met. The
engine takes the failures (`AbsorbedFailures`, injected by the composition root) once per
iteration and tells the owner once per episode.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol, TypeVar

import pandas as pd

from core.errors import OrderNotFound, OrderStateUnknown, TemporaryError
from venues.exchange import (
    Balance,
    Exchange,
    MarketRules,
    OrderBook,
    OrderRequest,
    OrderSnapshot,
    Rounding,
    Ticker,
)

T = TypeVar("T")


class AbsorbedFailures(Protocol):
    """Where the engine reads the exchange failures absorbed since it last asked."""

    def take_failures(self) -> list[str]: ...


class WatchedExchange(Exchange):
    """An `Exchange` that passes every call on to `inner` and remembers its temporary
    failures until `take_failures()` (it is the `AbsorbedFailures` of the exchange it wraps).
    """

    def __init__(self, inner: Exchange) -> None:
        self.inner = inner
        self._failures: list[str] = []

    def take_failures(self) -> list[str]:
        failures, self._failures = self._failures, []
        return failures

    async def _watch(self, call: Awaitable[T], *, missing_counts: bool = False) -> T:
        try:
            return await call
        except (TemporaryError, OrderStateUnknown) as exc:
            self._failures.append(str(exc))
            raise
        except OrderNotFound as exc:
            if missing_counts:
                self._failures.append(str(exc))
            raise

    @property
    def name(self) -> str:
        return self.inner.name

    async def load_markets(self, reload: bool = False) -> None:
        await self._watch(self.inner.load_markets(reload))

    def markets(self) -> Mapping[str, MarketRules]:
        return self.inner.markets()

    def market_definitions(self, pairs: Iterable[str]) -> dict[str, dict[str, Any]]:
        return self.inner.market_definitions(pairs)

    def use_markets(self, definitions: Mapping[str, Mapping[str, Any]]) -> None:
        self.inner.use_markets(definitions)

    def rules(self, pair: str) -> MarketRules:
        return self.inner.rules(pair)

    def round_amount(self, pair: str, amount: float) -> float:
        return self.inner.round_amount(pair, amount)

    def round_price(self, pair: str, price: float, rounding: Rounding = Rounding.ROUND) -> float:
        return self.inner.round_price(pair, price, rounding)

    async def fetch_tickers(self, pairs: list[str]) -> dict[str, Ticker]:
        return await self._watch(self.inner.fetch_tickers(pairs))

    async def fetch_ohlcv(
        self, pair: str, timeframe: str, since: datetime | None = None, limit: int | None = None
    ) -> pd.DataFrame:
        return await self._watch(self.inner.fetch_ohlcv(pair, timeframe, since, limit))

    def ohlcv_candle_limit(self, timeframe: str) -> int:
        return self.inner.ohlcv_candle_limit(timeframe)

    async def fetch_order_book(self, pair: str, limit: int) -> OrderBook:
        return await self._watch(self.inner.fetch_order_book(pair, limit))

    async def fetch_balance(self) -> dict[str, Balance]:
        return await self._watch(self.inner.fetch_balance())

    async def create_order(self, request: OrderRequest) -> OrderSnapshot:
        return await self._watch(self.inner.create_order(request))

    async def fetch_order(
        self, pair: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderSnapshot:
        # An order the exchange acknowledged (it has an id) cannot be missing: that is an
        # exchange fault. By client id alone, "not found" is a normal answer.
        call = self.inner.fetch_order(pair, order_id, client_order_id)
        return await self._watch(call, missing_counts=order_id is not None)

    async def cancel_order(self, pair: str, order_id: str) -> OrderSnapshot:
        return await self._watch(self.inner.cancel_order(pair, order_id))

    async def fetch_open_orders(self, pair: str | None = None) -> list[OrderSnapshot]:
        return await self._watch(self.inner.fetch_open_orders(pair))

    async def close(self) -> None:
        await self.inner.close()
