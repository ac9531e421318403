"""Frequent entries and quick exits, so that with one slot and two pairs a trade often ends
inside a candle while the other pair waits with an entry signal (for --timeframe-detail)."""

import talib.abstract as ta
from pandas import DataFrame

from freqtrade.strategy import IStrategy


class DetailChurn(IStrategy):
    INTERFACE_VERSION = 3

    timeframe = "5m"
    minimal_roi = {"0": 0.004, "20": 0.002}
    stoploss = -0.008
    trailing_stop = True
    trailing_stop_positive = 0.002
    trailing_stop_positive_offset = 0.003
    trailing_only_offset_is_reached = True
    startup_candle_count = 20

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=7)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[(dataframe["rsi"] < 50) & (dataframe["volume"] > 0), "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["rsi"] > 75, "exit_long"] = 1
        return dataframe
