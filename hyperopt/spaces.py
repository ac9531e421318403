"""The search spaces of a hyperopt, as Freqtrade 2026.9 builds them, and what a point of them
sets on the strategy.

A space is a list of dimensions (a name and an Optuna distribution). `buy`, `sell`,
`protection` and any other space of the strategy's parameters hold the parameters of that
space with `optimize=True`; `roi`, `stoploss`, `trailing` and `trades` are generated, the ROI
ranges scaled with the timeframe (linearly for the minutes, by log1p for the ratios, equal to
Freqtrade's older fixed ranges at 5m). A strategy's inner `class HyperOpt` may replace any of
`roi_space`, `stoploss_space`, `trailing_space`, `max_open_trades_space`, `generate_roi_table`
and `generate_trailing_params`, written with the `freqtrade.optimize.space` classes.

`--spaces default` is every space but trailing, protection and trades; `all` is every one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from core.errors import ConfigError
from engine.freqtrade_names import optimize_space
from engine.parameters import (
    BaseParameter,
    CategoricalParameter,
    DecimalParameter,
    IntParameter,
    RealParameter,
)
from engine.strategy import IStrategy
from marketdata.timeframe import timeframe_to_minutes

BUILTIN = ("buy", "sell", "protection", "roi", "stoploss", "trailing", "trades")
SPACE_OPTIONS = (*BUILTIN, "default", "all")
_NOT_DEFAULT = ("trailing", "protection", "trades")
GENERATED = ("roi", "stoploss", "trailing", "trades")


@dataclass(frozen=True, slots=True)
class Dimension:
    name: str
    distribution: BaseDistribution


def has_space(chosen: Sequence[str], space: str) -> bool:
    """Freqtrade's rule: trailing, protection and trades only by name or with `all`."""
    wanted = (space, "all") if space in _NOT_DEFAULT else (space, "all", "default")
    return any(s in chosen for s in wanted)


def decimal(low: float, high: float, decimals: int) -> FloatDistribution:
    """Freqtrade's SKDecimal: a float range on a grid of `decimals` decimals."""
    step = 1 / 10 ** decimals
    return FloatDistribution(round(low, decimals), round(high, decimals), step=step)


def parameter_distribution(param: BaseParameter) -> BaseDistribution:
    if isinstance(param, IntParameter):
        return IntDistribution(int(param.low), int(param.high))
    if isinstance(param, DecimalParameter):
        return decimal(param.low, param.high, param.decimals)
    if isinstance(param, RealParameter):
        return FloatDistribution(float(param.low), float(param.high))
    if isinstance(param, CategoricalParameter):
        return CategoricalDistribution(list(param.opt_range))
    raise ConfigError(f"{param.name}: {param.param_type} cannot be searched; expected an "
                      "IntParameter, DecimalParameter, RealParameter, CategoricalParameter "
                      "or BooleanParameter")


def strategy_parameters(strategy: IStrategy) -> dict[str, dict[str, BaseParameter]]:
    """The strategy's parameters by space, then name (those the loader gave it)."""
    spaces: dict[str, dict[str, BaseParameter]] = {}
    for attr in sorted(vars(strategy)):
        value = getattr(strategy, attr)
        if isinstance(value, BaseParameter):
            spaces.setdefault(str(value.space), {})[attr] = value
    return spaces


# --- the generated spaces ----------------------------------------------------------------


def roi_limits(timeframe: str) -> dict[str, tuple[float, float]]:
    """Freqtrade's adaptive ROI ranges: (low, high) of each of the six dimensions."""
    minutes = timeframe_to_minutes(timeframe)
    t_scale = minutes / 5
    p_scale = math.log1p(minutes) / math.log1p(5)
    return {
        "roi_t1": (int(10 * t_scale), int(120 * t_scale)),
        "roi_t2": (int(10 * t_scale), int(60 * t_scale)),
        "roi_t3": (int(10 * t_scale), int(40 * t_scale)),
        "roi_p1": (0.01 * p_scale, 0.04 * p_scale),
        "roi_p2": (0.01 * p_scale, 0.07 * p_scale),
        "roi_p3": (0.01 * p_scale, 0.20 * p_scale),
    }


