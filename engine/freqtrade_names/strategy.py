"""`freqtrade.strategy`: what a Freqtrade strategy imports first (Freqtrade 2026.9's names).

`informative` and `merge_informative_pair` come from engine.informative, on first use.
"""

from __future__ import annotations

from typing import Any

from engine.freqtrade_names.hook import lazy_name
from engine.freqtrade_names.persistence import Order, Trade
from engine.freqtrade_names.strategy_helper import stoploss_from_absolute, stoploss_from_open
from engine.parameters import (
    BooleanParameter,
    CategoricalParameter,
    DecimalParameter,
    IntParameter,
    RealParameter,
)
from engine.strategy import IStrategy
from marketdata.timeframe import (
    timeframe_to_minutes,
    timeframe_to_msecs,
    timeframe_to_next_date,
    timeframe_to_prev_date,
    timeframe_to_seconds,
)

# informative and merge_informative_pair are resolved by __getattr__ on first use.
__all__ = [  # noqa: F822
    "AnnotationType", "BooleanParameter", "CategoricalParameter", "DecimalParameter",
    "IStrategy", "IntParameter", "Order", "RealParameter", "Trade", "informative",
    "merge_informative_pair", "stoploss_from_absolute", "stoploss_from_open",
    "timeframe_to_minutes", "timeframe_to_msecs", "timeframe_to_next_date",
    "timeframe_to_prev_date", "timeframe_to_seconds",
]  # fmt: skip

NOT_PROVIDED = {
    "PairLocks": "use the strategy's self.lock_pair, self.unlock_pair and self.is_pair_locked",
}

# Plot annotations are not drawn here; the name stays usable in a method's hints.
AnnotationType = dict[str, Any]


def __getattr__(name: str) -> Any:
    if name == "informative":
        return lazy_name("engine.informative", name, f"freqtrade.strategy.{name}",
                         "the @informative decorator")
    if name == "merge_informative_pair":
        return lazy_name("engine.informative", name, f"freqtrade.strategy.{name}",
                         "merging informative pairs")
    raise AttributeError(name)
