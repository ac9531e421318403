"""The state behind the fake Binance: markets, balances, orders and candles, in Binance's shapes.

Quantities and balances are `Decimal`, so the fake checks LOT_SIZE / PRICE_FILTER / NOTIONAL the
way the exchange does (exact multiples) and never hides a rounding bug in the adapter.
Everything here is synchronous; `exchange_server.py` puts it on the wire.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import ccxt
import numpy as np
import pandas as pd

from core.clock import Clock

FRAMES_TIMEFRAME = "5m"
_MARKETS_FILE = Path(__file__).with_name("markets.json")
_TAKER = Decimal("0.001")
_MAKER = Decimal("0.001")
_SPREAD = Decimal("0.0005")


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """One spot market; steps and limits are decimal strings, as Binance's filters carry them."""

    pair: str
    amount_step: str
    price_tick: str
    min_amount: str
    min_cost: str
    max_amount: str = "9000000"
    active: bool = True

    @property
    def base(self) -> str:
        return self.pair.split("/")[0]

    @property
    def quote(self) -> str:
        return self.pair.split("/")[1]

    @property
    def symbol(self) -> str:
        return self.base + self.quote


def parity_markets() -> list[MarketSpec]:
    """The rules of the parity pairs (ETH/BTC, LTC/BTC, ...), from `markets.json` beside this."""
    rows = json.loads(_MARKETS_FILE.read_text())["markets"]
    return [MarketSpec(**row) for row in rows]


def generated_markets(count: int = 100, quote: str = "USDT") -> list[MarketSpec]:
    """`count` made-up pairs (C000/USDT, C001/USDT, ...) for load tests and the benchmark."""
    return [MarketSpec(f"C{i:03d}/{quote}", "0.01", "0.0001", "0.01", "5") for i in range(count)]


