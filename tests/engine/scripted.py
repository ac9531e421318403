"""A strategy whose signals are a script: enter and exit at given candle times."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import pandas as pd

from engine.strategy import IStrategy


class Scripted(IStrategy):
    timeframe = "5m"
    minimal_roi: ClassVar[dict[str, float]] = {"0": 100.0}
    stoploss = -0.99
    startup_candle_count = 0
    order_types: ClassVar[dict[str, Any]] = {
        "entry": "limit", "exit": "limit", "stoploss": "limit", "stoploss_on_exchange": False,
    }

    def __init__(self, enter: dict[str, list[datetime]] | None = None,
                 exit_: dict[str, list[datetime]] | None = None, **attrs: Any) -> None:
        super().__init__()
        self.enter_at = {p: pd.DatetimeIndex(t) for p, t in (enter or {}).items()}
        self.exit_at = {p: pd.DatetimeIndex(t) for p, t in (exit_ or {}).items()}
        for name, value in attrs.items():
            setattr(self, name, value)

    def populate_indicators(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe

    def _flag(self, dataframe: pd.DataFrame, times: dict[str, pd.DatetimeIndex],
              pair: str) -> pd.Series:
        wanted = times.get(pair, pd.DatetimeIndex([], tz="UTC"))
        return dataframe["date"].isin(wanted).astype("int64")

    def populate_entry_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe.assign(enter_long=self._flag(dataframe, self.enter_at, metadata["pair"]))

    def populate_exit_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe.assign(exit_long=self._flag(dataframe, self.exit_at, metadata["pair"]))
