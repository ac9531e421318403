"""The `pairlists` key: Freqtrade's list of pairlist methods, applied in order, each checked
here with its options' defaults filled in (Freqtrade's defaults), so the handlers read
validated values only. A bad option raises ConfigError naming `pairlists[i].option` and the
expected form; a method tradepilot does not have is refused by name."""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from core.errors import ConfigError
from marketdata.timeframe import TIMEFRAMES, timeframe_to_seconds

GENERATORS = ("StaticPairList", "VolumePairList")
FILTERS = ("AgeFilter", "PrecisionFilter", "PriceFilter", "SpreadFilter", "RangeStabilityFilter",
           "VolatilityFilter", "ShuffleFilter", "PerformanceFilter", "FullTradesFilter")
# The most candles one request of the candle cache asks for (Binance's limit, Freqtrade's check).
CANDLE_LIMIT = 1000
DEFAULT_REFRESH = 1800


@dataclass(frozen=True, slots=True)
class PairlistMethod:
    """One entry of `pairlists`: its method and every option, defaults filled in."""

    method: str
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __getitem__(self, name: str) -> Any:
        return self.options[name]


STATIC_ONLY = (PairlistMethod("StaticPairList", MappingProxyType({"allow_inactive": False})),)

Check = Callable[[str, Any], Any]


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    return value


def _number(lo: float = 0.0, *, above: bool = False, none: bool = False) -> Check:
    def check(key: str, value: Any) -> float | None:
        if value is None and none:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value) or value < lo or (above and value == lo):
            bound = f"above {lo}" if above else f">= {lo}"
            raise ConfigError(f"{key}: expected a number {bound}"
                              f"{' or null' if none else ''}, got {value!r}")
        return float(value)
    return check


def _whole(lo: int = 0, *, none: bool = False) -> Check:
    def check(key: str, value: Any) -> int | None:
        if value is None and none:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise ConfigError(f"{key}: expected a whole number >= {lo}"
                              f"{' or null' if none else ''}, got {value!r}")
        return value
    return check


def _choice(*choices: str | None) -> Check:
    def check(key: str, value: Any) -> str | None:
        if value == "" and None in choices:
            return None
        if value not in choices:
            shown = ", ".join("null" if c is None else f'"{c}"' for c in choices)
            raise ConfigError(f"{key}: expected one of {shown}, got {value!r}")
        return value
    return check


_LOOKBACK: dict[str, tuple[Check, Any]] = {
    "lookback_days": (_whole(0, none=True), None),
    "lookback_timeframe": (_choice(*TIMEFRAMES), "1d"),
    "lookback_period": (_whole(0, none=True), None),
}
_SORT = (_choice(None, "asc", "desc"), None)
# method -> option -> (check, default); "method" itself and refresh_period are everyone's.
_OPTIONS: dict[str, dict[str, tuple[Check, Any]]] = {
    "StaticPairList": {"allow_inactive": (_bool, False)},
    "VolumePairList": {
        "number_assets": (_whole(1), None), "sort_key": (_choice("quoteVolume"), "quoteVolume"),
        "min_value": (_number(0.0, none=True), 0.0), "max_value": (_number(0.0, none=True), None),
        **_LOOKBACK,
    },
    "AgeFilter": {"min_days_listed": (_whole(1), 10),
                  "max_days_listed": (_whole(1, none=True), None)},
    "PrecisionFilter": {},
    "PriceFilter": {"low_price_ratio": (_number(), 0.0), "min_price": (_number(), 0.0),
                    "max_price": (_number(), 0.0), "max_value": (_number(), 0.0)},
    "SpreadFilter": {"max_spread_ratio": (_number(), 0.005)},
    "RangeStabilityFilter": {
        "min_rate_of_change": (_number(), 0.01),
        "max_rate_of_change": (_number(0.0, none=True), None), "sort_direction": _SORT,
        **_LOOKBACK,
    },
    "VolatilityFilter": {
        "min_volatility": (_number(), 0.0), "max_volatility": (_number(0.0, none=True), None),
        "sort_direction": _SORT, **_LOOKBACK,
    },
    "ShuffleFilter": {"shuffle_frequency": (_choice("candle", "iteration"), "candle"),
                      "seed": (_whole(0, none=True), None)},
    "PerformanceFilter": {"minutes": (_whole(0), 0),
                          "min_profit": (_number(-math.inf, none=True), None)},
    "FullTradesFilter": {},
}
# Freqtrade's refresh_period defaults where the handler has a cache of its own.
_REFRESH = {"RangeStabilityFilter": 86_400, "VolatilityFilter": 1440}
_NEEDS_LOOKBACK = ("RangeStabilityFilter", "VolatilityFilter")


