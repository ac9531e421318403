"""Composition: build the exchange, strategy, signal source and engine a run needs.

Only this module and bot.py know the concrete classes. Tests build engines through the same
functions, so what is tested is what runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from core.clock import Clock
from engine.analysis import Analyzer
from engine.control.commands import Commands, Reloader
from engine.dataprovider import RunMode
from engine.engine import Engine
from engine.events import Notifier
from engine.loader import strategy_for
from engine.settings import MARKETS_FILE, Settings, offline_datadir
from engine.signals import LiveSignals
from engine.strategy import IStrategy
from marketdata.cache import CandleCaches
from marketdata.files import load_pair_data
from marketdata.resampled import ResampledCandles
from marketdata.timeframe import timeframe_to_timedelta
from store.paper_orders import PaperOrders
from store.store import Store
from venues.ccxt_exchange import CcxtExchange
from venues.exchange import Exchange
from venues.offline import OfflineMarket
from venues.paper import PaperExchange
from venues.watched import WatchedExchange


def offline_window(settings: Settings, timeframe: str) -> tuple[datetime, datetime]:
    """First and last candle open time of the shipped data for the whitelist."""
    frames = load_pair_data(offline_datadir(settings), settings.exchange.pair_whitelist,
                            timeframe)
    first = min(f["date"].iloc[0] for f in frames.values()).to_pydatetime()
    last = max(f["date"].iloc[-1] for f in frames.values()).to_pydatetime()
    return first, last


def build_exchange(settings: Settings, timeframe: str, clock: Clock,
                   paper_orders: PaperOrders) -> Exchange:
    """Offline market, paper trading over a real exchange's public data, or live (which
    leaves `paper_orders` alone)."""
    if settings.is_offline:
        market: Exchange = OfflineMarket.from_files(
            offline_datadir(settings), settings.exchange.pair_whitelist, timeframe,
            MARKETS_FILE, clock)
        return PaperExchange(market, clock, paper_orders, wallet=settings.dry_run_wallet,
                             stake_currency=settings.stake_currency)
    secrets = settings.secrets
    live = not settings.dry_run
    venue = CcxtExchange(
        settings.exchange.name, settings.exchange.ccxt_config,
        secrets.exchange_api_key if live else None,
        secrets.exchange_api_secret if live else None,
        secrets.exchange_password if live else None, clock,
        markets_refresh_minutes=settings.exchange.markets_refresh_interval,
    )
    if live:
        return venue
    return PaperExchange(venue, clock, paper_orders, wallet=settings.dry_run_wallet,
                         stake_currency=settings.stake_currency)


def config_reloader(read_settings: Callable[[], Settings]) -> Reloader:
    """What /reload runs: the config read again, and the strategy it names imported afresh."""
    def reload() -> tuple[Settings, IStrategy]:
        settings = read_settings()
        return settings, strategy_for(settings)
    return reload


def build_commands(settings: Settings, strategy: IStrategy, exchange: Exchange, clock: Clock,
                   notifier: Notifier, store: Store, reloader: Reloader | None = None
                   ) -> Commands:
    timeframe = strategy.timeframe
    # Failures that the candle cache and the order lookups absorb still reach the owner.
    watched = WatchedExchange(exchange)
    # The offline market replays one timeframe; informative ones are made from it.
    source = ResampledCandles(watched, timeframe) if settings.is_offline else watched
    candles = CandleCaches(source, timeframe, strategy.startup_candle_count)
    analyzer = Analyzer(strategy, timeframe,
                        timedelta(minutes=settings.exchange.outdated_offset))
    signals = LiveSignals(candles, analyzer,
                          RunMode.DRY_RUN if settings.dry_run else RunMode.LIVE)
    engine = Engine(settings, watched, strategy, clock, notifier, signals, store,
                    failures=watched)
    return Commands(engine, store, reloader)


def replay_start(settings: Settings, timeframe: str, stored: datetime | None) -> datetime:
    """Where the offline replay starts: after enough history for the indicators, or where
    the previous run of the demo stopped."""
    first, last = offline_window(settings, timeframe)
    start = first + timeframe_to_timedelta(timeframe) * 100
    if stored is not None and start < stored < last:
        return stored
    return start
