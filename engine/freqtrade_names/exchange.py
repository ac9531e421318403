"""`freqtrade.exchange`: the timeframe helpers strategies call (marketdata/timeframe.py)."""

from marketdata.timeframe import (
    timeframe_to_minutes,
    timeframe_to_msecs,
    timeframe_to_next_date,
    timeframe_to_prev_date,
    timeframe_to_seconds,
)

__all__ = ["timeframe_to_minutes", "timeframe_to_msecs", "timeframe_to_next_date",
           "timeframe_to_prev_date", "timeframe_to_seconds"]

NOT_PROVIDED = {"Exchange": "a strategy reaches the exchange through self.dp, never directly"}
