"""Markets at start-up, from the exchange or, when it cannot answer, from the last run.

An exchange that is down at start-up must not stop the bot: a restart during a maintenance
window would leave the open trades unmanaged until someone restarts it by hand (systemd gives
up after a few quick failures). The engine therefore starts whatever the exchange says and
finishes its start-up (reconciliation, the start-up message) in the first iteration that
reaches the exchange. When only the markets fail to load, the markets of the whitelist and of
the open trades that the last run stored stand in, so reconciliation and stops go on.

While the exchange stays down the attempts are spaced out (`StartRetry`): one iteration's
interval, doubling up to five minutes, so a long outage neither hammers the exchange (each
attempt is itself a few retried requests) nor fills the log, and the bot never gives up.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from core.errors import TemporaryError
from engine import events
from engine.exits import ExitRules
from engine.settings import Settings
from engine.strategy import IStrategy
from engine.strategy_runtime import parameter_values
from store.store import Store
from venues.exchange import Exchange

logger = logging.getLogger(__name__)

MARKETS_KEY = "markets"
MAX_START_PAUSE = timedelta(minutes=5)


class StartRetry:
    """When the next start-up attempt is due, after failed ones."""

    def __init__(self, first: timedelta, cap: timedelta = MAX_START_PAUSE) -> None:
        self.first = min(first, cap)
        self.cap = cap
        self._pause = self.first
        self._due: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self._due is None or now >= self._due

    def failed(self, now: datetime) -> timedelta:
        """Record a failed attempt; the pause until the next one."""
        pause = self._pause
        self._due = now + pause
        self._pause = min(pause * 2, self.cap)
        return pause


async def load_markets(exchange: Exchange, store: Store) -> None:
    """Markets from the exchange; if it fails for now, the stored ones (the error is raised
    when there are none)."""
    try:
        await exchange.load_markets()
    except TemporaryError as exc:
        stored = store.value(MARKETS_KEY)
        if not stored:
            raise
        definitions = json.loads(stored)
        exchange.use_markets(definitions)
        logger.warning("%s: markets not loaded (%s); using the %d stored by the last run: %s",
                       exchange.name, exc, len(definitions), ", ".join(sorted(definitions)))


def remember_markets(exchange: Exchange, store: Store, pairs: Iterable[str],
                     last: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Store the loaded markets of `pairs` for a start at which the exchange cannot load them;
    the definitions are returned so that the caller can pass them as `last` next time, and
    markets equal to those are not written again (a refresh seldom changes them)."""
    definitions = exchange.market_definitions(pairs)
    if not definitions or definitions == last:
        return definitions
    text = json.dumps(definitions, sort_keys=True, default=str)
    if store.value(MARKETS_KEY) != text:
        store.set_value(MARKETS_KEY, text)
    return definitions


def warn_unknown_pairs(exchange: Exchange, pairs: Iterable[str],
                       notifier: events.Notifier) -> None:
    """Tell the owner of configured pairs the exchange does not list (none when the markets
    did not load)."""
    known = exchange.markets()
    missing = [p for p in pairs if known and p not in known]
    if missing:
        text = f"Not traded, unknown on {exchange.name}: {', '.join(missing)}"
        logger.warning("%s", text)
        notifier.notify(events.WarningNotice(text))


def startup_notice(settings: Settings, strategy: IStrategy, rules: ExitRules, exchange: str,
                   pairs: list[str], state: str, open_trades: int,
                   reconciled: str) -> events.Startup:
    """The owner's start-up message: what runs, on what, and what reconciliation found."""
    return events.Startup(
        dry_run=settings.dry_run, exchange=exchange, strategy=type(strategy).__name__,
        timeframe=strategy.timeframe, stake_amount=str(settings.stake_amount),
        stake_currency=settings.stake_currency, max_open_trades=settings.max_open_trades,
        minimal_roi={str(k): v for k, v in rules.minimal_roi}, stoploss=rules.stoploss,
        trailing_stop=rules.trailing_stop, pairs=tuple(pairs), state=state,
        open_trades=open_trades, reconciled=reconciled, parameters=parameter_values(strategy),
    )
