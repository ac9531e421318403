"""The one small exchange interface the engine talks to, its typed snapshots, and the single
place where ccxt errors are mapped onto the project's exception hierarchy.

Three things implement `Exchange`: `CcxtExchange` (live), `PaperExchange` (dry-run) and the
offline market used by the demo and backtests. The engine never knows which one it has.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Literal, NamedTuple, Protocol

import ccxt
import pandas as pd

from core.errors import (
    ExchangeError,
    FatalExchangeError,
    InsufficientFunds,
    OrderNotFound,
    OrderRejected,
    OrderStateUnknown,
    TemporaryError,
)

Side = Literal["buy", "sell"]
OrderType = Literal["limit", "market"]
# ccxt's unified order statuses.
ExchangeOrderStatus = Literal["open", "closed", "canceled", "expired", "rejected"]


class Rounding(Enum):
    ROUND = "round"  # nearest tick: order prices
    TRUNCATE = "truncate"  # down: amounts, so we never sell more than we hold
    ROUND_UP = "round_up"  # up: long stop prices, the safe side


@dataclass(frozen=True, slots=True)
class MarketRules:
    """Precision and limits of one market, as ccxt's unified market describes them."""

    pair: str
    base: str
    quote: str
    active: bool
    amount_step: float | None
    price_tick: float | None
    min_amount: float | None
    max_amount: float | None
    min_cost: float | None
    max_cost: float | None
    maker_fee: float
    taker_fee: float


class Ticker(NamedTuple):
    """Prices of one pair now, plus the range traded since the previous snapshot.

    A live ticker is a single point in time, so `open`, `high` and `low` all equal `last`.
    A replayed candle (offline market, backtest) spans its open, high and low, which is what
    lets the same exit rules run on both. A named tuple rather than a frozen dataclass: a
    backtest makes one per pair and candle, and it builds in half the time.
    """

    pair: str
    time: datetime
    bid: float
    ask: float
    last: float
    open: float
    high: float
    low: float
    quote_volume: float | None = None  # traded in the last 24h, in the quote currency


@dataclass(frozen=True, slots=True)
class OrderBook:
    """An L2 order book as ccxt's `fetch_order_book` unifies it: (price, amount) levels, best
    first. `timestamp` is the exchange's, when it sends one (Binance's spot book has none)."""

    pair: str
    bids: tuple[tuple[float, float], ...]
    asks: tuple[tuple[float, float], ...]
    timestamp: datetime | None = None
    nonce: int | None = None


@dataclass(frozen=True, slots=True)
class Balance:
    currency: str
    free: float
    used: float
    total: float


@dataclass(frozen=True, slots=True)
class OrderRequest:
    pair: str
    side: Side
    order_type: OrderType
    amount: float
    price: float  # the limit price, or the reference price of a market order
    client_order_id: str


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """An order as the exchange reports it: cumulative values, never deltas."""

    order_id: str
    client_order_id: str | None
    pair: str
    side: Side
    order_type: OrderType
    status: ExchangeOrderStatus
    amount: float
    filled: float
    remaining: float
    price: float | None
    average: float | None
    cost: float
    fee_cost: float | None
    fee_currency: str | None
    timestamp: datetime
    last_update: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "open"


class Exchange(Protocol):
    """What the engine needs from a venue. Every method returns typed snapshots."""

    @property
    def name(self) -> str: ...

    async def load_markets(self, reload: bool = False) -> None: ...

    def markets(self) -> Mapping[str, MarketRules]: ...

    def market_definitions(self, pairs: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The ccxt market structures of those of `pairs` that are loaded (JSON-able), for
        `use_markets` on a later start that cannot load them."""
        ...

    def use_markets(self, definitions: Mapping[str, Mapping[str, Any]]) -> None:
        """Trade on `definitions` (from `market_definitions`) until markets load."""
        ...

    def rules(self, pair: str) -> MarketRules: ...

    def round_amount(self, pair: str, amount: float) -> float: ...

    def round_price(
        self, pair: str, price: float, rounding: Rounding = Rounding.ROUND
    ) -> float: ...

    async def fetch_tickers(self, pairs: list[str]) -> dict[str, Ticker]: ...

    async def fetch_ohlcv(
        self, pair: str, timeframe: str, since: datetime | None = None, limit: int | None = None
    ) -> pd.DataFrame: ...

    def ohlcv_candle_limit(self, timeframe: str) -> int:
        """How many candles one `fetch_ohlcv` request returns at most (Freqtrade's name)."""
        ...

    async def fetch_order_book(self, pair: str, limit: int) -> OrderBook:
        """The pair's L2 book, up to `limit` levels a side (more where the exchange only
        serves fixed depths)."""
        ...

    async def fetch_balance(self) -> dict[str, Balance]: ...

    async def create_order(self, request: OrderRequest) -> OrderSnapshot: ...

    async def fetch_order(
        self, pair: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderSnapshot: ...

    async def cancel_order(self, pair: str, order_id: str) -> OrderSnapshot: ...

    async def fetch_open_orders(self, pair: str | None = None) -> list[OrderSnapshot]:
        """The pair's open orders; with no pair, every pair's in one request where the
        exchange serves that (an ExchangeError that is not temporary where it does not)."""
        ...

    async def close(self) -> None: ...


Operation = Literal["read", "create_order", "cancel_order", "fetch_order"]


# Checked in order: RequestTimeout is a NetworkError and OrderNotFound / DuplicateOrderId
# are InvalidOrder in ccxt, so the specific classes come first.
_TABLE: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
    ((ccxt.RequestTimeout, TimeoutError), "timeout"),
    (ccxt.DuplicateOrderId, "unknown"),
    (ccxt.OrderNotFound, "not_found"),
    (ccxt.InsufficientFunds, "funds"),
    ((ccxt.InvalidOrder, ccxt.BadSymbol, ccxt.MarketClosed), "rejected"),
    (ccxt.AuthenticationError, "fatal"),
    ((ccxt.RateLimitExceeded, ccxt.DDoSProtection), "temporary"),
    ((ccxt.NetworkError, ccxt.BadResponse, ccxt.CancelPending, OSError), "network"),
    ((ccxt.OperationRejected, ccxt.BadRequest, ccxt.NotSupported), "refused"),
)


def classify(exc: BaseException, operation: Operation = "read") -> ExchangeError:
    """Map a ccxt (or transport) error onto our hierarchy. The only place that does this."""
    if isinstance(exc, ExchangeError):
        return exc
    message = f"{type(exc).__name__}: {exc}"
    kind = next((k for classes, k in _TABLE if isinstance(exc, classes)), "other")
    sends = operation in ("create_order", "cancel_order")
    if kind == "timeout":
        return OrderStateUnknown(message) if sends else TemporaryError(message)
    if kind == "network":
        # A create may have reached the exchange before the answer was lost; only a
        # rate-limit refusal (above) proves it was not accepted.
        creating = operation == "create_order"
        return OrderStateUnknown(message) if creating else TemporaryError(message)
    if kind == "refused" and operation == "create_order":
        return OrderRejected(message)
    mapped: dict[str, type[ExchangeError]] = {
        "unknown": OrderStateUnknown, "not_found": OrderNotFound, "funds": InsufficientFunds,
        "rejected": OrderRejected, "fatal": FatalExchangeError, "temporary": TemporaryError,
    }  # fmt: skip
    return mapped.get(kind, ExchangeError)(message)
