"""ccxt's unified structures as our snapshots: parsed once, here, for the ccxt venue (and the
candle limit its features declare, which the offline market reads too)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from venues.exchange import (
    ExchangeOrderStatus,
    OrderBook,
    OrderRequest,
    OrderSnapshot,
    OrderType,
    Ticker,
)

logger = logging.getLogger(__name__)

# What Freqtrade takes when ccxt does not say how many candles one request returns.
DEFAULT_CANDLE_LIMIT = 500


def candle_limit(client: Any) -> int:
    """The candles one spot `fetch_ohlcv` request returns at most, as ccxt's features say
    (Freqtrade's `ohlcv_candle_limit` starts from the same value)."""
    features = getattr(client, "features", None) or {}
    limit = (features.get("spot") or {}).get("fetchOHLCV", {}).get("limit")
    return int(limit) if isinstance(limit, int | float) and limit > 0 else DEFAULT_CANDLE_LIMIT


# ccxt's "canceling" is an order still on the book; anything unknown is treated the same way,
# so it keeps being watched rather than being taken for done.
_STATUSES: dict[str, ExchangeOrderStatus] = {
    "open": "open", "closed": "closed", "canceled": "canceled", "expired": "expired",
    "rejected": "rejected",
}  # fmt: skip


def order_snapshot(raw: Mapping[str, Any], request: OrderRequest | None,
                   now: datetime) -> OrderSnapshot:
    """A ccxt order dict as a snapshot; an answer without details is completed from the
    request that produced it."""
    amount = number(raw.get("amount")) or (request.amount if request else 0.0)
    filled = number(raw.get("filled"))
    remaining = raw.get("remaining")
    average = number(raw.get("average")) or None
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
        price=number(raw.get("price")) or None,
        average=average,
        cost=number(raw.get("cost")) or filled * (average or 0.0),
        fee_cost=fee_cost,
        fee_currency=fee_currency,
        timestamp=_time(raw.get("timestamp")) or now,
        last_update=_time(raw.get("lastUpdateTimestamp") or raw.get("lastTradeTimestamp")),
    )  # fmt: skip


def number(value: Any) -> float:
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


def ticker_snapshot(pair: str, raw: Mapping[str, Any] | None, now: datetime) -> Ticker | None:
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
    volume = raw.get("quoteVolume")
    return Ticker(pair, when, bid_price, ask_price, price, price, price, price,
                  None if volume is None else float(volume))


def order_book_snapshot(pair: str, raw: Mapping[str, Any]) -> OrderBook:
    """ccxt's unified book: levels are [price, amount, ...] lists, best first."""
    def levels(side: str) -> tuple[tuple[float, float], ...]:
        return tuple((float(level[0]), float(level[1])) for level in raw.get(side) or ())

    nonce = raw.get("nonce")
    return OrderBook(pair, levels("bids"), levels("asks"), _time(raw.get("timestamp")),
                     None if nonce is None else int(nonce))
