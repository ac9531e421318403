"""RSI dips on BTC-quoted alts, bought only while ETH/BTC's own 1h trend is up.

ETH/BTC is an informative pair (`informative_pairs()`), not traded: its 1h candles come from
`self.dp`, get an EMA 8/21 trend, and are merged into each alt's 5m frame with
`merge_informative_pair` as `ema_fast_1h` and `ema_slow_1h`.
"""

from pandas import DataFrame, Series

from freqtrade.strategy import IStrategy, merge_informative_pair


def rsi(close: Series, period: int) -> Series:
    change = close.diff()
    gain = change.clip(lower=0).rolling(period).mean()
    loss = (-change.clip(upper=0)).rolling(period).mean()
    return 100 - 100 / (1 + gain / loss)


class EthTrendFilter(IStrategy):
    INTERFACE_VERSION = 3

    timeframe = "5m"
    informative_timeframe = "1h"
    minimal_roi = {"0": 0.025, "90": 0.01, "240": 0}
    stoploss = -0.05
    startup_candle_count = 30

    def informative_pairs(self):
        return [("ETH/BTC", self.informative_timeframe)]

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        eth = self.dp.get_pair_dataframe(pair="ETH/BTC", timeframe=self.informative_timeframe)
        eth["ema_fast"] = eth["close"].ewm(span=8, adjust=False).mean()
        eth["ema_slow"] = eth["close"].ewm(span=21, adjust=False).mean()
        dataframe = merge_informative_pair(dataframe, eth, self.timeframe,
                                           self.informative_timeframe, ffill=True)
        dataframe["rsi"] = rsi(dataframe["close"], 14)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        eth_up = dataframe["ema_fast_1h"] > dataframe["ema_slow_1h"]
        dataframe.loc[(dataframe["rsi"] < 30) & eth_up & (dataframe["volume"] > 0),
                      "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["rsi"] > 70, "exit_long"] = 1
        return dataframe
