"""`freqtrade.strategy.interface`: the strategy base class, the older import path of IStrategy."""

from engine.freqtrade_names.enums import ExitCheckTuple, ExitType, SignalDirection, TradingMode
from engine.freqtrade_names.persistence import Order, Trade
from engine.strategy import IStrategy
from marketdata.timeframe import (
    timeframe_to_minutes,
    timeframe_to_next_date,
    timeframe_to_seconds,
)

__all__ = ["ExitCheckTuple", "ExitType", "IStrategy", "Order", "SignalDirection", "Trade",
           "TradingMode", "timeframe_to_minutes", "timeframe_to_next_date",
           "timeframe_to_seconds"]