def parse_pairlists(key: str, value: Any) -> tuple[PairlistMethod, ...]:
    """`pairlists` as Freqtrade's config gives it: a non-empty list of {"method": ...}."""
    if not isinstance(value, list) or not value:
        raise ConfigError(f'{key}: expected a non-empty list like [{{"method": '
                          f'"StaticPairList"}}], got {value!r}')
    methods = tuple(_method(f"{key}[{i}]", entry) for i, entry in enumerate(value))
    if methods[0].method not in GENERATORS:
        raise ConfigError(f"{key}[0].method: {methods[0].method} filters a list and cannot come "
                          f"first; expected one of {', '.join(GENERATORS)}")
    return methods


def _method(key: str, entry: Any) -> PairlistMethod:
    if not isinstance(entry, dict) or not isinstance(entry.get("method"), str):
        raise ConfigError(f'{key}: expected an object with a "method", got {entry!r}')
    name = entry["method"]
    known = _OPTIONS.get(name)
    if known is None:
        hint = difflib.get_close_matches(name, list(_OPTIONS), n=1, cutoff=0.8)
        raise ConfigError(f"{key}.method: {name} is not supported; expected one of "
                          f"{', '.join(_OPTIONS)}" + (f' (did you mean "{hint[0]}"?)' if hint
                                                      else ""))
    options = {o: default for o, (_check, default) in known.items()}
    options["refresh_period"] = _REFRESH.get(name, DEFAULT_REFRESH)
    checks = {**{o: c for o, (c, _d) in known.items()}, "refresh_period": _whole(0)}
    for option, raw in entry.items():
        if option == "method":
            continue
        check = checks.get(option)
        if check is None:
            hint = difflib.get_close_matches(option, list(checks), n=1)
            raise ConfigError(f"{key}.{option}: unknown option of {name}"
                              + (f' (did you mean "{hint[0]}"?)' if hint else ""))
        options[option] = check(f"{key}.{option}", raw)
    _check_method(key, name, options, set(entry))
    return PairlistMethod(name, MappingProxyType(options))


def _check_method(key: str, name: str, o: dict[str, Any], given: set[str]) -> None:
    if name == "VolumePairList" and "number_assets" not in given:
        raise ConfigError(f"{key}.number_assets: required by VolumePairList; expected a whole "
                          "number >= 1")
    if name == "AgeFilter":
        for option in ("min_days_listed", "max_days_listed"):
            if (o[option] or 0) > CANDLE_LIMIT:
                raise ConfigError(f"{key}.{option}: expected at most {CANDLE_LIMIT} (the most "
                                  f"daily candles one request returns), got {o[option]}")
        if o["max_days_listed"] is not None and o["max_days_listed"] <= o["min_days_listed"]:
            raise ConfigError(f"{key}.max_days_listed: expected more than min_days_listed "
                              f"({o['min_days_listed']}), got {o['max_days_listed']}")
    if "lookback_timeframe" in o:
        _lookback(key, name, o, given)


def _lookback(key: str, name: str, o: dict[str, Any], given: set[str]) -> None:
    """Freqtrade's rules: lookback_days means daily candles and excludes lookback_period; the
    range filters need a range (10 days when none is given, as Freqtrade still falls back to)."""
    days, period = o["lookback_days"] or 0, o["lookback_period"]
    if days and (period or 0) > 0:
        raise ConfigError(f"{key}.lookback_days: given together with lookback_period; expected "
                          "one of them")
    if days and o["lookback_timeframe"] != "1d":
        raise ConfigError(f"{key}.lookback_timeframe: lookback_days means daily candles; "
                          "expected lookback_period with this timeframe, or \"1d\"")
    required = name in _NEEDS_LOOKBACK
    if "lookback_days" in given and required and days < 1 and not (period or 0) > 0:
        raise ConfigError(f"{key}.lookback_days: expected a whole number >= 1, got {days}")
    period = days or period
    if period is None and required:
        if "lookback_timeframe" in given:
            raise ConfigError(f"{key}.lookback_period: required with lookback_timeframe; "
                              "expected a whole number >= 1")
        period = 10
    period = period or 0
    if required and period < 1:
        raise ConfigError(f"{key}.lookback_period: expected a whole number >= 1, got {period}")
    if period > CANDLE_LIMIT:
        raise ConfigError(f"{key}.lookback_period: expected at most {CANDLE_LIMIT} (the most "
                          f"candles one request returns), got {period}")
    o["lookback_period"] = period
    seconds = timeframe_to_seconds(o["lookback_timeframe"])
    if name == "VolumePairList" and period and o["refresh_period"] < seconds:
        raise ConfigError(f"{key}.refresh_period: {o['refresh_period']} s is shorter than one "
                          f"{o['lookback_timeframe']} candle; expected at least {seconds}")


def check_pairlists(methods: tuple[PairlistMethod, ...], stoploss: float | None) -> None:
    """Checks between `pairlists` and other keys: PrecisionFilter reads the config's stoploss,
    as in Freqtrade (the strategy's is not known when the list is built)."""
    names = [m.method for m in methods]
    if "PrecisionFilter" in names and stoploss is None:
        index = names.index("PrecisionFilter")
        raise ConfigError(f"pairlists[{index}]: PrecisionFilter needs the stoploss key in the "
                          "config; expected a stoploss such as -0.10 beside it")
