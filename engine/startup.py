"""Markets at start-up, from the exchange or, when it cannot answer, from the last run.

An exchange that is down at start-up must not stop the bot: a restart during a maintenance
window would leave the open trades unmanaged until someone restarts it by hand (systemd gives
up after a few quick failures). The engine therefore starts whatever the exchange says and
finishes its start-up (reconciliation, the start-up message) in the first iteration that
reaches the exchange. When only the markets fail to load, the markets of the whitelist and of
the open trades that the last run stored stand in, so reconciliation and stops go on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from core.errors import TemporaryError
from store.store import Store
from venues.exchange import Exchange

logger = logging.getLogger(__name__)

MARKETS_KEY = "markets"


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


def remember_markets(exchange: Exchange, store: Store, pairs: Iterable[str]) -> None:
    """Store the loaded markets of `pairs` for a start at which the exchange cannot load them."""
    definitions = exchange.market_definitions(pairs)
    if not definitions:
        return
    text = json.dumps(definitions, sort_keys=True, default=str)
    if store.value(MARKETS_KEY) != text:
        store.set_value(MARKETS_KEY, text)
