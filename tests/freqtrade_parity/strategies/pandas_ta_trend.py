# A Freqtrade user's strategy on pandas-ta (Freqtrade ships it as ft-pandas-ta): its indicator
# functions and its DataFrame accessor, with a ROI table and a fixed stoploss.
from functools import reduce

import pandas_ta as pta
from pandas import DataFrame

from freqtrade.strategy import IStrategy


class PandasTaTrend(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"
    minimal_roi = {"0": 0.03, "40": 0.015, "120": 0.005}
    stoploss = -0.04
    startup_candle_count = 60

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = pta.rsi(dataframe["close"], length=14)
        dataframe["ema_fast"] = pta.ema(dataframe["close"], length=12)
        dataframe["ema_slow"] = dataframe.ta.ema(length=48)
        macd = pta.macd(dataframe["close"], fast=12, slow=26, signal=9)
        dataframe["macd_hist"] = macd["MACDh_12_26_9"]
        bands = pta.bbands(dataframe["close"], length=20, std=2.0)
        dataframe["bb_lower"] = bands["BBL_20_2.0"]
        dataframe["bb_upper"] = bands["BBU_20_2.0"]
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        conditions = [
            dataframe["ema_fast"] > dataframe["ema_slow"],
            dataframe["macd_hist"] > 0,
            dataframe["macd_hist"].shift(1) <= 0,
            dataframe["rsi"] < 65,
            dataframe["volume"] > 0,
        ]
        dataframe.loc[reduce(lambda a, b: a & b, conditions), ["enter_long", "enter_tag"]] = (
            1, "macd_turn")
        dataframe.loc[(dataframe["close"] < dataframe["bb_lower"]) & (dataframe["rsi"] < 28),
                      ["enter_long", "enter_tag"]] = (1, "band_dip")
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[(dataframe["close"] > dataframe["bb_upper"]) & (dataframe["rsi"] > 72),
                      "exit_long"] = 1
        return dataframe
