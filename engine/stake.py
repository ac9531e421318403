"""How much the wallet lets a trade stake now: for a new trade and for an addition to one."""

from __future__ import annotations

from dataclasses import dataclass

from engine import sizing
from engine.settings import Settings
from engine.strategy_runtime import StrategyRuntime
from store.store import Store
from venues.exchange import Exchange


@dataclass(frozen=True, slots=True)
class StakeRoom:
    available: float  # what may be staked now, the entry fee left aside
    open_stake: float  # the stake of the open trades
    open_trades: int


async def stake_room(settings: Settings, exchange: Exchange, runtime: StrategyRuntime,
                     store: Store, pair: str) -> StakeRoom:
    """The stake available for an entry on `pair` (Freqtrade's get_available_stake_amount,
    with the entry fee kept free)."""
    s = settings
    rules = exchange.rules(pair)
    balances = runtime.saw(await exchange.fetch_balance())
    free = balances[s.stake_currency].free if s.stake_currency in balances else 0.0
    opened = store.open_trades()
    open_stake = sum(t.stake_amount for t in opened)
    # Only a fixed available_capital grows with closed profit; reading every closed trade
    # on each entry would make a long run quadratic.
    closed_profit = 0.0 if s.available_capital is None else sum(
        t.close_profit_abs or 0.0 for t in store.closed_trades())
    held = sum(t.fee_open_cost or 0.0 for t in opened) if s.dry_run else 0.0
    available = sizing.available_stake(free=free, held_fees=held, open_stake=open_stake,
                                       tradable_balance_ratio=s.tradable_balance_ratio,
                                       available_capital=s.available_capital,
                                       closed_profit=closed_profit)
    # The entry fee is paid from the free balance too: staking all that is free would
    # leave nothing for it, and the exchange would refuse the entry on every candle.
    available = min(available, free / (1 + max(rules.taker_fee, rules.maker_fee)))
    return StakeRoom(available, open_stake, len(opened))
