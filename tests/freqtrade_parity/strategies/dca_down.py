"""Averaging down: enter below the lower band, add the first entry's stake again each time
the trade is another 2% down, up to twice; ROI and a wide stop (position adjustment)."""

from datetime import datetime

from pandas import DataFrame

from freqtrade.persistence import Trade
from freqtrade.strategy import IStrategy


class DcaDown(IStrategy):
    INTERFACE_VERSION = 3

    timeframe = "5m"
    minimal_roi = {"0": 0.02, "120": 0.01}
    stoploss = -0.12
    startup_candle_count = 30
    position_adjustment_enable = True
    max_entry_position_adjustment = 2

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        mean = dataframe["close"].rolling(20).mean()
        dataframe["lower"] = mean - 2 * dataframe["close"].rolling(20).std()
        dataframe["upper"] = mean + 2 * dataframe["close"].rolling(20).std()
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[(dataframe["close"] < dataframe["lower"]) & (dataframe["volume"] > 0),
                      "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["close"] > dataframe["upper"], "exit_long"] = 1
        return dataframe

    def adjust_trade_position(self, trade: Trade, current_time: datetime,
                              current_rate: float, current_profit: float,
                              min_stake: float | None, max_stake: float,
                              current_entry_rate: float, current_exit_rate: float,
                              current_entry_profit: float, current_exit_profit: float,
                              **kwargs):
        entries = trade.select_filled_orders(trade.entry_side)
        if current_profit > -0.02 * len(entries):
            return None
        first = entries[0]
        return first.safe_filled * first.safe_price, f"dca{len(entries)}"
