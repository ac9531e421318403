"""Exit decisions: the stoploss (fixed, trailing, custom), the ROI table, exit signals, and the
price each exit proposes.

Pure functions over a read-only `models.Trade` and a `Ticker`. A replayed candle spans its
open, high and low; a live ticker is one point (open == high == low == last). The same rules
serve both, which is what lets a backtest run the live engine. The rules and their order are
Freqtrade 2026.9's (`reference/backtest-rules.md` X1-X4). Two of them exist only because of
how Freqtrade's backtester prices a candle, so they apply only with `freqtrade_compat`.

For a live exit at a price other than `last` (`exit_pricing`), pass a point ticker at that
price: every rule then tests and prices at it, as Freqtrade's live bot does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from core.errors import ConfigError
from engine.strategy import IStrategy
from marketdata.timeframe import timeframe_to_minutes
from store.models import ExitReason, Trade
from venues.exchange import Ticker

# Freqtrade's CUSTOM_TAG_MAX_LENGTH: longer custom exit reasons are cut.
CUSTOM_REASON_MAX_LENGTH = 255


class ExitKind(StrEnum):
    """What kind of exit a decision is; the engine picks the order type by it."""

    SIGNAL = "signal"
    CUSTOM = "custom"
    STOP = "stop"
    ROI = "roi"
    TRAILING = "trailing"
    FORCE = "force"
    EMERGENCY = "emergency"  # the exit timed out unfilledtimeout.exit_timeout_count times
    PARTIAL = "partial"  # a partial exit asked by adjust_trade_position


@dataclass(frozen=True, slots=True)
class ExitRules:
    """A strategy's exit settings in the form the rules read. No defaults here: a strategy's
    unset attributes are `IStrategy`'s, the one place they are written."""

    minimal_roi: tuple[tuple[int, float], ...]  # (minutes, ratio), sorted by minutes
    stoploss: float  # negative ratio
    trailing_stop: bool
    trailing_stop_positive: float | None
    trailing_stop_positive_offset: float
    trailing_only_offset_is_reached: bool
    use_exit_signal: bool
    exit_profit_only: bool
    exit_profit_offset: float
    ignore_roi_if_entry_signal: bool
    use_custom_stoploss: bool
    freqtrade_compat: bool
    # Candle length; Freqtrade's open-price ROI rules apply only to keys on a candle boundary.
    timeframe_minutes: int

    @classmethod
    def from_strategy(cls, strategy: IStrategy, freqtrade_compat: bool) -> ExitRules:
        """The strategy's exit attributes (Freqtrade's names, IStrategy's defaults)."""
        # IStrategy has no stoploss to fall back on: a strategy must set one.
        stoploss = getattr(strategy, "stoploss", None)
        if isinstance(stoploss, bool) or not isinstance(stoploss, int | float):
            raise ConfigError(f"strategy.stoploss: expected a negative ratio, got {stoploss!r}")
        positive = strategy.trailing_stop_positive
        return cls(
            minimal_roi=parse_roi(strategy.minimal_roi),
            stoploss=float(stoploss),
            trailing_stop=bool(strategy.trailing_stop),
            trailing_stop_positive=None if positive is None else float(positive),
            trailing_stop_positive_offset=float(strategy.trailing_stop_positive_offset),
            trailing_only_offset_is_reached=bool(strategy.trailing_only_offset_is_reached),
            use_exit_signal=bool(strategy.use_exit_signal),
            exit_profit_only=bool(strategy.exit_profit_only),
            exit_profit_offset=float(strategy.exit_profit_offset),
            ignore_roi_if_entry_signal=bool(strategy.ignore_roi_if_entry_signal),
            use_custom_stoploss=bool(strategy.use_custom_stoploss),
            freqtrade_compat=freqtrade_compat,
            timeframe_minutes=timeframe_to_minutes(strategy.timeframe),
        )  # fmt: skip


