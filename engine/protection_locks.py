"""The locks a closed trade leads to: the pair's own until the next candle (Freqtrade's auto
lock), then whatever the protections decide from the closed trades of the last 30 days."""

from __future__ import annotations

from datetime import datetime, timedelta

from engine import events
from engine.events import Notifier
from engine.protections import ClosedTradeInfo, Protection, auto_lock, evaluate
from store.models import Trade
from store.store import Store


def lock_after_close(trade: Trade, now: datetime, timeframe: str,
                     protections: list[Protection], store: Store, notifier: Notifier) -> None:
    lock = auto_lock(trade.pair, now, timeframe)
    store.lock_pair(lock.pair, lock.until, lock.reason, now)
    if not protections:
        return
    since = now - timedelta(days=30)
    closed = [ClosedTradeInfo(t.pair, t.open_date, t.close_date, t.exit_reason or "",
                              t.close_profit or 0.0, t.close_profit_abs or 0.0)
              for t in store.closed_trades(since)]
    existing = [(lock.pair, lock.lock_end_time) for lock in store.active_locks(now)]
    for request in evaluate(protections, closed, trade.pair, now, existing=existing):
        store.lock_pair(request.pair, request.until, request.reason, now)
        if request.pair == "*":
            notifier.notify(events.GlobalProtectionTriggered(request.until, request.reason))
        else:
            notifier.notify(events.ProtectionTriggered(request.pair, request.until,
                                                       request.reason))
