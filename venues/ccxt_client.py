"""The ccxt client of the live venue, built one way: rate-limited, its request log kept
below DEBUG (where ccxt writes the API key), and strict about JSON."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import ccxt.async_support as ccxt_async

from core.errors import ConfigError


def exchange_class(name: str) -> Any:
    """ccxt's async class for the exchange `name`; a ConfigError naming the key if none."""
    if name not in ccxt_async.exchanges:
        raise ConfigError(f"exchange.name: ccxt does not know an exchange called {name!r}")
    return getattr(ccxt_async, name)


def build_client(name: str, config: Mapping[str, Any], api_key: str | None, secret: str | None,
           password: str | None) -> Any:
    settings = _limiter(name) | _plain(config)
    # ccxt logs each request with its headers, the API key among them, at DEBUG (and prints
    # them when verbose): its records go through a logger of ours that never passes DEBUG.
    wire = logging.getLogger("venues.ccxt_exchange.wire")
    wire.setLevel(logging.INFO)
    # Rate limiting stays on whatever the config says.
    settings |= {"enableRateLimit": True, "verbose": False, "logger": wire}
    credentials = {"apiKey": api_key, "secret": secret, "password": password}
    settings |= {key: value for key, value in credentials.items() if value}
    exchange = exchange_class(name)(settings)
    # Start-up asks every pair's open orders in one request (Binance: weight 80, where one
    # request per pair costs 6 each); ccxt refuses that unless told it is meant.
    exchange.options["warnOnFetchOpenOrdersWithoutSymbol"] = False
    exchange.on_json_response = _strict_json
    exchange.on_rest_response = _json_answers_only
    return exchange


# Binance counts request weight per minute (REQUEST_WEIGHT), and ccxt's costs on Binance are
# that weight in units of its 50 ms rate limit, so a 60 s window of them is Binance's own
# account of the limit.
PER_MINUTE_WEIGHT = ("binance", "binanceus")


def _limiter(name: str) -> dict[str, Any]:
    """ccxt's leaky bucket refills only while requests wait in it: a heavy call's debt (0.8 s
    after Binance's all-tickers call) stays owed through the idle seconds between iterations
    and is waited out by the next one. Where the exchange counts weight per minute, ccxt's
    rolling window at the same average rate counts the real time instead; a config that names
    the algorithm keeps its own."""
    if name in PER_MINUTE_WEIGHT:
        return {"rateLimiterAlgorithm": "rollingWindow", "rollingWindowSize": 60_000}
    return {}


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
