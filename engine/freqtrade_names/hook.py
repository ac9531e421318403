"""The import hook that lets a strategy file import Freqtrade's names, and nothing else see them.

The loader gives each strategy module its own `__builtins__`, a copy of the real ones whose
`__import__` is `FreqtradeNames.import_`. Chosen over a meta-path finder active while the file
is imported, because:

- strategies import lazily too (`from freqtrade.persistence import Trade` inside
  `custom_stoploss`, run hours after loading). A function keeps its module's builtins, so this
  hook answers those imports whenever they run; a finder removed after loading would be gone by
  then, and one left installed would answer for every module of the process.
- nothing is put into `sys.modules`: a strategy gets module views made for it, so outside
  strategy code `import freqtrade` finds a real Freqtrade (or none) as if tradepilot did not
  exist, and a real Freqtrade installed beside us does not replace our names inside strategies.
- the views belong to one strategy module, so its `Trade.get_open_trades()` reads the store of
  the engine that runs that strategy, not a process-wide one.

Limits: only the strategy file's own code is covered. A library that the file imports and that
imports `freqtrade` itself does not see these names, and `importlib.import_module("freqtrade")`
bypasses the hook.
"""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType, ModuleType
from typing import Any, Final

# Which module of ours (or of `technical`, for qtpylib) answers for which Freqtrade module.
MODULES: Final = MappingProxyType({
    "freqtrade.strategy": "engine.freqtrade_names.strategy",
    "freqtrade.strategy.interface": "engine.freqtrade_names.strategy_interface",
    "freqtrade.strategy.parameters": "engine.freqtrade_names.strategy_parameters",
    "freqtrade.strategy.hyper": "engine.freqtrade_names.strategy_hyper",
    "freqtrade.strategy.strategy_helper": "engine.freqtrade_names.strategy_helper",
    "freqtrade.strategy.informative_decorator": "engine.freqtrade_names.strategy_informative",
    "freqtrade.persistence": "engine.freqtrade_names.persistence",
    "freqtrade.exchange": "engine.freqtrade_names.exchange",
    "freqtrade.enums": "engine.freqtrade_names.enums",
    "freqtrade.constants": "engine.freqtrade_names.constants",
    "freqtrade.data.dataprovider": "engine.freqtrade_names.data_dataprovider",
    "freqtrade.optimize.space": "engine.freqtrade_names.optimize_space",
    "freqtrade.optimize.hyperopt": "engine.freqtrade_names.optimize_hyperopt",
    "freqtrade.optimize.hyperopt_loss.hyperopt_loss_interface":
        "engine.freqtrade_names.optimize_hyperopt",
    # Freqtrade 2026.9's own module is a re-export of technical.qtpylib.
    "freqtrade.vendor.qtpylib.indicators": "technical.qtpylib",
})  # fmt: skip

# Freqtrade modules that we know of and do not provide, and why (the longest prefix applies).
REFUSED: Final = MappingProxyType({
    "freqtrade.optimize": "of Freqtrade's optimize package only freqtrade.optimize.space and "
                          "IHyperOptLoss (freqtrade.optimize.hyperopt) are provided; `bot.py "
                          "hyperopt` and `bot.py backtest` are the commands",
    "freqtrade.freqai": "FreqAI (machine-learning strategies) is not supported",
    "freqtrade.rpc": "tradepilot's chat is its own; a strategy cannot send Freqtrade RPC messages",
    "freqtrade.persistence.": "only freqtrade.persistence itself (Trade, Order) is provided",
})  # fmt: skip
_GENERIC = ("no tradepilot module stands for it (docs/strategies.md lists what a strategy "
            "can import)")


class NotProvided(ImportError):
    """A Freqtrade name tradepilot does not provide. An ImportError, so a strategy's own
    `try: ... except ImportError:` fallback still works; the loader turns it into a ConfigError
    naming the strategy file and line."""


def not_provided(name: str, why: str) -> NotProvided:
    return NotProvided(f"tradepilot does not provide {name}: {why}", name=name)


def _packages() -> frozenset[str]:
    found: set[str] = set()
    for module in MODULES:
        parts = module.split(".")
        found.update(".".join(parts[:n]) for n in range(1, len(parts)))
    return frozenset(found)


