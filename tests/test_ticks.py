"""The decimal count behind Freqtrade's price tick (P1), computed on whole arrays, equals the
count of each value formatted at 14 significant digits, for any price a candle file can hold:
prices written with few decimals, prices at a rounding boundary, and any float at all."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from backtest.ticks import decimals


def _counted(value: float) -> int:
    text = np.format_float_positional(value, precision=14, unique=False, fractional=False,
                                      trim="-")
    return len(text.partition(".")[2])


def _check(values: list[float]) -> None:
    array = np.array(values, dtype="float64")
    assert decimals(array).tolist() == [_counted(v) for v in values]


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=50))
def test_any_float_is_counted_as_its_formatted_text(values: list[float]) -> None:
    _check(values)


@given(st.lists(st.tuples(st.integers(1, 10**15), st.integers(0, 18)), min_size=1,
                max_size=50))
def test_prices_written_with_few_decimals_are_counted_exactly(
        written: list[tuple[int, int]]) -> None:
    _check([digits / 10**places for digits, places in written])


@given(st.lists(st.tuples(st.integers(10**13, 10**14 - 1), st.integers(-6, 14)), min_size=1,
                max_size=50))
def test_values_halfway_between_fourteen_digit_neighbours_are_counted_as_formatted(
        halves: list[tuple[int, int]]) -> None:
    _check([float(f"{digits}5e{exponent - 14}") for digits, exponent in halves])


def test_zero_and_missing_prices_count_no_decimals() -> None:
    assert decimals(np.array([0.0, float("nan"), 1e-30, 123456.0])).tolist() == [
        0, 0, _counted(1e-30), 0]
