"""Strategy parameters (Freqtrade's `IntParameter`, `DecimalParameter`, ...) and their values.

Freqtrade 2026.9's precedence, per space (`buy`, `sell`, `protection`, or any other name):
the class default, then the strategy's `<space>_params` dict, then the space of the parameter
file beside the strategy file (`engine/parameter_file.py`). The config has no say in these; it
overrides only roi, stoploss, trailing and max_open_trades, which the file sets as attributes.
A parameter's space is its `space`, or the prefix of its attribute name (`buy_`, `sell_`,
`enter_`, `exit_`, `protection_`). `load=False` keeps the default whatever the dicts say.

Values belong to the strategy instance: each instance gets copies of its class's parameter
objects, so a /reload's new instance never sees what the old one had. `.range` holds only the value,
as in a Freqtrade run outside hyperopt; `bot.py hyperopt` (hyperopt/) reads `optimize` and the
ranges, and shows `populate_indicators` a searched parameter's whole range.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

from core.errors import ConfigError

logger = logging.getLogger(__name__)

AUTO_SPACES = ("buy", "sell", "enter", "exit", "protection")


class BaseParameter:
    """A value a strategy reads as `self.<name>.value`."""

    name: str
    in_space: bool = False

    def __init__(self, *, default: Any, space: str | None = None, optimize: bool = True,
                 load: bool = True, **kwargs: Any) -> None:
        if "name" in kwargs:
            raise ValueError("a parameter's name is the attribute it is assigned to; "
                             "it cannot be given")
        self.space = space
        self.optimize = optimize
        self.load = load
        self.value = default

    @property
    def value(self) -> Any:
        return self._value

    @value.setter
    def value(self, new_value: Any) -> None:
        self._value = new_value

    @property
    def param_type(self) -> str:
        return type(self).__name__

    def can_optimize(self) -> bool:
        return False

    def check(self, value: Any) -> str | None:
        """Why `value` cannot be this parameter's value (the expected form), None if it can."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._value})"


