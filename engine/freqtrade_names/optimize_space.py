"""`freqtrade.optimize.space`: the hyperopt space classes, as inert stand-ins.

Older strategies carry a nested `class HyperOpt` whose methods build these spaces; only
hyperopt ever calls them. tradepilot has no hyperopt, so the classes exist for the file to
load, keep what they are given, and have no effect on any trade.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Categorical", "Dimension", "Integer", "Real", "SKDecimal"]


class Dimension:
    """A hyperopt dimension: its arguments, kept and never used."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs


class Categorical(Dimension):
    pass


class Integer(Dimension):
    pass


class Real(Dimension):
    pass


class SKDecimal(Dimension):
    pass
