"""The live venue: the `Exchange` interface over ccxt.async_support, for any exchange ccxt knows.

- Amounts and prices are rounded here only (venues/precision.py, ccxt's own helpers), and
  min amount / min cost are checked before anything is sent.
- ccxt errors are mapped by `venues.exchange.classify` and nowhere else.
- Reads and cancels are retried on `TemporaryError` with exponential backoff
  (`backoff_base * 2**n` seconds through the injected `sleep`), then the error surfaces.
- A create is never sent twice. When its outcome is unknown (timeout, dropped connection) the
  order is looked up by its client order id, with backoff, until the exchange can no longer
  execute the request (its recvWindow): found, it is returned; still absent after that,
  `OrderNotPlaced` says placing it again is safe; the lookups failing, `OrderStateUnknown`
  leaves it to the engine's reconciliation.
- Tickers are cached for `ticker_ttl` seconds of the injected clock: one request per iteration.
  Order books are not cached: the engine asks once per pair and iteration (engine/orderbooks.py).
- Markets are loaded by the first `load_markets()`, and reloaded by a later call once older
  than `markets_refresh_minutes`; the engine calls it every iteration.
- Every ccxt dict is parsed once into `OrderSnapshot` / `Ticker` / `Balance`
  (venues/ccxt_parse.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, TypeVar

import pandas as pd

from core.clock import Clock
from core.errors import (
    ConfigError,
    ExchangeError,
    OrderNotFound,
    OrderNotPlaced,
    OrderRejected,
    OrderStateUnknown,
    TemporaryError,
)
from marketdata.candles import frame_from_rows
from venues import precision
from venues.ccxt_client import build_client
from venues.ccxt_parse import (
    candle_limit,
    number,
    order_book_snapshot,
    order_snapshot,
    ticker_snapshot,
)
from venues.exchange import (
    Balance,
    MarketRules,
    Operation,
    OrderBook,
    OrderRequest,
    OrderSnapshot,
    Rounding,
    Ticker,
    classify,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Exchanges whose fetch_order finds an order by client id directly (with this param); the
# others are searched in their open and recent closed orders.
CLIENT_ID_LOOKUP_PARAMS = {"binance": "origClientOrderId", "binanceus": "origClientOrderId"}
# A create whose answer was lost is looked up until the exchange can no longer execute it:
# the request's recvWindow where the exchange has one (Binance), else this long; plus a margin
# for the difference of the two clocks. Lookups pause at most this long in between.
DEFAULT_EXECUTION_WINDOW_SECONDS = 60.0
CLOCK_MARGIN_SECONDS = 2.0
MAX_LOOKUP_PAUSE_SECONDS = 4.0


class CcxtExchange:
    """A live exchange through ccxt; see the module docstring for its policies."""

    def __init__(
        self,
        name: str,
        ccxt_config: Mapping[str, Any],
        api_key: str | None,
        secret: str | None,
        password: str | None,
        clock: Clock,
        *,
        retries: int = 4,
        backoff_base: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        markets_refresh_minutes: int = 60,
        ticker_ttl: float = 2.0,
        client_id_lookup: bool = True,
        execution_window: float | None = None,
        log_responses: bool = False,
    ) -> None:
        self._ccxt = build_client(name, ccxt_config, api_key, secret, password)
        self._clock = clock
        self._retries = retries
        self._backoff_base = backoff_base
        self._sleep = sleep
        self._markets_refresh = timedelta(minutes=markets_refresh_minutes)
        self._ticker_ttl = timedelta(seconds=ticker_ttl)
        self._lookup_param = CLIENT_ID_LOOKUP_PARAMS.get(name) if client_id_lookup else None
        self._window = execution_window
        self._rules: dict[str, MarketRules] = {}
        self._markets_loaded_at: datetime | None = None
        self._tickers: dict[str, tuple[datetime, Ticker]] = {}
        self._log_responses = log_responses

    @property
    def name(self) -> str:
        return str(self._ccxt.id)

    # --- markets ------------------------------------------------------------------------

    async def load_markets(self, reload: bool = False) -> None:
        loaded = self._markets_loaded_at
        if not reload and loaded is not None and self._clock.now() - loaded < self._markets_refresh:
            return
        # A scheduled refresh gets one attempt: the old markets serve until the next iteration.
        scheduled = bool(self._rules) and not reload
        try:
            await (self._call if scheduled else self._retrying)(
                "read", self._ccxt.load_markets, True
            )
        except TemporaryError as error:
            if not scheduled:
                raise
            logger.warning("%s: markets not refreshed, keeping the old ones: %s", self.name, error)
            return
        self._rules = {
            pair: precision.rules_from_market(m) for pair, m in self._ccxt.markets.items()
        }
        self._markets_loaded_at = self._clock.now()
        logger.info("%s: %d markets loaded", self.name, len(self._rules))

    def markets(self) -> Mapping[str, MarketRules]:
        return MappingProxyType(self._rules)

    def market_definitions(self, pairs: Iterable[str]) -> dict[str, dict[str, Any]]:
        loaded = self._ccxt.markets or {}
        return {pair: dict(loaded[pair]) for pair in pairs if pair in loaded}

    def use_markets(self, definitions: Mapping[str, Mapping[str, Any]]) -> None:
        # Not marked as loaded: the next load_markets asks the exchange again, and if that
        # fails these serve on, as old markets do after a failed refresh.
        self._ccxt.set_markets([dict(m) for m in definitions.values()])
        self._rules = {
            pair: precision.rules_from_market(m) for pair, m in self._ccxt.markets.items()
        }

    def rules(self, pair: str) -> MarketRules:
        rules = self._rules.get(pair)
        if rules is None:
            raise OrderRejected(f"{pair}: not a market on {self.name}")
        return rules

    def validate_pairs(self, pairs: Iterable[str], stake_currency: str) -> None:
        """Refuse whitelist pairs that do not exist, are inactive, or are not quoted in stake."""
        if not self._rules:
            raise ConfigError(f"exchange.pair_whitelist: the markets of {self.name} are not loaded")
        problems = [p for p in (self._pair_problem(x, stake_currency) for x in pairs) if p]
        if problems:
            raise ConfigError("exchange.pair_whitelist: " + "; ".join(problems))

    def _pair_problem(self, pair: str, stake_currency: str) -> str | None:
        rules = self._rules.get(pair)
        if rules is None:
            return f"{pair} is not a market on {self.name}"
        if not rules.active:
            return f"{pair} is inactive on {self.name}"
        if rules.quote != stake_currency:
            return f"{pair} is quoted in {rules.quote}, not in the stake currency {stake_currency}"
        return None

    def round_amount(self, pair: str, amount: float) -> float:
        """Truncated to the amount step; an amount below one step is refused (OrderRejected)."""
        self.rules(pair)
        try:
            return precision.round_amount(self._ccxt, pair, amount)
        except Exception as exc:
            raise classify(exc, "create_order") from exc

    def round_price(self, pair: str, price: float, rounding: Rounding = Rounding.ROUND) -> float:
        self.rules(pair)
        try:
            return precision.round_price(self._ccxt, pair, price, rounding)
        except Exception as exc:
            raise classify(exc, "create_order") from exc

    # --- market data --------------------------------------------------------------------

    async def fetch_tickers(self, pairs: list[str]) -> dict[str, Ticker]:
        now = self._clock.now()
        missing = [p for p in dict.fromkeys(pairs) if not self._ticker_fresh(p, now)]
        if missing:
            raw = await self._raw_tickers(missing)
            for pair in missing:
                ticker = ticker_snapshot(pair, raw.get(pair), now)
                if ticker is not None:
                    self._tickers[pair] = (now, ticker)
        return {p: self._tickers[p][1] for p in pairs if self._ticker_fresh(p, now)}

    def _ticker_fresh(self, pair: str, now: datetime) -> bool:
        cached = self._tickers.get(pair)
        return cached is not None and now - cached[0] < self._ticker_ttl

    async def _raw_tickers(self, pairs: list[str]) -> Mapping[str, Any]:
        if self._ccxt.has.get("fetchTickers"):
            result: Mapping[str, Any] = await self._retrying(
                "read", self._ccxt.fetch_tickers, pairs
            )
            return result
        one = [self._retrying("read", self._ccxt.fetch_ticker, pair) for pair in pairs]
        return dict(zip(pairs, await asyncio.gather(*one), strict=True))

    async def fetch_ohlcv(
        self, pair: str, timeframe: str, since: datetime | None = None, limit: int | None = None
    ) -> pd.DataFrame:
        since_ms = int(since.timestamp() * 1000) if since is not None else None
        rows = await self._retrying(
            "read", self._ccxt.fetch_ohlcv, pair, timeframe, since_ms, limit
        )
        return frame_from_rows(rows)

    def ohlcv_candle_limit(self, timeframe: str) -> int:
        return candle_limit(self._ccxt)

    async def fetch_order_book(self, pair: str, limit: int) -> OrderBook:
        raw = await self._retrying("read", self._ccxt.fetch_order_book, pair, limit)
        return order_book_snapshot(pair, raw)

    async def fetch_balance(self) -> dict[str, Balance]:
        raw = await self._retrying("read", self._ccxt.fetch_balance)
        self._logged("fetch_balance", raw.get("total"))
        return {
            currency: Balance(currency, number(raw[currency].get("free")),
                              number(raw[currency].get("used")), number(raw[currency].get("total")))
            for currency in raw.get("total") or {}
            if isinstance(raw.get(currency), dict)
        }  # fmt: skip

    # --- orders -------------------------------------------------------------------------

    async def create_order(self, request: OrderRequest) -> OrderSnapshot:
        await self.load_markets()
        pair = request.pair
        amount = self.round_amount(pair, request.amount)
        price = self.round_price(pair, request.price)
        precision.check_order_limits(self.rules(pair), amount, price)
        limit_price = price if request.order_type == "limit" else None
        # ccxt's unified param; binance's create_order turns it into newClientOrderId.
        params = {"clientOrderId": request.client_order_id}
        logger.info(
            "create pair=%s client_id=%s %s %s amount=%s price=%s", pair,
            request.client_order_id, request.order_type, request.side, amount, limit_price,
        )  # fmt: skip
        try:
            raw = await self._ccxt.create_order(
                pair, request.order_type, request.side, amount, limit_price, params
            )
        except Exception as exc:
            error = classify(exc, "create_order")
            if not isinstance(error, OrderStateUnknown):
                raise error from exc
            logger.warning(
                "create pair=%s client_id=%s: outcome unknown (%s), looking the order up",
                pair, request.client_order_id, error,
            )  # fmt: skip
            return await self._resolve_unknown(request)
        return self._order(raw, request)

    async def _resolve_unknown(self, request: OrderRequest) -> OrderSnapshot:
        """Find a create whose answer was lost; never send it again from here.

        "Not found" proves nothing while the exchange may still execute the request: Binance
        takes a request until its `recvWindow` has passed since the request's timestamp, and
        one stuck in its gateway can be placed seconds after the client gave up. So lookups
        go on until that window (plus a margin for the two clocks) has passed, counted as the
        pauses taken, which is less than the time that really passed; only then does a last
        "not found" mean the order was never placed.
        """
        window = self._execution_window() + CLOCK_MARGIN_SECONDS
        outcome: ExchangeError | None = None
        waited = 0.0
        attempt = 0
        while attempt < max(self._retries, 1) or waited < window:
            pause = min(self._delay(attempt), MAX_LOOKUP_PAUSE_SECONDS)
            await self._sleep(pause)
            waited += pause
            attempt += 1
            try:
                found = await self._find_by_client_id(request.pair, request.client_order_id)
            except (OrderNotFound, TemporaryError) as error:
                outcome = error
                continue
            logger.info("create pair=%s client_id=%s: found on the exchange as order %s",
                        request.pair, request.client_order_id, found.order_id)  # fmt: skip
            return found
        cid = request.client_order_id
        if isinstance(outcome, OrderNotFound):
            raise OrderNotPlaced(
                f"{request.pair}: order {cid} never reached {self.name}; placing it again is safe"
            ) from outcome
        raise OrderStateUnknown(
            f"{request.pair}: order {cid} may be on {self.name}; lookups failed: {outcome}"
        ) from outcome

    async def fetch_order(
        self, pair: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderSnapshot:
        if order_id is not None:
            raw = await self._retrying("fetch_order", self._ccxt.fetch_order, order_id, pair)
            return self._order(raw)
        if client_order_id is None:
            raise ValueError("fetch_order needs an order_id or a client_order_id")
        return await self._retrying("fetch_order", self._find_by_client_id, pair, client_order_id)

    async def _find_by_client_id(self, pair: str, client_order_id: str) -> OrderSnapshot:
        """One lookup by client id: the exchange's own query, or a scan of recent orders."""
        if self._lookup_param is not None:
            params = {self._lookup_param: client_order_id}
            raw = await self._call("fetch_order", self._ccxt.fetch_order, "", pair, params)
            return self._order(raw)
        has = self._ccxt.has
        scans = [self._ccxt.fetch_open_orders]
        scans.append(self._ccxt.fetch_closed_orders if has.get("fetchClosedOrders")
                     else self._ccxt.fetch_orders)  # fmt: skip
        for scan in scans:
            for raw in await self._call("read", scan, pair):
                if raw.get("clientOrderId") == client_order_id:
                    return self._order(raw)
        raise OrderNotFound(f"{pair}: no order with client id {client_order_id} on {self.name}")

    def _execution_window(self) -> float:
        """Seconds after sending during which the exchange may still execute a request."""
        if self._window is not None:
            return self._window
        recv_window = (self._ccxt.options or {}).get("recvWindow")
        if isinstance(recv_window, int | float) and recv_window > 0:
            return float(recv_window) / 1000
        return DEFAULT_EXECUTION_WINDOW_SECONDS

    async def cancel_order(self, pair: str, order_id: str) -> OrderSnapshot:
        raw = await self._retrying("cancel_order", self._ccxt.cancel_order, order_id, pair)
        return self._order(raw)

    async def fetch_open_orders(self, pair: str | None = None) -> list[OrderSnapshot]:
        raws = await self._retrying("read", self._ccxt.fetch_open_orders, pair)
        return [self._order(raw) for raw in raws]

    async def close(self) -> None:
        await self._ccxt.close()

    # --- calls, retries ----------------------------------------------------------------

    def _delay(self, attempt: int) -> float:
        return float(self._backoff_base * 2**attempt)

    async def _call(self, operation: Operation, call: Callable[..., Awaitable[T]], *args: Any) -> T:
        """One call, its failure mapped onto our hierarchy."""
        try:
            return await call(*args)
        except ExchangeError:
            raise
        except Exception as exc:
            raise classify(exc, operation) from exc

    async def _retrying(
        self, operation: Operation, call: Callable[..., Awaitable[T]], *args: Any
    ) -> T:
        """`_call`, retried on TemporaryError with growing delays, then the error surfaces."""
        for attempt in range(self._retries):
            try:
                return await self._call(operation, call, *args)
            except TemporaryError as error:
                delay = self._delay(attempt)
                logger.warning(
                    "%s %s failed (%s); retry %d/%d in %.2fs", self.name,
                    getattr(call, "__name__", "call"), error, attempt + 1, self._retries, delay,
                )  # fmt: skip
                await self._sleep(delay)
        return await self._call(operation, call, *args)

    # --- parsing ------------------------------------------------------------------------

    def _logged(self, what: str, raw: Any) -> None:
        """exchange.log_responses: the exchange's answers in the log, as Freqtrade logs them
        (at INFO, so they show without -v)."""
        if self._log_responses:
            logger.info("%s answer %s: %s", self.name, what, raw)

    def _order(self, raw: Mapping[str, Any], request: OrderRequest | None = None) -> OrderSnapshot:
        self._logged("order", raw)
        return order_snapshot(raw, request, self._clock.now())
