"""`freqtrade.optimize.hyperopt` (and its `hyperopt_loss_interface`): the base class of a
user's hyperopt loss, the only name of these modules a user file imports. `bot.py hyperopt
--hyperopt-loss NAME` loads the class from its file as a strategy is loaded and calls its
`hyperopt_loss_function` with Freqtrade's keyword arguments (hyperopt/losses.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = ["IHyperOptLoss"]
NOT_PROVIDED = {
    "IHyperOpt": "Freqtrade 2026.9 has no separate hyperopt classes either; a strategy's spaces "
                 "are its parameters and its inner `class HyperOpt`",
}


class IHyperOptLoss:
    """A loss: smaller is better. `timeframe` is set to the strategy's before it is called."""

    timeframe: str

    @staticmethod
    def hyperopt_loss_function(*, results: Any, trade_count: int, min_date: datetime,
                               max_date: datetime, config: dict[str, Any], processed: Any,
                               backtest_stats: dict[str, Any], starting_balance: float,
                               **kwargs: Any) -> float:
        raise NotImplementedError("a hyperopt loss class defines hyperopt_loss_function")
