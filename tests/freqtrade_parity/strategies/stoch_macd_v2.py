"""A strategy in Freqtrade's interface version 2: buy/sell columns, populate_buy_trend and
populate_sell_trend, and the old sell_* names for the exit settings."""

import talib.abstract as ta
from pandas import DataFrame

import freqtrade.vendor.qtpylib.indicators as qtpylib
from freqtrade.strategy import IStrategy


class StochMacdV2(IStrategy):
    INTERFACE_VERSION = 2

    minimal_roi = {
        "0": 0.04,
        "20": 0.025,
        "60": 0.015,
        "150": 0.005,
    }

    stoploss = -0.05
    timeframe = "5m"

    use_sell_signal = True
    sell_profit_only = True
    sell_profit_offset = 0.002
    ignore_roi_if_buy_signal = False

    startup_candle_count = 40

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        stoch = ta.STOCHF(dataframe, fastk_period=14, fastd_period=3, fastd_matype=0)
        dataframe["fastk"] = stoch["fastk"]
        dataframe["fastd"] = stoch["fastd"]
        macd = ta.MACD(dataframe)
        dataframe["macd"] = macd["macd"]
        dataframe["macdsignal"] = macd["macdsignal"]
        dataframe["sma"] = ta.SMA(dataframe, timeperiod=30)
        dataframe["adx"] = ta.ADX(dataframe)
        return dataframe

    def populate_buy_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[
            (
                qtpylib.crossed_above(dataframe["fastk"], dataframe["fastd"])
                & (dataframe["fastd"] < 25)
                & (dataframe["macd"] > dataframe["macdsignal"] - 0.00000005)
                & (dataframe["adx"] > 20)
                & (dataframe["volume"] > 0)
            ),
            ["buy", "buy_tag"],
        ] = (1, "stoch_low")
        return dataframe

    def populate_sell_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[
            (
                qtpylib.crossed_below(dataframe["fastk"], dataframe["fastd"])
                & (dataframe["fastd"] > 75)
            )
            | (qtpylib.crossed_below(dataframe["close"], dataframe["sma"])),
            "sell",
        ] = 1
        return dataframe
