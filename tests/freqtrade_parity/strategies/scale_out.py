"""Scaling out: enter below the lower band, sell a third of the stake at 1% profit and
another third at 2%, the rest by ROI, exit signal or stop (partial exits)."""

from datetime import datetime

from pandas import DataFrame

from freqtrade.persistence import Trade
from freqtrade.strategy import IStrategy


class ScaleOut(IStrategy):
    INTERFACE_VERSION = 3

    timeframe = "5m"
    minimal_roi = {"0": 0.04}
    stoploss = -0.05
    startup_candle_count = 30
    position_adjustment_enable = True

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        mean = dataframe["close"].rolling(20).mean()
        dataframe["lower"] = mean - 2 * dataframe["close"].rolling(20).std()
        dataframe["upper"] = mean + 2.5 * dataframe["close"].rolling(20).std()
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
        exits = trade.nr_of_successful_exits
        if exits == 0 and current_profit > 0.01:
            return -(trade.stake_amount / 3), "third1"
        if exits == 1 and current_profit > 0.02:
            return -(trade.stake_amount / 2), "third2"
        return None
