"""`freqtrade.strategy.parameters`: the parameter classes (engine/parameters.py)."""

from engine.parameters import (
    BaseParameter,
    BooleanParameter,
    CategoricalParameter,
    DecimalParameter,
    IntParameter,
    NumericParameter,
    RealParameter,
)

__all__ = ["BaseParameter", "BooleanParameter", "CategoricalParameter", "DecimalParameter",
           "IntParameter", "NumericParameter", "RealParameter"]
