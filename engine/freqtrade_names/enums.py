"""`freqtrade.enums`: the enums strategies compare against, with Freqtrade's values.

`RunMode` comes from engine.dataprovider, which says which kind of run a strategy is in.
"""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import Any

from engine.freqtrade_names.hook import lazy_name

# RunMode is resolved by __getattr__ on first use.
__all__ = [  # noqa: F822
    "CandleType", "ExitCheckTuple", "ExitType", "MarginMode", "MarketDirection", "RunMode",
    "SignalDirection", "SignalTagType", "SignalType", "TradingMode",
]  # fmt: skip


class CandleType(StrEnum):
    SPOT = "spot"
    FUTURES = "futures"
    MARK = "mark"
    INDEX = "index"
    PREMIUMINDEX = "premiumIndex"
    FUNDING_RATE = "funding_rate"
    OPEN_INTEREST = "open_interest"

    @staticmethod
    def from_string(value: str) -> CandleType:
        return CandleType(value) if value else CandleType.SPOT

    @staticmethod
    def get_default(trading_mode: str) -> CandleType:
        return CandleType.FUTURES if trading_mode == "futures" else CandleType.SPOT


class ExitType(Enum):
    """The exit reasons; their values are the ones stored on trades (store.models.ExitReason)."""

    ROI = "roi"
    STOP_LOSS = "stop_loss"
    STOPLOSS_ON_EXCHANGE = "stoploss_on_exchange"
    TRAILING_STOP_LOSS = "trailing_stop_loss"
    LIQUIDATION = "liquidation"
    EXIT_SIGNAL = "exit_signal"
    FORCE_EXIT = "force_exit"
    EMERGENCY_EXIT = "emergency_exit"
    CUSTOM_EXIT = "custom_exit"
    PARTIAL_EXIT = "partial_exit"
    SOLD_ON_EXCHANGE = "sold_on_exchange"
    NONE = ""

    def __str__(self) -> str:
        return str(self.value)


class SignalType(StrEnum):
    ENTER_LONG = "enter_long"
    EXIT_LONG = "exit_long"
    ENTER_SHORT = "enter_short"
    EXIT_SHORT = "exit_short"


class SignalTagType(StrEnum):
    ENTER_TAG = "enter_tag"
    EXIT_TAG = "exit_tag"


class SignalDirection(StrEnum):
    LONG = "long"
    SHORT = "short"


class TradingMode(StrEnum):
    SPOT = "spot"
    MARGIN = "margin"
    FUTURES = "futures"


class MarginMode(StrEnum):
    CROSS = "cross"
    ISOLATED = "isolated"
    NONE = ""


class MarketDirection(Enum):
    LONG = "long"
    SHORT = "short"
    EVEN = "even"
    NONE = "none"

    def __str__(self) -> str:
        return str(self.value)


class ExitCheckTuple:
    """An exit type with its reason (the type's value when none is given)."""

    def __init__(self, exit_type: ExitType, exit_reason: str = "") -> None:
        self.exit_type = exit_type
        self.exit_reason = exit_reason or exit_type.value

    @property
    def exit_flag(self) -> bool:
        return self.exit_type != ExitType.NONE

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ExitCheckTuple) and (self.exit_type, self.exit_reason) == \
            (other.exit_type, other.exit_reason)

    def __hash__(self) -> int:
        return hash((self.exit_type, self.exit_reason))

    def __repr__(self) -> str:
        return f"ExitCheckTuple({self.exit_type}, {self.exit_reason})"


def __getattr__(name: str) -> Any:
    if name == "RunMode":
        return lazy_name("engine.dataprovider", name, f"freqtrade.enums.{name}",
                         "the run mode")
    raise AttributeError(name)
