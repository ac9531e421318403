"""Freqtrade settings that change what is traded or how much, and that tradepilot does not do:
refused with the value that would be honoured, never accepted and left out. Their neutral
values (a spot market, switches off) pass, and the key is then listed among the ones
tradepilot does not use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import ConfigError


def _off(key: str, value: Any, why: str) -> None:
    if value not in (None, False):
        raise ConfigError(f"{key}: not supported ({why}); expected false")


def _enabled_section(key: str, value: Any, why: str) -> None:
    if isinstance(value, Mapping) and value.get("enabled"):
        raise ConfigError(f"{key}.enabled: not supported ({why}); expected false")


def refuse_unsupported(raw: Mapping[str, Any]) -> None:
    """Raise ConfigError for the first setting above with a value that changes money."""
    mode = raw.get("trading_mode")
    if mode not in (None, "spot"):
        raise ConfigError(f"trading_mode: {mode!r} is not supported; expected \"spot\"")
    margin = raw.get("margin_mode")
    # Freqtrade ignores it on spot, but a value says the owner meant to borrow.
    if margin not in (None, ""):
        raise ConfigError(f"margin_mode: {margin!r} is not supported (spot only, nothing is "
                          "borrowed); expected \"\"")
    _enabled_section("edge", raw.get("edge"), "stakes come from stake_amount")
    _enabled_section("freqai", raw.get("freqai"), "no FreqAI models")
