"""`freqtrade.constants`: the type aliases strategies use in their hints."""

from typing import Any

__all__ = ["Config", "ListPairsWithTimeframes", "PairWithTimeframe"]

Config = dict[str, Any]
PairWithTimeframe = tuple[str, str] | tuple[str, str, Any]
ListPairsWithTimeframes = list[PairWithTimeframe]