class BinanceError(Exception):
    """An error body Binance would send: {"code": -2010, "msg": "..."} with an HTTP status."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


@dataclass(slots=True)
class FakeOrder:
    order_id: int
    client_order_id: str
    market: MarketSpec
    side: str  # BUY / SELL
    order_type: str  # LIMIT / MARKET
    price: Decimal
    quantity: Decimal
    time: int
    executed: Decimal = Decimal(0)
    quote_qty: Decimal = Decimal(0)
    status: str = "NEW"
    update_time: int = 0
    fills: list[dict[str, str]] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.executed

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")

    def to_json(self) -> dict[str, Any]:
        """GET /api/v3/order."""
        return {
            "symbol": self.market.symbol, "orderId": self.order_id, "orderListId": -1,
            "clientOrderId": self.client_order_id, "price": f"{self.price:f}",
            "origQty": f"{self.quantity:f}", "executedQty": f"{self.executed:f}",
            "cummulativeQuoteQty": f"{self.quote_qty:f}", "status": self.status,
            "timeInForce": "GTC", "type": self.order_type, "side": self.side,
            "stopPrice": "0", "icebergQty": "0", "time": self.time,
            "updateTime": self.update_time or self.time, "isWorking": True,
            "workingTime": self.time, "origQuoteOrderQty": "0",
            "selfTradePreventionMode": "NONE",
        }  # fmt: skip


def _to_tick(value: Decimal, tick: Decimal) -> Decimal:
    return (value / tick).to_integral_value(rounding=ROUND_DOWN) * tick


class Book:
    """Markets, balances, orders and candles of one fake Binance spot account."""

    def __init__(
        self,
        clock: Clock,
        markets: Iterable[MarketSpec],
        balances: Mapping[str, float | str],
        frames: Mapping[str, pd.DataFrame],
        klines_limit: int = 1000,
    ) -> None:
        self.clock = clock
        self.markets = {m.symbol: m for m in markets}
        self.by_pair = {m.pair: m for m in self.markets.values()}
        self.free = {k: Decimal(str(v)) for k, v in balances.items()}
        self.locked: dict[str, Decimal] = {}
        self.orders: dict[int, FakeOrder] = {}
        self.prices: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
        self.volumes: dict[str, Decimal] = {}  # 24h quote volume pinned per pair
        self.klines_limit = klines_limit
        self._frames = {pair: _frame_arrays(frame) for pair, frame in frames.items()}
        self._next_id = 1000

    def now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def market(self, symbol: str | None) -> MarketSpec:
        if symbol not in self.markets:
            raise BinanceError(-1121, "Invalid symbol.")
        return self.markets[symbol]

    def exchange_info(self) -> dict[str, Any]:
        return {
            "timezone": "UTC", "serverTime": self.now_ms(), "rateLimits": [],
            "exchangeFilters": [], "symbols": [_symbol_info(m) for m in self.markets.values()],
        }  # fmt: skip

    # --- prices -------------------------------------------------------------------------

    def set_price(self, pair: str, last: float, bid: float | None = None,
                  ask: float | None = None) -> None:  # fmt: skip
        """Pin a pair's ticker (bid/ask default to `last` plus/minus the fake's spread)."""
        price = Decimal(str(last))
        low = Decimal(str(bid)) if bid is not None else price * (1 - _SPREAD)
        high = Decimal(str(ask)) if ask is not None else price * (1 + _SPREAD)
        tick = Decimal(self.by_pair[pair].price_tick)
        self.prices[pair] = (_to_tick(price, tick), _to_tick(low, tick), _to_tick(high, tick))

    def set_volume(self, pair: str, quote_volume: float) -> None:
        """Pin a pair's 24h quote volume in /ticker/24hr."""
        self.volumes[pair] = Decimal(str(quote_volume))

    def day_volume(self, market: MarketSpec) -> Decimal:
        """24h quote volume: pinned, else a fixed made-up one per pair (from 1,000 up), so
        a volume ranking of many generated markets is stable and has no ties to speak of."""
        pinned = self.volumes.get(market.pair)
        return pinned if pinned is not None else Decimal(1000 + zlib.crc32(
            market.pair.encode()) % 1_000_000)

    def quote(self, market: MarketSpec) -> tuple[Decimal, Decimal, Decimal]:
        """(last, bid, ask) now: pinned, else the close of the candle forming now."""
        if market.pair in self.prices:
            return self.prices[market.pair]
        rows = self.klines(market.symbol, FRAMES_TIMEFRAME, None, None, 1)
        tick = Decimal(market.price_tick)
        last = Decimal(rows[-1][4]) if rows else Decimal(1)
        last = max(_to_tick(last, tick), tick)
        return last, _to_tick(last * (1 - _SPREAD), tick), _to_tick(last * (1 + _SPREAD), tick)

    def ticker_24hr(self, market: MarketSpec) -> dict[str, Any]:
        last, bid, ask = self.quote(market)
        now = self.now_ms()
        volume = self.day_volume(market)
        return {
            "symbol": market.symbol, "priceChange": "0", "priceChangePercent": "0",
            "weightedAvgPrice": f"{last:f}", "prevClosePrice": f"{last:f}",
            "lastPrice": f"{last:f}", "lastQty": "1", "bidPrice": f"{bid:f}", "bidQty": "10",
            "askPrice": f"{ask:f}", "askQty": "10", "openPrice": f"{last:f}",
            "highPrice": f"{last:f}", "lowPrice": f"{last:f}",
            "volume": f"{volume / last:f}", "quoteVolume": f"{volume:f}",
            "openTime": now - 86_400_000, "closeTime": now,
            "firstId": 1, "lastId": 2, "count": 2,
        }  # fmt: skip

    def book_ticker(self, market: MarketSpec) -> dict[str, Any]:
        _, bid, ask = self.quote(market)
        return {"symbol": market.symbol, "bidPrice": f"{bid:f}", "bidQty": "10",
                "askPrice": f"{ask:f}", "askQty": "10"}  # fmt: skip

    def depth(self, market: MarketSpec, limit: int | None) -> dict[str, Any]:
        """Binance's /api/v3/depth: `limit` levels a side (default 100, at most 5000) from
        the quote's bid and ask, a price tick apart, 10, 11, 12... coins deep."""
        _, bid, ask = self.quote(market)
        tick = Decimal(market.price_tick)
        count = min(int(limit or 100), 5000)
        bids = [[f"{bid - i * tick:f}", f"{10 + i}"] for i in range(count) if bid - i * tick > 0]
        asks = [[f"{ask + i * tick:f}", f"{10 + i}"] for i in range(count)]
        return {"lastUpdateId": self.now_ms(), "bids": bids, "asks": asks}

    def klines(
        self, symbol: str, interval: str, start: int | None, end: int | None, limit: int | None
    ) -> list[list[Any]]:
        """Binance's /api/v3/klines: candles up to the one forming now, `limit` capped."""
        market = self.market(symbol)
        tf_ms = int(ccxt.Exchange.parse_timeframe(interval)) * 1000
        count = min(int(limit or 500), self.klines_limit)
        newest = self.now_ms() // tf_ms * tf_ms
        if end is not None:
            newest = min(newest, end // tf_ms * tf_ms)
        arrays = self._frames.get(market.pair) if interval == FRAMES_TIMEFRAME else None
        if arrays is not None:
            opens, values = _frame_slice(arrays, start, newest, count)
        else:
            first = -(-start // tf_ms) * tf_ms if start is not None else None
            opens, values = _synthetic(market, first, newest, count, tf_ms)
        return [_kline(int(t), row, tf_ms) for t, row in zip(opens, values, strict=True)]

    # --- account and orders -------------------------------------------------------------

    def account(self) -> dict[str, Any]:
        assets = sorted(set(self.free) | set(self.locked))
        balances = [{"asset": a, "free": f"{self.free.get(a, Decimal(0)):f}",
                     "locked": f"{self.locked.get(a, Decimal(0)):f}"} for a in assets]  # fmt: skip
        return {
            "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
            "sellerCommission": 0, "canTrade": True, "canWithdraw": True, "canDeposit": True,
            "brokered": False, "requireSelfTradePrevention": False, "preventSor": False,
            "updateTime": self.now_ms(), "accountType": "SPOT", "balances": balances,
            "permissions": ["SPOT"], "uid": 1,
        }  # fmt: skip

    def place(self, params: Mapping[str, str]) -> FakeOrder:
        """POST /api/v3/order: validate like Binance, then rest a limit or fill a market order."""
        market = self.market(params.get("symbol"))
        if not market.active:
            raise BinanceError(-1013, "Market is closed.")
        client_id = params.get("newClientOrderId") or f"fake-{self._next_id}"
        if any(o.is_open and o.client_order_id == client_id for o in self.orders.values()):
            raise BinanceError(-2010, "Duplicate order sent.")
        order_type, side = params.get("type", ""), params.get("side", "")
        quantity = Decimal(params.get("quantity", "0"))
        _, bid, ask = self.quote(market)
        price = (
            Decimal(params["price"]) if order_type == "LIMIT" else (ask if side == "BUY" else bid)
        )
        _check_filters(market, quantity, price, order_type)
        self._reserve(market, side, quantity, price)
        self._next_id += 1
        order = FakeOrder(self._next_id, client_id, market, side, order_type, price, quantity,
                          self.now_ms())  # fmt: skip
        self.orders[order.order_id] = order
        if order_type == "MARKET":
            self.fill(order.order_id, taker=True)
        return order

    def _reserve(self, market: MarketSpec, side: str, quantity: Decimal, price: Decimal) -> None:
        asset, needed = (
            (market.quote, quantity * price) if side == "BUY" else (market.base, quantity)
        )
        if self.free.get(asset, Decimal(0)) < needed:
            raise BinanceError(-2010, "Account has insufficient balance for requested action.")
        self.free[asset] -= needed
        self.locked[asset] = self.locked.get(asset, Decimal(0)) + needed

    def fill(
        self, order_id: int, amount: float | str | None = None, *, taker: bool = False
    ) -> None:
        """Fill `amount` (default: all that remains) of an order at its price."""
        order = self.orders[order_id]
        qty = order.remaining if amount is None else Decimal(str(amount))
        if not order.is_open or qty <= 0 or qty > order.remaining:
            raise ValueError(f"cannot fill {qty} of order {order_id} ({order.status})")
        market, cost = order.market, qty * order.price
        fee_rate = _TAKER if taker else _MAKER
        if order.side == "BUY":
            self.locked[market.quote] -= cost
            fee, fee_asset = qty * fee_rate, market.base
            self.free[market.base] = self.free.get(market.base, Decimal(0)) + qty - fee
        else:
            self.locked[market.base] -= qty
            fee, fee_asset = cost * fee_rate, market.quote
            self.free[market.quote] = self.free.get(market.quote, Decimal(0)) + cost - fee
        order.executed += qty
        order.quote_qty += cost
        order.status = "FILLED" if order.remaining == 0 else "PARTIALLY_FILLED"
        order.update_time = self.now_ms()
        order.fills.append({"price": f"{order.price:f}", "qty": f"{qty:f}",
                            "commission": f"{fee:f}", "commissionAsset": fee_asset,
                            "tradeId": str(order_id * 100 + len(order.fills))})  # fmt: skip

    def find(self, params: Mapping[str, str], code: int = -2013,
             msg: str = "Order does not exist.") -> FakeOrder:  # fmt: skip
        """An order by orderId or origClientOrderId in a symbol (the newest one for a client id)."""
        symbol = self.market(params.get("symbol")).symbol
        order_id, client_id = params.get("orderId"), params.get("origClientOrderId")
        if order_id is not None:
            matches = [o for o in self.orders.values() if str(o.order_id) == order_id]
        else:
            matches = [o for o in self.orders.values() if o.client_order_id == client_id]
        matches = [o for o in matches if o.market.symbol == symbol]
        if not matches:
            raise BinanceError(code, msg)
        return matches[-1]

    def cancel(self, params: Mapping[str, str]) -> FakeOrder:
        order = self.find(params, -2011, "Unknown order sent.")
        if not order.is_open:
            raise BinanceError(-2011, "Unknown order sent.")
        market = order.market
        asset, amount = ((market.quote, order.remaining * order.price) if order.side == "BUY"
                         else (market.base, order.remaining))  # fmt: skip
        self.locked[asset] -= amount
        self.free[asset] += amount
        order.status, order.update_time = "CANCELED", self.now_ms()
        return order

    def orders_of(self, symbol: str | None, open_only: bool) -> list[FakeOrder]:
        return [
            o
            for o in self.orders.values()
            if (symbol is None or o.market.symbol == symbol) and (o.is_open or not open_only)
        ]


def _symbol_info(m: MarketSpec) -> dict[str, Any]:
    filters = [
        {"filterType": "PRICE_FILTER", "minPrice": m.price_tick, "maxPrice": "1000000",
         "tickSize": m.price_tick},
        {"filterType": "LOT_SIZE", "minQty": m.min_amount, "maxQty": m.max_amount,
         "stepSize": m.amount_step},
        {"filterType": "NOTIONAL", "minNotional": m.min_cost, "applyMinToMarket": True,
         "maxNotional": "9000000", "applyMaxToMarket": False, "avgPriceMins": 5},
    ]  # fmt: skip
    return {
        "symbol": m.symbol, "status": "TRADING" if m.active else "BREAK",
        "baseAsset": m.base, "baseAssetPrecision": 8, "quoteAsset": m.quote,
        "quotePrecision": 8, "quoteAssetPrecision": 8, "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True, "ocoAllowed": True, "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True, "cancelReplaceAllowed": True, "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False, "filters": filters, "permissions": [],
        "permissionSets": [["SPOT"]], "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    }  # fmt: skip


def _check_filters(market: MarketSpec, quantity: Decimal, price: Decimal, order_type: str) -> None:
    step, tick = Decimal(market.amount_step), Decimal(market.price_tick)
    if quantity <= 0:
        raise BinanceError(-1013, "Invalid quantity.")
    lot_ok = Decimal(market.min_amount) <= quantity <= Decimal(market.max_amount)
    if not lot_ok or quantity % step != 0:
        raise BinanceError(-1013, "Filter failure: LOT_SIZE")
    if order_type == "LIMIT" and (price <= 0 or price % tick != 0):
        raise BinanceError(-1013, "Filter failure: PRICE_FILTER")
    if quantity * price < Decimal(market.min_cost):
        raise BinanceError(-1013, "Filter failure: NOTIONAL")


def _frame_arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    dates = frame["date"].dt.tz_convert("UTC").dt.as_unit("ms").astype("int64").to_numpy()
    values = frame[["open", "high", "low", "close", "volume"]].to_numpy(dtype=float)
    return dates, values


def _frame_slice(
    arrays: tuple[np.ndarray, np.ndarray], start: int | None, newest: int, count: int
) -> tuple[np.ndarray, np.ndarray]:
    opens, values = arrays
    stop = int(np.searchsorted(opens, newest, side="right"))
    first = int(np.searchsorted(opens, start, side="left")) if start is not None else 0
    first = max(first, 0 if start is not None else stop - count)
    stop = min(stop, first + count)
    return opens[first:stop], values[first:stop]


def _synthetic(
    market: MarketSpec, first: int | None, newest: int, count: int, tf_ms: int
) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic gapless candles: two slow waves around a per-pair level."""
    if first is None:
        first = newest - (count - 1) * tf_ms
    total = max(0, min(count, (newest - first) // tf_ms + 1))
    opens = first + tf_ms * np.arange(total, dtype=np.int64)
    seed = zlib.crc32(market.pair.encode())
    level = (1 + seed % 900 / 100) * 10.0 ** -(seed % 3)
    k = np.arange(total + 1, dtype=float) + first / tf_ms
    price = level * (1 + 0.02 * np.sin(k / 37 + seed % 7) + 0.01 * np.sin(k / 5.3 + seed % 11))
    o, c = price[:-1], price[1:]
    high, low = np.maximum(o, c) * 1.001, np.minimum(o, c) * 0.999
    volume = 100 + seed % 50 + 10 * np.abs(np.sin(k[:-1]))
    values = np.round(np.column_stack([o, high, low, c, volume]), 8)
    return opens, values


def _kline(open_ms: int, row: np.ndarray, tf_ms: int) -> list[Any]:
    o, h, low, c, v = (f"{x:.8f}" for x in row)
    quote = f"{float(row[3]) * float(row[4]):.8f}"
    return [open_ms, o, h, low, c, v, open_ms + tf_ms - 1, quote, 10, v, quote, "0"]
