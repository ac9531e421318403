"""How much stake a new trade gets: Freqtrade's wallet and exchange-limit rules (its
`wallets.py` and `exchange._get_stake_amount_limit`).

Pure functions over plain numbers and a market's `MarketRules`; amounts and prices are rounded
later, at the order boundary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from venues.exchange import MarketRules

# A stake below the exchange minimum is raised to it, but never by more than this factor.
MAX_STAKE_RAISE = 1.3
# Freqtrade caps the stoploss reserve of the minimum stake at +50%.
MAX_STOPLOSS_RESERVE = 1.5


def available_stake(*, free: float, open_stake: float, tradable_balance_ratio: float,
                    available_capital: float | None, closed_profit: float,
                    held_fees: float = 0.0) -> float:
    """Stake currency a new trade may still use.

    Without `available_capital` the tradable total is (open stakes + free) times the ratio,
    so the ratio applies to the whole balance and stakes do not shrink with every open trade.
    Never more than what is free. `held_fees` (dry-run) are the entry fees of the open trades,
    which count as free: Freqtrade's dry-run wallet, and so its backtest, books an entry fee
    only in the trade's profit at its exit.
    """
    free += held_fees
    if available_capital is not None:
        total = available_capital + closed_profit
    else:
        total = (open_stake + free) * tradable_balance_ratio
    return max(min(total - open_stake, free), 0.0)


def proposed_stake(*, stake_amount: float | Literal["unlimited"], available: float,
                   open_stake: float, max_open_trades: int, open_trades: int,
                   amend_last_stake_amount: bool = False,
                   last_stake_amount_min_ratio: float = 0.5) -> float:
    """The stake for the next trade before exchange limits, or 0.0 when nothing may be staked
    (no free slot, or less available than the configured stake).

    `max_open_trades` -1 means unlimited. An "unlimited" stake splits (available + open
    stakes) evenly over the slots, capped at what is available.
    """
    slots = math.inf if max_open_trades < 0 else max_open_trades
    if open_trades >= slots or available <= 0:
        return 0.0
    if stake_amount == "unlimited":
        stake = min((available + open_stake) / slots, available)
    else:
        stake = stake_amount
    if amend_last_stake_amount:
        stake = min(stake, available) if available > stake * last_stake_amount_min_ratio else 0.0
    if available < stake:
        return 0.0
    return max(stake, 0.0)


def stoploss_reserve(stoploss: float, amount_reserve_percent: float) -> float:
    """Headroom on the exchange's minimum cost so that the trade can still be sold after
    falling to its stoploss: (1 + reserve) / (1 - |stoploss|), kept within [1, 1.5]."""
    margin = 1.0 + amount_reserve_percent
    reserve = margin / (1 - abs(stoploss)) if abs(stoploss) != 1 else MAX_STOPLOSS_RESERVE
    return max(min(reserve, MAX_STOPLOSS_RESERVE), 1.0)


def min_stake(rules: MarketRules, price: float, stoploss: float,
              amount_reserve_percent: float = 0.05) -> float | None:
    """The smallest stake the exchange accepts at `price`, with Freqtrade's reserves; None
    when the market defines no minimum."""
    limits: list[float] = []
    if rules.min_cost is not None:
        limits.append(rules.min_cost * stoploss_reserve(stoploss, amount_reserve_percent))
    if rules.min_amount is not None:
        limits.append(rules.min_amount * price * (1.0 + amount_reserve_percent))
    return max(limits) if limits else None


def max_stake(rules: MarketRules, price: float) -> float:
    """The largest stake the exchange accepts at `price`; inf when the market defines none."""
    limits: list[float] = []
    if rules.max_cost is not None:
        limits.append(rules.max_cost)
    if rules.max_amount is not None:
        limits.append(rules.max_amount * price)
    return min(limits) if limits else math.inf


@dataclass(frozen=True, slots=True)
class StakeCheck:
    stake: float | None  # None: skip this trade
    reason: str  # why the stake was skipped or changed; empty when accepted as asked


def validate_stake(stake: float, *, min_stake: float | None, max_stake: float,
                   available: float, trade_stake: float = 0.0, currency: str = ""
                   ) -> StakeCheck:
    """Fit a stake between the exchange limits and the available balance.

    A stake below the exchange minimum is raised to it unless that adds more than 30%; a stake
    above the allowed maximum (the exchange maximum, the available balance, and for an
    existing trade of `trade_stake` the exchange maximum minus that stake) is cut to it.
    """
    unit = f" {currency}" if currency else ""
    if not stake > 0:
        return StakeCheck(None, f"stake {stake:.8g}{unit} leaves nothing to trade")
    allowed = min(max_stake, available)
    if trade_stake:
        allowed = min(allowed, max_stake - trade_stake)
    if not allowed > 0:
        return StakeCheck(None, f"nothing may be staked: {allowed:.8g}{unit} is available "
                                "within the limits")
    if min_stake is not None and min_stake > allowed:
        return StakeCheck(None, f"the exchange minimum stake {min_stake:.8g}{unit} is more than "
                                f"the {allowed:.8g}{unit} that may be staked")
    reason = ""
    if min_stake is not None and stake < min_stake:
        if stake * MAX_STAKE_RAISE < min_stake:
            return StakeCheck(None, f"stake {stake:.8g}{unit} is below the exchange minimum "
                                    f"{min_stake:.8g}{unit} and raising it by more than 30% "
                                    "is not allowed")
        reason = (f"stake {stake:.8g}{unit} raised to the exchange minimum "
                  f"{min_stake:.8g}{unit}")
        stake = min_stake
    if stake > allowed:
        reason = f"stake {stake:.8g}{unit} cut to the {allowed:.8g}{unit} that may be staked"
        stake = allowed
    return StakeCheck(stake, reason)


def amount_for(stake: float, price: float) -> float:
    """How much of the base currency `stake` buys at `price`, unrounded: the exchange
    boundary truncates it to the market's step."""
    return stake / price
