"""What a running strategy may read of the bot, and the one pair-lock door it may use.

The engine binds a `StrategyRuntime` to its strategy when it adopts it (`Trader.configure`,
at start and on /reload): `self.config` (the effective config with Freqtrade's key names, a
copy), `self.wallets` (read-only balances), `self.lock_pair` and friends on the store's pair
locks, and, for a file that imports `freqtrade.persistence`, its own `Trade` whose class
methods read this engine's trades as frozen snapshots. Backtests run the same engine, so all
of it works there too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from core.clock import Clock
from engine.settings import Settings
from engine.strategy import TradeSnapshot
from marketdata.timeframe import timeframe_to_next_date
from store.store import Store
from venues.exchange import Balance

if TYPE_CHECKING:
    from engine.strategy import IStrategy

logger = logging.getLogger(__name__)

# Our settings that are not Freqtrade config keys, or are named differently there.
_NOT_FREQTRADE = ("secrets", "source", "ignored_keys", "database_url", "telegram_chat_id",
                  "offline", "backtest", "verbosity", "log_file")


def freqtrade_config(settings: Settings, strategy: IStrategy | None = None) -> dict[str, Any]:
    """The effective config as a Freqtrade strategy reads `self.config`: plain data, a copy,
    no secrets; the strategy's effective values where the config has none."""
    config = {k: v for k, v in settings.redacted().items() if k not in _NOT_FREQTRADE}
    config["db_url"] = settings.redacted()["database_url"]
    config["trading_mode"] = "spot"
    config["margin_mode"] = ""
    config["candle_type_def"] = "spot"
    if strategy is not None:
        for key, value in config.items():
            if value is None and hasattr(strategy, key):
                config[key] = _plain(getattr(strategy, key))
    return config


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def parameter_values(strategy: IStrategy) -> dict[str, dict[str, Any]]:
    """The strategy's effective parameter values by space, as plain data."""
    return {space: dict(values) for space, values in strategy.parameter_values.items()}


class Wallet(NamedTuple):
    currency: str
    free: float
    used: float
    total: float


class StrategyWallets:
    """Freqtrade's `Wallets` as a strategy reads it. Live, the balances the engine last
    fetched from the exchange (at every entry's sizing and the wallet check); otherwise
    computed as Freqtrade does in dry-run and backtests: the starting wallet plus closed
    profit, less the stakes of open trades, and each open trade's coins. Read-only: nothing
    here can move money."""

    def __init__(self, runtime: StrategyRuntime) -> None:
        self._runtime = runtime
        self._store = runtime.store
        self._settings = runtime.settings

    def _wallets(self) -> dict[str, Wallet]:
        if not self._settings.dry_run:
            return {b.currency: Wallet(b.currency, b.free, b.used, b.total)
                    for b in (self._runtime.balances or {}).values()}
        stake = self._settings.stake_currency
        opened = self._store.open_trades()
        profit = sum(t.close_profit_abs or 0.0 for t in self._store.closed_trades())
        profit += sum(t.realized_profit for t in opened)
        in_trades = sum(t.stake_amount for t in opened)
        wallets: dict[str, Wallet] = {}
        used_stake = 0.0
        for trade in opened:
            orders = self._store.open_orders_of(trade)
            used_stake += sum(o.amount * o.price for o in orders if o.is_entry)
            pending = sum(o.amount for o in orders if not o.is_entry)
            wallets[trade.base_currency] = Wallet(trade.base_currency, trade.amount - pending,
                                                  pending, trade.amount)
        current = self._settings.dry_run_wallet + profit - in_trades
        wallets[stake] = Wallet(stake, current, used_stake, current + used_stake)
        return wallets

    def get_free(self, currency: str) -> float:
        wallet = self._wallets().get(currency)
        return wallet.free if wallet and wallet.free else 0

    def get_used(self, currency: str) -> float:
        wallet = self._wallets().get(currency)
        return wallet.used if wallet and wallet.used else 0

    def get_total(self, currency: str) -> float:
        wallet = self._wallets().get(currency)
        return wallet.total if wallet and wallet.total else 0

    def get_owned(self, pair: str, base_currency: str) -> float:
        return self.get_total(base_currency) or 0

    def get_all_balances(self) -> dict[str, Wallet]:
        return self._wallets()

    def get_total_stake_amount(self) -> float:
        """(Open stakes + free) x tradable_balance_ratio, or available_capital plus closed
        profit when that is set."""
        s = self._settings
        tied_up = sum(t.stake_amount for t in self._store.open_trades())
        if s.available_capital is not None:
            closed = sum(t.close_profit_abs or 0.0 for t in self._store.closed_trades())
            return s.available_capital + closed
        return (tied_up + self.get_free(s.stake_currency)) * s.tradable_balance_ratio

    def get_available_stake_amount(self) -> float:
        tied_up = sum(t.stake_amount for t in self._store.open_trades())
        free = self.get_free(self._settings.stake_currency)
        return min(self.get_total_stake_amount() - tied_up, free)

    def get_starting_balance(self) -> float:
        s = self._settings
        if s.available_capital is not None:
            return s.available_capital
        closed = sum(t.close_profit_abs or 0.0 for t in self._store.closed_trades())
        tied_up = sum(t.stake_amount for t in self._store.open_trades())
        return (self.get_free(s.stake_currency) - closed + tied_up) * s.tradable_balance_ratio


