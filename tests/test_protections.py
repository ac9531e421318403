"""Pair locks after a close: the auto-lock and the four protections, each triggering and not
triggering, plus their configuration errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ConfigError
from engine.protections import (
    ClosedTradeInfo,
    LockRequest,
    Protection,
    auto_lock_until,
    evaluate,
    max_drawdown,
    parse_protections,
)

NOW = datetime(2024, 3, 1, 12, 2, tzinfo=UTC)


def closed(pair: str = "ETH/BTC", minutes_ago: float = 10, reason: str = "exit_signal",
           profit: float = 0.01) -> ClosedTradeInfo:
    close = NOW - timedelta(minutes=minutes_ago)
    return ClosedTradeInfo(pair=pair, open_date=close - timedelta(hours=1), close_date=close,
                           exit_reason=reason, close_profit=profit, close_profit_abs=profit / 20)


def one(config: dict, timeframe: str = "5m") -> list[Protection]:
    return parse_protections([config], timeframe)


def at(hour: int, minute: int, day: int = 1) -> datetime:
    return datetime(2024, 3, day, hour, minute, tzinfo=UTC)


# --- auto lock -------------------------------------------------------------------------------


@pytest.mark.parametrize(("close", "timeframe", "until"), [
    (at(12, 2), "5m", at(12, 5)),
    (at(12, 5), "5m", at(12, 10)),
    (at(12, 2), "1h", at(13, 0)),
    (at(23, 59), "1d", at(0, 0, day=2)),
])  # fmt: skip
def test_a_closed_pair_is_locked_until_the_next_candle_starts(close: datetime, timeframe: str,
                                                              until: datetime) -> None:
    assert auto_lock_until(close, timeframe) == until


# --- configuration ---------------------------------------------------------------------------


def test_protections_are_read_with_freqtrades_defaults() -> None:
    parsed = parse_protections([{"method": "StoplossGuard"}, {"method": "LowProfitPairs"}], "5m")

    assert parsed == [
        Protection(kind="StoplossGuard", stop_minutes=60, lookback_minutes=60,
                   timeframe="5m", trade_limit=10),
        Protection(kind="LowProfitPairs", stop_minutes=60, lookback_minutes=60,
                   timeframe="5m", trade_limit=1),
    ]


def test_durations_in_candles_become_minutes_of_the_strategy_timeframe() -> None:
    parsed = one({"method": "CooldownPeriod", "stop_duration_candles": 3,
                  "lookback_period_candles": 12}, timeframe="15m")

    assert parsed[0].stop_minutes == 45
    assert parsed[0].lookback_minutes == 180


@pytest.mark.parametrize(("config", "message"), [
    ({"method": "Cooldown"}, r"protections\[0\]\.method: expected one of CooldownPeriod"),
    ({"stop_duration": 5}, r"protections\[0\]\.method"),
    ({"method": "StoplossGuard", "trade_limit": "ten"},
     r"protections\[0\] \(StoplossGuard\)\.trade_limit: expected a number"),
    ({"method": "MaxDrawdown", "stop_duration": 5, "stop_duration_candles": 2},
     "stop_duration or stop_duration_candles, not both"),
    ({"method": "CooldownPeriod", "stop_duration_candles": 1.5}, "whole number of candles"),
    ({"method": "LowProfitPairs", "only_per_pair": "yes"}, "only_per_pair: expected true"),
    ({"method": "CooldownPeriod", "stop_durations": 5}, "unknown key 'stop_durations'"),
    ({"method": "CooldownPeriod", "unlock_at": "25:00"}, "unlock_at"),
    ("CooldownPeriod", r"protections\[0\]: expected an object"),
])  # fmt: skip
def test_a_bad_protection_names_the_entry_and_the_key(config: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_protections([config], "5m")  # type: ignore[list-item]


def test_protections_must_be_a_list() -> None:
    with pytest.raises(ConfigError, match="protections: expected a list"):
        parse_protections({"method": "CooldownPeriod"}, "5m")  # type: ignore[arg-type]


def test_each_protection_describes_itself_for_the_startup_message() -> None:
    parsed = parse_protections([
        {"method": "CooldownPeriod", "stop_duration": 30},
        {"method": "StoplossGuard", "trade_limit": 3, "only_per_pair": True},
        {"method": "MaxDrawdown", "max_allowed_drawdown": 0.2},
        {"method": "LowProfitPairs", "required_profit": -0.05, "unlock_at": "06:30"},
    ], "5m")  # fmt: skip

    assert [p.describe() for p in parsed] == [
        "CooldownPeriod: no new trade on a pair for 30 minutes after a close",
        "StoplossGuard: 3 stoplosses with profit below 0.00% within 60 minutes lock the pair "
        "for 60 minutes",
        "MaxDrawdown: a drawdown above 0.2 within 60 minutes locks all pairs for 60 minutes",
        "LowProfitPairs: profit below -0.05 over 1+ trades within 60 minutes locks the pair "
        "until 06:30 UTC",
    ]


# --- CooldownPeriod --------------------------------------------------------------------------


def test_cooldown_locks_the_pair_for_the_stop_duration_after_its_close() -> None:
    protections = one({"method": "CooldownPeriod", "stop_duration": 30})

    locks = evaluate(protections, [closed(minutes_ago=0)], "ETH/BTC", NOW)

    # Closed 12:02, locked 30 minutes to 12:32, rounded up to the 12:35 candle.
    assert locks == [LockRequest("ETH/BTC", at(12, 35), "cooldown period of 30 minutes",
                                 "CooldownPeriod")]


def test_cooldown_ignores_closes_of_other_pairs_and_closes_before_its_window() -> None:
    protections = one({"method": "CooldownPeriod", "stop_duration": 30})

    assert evaluate(protections, [closed(pair="LTC/BTC", minutes_ago=0)], "ETH/BTC", NOW) == []
    assert evaluate(protections, [closed(minutes_ago=30)], "ETH/BTC", NOW) == []


# --- StoplossGuard ---------------------------------------------------------------------------


def test_stoploss_guard_locks_every_pair_after_enough_losing_stops() -> None:
    protections = one({"method": "StoplossGuard", "trade_limit": 2, "lookback_period": 60,
                       "stop_duration": 60})
    history = [closed("LTC/BTC", 40, "stop_loss", -0.05),
               closed("ETH/BTC", 10, "trailing_stop_loss", -0.01)]

    locks = evaluate(protections, history, "ETH/BTC", NOW)

    # Only one stop on ETH/BTC itself; two across all pairs lock everything from 11:52 + 60.
    assert locks == [LockRequest("*", at(12, 55), "2 stoplosses in 60 minutes, locking for "
                                 "60 minutes", "StoplossGuard")]


def test_stoploss_guard_per_pair_locks_only_that_pair() -> None:
    protections = one({"method": "StoplossGuard", "trade_limit": 2, "only_per_pair": True})
    history = [closed("ETH/BTC", 40, "stop_loss", -0.05),
               closed("ETH/BTC", 10, "stoploss_on_exchange", -0.05),
               closed("LTC/BTC", 5, "stop_loss", -0.05)]

    locks = evaluate(protections, history, "ETH/BTC", NOW)

    assert [(lock.pair, lock.until) for lock in locks] == [("ETH/BTC", at(12, 55))]


def test_stoploss_guard_locks_from_the_latest_stop_not_the_latest_close() -> None:
    protections = one({"method": "StoplossGuard", "trade_limit": 1, "stop_duration": 60})
    history = [closed("ETH/BTC", 30, "stop_loss", -0.05), closed("ETH/BTC", 1, "roi", 0.02)]

    locks = evaluate(protections, history, "ETH/BTC", NOW)

    # The stop closed 11:32: locked to 12:32, rounded up to 12:35 (not 13:05 from the ROI).
    assert [(lock.pair, lock.until) for lock in locks] == [("ETH/BTC", at(12, 35)),
                                                            ("*", at(12, 35))]


def test_stoploss_guard_counts_only_stop_exits_below_the_required_profit() -> None:
    protections = one({"method": "StoplossGuard", "trade_limit": 2, "required_profit": 0.0})
    history = [closed("ETH/BTC", 40, "stop_loss", 0.002),  # a stop in profit
               closed("ETH/BTC", 30, "exit_signal", -0.05),  # a loss, but not a stop
               closed("ETH/BTC", 20, "stop_loss", 0.0),  # zero counts as no profit at all
               closed("ETH/BTC", 10, "stop_loss", -0.02)]

    assert evaluate(protections, history, "ETH/BTC", NOW) == []


# --- MaxDrawdown -----------------------------------------------------------------------------


def test_max_drawdown_locks_every_pair_when_the_drawdown_passes_the_limit() -> None:
    protections = one({"method": "MaxDrawdown", "max_allowed_drawdown": 0.05, "trade_limit": 3,
                       "lookback_period": 120, "stop_duration": 30})
    history = [closed("ETH/BTC", 50, profit=0.02), closed("LTC/BTC", 40, profit=-0.04),
               closed("ETH/BTC", 1, profit=-0.03)]

    locks = evaluate(protections, history, "ETH/BTC", NOW)

    # Peak +0.02, then down to -0.05: a 0.07 drawdown; locked 12:01 + 30 -> 12:35.
    assert len(locks) == 1
    assert locks[0].pair == "*"
    assert locks[0].until == at(12, 35)
    assert locks[0].reason.startswith("drawdown 0.0700 passed 0.05")


def test_max_drawdown_holds_off_below_the_limit_or_with_too_few_trades() -> None:
    small = one({"method": "MaxDrawdown", "max_allowed_drawdown": 0.1, "trade_limit": 1})
    few = one({"method": "MaxDrawdown", "max_allowed_drawdown": 0.01, "trade_limit": 4})
    history = [closed(profit=0.02), closed(minutes_ago=5, profit=-0.06)]

    assert evaluate(small, history, "ETH/BTC", NOW) == []
    assert evaluate(few, history, "ETH/BTC", NOW) == []


def _freqtrade_drawdown(profits: list[float]) -> float:
    """Freqtrade's calculate_max_drawdown(value_col="close_profit").drawdown_abs."""
    cumulative = pd.Series(profits, dtype=float).cumsum()
    high = np.maximum(0, cumulative.cummax())
    return float(abs((cumulative - high).min()))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-0.5, 0.5), min_size=1, max_size=40))
