"""The parameter file beside a strategy file, in Freqtrade's format, and what it sets.

As in Freqtrade 2026.9 the file is the strategy file with `.json` for `.py`
(`strategies/my_strategy.py` -> `strategies/my_strategy.json`), its `strategy_name` must be the
class name, and its `params` hold spaces: `buy`, `sell`, `protection` (parameter values) and
`roi`, `stoploss`, `trailing`, `max_open_trades` (attributes, which the config's values
replace in turn). Unlike Freqtrade, which warns and goes on without the file, a file that is
not valid JSON stops the load: its values change trades, so they are never dropped quietly.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from engine.config import _bool, _int, _number, _roi, _stoploss

logger = logging.getLogger(__name__)

ATTRIBUTE_SPACES = ("roi", "stoploss", "trailing", "max_open_trades")
_TRAILING = {
    "trailing_stop": _bool,
    "trailing_stop_positive": lambda k, v: None if v is None else _number(k, v, 0.0, 1.0),
    "trailing_stop_positive_offset": lambda k, v: _number(k, v, 0.0, 1.0),
    "trailing_only_offset_is_reached": _bool,
}  # fmt: skip


def parameter_file(strategy_file: str | Path | None) -> Path | None:
    return None if strategy_file is None else Path(strategy_file).with_suffix(".json")


def read_parameter_file(path: Path | None, class_name: str) -> dict[str, Any]:
    """The file's `params` ({} without a file), its shape checked."""
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}): "
                          f"{exc.msg}; expected Freqtrade's parameter file format") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the parameter file: {exc}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f'{path}: expected an object with "strategy_name" and "params"')
    if data.get("strategy_name") != class_name:
        raise ConfigError(f"{path}: strategy_name: expected {class_name!r} (the strategy "
                          f"class this file belongs to), got {data.get('strategy_name')!r}")
    params = data.get("params", {})
    if not isinstance(params, Mapping) or not all(isinstance(v, Mapping)
                                                  for v in params.values()):
        raise ConfigError(f'{path}: params: expected an object of spaces, like {{"buy": '
                          '{"buy_rsi": 30}, "stoploss": {"stoploss": -0.1}}')
    logger.info("Loading parameters from file %s", path)
    return dict(params)


def apply_attribute_spaces(strategy: Any, params: Mapping[str, Mapping[str, Any]],
                           path: Path | None) -> dict[str, Any]:
    """Set roi, stoploss, trailing and max_open_trades from the file's params (before the
    config's overrides); what was set, by attribute."""
    if not params:
        return {}
    where = f"{path}: params"
    changed: dict[str, Any] = {}
    if "roi" in params:
        roi = dict(params["roi"])
        changed["minimal_roi"] = _roi(f"{where}.roi", roi) if roi else {}
    if "stoploss" in params.get("stoploss", {}):
        changed["stoploss"] = _stoploss(f"{where}.stoploss.stoploss",
                                        params["stoploss"]["stoploss"])
    if "max_open_trades" in params.get("max_open_trades", {}):
        changed["max_open_trades"] = _int(f"{where}.max_open_trades.max_open_trades",
                                          params["max_open_trades"]["max_open_trades"], -1)
    for key, value in params.get("trailing", {}).items():
        check = _TRAILING.get(key)
        if check is None:
            raise ConfigError(f"{where}.trailing.{key}: not a trailing setting; expected "
                              f"{', '.join(_TRAILING)}")
        changed[key] = check(f"{where}.trailing.{key}", value)
    for attr, value in changed.items():
        setattr(strategy, attr, value)
    return changed


def parameter_spaces(params: Mapping[str, Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The file's spaces that hold parameter values (buy, sell, protection, ...)."""
    return {space: values for space, values in params.items()
            if space not in ATTRIBUTE_SPACES}
