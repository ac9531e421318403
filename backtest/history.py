"""A backtest's candles by (pair, timeframe), read from the data directory as Freqtrade's
backtest reads them: `PAIR-TF` files, never resampled from another timeframe.

The traded pairs' candles are loaded up front (`backtest.run.load_data`). Any other pair or
timeframe, informative ones included, is read on first use, trimmed like Freqtrade's
`dp.historic_ohlcv`: the time range with `startup_candle_count` candles of that timeframe
before its start, gaps filled. A missing file is a ConfigError naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import pandas as pd

from core.errors import ConfigError
from engine.analysis import Analyzer
from engine.dataprovider import RunMode
from marketdata.files import TimeRange, load_pair_data
from marketdata.timeframe import timeframe_to_timedelta


class BacktestHistory:
    def __init__(self, frames: Mapping[str, pd.DataFrame], timeframe: str, *,
                 datadir: Path | str | None = None, timerange: TimeRange | None = None,
                 startup_candles: int = 0) -> None:
        self._loaded: dict[tuple[str, str], pd.DataFrame] = {
            (pair, timeframe): frame for pair, frame in frames.items()}
        self._datadir = datadir
        self._timerange = timerange
        self._startup = startup_candles
        # A file the strategy asked for that is not there: raised again after the strategy's
        # fence has turned it into a failed analysis, so the message names the file.
        self.missing: ConfigError | None = None

    def candles(self, pair: str, timeframe: str) -> pd.DataFrame:
        key = (pair, timeframe)
        frame = self._loaded.get(key)
        if frame is None:
            try:
                frame = self._load(pair, timeframe)
            except ConfigError as exc:
                self.missing = self.missing or exc
                raise
            self._loaded[key] = frame
        return frame

    def available(self) -> list[tuple[str, str]]:
        return list(self._loaded)

    def _load(self, pair: str, timeframe: str) -> pd.DataFrame:
        if self._datadir is None:
            raise ConfigError(f"no {timeframe} candles for {pair}: this backtest was given "
                              "no data directory to read them from")
        timerange = self._timerange
        if timerange is not None and timerange[0] is not None:
            warmup = timeframe_to_timedelta(timeframe) * self._startup
            timerange = (timerange[0] - warmup, timerange[1])
        return load_pair_data(self._datadir, [pair], timeframe, timerange)[pair]


class BacktestData:
    """The backtest's `CandleData` for `self.dp`: the history and the analysed frames."""

    def __init__(self, history: BacktestHistory, analyzer: Analyzer | None) -> None:
        self._history = history
        self._analyzer = analyzer

    @property
    def runmode(self) -> RunMode:
        return RunMode.BACKTEST

    def candles(self, pair: str, timeframe: str) -> pd.DataFrame:
        return self._history.candles(pair, timeframe)

    def analyzed(self, pair: str) -> tuple[pd.DataFrame | None, datetime | None]:
        return (None, None) if self._analyzer is None else self._analyzer.analyzed(pair)

    def available(self) -> list[tuple[str, str]]:
        return self._history.available()
