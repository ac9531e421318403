"""How much the wallet lets a trade stake now: for a new trade and for an addition to one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine import sizing
from engine.settings import Settings
from engine.strategy import safe_call
from engine.strategy_runtime import StrategyRuntime
from engine.trader import Trader, finite_number
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


async def entry_stake(trader: Trader, exchange: Exchange, store: Store, pair: str, price: float,
                      now: datetime, tag: str | None) -> float | None:
    """A new trade's stake: the config's (or its share of the wallet), the strategy's
    custom_stake_amount, within the market's limits and the wallet; None (logged once) when
    no stake fits."""
    s = trader.settings
    rules = exchange.rules(pair)
    room = await stake_room(s, exchange, trader.runtime, store, pair)
    available = room.available
    stake = sizing.proposed_stake(
        stake_amount=s.stake_amount, available=available, open_stake=room.open_stake,
        max_open_trades=s.max_open_trades, open_trades=room.open_trades,
        amend_last_stake_amount=s.amend_last_stake_amount,
        last_stake_amount_min_ratio=s.last_stake_amount_min_ratio)
    low = sizing.min_stake(rules, price, trader.rules.stoploss, s.amount_reserve_percent)
    high = sizing.max_stake(rules, price)
    custom = safe_call(pair, trader.strategy.custom_stake_amount, default=stake,
                       log_once=trader.log_once, current_time=now, current_rate=price,
                       proposed_stake=stake, min_stake=low, max_stake=high, leverage=1.0,
                       entry_tag=tag, side="long")
    check = sizing.validate_stake(finite_number(custom) or 0.0, min_stake=low, max_stake=high,
                                  available=available)
    if check.stake is None:
        trader.log_once.info(("stake", pair, check.reason), "no entry for %s: %s", pair,
                             check.reason)
    return check.stake
