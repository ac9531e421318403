"""Candle files on disk: Freqtrade's feather files and the ccxt-shaped JSON layout.

Every frame leaving this module has the columns `marketdata.candles.CANDLE_COLUMNS`, `date` being
the candle open time as `datetime64[ns, UTC]`, sorted, one row per date.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import ConfigError
from marketdata.candles import CANDLE_COLUMNS, empty_candles
from marketdata.timeframe import timeframe_to_seconds

logger = logging.getLogger(__name__)

SUFFIXES = (".feather", ".json", ".json.gz")
PRICE_COLUMNS = ["open", "high", "low", "close"]
# Freqtrade's clean_ohlcv_dataframe: how rows sharing one date are merged.
_MERGE = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "max"}
# Freqtrade's ohlcv_fill_up_missing_data: how candles are binned on the timeframe grid.
_FILL = {**_MERGE, "volume": "sum"}

TimeRange = tuple[datetime | None, datetime | None]


def candle_file(datadir: Path | str, pair: str, timeframe: str) -> Path:
    """The file holding `pair`'s candles, Freqtrade-named (`ETH_BTC-5m.feather`).

    The first existing of .feather, .json and .json.gz; the .feather path when none exists
    (where new data belongs).
    """
    stem = f"{pair.replace('/', '_').replace(':', '_')}-{timeframe}"
    candidates = [Path(datadir) / f"{stem}{suffix}" for suffix in SUFFIXES]
    return next((path for path in candidates if path.is_file()), candidates[0])


def ohlcv_to_frame(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """ccxt's `fetch_ohlcv` shape (`[ms, open, high, low, close, volume]` rows) as a frame."""
    if len(rows) == 0:
        return empty_candles()
    values = np.asarray(rows, dtype="float64")
    if values.ndim != 2 or values.shape[1] != len(CANDLE_COLUMNS):
        raise ValueError(f"expected rows of {len(CANDLE_COLUMNS)} numbers, got {values.shape}")
    frame = pd.DataFrame(values[:, 1:], columns=list(CANDLE_COLUMNS[1:]))
    frame.insert(0, "date", pd.to_datetime(values[:, 0].astype("int64"), unit="ms", utc=True))
    return clean_candles(frame)


def clean_candles(frame: pd.DataFrame) -> pd.DataFrame:
    """Our column order and dtypes, sorted by date, duplicate dates merged as Freqtrade does."""
    frame = frame.loc[:, list(CANDLE_COLUMNS)]
    frame = frame.astype({c: "float64" for c in CANDLE_COLUMNS[1:]})
    frame["date"] = pd.to_datetime(frame["date"], utc=True).dt.as_unit("ns")
    if not frame["date"].is_monotonic_increasing:
        frame = frame.sort_values("date", kind="stable")
    if not frame["date"].is_unique:
        frame = frame.groupby("date", as_index=False, sort=True).agg(_MERGE)
    return frame.reset_index(drop=True)


def load_candles(path: Path | str) -> pd.DataFrame:
    """Read one candle file (.feather, .json or .json.gz); a bad file is a ConfigError."""
    path = Path(path)
    try:
        if path.name.endswith(".feather"):
            return clean_candles(pd.read_feather(path))
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as handle:
            return ohlcv_to_frame(json.load(handle))
    except FileNotFoundError as exc:
        raise ConfigError(f"candle file {path} does not exist") from exc
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"candle file {path} is unreadable: {exc}") from exc


def fill_gaps(frame: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """Insert the missing candles: O=H=L=C=previous close, volume 0.

    Freqtrade's `ohlcv_fill_up_missing_data`: the candles are binned on the timeframe grid, so
    a row off the grid is merged into the candle it falls in.
    """
    step = pd.Timedelta(seconds=timeframe_to_seconds(timeframe))
    if len(frame) < 2 or bool((frame["date"].diff().iloc[1:] == step).all()):
        return frame
    filled = frame.resample(step, on="date").agg(_FILL)
    filled["close"] = filled["close"].ffill()
    for column in ("open", "high", "low"):
        filled[column] = filled[column].fillna(filled["close"])
    return filled.reset_index()


def trim_to(frame: pd.DataFrame, timerange: TimeRange | None) -> pd.DataFrame:
    """Candles whose open time lies in `timerange` (both ends inclusive, as Freqtrade trims)."""
    if timerange is None:
        return frame
    start, end = timerange
    keep = np.ones(len(frame), dtype=bool)
    if start is not None:
        keep &= (frame["date"] >= start).to_numpy()
    if end is not None:
        keep &= (frame["date"] <= end).to_numpy()
    return frame.loc[keep].reset_index(drop=True)


def load_pair_data(
    datadir: Path | str,
    pairs: Iterable[str],
    timeframe: str,
    timerange: TimeRange | None = None,
    *,
    fill_missing: bool = True,
) -> dict[str, pd.DataFrame]:
    """Candles of every pair, trimmed to `timerange`, then gaps filled (Freqtrade's order).

    A pair without a file, or with no candle in the range, is a ConfigError naming it.
    """
    frames: dict[str, pd.DataFrame] = {}
    for pair in pairs:
        path = candle_file(datadir, pair, timeframe)
        if not path.is_file():
            raise ConfigError(
                f"no {timeframe} candles for {pair} in {datadir}: expected {path.name} "
                f"(or .json / .json.gz)"
            )
        frame = trim_to(load_candles(path), timerange)
        if frame.empty:
            raise ConfigError(f"{path} has no candles in the requested time range")
        frames[pair] = fill_gaps(frame, timeframe) if fill_missing else frame
        logger.debug("loaded %d %s candles for %s from %s", len(frame), timeframe, pair, path)
    return frames