def test_max_drawdown_matches_freqtrades_calculation(profits: list[float]) -> None:
    assert max_drawdown(profits) == pytest.approx(_freqtrade_drawdown(profits), abs=1e-12)


# --- LowProfitPairs --------------------------------------------------------------------------


def test_low_profit_pairs_locks_a_pair_whose_recent_profit_is_too_low() -> None:
    protections = one({"method": "LowProfitPairs", "trade_limit": 2, "required_profit": 0.0,
                       "stop_duration_candles": 6})
    history = [closed("ETH/BTC", 50, profit=0.01), closed("ETH/BTC", 20, profit=-0.03),
               closed("LTC/BTC", 10, profit=0.5)]

    locks = evaluate(protections, history, "ETH/BTC", NOW)

    # Latest ETH/BTC close 11:42 + 30 minutes = 12:12, which is on a candle: next one 12:15.
    assert locks == [LockRequest("ETH/BTC", at(12, 15),
                                 "profit -0.0200 < 0.0 in 60 minutes, locking for 30 minutes",
                                 "LowProfitPairs")]


def test_low_profit_pairs_holds_off_with_enough_profit_or_too_few_trades() -> None:
    protections = one({"method": "LowProfitPairs", "trade_limit": 2, "required_profit": 0.0})

    assert evaluate(protections, [closed(profit=0.02), closed(minutes_ago=5, profit=-0.01)],
                    "ETH/BTC", NOW) == []
    assert evaluate(protections, [closed(profit=-0.2)], "ETH/BTC", NOW) == []