def parse_roi(table: Any) -> tuple[tuple[int, float], ...]:
    """A `minimal_roi` dict ({"0": 0.04, "60": 0.02}) as sorted (minutes, ratio) pairs."""
    if not isinstance(table, Mapping):
        raise ConfigError(f'minimal_roi: expected a table like {{"0": 0.04}}, got {table!r}')
    rows: list[tuple[int, float]] = []
    for key, ratio in table.items():
        if not str(key).strip().isdigit():
            raise ConfigError(f"minimal_roi: keys are whole minutes, got {key!r}")
        if isinstance(ratio, bool) or not isinstance(ratio, int | float):
            raise ConfigError(f"minimal_roi.{key}: expected a ratio, got {ratio!r}")
        rows.append((int(str(key).strip()), float(ratio)))
    return tuple(sorted(rows))


@dataclass(frozen=True, slots=True)
class StopUpdate:
    stop_loss: float
    stop_loss_pct: float
    is_stop_loss_trailing: bool
    max_rate: float
    min_rate: float


@dataclass(frozen=True, slots=True)
class ExitDecision:
    reason: str  # an ExitReason value, or the exit_tag / custom_exit string
    kind: ExitKind
    price: float  # unrounded proposed exit price; the engine rounds at the order boundary


# --- stoploss --------------------------------------------------------------------------------


def initial_stop(open_rate: float, stoploss: float, round_up: Callable[[float], float]
                 ) -> StopUpdate:
    """The stop of a new trade (or one re-based on a new average open rate)."""
    return StopUpdate(
        stop_loss=_stop_price(open_rate, stoploss, round_up),
        stop_loss_pct=-abs(stoploss),
        is_stop_loss_trailing=False,
        max_rate=open_rate,
        min_rate=open_rate,
    )


def _stop_price(rate: float, ratio: float, round_up: Callable[[float], float]) -> float:
    # Long stops round up: the safe side, as Freqtrade's adjust_stop_loss does.
    return round_up(rate * (1 - abs(ratio)))


def _valid_custom(value: float | None) -> bool:
    # Freqtrade treats a falsy result (None, 0) as "no opinion", and NaN/inf as an error.
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return value != 0 and math.isfinite(value)


def update_stop(trade: Trade, ticker: Ticker, rules: ExitRules,
                round_up: Callable[[float], float], custom_stop: float | None = None, *,
                after_fill: bool = False) -> StopUpdate | None:
    """Move the stop for this ticker before exits are tested (X1); None when nothing changed.

    The stop only ever moves up, and any move marks the trade as trailing. It moves only while
    it is still below the ticker's low, and from the high: for a replayed candle the high is
    assumed to come before the low. `custom_stop` is the strategy's `custom_stoploss` result
    for this ticker (called with current_rate = high and the profit at the high), a ratio
    below that rate; it may only tighten the stop, except right after a fill
    (`after_fill`, the strategy's custom_stoploss called with after_fill=True), when it
    replaces the stop without marking it trailing. Max and min rates are tracked too.
    """
    if trade.stop_loss:
        state = _Stop(trade.stop_loss, trade.stop_loss_pct, bool(trade.is_stop_loss_trailing))
    else:
        first = initial_stop(trade.open_rate, rules.stoploss, round_up)
        state = _Stop(first.stop_loss, first.stop_loss_pct, False)
    if state.price < ticker.low:
        base = rules.stoploss
        if rules.use_custom_stoploss and custom_stop is not None and _valid_custom(custom_stop):
            base = float(custom_stop)
            state = (state.replaced(ticker.high, base, round_up) if after_fill
                     else state.raised(ticker.high, base, round_up))
        if rules.trailing_stop:
            ratio = _trailing_ratio(trade, ticker, rules, base)
            if ratio is not None:
                state = state.raised(ticker.high, ratio, round_up)
    update = StopUpdate(
        stop_loss=state.price,
        stop_loss_pct=-abs(rules.stoploss) if state.pct is None else state.pct,
        is_stop_loss_trailing=state.trailing,
        max_rate=max(ticker.high, trade.max_rate or trade.open_rate),
        min_rate=min(ticker.low, trade.min_rate or trade.open_rate),
    )
    unchanged = (update.stop_loss == trade.stop_loss and update.stop_loss_pct == trade.stop_loss_pct
                 and update.is_stop_loss_trailing == bool(trade.is_stop_loss_trailing)
                 and update.max_rate == trade.max_rate and update.min_rate == trade.min_rate)
    return None if unchanged else update


