"""`freqtrade.strategy.informative_decorator`: the `@informative` decorator, from
engine.informative."""

from __future__ import annotations

from typing import Any

from engine.freqtrade_names.hook import lazy_name

__all__ = ["informative"]  # noqa: F822 - resolved by __getattr__ on first use


def __getattr__(name: str) -> Any:
    if name == "informative":
        return lazy_name("engine.informative", name, f"freqtrade.strategy.{name}",
                         "the @informative decorator")
    raise AttributeError(name)
