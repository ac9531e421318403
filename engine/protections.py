"""Pair locks after closed trades: the auto-lock and Freqtrade's four protections
(CooldownPeriod, StoplossGuard, MaxDrawdown, LowProfitPairs), configured from a strategy's
`protections` list.

Pure functions: the engine passes the recently closed trades in and stores the locks that
come out. Lock ends are rounded up to the next candle boundary, as Freqtrade's PairLocks does;
a lock is in force while its end is strictly after now.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.errors import ConfigError
from marketdata.timeframe import timeframe_to_minutes, timeframe_to_next_date
from store.models import ExitReason

GLOBAL = "*"
STOP_REASONS = frozenset({
    ExitReason.STOP_LOSS.value, ExitReason.TRAILING_STOP_LOSS.value,
    ExitReason.STOPLOSS_ON_EXCHANGE.value, ExitReason.LIQUIDATION.value,
})  # fmt: skip
# Protections that lock the pair whose trade closed; StoplossGuard also locks globally.
_LOCAL = frozenset({"CooldownPeriod", "StoplossGuard", "LowProfitPairs"})


@dataclass(frozen=True, slots=True)
class ClosedTradeInfo:
    pair: str
    open_date: datetime
    close_date: datetime
    exit_reason: str
    close_profit: float
    close_profit_abs: float


# What a triggered protection reports: its reason, and the trades it counted.
Found = tuple[str, list[ClosedTradeInfo]] | None


@dataclass(frozen=True, slots=True)
class LockRequest:
    pair: str  # "*" = every pair
    until: datetime
    reason: str
    protection: str


@dataclass(frozen=True, slots=True)
class Protection:
    """One configured protection; `kind` is its Freqtrade method name."""

    kind: str
    stop_minutes: int
    lookback_minutes: int
    timeframe: str  # the strategy's: lock ends are rounded up to its candles
    trade_limit: int
    required_profit: float = 0.0
    only_per_pair: bool = False
    max_allowed_drawdown: float = 0.0
    unlock_at: tuple[int, int] | None = None  # (hour, minute) UTC instead of a duration

    @property
    def is_global(self) -> bool:
        return self.kind == "MaxDrawdown" or (self.kind == "StoplossGuard"
                                              and not self.only_per_pair)

    def describe(self) -> str:
        """One line for the startup message."""
        until = (f"until {self.unlock_at[0]:02d}:{self.unlock_at[1]:02d} UTC" if self.unlock_at
                 else f"for {_minutes(self.stop_minutes)}")
        window = _minutes(self.lookback_minutes)
        text = {
            "CooldownPeriod": f"CooldownPeriod: no new trade on a pair {until} after a close",
            "StoplossGuard": f"StoplossGuard: {self.trade_limit} stoplosses with profit below "
                             f"{self.required_profit:.2%} within {window} lock "
                             f"{'the pair' if self.only_per_pair else 'all pairs'} {until}",
            "MaxDrawdown": f"MaxDrawdown: a drawdown above {self.max_allowed_drawdown} within "
                           f"{window} locks all pairs {until}",
            "LowProfitPairs": f"LowProfitPairs: profit below {self.required_profit} over "
                              f"{self.trade_limit}+ trades within {window} locks the pair "
                              f"{until}",
        }
        return text[self.kind]


def _minutes(count: int) -> str:
    return f"{count} minute" if count == 1 else f"{count} minutes"


# --- configuration ---------------------------------------------------------------------------

_DEFAULT_TRADE_LIMIT = {"CooldownPeriod": 1, "StoplossGuard": 10, "MaxDrawdown": 1,
                        "LowProfitPairs": 1}
_KNOWN_KEYS = frozenset({
    "method", "stop_duration", "stop_duration_candles", "lookback_period",
    "lookback_period_candles", "trade_limit", "required_profit", "only_per_pair",
    "only_per_side", "max_allowed_drawdown", "unlock_at",
})  # fmt: skip


def parse_protections(config: list[dict], timeframe: str) -> list[Protection]:
    """Validate a strategy's `protections` list; a bad entry raises ConfigError naming it."""
    if not isinstance(config, list):
        raise ConfigError(f"protections: expected a list of {{\"method\": ...}} objects, got "
                          f"{config!r}")
    return [_parse_one(f"protections[{i}]", entry, timeframe)
            for i, entry in enumerate(config)]


