# A Freqtrade-form strategy that prices and confirms its entries on the order book, as
# Freqtrade's documentation shows `self.dp.orderbook` in callbacks.
from datetime import datetime

from freqtrade.strategy import IStrategy
from pandas import DataFrame


class FtOrderbook(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"
    minimal_roi = {"0": 1.0}
    stoploss = -0.2
    startup_candle_count = 10
    max_spread = 0.01  # of the best ask
    custom_info: dict = {}

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def custom_entry_price(self, pair: str, trade, current_time: datetime, proposed_rate: float,
                           entry_tag, side: str, **kwargs) -> float:
        book = self.dp.orderbook(pair, 5)
        # One level under the best bid: queue behind the book rather than at its top.
        return book["bids"][1][0]

    def confirm_trade_entry(self, pair: str, order_type: str, amount: float, rate: float,
                            time_in_force: str, current_time: datetime, entry_tag, side: str,
                            **kwargs) -> bool:
        book = self.dp.orderbook(pair, 5)
        best_bid, best_ask = book["bids"][0][0], book["asks"][0][0]
        self.custom_info[pair] = {"levels": (len(book["bids"]), len(book["asks"])),
                                  "best_bid": best_bid, "rate": rate}
        return (best_ask - best_bid) / best_ask <= self.max_spread