class StrategyRuntime:
    """The running bot, as much of it as a strategy may touch."""

    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.balances: Mapping[str, Balance] | None = None

    def saw(self, balances: dict[str, Balance]) -> dict[str, Balance]:
        """Keep the balances the engine just fetched, for the live wallets; hand them on."""
        self.balances = balances
        return balances

    # --- trades, as Freqtrade's Trade class methods give them ------------------------------

    def trades(self, *, pair: str | None = None, is_open: bool | None = None,
               open_date: datetime | None = None, close_date: datetime | None = None
               ) -> list[TradeSnapshot]:
        found = []
        if is_open is not False:
            found.extend(self.store.open_trades())
        if is_open is not True:
            found.extend(self.store.closed_trades())
        found = [t for t in found if (pair is None or t.pair == pair)
                 and (open_date is None or t.open_date > open_date)
                 and (close_date is None or (t.close_date is not None
                                             and t.close_date > close_date))]
        found.sort(key=lambda t: (t.open_date, t.id))
        return [TradeSnapshot.from_trade(t, self.store.orders_of(t.id)) for t in found]

    # --- pair locks ------------------------------------------------------------------------

    def lock_pair(self, pair: str, until: datetime, reason: str | None, side: str,
                  timeframe: str) -> None:
        if side == "short":
            return  # a short lock never stops a long entry, the only kind made here
        now = self.clock.now()
        end = timeframe_to_next_date(timeframe, until)
        for lock in self.store.active_locks(now):
            if lock.pair == pair and lock.reason == (reason or "") and lock.lock_end_time == end:
                return
        self.store.lock_pair(pair, end, reason or "", now)

    def unlock_pair(self, pair: str) -> None:
        self.store.unlock(pair, self.clock.now())

    def unlock_reason(self, reason: str) -> None:
        now = self.clock.now()
        for lock in self.store.active_locks(now):
            if lock.reason == reason:
                self.store.unlock(str(lock.id), now)

    def is_pair_locked(self, pair: str, when: datetime | None) -> bool:
        locked = self.store.locked_pairs(when or self.clock.now())
        return pair in locked or "*" in locked


class RuntimeSlot:
    """Where a strategy module's `Trade` finds the runtime of the engine running it (set when
    the engine binds its strategy); empty until then, and its Trade sees no trades."""

    def __init__(self) -> None:
        self.runtime: StrategyRuntime | None = None


def bind_runtime(strategy: IStrategy, settings: Settings, store: Store,
                 clock: Clock) -> StrategyRuntime:
    """Give the strategy the running bot: config, wallets, locks and its module's Trade."""
    runtime = StrategyRuntime(store, clock, settings)
    strategy.config = freqtrade_config(settings, strategy)
    # Freqtrade copies these config values onto the strategy too.
    strategy.stake_currency = settings.stake_currency
    strategy.stake_amount = settings.stake_amount
    strategy.max_open_trades = settings.max_open_trades
    strategy.wallets = StrategyWallets(runtime)
    strategy.tradepilot_runtime = runtime
    if strategy.tradepilot_slot is not None:
        strategy.tradepilot_slot.runtime = runtime
    return runtime
