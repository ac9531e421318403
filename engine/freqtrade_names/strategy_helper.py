"""`freqtrade.strategy.strategy_helper`: the stoploss helpers, and `merge_informative_pair`
from engine.informative.

The helpers take Freqtrade 2026.9's arguments and give its results. tradepilot trades spot,
long only, so `is_short=True` is refused (ValueError) rather than computed for a position that
cannot exist; `leverage` is applied as Freqtrade applies it.
"""

from __future__ import annotations

from typing import Any

from engine.freqtrade_names.hook import lazy_name

# merge_informative_pair is resolved by __getattr__ on first use.
__all__ = ["merge_informative_pair", "stoploss_from_absolute", "stoploss_from_open"]  # noqa: F822


def _long_only(is_short: bool) -> None:
    if is_short:
        raise ValueError("is_short=True: tradepilot trades spot, long only")


def stoploss_from_open(open_relative_stop: float, current_profit: float,
                       is_short: bool = False, leverage: float = 1.0) -> float:
    """The stop relative to the current price (what custom_stoploss returns) that sits at
    `open_relative_stop` from the open price; 0 when that stop is above the current price."""
    _long_only(is_short)
    profit = current_profit / leverage
    if profit == -1:
        return 1  # the formula's pole: the largest stop distance
    stoploss = 1 - ((1 + open_relative_stop / leverage) / (1 + profit))
    return max(stoploss * leverage, 0.0)


def stoploss_from_absolute(stop_rate: float, current_rate: float, is_short: bool = False,
                           leverage: float = 1.0) -> float:
    """The stop relative to `current_rate` that sits at the price `stop_rate`; 0 when that
    price is above the current one."""
    _long_only(is_short)
    if current_rate == 0:
        return 1
    return max(1 - (stop_rate / current_rate), 0.0) * leverage


def __getattr__(name: str) -> Any:
    if name == "merge_informative_pair":
        return lazy_name("engine.informative", name, f"freqtrade.strategy.{name}",
                         "merging informative pairs")
    raise AttributeError(name)
