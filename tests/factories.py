"""Build what tests need: real engines (offline market on the shipped candles, paper exchange,
SQLite database, PostgreSQL on the PG pass (`tests/databases.py`), and a ManualClock, wired by
the same functions bot.py uses), and trades and orders as the engine records them
(`new_trade`, `new_order`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from peewee import Database

from compose import build_commands, build_exchange
from core.clock import ManualClock
from engine.config import parse_config
from engine.control.commands import Commands, Reloader
from engine.events import LogNotifier, Notifier
from engine.loader import strategy_for
from engine.settings import MARKETS_FILE, offline_datadir
from engine.strategy import IStrategy
from store import schema
from store.models import Order, OrderStatus, Trade
from store.paper_orders import PaperOrders
from store.store import Store
from tests.databases import url_for
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
                reloader: Reloader | None = None,
                database: Database | None = None) -> Commands:
    """An engine's command API (with `.engine` and `.store`) on a fresh database.

    With `tmp_path` the database is a file there (survives a "restart": call again with the
    same path), otherwise in memory; `database` (not yet opened) replaces either. `strategy`
    replaces the configured one (with the config's overrides applied); `wrap` decorates the
    exchange (slow or crashing exchanges); `reloader` is what /reload runs (none: "not
    available in this run").
    """
    if database is not None:
        schema.open_database(database)
    else:
        database = schema.init_db(url_for(tmp_path))
    store = Store(database)
    settings = make_settings(settings_overrides, env)
    clock = clock or ManualClock(DATA_START)
    if strategy is None:
        strategy = strategy_for(settings)
    else:
        strategy.apply_overrides(settings.strategy_overrides())
    notifier = notifier or LogNotifier()
    if partial_fill_ratio is None:
        exchange = build_exchange(settings, strategy.timeframe, clock, PaperOrders(database),
                                  notifier)
    else:
        market = OfflineMarket.from_files(offline_datadir(settings),
                                          settings.exchange.pair_whitelist,
                                          strategy.timeframe, MARKETS_FILE, clock)
        exchange = PaperExchange(market, clock, PaperOrders(database),
                                 wallet=settings.dry_run_wallet,
                                 stake_currency=settings.stake_currency,
                                 partial_fill_ratio=partial_fill_ratio)
    if wrap is not None:
        exchange = wrap(exchange)
    return build_commands(settings, strategy, exchange, clock, notifier, store, reloader)


async def run_for(commands: Commands, clock: ManualClock, iterations: int,
                  step: timedelta = timedelta(minutes=5)) -> None:
    """Advance the clock one step and run one iteration, `iterations` times."""
    for _ in range(iterations):
        clock.advance(step)
        await commands.process()


_client_ids = itertools.count(1)


def trade_row(pair: str = "ETH/BTC", **fields: Any) -> Trade:
    """An open trade on `pair`, not stored: 0.1 per coin at DATA_START, Binance's 0.1% fee on
    both sides, nothing filled yet. `fields` override."""
    base, quote = pair.split("/")
    values: dict[str, Any] = {
        "exchange": "binance", "pair": pair, "base_currency": base, "stake_currency": quote,
        "strategy": "Test", "timeframe": 5, "open_date": DATA_START, "open_rate": 0.1,
        "fee_open": 0.001, "fee_close": 0.001,
    }  # fmt: skip
    values.update(fields)
    return Trade(**values)


def new_trade(store: Store, pair: str = "ETH/BTC", **fields: Any) -> Trade:
    """`trade_row(pair, **fields)`, stored."""
    return store.add(trade_row(pair, **fields))


def order_row(trade: Trade, side: str = "buy", amount: float = 1.0, price: float | None = None,
              *, filled: float = 0.0, **fields: Any) -> Order:
    """A limit order of `trade`, not stored: `amount` at `price` (default the trade's open
    rate), `filled` of it filled at that price. Its status follows the fill (open, partially
    filled, filled) unless `fields` say otherwise; `fields` override any column."""
    price = trade.open_rate if price is None else price
    status = (OrderStatus.FILLED if filled >= amount else
              OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN)
    values: dict[str, Any] = {
        "trade": trade, "client_order_id": f"test-{next(_client_ids)}", "ft_order_side": side,
        "ft_pair": trade.pair, "ft_amount": amount, "ft_price": price, "status": status,
        "order_type": "limit", "side": side, "price": price, "amount": amount,
        "filled": filled, "remaining": amount - filled, "average": price if filled else None,
        "cost": filled * price, "order_date": trade.open_date,
    }  # fmt: skip
    values.update(fields)
    return Order(**values)


def new_order(store: Store, trade: Trade, side: str = "buy", amount: float = 1.0,
              price: float | None = None, *, filled: float = 0.0, **fields: Any) -> Order:
    """`order_row(...)`, stored."""
    return store.add(order_row(trade, side, amount, price, filled=filled, **fields))
