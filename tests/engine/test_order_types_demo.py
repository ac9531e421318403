"""The offline demo (paper trading over the replayed candles and the book made from them)
trades time in force and book pricing as the live exchange does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.clock import ManualClock
from engine.events import LogNotifier, WarningNotice
from store.models import Order, Trade
from tests.engine.scripted import Scripted
from tests.factories import make_engine, run_for

PAIR = "ETH/BTC"
START = datetime(2018, 1, 11, 5, 0, tzinfo=UTC)
SIGNAL = datetime(2018, 1, 11, 6, 0, tzinfo=UTC)
SETTINGS = {"exchange": {"pair_whitelist": [PAIR]}, "stake_amount": 0.05, "max_open_trades": 1}
LIMIT = {"entry": "limit", "exit": "limit", "stoploss": "limit", "stoploss_on_exchange": False}


async def run(**overrides: Any) -> LogNotifier:
    clock = ManualClock(START)
    notifier = LogNotifier()
    commands = make_engine(settings_overrides={**SETTINGS, **overrides}, clock=clock,
                           notifier=notifier,
                           strategy=Scripted(enter={PAIR: [SIGNAL]}, order_types=LIMIT))
    await commands.startup()
    await run_for(commands, clock, 14)
    return notifier


async def test_a_post_only_entry_at_the_ask_is_refused_in_the_demo_as_on_the_exchange() -> None:
    notifier = await run(order_time_in_force={"entry": "PO", "exit": "GTC"},
                         entry_pricing={"price_side": "other"})

    assert list(Trade.select()) == []
    assert [o.status for o in Order.select()] == []
    assert any("post-only buy" in e.text and "would take" in e.text
               for e in notifier.events if isinstance(e, WarningNotice))


async def test_an_ioc_entry_in_the_demo_fills_from_the_book_at_once() -> None:
    await run(order_time_in_force={"entry": "IOC", "exit": "GTC"},
              entry_pricing={"price_side": "other", "use_order_book": True})

    (trade,) = Trade.select()
    (entry,) = [o for o in trade.orders if o.is_entry]
    assert (entry.status, entry.filled) == ("filled", entry.amount)
    assert entry.order_date == entry.order_filled_date  # filled when placed
    assert trade.fee_open == 0.001