class NumericParameter(BaseParameter):
    def __init__(self, low: float | Sequence[float], high: float | None = None, *,
                 default: float, space: str | None = None, optimize: bool = True,
                 load: bool = True, **kwargs: Any) -> None:
        kind = type(self).__name__
        if high is not None and isinstance(low, Sequence):
            raise ValueError(f"{kind}: give low and high, or [low, high], not both")
        if high is None or isinstance(low, Sequence):
            if not isinstance(low, Sequence) or len(low) != 2:
                raise ValueError(f"{kind}: the space must be [low, high]")
            self.low, self.high = low
        else:
            self.low, self.high = low, high
        super().__init__(default=default, space=space, optimize=optimize, load=load, **kwargs)

    def check(self, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            return "a number"
        return None


class IntParameter(NumericParameter):
    def __init__(self, low: int | Sequence[int], high: int | None = None, *, default: int,
                 space: str | None = None, optimize: bool = True, load: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(low=low, high=high, default=default, space=space, optimize=optimize,
                         load=load, **kwargs)

    def check(self, value: Any) -> str | None:
        return None if isinstance(value, int) and not isinstance(value, bool) \
            else "a whole number"

    @property
    def range(self) -> range:
        return range(self.value, self.value + 1)


class RealParameter(NumericParameter):
    def __init__(self, low: float | Sequence[float], high: float | None = None, *,
                 default: float, space: str | None = None, optimize: bool = True,
                 load: bool = True, **kwargs: Any) -> None:
        super().__init__(low=low, high=high, default=default, space=space, optimize=optimize,
                         load=load, **kwargs)


class DecimalParameter(NumericParameter):
    """A number kept at `decimals` decimals, whatever it is set to."""

    def __init__(self, low: float | Sequence[float], high: float | None = None, *,
                 default: float, decimals: int = 3, space: str | None = None,
                 optimize: bool = True, load: bool = True, **kwargs: Any) -> None:
        self.decimals = decimals
        super().__init__(low=low, high=high, default=round(default, decimals), space=space,
                         optimize=optimize, load=load, **kwargs)

    @property
    def value(self) -> Any:
        return self._value

    @value.setter
    def value(self, new_value: Any) -> None:
        self._value = round(new_value, self.decimals)

    @property
    def range(self) -> list[float]:
        return [self.value]


class CategoricalParameter(BaseParameter):
    def __init__(self, categories: Sequence[Any], *, default: Any | None = None,
                 space: str | None = None, optimize: bool = True, load: bool = True,
                 **kwargs: Any) -> None:
        if len(categories) < 2:
            raise ValueError("CategoricalParameter: the space must be [a, b, ...], at least "
                             "two categories")
        self.opt_range = categories
        super().__init__(default=default, space=space, optimize=optimize, load=load, **kwargs)

    def check(self, value: Any) -> str | None:
        return None if value in self.opt_range else f"one of {list(self.opt_range)!r}"

    @property
    def range(self) -> list[Any]:
        return [self.value]


class BooleanParameter(CategoricalParameter):
    def __init__(self, *, default: Any | None = None, space: str | None = None,
                 optimize: bool = True, load: bool = True, **kwargs: Any) -> None:
        super().__init__(categories=[True, False], default=default, space=space,
                         optimize=optimize, load=load, **kwargs)

    def check(self, value: Any) -> str | None:
        return None if isinstance(value, bool) else "true or false"


def own_parameters(strategy: object) -> dict[str, dict[str, BaseParameter]]:
    """Give `strategy` its own copy of each parameter of its class, with its name and space;
    the copies by space, then by name."""
    cls_name = type(strategy).__name__
    spaces: dict[str, dict[str, BaseParameter]] = {}
    for attr in dir(type(strategy)):
        if attr.startswith("__"):
            continue
        shared = getattr(type(strategy), attr, None)
        if not isinstance(shared, BaseParameter):
            continue
        param = copy.copy(shared)
        space = param.space or next((s for s in AUTO_SPACES if attr.startswith(f"{s}_")), None)
        if space is None:
            raise ConfigError(f"{cls_name}.{attr}: cannot tell the parameter's space; expected "
                              "space=\"buy\" (or sell, protection, ...) or a name starting "
                              f"with {', '.join(s + '_' for s in AUTO_SPACES)}")
        if space in ("all", "default") or not space.isidentifier():
            raise ConfigError(f"{cls_name}.{attr}: {space!r} is not a valid space; expected "
                              "a name such as buy, sell or protection")
        param.space, param.name = space, attr
        setattr(strategy, attr, param)
        spaces.setdefault(space, {})[attr] = param
    return spaces


def fill_parameters(strategy: object, spaces: Mapping[str, Mapping[str, BaseParameter]],
                    from_file: Mapping[str, Mapping[str, Any]], file_name: str
                    ) -> dict[str, dict[str, Any]]:
    """Set each parameter's value by Freqtrade's precedence; the effective values by space."""
    cls_name = type(strategy).__name__
    effective: dict[str, dict[str, Any]] = {}
    for space in sorted(set(spaces) | set(from_file)):
        params = spaces.get(space, {})
        in_class = getattr(strategy, f"{space}_params", None) or {}
        if not isinstance(in_class, Mapping):
            raise ConfigError(f"{cls_name}.{space}_params: expected a dict of parameter names "
                              f"and values, got {type(in_class).__name__}")
        sources = [(f"{cls_name}.{space}_params", in_class),
                   (f"{file_name}: params.{space}", from_file.get(space, {}))]
        for where, values in sources:
            for name, value in values.items():
                _set(params.get(name), name, value, where)
        effective[space] = {name: p.value for name, p in sorted(params.items())}
    return {space: values for space, values in effective.items() if values}


def _set(param: BaseParameter | None, name: str, value: Any, where: str) -> None:
    if param is None:
        logger.warning("%s: %s is not a parameter of the strategy; ignored", where, name)
        return
    problem = param.check(value)
    if problem is not None:
        raise ConfigError(f"{where}.{name}: expected {problem} for {param.param_type} "
                          f"{name}, got {value!r}")
    if not param.load:
        logger.warning('Parameter "%s" exists, but is disabled (load=False). Default value '
                       '"%s" used.', name, param.value)
        return
    param.value = value
