"""Timeframe arithmetic ("5m", "1h", "1d"): candle lengths and candle boundaries.

The one place that reads a timeframe string, on ccxt's helpers (`parse_timeframe`,
`round_timeframe`), so every venue, the candle cache, the exit rules and the backtester agree on
where a candle starts. The names and meanings are Freqtrade's (`freqtrade.exchange`), the ones
Freqtrade strategies already call.

Candle boundaries are counted from the Unix epoch. A string that is not a timeframe raises
ValueError, whichever of ccxt's errors it met.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import ccxt

# The timeframes a strategy may trade on and a backtest may replay.
TIMEFRAMES = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def timeframe_to_seconds(timeframe: str) -> int:
    """Seconds of one candle ("5m" -> 300)."""
    try:
        return int(ccxt.Exchange.parse_timeframe(timeframe))
    except (ValueError, ccxt.NotSupported) as exc:  # ccxt's for "5 minutes" and "5x"
        raise _not_a_timeframe(timeframe) from exc


def timeframe_to_minutes(timeframe: str) -> int:
    """Minutes of one candle ("1h" -> 60)."""
    return timeframe_to_seconds(timeframe) // 60


def timeframe_to_msecs(timeframe: str) -> int:
    """Milliseconds of one candle ("5m" -> 300000), ccxt's unit for candle times."""
    return timeframe_to_seconds(timeframe) * 1000


def timeframe_to_timedelta(timeframe: str) -> timedelta:
    return timedelta(seconds=timeframe_to_seconds(timeframe))


def timeframe_to_prev_date(timeframe: str, date: datetime) -> datetime:
    """Open time of the candle containing `date`: `date` itself when it is a candle open."""
    return _rounded(timeframe, date, ccxt.ROUND_DOWN)


def timeframe_to_next_date(timeframe: str, date: datetime) -> datetime:
    """Open time of the candle after the one containing `date` (always later than `date`)."""
    return _rounded(timeframe, date, ccxt.ROUND_UP)


def _rounded(timeframe: str, date: datetime, direction: int) -> datetime:
    # Whole milliseconds by integer division: a float timestamp can land on the wrong side.
    ms = (date - _EPOCH) // _MS
    try:
        rounded = ccxt.Exchange.round_timeframe(timeframe, ms, direction)
    except (ValueError, ccxt.NotSupported) as exc:
        raise _not_a_timeframe(timeframe) from exc
    return _EPOCH + _MS * int(rounded)


def _not_a_timeframe(timeframe: str) -> ValueError:
    return ValueError(f"{timeframe!r} is not a timeframe; expected one like 5m, 1h or 1d")
