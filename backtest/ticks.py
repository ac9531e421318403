"""The price tick of a backtest as Freqtrade's backtester takes it from the data
(`reference/backtest-rules.md` P1), applied to the offline market month by month."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from marketdata.files import PRICE_COLUMNS
from store.store import Store
from venues.offline import OfflineMarket

SIGNIFICANT = 14
# How close to a half the scaled value may come before the float product cannot tell which way
# the exact decimal rounding goes; those few values are formatted one by one.
AMBIGUOUS = 1e-2


def _formatted_decimals(value: float) -> int:
    """Freqtrade's count (P1): decimals of the value at 14 significant digits, zeros trimmed."""
    text = np.format_float_positional(value, precision=SIGNIFICANT, unique=False,
                                      fractional=False, trim="-")
    return len(text.partition(".")[2])


def decimals(values: np.ndarray) -> np.ndarray:
    """`_formatted_decimals` of every value, computed on the array: the value scaled to a
    14-digit integer, its trailing zeros counted. Where the float product sits too near a
    rounding boundary (or the value is zero, negative or not finite) it formats that value."""
    out = np.zeros(values.shape, dtype=np.int64)
    usable = np.isfinite(values) & (values > 0)
    positive = np.where(usable, values, 1.0)
    exponent = np.floor(np.log10(positive)).astype(np.int64)
    shift = SIGNIFICANT - 1 - exponent
    # A value far below a unit overflows when scaled: it fails in_range and is formatted.
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = positive * np.power(10.0, shift.astype(np.float64))
        near_half = np.abs(scaled - np.floor(scaled) - 0.5) < AMBIGUOUS
        in_range = (scaled >= 10.0 ** (SIGNIFICANT - 1)) & (scaled < 10.0 ** SIGNIFICANT)
    rounded = np.rint(scaled)
    exact = usable & in_range & ~near_half
    digits = np.where(exact, rounded, 1.0).astype(np.int64)
    zeros = np.zeros(values.shape, dtype=np.int64)
    for _ in range(SIGNIFICANT):
        ends_in_zero = (digits % 10 == 0) & (digits > 0)
        zeros += ends_in_zero
        digits = np.where(ends_in_zero, digits // 10, digits)
    out[exact] = np.maximum(shift - zeros, 0)[exact]
    for index in np.flatnonzero(~exact):
        out.flat[index] = _formatted_decimals(float(values.flat[index]))
    return out


def data_ticks(frame: pd.DataFrame) -> list[tuple[datetime, float]]:
    """The price ticks Freqtrade's backtest derives from the candles (P1): per calendar month
    (from its first day, in order), one unit of the most decimals any price of the loaded
    data shows in that month at 14 significant digits."""
    prices = frame.loc[:, PRICE_COLUMNS].to_numpy(dtype="float64")
    if not len(prices):
        return []
    unique, inverse = np.unique(prices, return_inverse=True)
    counts = decimals(unique)[inverse.reshape(prices.shape)]
    dates = frame["date"].dt.tz_convert(UTC)
    months = (dates.dt.year * 12 + dates.dt.month - 1).to_numpy()
    most = pd.Series(counts.max(axis=1)).groupby(months).max()
    return [(datetime(m // 12, m % 12 + 1, 1, tzinfo=UTC), float(10.0 ** -int(d)))
            for m, d in zip(most.index.tolist(), most.tolist(), strict=True)]


class MonthlyTicks:
    """P1 around the engine: each pair's price tick is its data's tick of the month, and a
    trade keeps the tick of the month it entered in: a pair takes a new month's tick only
    while it has no open trade."""

    def __init__(self, market: OfflineMarket, schedules: Mapping[str, list[tuple[datetime,
                                                                                  float]]],
                 store: Store) -> None:
        self._market = market
        self._store = store
        self._schedules = {pair: s for pair, s in schedules.items() if s}
        self._month: tuple[int, int] | None = None
        self._pending: set[str] = set()

    def apply(self, now: datetime) -> None:
        if (now.year, now.month) != self._month:
            self._month = (now.year, now.month)
            self._pending = set(self._schedules)
        if not self._pending:
            return
        busy = {trade.pair for trade in self._store.open_trades()}
        for pair in sorted(self._pending - busy):
            schedule = self._schedules[pair]
            index = max(bisect_right([start for start, _ in schedule], now) - 1, 0)
            self._market.set_price_tick(pair, schedule[index][1])
            self._pending.discard(pair)
