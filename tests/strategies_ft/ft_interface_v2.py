# Freqtrade's interface version 2: buy/sell names, columns and settings.
import talib.abstract as ta
from freqtrade.strategy.interface import IStrategy
from pandas import DataFrame


class FtInterfaceV2(IStrategy):
    INTERFACE_VERSION = 2
    timeframe = "5m"
    minimal_roi = {"0": 0.012, "60": 0.004}
    stoploss = -0.025
    startup_candle_count = 30
    use_sell_signal = True
    sell_profit_only = True
    sell_profit_offset = 0.001
    ignore_roi_if_buy_signal = True
    order_types = {"buy": "limit", "sell": "limit", "stoploss": "limit",
                   "stoploss_on_exchange": False}
    unfilledtimeout = {"buy": 10, "sell": 10}

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        dataframe["sma"] = ta.SMA(dataframe, timeperiod=20)
        return dataframe

    def populate_buy_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[(dataframe["rsi"] < 35) & (dataframe["close"] < dataframe["sma"]),
                      ["buy", "buy_tag"]] = (1, "rsi_dip")
        return dataframe

    def populate_sell_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["rsi"] > 60, "sell"] = 1
        return dataframe

    def custom_sell(self, pair: str, trade, current_time, current_rate: float,
                    current_profit: float, **kwargs):
        if current_profit < -0.015 and (current_time - trade.open_date_utc).total_seconds() > 3600:
            return "gave_up"
        return None
