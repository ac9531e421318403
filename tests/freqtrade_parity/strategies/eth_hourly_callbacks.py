"""EMA crossovers on 5m with ETH/BTC's 1h trend merged in by `@informative("1h", "ETH/{stake}")`,
and two callbacks that read `self.dp`: the entry is confirmed only while the pair's last
closed 1h candle closed above its open, and a trade in profit exits once the last analysed 5m
candle's RSI is above 65.
"""

from datetime import datetime

from freqtrade.strategy import IStrategy, informative
from pandas import DataFrame, Series


def rsi(close: Series, period: int) -> Series:
    change = close.diff()
    gain = change.clip(lower=0).rolling(period).mean()
    loss = (-change.clip(upper=0)).rolling(period).mean()
    return 100 - 100 / (1 + gain / loss)


class EthHourlyCallbacks(IStrategy):
    INTERFACE_VERSION = 3

    timeframe = "5m"
    minimal_roi = {"0": 0.04, "120": 0.01}
    stoploss = -0.05
    startup_candle_count = 30

    def informative_pairs(self):
        return [(pair, "1h") for pair in self.dp.current_whitelist()]

    @informative("1h", "ETH/{stake}")
    def populate_indicators_eth_1h(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["ema_fast"] = dataframe["close"].ewm(span=6, adjust=False).mean()
        dataframe["ema_slow"] = dataframe["close"].ewm(span=18, adjust=False).mean()
        return dataframe

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["ema_fast"] = dataframe["close"].ewm(span=9, adjust=False).mean()
        dataframe["ema_slow"] = dataframe["close"].ewm(span=21, adjust=False).mean()
        dataframe["rsi"] = rsi(dataframe["close"], 14)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        fast, slow = dataframe["ema_fast"], dataframe["ema_slow"]
        crossed_up = (fast > slow) & (fast.shift(1) <= slow.shift(1))
        eth_up = dataframe["eth_btc_ema_fast_1h"] > dataframe["eth_btc_ema_slow_1h"]
        dataframe.loc[crossed_up & eth_up & (dataframe["volume"] > 0), "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        fast, slow = dataframe["ema_fast"], dataframe["ema_slow"]
        dataframe.loc[(fast < slow) & (fast.shift(1) >= slow.shift(1)), "exit_long"] = 1
        return dataframe

    def confirm_trade_entry(self, pair: str, order_type: str, amount: float, rate: float,
                            time_in_force: str, current_time: datetime, entry_tag, side: str,
                            **kwargs) -> bool:
        hourly = self.dp.get_pair_dataframe(pair, "1h")
        if hourly.empty:
            return False
        last = hourly.iloc[-1]
        return bool(last["close"] > last["open"])

    def custom_exit(self, pair: str, trade, current_time: datetime, current_rate: float,
                    current_profit: float, **kwargs):
        dataframe, _ = self.dp.get_analyzed_dataframe(pair, self.timeframe)
        if dataframe.empty or current_profit <= 0:
            return None
        if dataframe.iloc[-1]["rsi"] > 65:
            return "rsi_high"
        return None
