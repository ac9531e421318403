"""RestartChurn: a strategy for the restart drills that trades all the time.

Signals are a deterministic function of the candle's open time and the pair (no indicators), so
every pair enters and exits every few candles and a restarted bot decides exactly as the killed
one would have. Entry and exit limits sit a little away from the price on some candles, so orders
rest on the exchange, fill later or time out: a kill often finds orders open, not only settled
trades.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any, ClassVar

import pandas as pd

from engine.strategy import IStrategy

CYCLE = 5  # candles: enter on phase 0, exit on phase 2 (or on the ROI / stop before that)
PASSIVE = 0.003  # how far a resting limit sits from the price


def _salt(pair: str) -> int:
    return zlib.crc32(pair.encode())


def _phase(dates: pd.Series, pair: str) -> pd.Series:
    candles = dates.astype("int64") // 300_000_000_000
    return (candles + _salt(pair)) % CYCLE


def _resting(when: datetime, pair: str) -> bool:
    """Every other candle, per pair: whether this order waits instead of filling at once."""
    return (int(when.timestamp()) // 300 + _salt(pair)) % 2 == 0


class RestartChurn(IStrategy):
    timeframe = "5m"
    minimal_roi: ClassVar[dict[str, float]] = {"0": 0.01}
    stoploss = -0.02
    startup_candle_count = 0
    process_only_new_candles = True
    order_types: ClassVar[dict[str, Any]] = {
        "entry": "limit", "exit": "limit", "force_exit": "market", "stoploss": "market",
        "stoploss_on_exchange": False,
    }
    unfilledtimeout: ClassVar[dict[str, Any]] = {"entry": 10, "exit": 10, "unit": "minutes"}

    def populate_indicators(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe.assign(phase=_phase(dataframe["date"], metadata["pair"]))

    def populate_entry_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe.assign(enter_long=(dataframe["phase"] == 0).astype("int64"))

    def populate_exit_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe.assign(exit_long=(dataframe["phase"] == 2).astype("int64"))

    def custom_entry_price(self, pair: str, trade: Any, current_time: datetime,
                           proposed_rate: float, entry_tag: str | None, side: str,
                           **kwargs: Any) -> float:
        return proposed_rate * (1 - PASSIVE) if _resting(current_time, pair) else proposed_rate

    def custom_exit_price(self, pair: str, trade: Any, current_time: datetime,
                          proposed_rate: float, current_profit: float, exit_tag: str | None,
                          **kwargs: Any) -> float:
        return proposed_rate * (1 + PASSIVE) if _resting(current_time, pair) else proposed_rate
