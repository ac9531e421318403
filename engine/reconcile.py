"""Start-up reconciliation, in both directions.

Database → exchange: every pending or open order is looked up by id or client id and
adopted, updated or marked failed; fills that happened while the bot was down are applied.
Exchange → database: orders of ours that the exchange holds after the bot gave up on them, or
that this database does not know, are adopted (engine/adopt.py); other open orders that this
database does not know are reported (never touched). A trade whose exit filled but which was
not closed yet (the process died in between) is closed now; trades left with nothing filled
and nothing open are removed.
"""

from __future__ import annotations

import logging

from core.errors import ExchangeError
from engine.adopt import adopt_orders
from engine.trader import Trader, is_dust
from store.store import Store

logger = logging.getLogger(__name__)


async def reconcile(trader: Trader, store: Store, pairs: list[str]) -> str:
    """Bring the database in line with the exchange; returns a one-line summary."""
    checked = changed = 0
    store.forget()  # start from what the database holds, whatever happened before
    for order in store.open_orders():
        checked += 1
        try:
            applied = await trader.orders.refresh(order)
        except ExchangeError as exc:
            logger.warning("reconcile: cannot check order %s: %s", order.client_order_id, exc)
            continue
        if applied is not None and (applied.before != applied.after or applied.fill_grew):
            changed += 1
            trader.react(applied)
    _finish_cut_closes(trader, store)
    removed = _remove_empty_trades(store)
    found = await adopt_orders(trader, store, pairs)
    summary = f"checked {checked} open orders, {changed} updated, {removed} empty trades removed"
    if found.adopted:
        summary += (f"; adopted {len(found.adopted)} orders of ours found on the exchange: "
                    f"{', '.join(found.adopted)}")
    if found.refused:
        summary += (f"; {len(found.refused)} orders of ours left untouched: "
                    f"{', '.join(found.refused)}")
    if found.foreign:
        summary += (f"; {len(found.foreign)} open orders on the exchange are not ours: "
                    f"{', '.join(found.foreign)}")
    return summary


def _finish_cut_closes(trader: Trader, store: Store) -> None:
    """An exit's fill was recorded but the kill (or a database outage) came before the trade
    was closed: react to that fill now, once, instead of taking the trade for one that never
    filled. What the exit left may be dust (an entry fee paid in the coin), not zero."""
    for trade in store.open_trades():
        if not is_dust(trade, trader.exchange.rules(trade.pair).amount_step):
            continue
        exits = [o for o in store.filled_orders(trade) if not o.is_entry]
        if not exits or store.open_orders_of(trade):
            continue
        last = exits[-1]
        logger.info("trade=%s pair=%s: exit %s filled before the restart; closing the trade",
                    trade.id, trade.pair, last.client_order_id)
        trader.exit_filled(trade, last)


def _remove_empty_trades(store: Store) -> int:
    removed = 0
    for trade in store.open_trades():
        if trade.amount <= 0 and not store.open_orders_of(trade):
            logger.info("trade=%s pair=%s: nothing filled and nothing open; removed",
                        trade.id, trade.pair)
            store.delete_trade(trade)
            removed += 1
    return removed
