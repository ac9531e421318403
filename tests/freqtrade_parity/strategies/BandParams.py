"""Bollinger-band and EMA entries whose thresholds are hyperopt parameters.

The values in force come, in Freqtrade's order, from the parameter file beside this file
(BandParams.json), then buy_params / sell_params, then each parameter's default; `load=False`
keeps a parameter at its default whatever the others say.
"""

import talib.abstract as ta
from pandas import DataFrame

import freqtrade.vendor.qtpylib.indicators as qtpylib
from freqtrade.strategy import (
    BooleanParameter,
    CategoricalParameter,
    DecimalParameter,
    IntParameter,
    IStrategy,
)


class BandParams(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"

    # Replaced by the parameter file's "roi", "stoploss" and "trailing".
    minimal_roi = {"0": 0.05, "60": 0.03}
    stoploss = -0.10
    trailing_stop = False

    startup_candle_count = 50

    buy_params = {
        "buy_rsi": 33,
        "buy_trigger": "bb_lower",
        "buy_ema_fast": 7,
    }
    sell_params = {
        "sell_rsi": 68,
        "sell_on_upper_band": False,
    }

    buy_rsi = IntParameter(20, 45, default=30, space="buy")
    buy_bb_factor = DecimalParameter(0.970, 1.010, decimals=3, default=0.985, space="buy")
    buy_trigger = CategoricalParameter(["bb_lower", "ema_cross"], default="ema_cross", space="buy")
    buy_volume_check = BooleanParameter(default=True, space="buy")
    buy_ema_fast = IntParameter(5, 15, default=9, space="buy", load=False)
    sell_rsi = IntParameter(60, 85, default=75, space="sell")
    sell_on_upper_band = BooleanParameter(default=True, space="sell")

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        bands = qtpylib.bollinger_bands(dataframe["close"], window=20, stds=2)
        dataframe["bb_lower"] = bands["lower"]
        dataframe["bb_upper"] = bands["upper"]
        dataframe["ema_fast"] = ta.EMA(dataframe, timeperiod=self.buy_ema_fast.value)
        dataframe["ema_slow"] = ta.EMA(dataframe, timeperiod=30)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        conditions = dataframe["rsi"] < self.buy_rsi.value
        if self.buy_trigger.value == "bb_lower":
            conditions &= dataframe["close"] < dataframe["bb_lower"] * self.buy_bb_factor.value
        else:
            conditions &= qtpylib.crossed_above(dataframe["ema_fast"], dataframe["ema_slow"])
        if self.buy_volume_check.value:
            conditions &= dataframe["volume"] > 0
        dataframe.loc[conditions, "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        conditions = qtpylib.crossed_above(dataframe["rsi"], self.sell_rsi.value)
        if self.sell_on_upper_band.value:
            conditions |= dataframe["close"] > dataframe["bb_upper"]
        dataframe.loc[conditions, "exit_long"] = 1
        return dataframe