def default_roi_space(timeframe: str) -> list[Dimension]:
    limits = roi_limits(timeframe)
    return [Dimension(name, IntDistribution(int(low), int(high)) if name.startswith("roi_t")
                      else decimal(low, high, 3)) for name, (low, high) in limits.items()]


def default_roi_table(params: Mapping[str, Any]) -> dict[int, float]:
    p1, p2, p3 = params["roi_p1"], params["roi_p2"], params["roi_p3"]
    t1, t2, t3 = params["roi_t1"], params["roi_t2"], params["roi_t3"]
    return {0: p1 + p2 + p3, t3: p1 + p2, t3 + t2: p1, t3 + t2 + t1: 0}


def default_trailing_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "trailing_stop": params["trailing_stop"],
        "trailing_stop_positive": params["trailing_stop_positive"],
        "trailing_stop_positive_offset": params["trailing_stop_positive"]
        + params["trailing_stop_positive_offset_p1"],
        "trailing_only_offset_is_reached": params["trailing_only_offset_is_reached"],
    }  # fmt: skip


_DEFAULT_SPACES: dict[str, Callable[[str], list[Dimension]]] = {
    "roi": default_roi_space,
    "stoploss": lambda _: [Dimension("stoploss", decimal(-0.35, -0.02, 3))],
    "trailing": lambda _: [
        Dimension("trailing_stop", CategoricalDistribution([True])),
        Dimension("trailing_stop_positive", decimal(0.01, 0.35, 3)),
        Dimension("trailing_stop_positive_offset_p1", decimal(0.001, 0.1, 3)),
        Dimension("trailing_only_offset_is_reached", CategoricalDistribution([True, False])),
    ],
    "trades": lambda _: [Dimension("max_open_trades", IntDistribution(-1, 10))],
}
_OVERRIDES = {"roi": "roi_space", "stoploss": "stoploss_space", "trailing": "trailing_space",
              "trades": "max_open_trades_space"}


def _override(strategy: IStrategy, method: str) -> Callable[..., Any] | None:
    """A function of the strategy's `HyperOpt` class (Freqtrade calls them unbound, as plain
    functions of the class)."""
    inner = getattr(type(strategy), "HyperOpt", None)
    found = getattr(inner, method, None) if inner is not None else None
    return found if callable(found) else None


def dimension_of(item: Any, where: str) -> Dimension:
    """One of the `freqtrade.optimize.space` stand-ins (Integer, SKDecimal, Real,
    Categorical), as the dimension it describes."""
    if not isinstance(item, optimize_space.Dimension):
        raise ConfigError(f"{where}: expected a list of Integer, SKDecimal, Real or "
                          f"Categorical (freqtrade.optimize.space), got {item!r}")
    args, kwargs = list(item.args), dict(item.kwargs)
    name = kwargs.pop("name", None)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: each dimension needs name=\"...\"")
    try:
        if isinstance(item, optimize_space.Categorical):
            categories = kwargs.pop("categories", args[0] if args else None)
            return Dimension(name, CategoricalDistribution(list(categories)))
        low = kwargs.pop("low", args[0] if args else None)
        high = kwargs.pop("high", args[1] if len(args) > 1 else None)
        if isinstance(item, optimize_space.Integer):
            return Dimension(name, IntDistribution(int(low), int(high)))
        if isinstance(item, optimize_space.SKDecimal):
            step = kwargs.get("step")
            if step is not None:
                return Dimension(name, FloatDistribution(float(low), float(high), step=step))
            return Dimension(name, decimal(float(low), float(high), int(kwargs.get("decimals", 3))))
        return Dimension(name, FloatDistribution(float(low), float(high)))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: dimension {name}: {exc}") from None


