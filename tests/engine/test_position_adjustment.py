"""Position adjustment on the paper exchange over real candles: additions (DCA) and partial
exits asked by `adjust_trade_position`, the trade recomputed from its orders.

Expected figures are computed here from the order rows with Freqtrade's formulas (exact
decimals), not by the engine's code."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.clock import ManualClock
from engine.adjust import adjustment_of
from engine.events import EntryFilled, ExitFilled, LogNotifier
from store.models import Order, Trade
from tests.engine.scripted import Scripted
from tests.factories import make_engine, run_for

PAIR = "ETH/BTC"
START = datetime(2018, 1, 11, 6, 0, tzinfo=UTC)  # the first iteration enters
SIGNAL = datetime(2018, 1, 11, 6, 0, tzinfo=UTC)
FIVE = timedelta(minutes=5)
SETTINGS = {"exchange": {"pair_whitelist": [PAIR]}, "stake_amount": 0.05, "max_open_trades": 1}
FEE = Decimal("0.001")


class Adjusting(Scripted):
    """Answers adjust_trade_position from a script: the n-th call's answer, else None."""

    position_adjustment_enable = True

    def __init__(self, answers: dict[int, Any], signal: datetime = SIGNAL, **attrs: Any) -> None:
        super().__init__(enter={PAIR: [signal]}, **attrs)
        self.answers = answers
        self.calls: list[dict[str, Any]] = []

    def adjust_trade_position(self, trade: Any, current_time: datetime, current_rate: float,
                              current_profit: float, min_stake: float | None,
                              max_stake: float, current_entry_rate: float,
                              current_exit_rate: float, current_entry_profit: float,
                              current_exit_profit: float, **kwargs: Any) -> Any:
        self.calls.append({"trade": trade, "rate": current_rate, "min_stake": min_stake,
                           "max_stake": max_stake, "time": current_time})
        return self.answers.get(len(self.calls))


async def run(strategy: Adjusting, iterations: int, start: datetime = START, **overrides: Any):
    clock = ManualClock(start)
    notifier = LogNotifier(keep=1000)
    commands = make_engine(settings_overrides={**SETTINGS, **overrides}, strategy=strategy,
                           clock=clock, notifier=notifier)
    await commands.startup()
    await run_for(commands, clock, iterations)
    return commands, notifier


def only_trade() -> Trade:
    trades = list(Trade.select())
    assert len(trades) == 1
    return trades[0]


def orders_of(trade: Trade) -> list[Order]:
    return list(trade.orders.order_by(Order.id))


def d(value: float) -> Decimal:
    return Decimal(repr(value))


def by_hand(orders: list[Order]) -> dict[str, Decimal]:
    """Freqtrade's recalc_trade_from_orders, written out: the average moves on entries only,
    each exit realizes against the average of its time, fees on both sides."""
    amount = stake = realized = entry_value = Decimal(0)
    for order in orders:
        filled, price = d(order.filled), d(order.average or order.price)
        if order.ft_order_side == "buy":
            amount += filled
            stake += filled * price
            entry_value += filled * price * (1 + FEE)
        else:
            avg = stake / amount
            # Freqtrade's calc_profit rounds each exit's profit to 8 decimals.
            realized += (filled * price * (1 - FEE) - filled * avg * (1 + FEE)).quantize(
                Decimal("1e-8"))
            amount -= filled
            stake = avg * amount
    return {"amount": amount, "stake": stake, "realized": realized,
            "entry_value": entry_value}


