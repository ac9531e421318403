# FtInterfaceV2 written with Freqtrade's interface-3 names: it must trade exactly the same.
import talib.abstract as ta
from freqtrade.strategy import IStrategy
from pandas import DataFrame


class FtInterfaceV3(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"
    minimal_roi = {"0": 0.012, "60": 0.004}
    stoploss = -0.025
    startup_candle_count = 30
    use_exit_signal = True
    exit_profit_only = True
    exit_profit_offset = 0.001
    ignore_roi_if_entry_signal = True
    order_types = {"entry": "limit", "exit": "limit", "stoploss": "limit",
                   "stoploss_on_exchange": False}
    unfilledtimeout = {"entry": 10, "exit": 10}

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        dataframe["sma"] = ta.SMA(dataframe, timeperiod=20)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[(dataframe["rsi"] < 35) & (dataframe["close"] < dataframe["sma"]),
                      ["enter_long", "enter_tag"]] = (1, "rsi_dip")
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["rsi"] > 60, "exit_long"] = 1
        return dataframe

    def custom_exit(self, pair: str, trade, current_time, current_rate: float,
                    current_profit: float, **kwargs):
        if current_profit < -0.015 and (current_time - trade.open_date_utc).total_seconds() > 3600:
            return "gave_up"
        return None
