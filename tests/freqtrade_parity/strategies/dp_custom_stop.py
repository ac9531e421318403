"""Exits that read the analyzed candles through the DataProvider: an ATR stop and profit
locks from the entry price in custom_stoploss, and RSI / time based exits in custom_exit."""

from datetime import datetime, timedelta

import talib.abstract as ta
from pandas import DataFrame

import freqtrade.vendor.qtpylib.indicators as qtpylib
from freqtrade.persistence import Trade
from freqtrade.strategy import IStrategy, stoploss_from_open


class DpCustomStop(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"

    minimal_roi = {"0": 0.06}
    stoploss = -0.08
    use_custom_stoploss = True
    use_exit_signal = True

    startup_candle_count = 30

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        dataframe["atr"] = ta.ATR(dataframe, timeperiod=14)
        dataframe["ema_fast"] = ta.EMA(dataframe, timeperiod=8)
        dataframe["ema_slow"] = ta.EMA(dataframe, timeperiod=21)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[
            qtpylib.crossed_above(dataframe["ema_fast"], dataframe["ema_slow"])
            & (dataframe["rsi"] < 62)
            & (dataframe["volume"] > 0),
            "enter_long",
        ] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["exit_long"] = 0
        return dataframe

    def custom_stoploss(
        self,
        pair: str,
        trade: Trade,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        after_fill: bool,
        **kwargs,
    ) -> float | None:
        if current_profit > 0.03:
            return stoploss_from_open(
                0.015, current_profit, is_short=trade.is_short, leverage=trade.leverage
            )
        if current_profit > 0.012:
            return stoploss_from_open(
                0.002, current_profit, is_short=trade.is_short, leverage=trade.leverage
            )
        dataframe, _ = self.dp.get_analyzed_dataframe(pair, self.timeframe)
        if dataframe.empty:
            return None
        last = dataframe.iloc[-1].squeeze()
        return -min(8 * last["atr"] / current_rate, 0.08)

    def custom_exit(
        self,
        pair: str,
        trade: Trade,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        **kwargs,
    ) -> str | None:
        dataframe, _ = self.dp.get_analyzed_dataframe(pair, self.timeframe)
        last = dataframe.iloc[-1].squeeze()
        if current_profit > 0.002 and last["rsi"] > 70:
            return "rsi_high"
        if current_time - trade.open_date_utc > timedelta(hours=3) and current_profit < -0.01:
            return "stale_loser"
        return None
