"""Freqtrade's older strategy names mapped as Freqtrade 2026.9 maps them, and the strategy
features that cannot work here refused at load, naming the attribute and the reason.

Interface version 2 (and the v2 names a v3 strategy may still use), spot mode:
- settings: `use_sell_signal`, `sell_profit_only`, `sell_profit_offset` and
  `ignore_roi_if_buy_signal` give their value to the exit/entry names;
- methods: `populate_buy_trend`, `populate_sell_trend`, `custom_sell`, `check_buy_timeout`
  and `check_sell_timeout` answer for their v3 names when those are not defined (a subclass
  made at load carries the v3 names, so the engine's checks for an implemented callback see
  them);
- `order_types` and `unfilledtimeout` keys `buy`/`sell` (and `forcebuy`, `emergencysell`, ...)
  become `entry`/`exit` (...); both an old and its new key is refused as in Freqtrade;
- columns: `buy`/`sell` become `enter_long`/`exit_long` when the frame has no
  `enter_long`/`exit_long` (`legacy_columns`, for every strategy, as Freqtrade). A `buy_tag`
  column is dropped: Freqtrade 2026.9 sets an empty `enter_tag` column before the entry method
  runs, and that column, not the renamed `buy_tag`, is the tag its trades get.
One warning at load lists what was mapped.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping

import pandas as pd

from core.errors import ConfigError
from engine.strategy import IStrategy

logger = logging.getLogger(__name__)

V2_METHODS = {
    "populate_buy_trend": "populate_entry_trend", "populate_sell_trend": "populate_exit_trend",
    "custom_sell": "custom_exit", "check_buy_timeout": "check_entry_timeout",
    "check_sell_timeout": "check_exit_timeout",
}  # fmt: skip
V2_SETTINGS = {
    "use_sell_signal": "use_exit_signal", "sell_profit_only": "exit_profit_only",
    "sell_profit_offset": "exit_profit_offset",
    "ignore_roi_if_buy_signal": "ignore_roi_if_entry_signal",
}  # fmt: skip
_ORDER_TYPE_KEYS = {
    "buy": "entry", "sell": "exit", "emergencysell": "emergency_exit", "forcesell": "force_exit",
    "forcebuy": "force_entry", "emergencyexit": "emergency_exit", "forceexit": "force_exit",
    "forceentry": "force_entry",
}  # fmt: skip
_TIMEOUT_KEYS = {"buy": "entry", "sell": "exit"}

# Callbacks Freqtrade would call and this engine does not: a strategy defining one would
# trade differently here, so it is refused.
UNSUPPORTED_METHODS = {
    "adjust_entry_price": "replacing open entry orders is not supported",
    "adjust_exit_price": "replacing open exit orders is not supported",
    "adjust_order_price": "replacing open orders is not supported",
    "custom_roi": "custom ROI is not supported; use minimal_roi",
}  # fmt: skip


def map_legacy_class(cls: type[IStrategy]) -> tuple[type[IStrategy], list[str]]:
    """`cls`, or a subclass of it carrying the v3 names of its v2 methods; what was mapped."""
    _refuse_v1(cls)
    renamed = {new: getattr(cls, old) for old, new in V2_METHODS.items()
               if _defines(cls, old) and not _defines(cls, new)}
    if not renamed:
        return cls, []
    namespace = {**renamed, "__module__": cls.__module__, "__qualname__": cls.__qualname__,
                 "__doc__": cls.__doc__}
    mapped = type(cls.__name__, (cls,), namespace)
    return mapped, [f"{old} -> {new}" for old, new in V2_METHODS.items() if new in renamed]


def map_legacy_settings(strategy: IStrategy) -> list[str]:
    """Carry v2 setting values to their v3 names, and v2 order_types/unfilledtimeout keys."""
    done = []
    for old, new in V2_SETTINGS.items():
        if hasattr(strategy, old):
            setattr(strategy, new, getattr(strategy, old))
            done.append(f"{old} -> {new}")
    name = type(strategy).__name__
    for attr, keys in (("order_types", _ORDER_TYPE_KEYS), ("unfilledtimeout", _TIMEOUT_KEYS)):
        value = getattr(strategy, attr)
        if not isinstance(value, Mapping) or not any(old in value for old in keys):
            continue
        table = dict(value)
        for old, new in keys.items():
            if old not in table:
                continue
            if new in table:
                raise ConfigError(f"{name}.{attr}: both {new!r} and the older {old!r} are set; "
                                  f"expected only {new!r}")
            table[new] = table.pop(old)
            done.append(f"{attr}.{old} -> {attr}.{new}")
        setattr(strategy, attr, table)
    return done


def refuse_unsupported(strategy: IStrategy) -> None:
    """Refuse what a strategy defines that would change its trades here and cannot work."""
    name = type(strategy).__name__
    version = getattr(strategy, "INTERFACE_VERSION", 3)
    if version not in (1, 2, 3):
        raise ConfigError(f"{name}.INTERFACE_VERSION: expected 1, 2 or 3, got {version!r}")
    for method, why in UNSUPPORTED_METHODS.items():
        if _defines(type(strategy), method):
            raise ConfigError(f"{name}.{method}: tradepilot would never call it ({why}); "
                              "expected the strategy without it")
    if getattr(strategy, "use_custom_roi", False):
        raise ConfigError(f"{name}.use_custom_roi: custom ROI is not supported; expected False")


def legacy_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Freqtrade's renames of v2 signal columns, made after the entry and exit methods."""
    if "enter_long" not in frame.columns and "buy" in frame.columns:
        frame = frame.rename(columns={"buy": "enter_long"}).drop(columns=["buy_tag"],
                                                                  errors="ignore")
    if "exit_long" not in frame.columns and "sell" in frame.columns:
        frame = frame.rename(columns={"sell": "exit_long"})
    return frame


def _defines(cls: type, attr: str) -> bool:
    """Whether the strategy class (not IStrategy) defines `attr`."""
    return any(attr in vars(base) for base in cls.__mro__
               if base is not IStrategy and issubclass(base, IStrategy))


def _refuse_v1(cls: type[IStrategy]) -> None:
    for method in ("populate_indicators", "populate_entry_trend", "populate_exit_trend",
                   *(old for old in V2_METHODS if old.startswith("populate_"))):
        if not _defines(cls, method):
            continue
        try:
            args = inspect.getfullargspec(getattr(cls, method)).args
        except TypeError:
            continue
        if len(args) == 2:
            raise ConfigError(f"{cls.__name__}.{method}: interface version 1 (no metadata "
                              "argument) is not supported, as in Freqtrade; expected "
                              f"{method}(self, dataframe, metadata)")