# --- several protections, existing locks, unlock_at ------------------------------------------


def test_pair_protections_come_before_global_ones_and_a_covered_lock_is_skipped() -> None:
    protections = parse_protections([
        {"method": "MaxDrawdown", "max_allowed_drawdown": 0.01, "stop_duration": 120},
        {"method": "CooldownPeriod", "stop_duration": 30},
        {"method": "LowProfitPairs", "stop_duration": 10},
    ], "5m")  # fmt: skip
    history = [closed(minutes_ago=1, profit=-0.05)]

    locks = evaluate(protections, history, "ETH/BTC", NOW)

    # LowProfitPairs (until 12:11) is covered by the cooldown that already runs past it.
    assert [(lock.protection, lock.pair, lock.until) for lock in locks] == [
        ("CooldownPeriod", "ETH/BTC", at(12, 35)),
        ("MaxDrawdown", "*", at(14, 5)),
    ]


def test_a_lock_already_in_force_past_the_new_end_prevents_a_duplicate() -> None:
    protections = one({"method": "CooldownPeriod", "stop_duration": 30})
    history = [closed(minutes_ago=0)]

    covered = evaluate(protections, history, "ETH/BTC", NOW, existing=[("*", at(13, 0))])
    shorter = evaluate(protections, history, "ETH/BTC", NOW,
                       existing=[("ETH/BTC", at(12, 15)), ("LTC/BTC", at(15, 0))])

    assert covered == []
    assert len(shorter) == 1


def test_unlock_at_locks_until_that_time_of_day() -> None:
    protections = one({"method": "CooldownPeriod", "unlock_at": "06:30"})

    locks = evaluate(protections, [closed(minutes_ago=0)], "ETH/BTC", NOW)

    assert locks[0].until == datetime(2024, 3, 2, 6, 35, tzinfo=UTC)
