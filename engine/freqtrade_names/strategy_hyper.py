"""`freqtrade.strategy.hyper`: in Freqtrade 2026.9 it no longer holds the parameter classes
(older strategies import them from here and fail there too)."""

from engine.parameters import BaseParameter

__all__ = ["BaseParameter"]

_MOVED = ("not in Freqtrade 2026.9's freqtrade.strategy.hyper either; import it from "
          "freqtrade.strategy")
NOT_PROVIDED = {name: _MOVED for name in ("IntParameter", "DecimalParameter", "RealParameter",
                                          "CategoricalParameter", "BooleanParameter")}
NOT_PROVIDED["HyperStrategyMixin"] = "hyperopt is not part of tradepilot"
