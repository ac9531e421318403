"""Timeframe arithmetic: candle lengths and candle boundaries, with Freqtrade's names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketdata.timeframe import (
    TIMEFRAMES,
    timeframe_to_minutes,
    timeframe_to_msecs,
    timeframe_to_next_date,
    timeframe_to_prev_date,
    timeframe_to_seconds,
    timeframe_to_timedelta,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

timeframes = st.sampled_from(TIMEFRAMES)
# Any microsecond from 1960 to 2200, before the epoch too.
dates = st.integers(-10 * 365 * 86_400 * 10**6, 230 * 365 * 86_400 * 10**6).map(
    lambda micros: EPOCH + timedelta(microseconds=micros))


@pytest.mark.parametrize(("timeframe", "seconds"), [
    ("1m", 60), ("5m", 300), ("15m", 900), ("1h", 3600), ("4h", 14_400), ("1d", 86_400),
])  # fmt: skip
def test_a_timeframe_reads_as_its_candle_length_in_every_unit(timeframe: str,
                                                               seconds: int) -> None:
    assert timeframe_to_seconds(timeframe) == seconds
    assert timeframe_to_minutes(timeframe) == seconds // 60
    assert timeframe_to_msecs(timeframe) == seconds * 1000
    assert timeframe_to_timedelta(timeframe) == timedelta(seconds=seconds)


def test_the_supported_timeframes_are_whole_minutes_shortest_first() -> None:
    minutes = [timeframe_to_minutes(timeframe) for timeframe in TIMEFRAMES]

    assert minutes == sorted(minutes)
    assert all(timeframe_to_seconds(t) == m * 60 for t, m in zip(TIMEFRAMES, minutes, strict=True))


@given(timeframe=timeframes)
def test_the_units_round_trip(timeframe: str) -> None:
    length = timeframe_to_timedelta(timeframe)

    assert length / timedelta(minutes=1) == timeframe_to_minutes(timeframe)
    assert length / timedelta(milliseconds=1) == timeframe_to_msecs(timeframe)
    assert timeframe_to_msecs(timeframe) == timeframe_to_seconds(timeframe) * 1000


@given(timeframe=timeframes, date=dates)
def test_a_date_lies_in_the_candle_that_opens_at_prev_and_ends_at_next(timeframe: str,
                                                                        date: datetime) -> None:
    prev, nxt = timeframe_to_prev_date(timeframe, date), timeframe_to_next_date(timeframe, date)

    assert prev <= date < nxt
    assert nxt - prev == timeframe_to_timedelta(timeframe)
    assert (prev - EPOCH) % timeframe_to_timedelta(timeframe) == timedelta(0)
    assert (prev.tzinfo, nxt.tzinfo) == (UTC, UTC)


@given(timeframe=timeframes, date=dates)
def test_a_candle_open_is_its_own_prev_date_and_the_previous_candles_next(
    timeframe: str, date: datetime
) -> None:
    candle = timeframe_to_prev_date(timeframe, date)
    length = timeframe_to_timedelta(timeframe)

    assert timeframe_to_prev_date(timeframe, candle) == candle
    assert timeframe_to_next_date(timeframe, candle) == candle + length
    assert timeframe_to_next_date(timeframe, candle - length) == candle
    assert timeframe_to_prev_date(timeframe, candle - timedelta(microseconds=1)) == candle - length


def test_candle_boundaries_are_freqtrades() -> None:
    date = datetime(2018, 1, 20, 12, 2, 30, tzinfo=UTC)

    assert timeframe_to_prev_date("1h", date) == datetime(2018, 1, 20, 12, tzinfo=UTC)
    assert timeframe_to_next_date("5m", date) == datetime(2018, 1, 20, 12, 5, tzinfo=UTC)
    assert timeframe_to_next_date("1d", date) == datetime(2018, 1, 21, tzinfo=UTC)
    aligned = datetime(2018, 1, 20, 12, 5, tzinfo=UTC)
    assert timeframe_to_prev_date("5m", aligned) == aligned
    assert timeframe_to_next_date("5m", aligned) == datetime(2018, 1, 20, 12, 10, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["5x", "5 minutes", "m", ""])
def test_something_that_is_not_a_timeframe_is_a_value_error(bad: str) -> None:
    with pytest.raises(ValueError, match=f"'{bad}' is not a timeframe; expected one like 5m"):
        timeframe_to_seconds(bad)
    with pytest.raises(ValueError, match=f"'{bad}' is not a timeframe"):
        timeframe_to_next_date(bad, EPOCH)