@dataclass(frozen=True, slots=True)
class _Stop:
    price: float
    pct: float | None
    trailing: bool

    def raised(self, rate: float, ratio: float, round_up: Callable[[float], float]) -> _Stop:
        candidate = _stop_price(rate, ratio, round_up)
        return _Stop(candidate, -abs(ratio), True) if candidate > self.price else self

    def replaced(self, rate: float, ratio: float, round_up: Callable[[float], float]) -> _Stop:
        return _Stop(_stop_price(rate, ratio, round_up), -abs(ratio), self.trailing)


def _trailing_ratio(trade: Trade, ticker: Ticker, rules: ExitRules, base: float) -> float | None:
    """The trailing distance to use at this ticker's high, or None while trailing waits."""
    offset = rules.trailing_stop_positive_offset
    profit = trade.profit_ratio(ticker.high)
    if rules.trailing_only_offset_is_reached and profit < offset:
        return None
    if rules.trailing_stop_positive is not None and profit > offset:
        return rules.trailing_stop_positive
    return base


# --- ROI -------------------------------------------------------------------------------------


def roi_threshold(minutes: float, rules: ExitRules) -> float | None:
    """The ROI ratio in force after `minutes`: the row with the largest key not above it."""
    step = _roi_step(minutes, rules)
    return None if step is None else step[1]


def _roi_step(minutes: float, rules: ExitRules) -> tuple[int, float] | None:
    step: tuple[int, float] | None = None
    for key, ratio in rules.minimal_roi:
        if key > minutes:
            break
        step = (key, ratio)
    return step


def roi_close_rate(trade: Trade, roi: float) -> float:
    """The rate at which selling the whole trade earns exactly `roi`, both fees included."""
    return (1 + roi) * trade.open_trade_value / (trade.amount * (1 - trade.fee_close))


def _on_boundary(key: int, rules: ExitRules) -> bool:
    return key % rules.timeframe_minutes == 0


def _roi_price(trade: Trade, ticker: Ticker, rules: ExitRules, minutes: int,
               step: tuple[int, float]) -> float | None:
    """Where a ROI exit sells (X4); None when Freqtrade's backtester would refuse it."""
    key, roi = step
    rate = roi_close_rate(trade, roi)
    if not rules.freqtrade_compat:
        # Already past the target when the candle opened (a gap, or a new step): sell at the
        # open, as a live bot watching the price would.
        return ticker.open if ticker.open > rate else min(max(rate, ticker.low), ticker.high)
    if roi == -1 and _on_boundary(key, rules):
        return ticker.open
    if minutes > 0 and minutes == key and _on_boundary(key, rules) and ticker.open > rate:
        return ticker.open
    if (minutes == 0 and ticker.open > ticker.last and trade.open_rate < ticker.open
            and rate > ticker.last):
        return None
    return min(max(rate, ticker.low), ticker.high)


# --- decisions -------------------------------------------------------------------------------


