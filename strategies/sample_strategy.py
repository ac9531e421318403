"""SampleStrategy: an EMA crossover with an RSI filter, in plain pandas.

The default strategy of the offline demo, and a template for your own (see docs/strategies.md).

* Indicators: a fast (9) and a slow (21) exponential moving average of the close, and the
  14-candle RSI with Wilder's smoothing.
* Entry: the fast EMA crosses above the slow one, and the RSI is below 65, so the bot does not
  buy a move that is already overbought. Candles without volume never enter.
* Exit: the fast EMA crosses back below the slow one. The ROI table and the stoploss close
  trades too: take 4% at once, 2% after an hour, any profit after two hours; cut at -5%.

Only closed candles are ever passed in, and a signal is read from the last one, so comparing a
row with the previous one (`shift(1)`) is the only way to look at history: there is no future.
"""

from __future__ import annotations

import pandas as pd

from engine.strategy import IStrategy

EMA_FAST = 9
EMA_SLOW = 21
RSI_PERIOD = 14
RSI_MAX = 65.0


def ema(series: pd.Series, period: int) -> pd.Series:
    """Exponential moving average, seeded with the first value (alpha = 2 / (period + 1))."""
    return series.ewm(span=period, adjust=False).mean()


def rsi(close: pd.Series, period: int) -> pd.Series:
    """Relative strength index (0-100) with Wilder's smoothing (alpha = 1 / period).

    NaN until `period` price changes have been seen; 100 when there were no losses.
    """
    change = close.diff()
    gain = change.clip(lower=0.0)
    loss = -change.clip(upper=0.0)
    average_gain = gain.ewm(alpha=1.0 / period, adjust=False, min_periods=period).mean()
    average_loss = loss.ewm(alpha=1.0 / period, adjust=False, min_periods=period).mean()
    return 100.0 - 100.0 / (1.0 + average_gain / average_loss)


class SampleStrategy(IStrategy):
    INTERFACE_VERSION = 3

    timeframe = "5m"
    minimal_roi = {"0": 0.04, "60": 0.02, "120": 0}
    stoploss = -0.05
    trailing_stop = False

    process_only_new_candles = True
    use_exit_signal = True
    exit_profit_only = False
    # The slow EMA needs about this many candles before its value settles.
    startup_candle_count = 30

    order_types = {
        "entry": "limit",
        "exit": "limit",
        "stoploss": "market",
        "stoploss_on_exchange": False,
    }

    def populate_indicators(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        dataframe["ema_fast"] = ema(dataframe["close"], EMA_FAST)
        dataframe["ema_slow"] = ema(dataframe["close"], EMA_SLOW)
        dataframe["rsi"] = rsi(dataframe["close"], RSI_PERIOD)
        return dataframe

    def populate_entry_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        fast, slow = dataframe["ema_fast"], dataframe["ema_slow"]
        crossed_up = (fast > slow) & (fast.shift(1) <= slow.shift(1))
        enter = crossed_up & (dataframe["rsi"] < RSI_MAX) & (dataframe["volume"] > 0)
        dataframe.loc[enter, "enter_long"] = 1
        dataframe.loc[enter, "enter_tag"] = "ema_cross"
        return dataframe

    def populate_exit_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        fast, slow = dataframe["ema_fast"], dataframe["ema_slow"]
        crossed_down = (fast < slow) & (fast.shift(1) >= slow.shift(1))
        dataframe.loc[crossed_down, "exit_long"] = 1
        return dataframe
