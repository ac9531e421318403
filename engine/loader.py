"""Find, import and check the strategy: by class name in the strategy folder, or by module path.

Every problem is a ConfigError that names the file and line or the attribute and the expected
form, so the bot refuses to start (exit status 2) rather than trade with a half-loaded strategy.
Each strategy file, of the folder or named by module path, runs from its current source as a
new module on every load, so `/reload` picks up edits: no module object kept in `sys.modules`
and no bytecode cached in `__pycache__` is reused. Each runs with its own import hook
(engine/freqtrade_names/hook.py), so a Freqtrade strategy's `freqtrade.*` imports resolve to
tradepilot's modules there and nowhere else.

After the class is found, the order is Freqtrade's: older (interface 2) names mapped, the
parameter file's roi/stoploss/trailing/max_open_trades set, parameter values filled, then the
config's values override, then everything is checked.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import re
import sys
import traceback
from collections.abc import Callable, Mapping
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

from core.errors import ConfigError
from engine.config import _bool, _int, _number, _roi, _str
from engine.freqtrade_names.hook import FreqtradeNames, NotProvided
from engine.freqtrade_names.persistence import Trade, bound_trade
from engine.parameter_file import (
    apply_attribute_spaces,
    parameter_file,
    parameter_spaces,
    read_parameter_file,
)
from engine.parameters import fill_parameters, own_parameters
from engine.settings import Settings, project_path
from engine.strategy import ALL_PAIRS, IStrategy, LogOnce, safe_call
from engine.strategy_compat import map_legacy_class, map_legacy_settings, refuse_unsupported
from engine.strategy_runtime import RuntimeSlot, freqtrade_config
from marketdata.timeframe import TIMEFRAMES

logger = logging.getLogger(__name__)

REQUIRED_METHODS = ("populate_indicators", "populate_entry_trend", "populate_exit_trend")
# The strategy module's global that holds its RuntimeSlot (see _import_file).
_SLOT = "__tradepilot_slot__"
_BOOLS = (
    "trailing_stop", "trailing_only_offset_is_reached", "use_custom_stoploss", "use_exit_signal",
    "exit_profit_only", "ignore_roi_if_entry_signal", "process_only_new_candles", "can_short",
    "position_adjustment_enable",
)  # fmt: skip


def strategy_for(settings: Settings) -> IStrategy:
    """The strategy the settings name, from their strategy path."""
    return load_strategy(settings.strategy, project_path(settings.strategy_path),
                         settings.strategy_overrides(), config=freqtrade_config(settings))


def load_strategy(name: str, path: str | Path = "strategies",
                  overrides: Mapping[str, Any] | None = None, *,
                  config: Mapping[str, Any] | None = None) -> IStrategy:
    """The strategy class `name`, instantiated, with config `overrides` applied and checked.

    `name` is a class name looked up in the `*.py` files of `path`, or a module path
    (`package.module:ClassName` or `package.module.ClassName`) importable from the project.
    `config` (the effective config, Freqtrade's `self.config`) goes to the constructor; the
    `overrides` when there is none.
    """
    found = _from_module_path(name) if ("." in name or ":" in name) else _from_folder(name, path)
    cls, mapped = map_legacy_class(found)
    _check_methods(cls)
    try:
        strategy = cls(dict(config if config is not None else overrides or {}))
    except Exception as exc:
        raise ConfigError(f"strategy: {cls.__name__}(config) raised "
                          f"{type(exc).__name__}: {exc}") from None
    module = sys.modules.get(cls.__module__)
    strategy.tradepilot_slot = getattr(module, _SLOT, None)
    mapped += map_legacy_settings(strategy)
    refuse_unsupported(strategy)
    source = getattr(module, "__file__", None)
    _fill_parameters(strategy, parameter_file(source))
    strategy.apply_overrides(overrides or {})
    if mapped:
        logger.warning("%s uses Freqtrade's older names, mapped as Freqtrade maps them: %s",
                       cls.__name__, ", ".join(mapped))
    validate_strategy(strategy)
    _check_max_open_trades(strategy, config)
    logger.info("strategy %s loaded from %s (timeframe %s, stoploss %s)", cls.__name__,
                source or cls.__module__, strategy.timeframe, strategy.stoploss)
    safe_call(ALL_PAIRS, strategy.bot_start, default=None, log_once=LogOnce(logger))
    return strategy


def _fill_parameters(strategy: IStrategy, file: Path | None) -> None:
    """Freqtrade's order: the file's attribute spaces, then the parameters by precedence."""
    params = read_parameter_file(file, type(strategy).__name__)
    apply_attribute_spaces(strategy, params, file)
    spaces = own_parameters(strategy)
    strategy.parameter_values = fill_parameters(strategy, spaces, parameter_spaces(params),
                                                str(file))
    for space, values in strategy.parameter_values.items():
        for key, value in values.items():
            logger.info("Strategy Parameter: %s.%s = %r", space, key, value)


def _check_max_open_trades(strategy: IStrategy, config: Mapping[str, Any] | None) -> None:
    """tradepilot's config always has max_open_trades, which Freqtrade puts above the
    strategy's and the parameter file's: say so when theirs differs."""
    own = getattr(strategy, "max_open_trades", None)
    used = (config or {}).get("max_open_trades")
    if own is not None and used is not None and own != used:
        logger.warning("%s.max_open_trades: %s from the strategy or its parameter file is not "
                       "used; the config's max_open_trades (%s) is", type(strategy).__name__,
                       own, used)


# --- finding the class --------------------------------------------------------------------


def _from_folder(name: str, path: str | Path) -> type[IStrategy]:
    folder = Path(path)
    if not folder.is_dir():
        raise ConfigError(f"strategy_path: {folder} is not a folder; expected the folder that "
                          "holds your strategy files (default: strategies)")
    found: dict[str, list[tuple[Path, type[IStrategy]]]] = {}
    failures: list[tuple[Path, str]] = []
    for file in sorted(folder.glob("*.py")):
        try:
            module = _import_file(file)
        except ConfigError as exc:
            failures.append((file, str(exc)))
            continue
        for cls in _strategy_classes(module):
            found.setdefault(cls.__name__, []).append((file, cls))
    return _pick(name, folder, found, failures)


def list_strategies(path: str | Path) -> list[tuple[str, Path, str]]:
    """Every strategy class of the folder's files: (class or file name, file, status), the
    status "OK", "duplicate name" or why the file does not import, as Freqtrade's
    list-strategies shows them."""
    folder = Path(path)
    if not folder.is_dir():
        raise ConfigError(f"strategy_path: {folder} is not a folder; expected the folder that "
                          "holds your strategy files (default: strategies)")
    rows: list[tuple[str, Path, str]] = []
    for file in sorted(folder.glob("*.py")):
        try:
            module = _import_file(file)
        except ConfigError as exc:
            rows.append((file.stem, file, f"does not import: {exc}"))
            continue
        rows += [(cls.__name__, file, "OK") for cls in _strategy_classes(module)]
    names = [name for name, _, status in rows if status == "OK"]
    return [(name, file, "duplicate name" if status == "OK" and names.count(name) > 1
             else status) for name, file, status in rows]


def _pick(name: str, folder: Path, found: dict[str, list[tuple[Path, type[IStrategy]]]],
          failures: list[tuple[Path, str]]) -> type[IStrategy]:
    matches = found.get(name, [])
    if len(matches) > 1:
        files = " and ".join(str(file) for file, _ in matches)
        raise ConfigError(f"strategy: {name} is defined in both {files}; expected one class "
                          "of that name in the strategy folder (rename one)")
    broken = [message for file, message in failures if _defines(file, name)]
    if not matches and broken:
        raise ConfigError(broken[0])
    for _file, message in failures:
        logger.warning("strategy folder: skipped a file that does not import: %s", message)
    if matches:
        return matches[0][1]
    names = ", ".join(sorted(found)) or "none"
    unreadable = "".join(f"; could not import {message}" for _, message in failures)
    raise ConfigError(f"strategy: no strategy class {name} in {folder}; classes found: "
                      f"{names}{unreadable}")


class _FromSource(SourceFileLoader):
    """Compiles the file's source as it is now. The standard loader would reuse a `.pyc`
    whose recorded mtime (whole seconds) and size match the file's, which they still do after
    an edit within the same second that keeps the size (a changed tag, a changed number)."""

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        return self.source_to_code(self.get_data(path), path)


def import_user_file(file: Path) -> ModuleType:
    """Another file of the user's that imports Freqtrade's names (a hyperopt loss), run as a
    strategy file is: afresh, as a module of its own, with the import hook."""
    return _import_file(file, f"tradepilot_user_{file.stem}")


def _import_file(file: Path, module_name: str | None = None,
                 package_path: list[str] | None = None) -> ModuleType:
    """Run one strategy file as a new module (by default a module of its own, named after the
    file); an earlier module of that name is left as it was when this one fails."""
    module_name = module_name or f"tradepilot_strategy_{file.stem}"
    spec = importlib.util.spec_from_file_location(
        module_name, file, loader=_FromSource(module_name, str(file)),
        submodule_search_locations=package_path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{file}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    slot = RuntimeSlot()
    trade = bound_trade(slot)
    names = FreqtradeNames(replace=lambda value: trade if value is Trade else value)
    module.__dict__["__builtins__"] = names.builtins()
    module.__dict__[_SLOT] = slot
    earlier = sys.modules.get(module_name)
    # Registered while it runs: dataclasses and typing look their module up by name.
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        if earlier is None:
            sys.modules.pop(module_name, None)
        else:
            sys.modules[module_name] = earlier
        raise ConfigError(_import_failure(exc, file)) from None
    return module


def _from_module_path(name: str) -> type[IStrategy]:
    module_name, _, class_name = name.rpartition(":" if ":" in name else ".")
    if not module_name or not class_name:
        raise ConfigError(f"strategy: {name!r} is not a module path; expected "
                          "package.module:ClassName or a class name")
    module = _import_module(module_name)
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, IStrategy)):
        names = ", ".join(sorted(c.__name__ for c in _strategy_classes(module))) or "none"
        raise ConfigError(f"strategy: no strategy class {class_name} in module {module_name}; "
                          f"classes found: {names}")
    return cls


def _import_module(module_name: str) -> ModuleType:
    """The module, run afresh when it is a source file; `importlib.import_module` would hand
    back the one imported at start-up, whatever was edited since."""
    not_found = ConfigError(f"strategy: no module named {module_name}; expected "
                            "package.module:ClassName importable from the project folder")
    try:
        spec = importlib.util.find_spec(module_name)  # imports the parent packages
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing != module_name and not module_name.startswith(f"{missing}."):
            raise ConfigError(_import_failure(exc, None)) from None
        raise not_found from None
    except Exception as exc:
        raise ConfigError(_import_failure(exc, None)) from None
    if spec is None:
        raise not_found
    if spec.origin is not None and spec.origin.endswith(".py"):
        return _import_file(Path(spec.origin), module_name, spec.submodule_search_locations)
    try:
        return importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigError(_import_failure(exc, None)) from None


def _strategy_classes(module: ModuleType) -> list[type[IStrategy]]:
    return [obj for obj in vars(module).values()
            if isinstance(obj, type) and issubclass(obj, IStrategy) and obj is not IStrategy
            and obj.__module__ == module.__name__]


def _defines(file: Path, name: str) -> bool:
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(rf"^\s*class\s+{re.escape(name)}\b", text, re.MULTILINE) is not None


def _import_failure(exc: Exception, file: Path | None) -> str:
    """Where a strategy file failed to import ("file, line N") and why."""
    if isinstance(exc, SyntaxError):
        return f"{exc.filename}, line {exc.lineno}: syntax error: {exc.msg}"
    frames: list[traceback.FrameSummary] = list(traceback.extract_tb(exc.__traceback__))
    if file is not None:
        frames = [f for f in frames if Path(f.filename) == file] or frames
    else:
        frames = [f for f in frames if not f.filename.startswith("<")] or frames
    where = f"{frames[-1].filename}, line {frames[-1].lineno}" if frames else str(file)
    if isinstance(exc, NotProvided):
        return f"{where}: {exc}"
    return f"{where}: cannot import the strategy file: {type(exc).__name__}: {exc}"


# --- checking the class and its values -----------------------------------------------------


def _check_methods(cls: type[IStrategy]) -> None:
    missing = [m for m in REQUIRED_METHODS if getattr(cls, m) is getattr(IStrategy, m)]
    if missing:
        raise ConfigError(f"strategy: {cls.__name__} does not define {', '.join(missing)}; "
                          f"expected {', '.join(REQUIRED_METHODS)}(self, dataframe, metadata) "
                          "(or Freqtrade's populate_buy_trend / populate_sell_trend)")


def validate_strategy(strategy: IStrategy) -> None:
    """Check the strategy's effective values (its own, or the config's that replaced them)
    and bring them into one form: a float stoploss, a ROI table sorted by minutes."""
    name = type(strategy).__name__

    def key(attr: str) -> str:
        return f"{name}.{attr}"

    for attr in _BOOLS:
        _bool(key(attr), getattr(strategy, attr))
    _str(key("timeframe"), _required(strategy, "timeframe", '"5m"'), TIMEFRAMES)
    strategy.stoploss = _stoploss(key("stoploss"), _required(strategy, "stoploss", "-0.10"))
    strategy.minimal_roi = _roi_table(key("minimal_roi"), strategy.minimal_roi)
    _check_trailing(strategy, key)
    _number(key("exit_profit_offset"), strategy.exit_profit_offset)
    _int(key("startup_candle_count"), strategy.startup_candle_count, 0)
    strategy.resolved_order_types()
    strategy.resolved_unfilledtimeout()
    strategy.resolved_time_in_force()
    protections = strategy.protections
    if isinstance(protections, str | bytes) or not all(isinstance(p, Mapping)
                                                       for p in protections):
        raise ConfigError(f'{key("protections")}: expected a list of objects like '
                          f'[{{"method": "CooldownPeriod", "stop_duration_candles": 2}}]')
    if strategy.can_short:
        raise ConfigError(f"{key('can_short')}: tradepilot trades spot, long only; "
                          "expected False")
    _int(key("max_entry_position_adjustment"), strategy.max_entry_position_adjustment, -1)


def _required(strategy: IStrategy, attr: str, example: str) -> Any:
    value = getattr(strategy, attr, None)
    if value is None or value == "":
        raise ConfigError(f"{type(strategy).__name__}.{attr}: not set; expected `{attr} = "
                          f"{example}` in the strategy or \"{attr}\" in the config")
    return value


def _stoploss(key: str, value: Any) -> float:
    number = _number(key, value)
    if not -1.0 <= number < 0.0:
        raise ConfigError(f"{key}: expected a negative ratio between -1 and 0 such as -0.10 "
                          f"(exit at a 10% loss), got {value!r}")
    return number


def _roi_table(key: str, value: Any) -> dict[str, float]:
    """An empty table means no ROI exits, as in Freqtrade."""
    if isinstance(value, Mapping) and not value:
        return {}
    table = _roi(key, dict(value) if isinstance(value, Mapping) else value)
    return dict(sorted(table.items(), key=lambda item: int(item[0])))


def _check_trailing(strategy: IStrategy, key: Callable[[str], str]) -> None:
    """Freqtrade's trailing-stop rules, checked only when the trailing stop is on."""
    positive = strategy.trailing_stop_positive
    if positive is not None:
        _number(key("trailing_stop_positive"), positive, 0.0, 1.0)
    offset = _number(key("trailing_stop_positive_offset"),
                     strategy.trailing_stop_positive_offset, 0.0, 1.0)
    if not strategy.trailing_stop:
        return
    if strategy.trailing_only_offset_is_reached and offset == 0:
        raise ConfigError(f"{key('trailing_only_offset_is_reached')}: needs "
                          "trailing_stop_positive_offset above 0")
    if positive is not None and positive == 0:
        raise ConfigError(f"{key('trailing_stop_positive')}: expected a ratio above 0 "
                          "(0 would place the stop at the current price), or None")
    if positive and offset and positive >= offset:
        raise ConfigError(f"{key('trailing_stop_positive_offset')}: expected a value greater "
                          f"than trailing_stop_positive ({positive}), got {offset}")
