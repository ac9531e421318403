"""`freqtrade.data.dataprovider`: the DataProvider type, from engine.dataprovider."""

from __future__ import annotations

from typing import Any

from engine.freqtrade_names.hook import lazy_name

__all__ = ["DataProvider"]  # noqa: F822 - resolved by __getattr__ on first use


def __getattr__(name: str) -> Any:
    if name == "DataProvider":
        return lazy_name("engine.dataprovider", name, f"freqtrade.data.dataprovider.{name}",
                         "the DataProvider")
    raise AttributeError(name)
