"""A fake Binance spot REST API on 127.0.0.1, for wire-level tests of the REAL ccxt client.

ccxt's own `binance` class talks to it through `ccxt_config` URL overrides, so every request,
signature, rate limiter and error mapping of the live path runs, with no network::

    from tests.fakes import FakeExchangeServer, Fault, RecordingSleep

    async def test_something(clock):                      # clock: core.clock.ManualClock
        async with FakeExchangeServer(clock, balances={"BTC": 1}) as server:
            exchange = server.ccxt_exchange(sleep=RecordingSleep())   # engine CcxtExchange
            await exchange.load_markets()
            server.inject("/api/v3/order", Fault.TIMEOUT_AFTER_RECORD, method="POST")
            ...
            assert server.count("/api/v3/klines") == 0     # every request is recorded
            server.fill(order_id, 0.5)                      # partial fill of a resting limit order
        # leaving the block closes the ccxt session and the server

What it serves (Binance's shapes, ccxt 4.5.90's binance calls): `/api/v3/ping`, `/time`,
`/exchangeInfo` (markets: by default the parity pairs of `markets.json`; `generated_markets(100)`
for load tests), `/ticker/24hr`, `/ticker/bookTicker`, `/depth` (`limit` levels a side around
the ticker, a tick apart), `/klines` (startTime/endTime/limit, capped
at `klines_limit`, up to and including the candle forming at `clock.now()`), `/account`,
`POST|GET|DELETE /order`, `/openOrders`, `/allOrders`. Anything else answers 404 and is
recorded, and every other ccxt base URL (sapi, fapi, ...) points here too, so a test can never
reach the real exchange. Signed endpoints need the X-MBX-APIKEY header; any signature passes.

Tickers: /ticker/24hr carries a 24h quote volume for every market (`set_volume` pins one; by
default a fixed made-up one per pair), as VolumePairList ranks them.

Candles: the frames given as `frames` (pair -> DataFrame with CANDLE_COLUMNS, 5m; see
`shipped_frames()` for the project's real files), else deterministic synthetic candles for any
timeframe. Tickers: the close of the candle forming now (or `set_price`), with a 0.05% spread.
Market orders fill at once at the ask/bid (taker fee 0.1%, in the asset received); limit orders
rest until `fill(order_id, amount)`. Balances are checked and locked as Binance does.

Faults: `inject(path, fault, times=n, method=None, duration=None)`, see `Fault`. A fault with a
`duration` lasts until the server's clock has moved past it ("maintenance"); path "*" matches
every endpoint. Slow faults sleep `client_timeout + 0.2` real seconds, so keep `client_timeout`
small (default 0.25 s).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import ccxt
import pandas as pd
from aiohttp import web

from core.clock import Clock
from tests.fakes.binance_book import BinanceError, Book, FakeOrder, MarketSpec, parity_markets
from venues.ccxt_exchange import CcxtExchange

_DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "ohlcv"
Handler = Callable[[Mapping[str, str]], Any]


class Fault(StrEnum):
    RATE_LIMITED = "429"
    IP_BANNED = "418"
    SERVER_ERROR = "500"
    BAD_GATEWAY = "502"
    UNAVAILABLE = "503"
    GATEWAY_TIMEOUT = "504"
    MAINTENANCE = "maintenance"  # 503 "system maintenance"; usually with a duration
    RESET = "reset"  # the connection is dropped without an answer
    SLOW = "slow"  # answers after the client timeout; a POST is never processed
    MALFORMED = "malformed"  # 200 with broken JSON
    HTML_PAGE = "html"  # 200 with an HTML page, as a proxy or a maintenance page answers
    INSUFFICIENT_FUNDS = "-2010"
    INVALID_QUANTITY = "-1013"
    ORDER_NOT_FOUND = "-2013"
    UNKNOWN_ORDER = "-2011"
    BAD_API_KEY_FORMAT = "-2014"
    INVALID_API_KEY = "-2015"
    TIMEOUT_AFTER_RECORD = "timeout_after_record"  # processed, then the answer is too late
    TIMEOUT_BEFORE_RECORD = "timeout_before_record"  # never processed, and too late
    # The answer is too late and the order is placed `late_by` after it was received, on the
    # server's clock, unless that is past the request's recvWindow (then never), as Binance
    # does with a request stuck in its gateway.
    EXECUTED_LATE = "executed_late"


_ERROR_BODIES = {
    Fault.INSUFFICIENT_FUNDS: (400, "Account has insufficient balance for requested action."),
    Fault.INVALID_QUANTITY: (400, "Invalid quantity."),
    Fault.ORDER_NOT_FOUND: (400, "Order does not exist."),
    Fault.UNKNOWN_ORDER: (400, "Unknown order sent."),
    Fault.BAD_API_KEY_FORMAT: (401, "API-key format invalid."),
    Fault.INVALID_API_KEY: (401, "Invalid API-key, IP, or permissions for action."),
}
_SIGNED = {"/api/v3/account", "/api/v3/order", "/api/v3/openOrders", "/api/v3/allOrders"}


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    params: Mapping[str, str]


@dataclass(slots=True)
class _Injected:
    path: str
    fault: Fault
    times: int
    method: str | None
    until: datetime | None

    def matches(self, method: str, path: str, now: datetime) -> bool:
        if self.path not in ("*", path) or self.method not in (None, method):
            return False
        return now < self.until if self.until is not None else self.times > 0


class RecordingSleep:
    """An injectable `sleep` that returns at once and remembers every delay asked for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