async def test_an_addition_averages_the_open_rate_and_a_partial_exit_realizes_profit() -> None:
    # Call 1 is on the entry candle; add 0.05 on call 3, sell 0.04's worth on call 6.
    strategy = Adjusting({3: 0.05, 6: (-0.04, "take_some")})
    _commands, notifier = await run(strategy, 12)

    trade = only_trade()
    orders = orders_of(trade)
    assert [(o.ft_order_side, o.status, o.ft_order_tag) for o in orders] == [
        ("buy", "filled", None), ("buy", "filled", None), ("sell", "filled", "take_some")]
    entry, added, sold = orders
    assert added.order_date == SIGNAL + FIVE + 2 * FIVE
    assert sold.order_date == SIGNAL + FIVE + 5 * FIVE
    # The addition's amount is its stake at its price, on the amount step (0.001).
    assert added.amount == pytest.approx(math.floor(0.05 / added.price * 1000) / 1000)
    # The partial exit sells that stake's worth at the trade's stake per coin.
    stake_before = d(entry.filled) * d(entry.price) + d(added.filled) * d(added.price)
    worth = d(0.04) * (d(entry.filled) + d(added.filled)) / stake_before
    assert sold.amount == pytest.approx(math.floor(float(worth) * 1000) / 1000)
    expected = by_hand(orders)
    assert trade.is_open
    assert trade.amount == pytest.approx(float(expected["amount"]), rel=1e-12)
    assert trade.stake_amount == pytest.approx(float(expected["stake"]), rel=1e-12)
    assert trade.realized_profit == pytest.approx(float(expected["realized"]), abs=1e-8)
    average = (stake_before / (d(entry.filled) + d(added.filled))).quantize(Decimal("0.000001"))
    assert trade.open_rate == pytest.approx(float(average), rel=1e-12)
    assert trade.open_date == SIGNAL + FIVE  # ROI counts from the first entry
    # The strategy's view counts the fills and lists them.
    view = strategy.calls[-1]["trade"]
    assert view.nr_of_successful_entries == 2
    assert view.nr_of_successful_exits == 1
    assert [o.ft_order_side for o in view.select_filled_orders("buy")] == ["buy", "buy"]
    assert [o.ft_order_tag for o in view.select_filled_orders("sell")] == ["take_some"]
    fills = [e for e in notifier.events if isinstance(e, EntryFilled)]
    assert [f.addition for f in fills] == [False, True]
    partial = [e for e in notifier.events if isinstance(e, ExitFilled)]
    assert [(p.partial, p.exit_reason) for p in partial] == [(True, "take_some")]
    assert partial[0].profit_abs == pytest.approx(trade.realized_profit)


async def test_the_full_exit_after_a_partial_one_closes_with_all_the_realized_profit() -> None:
    strategy = Adjusting({2: -0.02, 4: -10.0})
    await run(strategy, 8)

    trade = only_trade()
    orders = orders_of(trade)
    assert [o.ft_order_side for o in orders] == ["buy", "sell", "sell"]
    # Asked to sell more than it holds: it sells what it holds, no more.
    assert orders[2].amount == pytest.approx(orders[0].filled - orders[1].filled)
    expected = by_hand(orders)
    assert not trade.is_open
    assert trade.exit_reason == "partial_exit"
    assert trade.close_profit_abs == pytest.approx(float(expected["realized"]), abs=1e-8)
    assert trade.close_profit == pytest.approx(
        float(expected["realized"] / expected["entry_value"]), rel=1e-9)


async def test_reports_count_the_partial_exits_profit_once_on_the_day_the_trade_closed(
) -> None:
    # Entered 23:40, a third sold at 23:50, the rest at 00:10 the next day.
    evening = datetime(2018, 1, 11, 23, 35, tzinfo=UTC)
    strategy = Adjusting({3: -0.0166, 7: -10.0}, signal=evening)
    commands, _notifier = await run(strategy, 8, start=evening)

    trade = only_trade()
    assert not trade.is_open
    assert [(o.side, o.order_date.day) for o in orders_of(trade)] == [
        ("buy", 11), ("sell", 11), ("sell", 12)]
    assert trade.close_date.date() == datetime(2018, 1, 12, tzinfo=UTC).date()
    realized = float(by_hand(orders_of(trade))["realized"])
    assert trade.close_profit_abs == pytest.approx(realized, abs=1e-8)
    summary = commands.profit()
    assert summary.closed_profit_abs == pytest.approx(realized, abs=1e-8)
    assert summary.all_profit_abs == pytest.approx(realized, abs=1e-8)
    days = {row.start: row for row in commands.periods("day", 3).rows}
    assert days[datetime(2018, 1, 12, tzinfo=UTC).date()].profit_abs == pytest.approx(realized)
    assert days[datetime(2018, 1, 11, tzinfo=UTC).date()].profit_abs == 0
    (pair,) = commands.performance()
    assert pair.profit_abs == pytest.approx(realized)


async def test_while_open_a_partial_exits_profit_counts_once_in_the_total() -> None:
    strategy = Adjusting({2: -0.02})
    commands, _notifier = await run(strategy, 3)

    trade = only_trade()
    assert trade.is_open
    assert trade.realized_profit
    summary = commands.profit()
    assert summary.closed_profit_abs == 0
    (view,) = commands.status()
    assert summary.all_profit_abs == pytest.approx(view.total_profit_abs)
    assert view.total_profit_abs == pytest.approx(trade.realized_profit + view.profit_abs)