def trade_minutes(trade: Trade, now: datetime) -> int:
    """Whole minutes since the trade opened, as Freqtrade counts a trade's age."""
    return int((now - trade.open_date).total_seconds() // 60)


def _signal_exit(trade: Trade, ticker: Ticker, rules: ExitRules, enter_signal: bool,
                 exit_signal: bool, exit_tag: str | None, custom_exit: str | bool | None
                 ) -> ExitDecision | None:
    if not rules.use_exit_signal:
        return None
    if exit_signal and not enter_signal:
        if rules.exit_profit_only and not (
            trade.profit_ratio(ticker.open) > rules.exit_profit_offset
        ):
            return None
        tagged = isinstance(exit_tag, str) and bool(exit_tag)
        reason = exit_tag if tagged and exit_tag else ExitReason.EXIT_SIGNAL.value
        return ExitDecision(reason, ExitKind.SIGNAL, ticker.open)
    if not custom_exit:
        return None
    reason = custom_exit[:CUSTOM_REASON_MAX_LENGTH] if isinstance(custom_exit, str) else ""
    return ExitDecision(reason or ExitReason.CUSTOM_EXIT.value, ExitKind.CUSTOM, ticker.open)


def _stop_exit(trade: Trade, ticker: Ticker, rules: ExitRules, minutes: int) -> ExitDecision:
    stop = trade.stop_loss
    if trade.is_stop_loss_trailing:
        reason, kind = ExitReason.TRAILING_STOP_LOSS, ExitKind.TRAILING
    else:
        reason, kind = ExitReason.STOP_LOSS, ExitKind.STOP
    if stop > ticker.high:
        # The whole range is below the stop: it could only fill at the open.
        return ExitDecision(reason.value, kind, ticker.open)
    if kind is ExitKind.TRAILING and minutes == 0 and rules.freqtrade_compat:
        return ExitDecision(reason.value, kind, _entry_candle_trailing_price(trade, ticker, rules))
    return ExitDecision(reason.value, kind, stop)


def _entry_candle_trailing_price(trade: Trade, ticker: Ticker, rules: ExitRules) -> float:
    """Freqtrade's worst case for a trailing stop hit on the entry candle: the price rose just
    enough to arm the stop, then fell to it; never below the low."""
    if (not rules.use_custom_stoploss and rules.trailing_only_offset_is_reached
            and rules.trailing_stop_positive):
        rate = ticker.open * (1 + abs(rules.trailing_stop_positive_offset)
                              - abs(rules.trailing_stop_positive))
    else:
        rate = ticker.open * (1 - abs(trade.stop_loss_pct or 0.0))
    return max(ticker.low, rate)


def exit_candidates(trade: Trade, ticker: Ticker, now: datetime, rules: ExitRules, *,
                    enter_signal: bool, exit_signal: bool, exit_tag: str | None,
                    custom_exit: str | bool | None) -> list[ExitDecision]:
    """Every exit that triggers on this ticker, best first (X3): signal or custom exit, stop,
    ROI, trailing stop. The engine places the first one the strategy confirms.

    The caller has already applied `update_stop` for this ticker to the trade. For a replayed
    candle, `now` is the candle's open time and the ticker's `last` its close.
    """
    minutes = trade_minutes(trade, now)
    found: list[ExitDecision] = []
    signal = _signal_exit(trade, ticker, rules, enter_signal, exit_signal, exit_tag, custom_exit)
    if signal is not None:
        found.append(signal)
    stop = _stop_exit(trade, ticker, rules, minutes) if trade.stop_loss >= ticker.low else None
    if stop is not None and stop.kind is ExitKind.STOP:
        found.append(stop)
    step = _roi_step(minutes, rules)
    if (step is not None and not (enter_signal and rules.ignore_roi_if_entry_signal)
            and trade.profit_ratio(ticker.high) > step[1]):
        price = _roi_price(trade, ticker, rules, minutes, step)
        if price is not None:
            found.append(ExitDecision(ExitReason.ROI.value, ExitKind.ROI, price))
    if stop is not None and stop.kind is ExitKind.TRAILING:
        found.append(stop)
    return found


def clamp_custom_price(proposed: float, custom: float | None, max_distance_ratio: float) -> float:
    """A strategy's custom entry/exit price, kept within `max_distance_ratio` of the proposed
    price; an absent or unusable one leaves the proposed price."""
    if isinstance(custom, bool) or not isinstance(custom, int | float) or not custom:
        return proposed
    if not math.isfinite(custom):
        return proposed
    low = proposed - proposed * max_distance_ratio
    high = proposed + proposed * max_distance_ratio
    return max(min(float(custom), high), low)
