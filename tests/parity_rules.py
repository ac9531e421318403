"""The parity rules of `../shared/parity/README.md`: how a trade list of ours is held against
Freqtrade's. Same trades in the same order; pair, dates and exit reason equal; rates and amounts
within 1e-9 relative; profit ratios within 1e-9 absolute."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

EXACT_KEYS = ("pair", "open_date", "close_date", "exit_reason")
RELATIVE_KEYS = ("open_rate", "close_rate", "amount")
RELATIVE_TOLERANCE = 1e-9
PROFIT_TOLERANCE = 1e-9


def differences(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """What differs between one trade of ours and Freqtrade's, one line per field."""
    found = [f"{key}: {ours.get(key)!r} != {theirs[key]!r}"
             for key in EXACT_KEYS if ours.get(key) != theirs[key]]
    found += [f"{key}: {ours.get(key)!r} != {theirs[key]!r}"
              for key in RELATIVE_KEYS
              if not math.isclose(ours.get(key, math.nan), theirs[key],
                                  rel_tol=RELATIVE_TOLERANCE)]
    if not abs(ours.get("profit_ratio", math.nan) - theirs["profit_ratio"]) <= PROFIT_TOLERANCE:
        found.append(f"profit_ratio: {ours.get('profit_ratio')!r} != {theirs['profit_ratio']!r}")
    return found


def first_difference(ours: Sequence[dict[str, Any]], theirs: Sequence[dict[str, Any]]
                     ) -> str | None:
    """The first trade that breaks the rules, or a differing count; None when the lists match."""
    for index, (mine, reference) in enumerate(zip(ours, theirs, strict=False)):
        problems = differences(mine, reference)
        if problems:
            return (f"trade {index} (Freqtrade: {reference['pair']} {reference['open_date']}): "
                    f"{'; '.join(problems)}")
    if len(ours) != len(theirs):
        return f"{len(ours)} trades here, {len(theirs)} in Freqtrade's list"
    return None


ORDER_EXACT_KEYS = ("side", "filled_date", "tag")
ORDER_RELATIVE_KEYS = ("amount", "price")


def first_order_difference(ours: Sequence[dict[str, Any]], theirs: Sequence[dict[str, Any]]
                           ) -> str | None:
    """The first trade whose filled orders differ from Freqtrade's (`reference/orders/`): the
    same orders in the same order, side, fill date and tag equal, amount and price within
    1e-9 relative; None when every trade's orders match."""
    for index, (mine, reference) in enumerate(zip(ours, theirs, strict=False)):
        where = f"trade {index} (Freqtrade: {reference['pair']} {reference['open_date']})"
        if (mine["pair"], mine["open_date"]) != (reference["pair"], reference["open_date"]):
            return f"{where}: is {mine['pair']} {mine['open_date']} here"
        if len(mine["orders"]) != len(reference["orders"]):
            return (f"{where}: {len(mine['orders'])} orders here, "
                    f"{len(reference['orders'])} in Freqtrade's")
        for number, (order, expected) in enumerate(zip(mine["orders"], reference["orders"],
                                                       strict=True)):
            problems = [f"{key}: {order.get(key)!r} != {expected[key]!r}"
                        for key in ORDER_EXACT_KEYS if order.get(key) != expected[key]]
            problems += [f"{key}: {order.get(key)!r} != {expected[key]!r}"
                         for key in ORDER_RELATIVE_KEYS
                         if not math.isclose(order.get(key, math.nan), expected[key],
                                             rel_tol=RELATIVE_TOLERANCE)]
            if problems:
                return f"{where}, order {number}: {'; '.join(problems)}"
    if len(ours) != len(theirs):
        return f"{len(ours)} trades here, {len(theirs)} in Freqtrade's list"
    return None
