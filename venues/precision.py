"""Rounding and market rules on top of a ccxt exchange object's loaded markets.

Shared by the live adapter and the paper/offline venues, so no rounding is written twice
and none is written by hand: ccxt's precision helpers do the work, and ROUND_UP (which ccxt
does not offer) is a tick added to ccxt's truncation, in ccxt's own string arithmetic.
"""

from __future__ import annotations

from typing import Any

import ccxt
from ccxt.base.precise import Precise

from core.errors import OrderRejected
from venues.exchange import MarketRules, Rounding


def market_definition(rules: MarketRules, precision_mode: int = ccxt.TICK_SIZE
                      ) -> dict[str, Any]:
    """A market in ccxt's unified form (what `OfflineMarket` loads), steps as tick sizes."""

    def step(value: float | None) -> float | None:
        if value is None or precision_mode == ccxt.TICK_SIZE:
            return value
        return float(10.0 ** -value)  # DECIMAL_PLACES: the number of digits

    return {
        "id": rules.pair.replace("/", ""), "symbol": rules.pair, "base": rules.base,
        "quote": rules.quote, "type": "spot", "spot": True, "active": rules.active,
        "maker": rules.maker_fee, "taker": rules.taker_fee,
        "precision": {"amount": step(rules.amount_step), "price": step(rules.price_tick)},
        "limits": {"amount": {"min": rules.min_amount, "max": rules.max_amount},
                   "cost": {"min": rules.min_cost, "max": rules.max_cost},
                   "price": {"min": None, "max": None}},
    }  # fmt: skip


def precision_mode(exchange_name: str) -> int:
    """ccxt's precision mode of an exchange (most count in tick sizes, a few in digits)."""
    exchange_class = getattr(ccxt, exchange_name, None)
    return int(exchange_class().precisionMode) if exchange_class else ccxt.TICK_SIZE


def rules_from_market(market: dict[str, Any]) -> MarketRules:
    limits = market.get("limits") or {}
    precision = market.get("precision") or {}

    def limit(kind: str, bound: str) -> float | None:
        value = (limits.get(kind) or {}).get(bound)
        return None if value is None else float(value)

    return MarketRules(
        pair=market["symbol"],
        base=market["base"],
        quote=market["quote"],
        active=market.get("active") is not False,
        amount_step=_float(precision.get("amount")),
        price_tick=_float(precision.get("price")),
        min_amount=limit("amount", "min"),
        max_amount=limit("amount", "max"),
        min_cost=limit("cost", "min"),
        max_cost=limit("cost", "max"),
        maker_fee=float(market.get("maker") or 0.0),
        taker_fee=float(market.get("taker") or 0.0),
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def round_amount(exchange: ccxt.Exchange, pair: str, amount: float) -> float:
    """Truncate to the market's amount step: never sell more than is held."""
    return float(exchange.amount_to_precision(pair, amount))


def round_price(
    exchange: ccxt.Exchange, pair: str, price: float, rounding: Rounding = Rounding.ROUND
) -> float:
    if rounding is Rounding.ROUND:
        return float(exchange.price_to_precision(pair, price))
    step = exchange.markets[pair]["precision"]["price"]
    truncated = exchange.decimal_to_precision(
        price, ccxt.TRUNCATE, step, exchange.precisionMode
    )
    exact = Precise.string_eq(truncated, exchange.number_to_string(price))
    if rounding is Rounding.TRUNCATE or exact:
        return float(truncated)
    tick = exchange.number_to_string(step)
    if exchange.precisionMode != ccxt.TICK_SIZE:
        tick = Precise.string_div("1", Precise.string_pow("10", tick))
    return float(Precise.string_add(truncated, tick))


def check_order_limits(rules: MarketRules, amount: float, price: float) -> None:
    """Refuse an order the exchange would refuse, stating the rule and the values."""
    if amount <= 0:
        raise OrderRejected(f"{rules.pair}: amount {amount} rounds to nothing")
    if rules.min_amount is not None and amount < rules.min_amount:
        raise OrderRejected(
            f"{rules.pair}: amount {amount} is below the minimum amount {rules.min_amount}"
        )
    cost = amount * price
    if rules.min_cost is not None and cost < rules.min_cost:
        raise OrderRejected(
            f"{rules.pair}: order cost {cost:.8g} {rules.quote} is below the minimum "
            f"{rules.min_cost} {rules.quote}"
        )
    if rules.max_amount is not None and amount > rules.max_amount:
        raise OrderRejected(
            f"{rules.pair}: amount {amount} is above the maximum amount {rules.max_amount}"
        )