def shipped_frames(pairs: Iterable[str], timeframe: str = "5m") -> dict[str, pd.DataFrame]:
    """The project's real candle files (data/ohlcv/BASE_QUOTE-5m.feather) that exist."""
    paths = {p: _DATA_DIR / f"{p.replace('/', '_')}-{timeframe}.feather" for p in pairs}
    return {pair: pd.read_feather(path) for pair, path in paths.items() if path.exists()}


class FakeExchangeServer:
    """Binance spot REST on 127.0.0.1:<free port>, with an in-memory account. See the module doc."""

    def __init__(
        self,
        clock: Clock,
        *,
        markets: Iterable[MarketSpec] | None = None,
        balances: Mapping[str, float | str] | None = None,
        frames: Mapping[str, pd.DataFrame] | None = None,
        client_timeout: float = 0.25,
        rate_limit_ms: float = 1,
        klines_limit: int = 1000,
    ) -> None:
        markets = list(markets) if markets is not None else parity_markets()
        self.clock = clock
        self.book = Book(clock, markets, balances or {"BTC": 10}, frames or {}, klines_limit)
        self.requests: list[Request] = []
        self.client_timeout = client_timeout
        self.rate_limit_ms = rate_limit_ms
        self.late_by = timedelta(seconds=9)
        self._late: list[tuple[datetime, Handler, Mapping[str, str]]] = []
        self._faults: list[_Injected] = []
        self._exchanges: list[CcxtExchange] = []
        self._runner: web.AppRunner | None = None
        self.url = ""
        self._routes: dict[tuple[str, str], Handler] = {
            ("GET", "/api/v3/ping"): lambda p: {},
            ("GET", "/api/v3/time"): lambda p: {"serverTime": self.book.now_ms()},
            ("GET", "/api/v3/exchangeInfo"): lambda p: self.book.exchange_info(),
            ("GET", "/api/v3/ticker/24hr"): lambda p: self._tickers(p, self.book.ticker_24hr),
            ("GET", "/api/v3/ticker/bookTicker"): lambda p: self._tickers(p, self.book.book_ticker),
            ("GET", "/api/v3/klines"): self._klines,
            ("GET", "/api/v3/depth"): lambda p: self.book.depth(
                self.book.market(p.get("symbol")), int(p["limit"]) if "limit" in p else None),
            ("GET", "/api/v3/account"): lambda p: self.book.account(),
            ("POST", "/api/v3/order"): self._place,
            ("GET", "/api/v3/order"): lambda p: self.book.find(p).to_json(),
            ("DELETE", "/api/v3/order"): self._cancel,
            ("GET", "/api/v3/openOrders"): lambda p: self._orders(p, open_only=True),
            ("GET", "/api/v3/allOrders"): lambda p: self._orders(p, open_only=False),
        }  # fmt: skip

    # --- life cycle ---------------------------------------------------------------------

    async def start(self) -> FakeExchangeServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1,
                                     handler_cancellation=True, access_log=None)  # fmt: skip
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        for exchange in self._exchanges:
            await exchange.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeExchangeServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- the client side ----------------------------------------------------------------

    def ccxt_config(self) -> dict[str, Any]:
        """`exchange.ccxt_config` pointing ccxt's binance here, spot only, fast timeouts."""
        api = {key: f"{self.url}/unsupported/{key}" for key in ccxt.binance().urls["api"]}
        api |= {"public": f"{self.url}/api/v3", "private": f"{self.url}/api/v3",
                "v1": f"{self.url}/api/v1"}  # fmt: skip
        return {
            "urls": {"api": api},
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                        "fetchMargins": False},
            "timeout": int(self.client_timeout * 1000),
            "rateLimit": self.rate_limit_ms,
            # ccxt waits this long in close() for TLS transports to wind down; there is no TLS.
            "timeout_on_exit": 0,
        }  # fmt: skip

    def ccxt_exchange(
        self,
        clock: Clock | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        **kwargs: Any,
    ) -> CcxtExchange:
        """A `CcxtExchange` (real ccxt binance) wired to this server; closed with the server."""
        if sleep is not None:
            kwargs["sleep"] = sleep
        exchange = CcxtExchange("binance", self.ccxt_config(), "test-key", "test-secret", None,
                                clock or self.clock, **kwargs)  # fmt: skip
        self._exchanges.append(exchange)
        return exchange

    # --- test controls ------------------------------------------------------------------

    def inject(self, path: str, fault: Fault, times: int = 1, *, method: str | None = None,
               duration: timedelta | None = None) -> None:  # fmt: skip
        """Make the next `times` requests to `path` (or all until `duration` passes) fail."""
        until = self.clock.now() + duration if duration is not None else None
        self._faults.append(_Injected(path, fault, times, method, until))

    def count(self, path: str, method: str | None = None) -> int:
        return len(self.requests_to(path, method))

    def requests_to(self, path: str, method: str | None = None) -> list[Request]:
        return [r for r in self.requests if r.path == path and method in (None, r.method)]

    def reset(self, balances: Mapping[str, float | str]) -> None:
        """As new, for the next case on the same server: no orders, prices set by hand,
        faults or recorded requests, and these balances."""
        self.book.orders.clear()
        self.book.prices.clear()
        self.book.volumes.clear()
        self.book.free = {k: Decimal(str(v)) for k, v in balances.items()}
        self.book.locked = {}
        self.requests.clear()
        self._faults.clear()

    def fill(self, order_id: int | str, amount: float | str | None = None) -> None:
        self.book.fill(int(order_id), amount)

    def set_price(self, pair: str, last: float, bid: float | None = None,
                  ask: float | None = None) -> None:  # fmt: skip
        self.book.set_price(pair, last, bid, ask)

    def set_volume(self, pair: str, quote_volume: float) -> None:
        self.book.set_volume(pair, quote_volume)

    def orders(self, pair: str | None = None) -> list[FakeOrder]:
        return [o for o in self.book.orders.values() if pair in (None, o.market.pair)]

    # --- the wire -----------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        params = dict(request.query)
        if request.can_read_body:
            params |= dict(parse_qsl(await request.text()))
        self.requests.append(Request(request.method, request.path, params))
        self._execute_due()
        fault = self._take_fault(request.method, request.path)
        handler = self._routes.get((request.method, request.path))
        if handler is None:
            return web.json_response({"code": -1, "msg": "not served by the fake"}, status=404)
        if request.path in _SIGNED and not request.headers.get("X-MBX-APIKEY"):
            return _error(BinanceError(-2014, "API-key format invalid.", 401))
        if fault is not None:
            return await self._faulty(request, fault, handler, params)
        return _answer(handler, params)

    async def _executed_late(self, handler: Handler,
                             params: Mapping[str, str]) -> web.StreamResponse:
        window = timedelta(milliseconds=int(params.get("recvWindow", 5000)))
        if self.late_by <= window:
            self._late.append((self.clock.now() + self.late_by, handler, dict(params)))
        await asyncio.sleep(self.client_timeout + 0.2)
        return _error(BinanceError(-1007, "Timeout waiting for response from backend server.",
                                   408))

    def _execute_due(self) -> None:
        """Place the late orders whose time has come (before the request that sees them)."""
        now = self.clock.now()
        due = [entry for entry in self._late if entry[0] <= now]
        self._late = [entry for entry in self._late if entry[0] > now]
        for _at, handler, params in due:
            _answer(handler, params)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        now = self.clock.now()
        for injected in self._faults:
            if injected.matches(method, path, now):
                injected.times -= 1
                return injected.fault
        return None

    async def _faulty(self, request: web.Request, fault: Fault, handler: Handler,
                      params: Mapping[str, str]) -> web.StreamResponse:  # fmt: skip
        too_late = self.client_timeout + 0.2
        if fault is Fault.TIMEOUT_AFTER_RECORD:
            response = _answer(handler, params)
            await asyncio.sleep(too_late)
            return response
        if fault is Fault.EXECUTED_LATE:
            return await self._executed_late(handler, params)
        if fault in (Fault.SLOW, Fault.TIMEOUT_BEFORE_RECORD):
            await asyncio.sleep(too_late)
            return (
                _answer(handler, params)
                if request.method == "GET"
                else _error(
                    BinanceError(-1007, "Timeout waiting for response from backend server.", 408)
                )
            )
        if fault is Fault.RESET:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        if fault is Fault.MALFORMED:
            return web.Response(
                text='{"symbol": "ETHBTC", "lastPr', content_type="application/json"
            )
        if fault is Fault.HTML_PAGE:
            return web.Response(text="<html><body><h1>Down for maintenance</h1></body></html>",
                                content_type="text/html")
        if fault in _ERROR_BODIES:
            status, msg = _ERROR_BODIES[fault]
            return _error(BinanceError(int(fault.value), msg, status))
        if fault is Fault.MAINTENANCE:
            return web.Response(status=503, text="System is under maintenance.")
        return web.Response(status=int(fault.value), text=f"<html>{fault.value}</html>",
                            content_type="text/html")  # fmt: skip

    # --- endpoint handlers --------------------------------------------------------------

    def _tickers(self, params: Mapping[str, str], render: Callable[[MarketSpec], Any]) -> Any:
        if "symbol" in params:
            return render(self.book.market(params["symbol"]))
        symbols = json.loads(params["symbols"]) if "symbols" in params else list(self.book.markets)
        return [render(self.book.market(s)) for s in symbols]

    def _klines(self, p: Mapping[str, str]) -> Any:
        start, end = p.get("startTime"), p.get("endTime")
        return self.book.klines(p.get("symbol", ""), p.get("interval", "1m"),
                                int(start) if start else None, int(end) if end else None,
                                int(p["limit"]) if "limit" in p else None)  # fmt: skip

    def _place(self, params: Mapping[str, str]) -> Any:
        order = self.book.place(params)
        answer = order.to_json() | {"transactTime": order.time, "fills": order.fills}
        if params.get("newOrderRespType") == "ACK":
            return {k: answer[k] for k in ("symbol", "orderId", "orderListId", "clientOrderId",
                                           "transactTime")}  # fmt: skip
        return answer

    def _cancel(self, params: Mapping[str, str]) -> Any:
        order = self.book.cancel(params)
        return order.to_json() | {"origClientOrderId": order.client_order_id,
                                  "clientOrderId": f"cancel{order.order_id}",
                                  "transactTime": self.book.now_ms()}  # fmt: skip

    def _orders(self, params: Mapping[str, str], *, open_only: bool) -> Any:
        symbol = params.get("symbol")
        if symbol is not None:
            self.book.market(symbol)
        return [o.to_json() for o in self.book.orders_of(symbol, open_only)]


def _answer(handler: Handler, params: Mapping[str, str]) -> web.Response:
    try:
        return web.json_response(handler(params))
    except BinanceError as error:
        return _error(error)


def _error(error: BinanceError) -> web.Response:
    return web.json_response({"code": error.code, "msg": error.msg}, status=error.status)