_PACKAGES: Final = _packages()


def provided_names(module: ModuleType) -> Sequence[str]:
    """The names a module of ours provides (its `__all__`), or a library's public names."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return list(names)


class _View(ModuleType):
    """What a strategy gets for one Freqtrade module or package: a stand-in that resolves its
    submodules and names on first use."""

    def __init__(self, name: str, hook: FreqtradeNames) -> None:
        super().__init__(name)
        self._hook = hook
        self._target = MODULES.get(name)

    def _module(self) -> ModuleType:
        if self._target is None:
            raise AttributeError(f"{self.__name__} is a package view without names of its own")
        return importlib.import_module(self._target)

    def provides(self, attr: str) -> bool:
        child = f"{self.__name__}.{attr}"
        if child in MODULES or child in _PACKAGES:
            return True
        return self._target is not None and attr in provided_names(self._module())

    def why_not(self, attr: str) -> str:
        if self._target is None:
            return _refusal(f"{self.__name__}.{attr}")
        module = self._module()
        reasons: Mapping[str, str] = getattr(module, "NOT_PROVIDED", {})
        return reasons.get(attr, f"{self.__name__} here provides only "
                                 f"{', '.join(sorted(provided_names(module)))}")

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr != "__all__":
            raise AttributeError(attr)
        child = f"{self.__name__}.{attr}"
        if child in MODULES or child in _PACKAGES:
            value: Any = self._hook.view(child)
        elif attr == "__all__" and self._target is not None:
            return list(provided_names(self._module()))
        elif self.provides(attr):
            value = self._hook.replace(getattr(self._module(), attr))
        else:
            raise AttributeError(f"tradepilot does not provide {child}: {self.why_not(attr)}")
        setattr(self, attr, value)
        return value


def _refusal(name: str) -> str:
    matches = [prefix for prefix in REFUSED if name.startswith(prefix)]
    return REFUSED[max(matches, key=len)] if matches else _GENERIC


class FreqtradeNames:
    """The `freqtrade.*` names of one strategy module. `replace` swaps an object of ours for
    the module's own (the `Trade` bound to the engine that runs this strategy)."""

    def __init__(self, replace: Callable[[Any], Any] | None = None) -> None:
        self._views: dict[str, _View] = {}
        self._replace = replace
        self._real_import = builtins.__import__

    def replace(self, value: Any) -> Any:
        return value if self._replace is None else self._replace(value)

    def builtins(self) -> dict[str, Any]:
        """The builtins for a strategy module's `__builtins__`: the real ones, this hook's
        `__import__`."""
        names = dict(vars(builtins))
        names["__import__"] = self.import_
        return names

    def view(self, name: str) -> _View:
        if name not in self._views:
            if name not in MODULES and name not in _PACKAGES:
                raise not_provided(name, _refusal(name))
            self._views[name] = _View(name, self)
        return self._views[name]

    def import_(self, name: str, globals: Mapping[str, Any] | None = None,
                locals: Mapping[str, Any] | None = None,
                fromlist: Sequence[str] | None = (), level: int = 0) -> Any:
        """`__import__` with Freqtrade's absolute names answered here, all else as usual."""
        if level != 0 or (name != "freqtrade" and not name.startswith("freqtrade.")):
            return self._real_import(name, globals, locals, fromlist or (), level)
        leaf = self.view(name)
        if not fromlist:
            return self.view("freqtrade")
        for wanted in fromlist:
            if wanted == "*":
                continue
            if not leaf.provides(wanted):
                raise not_provided(f"{name}.{wanted}", leaf.why_not(wanted))
            getattr(leaf, wanted)  # a lazily provided name fails here, at the import line
        return leaf


def lazy_name(target: str, name: str, freqtrade_name: str, feature: str) -> Any:
    """`name` of our module `target`, imported on first use: a name another part of
    tradepilot provides, which fails as not provided when that part is missing."""
    try:
        module = importlib.import_module(target)
    except ImportError:
        raise not_provided(freqtrade_name, f"{feature} is not available in this build "
                                           f"({target} is missing)") from None
    if not hasattr(module, name):
        raise not_provided(freqtrade_name, f"{target} has no {name}")
    return getattr(module, name)