def generated_space(strategy: IStrategy, space: str) -> list[Dimension]:
    method = _OVERRIDES[space]
    custom = _override(strategy, method)
    if custom is None:
        return _DEFAULT_SPACES[space](strategy.timeframe)
    where = f"{type(strategy).__name__}.HyperOpt.{method}()"
    try:
        items = custom()
    except Exception as exc:
        raise ConfigError(f"{where} raised {type(exc).__name__}: {exc}") from None
    return [dimension_of(item, where) for item in items]


def roi_table(strategy: IStrategy, params: Mapping[str, Any]) -> dict[str, float]:
    custom = _override(strategy, "generate_roi_table")
    table = custom(dict(params)) if custom is not None else default_roi_table(params)
    return {str(k): round(float(v), 13) for k, v in sorted(table.items(),
                                                           key=lambda kv: int(kv[0]))}


def trailing_params(strategy: IStrategy, params: Mapping[str, Any]) -> dict[str, Any]:
    custom = _override(strategy, "generate_trailing_params")
    values = custom(dict(params)) if custom is not None else default_trailing_params(params)
    return {k: round(v, 13) if isinstance(v, float) else v for k, v in values.items()}


# --- all of them ---------------------------------------------------------------------------


def build_spaces(strategy: IStrategy, chosen: Sequence[str], *, ignore_missing: bool = False
                 ) -> dict[str, list[Dimension]]:
    """The dimensions of every chosen space, in Freqtrade's order of spaces."""
    unknown = [s for s in chosen if s not in SPACE_OPTIONS
               and s not in strategy_parameters(strategy)]
    if unknown:
        raise ConfigError(f"--spaces: unknown space {', '.join(unknown)}; expected "
                          f"{', '.join(SPACE_OPTIONS)} or a space of the strategy's parameters")
    params = strategy_parameters(strategy)
    order = [*BUILTIN, *sorted(s for s in params if s not in BUILTIN)]
    spaces: dict[str, list[Dimension]] = {}
    for space in order:
        if not has_space(chosen, space) and space not in chosen:
            continue
        if space in GENERATED:
            spaces[space] = generated_space(strategy, space)
            continue
        found = [Dimension(name, parameter_distribution(p))
                 for name, p in params.get(space, {}).items() if p.optimize]
        if not found and not ignore_missing:
            raise ConfigError(f"--spaces: the {space!r} space is included but "
                              f"{type(strategy).__name__} has no parameter to optimize in it; "
                              "expected other --spaces, or --ignore-missing-spaces")
        if found:
            spaces[space] = found
    if not spaces:
        raise ConfigError("--spaces: nothing to optimize in the chosen spaces")
    return spaces


def distributions(spaces: Mapping[str, Sequence[Dimension]]) -> dict[str, BaseDistribution]:
    return {d.name: d.distribution for dims in spaces.values() for d in dims}


def clean(params: Mapping[str, Any], spaces: Mapping[str, Sequence[Dimension]]
          ) -> dict[str, Any]:
    """Optuna's floats on a decimal grid (0.30000000000000004) at their decimals."""
    out = dict(params)
    for dims in spaces.values():
        for dim in dims:
            step = getattr(dim.distribution, "step", None)
            if isinstance(dim.distribution, FloatDistribution) and step:
                decimals = max(0, -math.floor(math.log10(step) + 1e-9))
                out[dim.name] = round(float(out[dim.name]), decimals)
    return out


def params_details(strategy: IStrategy, spaces: Mapping[str, Sequence[Dimension]],
                   params: Mapping[str, Any], max_open_trades: int) -> dict[str, dict[str, Any]]:
    """A point by space, as the parameter file holds it (roi as a table, trailing whole)."""
    details: dict[str, dict[str, Any]] = {}
    for space, dims in spaces.items():
        if space == "roi":
            details["roi"] = roi_table(strategy, params)
        elif space == "trailing":
            details["trailing"] = trailing_params(strategy, params)
        elif space == "trades":
            details["max_open_trades"] = {"max_open_trades": max_open_trades}
        else:
            details[space] = {d.name: params[d.name] for d in dims}
    return details
