"""The command API behind the chat (`engine.control.api.Control`), over one Engine.

Queries read the database and the last tickers only, so they answer while the exchange
hangs. Actions take the engine's lock, so they never race an iteration, and change the engine
only through its own methods (`Engine`'s owner's actions, `Engine.run_state`), turning what
they return into views. Refusals are CommandError, whose text is shown to the user as it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from core.errors import CommandError, ConfigError, ExchangeError, FatalExchangeError, TemporaryError
from engine.control.api import MAX_SPAN, PeriodUnit, TagKind
from engine.control.reports import (
    performance,
    period_report,
    profit_summary,
    stats,
    tag_performance,
    trade_orders,
    trade_view,
)
from engine.control.views import (
    ActionResult,
    BalanceView,
    CountView,
    CurrencyBalance,
    HealthView,
    LockView,
    PairPerformance,
    PeriodReport,
    ProfitSummary,
    StatsView,
    TagPerformance,
    TradeOrders,
    TradeView,
    WhitelistView,
)
from engine.engine import Engine
from engine.fiat import FiatRate
from engine.pairs import pattern_problem
from engine.runstate import EngineState
from engine.settings import Settings
from engine.strategy import IStrategy
from engine.strategy_runtime import parameter_values
from engine.trader import ForceExitOutcome
from store.models import Trade
from store.store import Store
from venues.exchange import Ticker

Reloader = Callable[[], tuple[Settings, IStrategy]]
T = TypeVar("T")

_FORCE_EXIT_TEXT: dict[ForceExitOutcome, str] = {
    "exiting": "Exiting trade(s) {}.",
    "removed": "Trade(s) {}: the entry was cancelled with nothing filled; removed.",
    "closed": "Trade(s) {}: the exit filled before it could be replaced; closed.",
}


class Commands:
    def __init__(self, engine: Engine, store: Store, reloader: Reloader | None = None) -> None:
        self.engine = engine
        self.store = store
        self.reloader = reloader

    # --- life cycle pass-through (the chat application drives these) -----------------------

    async def startup(self) -> None:
        await self.engine.startup()

    async def process(self) -> None:
        await self.engine.process()

    async def shutdown(self) -> None:
        await self.engine.shutdown()

    @property
    def state(self) -> str:
        return self.engine.run_state.state.value

    @property
    def dry_run(self) -> bool:
        return self.engine.settings.dry_run

    @property
    def stake_currency(self) -> str:
        return self.engine.settings.stake_currency

    def fiat(self) -> FiatRate | None:
        """The stake currency's value in `fiat_display_currency`, as the engine last read it
        (None: not configured, or no recent rate)."""
        return self.engine.fiat.current(self.engine.clock.now())

    # --- state -------------------------------------------------------------------------------

    def _set_state(self, state: EngineState, text: str) -> ActionResult:
        if not self.engine.run_state.change(state):
            return ActionResult(f"Already {state.value}.")
        return ActionResult(text)

    async def start(self) -> ActionResult:
        return self._set_state(EngineState.RUNNING, "Running: entries and exits are active.")

    async def pause(self) -> ActionResult:
        return self._set_state(EngineState.PAUSED, "Paused: no new entries. Exits, stops and "
                               "open orders are still managed. /start resumes.")

    async def stop(self) -> ActionResult:
        count = len(self.store.open_trades())
        return self._set_state(EngineState.STOPPED, f"Stopped: no entries and no strategy exits. "
                               f"The stoploss keeps protecting the {count} open trade(s). "
                               "/start resumes.")

    async def reload(self) -> ActionResult:
        if self.reloader is None:
            raise CommandError("Reload is not available in this run.")
        try:
            settings, strategy = self.reloader()
        except ConfigError as exc:
            raise CommandError(f"New config refused, the old one keeps running: {exc}") from None
        refusal = self._needs_restart(settings, strategy)
        if refusal:
            raise CommandError(f"New config refused, the old one keeps running: {refusal}")
        async with self.engine.lock:
            kept = self.engine.reload(settings, strategy)
        state = kept.state.value + ("" if kept.state is EngineState.RUNNING
                                    else " (/start resumes)")
        return ActionResult(f"Config reloaded, strategy {type(strategy).__name__} read again "
                            f"from its file. Kept: state {state}; pairs blacklisted in chat: "
                            f"{', '.join(kept.blacklisted) or 'none'}.")

    def _needs_restart(self, settings: Settings, strategy: IStrategy) -> str | None:
        """What the new config changes that only a restart can, or None."""
        running = self.engine.settings
        if (settings.dry_run, settings.exchange.name) != (running.dry_run, running.exchange.name):
            # The venue (paper or the real account) is built once: switching needs a restart.
            mode = "DRY-RUN" if running.dry_run else "LIVE"
            return ("dry_run and exchange.name change only with a restart (running "
                    f"{mode} on {running.exchange.name}).")
        timeframe = self.engine.strategy.timeframe
        if strategy.timeframe != timeframe:
            # The candles are fetched and cached for one timeframe, chosen at start.
            return (f"the timeframe changes only with a restart (running {timeframe}, "
                    f"the new config has {strategy.timeframe}).")
        return None

    # --- queries -----------------------------------------------------------------------------

    def _rate(self, pair: str) -> float | None:
        ticker = self.engine.tickers.get(pair)
        return ticker.bid if ticker else None

    def _trade(self, trade_id: int, *, must_be_open: bool = True) -> Trade:
        trade = self.store.trade(trade_id)
        if trade is None or (must_be_open and not trade.is_open):
            raise CommandError(f"No open trade with id {trade_id}." if must_be_open
                               else f"No trade with id {trade_id}.")
        return trade

    def status(self, trade_ids: list[int] | None = None) -> list[TradeView]:
        if trade_ids:
            trades = [self._trade(i, must_be_open=False) for i in trade_ids]
        else:
            trades = self.store.open_trades()
        return [self._view(t, self._rate(t.pair)) for t in trades]

    def trades(self, limit: int = 10) -> list[TradeView]:
        return [self._view(t, None) for t in self.store.latest_closed_trades(limit)]

    def _start_balance(self) -> float:
        s = self.engine.settings
        if s.available_capital is not None:
            return s.available_capital
        stored = self.store.value("starting_balance")
        return float(stored) if stored else s.dry_run_wallet

    def _stored_time(self, key: str) -> datetime | None:
        value = self.store.value(key)
        return datetime.fromisoformat(value) if value else None

    def _view(self, trade: Trade, rate: float | None) -> TradeView:
        return trade_view(trade, rate, self.store.orders_of(trade.id))

    def profit(self, days: int | None = None) -> ProfitSummary:
        now = self.engine.clock.now()
        since = None
        if days is not None:
            _check_span("days", days)
            midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
            since = midnight - timedelta(days=days - 1)
        opened = self.store.open_trades()
        closed = self.store.closed_trades(since)
        rates = {t.pair: r for t in opened if (r := self._rate(t.pair)) is not None}
        return profit_summary(closed, opened, rates, stake_currency=self.stake_currency,
                              start_balance=self._start_balance(),
                              bot_start=self._stored_time("bot_start_time"), since=since,
                              trading_volume=self.store.traded_value(
                                  t.id for t in closed + opened))

    def periods(self, unit: PeriodUnit, count: int) -> PeriodReport:
        _check_span(f"{unit}s", count)
        today = self.engine.clock.now().date()
        return period_report(self.store.closed_trades(), unit, count, today,
                             stake_currency=self.stake_currency,
                             start_balance=self._start_balance())

    def performance(self) -> list[PairPerformance]:
        return performance(self.store.closed_trades())

    def tag_performance(self, by: TagKind, pair: str | None = None) -> list[TagPerformance]:
        closed = self.store.closed_trades()
        return tag_performance([t for t in closed if pair is None or t.pair == pair], by)

    def stats(self) -> StatsView:
        return stats(self.store.closed_trades())

    def orders(self, trade_ids: list[int] | None = None) -> list[TradeOrders]:
        trades = ([self._trade(i, must_be_open=False) for i in trade_ids] if trade_ids
                  else self.store.open_trades())
        return [trade_orders(t, self.store.orders_of(t.id)) for t in trades]

    def blacklist_delete(self, pairs: list[str]) -> list[str]:
        change = self.engine.run_state.remove_from_blacklist(pairs)
        if change.refused:
            raise CommandError(f"Not on the blacklist: {', '.join(change.refused)}.")
        return list(change.blacklist)

    def count(self) -> CountView:
        opened = self.store.open_trades()
        return CountView(len(opened), self.engine.settings.max_open_trades,
                         sum(t.stake_amount for t in opened), self.stake_currency)

    def locks(self) -> list[LockView]:
        return [LockView(lock.id, lock.pair, lock.side, lock.lock_end_time, lock.reason)
                for lock in self.store.active_locks(self.engine.clock.now())]

    def unlock(self, target: str) -> ActionResult:
        removed = self.store.unlock(target.strip(), self.engine.clock.now())
        if not removed:
            raise CommandError(f"No active lock for {target}.")
        return ActionResult(f"Removed {removed} lock(s) for {target}.")

    def whitelist(self) -> list[str]:
        return self.engine.whitelist()

    def whitelist_view(self) -> WhitelistView:
        return WhitelistView(self.engine.pairlist.names, tuple(self.engine.whitelist()))

    def blacklist(self, add: list[str] | None = None) -> list[str]:
        if not add:
            return list(self.engine.run_state.blacklist)
        change = self.engine.run_state.add_to_blacklist(add)
        if change.refused:
            wrong = change.refused[0]
            problem = pattern_problem(wrong)
            if problem is not None:
                raise CommandError(f"Not a valid pattern: {problem}.")
            raise CommandError(f"Unknown pair {wrong}: expected a pair like "
                               f"ETH/{self.stake_currency} or a pattern like .*/"
                               f"{self.stake_currency}.")
        return list(change.blacklist)

    def entry_pair_choices(self) -> list[str]:
        busy = {t.pair for t in self.store.open_trades()}
        return sorted(p for p in self.engine.whitelist() if p not in busy)

    def health(self) -> HealthView:
        now = self.engine.clock.now()
        # Both written by the engine's start-up, from one reading of the clock.
        started = self._stored_time("startup_time")
        return HealthView(self.state, self.engine.last_process,
                          self._stored_time("bot_start_time"), started,
                          None if started is None else now - started, self.engine.last_error)

    def show_config(self) -> dict[str, Any]:
        config = self.engine.settings.redacted()
        config["mode"] = "DRY-RUN" if self.dry_run else "LIVE"
        config["state"] = self.state
        strategy = self.engine.strategy
        config["strategy_class"] = type(strategy).__name__
        # What the strategy trades with: its own values, or the config's where it sets them.
        config.update(
            timeframe=strategy.timeframe, minimal_roi=dict(strategy.minimal_roi),
            stoploss=strategy.stoploss, trailing_stop=strategy.trailing_stop,
            trailing_stop_positive=strategy.trailing_stop_positive,
            trailing_stop_positive_offset=strategy.trailing_stop_positive_offset,
            trailing_only_offset_is_reached=strategy.trailing_only_offset_is_reached,
            position_adjustment_enable=strategy.position_adjustment_enable)
        if strategy.parameter_values:
            config["strategy_parameters"] = parameter_values(strategy)
        return config

    def closed_profit_series(self, days: int) -> list[tuple[datetime, float]]:
        _check_span("days", days)
        since = self.engine.clock.now() - timedelta(days=days)
        total, points = 0.0, []
        for trade in self.store.closed_trades(since):
            total += trade.close_profit_abs or 0.0
            points.append((trade.close_date, total))
        return points

    async def balance(self) -> BalanceView:
        try:
            balances = await self.engine.balances()
        except ExchangeError as exc:
            raise CommandError(f"The exchange did not answer: {exc}") from None
        owned = {t.base_currency: t.amount for t in self.store.open_trades()}
        rows, total = [], 0.0
        for currency, bal in sorted(balances.items()):
            if bal.total <= 0:
                continue
            if currency == self.stake_currency:
                value, mine = bal.total, bal.total
            else:
                rate = self._rate(f"{currency}/{self.stake_currency}") or 0.0
                value, mine = bal.total * rate, owned.get(currency, 0.0)
            rows.append(CurrencyBalance(currency, bal.free, bal.used, bal.total, mine, value))
            total += value
        start = self._start_balance()
        return BalanceView(self.dry_run, self.stake_currency, start, tuple(rows), total,
                           total / start - 1 if start else 0.0)

    # --- actions -----------------------------------------------------------------------------

    async def force_exit(self, trade_id: int | Literal["all"], amount: float | None = None
                         ) -> ActionResult:
        """Exit a trade (or every one); with `amount`, sell only that much of it."""
        if amount is not None and not amount > 0:
            raise CommandError("The amount must be a positive number.")
        async with self.engine.lock:
            if trade_id == "all":
                trades = self.store.open_trades()
                if not trades:
                    raise CommandError("No open trades.")
            else:
                trades = [self._trade(trade_id)]
            outcomes = {t.id: await self._placing(self.engine.force_exit(
                t, await self._ticker(t.pair), amount)) for t in trades}
        parts = []
        for outcome, text in _FORCE_EXIT_TEXT.items():
            ids = [i for i, o in outcomes.items() if o == outcome]
            if ids:
                parts.append(text.format(", ".join(f"#{i}" for i in ids)))
        if not parts:
            raise CommandError("Nothing to exit: no price for it, or the order was refused.")
        return ActionResult(" ".join(parts), tuple(i for i, o in outcomes.items() if o))

    async def force_entry(self, pair: str, price: float | None = None) -> ActionResult:
        s = self.engine.settings
        if not s.force_entry_enable:
            raise CommandError("Forced entries are disabled (force_entry_enable is false).")
        if self.engine.run_state.state is not EngineState.RUNNING:
            raise CommandError(f"Not running (state {self.state}); /start first.")
        if not pair.endswith(f"/{s.stake_currency}") or not self.engine.is_market(pair):
            raise CommandError(f"Unknown pair {pair}: expected a pair like ETH/{s.stake_currency}.")
        if price is not None and price <= 0:
            raise CommandError("The price must be a positive number.")
        async with self.engine.lock:
            if any(t.pair == pair for t in self.store.open_trades()):
                raise CommandError(f"{pair} already has an open trade.")
            if self.engine.free_slots() <= 0:
                raise CommandError(f"All {s.max_open_trades} trade slots are in use.")
            ticker = await self._ticker(pair)
            if ticker is None:
                raise CommandError(f"No price for {pair}: {self.engine.exchange.name} has no "
                                   "ticker for it now.")
            trade = await self._placing(self.engine.force_entry(pair, ticker, price))
        if trade is None:
            raise CommandError(f"No entry for {pair}: the stake or the order was refused "
                               "(see /logs).")
        return ActionResult(f"Entering {pair}: trade #{trade.id}.", (trade.id,))

    async def add_to_trade(self, trade_id: int, stake: float) -> ActionResult:
        """/forceenter on the pair of an open trade (position adjustment on): add `stake`."""
        s = self.engine.settings
        if not s.force_entry_enable:
            raise CommandError("Forced entries are disabled (force_entry_enable is false).")
        if not self.engine.strategy.position_adjustment_enable:
            raise CommandError("Adding to a trade needs position_adjustment_enable.")
        if not stake > 0:
            raise CommandError("The stake must be a positive number.")
        async with self.engine.lock:
            trade = self._trade(trade_id)
            if self.store.open_orders_of(trade):
                raise CommandError(f"Trade #{trade_id} has an open order; try again once it "
                                   "filled or was cancelled.")
            ticker = await self._ticker(trade.pair)
            if ticker is None:
                raise CommandError(f"No price for {trade.pair} now.")
            added = await self._placing(self.engine.force_add(trade, ticker, stake))
        if not added:
            raise CommandError(f"Nothing added to trade #{trade_id}: the stake or the order "
                               "was refused (see /logs).")
        return ActionResult(f"Adding {stake:.8g} {s.stake_currency} to trade #{trade_id} "
                            f"({trade.pair}).", (trade_id,))

    async def _placing(self, action: Awaitable[T]) -> T:
        """An owner's order, with the exchange's refusal of the request as the reply: a
        rate limit or an outage (the venue classified it as not accepted) places nothing; an
        answer that was lost is not an error here (the order is being looked up)."""
        name = self.engine.exchange.name
        try:
            return await action
        except TemporaryError as exc:
            raise CommandError(f"{name} is rate-limiting or not answering ({exc}); nothing "
                               "was placed. Try again in a minute.") from None
        except FatalExchangeError as exc:
            raise CommandError(f"{name} refused our credentials ({exc}); nothing was "
                               "placed.") from None

    async def _ticker(self, pair: str) -> Ticker | None:
        """The pair's price fetched now: an owner's action cannot wait for an iteration (right
        after start there was none). The exchange's failure, classified where the venue met
        it and counted by the engine's failure watcher, becomes the reply."""
        try:
            return (await self.engine.exchange.fetch_tickers([pair])).get(pair)
        except ExchangeError as exc:
            raise CommandError(f"The exchange did not answer: {exc}") from None

    async def cancel_open_order(self, trade_id: int) -> ActionResult:
        async with self.engine.lock:
            trade = self._trade(trade_id)
            count = await self.engine.cancel_open_orders(trade, "user requested order cancel")
        if not count:
            raise CommandError(f"Trade #{trade_id} has no open order.")
        return ActionResult(f"Cancel requested for {count} order(s) of trade #{trade_id}.")

    async def delete_trade(self, trade_id: int) -> ActionResult:
        async with self.engine.lock:
            trade = self._trade(trade_id, must_be_open=False)
            if self.store.open_orders_of(trade):
                raise CommandError(f"Trade #{trade_id} has an open order on the exchange; "
                                   f"/cancel_open_order {trade_id} first.")
            pair = trade.pair
            self.store.delete_trade(trade)
        return ActionResult(f"Deleted trade #{trade_id} ({pair}). Handle any coins left on the "
                            "exchange yourself.")


def _check_span(unit: str, count: int) -> None:
    """Refuse a span the date maths cannot hold, whoever calls (not only the chat)."""
    if not 1 <= count <= MAX_SPAN:
        raise CommandError(f"{count} {unit}: expected a number from 1 to {MAX_SPAN}.")
