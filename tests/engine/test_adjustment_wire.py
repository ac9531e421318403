"""A position-adjusted trade's whole life live, through the real ccxt binance client against
the fake Binance: an addition that fills partly and times out, a partial exit, the full exit.
Amounts, the average rate, fees and profit are computed here from the fake's own orders
(its quantities, prices and commissions), with Freqtrade's formulas in exact decimals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import pytest

from compose import build_commands
from core.clock import ManualClock
from engine.events import EntryCancelled, ExitFilled, LogNotifier
from store import schema
from store.models import Order, Trade
from store.store import Store
from tests.databases import url_for
from tests.engine.scripted import Scripted
from tests.factories import make_settings
from tests.fakes import FakeExchangeServer, RecordingSleep
from tests.fakes.binance_book import FakeOrder

PAIR = "ETH/BTC"
START = datetime(2018, 1, 20, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)
SETTINGS = {
    "dry_run": False, "stake_amount": 0.05, "max_open_trades": 1,
    "exchange": {"name": "binance", "pair_whitelist": [PAIR]},
}  # fmt: skip
KEYS = {"EXCHANGE_API_KEY": "test-key", "EXCHANGE_API_SECRET": "test-secret"}
LIMIT = {"entry": "limit", "exit": "limit", "stoploss": "limit", "stoploss_on_exchange": False}
FEE = Decimal("0.001")  # the fake's maker fee, in the coin bought (a buy) or in BTC (a sell)
ETH_STEP = Decimal("0.001")


class AddThenScaleOut(Scripted):
    """Adds 0.03 BTC once the first entry filled, then sells 0.02 BTC's worth."""

    position_adjustment_enable = True

    def adjust_trade_position(self, trade: Any, current_time: datetime, current_rate: float,
                              current_profit: float, min_stake: float | None,
                              max_stake: float, current_entry_rate: float,
                              current_exit_rate: float, current_entry_profit: float,
                              current_exit_profit: float, **kwargs: Any) -> Any:
        if trade.nr_of_successful_exits:
            return None
        return 0.03 if trade.nr_of_successful_entries == 1 else -0.02


async def step(commands: Any, clock: ManualClock) -> None:
    clock.advance(STEP)
    await commands.process()


def d(value: float | Decimal) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else value


def commission(order: FakeOrder) -> Decimal:
    return sum((Decimal(f["commission"]) for f in order.fills), Decimal(0))


def profit(amount: Decimal, rate: Decimal, average: Decimal) -> Decimal:
    """Freqtrade's calc_profit of selling `amount` at `rate`, bought at `average`."""
    return (amount * rate * (1 - FEE) - amount * average * (1 + FEE)).quantize(Decimal("1e-8"))


async def test_addition_partly_filled_and_timed_out_then_partial_and_full_exit(
        tmp_path: Path) -> None:
    clock = ManualClock(START)
    notifier = LogNotifier(keep=1000)
    strategy = AddThenScaleOut(enter={PAIR: [START]}, stoploss=-0.5, order_types=LIMIT,
                               unfilledtimeout={"entry": 10, "exit": 10, "unit": "minutes"})
    async with FakeExchangeServer(clock, balances={"BTC": "1"}) as server:
        settings = make_settings(SETTINGS, KEYS)
        strategy.apply_overrides(settings.strategy_overrides())
        exchange = server.ccxt_exchange(clock, sleep=RecordingSleep(), retries=1,
                                        backoff_base=0.1)
        commands = build_commands(settings, strategy, exchange, clock, notifier,
                                  Store(schema.init_db(url_for(tmp_path, "bot"))))
        try:
            await commands.startup()
            await step(commands, clock)  # the entry, resting
            (first,) = server.orders(PAIR)
            server.fill(first.order_id)
            await step(commands, clock)  # the entry filled; the addition, resting
            added = next(o for o in server.orders(PAIR) if o.order_id != first.order_id)
            assert (added.side, added.status) == ("BUY", "NEW")
            part = (added.quantity * Decimal("0.4")).quantize(ETH_STEP, rounding=ROUND_DOWN)
            server.fill(added.order_id, part)
            await step(commands, clock)  # partly filled, waiting
            await step(commands, clock)  # 10 minutes: cancelled; the partial exit, resting
            assert added.status == "CANCELED"
            (partial,) = [o for o in server.orders(PAIR) if o.side == "SELL"]
            server.fill(partial.order_id)
            await step(commands, clock)  # the partial exit filled
            (trade,) = commands.store.open_trades()
            held_after_partial = trade.amount
            await commands.force_exit(trade.id)
            (final,) = [o for o in server.orders(PAIR) if o.side == "SELL" and o.is_open]
            server.fill(final.order_id)
            await step(commands, clock)  # the full exit filled: closed
        finally:
            await commands.shutdown()

        (trade,) = Trade.select()
        orders = list(trade.orders.order_by(Order.id))
        assert [(o.side, o.status) for o in orders] == [
            ("buy", "filled"), ("buy", "canceled"), ("sell", "filled"), ("sell", "filled")]
        # The stake the addition asked for, at its price, on the amount step.
        assert added.quantity == (Decimal("0.03") / added.price).quantize(ETH_STEP, ROUND_DOWN)
        # Binance's order lookups carry no fee: before the partial exit the coins the wallet
        # lacks are booked as the last entry's fee, so the trade holds what arrived.
        q1, p1, q2, p2 = first.executed, first.price, part, added.price
        fees = commission(first) + commission(added)
        held = q1 + q2 - fees
        # 0.02 BTC's worth at the trade's stake per coin before the booking.
        worth = Decimal("0.02") * (q1 + q2) / (q1 * p1 + q2 * p2)
        assert partial.quantity == worth.quantize(ETH_STEP, rounding=ROUND_DOWN)
        average = (q1 * p1 + (q2 - fees) * p2) / held
        assert float(held_after_partial) == pytest.approx(float(held - partial.quantity),
                                                          rel=1e-12)
        assert trade.open_rate == pytest.approx(float(average), rel=1e-6)
        realized = profit(partial.quantity, partial.price, average)
        assert final.quantity == (held - partial.quantity).quantize(ETH_STEP, ROUND_DOWN)
        total = realized + profit(final.quantity, final.price, average)
        assert not trade.is_open
        assert trade.exit_reason == "force_exit"
        assert trade.close_profit_abs == pytest.approx(float(total), abs=2e-8)
        entry_value = (q1 * p1 + (q2 - fees) * p2) * (1 + FEE)
        assert trade.close_profit == pytest.approx(float(total / entry_value), rel=1e-4)
        fills = [e for e in notifier.events if isinstance(e, ExitFilled)]
        assert [f.partial for f in fills] == [True, False]
        assert fills[0].profit_abs == pytest.approx(float(realized), abs=2e-8)
        assert any(isinstance(e, EntryCancelled) and e.partial for e in notifier.events)
        schema.close_db()
