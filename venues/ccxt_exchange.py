"""The live venue: the `Exchange` interface over ccxt.async_support, for any exchange ccxt knows.

- Amounts and prices are rounded here only (venues/precision.py, ccxt's own helpers), and
  min amount / min cost are checked before anything is sent.
- ccxt errors are mapped by `venues.exchange.classify` and nowhere else.
- Reads and cancels are retried on `TemporaryError` with exponential backoff
  (`backoff_base * 2**n` seconds through the injected `sleep`), then the error surfaces.
- A create is never sent twice. When its outcome is unknown (timeout, dropped connection) the
  order is looked up by its client order id, several times with backoff: found, it is returned;
  absent every time, `OrderNotPlaced` says placing it again is safe; the lookups failing,
  `OrderStateUnknown` leaves it to the engine's reconciliation.
- Tickers are cached for `ticker_ttl` seconds of the injected clock: one request per iteration.
- Markets are loaded by the first `load_markets()`, and reloaded by a later call once older
  than `markets_refresh_minutes`; the engine calls it every iteration.
- Every ccxt dict is parsed once, here, into `OrderSnapshot` / `Ticker` / `Balance`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, TypeVar

import ccxt.async_support as ccxt_async
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
from venues.exchange import (
    Balance,
    ExchangeOrderStatus,
    MarketRules,
    Operation,
    OrderRequest,
    OrderSnapshot,
    OrderType,
    Rounding,
    Ticker,
    classify,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Exchanges whose fetch_order finds an order by client id directly (with this param); the
# others are searched in their open and recent closed orders.
CLIENT_ID_LOOKUP_PARAMS = {"binance": "origClientOrderId", "binanceus": "origClientOrderId"}
# ccxt's "canceling" is an order still on the book; anything unknown is treated the same way,
# so it keeps being watched rather than being taken for done.
_STATUSES: dict[str, ExchangeOrderStatus] = {
    "open": "open", "closed": "closed", "canceled": "canceled", "expired": "expired",
    "rejected": "rejected",
}  # fmt: skip


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
    ) -> None:
        self._ccxt = _build(name, ccxt_config, api_key, secret, password)
        self._clock = clock
        self._retries = retries
        self._backoff_base = backoff_base
        self._sleep = sleep
        self._markets_refresh = timedelta(minutes=markets_refresh_minutes)
        self._ticker_ttl = timedelta(seconds=ticker_ttl)
        self._lookup_param = CLIENT_ID_LOOKUP_PARAMS.get(name) if client_id_lookup else None
        self._rules: dict[str, MarketRules] = {}
        self._markets_loaded_at: datetime | None = None
        self._tickers: dict[str, tuple[datetime, Ticker]] = {}

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
                ticker = _ticker(pair, raw.get(pair), now)
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

    async def fetch_balance(self) -> dict[str, Balance]:
        raw = await self._retrying("read", self._ccxt.fetch_balance)
        return {
            currency: Balance(currency, _float(raw[currency].get("free")),
                              _float(raw[currency].get("used")), _float(raw[currency].get("total")))
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
        """Find a create whose answer was lost; never send it again from here."""
        outcome: ExchangeError | None = None
        for attempt in range(max(self._retries, 1)):
            await self._sleep(self._delay(attempt))
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

    async def cancel_order(self, pair: str, order_id: str) -> OrderSnapshot:
        raw = await self._retrying("cancel_order", self._ccxt.cancel_order, order_id, pair)
        return self._order(raw)

    async def fetch_open_orders(self, pair: str) -> list[OrderSnapshot]:
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

    def _order(self, raw: Mapping[str, Any], request: OrderRequest | None = None) -> OrderSnapshot:
        """A ccxt order dict as a snapshot; an answer without details is completed from the
        request that produced it."""
        amount = _float(raw.get("amount")) or (request.amount if request else 0.0)
        filled = _float(raw.get("filled"))
        remaining = raw.get("remaining")
        average = _float(raw.get("average")) or None
        fee_cost, fee_currency = _fee(raw)
        return OrderSnapshot(
            order_id=str(raw["id"]),
            client_order_id=_client_id(raw, request),
            pair=raw.get("symbol") or (request.pair if request else ""),
            side=raw.get("side") or (request.side if request else "buy"),
            order_type=_order_type(raw, request),
            status=_STATUSES.get(raw.get("status") or "open", "open"),
            amount=amount,
            filled=filled,
            remaining=max(amount - filled, 0.0) if remaining is None else float(remaining),
            price=_float(raw.get("price")) or None,
            average=average,
            cost=_float(raw.get("cost")) or filled * (average or 0.0),
            fee_cost=fee_cost,
            fee_currency=fee_currency,
            timestamp=_time(raw.get("timestamp")) or self._clock.now(),
            last_update=_time(raw.get("lastUpdateTimestamp") or raw.get("lastTradeTimestamp")),
        )  # fmt: skip


def exchange_class(name: str) -> Any:
    """ccxt's async class for the exchange `name`; a ConfigError naming the key if none."""
    if name not in ccxt_async.exchanges:
        raise ConfigError(f"exchange.name: ccxt does not know an exchange called {name!r}")
    return getattr(ccxt_async, name)


