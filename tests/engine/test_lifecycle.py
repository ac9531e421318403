"""A trade's whole life on the paper exchange over real candles, one test per exit reason.

Expected figures are computed here from the candle file with Freqtrade's formulas, not by
the engine's own code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest

from core.clock import ManualClock
from core.errors import CommandError
from engine.control.commands import Commands
from engine.events import ExitFilled, LogNotifier
from marketdata.files import fill_gaps, load_candles
from store import models
from store.models import Order, Trade
from tests.engine.scripted import Scripted
from tests.factories import make_engine, run_for

ROOT = Path(__file__).resolve().parents[2]
PAIR = "ETH/BTC"
START = datetime(2018, 1, 11, 5, 0, tzinfo=UTC)
FIVE = timedelta(minutes=5)
SETTINGS = {"exchange": {"pair_whitelist": [PAIR]}, "stake_amount": 0.05, "max_open_trades": 1}
FEE = 0.001  # the shipped markets' maker fee


@pytest.fixture(scope="module")
def candles() -> pd.DataFrame:
    frame = fill_gaps(load_candles(ROOT / "data/ohlcv/ETH_BTC-5m.feather"), "5m")
    return frame.set_index("date")


def row(candles: pd.DataFrame, when: datetime) -> pd.Series:
    return candles.loc[pd.Timestamp(when)]


def to_tick(value: float, tick: str, mode: str = ROUND_HALF_UP) -> float:
    return float(Decimal(repr(float(value))).quantize(Decimal(tick), rounding=mode))


def expected_profit(amount: float, open_rate: float, close_rate: float) -> tuple[float, float]:
    open_value = amount * open_rate * (1 + FEE)
    close_value = amount * close_rate * (1 - FEE)
    profit = round(close_value - open_value, 8)
    return profit, profit / open_value


async def run(strategy: Scripted, minutes: int, **overrides) -> tuple:
    clock = ManualClock(START)
    notifier = LogNotifier()
    commands = make_engine(settings_overrides={**SETTINGS, **overrides}, strategy=strategy,
                           clock=clock, notifier=notifier)
    await commands.startup()
    await run_for(commands, clock, minutes // 5)
    return commands, clock, notifier


def only_trade() -> Trade:
    trades = list(Trade.select())
    assert len(trades) == 1
    return trades[0]


def assert_closed_as(trade: Trade, reason: str, close_rate: float, closed_at: datetime) -> None:
    assert trade.is_open is False
    assert trade.exit_reason == reason
    assert trade.close_rate == pytest.approx(close_rate, rel=1e-12)
    assert trade.close_date == closed_at
    profit, ratio = expected_profit(trade.amount_requested, trade.open_rate, close_rate)
    assert trade.close_profit_abs == pytest.approx(profit, abs=1e-12)
    assert trade.close_profit == pytest.approx(ratio, rel=1e-9)
    assert [o.status for o in trade.orders.order_by(Order.id)] == ["filled", "filled"]


async def test_exit_signal_round_trip_enters_and_exits_at_the_next_candle_open(candles) -> None:
    signal_at, exit_at = datetime(2018, 1, 11, 6, 0, tzinfo=UTC), datetime(2018, 1, 11, 7, 0,
                                                                           tzinfo=UTC)
    strategy = Scripted(enter={PAIR: [signal_at]}, exit_={PAIR: [exit_at]})
    commands, _clock, notifier = await run(strategy, 150)

    trade = only_trade()
    entry_open = to_tick(row(candles, signal_at + FIVE)["open"], "0.000001")
    amount = to_tick(0.05 / entry_open, "0.001", ROUND_FLOOR)
    assert trade.open_date == signal_at + FIVE
    assert trade.open_rate == pytest.approx(entry_open, rel=1e-12)
    assert trade.amount_requested == pytest.approx(amount, rel=1e-12)
    assert trade.fee_open == pytest.approx(FEE)
    exit_open = to_tick(row(candles, exit_at + FIVE)["open"], "0.000001")
    assert_closed_as(trade, "exit_signal", exit_open, exit_at + FIVE)
    fills = [e for e in notifier.events if isinstance(e, ExitFilled)]
    assert [f.trade_id for f in fills] == [trade.id]
    assert commands.profit().closed_count == 1


@pytest.mark.heavy
async def test_stoploss_fills_at_the_stop_price_on_the_first_candle_that_reaches_it(
        candles) -> None:
    signal_at = datetime(2018, 1, 11, 6, 0, tzinfo=UTC)
    strategy = Scripted(enter={PAIR: [signal_at]}, stoploss=-0.01)
    await run(strategy, 24 * 60)

    trade = only_trade()
    stop = to_tick(trade.open_rate * 0.99, "0.000001", ROUND_CEILING)
    assert trade.initial_stop_loss == pytest.approx(stop)
    after = candles.loc[pd.Timestamp(signal_at + FIVE):]
    hit = after[after["low"] <= stop].index[0].to_pydatetime()
    candle = row(candles, hit)
    price = stop if candle["high"] >= stop else to_tick(candle["open"], "0.000001")
    assert_closed_as(trade, "stop_loss", price, hit)


@pytest.mark.heavy
async def test_roi_exit_takes_the_roi_rate_when_profit_at_the_high_beats_the_table(
        candles) -> None:
    signal_at = datetime(2018, 1, 11, 6, 0, tzinfo=UTC)
    strategy = Scripted(enter={PAIR: [signal_at]}, minimal_roi={"0": 0.01})
    await run(strategy, 24 * 60)

    trade = only_trade()
    amount, open_rate = trade.amount_requested, trade.open_rate
    open_value = amount * open_rate * (1 + FEE)
    after = candles.loc[pd.Timestamp(signal_at + FIVE):]
    profit_at_high = (amount * after["high"] * (1 - FEE)) / open_value - 1
    hit = after[profit_at_high.round(8) > 0.01].index[0].to_pydatetime()
    candle = row(candles, hit)
    roi_rate = 1.01 * open_value / (amount * (1 - FEE))
    price = to_tick(min(max(roi_rate, candle["low"]), candle["high"]), "0.000001")
    assert_closed_as(trade, "roi", price, hit)


@pytest.mark.heavy
async def test_trailing_stop_only_moves_up_and_exits_as_trailing_stop_loss(candles) -> None:
    signal_at = datetime(2018, 1, 11, 6, 0, tzinfo=UTC)
    strategy = Scripted(enter={PAIR: [signal_at]}, stoploss=-0.02, trailing_stop=True)
    await run(strategy, 24 * 60)

    trade = only_trade()
    assert trade.is_stop_loss_trailing
    stop = trade.initial_stop_loss
    for when, candle in candles.loc[pd.Timestamp(signal_at + FIVE):].iterrows():
        if stop < candle["low"]:
            stop = max(stop, to_tick(candle["high"] * 0.98, "0.000001", ROUND_CEILING))
        if stop >= candle["low"]:
            hit = when.to_pydatetime()
            break
    price = stop if candle["high"] >= stop else to_tick(candle["open"], "0.000001")
    assert trade.stop_loss == pytest.approx(stop)
    assert trade.stop_loss > trade.initial_stop_loss
    assert_closed_as(trade, "trailing_stop_loss", price, hit)


class CustomExitAfterThreeCandles(Scripted):
    def custom_exit(self, pair, trade, current_time, current_rate, current_profit, **kwargs):
        if current_time - trade.open_date_utc >= timedelta(minutes=15):
            return "took_enough"
        return None


MARKET_EXITS = {"entry": "limit", "exit": "market", "stoploss": "market",
                "stoploss_on_exchange": False}


async def test_custom_exit_reason_is_stored_and_a_market_exit_fills_at_the_bid_on_its_tick(
        candles) -> None:
    # The demo's market orders fill as Freqtrade's dry run fills them: at the book's price,
    # rounded to the price tick (1e-6 for ETH/BTC).
    signal_at = datetime(2018, 1, 11, 6, 0, tzinfo=UTC)
    strategy = CustomExitAfterThreeCandles(enter={PAIR: [signal_at]}, order_types=MARKET_EXITS)
    await run(strategy, 120)

    trade = only_trade()
    closed_at = signal_at + FIVE + timedelta(minutes=15)
    assert_closed_as(trade, "took_enough", to_tick(row(candles, closed_at)["open"], "0.000001"),
                     closed_at)


async def test_forced_exit_sells_at_the_current_bid_on_its_tick(candles) -> None:
    signal_at = datetime(2018, 1, 11, 6, 0, tzinfo=UTC)
    strategy = Scripted(enter={PAIR: [signal_at]}, order_types=MARKET_EXITS)
    commands, clock, _ = await run(strategy, 80)
    trade = only_trade()
    result = await commands.force_exit(trade.id)
    assert result.trade_ids == (trade.id,)

    now = clock.now()
    trade = Trade.get_by_id(trade.id)
    assert_closed_as(trade, "force_exit", to_tick(row(candles, now)["open"], "0.000001"), now)


async def test_limit_exit_above_the_candle_high_waits_for_the_price_to_get_there(
        candles) -> None:
    # At 06:20 the open 0.08829685 rounds to the 1e-6 tick as 0.088297, above the high
    # 0.08829686: a real limit sell there cannot fill until a later candle trades that high.
    signal_at = datetime(2018, 1, 11, 6, 0, tzinfo=UTC)
    strategy = CustomExitAfterThreeCandles(enter={PAIR: [signal_at]})
    await run(strategy, 120)

    trade = only_trade()
    assert trade.close_rate == 0.088297
    assert trade.close_date == datetime(2018, 1, 11, 6, 25, tzinfo=UTC)
    assert [o.order_date for o in trade.orders if not o.is_entry] == [
        datetime(2018, 1, 11, 6, 20, tzinfo=UTC)]


@pytest.mark.heavy
async def test_stopped_bot_still_fires_the_stoploss_but_takes_no_signal_exit(candles) -> None:
    signal_at = datetime(2018, 1, 11, 6, 0, tzinfo=UTC)
    strategy = Scripted(enter={PAIR: [signal_at]}, exit_={PAIR: [signal_at + FIVE * 3]},
                        stoploss=-0.01)
    commands, clock, _ = await run(strategy, 70)
    assert only_trade().is_open
    reply = await commands.stop()
    assert "stoploss keeps protecting" in reply.text
    await run_for(commands, clock, 24 * 12)
    trade = only_trade()
    assert trade.exit_reason == "stop_loss"
    assert not trade.is_open


async def test_paused_bot_opens_nothing_but_manages_exits(candles) -> None:
    signal_at = datetime(2018, 1, 11, 6, 0, tzinfo=UTC)
    strategy = Scripted(enter={PAIR: [signal_at, signal_at + timedelta(hours=3)]},
                        exit_={PAIR: [signal_at + timedelta(hours=1)]})
    commands, clock, _ = await run(strategy, 70)
    await commands.pause()
    await run_for(commands, clock, 5 * 12)
    trades = list(Trade.select())
    assert len(trades) == 1
    assert trades[0].exit_reason == "exit_signal"
    assert models.Order.select().count() == 2


@pytest.mark.parametrize("call", [
    lambda c: c.profit(10**9), lambda c: c.profit(0), lambda c: c.periods("week", 10**7),
    lambda c: c.periods("day", -3), lambda c: c.closed_profit_series(10**12),
])
def test_report_spans_beyond_what_dates_can_hold_are_refused_with_a_readable_reason(
        call: Callable[[Commands], object]) -> None:
    commands = make_engine()

    with pytest.raises(CommandError, match="expected a number from 1 to 3650"):
        call(commands)
