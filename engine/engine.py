"""The engine: one iteration (`process`) that turns signals into orders and orders into
trades, its run state, and start-up reconciliation. The same code runs live, in dry-run, in
the offline demo and in backtests: only the injected exchange, signal source, clock and
database differ. Chat commands go through `engine.control.commands.Commands`, which shares
this engine's lock and changes the engine only through the owner's actions below.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from core.clock import Clock
from core.errors import FatalExchangeError, StorageError, TemporaryError
from engine import sizing
from engine.adjust import add_stake, adjust_position
from engine.alerts import Alerts
from engine.analysis import entry_expired
from engine.dataprovider import RunMode, provider_for
from engine.events import Notifier
from engine.exchange_stop import ExchangeStops
from engine.exits import clamp_custom_price, exit_candidates, update_stop
from engine.fiat import FiatRates
from engine.open_orders import manage_open_orders
from engine.orderbooks import OrderBooks
from engine.pairlists.manager import Pairlists
from engine.pricing import Pricer
from engine.protection_locks import lock_after_close
from engine.protections import parse_protections
from engine.reconcile import reconcile
from engine.runstate import EngineState, KeptOnReload, RunState
from engine.settings import Settings
from engine.signals import SignalSource
from engine.stake import entry_stake
from engine.startup import (
    StartRetry,
    load_markets,
    remember_markets,
    startup_notice,
    warn_unknown_pairs,
)
from engine.strategy import IStrategy, LogOnce, implements, safe_call
from engine.trader import STOP_KINDS, ForceExitOutcome, Trader, finite_number
from engine.wallet_check import WalletCheck
from marketdata.cache import CandleSource
from store.errors import storage_errors
from store.models import Trade
from store.store import Store
from venues.exchange import Balance, Exchange, OrderType, Ticker
from venues.watched import AbsorbedFailures

logger = logging.getLogger(__name__)


class Engine:
    def __init__(self, settings: Settings, exchange: Exchange, strategy: IStrategy, clock: Clock,
                 notifier: Notifier, signals: SignalSource, store: Store,
                 failures: AbsorbedFailures | None = None,
                 candles: CandleSource | None = None, fiat: FiatRates | None = None) -> None:
        self.exchange = exchange
        self.fiat = fiat or FiatRates()
        self.candle_source = candles or exchange  # the pairlists' candles
        self.failures = failures
        self.clock = clock
        self.notifier = notifier
        self.signals = signals
        self.store = store
        self.log_once = LogOnce(logger)
        self.trader = Trader(settings, exchange, strategy, clock, notifier, self.log_once, store,
                             on_close=self._on_trade_closed)
        self.stops = ExchangeStops(self.trader)
        self.lock = asyncio.Lock()
        self.run_state = RunState(settings, exchange.markets)
        self.tickers: dict[str, Ticker] = {}
        self.books = OrderBooks(exchange)
        self.pricer = Pricer(self.books, self.log_once)
        self.last_process: datetime | None = None
        self.alerts = Alerts(notifier)
        self._markets_at: datetime | None = None
        self._markets: dict[str, dict[str, Any]] = {}
        self._starting = False  # start-up not finished: the exchange did not answer
        self._retry = StartRetry(timedelta(seconds=settings.internals.process_throttle_secs))
        self._wallet = WalletCheck()
        self.configure(settings, strategy)

    def configure(self, settings: Settings, strategy: IStrategy) -> None:
        """Adopt (new) settings and strategy: at start and on /reload."""
        self.settings = settings
        self.fiat.configure(settings.stake_currency, settings.fiat_display_currency)
        self.trader.configure(settings, strategy)
        strategy.dp = provider_for(self, strategy)
        strategy.config["runmode"] = strategy.dp.runmode  # as Freqtrade's config carries it
        trading = strategy.dp.runmode in (RunMode.LIVE, RunMode.DRY_RUN)
        self.stops.backtest = strategy.dp.runmode is RunMode.BACKTEST
        self.books.use(strategy, trading=trading)
        self.pricer.use(settings.entry_pricing, settings.exit_pricing, trading=trading)
        self.pairlist = Pairlists(settings, self.exchange, self.candle_source, self.store,
                                  strategy.timeframe,
                                  backtest=strategy.dp.runmode is RunMode.BACKTEST)
        self.protections = parse_protections([dict(p) for p in strategy.protections or []],
                                             strategy.timeframe)

    @property
    def strategy(self) -> IStrategy:
        return self.trader.strategy

    # --- life cycle --------------------------------------------------------------------------

    async def startup(self) -> None:
        """Load markets, reconcile the database with the exchange, tell the owner; with the
        exchange unreachable, the owner is told and the first iteration that reaches it
        finishes the start (engine.startup)."""
        now = self.clock.now()
        if self.store.value("bot_start_time") is None:
            self.store.set_value("bot_start_time", now.isoformat())
        self.store.set_value("startup_time", now.isoformat())
        try:
            async with self.lock:
                await self._start(now)
        except TemporaryError as exc:
            self._retry.failed(now)
            self.alerts.tell("temporary", f"Exchange unavailable at start-up ({exc}); retrying "
                             "with growing pauses (at most 5 minutes), trading starts once it "
                             "answers.")

    async def _start(self, now: datetime) -> None:
        self._starting = True
        await load_markets(self.exchange, self.store)
        self._markets_at = now
        warn_unknown_pairs(self.exchange, self.settings.exchange.pair_whitelist, self.notifier)
        await self.pairlist.refresh(now, self.run_state.is_blacklisted)
        self._markets = remember_markets(self.exchange, self.store, self.pairs())
        summary = await reconcile(self.trader, self.store, self.pairs())
        self._starting = False
        self.notifier.notify(startup_notice(self.settings, self.strategy, self.trader.rules,
                                            self.exchange.name, self.whitelist(),
                                            self.run_state.state.value,
                                            len(self.store.open_trades()), summary))
        logger.info("started: %s, %s, state %s; %s",
                    "DRY-RUN" if self.settings.dry_run else "LIVE", self.exchange.name,
                    self.run_state.state.value, summary)

    async def shutdown(self) -> None:
        """Finish the running iteration, optionally cancel open orders, close the exchange."""
        async with self.lock:
            if self.settings.cancel_open_orders_on_exit:
                for trade in self.store.open_trades():  # a stop order keeps protecting
                    for order in [o for o in self.store.open_orders_of(trade) if not o.is_stop]:
                        await self.trader.cancel_order(order, "cancelled on shutdown")
            await self.exchange.close()

    # --- pairs -------------------------------------------------------------------------------

    def whitelist(self) -> list[str]:
        """The pairlists' last list (engine/pairlists), less what the chat blacklisted since."""
        return [p for p in self.pairlist.whitelist() if not self.run_state.is_blacklisted(p)]

    def pairs(self) -> list[str]:
        """Pairs whose data the iteration needs: the whitelist plus pairs with open trades."""
        pairs = self.whitelist()
        for trade in self.store.open_trades():
            if trade.pair not in pairs:
                pairs.append(trade.pair)
        return pairs

    # --- the iteration -----------------------------------------------------------------------

    async def process(self) -> None:
        async with self.lock:
            now = self.clock.now()
            if self._starting and not self._retry.due(now):
                return
            try:
                with storage_errors():
                    if self._starting:
                        await self._start(now)
                    elif "storage" in self.alerts:
                        await self._after_storage_outage(now)
                    await self._iterate(now)
            except TemporaryError as exc:
                then = f"; next attempt in {self._retry.failed(now)}" if self._starting else ""
                self.alerts.tell("temporary", f"Exchange unavailable, retrying: {exc}{then}")
            except FatalExchangeError as exc:
                self.run_state.pause_entries()
                self.alerts.tell("fatal",
                                 f"Exchange refused our credentials; entries paused: {exc}")
            except StorageError as exc:
                self.alerts.tell("storage", f"Database unavailable ({exc}); no new orders "
                                            "until it can be written again.")
            else:
                self._report_absorbed_failures()
                # Accepted again: a later refusal is a new episode (entries stay as they are).
                self.alerts.clear("fatal", None)
                self.alerts.clear("storage", "Database writable again; trading goes on.")
            self._absorbed_failures()  # a failed iteration's own are told above
            self.last_process = now

    async def _after_storage_outage(self, now: datetime) -> None:
        """Prove the database takes writes again (an iteration may write nothing), then repair
        what a cut iteration left half done (a fill without its trade's close), as at start."""
        self.store.set_value("last_write", now.isoformat())
        summary = await reconcile(self.trader, self.store, self.pairs())
        logger.info("database writable again; %s", summary)

    async def _iterate(self, now: datetime) -> None:
        await self._refresh_markets(now)
        await self.pairlist.refresh(now, self.run_state.is_blacklisted)
        pairs = self.pairs()
        self.books.new_iteration()
        await self.books.alongside(self.signals.refresh(pairs, now), self.books.standing())
        # Books the callbacks may read (engine/orderbooks.py) and the prices need
        # (engine/pricing.py), once the signals are known.
        trades, entering = self.store.open_trades(), self.run_state.state is EngineState.RUNNING
        entries = self._entry_candidates(now) if entering and (
            self.books.used or self.pricer.reads_books) else []
        ahead = [t.pair for t in trades] + entries if self.books.used else []
        wanted = self.pricer.books_wanted(entries, self._pairs_to_exit)
        self.tickers = await self.books.alongside(self.exchange.fetch_tickers(pairs), ahead,
                                                  wanted)
        await self.fiat.refresh(now, self.exchange.markets(), self.exchange.fetch_tickers)
        safe_call("*", self.strategy.bot_loop_start, default=None, log_once=self.log_once,
                  current_time=now)
        await manage_open_orders(self.trader, now)
        await self._wallet.run(self.store, self.trader, self.exchange, self.tickers, now)
        await self._exit_positions(now)
        if self.run_state.state is EngineState.RUNNING:
            await self._enter_positions(now)

    def _pairs_to_exit(self) -> list[str]:
        waiting = self.stops.waiting()
        return [t.pair for t in self.store.open_trades() if t.id not in waiting]

    async def _refresh_markets(self, now: datetime) -> None:
        if self._markets_at is None or now - self._markets_at >= timedelta(
                minutes=self.settings.exchange.markets_refresh_interval):
            await self.exchange.load_markets(reload=self._markets_at is not None)
            self._markets_at = now
            self._markets = remember_markets(self.exchange, self.store, self.pairs(),
                                             self._markets)

    # --- exits -------------------------------------------------------------------------------

    async def _exit_positions(self, now: datetime) -> None:
        strategy_exits = self.run_state.state is not EngineState.STOPPED
        # One query for all trades: a trade's orders change only while it is looked at.
        waiting = self.stops.waiting()
        for trade in self.store.open_trades():
            ticker = self.tickers.get(trade.pair)
            if ticker is None or trade.id in waiting or trade.amount <= 0:
                continue
            await self.check_exit(trade, self.pricer.exit_ticker(trade.pair, ticker), now,
                                  strategy_exits=strategy_exits)

    async def check_exit(self, trade: Trade, ticker: Ticker, now: datetime, *,
                         strategy_exits: bool) -> bool:
        """Adjust the position (engine/adjust.py), move the stop, then place the first exit
        that applies. True when an order was placed."""
        if strategy_exits and self.strategy.position_adjustment_enable \
                and await adjust_position(self, trade, ticker, now):
            fresh = self.store.trade(trade.id)
            if fresh is None or not fresh.is_open or self.store.open_orders_of(fresh):
                return True
            trade = fresh
        rules = self.trader.rules
        custom_stop = None
        if rules.use_custom_stoploss and strategy_exits:
            # The best price of the range, as Freqtrade's backtest asks (live: the last price).
            custom_stop = safe_call(
                trade.pair, self.strategy.custom_stoploss, default=None, log_once=self.log_once,
                trade=self.trader.snapshot(trade),
                current_time=now, current_rate=ticker.high,
                current_profit=trade.profit_ratio(ticker.high), after_fill=False,
            )  # fmt: skip
        stop = update_stop(trade, ticker, rules, self.trader.round_up(trade.pair),
                           custom_stop=custom_stop)
        if stop is not None:
            trade.stop_loss, trade.stop_loss_pct = stop.stop_loss, stop.stop_loss_pct
            trade.is_stop_loss_trailing = stop.is_stop_loss_trailing
            trade.max_rate, trade.min_rate = stop.max_rate, stop.min_rate
            self.store.write(trade)
        resting = await self.stops.follow(trade, now)  # the exchange's stop (exchange_stop)
        if not trade.is_open:
            return False
        signal = self.signals.signal(trade.pair) if strategy_exits else None
        custom_exit = None
        if strategy_exits and rules.use_exit_signal and implements(self.strategy, "custom_exit"):
            custom_exit = safe_call(
                trade.pair, self.strategy.custom_exit, default=None, log_once=self.log_once,
                trade=self.trader.snapshot(trade),
                current_time=now, current_rate=ticker.open,
                current_profit=trade.profit_ratio(ticker.open),
            )  # fmt: skip
        candidates = exit_candidates(
            trade, ticker, now, rules,
            enter_signal=bool(signal and signal.enter_long and not signal.stale),
            exit_signal=bool(signal and signal.exit_long and not signal.stale),
            exit_tag=signal.exit_tag if signal else None, custom_exit=custom_exit,
        )  # fmt: skip
        for decision in candidates:
            stop_kind = decision.kind in STOP_KINDS
            if (not strategy_exits and not stop_kind) or (resting and stop_kind):
                continue
            # The first exit the strategy confirms wins; a veto passes to the next one.
            if await self.trader.exit_trade(trade, decision, ticker):
                return True
        return False

    def _on_trade_closed(self, trade: Trade) -> None:
        lock_after_close(trade, self.clock.now(), self.strategy.timeframe, self.protections,
                         self.store, self.notifier)

    # --- entries -----------------------------------------------------------------------------

    def free_slots(self, open_count: int | None = None) -> int:
        limit = self.settings.max_open_trades
        if limit < 0:
            return 1_000_000
        if open_count is None:
            open_count = len(self.store.open_trades())
        return limit - open_count

    async def _enter_positions(self, now: datetime) -> None:
        open_pairs = [t.pair for t in self.store.open_trades()]
        busy = set(open_pairs)
        # Counted again only after an entry attempt, the one thing here that changes it.
        slots = self.free_slots(len(open_pairs))
        if slots <= 0:
            return
        for pair in self._entry_candidates(now, busy):
            signal, ticker = self.signals.signal(pair), self.tickers.get(pair)
            if slots <= 0:
                return
            if signal is None or ticker is None or not self.pricer.depth_allows(pair):
                continue
            trade = await self.enter(pair, ticker, now, tag=signal.enter_tag)
            if trade is not None and trade.is_open and trade.amount > 0 \
                    and not self.store.open_orders_of(trade):
                # The new position is exposed to this same candle, as in Freqtrade's backtest.
                await self.check_exit(trade, self.pricer.exit_ticker(pair, ticker), now,
                                      strategy_exits=True)
            slots = self.free_slots()

    def _entry_candidates(self, now: datetime, busy: set[str] | None = None) -> list[str]:
        """Whitelisted pairs with a fresh entry signal, not locked, not traded already."""
        busy = {t.pair for t in self.store.open_trades()} if busy is None else busy
        locked = self.store.locked_pairs(now)
        if "*" in locked:
            return []
        signals = {pair: self.signals.signal(pair) for pair in self.whitelist()
                   if pair not in busy and pair not in locked}
        return [pair for pair, signal in signals.items()
                if signal is not None and not signal.stale and signal.enter_long
                and not signal.exit_long and not entry_expired(signal, now, self.strategy)]


    async def enter(self, pair: str, ticker: Ticker, now: datetime, *, tag: str | None = None,
                    price: float | None = None, order_type: OrderType | None = None
                    ) -> Trade | None:
        """Size and place an entry; None (with a logged reason) when it must not happen."""
        rate = self.pricer.entry_rate(pair, ticker) or price  # the owner's price needs no book
        if rate is None:
            return None
        proposed = price if price is not None else rate
        misses = self.books.misses
        if price is None:
            custom = safe_call(pair, self.strategy.custom_entry_price, default=None,
                               log_once=self.log_once, trade=None, current_time=now,
                               proposed_rate=proposed, entry_tag=tag, side="long")
            proposed = clamp_custom_price(proposed, finite_number(custom),
                                          self.settings.custom_price_max_distance_ratio)
        stake = await entry_stake(self.trader, self.exchange, self.store, pair, proposed, now, tag)
        if stake is None:
            return None
        kind = order_type or self.trader.order_types.entry
        confirmed = safe_call(pair, self.strategy.confirm_trade_entry, default=True,
                              log_once=self.log_once, order_type=kind,
                              amount=sizing.amount_for(stake, proposed), rate=proposed,
                              time_in_force=self.trader.time_in_force.entry, current_time=now,
                              entry_tag=tag, side="long")
        if self.books.misses > misses:
            self.log_once.info(("book", pair), "no entry for %s in this iteration: the "
                               "strategy read an order book not fetched ahead", pair)
        if not confirmed or self.books.misses > misses:
            return None
        return await self.trader.open_trade(pair, proposed, stake, kind, tag, current_rate=rate)

    # --- the owner's actions: Commands calls these holding `lock` (and flips `run_state`) ---

    def reload(self, settings: Settings, strategy: IStrategy) -> KeptOnReload:
        """Adopt a reloaded config and strategy; the run state and chat's blacklist stay."""
        self.configure(settings, strategy)
        self.signals.use(strategy)
        return self.run_state.reload(settings)

    def is_market(self, pair: str) -> bool:
        return pair in self.exchange.markets()

    async def balances(self) -> dict[str, Balance]:
        return await self.exchange.fetch_balance()

    async def force_exit(self, trade: Trade, ticker: Ticker | None, amount: float | None = None
                         ) -> ForceExitOutcome | None:
        """Exit the trade (or sell `amount` of it) at the exit price (exit_pricing) after
        cancelling its open orders: what that did, or None when refused (no price, nothing
        held, an order open, a veto)."""
        point = None if ticker is None else self.pricer.exit_ticker(trade.pair, ticker)
        return await self.trader.force_exit(trade, point, amount)

    async def force_add(self, trade: Trade, ticker: Ticker, stake: float) -> bool:
        """The owner's addition of `stake` to an open trade; False when it was refused."""
        return await add_stake(self, trade, ticker, stake, self.clock.now())

    async def force_entry(self, pair: str, ticker: Ticker, price: float | None) -> Trade | None:
        """The owner's entry, with the force-entry order type; None when it was refused."""
        types = self.trader.order_types
        return await self.enter(pair, ticker, self.clock.now(), tag="force_entry", price=price,
                                order_type=types.force_entry or types.entry)

    async def cancel_open_orders(self, trade: Trade, reason: str) -> int:
        """Cancel the trade's open orders; how many a cancel was asked for."""
        return await self.trader.cancel_open_orders(trade, reason)

    # --- alerts ------------------------------------------------------------------------------

    @property
    def last_error(self) -> str | None:
        return self.alerts.last_error

    def _absorbed_failures(self) -> list[str]:
        """Exchange failures that parts of the iteration absorbed (venues.watched)."""
        return self.failures.take_failures() if self.failures is not None else []

    def _report_absorbed_failures(self) -> None:
        absorbed = self._absorbed_failures()
        if absorbed:
            self.alerts.tell("temporary", f"Exchange unavailable, retrying: {absorbed[0]}")
        else:
            self.alerts.clear("temporary", "Exchange reachable again.")
