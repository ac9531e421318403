"""AlwaysIn: a strategy for the live drills of the real bot.py that wants a position at all
times (an entry signal on every candle), exits only by its stoploss, and trades at market."""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd

from engine.strategy import IStrategy


class AlwaysIn(IStrategy):
    timeframe = "5m"
    minimal_roi: ClassVar[dict[str, float]] = {"0": 100.0}
    stoploss = -0.03
    startup_candle_count = 0
    order_types: ClassVar[dict[str, Any]] = {
        "entry": "market", "exit": "market", "stoploss": "market", "stoploss_on_exchange": False,
    }

    def populate_indicators(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe.assign(enter_long=1)

    def populate_exit_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe.assign(exit_long=0)
