"""Mean reversion inside Bollinger bands, confirmed by MACD and an EMA trend filter.

TA-Lib (through talib.abstract) for RSI, BBANDS, MACD and EMA, qtpylib for the typical-price
bands and the crossings; ROI table, a trailing stop that arms once 2% is reached, and
protections (which a backtest applies only with enable_protections).
"""

from functools import reduce

import talib.abstract as ta
from pandas import DataFrame

import freqtrade.vendor.qtpylib.indicators as qtpylib
from freqtrade.strategy import IStrategy


class TalibBands(IStrategy):
    INTERFACE_VERSION = 3

    timeframe = "5m"
    can_short = False

    minimal_roi = {"0": 0.03, "30": 0.02, "90": 0.01, "240": 0}

    stoploss = -0.06

    trailing_stop = True
    trailing_stop_positive = 0.01
    trailing_stop_positive_offset = 0.02
    trailing_only_offset_is_reached = True

    process_only_new_candles = True
    use_exit_signal = True
    exit_profit_only = False
    ignore_roi_if_entry_signal = False

    startup_candle_count: int = 60

    @property
    def protections(self):
        return [
            {"method": "CooldownPeriod", "stop_duration_candles": 3},
            {
                "method": "StoplossGuard",
                "lookback_period_candles": 24,
                "trade_limit": 2,
                "stop_duration_candles": 12,
                "only_per_pair": False,
            },
        ]

    order_types = {
        "entry": "limit",
        "exit": "limit",
        "stoploss": "market",
        "stoploss_on_exchange": False,
    }

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)

        bands = ta.BBANDS(dataframe, timeperiod=20, nbdevup=2.0, nbdevdn=2.0)
        dataframe["bb_lowerband"] = bands["lowerband"]
        dataframe["bb_middleband"] = bands["middleband"]
        dataframe["bb_upperband"] = bands["upperband"]

        typical = qtpylib.bollinger_bands(qtpylib.typical_price(dataframe), window=20, stds=2)
        dataframe["tp_lower"] = typical["lower"]
        dataframe["tp_mid"] = typical["mid"]

        macd = ta.MACD(dataframe, fastperiod=12, slowperiod=26, signalperiod=9)
        dataframe["macd"] = macd["macd"]
        dataframe["macdsignal"] = macd["macdsignal"]
        dataframe["macdhist"] = macd["macdhist"]

        dataframe["ema_fast"] = ta.EMA(dataframe, timeperiod=9)
        dataframe["ema_slow"] = ta.EMA(dataframe, timeperiod=50)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        conditions = [
            dataframe["rsi"] < 45,
            dataframe["close"] < dataframe["tp_mid"],
            dataframe["low"] < dataframe["bb_middleband"],
            qtpylib.crossed_above(dataframe["macd"], dataframe["macdsignal"]),
            dataframe["volume"] > 0,
        ]
        dataframe.loc[reduce(lambda x, y: x & y, conditions), ["enter_long", "enter_tag"]] = (
            1,
            "macd_cross_low",
        )

        rebound = (
            qtpylib.crossed_above(dataframe["close"], dataframe["bb_lowerband"])
            & (dataframe["ema_fast"] > dataframe["ema_slow"] * 0.99)
            & (dataframe["volume"] > 0)
        )
        dataframe.loc[rebound, ["enter_long", "enter_tag"]] = (1, "band_rebound")
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[
            (
                qtpylib.crossed_above(dataframe["rsi"], 70)
                | (
                    qtpylib.crossed_below(dataframe["macd"], dataframe["macdsignal"])
                    & (dataframe["close"] > dataframe["bb_upperband"])
                )
            )
            & (dataframe["volume"] > 0),
            "exit_long",
        ] = 1
        return dataframe