async def test_max_entry_position_adjustment_caps_the_additions() -> None:
    strategy = Adjusting({n: 0.02 for n in range(2, 12)}, max_entry_position_adjustment=2)
    await run(strategy, 12)

    assert [o.ft_order_side for o in orders_of(only_trade())] == ["buy"] * 3


async def test_without_position_adjustment_enable_the_callback_is_never_asked() -> None:
    strategy = Adjusting({2: 0.05}, position_adjustment_enable=False)
    await run(strategy, 6)

    assert strategy.calls == []
    assert len(orders_of(only_trade())) == 1


async def test_the_config_key_turns_position_adjustment_on() -> None:
    strategy = Adjusting({2: 0.05}, position_adjustment_enable=False)
    await run(strategy, 6, position_adjustment_enable=True, max_entry_position_adjustment=3)

    assert strategy.max_entry_position_adjustment == 3
    assert [o.ft_order_side for o in orders_of(only_trade())] == ["buy", "buy"]


async def test_averaging_down_keeps_the_stop_and_averaging_up_raises_it() -> None:
    strategy = Adjusting({2: 0.05}, stoploss=-0.05)
    await run(strategy, 3)
    trade = only_trade()
    entry, added = orders_of(trade)
    first_stop = float((d(entry.price) * Decimal("0.95")).quantize(Decimal("0.000001"),
                                                                  rounding=ROUND_CEILING))
    new_stop = float((d(trade.open_rate) * Decimal("0.95")).quantize(Decimal("0.000001"),
                                                                    rounding=ROUND_CEILING))
    assert trade.initial_stop_loss == pytest.approx(first_stop)
    if added.price < entry.price:
        assert trade.stop_loss == pytest.approx(first_stop)
        assert not trade.is_stop_loss_trailing
    else:
        assert trade.stop_loss == pytest.approx(max(first_stop, new_stop))


async def test_the_callback_sees_the_limits_and_the_trade_without_open_orders() -> None:
    strategy = Adjusting({})
    await run(strategy, 4)

    assert len(strategy.calls) == 4  # once per iteration, from the entry candle on
    call = strategy.calls[0]
    assert call["time"] == SIGNAL + FIVE
    assert call["trade"].has_open_orders is False
    assert call["max_stake"] > 0
    assert call["min_stake"] is None or call["min_stake"] > 0


@given(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.text(),
                 st.tuples(st.floats(allow_nan=True), st.one_of(st.none(), st.text()))))
def test_an_answer_is_a_finite_nonzero_stake_and_an_optional_tag(answer: Any) -> None:
    stake, tag = adjustment_of(answer)
    number = answer[0] if isinstance(answer, tuple) else answer
    if isinstance(number, float) and math.isfinite(number) and number != 0:
        assert stake == number
    else:
        assert stake is None
    if isinstance(answer, tuple) and answer[1]:
        assert tag == answer[1]
    else:
        assert tag is None


FILLS = st.lists(st.tuples(st.booleans(), st.integers(1, 5000), st.integers(1, 9000)),
                 min_size=1, max_size=12)


def _order(is_entry: bool, filled: float, price: float) -> Order:
    return Order(ft_order_side="buy" if is_entry else "sell", filled=filled, price=price,
                 average=price, fee_base=0.0, status="filled")


@given(FILLS)
def test_recomputing_after_every_fill_ends_where_one_recomputation_does(
        fills: list[tuple[bool, int, int]]) -> None:
    """Any sequence of entry and exit fills (an exit sells at most what is held, as the
    engine's exits do): the trade recomputed after each fill equals the trade recomputed
    once from all of them, and never holds a negative amount."""
    orders: list[Order] = []
    held = 0.0
    stepwise = Trade(open_rate=1.0, fee_open=0.001, fee_close=0.001, price_tick=0.000001)
    for is_entry, thousandths, price_units in fills:
        amount = thousandths / 1000
        if not is_entry:
            amount = min(amount, round(held, 3))
            if amount <= 0:
                continue
        orders.append(_order(is_entry, amount, price_units / 100000))
        held = held + amount if is_entry else held - amount
        stepwise.recalc_from_orders(orders)
        assert stepwise.amount >= -1e-12
    once = Trade(open_rate=1.0, fee_open=0.001, fee_close=0.001, price_tick=0.000001)
    once.recalc_from_orders(orders)
    for name in ("amount", "stake_amount", "max_stake_amount", "realized_profit", "open_rate",
                 "open_trade_value"):
        assert getattr(stepwise, name) == getattr(once, name), name
    assert stepwise.amount == pytest.approx(held, abs=1e-9)
