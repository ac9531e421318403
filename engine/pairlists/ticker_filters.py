"""Filters on the tickers of the batched request: `PrecisionFilter` (a stop must be placeable
a step below the stop price), `PriceFilter` (price bounds, the share one price tick is of the
price, the value of one amount step) and `SpreadFilter` (bid/ask distance)."""

from __future__ import annotations

from engine.pairlists.base import Handler, Inputs
from engine.pairlists.config import PairlistMethod
from venues.exchange import Rounding, Ticker

_NO_LAST = "ticker['last'] is empty (Usually no trade in the last 24h)."


class TickerFilter(Handler):
    needs_tickers = True

    def filter(self, pairs: list[str], inputs: Inputs) -> list[str]:
        if not self.enabled:
            return pairs
        return [p for p in pairs if self.keeps(p, inputs.tickers.get(p), inputs)]

    @property
    def enabled(self) -> bool:
        return True

    def keeps(self, pair: str, ticker: Ticker | None, inputs: Inputs) -> bool:
        raise NotImplementedError


class PrecisionFilter(TickerFilter):
    """Needs the config's stoploss (checked with the config, engine.pairlists.config)."""

    in_backtests = "biased"

    def __init__(self, spec: PairlistMethod, *, first: bool = False,
                 stoploss: float | None = None) -> None:
        super().__init__(spec, first=first)
        self._stoploss = stoploss or 0.0

    def describe(self) -> str:
        return f"{self.name} - Filtering untradable pairs."

    @property
    def enabled(self) -> bool:
        return self._stoploss != 0

    def keeps(self, pair: str, ticker: Ticker | None, inputs: Inputs) -> bool:
        if ticker is None or not ticker.last:
            inputs.removed(pair, _NO_LAST)
            return False
        stop = ticker.last * (1 - abs(self._stoploss))
        rounded = inputs.round_price(pair, stop, Rounding.ROUND_UP)
        below = inputs.round_price(pair, stop * 0.99, Rounding.ROUND_UP)
        if rounded <= below:
            inputs.removed(pair, f"stop price {rounded} would be <= stop limit {below}")
            return False
        return True


class PriceFilter(TickerFilter):
    in_backtests = "biased"

    def describe(self) -> str:
        o = self.spec
        parts = [text for value, text in (
            (o["low_price_ratio"], f"below {o['low_price_ratio']:.1%}"),
            (o["min_price"], f"below {o['min_price']:.8f}"),
            (o["max_price"], f"above {o['max_price']:.8f}"),
            (o["max_value"], f"Value above {o['max_value']:.8f}"),
        ) if value]  # fmt: skip
        if not parts:
            return f"{self.name} - No price filters configured."
        return f"{self.name} - Filtering pairs priced {' or '.join(parts)}."

    @property
    def enabled(self) -> bool:
        o = self.spec
        return any(o[k] > 0 for k in ("low_price_ratio", "min_price", "max_price", "max_value"))

    def keeps(self, pair: str, ticker: Ticker | None, inputs: Inputs) -> bool:
        if ticker is None or not ticker.last:
            inputs.removed(pair, _NO_LAST)
            return False
        price, o = ticker.last, self.spec
        rules = inputs.markets.get(pair)
        tick = rules.price_tick if rules is not None else None
        if o["low_price_ratio"] and tick is not None:
            share = tick / price
            if share > o["low_price_ratio"]:
                inputs.removed(pair, f"1 unit is {share:.3%}")
                return False
        if o["max_value"] and rules is not None and rules.min_amount is not None \
                and rules.amount_step is not None:
            change = (rules.min_amount + rules.amount_step) * price - rules.min_amount * price
            if change > o["max_value"]:
                inputs.removed(pair, f"min value change of {change} > {o['max_value']}.")
                return False
        if o["min_price"] and price < o["min_price"]:
            inputs.removed(pair, f"last price < {o['min_price']:.8f}")
            return False
        if o["max_price"] and price > o["max_price"]:
            inputs.removed(pair, f"last price > {o['max_price']:.8f}")
            return False
        return True


class SpreadFilter(TickerFilter):
    def describe(self) -> str:
        return (f"{self.name} - Filtering pairs with ask/bid diff above "
                f"{self.spec['max_spread_ratio']:.2%}.")

    @property
    def enabled(self) -> bool:
        return bool(self.spec["max_spread_ratio"])

    def keeps(self, pair: str, ticker: Ticker | None, inputs: Inputs) -> bool:
        if ticker is None or not ticker.bid or not ticker.ask:
            inputs.log.info(("pl-removed", pair, "ticker"), "Removed %s from whitelist due to "
                            "invalid ticker data: %s", pair, ticker)
            return False
        spread = 1 - ticker.bid / ticker.ask
        limit = self.spec["max_spread_ratio"]
        if spread > limit:
            inputs.removed(pair, f"spread {spread:.3%} > {limit:.3%}")
            return False
        return True
