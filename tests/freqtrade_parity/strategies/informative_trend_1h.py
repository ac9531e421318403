"""An EMA 9/21 crossover on 5m candles, taken only while the pair's own 1h trend agrees.

The 1h indicators come from an `@informative("1h")` method: the close above its 20-period EMA
and the RSI(14) below 70, merged into the 5m frame as `close_1h`, `ema20_1h` and `rsi_1h`.
"""

from pandas import DataFrame, Series

from freqtrade.strategy import IStrategy, informative


def rsi(close: Series, period: int) -> Series:
    change = close.diff()
    gain = change.clip(lower=0).rolling(period).mean()
    loss = (-change.clip(upper=0)).rolling(period).mean()
    return 100 - 100 / (1 + gain / loss)


class InformativeTrend1h(IStrategy):
    INTERFACE_VERSION = 3

    timeframe = "5m"
    minimal_roi = {"0": 0.03, "60": 0.015, "180": 0}
    stoploss = -0.04
    startup_candle_count = 30

    @informative("1h")
    def populate_indicators_1h(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["ema20"] = dataframe["close"].ewm(span=20, adjust=False).mean()
        dataframe["rsi"] = rsi(dataframe["close"], 14)
        return dataframe

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["ema_fast"] = dataframe["close"].ewm(span=9, adjust=False).mean()
        dataframe["ema_slow"] = dataframe["close"].ewm(span=21, adjust=False).mean()
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        fast, slow = dataframe["ema_fast"], dataframe["ema_slow"]
        crossed_up = (fast > slow) & (fast.shift(1) <= slow.shift(1))
        uptrend = (dataframe["close_1h"] > dataframe["ema20_1h"]) & (dataframe["rsi_1h"] < 70)
        dataframe.loc[crossed_up & uptrend & (dataframe["volume"] > 0), "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        fast, slow = dataframe["ema_fast"], dataframe["ema_slow"]
        crossed_down = (fast < slow) & (fast.shift(1) >= slow.shift(1))
        dataframe.loc[crossed_down, "exit_long"] = 1
        return dataframe
