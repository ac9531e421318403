"""`freqtrade.optimize.space`: the hyperopt space classes, as inert stand-ins.

A strategy's nested `class HyperOpt` builds its roi, stoploss, trailing and trades spaces with
these; only `bot.py hyperopt` calls them, and reads what they keep (hyperopt/spaces.py turns
them into Optuna distributions). They have no effect on any trade.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Categorical", "Dimension", "Integer", "Real", "SKDecimal"]


class Dimension:
    """A hyperopt dimension: its arguments, kept for hyperopt to read."""

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
