"""Build real engines for tests: offline market on the shipped candles, paper exchange,
SQLite database and a ManualClock, wired by the same functions bot.py uses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from compose import build_commands, build_exchange
from core.clock import ManualClock
from engine.config import parse_config
from engine.control.commands import Commands, Reloader
from engine.events import LogNotifier, Notifier
from engine.loader import strategy_for
from engine.settings import MARKETS_FILE, offline_datadir
from engine.strategy import IStrategy
from store import schema
from venues.exchange import Exchange
from venues.offline import OfflineMarket
from venues.paper import PaperExchange

# Inside the shipped data (2018-01-10 04:55 to 2018-01-30 04:50 UTC), with a day of history.
DATA_START = datetime(2018, 1, 11, 5, 0, tzinfo=UTC)


def make_settings(overrides: dict[str, Any] | None = None, env: dict[str, str] | None = None):
    return parse_config(overrides or {}, env or {})


def make_engine(tmp_path: Path | None = None, *, settings_overrides: dict[str, Any] | None = None,
                notifier: Notifier | None = None, clock: ManualClock | None = None,
                env: dict[str, str] | None = None, strategy: IStrategy | None = None,
                partial_fill_ratio: float | None = None,
                wrap: Callable[[Exchange], Exchange] | None = None,
                reloader: Reloader | None = None) -> Commands:
    """An engine's command API (with `.engine`) on a fresh database.

    With `tmp_path` the database is a file there (survives a "restart": call again with the
    same path), otherwise in memory. `strategy` replaces the configured one (with the config's
    overrides applied); `wrap` decorates the exchange (slow or crashing exchanges); `reloader`
    is what /reload runs (none: "not available in this run").
    """
    url = f"sqlite:///{tmp_path / 'trades.sqlite'}" if tmp_path else "sqlite:///:memory:"
    schema.init_db(url)
    settings = make_settings(settings_overrides, env)
    clock = clock or ManualClock(DATA_START)
    if strategy is None:
        strategy = strategy_for(settings)
    else:
        strategy.apply_overrides(settings.strategy_overrides())
    if partial_fill_ratio is None:
        exchange = build_exchange(settings, strategy.timeframe, clock)
    else:
        market = OfflineMarket.from_files(offline_datadir(settings),
                                          settings.exchange.pair_whitelist,
                                          strategy.timeframe, MARKETS_FILE, clock)
        exchange = PaperExchange(market, clock, wallet=settings.dry_run_wallet,
                                 stake_currency=settings.stake_currency,
                                 partial_fill_ratio=partial_fill_ratio)
    if wrap is not None:
        exchange = wrap(exchange)
    return build_commands(settings, strategy, exchange, clock, notifier or LogNotifier(),
                          reloader)


async def run_for(commands: Commands, clock: ManualClock, iterations: int,
                  step: timedelta = timedelta(minutes=5)) -> None:
    """Advance the clock one step and run one iteration, `iterations` times."""
    for _ in range(iterations):
        clock.advance(step)
        await commands.process()
