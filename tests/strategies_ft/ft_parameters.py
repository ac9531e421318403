# Parameters in Freqtrade's form, filled from the class, buy_params/sell_params and
# ft_parameters.json beside this file.
import talib.abstract as ta
from freqtrade.strategy import (
    BooleanParameter,
    CategoricalParameter,
    DecimalParameter,
    IntParameter,
    IStrategy,
    RealParameter,
)
from pandas import DataFrame


class FtParameters(IStrategy):
    timeframe = "5m"
    minimal_roi = {"0": 0.5}
    stoploss = -0.30
    startup_candle_count = 30

    buy_params = {"buy_rsi": 40, "buy_ema": 12}
    sell_params = {"sell_rsi": 70}

    buy_rsi = IntParameter(10, 50, default=30, space="buy")
    buy_ema = IntParameter(5, 30, default=9)
    buy_volume_factor = DecimalParameter(0.0, 2.0, default=0.5, decimals=1)
    buy_trend = CategoricalParameter(["ema", "none"], default="none")
    sell_rsi = IntParameter(50, 90, default=80, space="sell")
    sell_enabled = BooleanParameter(default=True, space="sell")
    sell_margin = RealParameter(0.0, 1.0, default=0.25)
    protection_cooldown = IntParameter(1, 10, default=2, load=False)

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        for period in self.buy_ema.range:
            dataframe[f"ema_{period}"] = ta.EMA(dataframe, timeperiod=period)
        dataframe["volume_mean"] = dataframe["volume"].rolling(20).mean()
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        wanted = (dataframe["rsi"] < self.buy_rsi.value) & (
            dataframe["volume"] > dataframe["volume_mean"] * self.buy_volume_factor.value)
        if self.buy_trend.value == "ema":
            wanted &= dataframe["close"] < dataframe[f"ema_{self.buy_ema.value}"]
        dataframe.loc[wanted, "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        if self.sell_enabled.value:
            dataframe.loc[dataframe["rsi"] > self.sell_rsi.value, "exit_long"] = 1
        return dataframe
