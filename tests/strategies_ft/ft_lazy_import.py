# Imports inside methods, as many public strategies do, plus the runtime surface a strategy
# reads: Trade, self.wallets, self.config, pair locks and order_filled.
from datetime import datetime, timedelta

import talib.abstract as ta
from freqtrade.strategy import IStrategy, stoploss_from_open
from pandas import DataFrame


class FtLazyImport(IStrategy):
    timeframe = "5m"
    minimal_roi = {"0": 0.02}
    stoploss = -0.05
    use_custom_stoploss = True
    startup_candle_count = 20

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        self.seen: dict[str, list] = {"open_counts": [], "free": [], "fills": [],
                                      "stake_currency": []}

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["rsi"] < 40, "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["rsi"] > 70, "exit_long"] = 1
        return dataframe

    def custom_stoploss(self, pair: str, trade, current_time: datetime, current_rate: float,
                        current_profit: float, after_fill: bool, **kwargs) -> float | None:
        from freqtrade.persistence import Trade

        self.seen["open_counts"].append(len(Trade.get_trades_proxy(is_open=True)))
        if current_profit > 0.01:
            return stoploss_from_open(0.004, current_profit)
        return None

    def confirm_trade_entry(self, pair: str, order_type: str, amount: float, rate: float,
                            time_in_force: str, current_time: datetime, entry_tag, side: str,
                            **kwargs) -> bool:
        from freqtrade.persistence import Trade

        self.seen["free"].append((current_time,
                                  self.wallets.get_free(self.config["stake_currency"])))
        self.seen["stake_currency"].append(self.config["stake_currency"])
        return Trade.get_open_trade_count() < 2

    def order_filled(self, pair: str, trade, order, current_time: datetime, **kwargs) -> None:
        self.seen["fills"].append((pair, order.side))
        if order.ft_order_side == "sell" and order.safe_price < trade.open_rate:
            self.lock_pair(pair, current_time + timedelta(minutes=62), reason="after_loss")
