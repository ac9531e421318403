"""The two methods that start a list: `StaticPairList` (the configured pairs) and
`VolumePairList` (the stake currency's markets by 24h quote volume, from the tickers, or
summed over a range of candles with the lookback options)."""

from __future__ import annotations

from datetime import datetime

from engine.pairlists.base import CandleNeed, Handler, Inputs, plural
from engine.pairlists.config import PairlistMethod
from engine.pairs import is_pattern, matches


class StaticPairList(Handler):
    generator = True
    in_backtests = "yes"

    def generate(self, inputs: Inputs) -> list[str]:
        pairs = _expanded(list(inputs.configured), list(inputs.markets))
        return inputs.tradable(pairs, allow_inactive=self.spec["allow_inactive"])

    def filter(self, pairs: list[str], inputs: Inputs) -> list[str]:
        """Later in the chain it adds the configured pairs the list lacks, as Freqtrade's."""
        return pairs + [p for p in inputs.configured if p not in pairs]


def _expanded(entries: list[str], markets: list[str]) -> list[str]:
    """Whitelist entries with patterns (`.*/BTC`) replaced by the markets they name; a
    pattern naming none is dropped, a plain pair kept for the market check to judge."""
    pairs: list[str] = []
    for entry in entries:
        pairs += [m for m in markets if matches([entry], m)] if is_pattern(entry) else [entry]
    return pairs


class VolumePairList(Handler):
    generator = True
    needs_tickers = True

    def __init__(self, spec: PairlistMethod, *, first: bool = False) -> None:
        super().__init__(spec, first=first)
        self._period: int = self.spec["lookback_period"] or 0
        self._timeframe: str = self.spec["lookback_timeframe"]
        self.needs_tickers = not self._period
        self._cached: tuple[datetime, list[str]] | None = None

    def describe(self) -> str:
        return f"{self.name} - top {self.spec['number_assets']} volume pairs."

    def _fresh(self, now: datetime) -> list[str] | None:
        if self._cached is None:
            return None
        at, pairs = self._cached
        return list(pairs) if (now - at).total_seconds() < self.spec["refresh_period"] else None

    def _universe(self, inputs: Inputs) -> list[str]:
        return [p for p in inputs.stake_markets() if not inputs.blacklisted(p)]

    def candles_for(self, pairs: list[str], inputs: Inputs) -> list[CandleNeed]:
        if not self._period or (self.first and self._fresh(inputs.now) is not None):
            return []
        wanted = self._universe(inputs) if self.first else pairs
        return [CandleNeed(self._timeframe, self._period + 1, tuple(wanted))]

    def generate(self, inputs: Inputs) -> list[str]:
        cached = self._fresh(inputs.now)
        if cached is not None:
            return cached
        pairs = self._universe(inputs)
        if not self._period:
            pairs = [p for p in pairs if p in inputs.tickers
                     and inputs.tickers[p].quote_volume is not None]
        pairs = self.filter(pairs, inputs)
        self._cached = (inputs.now, list(pairs))
        return pairs

    def filter(self, pairs: list[str], inputs: Inputs) -> list[str]:
        volumes: dict[str, float] = {}
        if self._period:
            inputs.log.info(("pl-volume-range", self._period), "Using volume range of %d x %s "
                            "%s.", self._period, self._timeframe, plural(self._period, "candle"))
            for pair in pairs:
                volumes[pair] = self._range_volume(inputs, pair)
        else:
            listed = set(pairs)
            for pair, ticker in inputs.tickers.items():
                if pair in listed and ticker.quote_volume is not None:
                    volumes[pair] = ticker.quote_volume
        low, high = self.spec["min_value"], self.spec["max_value"]
        kept = [p for p, v in volumes.items()
                if not (low and low > 0 and v <= low) and not (high is not None and v >= high)]
        ranked = sorted(kept, key=lambda p: volumes[p], reverse=True)
        ranked = inputs.without_blacklisted(inputs.tradable(ranked))
        return ranked[: self.spec["number_assets"]]

    def _range_volume(self, inputs: Inputs, pair: str) -> float:
        """Quote volume of the last `lookback_period` closed candles: their base volume at
        the typical price, as Freqtrade computes it for exchanges that count in the base."""
        frame = inputs.candles(pair, self._timeframe, self._period + 1)
        if frame.empty or len(frame) < self._period:
            # Freqtrade's rolling sum over too few candles is NaN, filled with 0.
            return 0.0
        tail = frame.tail(self._period)
        typical = (tail["high"] + tail["low"] + tail["close"]) / 3
        return float((tail["volume"] * typical).sum())