def _build(name: str, config: Mapping[str, Any], api_key: str | None, secret: str | None,
           password: str | None) -> Any:
    settings = _plain(config)
    # ccxt logs each request with its headers, the API key among them, at DEBUG (and prints
    # them when verbose): its records go through a logger of ours that never passes DEBUG.
    wire = logging.getLogger(f"{__name__}.wire")
    wire.setLevel(logging.INFO)
    # Rate limiting stays on whatever the config says.
    settings |= {"enableRateLimit": True, "verbose": False, "logger": wire}
    credentials = {"apiKey": api_key, "secret": secret, "password": password}
    settings |= {key: value for key, value in credentials.items() if value}
    exchange = exchange_class(name)(settings)
    exchange.on_json_response = _strict_json
    exchange.on_rest_response = _json_answers_only
    return exchange


def _json_answers_only(code: int, reason: str, url: str, method: str, headers: Any, body: Any,
                       request_headers: Any, request_body: Any) -> Any:
    """ccxt's response hook: a successful answer that is not JSON at all (a proxy's or a
    maintenance page with status 200) would be parsed as text into an empty balance, NaN
    candles or an order without an id. It fails the call instead, as broken JSON does; error
    statuses go on to ccxt's own status mapping."""
    text = body.strip() if isinstance(body, str) else ""
    if 200 <= code < 300 and text and text[0] not in "{[":
        where = url.split("?", 1)[0]
        raise ccxt_async.BadResponse(f"{method} {where}: answer is not JSON: {text[:80]!r}")
    return body


def _strict_json(body: str) -> Any:
    """ccxt's JSON hook, made strict: ccxt passes a body it cannot parse on as text, which then
    parses into empty markets, NaN candles or an order without an id. A broken answer must fail
    the call instead (BadResponse: retried on reads, "state unknown" on a create)."""
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ccxt_async.BadResponse(f"unreadable JSON answer: {body[:80]!r}") from exc


def _plain(value: Any) -> Any:
    """Read-only mappings from Settings as the plain dicts ccxt's deep_extend expects."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _float(value: Any) -> float:
    return 0.0 if value is None else float(value)


def _time(ms: Any) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(int(ms) / 1000, UTC)


def _client_id(raw: Mapping[str, Any], request: OrderRequest | None) -> str | None:
    # A binance cancel answers with a fresh clientOrderId and the order's own as origClientOrderId.
    info = raw.get("info")
    original = info.get("origClientOrderId") if isinstance(info, Mapping) else None
    found = original or raw.get("clientOrderId")
    return str(found) if found else (request.client_order_id if request else None)


def _order_type(raw: Mapping[str, Any], request: OrderRequest | None) -> OrderType:
    kind = raw.get("type") or (request.order_type if request else None)
    return "market" if kind == "market" else "limit"


def _fee(raw: Mapping[str, Any]) -> tuple[float | None, str | None]:
    """Total fee in the currency of the first fee entry (ccxt lists one entry per fill)."""
    entries = [f for f in (raw.get("fees") or [raw.get("fee")]) if f and f.get("cost") is not None]
    if not entries:
        return None, None
    currency = entries[0].get("currency")
    return sum(float(f["cost"]) for f in entries if f.get("currency") == currency), currency


def _ticker(pair: str, raw: Mapping[str, Any] | None, now: datetime) -> Ticker | None:
    """A live ticker is one instant, so open/high/low are the last price (see `Ticker`)."""
    if not raw:
        return None
    bid, ask = raw.get("bid"), raw.get("ask")
    last = raw.get("last") or raw.get("close")
    if last is None and bid and ask:
        last = (float(bid) + float(ask)) / 2
    if last is None:
        logger.warning("ticker pair=%s has no price: %s", pair, raw)
        return None
    price = float(last)
    bid_price, ask_price = float(bid or price), float(ask or price)
    when = _time(raw.get("timestamp")) or now
    return Ticker(pair, when, bid_price, ask_price, price, price, price, price)