def _parse_one(where: str, entry: Any, timeframe: str) -> Protection:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: expected an object like {{\"method\": \"CooldownPeriod\"}}, "
                          f"got {entry!r}")
    kind = entry.get("method")
    if kind not in _DEFAULT_TRADE_LIMIT:
        raise ConfigError(f"{where}.method: expected one of {', '.join(_DEFAULT_TRADE_LIMIT)}, "
                          f"got {kind!r}")
    unknown = sorted(set(entry) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} for {kind}")
    where = f"{where} ({kind})"
    candle = timeframe_to_minutes(timeframe)
    return Protection(
        kind=kind,
        stop_minutes=_duration(where, entry, "stop_duration", candle, 60),
        lookback_minutes=_duration(where, entry, "lookback_period", candle, 60),
        timeframe=timeframe,
        trade_limit=int(_number(where, entry, "trade_limit", _DEFAULT_TRADE_LIMIT[kind], 1)),
        required_profit=_number(where, entry, "required_profit", 0.0),
        only_per_pair=_flag(where, entry, "only_per_pair"),
        max_allowed_drawdown=_number(where, entry, "max_allowed_drawdown", 0.0, 0.0),
        unlock_at=_clock_time(where, entry.get("unlock_at")),
    )  # fmt: skip


def _number(where: str, entry: Mapping, key: str, default: float,
            low: float | None = None) -> float:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{where}.{key}: expected a number, got {value!r}")
    if low is not None and value < low:
        raise ConfigError(f"{where}.{key}: expected a number >= {low:g}, got {value!r}")
    return float(value)


def _duration(where: str, entry: Mapping, key: str, candle: int, default: int) -> int:
    """Minutes from `key` (minutes) or `key`_candles (candles of the strategy's timeframe)."""
    candles = f"{key}_candles"
    if key in entry and candles in entry:
        raise ConfigError(f"{where}: set {key} or {candles}, not both")
    if candles in entry:
        count = _number(where, entry, candles, 1, 0)
        if count != int(count):
            raise ConfigError(f"{where}.{candles}: expected a whole number of candles, got "
                              f"{entry[candles]!r}")
        return int(count) * candle
    return int(_number(where, entry, key, default, 0))


def _flag(where: str, entry: Mapping, key: str) -> bool:
    value = entry.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.{key}: expected true or false, got {value!r}")
    return value


def _clock_time(where: str, value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    parts = value.split(":") if isinstance(value, str) else []
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        hour, minute = int(parts[0]), int(parts[1])
        if hour < 24 and minute < 60:
            return hour, minute
    raise ConfigError(f'{where}.unlock_at: expected a UTC time "HH:MM", got {value!r}')


# --- evaluation ------------------------------------------------------------------------------


AUTO_LOCK = "Auto lock"  # the reason of the lock after each exit


def auto_lock_until(close_time: datetime, timeframe: str) -> datetime:
    """The start of the next candle after `close_time` (Freqtrade's "Auto lock"): a pair
    cannot be re-entered on the candle it closed on."""
    return timeframe_to_next_date(timeframe, close_time)


def auto_lock(pair: str, close_time: datetime, timeframe: str) -> LockRequest:
    """The lock of `pair` after its trade closed at `close_time`, until the next candle."""
    return LockRequest(pair, auto_lock_until(close_time, timeframe), AUTO_LOCK, "")


def evaluate(protections: list[Protection], closed: list[ClosedTradeInfo], pair: str,
             now: datetime, *, existing: Iterable[tuple[str, datetime]] = ()
             ) -> list[LockRequest]:
    """The locks to add right after a trade on `pair` closed: the pair's own protections
    first, then the global ones, each in configuration order.

    `existing` holds the (pair or "*", end) of locks already in force; as in Freqtrade, a new
    lock is skipped when one of those (or an earlier one from this call) outlasts it.
    """
    held = list(existing)
    requests: list[LockRequest] = []
    checks: list[tuple[Protection, str | None]] = [
        (p, pair) for p in protections if p.kind in _LOCAL
    ]
    checks += [(p, None) for p in protections if p.is_global]
    for protection, target in checks:
        found = _check(protection, closed, target, now)
        if found is None:
            continue
        request, raw_until = found
        scope = (GLOBAL,) if target is None else (GLOBAL, request.pair)
        if any(p in scope and end > raw_until for p, end in held):
            continue
        held.append((request.pair, request.until))
        requests.append(request)
    return requests


def _check(protection: Protection, closed: list[ClosedTradeInfo], pair: str | None,
           now: datetime) -> tuple[LockRequest, datetime] | None:
    """One protection over the trades that closed within its window (strictly after its
    start, as Freqtrade filters them); the lock runs from the latest close it counted.
    Returns the request and its end before rounding to the candle."""
    window = (protection.stop_minutes if protection.kind == "CooldownPeriod"
              else protection.lookback_minutes)
    since = now - timedelta(minutes=window)
    recent = [t for t in closed if t.close_date > since and (pair is None or t.pair == pair)]
    if not recent:
        return None
    found = _CHECKS[protection.kind](protection, recent)
    if found is None:
        return None
    reason, counted = found
    until = _lock_end(protection, max(t.close_date for t in counted), now)
    request = LockRequest(pair=pair or GLOBAL, reason=reason, protection=protection.kind,
                          until=auto_lock_until(until, protection.timeframe))
    return request, until


def _lock_end(protection: Protection, last_close: datetime, now: datetime) -> datetime:
    if protection.unlock_at is not None:
        hour, minute = protection.unlock_at
        until = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if until < now:
            until += timedelta(days=1)
    else:
        until = last_close + timedelta(minutes=protection.stop_minutes)
    return until


def _cooldown(protection: Protection, recent: list[ClosedTradeInfo]) -> Found:
    return f"cooldown period of {_minutes(protection.stop_minutes)}", recent


def _stoploss_guard(protection: Protection, recent: list[ClosedTradeInfo]) -> Found:
    # A close profit of exactly 0 does not count, as in Freqtrade (it tests truthiness).
    stops = [t for t in recent if t.exit_reason in STOP_REASONS and t.close_profit
             and t.close_profit < protection.required_profit]
    if len(stops) < protection.trade_limit:
        return None
    return (f"{len(stops)} stoplosses in {_minutes(protection.lookback_minutes)}, "
            f"locking for {_minutes(protection.stop_minutes)}"), stops


def max_drawdown(profits: list[float]) -> float:
    """The largest fall of the cumulative profit below its running peak (the peak starting
    at 0), over close-profit ratios in close order."""
    total = peak = worst = 0.0
    for profit in profits:
        total += profit
        peak = max(peak, total)
        worst = max(worst, peak - total)
    return worst


def _max_drawdown(protection: Protection, recent: list[ClosedTradeInfo]) -> Found:
    if len(recent) < protection.trade_limit:
        return None
    ordered = sorted(recent, key=lambda t: t.close_date)
    drawdown = max_drawdown([t.close_profit for t in ordered])
    if not drawdown > protection.max_allowed_drawdown:
        return None
    return (f"drawdown {drawdown:.4f} passed {protection.max_allowed_drawdown} in "
            f"{_minutes(protection.lookback_minutes)}, locking for "
            f"{_minutes(protection.stop_minutes)}"), recent


def _low_profit(protection: Protection, recent: list[ClosedTradeInfo]) -> Found:
    if len(recent) < protection.trade_limit:
        return None
    profit = sum(t.close_profit for t in recent if t.close_profit)
    if not profit < protection.required_profit:
        return None
    return (f"profit {profit:.4f} < {protection.required_profit} in "
            f"{_minutes(protection.lookback_minutes)}, locking for "
            f"{_minutes(protection.stop_minutes)}"), recent


_CHECKS: dict[str, Callable[[Protection, list[ClosedTradeInfo]], Found]] = {
    "CooldownPeriod": _cooldown,
    "StoplossGuard": _stoploss_guard,
    "MaxDrawdown": _max_drawdown,
    "LowProfitPairs": _low_profit,
}
