"""The candle frame every part of the bot passes around: its columns and how one is made.

`date` is the candle open time as `datetime64[ns, UTC]`; the others are floats.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

CANDLE_COLUMNS = ("date", "open", "high", "low", "close", "volume")
DATE_DTYPE = "datetime64[ns, UTC]"


def empty_candles() -> pd.DataFrame:
    columns = {c: pd.Series([], dtype=float) for c in CANDLE_COLUMNS[1:]}
    return pd.DataFrame({"date": pd.Series([], dtype=DATE_DTYPE), **columns})


def frame_from_rows(rows: Sequence[Sequence[float | int | None]]) -> pd.DataFrame:
    """ccxt's OHLCV rows ([ms, open, high, low, close, volume]) as a candle frame."""
    if not rows:
        return empty_candles()
    frame = pd.DataFrame([list(r[:6]) for r in rows], columns=list(CANDLE_COLUMNS))
    dates = pd.to_datetime(frame["date"], unit="ms", utc=True).dt.as_unit("ns")
    return frame.astype({c: float for c in CANDLE_COLUMNS[1:]}).assign(date=dates)


