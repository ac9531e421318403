"""Composition: build the exchange, strategy, signal source and engine a run needs.

Only this module and bot.py know the concrete classes. Tests build engines through the same
functions, so what is tested is what runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

from core.clock import Clock
from engine import events
from engine.analysis import Analyzer
from engine.control.commands import Commands, Reloader
from engine.dataprovider import RunMode
from engine.engine import Engine
from engine.events import Notifier
from engine.fiat import FiatRates
from engine.loader import strategy_for
from engine.settings import MARKETS_FILE, Settings, offline_datadir
from engine.signals import LiveSignals
from engine.strategy import IStrategy
from marketdata.cache import CandleCaches
from marketdata.files import candle_file, load_pair_data
from marketdata.resampled import ResampledCandles
from marketdata.timeframe import timeframe_to_timedelta
from store.paper_orders import PaperOrders
from store.store import Store
from venues.ccxt_exchange import CcxtExchange
from venues.exchange import Exchange
from venues.offline import OfflineMarket, ReplayLap
from venues.paper import PaperExchange
from venues.watched import WatchedExchange

# Candles of history the offline demo's first run starts after, so indicators have data.
REPLAY_WARM_UP_CANDLES = 100


def offline_pairs(settings: Settings, timeframe: str) -> list[str]:
    """The pairs the offline market replays: the whitelist, or with a list that VolumePairList
    starts, every market of the markets file with candles in the data directory."""
    if settings.pairlists[0].method == "StaticPairList":
        return list(settings.exchange.pair_whitelist)
    markets = json.loads(MARKETS_FILE.read_text(encoding="utf-8"))["markets"]
    return [m["symbol"] for m in markets
            if candle_file(offline_datadir(settings), m["symbol"], timeframe).is_file()]


def offline_window(settings: Settings, timeframe: str) -> tuple[datetime, datetime]:
    """First and last candle open time of the shipped data for the replayed pairs."""
    frames = load_pair_data(offline_datadir(settings), offline_pairs(settings, timeframe),
                            timeframe)
    first = min(f["date"].iloc[0] for f in frames.values()).to_pydatetime()
    last = max(f["date"].iloc[-1] for f in frames.values()).to_pydatetime()
    return first, last


def build_exchange(settings: Settings, timeframe: str, clock: Clock,
                   paper_orders: PaperOrders, notifier: Notifier | None = None) -> Exchange:
    """Offline market, paper trading over a real exchange's public data, or live (which
    leaves `paper_orders` alone). The offline demo replays its candles in laps and tells
    `notifier` when a new one starts."""
    if settings.is_offline:
        def announce(lap: ReplayLap) -> None:
            if notifier is not None:
                notifier.notify(events.ReplayLapStarted(lap.number, lap.starts, lap.data_first,
                                                        lap.data_last))

        market: Exchange = OfflineMarket.from_files(
            offline_datadir(settings), offline_pairs(settings, timeframe), timeframe,
            MARKETS_FILE, clock, loop=True, on_lap=announce)
        return PaperExchange(market, clock, paper_orders, wallet=settings.dry_run_wallet,
                             stake_currency=settings.stake_currency, fee=settings.fee,
                             book_fills=True)
    secrets = settings.secrets
    live = not settings.dry_run
    venue = CcxtExchange(
        settings.exchange.name, settings.exchange.ccxt_config,
        secrets.exchange_api_key if live else None,
        secrets.exchange_api_secret if live else None,
        secrets.exchange_password if live else None, clock,
        markets_refresh_minutes=settings.exchange.markets_refresh_interval,
        log_responses=settings.exchange.log_responses,
    )
    if live:
        return venue
    # Freqtrade's `fee` replaces the market's in dry-run; a live order pays what it pays.
    return PaperExchange(venue, clock, paper_orders, wallet=settings.dry_run_wallet,
                         stake_currency=settings.stake_currency, fee=settings.fee,
                         book_fills=True)


def config_reloader(read_settings: Callable[[], Settings]) -> Reloader:
    """What /reload runs: the config read again, and the strategy it names imported afresh."""
    def reload() -> tuple[Settings, IStrategy]:
        settings = read_settings()
        return settings, strategy_for(settings)
    return reload


def build_commands(settings: Settings, strategy: IStrategy, exchange: Exchange, clock: Clock,
                   notifier: Notifier, store: Store, reloader: Reloader | None = None,
                   fiat: FiatRates | None = None) -> Commands:
    timeframe = strategy.timeframe
    # Failures that the candle cache and the order lookups absorb still reach the owner.
    watched = WatchedExchange(exchange)
    # The offline market replays one timeframe; informative ones are made from it.
    source = ResampledCandles(watched, timeframe) if settings.is_offline else watched
    # Freqtrade's first request takes the exchange's limit, the candle still forming included.
    candles = CandleCaches(source, timeframe, strategy.startup_candle_count,
                           first_fill=lambda tf: watched.ohlcv_candle_limit(tf) - 1)
    analyzer = Analyzer(strategy, timeframe,
                        timedelta(minutes=settings.exchange.outdated_offset))
    signals = LiveSignals(candles, analyzer,
                          RunMode.DRY_RUN if settings.dry_run else RunMode.LIVE)
    engine = Engine(settings, watched, strategy, clock, notifier, signals, store,
                    failures=watched, candles=source, fiat=fiat)
    return Commands(engine, store, reloader)


def replay_start(settings: Settings, timeframe: str, store: Store) -> datetime:
    """Where the offline replay starts. A first run: after enough history for the
    indicators. A restart: where the previous run's last order or start-up was, so the demo's
    time never runs back behind its own trades; but when that is in the last stretch of a
    lap (or past the data, where runs stopped before the replay looped), at the start of the
    next lap, a fresh one, rather than replaying the lap's last hours and wrapping at once."""
    first, last = offline_window(settings, timeframe)
    step = timeframe_to_timedelta(timeframe)
    warm_up = step * REPLAY_WARM_UP_CANDLES
    startup = store.value("startup_time")
    times = [t for t in (store.latest_order_date(),
                         datetime.fromisoformat(startup) if startup else None) if t is not None]
    if not times or max(times) < first + warm_up:
        return first + warm_up
    stopped = max(times)
    lap = last + step - first
    next_lap = first + lap * ((stopped - first) // lap + 1)
    return next_lap if stopped >= next_lap - warm_up else stopped
