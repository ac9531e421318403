"""Exit decisions: stoploss, trailing and custom stops, the ROI table, signals, their priority
and the price each exit proposes, on replayed candles and on live point tickers."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ccxt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ConfigError
from engine.exits import (
    ExitDecision,
    ExitKind,
    ExitRules,
    clamp_custom_price,
    exit_candidates,
    initial_stop,
    roi_close_rate,
    roi_threshold,
    update_stop,
)
from engine.strategy import IStrategy
from store import models
from tests.factories import trade_row
from venues.exchange import Rounding, Ticker
from venues.precision import round_price

MARKETS = Path(__file__).resolve().parents[1] / "data" / "markets.json"
T0 = datetime(2018, 1, 10, 8, 0, tzinfo=UTC)
PAIR = "ADA/BTC"  # price tick 1e-8


def _exchange() -> ccxt.Exchange:
    exchange = ccxt.binance()
    exchange.set_markets(json.loads(MARKETS.read_text())["markets"])
    return exchange


EXCHANGE = _exchange()


def round_up_for(pair: str) -> Callable[[float], float]:
    return lambda price: round_price(EXCHANGE, pair, price, Rounding.ROUND_UP)


ROUND_UP = round_up_for(PAIR)


def nearest(price: float, pair: str = PAIR) -> float:
    return round_price(EXCHANGE, pair, price)


class Unset(IStrategy):
    """A strategy that sets only its timeframe: every other attribute is IStrategy's."""

    timeframe = "5m"


def strategy_with(**attrs: object) -> IStrategy:
    strategy = Unset()
    for name, value in attrs.items():
        setattr(strategy, name, value)
    return strategy


def rules(**overrides: object) -> ExitRules:
    strategy = strategy_with(minimal_roi={"0": 0.04, "60": 0.02, "120": 0.0}, stoploss=-0.05)
    return replace(ExitRules.from_strategy(strategy, freqtrade_compat=True), **overrides)


def make_trade(open_rate: float = 5e-05, amount: float = 1000.0, *, opened: datetime = T0,
               exit_rules: ExitRules | None = None, pair: str = PAIR) -> models.Trade:
    trade = trade_row(pair, open_rate=open_rate, amount=amount, open_date=opened)
    trade.open_trade_value = trade.open_value_of(amount, open_rate)
    first = initial_stop(open_rate, (exit_rules or rules()).stoploss, round_up_for(pair))
    apply(trade, first)
    trade.initial_stop_loss, trade.initial_stop_loss_pct = first.stop_loss, first.stop_loss_pct
    return trade


def apply(trade: models.Trade, update: object) -> None:
    if update is None:
        return
    trade.stop_loss = update.stop_loss  # type: ignore[attr-defined]
    trade.stop_loss_pct = update.stop_loss_pct  # type: ignore[attr-defined]
    trade.is_stop_loss_trailing = update.is_stop_loss_trailing  # type: ignore[attr-defined]
    trade.max_rate = update.max_rate  # type: ignore[attr-defined]
    trade.min_rate = update.min_rate  # type: ignore[attr-defined]


def candle(open_: float, high: float, low: float, close: float, when: datetime = T0,
           pair: str = PAIR) -> Ticker:
    return Ticker(pair=pair, time=when, bid=close, ask=close, last=close, open=open_, high=high,
                  low=low)


def point(price: float, when: datetime = T0) -> Ticker:
    return candle(price, price, price, price, when)


def step(trade: models.Trade, ticker: Ticker, exit_rules: ExitRules, *,
         custom_stop: float | None = None, enter: bool = False, exit_: bool = False,
         tag: str | None = None, custom_exit: str | bool | None = None) -> ExitDecision | None:
    """What the engine does per ticker: move the stop, then take the best exit (which a
    strategy without a veto confirms)."""
    apply(trade, update_stop(trade, ticker, exit_rules, round_up_for(trade.pair), custom_stop))
    found = exit_candidates(trade, ticker, ticker.time, exit_rules, enter_signal=enter,
                            exit_signal=exit_, exit_tag=tag, custom_exit=custom_exit)
    return found[0] if found else None


# --- initial stop ----------------------------------------------------------------------------


def test_initial_stop_is_open_rate_less_the_stoploss_rounded_up_to_the_tick() -> None:
    # 5.004e-05 * 0.95 = 4.7538e-05, which is not on the 1e-8 tick: the safe side is up.
    stop = initial_stop(5.004e-05, -0.05, ROUND_UP)

    assert stop.stop_loss == 4.754e-05
    assert stop.stop_loss_pct == -0.05
    assert not stop.is_stop_loss_trailing


def test_initial_stop_on_a_coarser_tick_rounds_up_to_that_tick() -> None:
    # ETH/BTC has a 1e-6 tick: 0.09726994 * 0.95 = 0.092406443 -> 0.092407.
    stop = initial_stop(0.09726994, -0.05, round_up_for("ETH/BTC"))

    assert stop.stop_loss == 0.092407


# --- fixed stop and its prices ---------------------------------------------------------------


def test_stop_fires_when_the_low_touches_it_and_sells_at_the_stop_price() -> None:
    trade = make_trade()  # stop 4.75e-05

    decision = step(trade, candle(4.9e-05, 4.95e-05, 4.75e-05, 4.8e-05), rules())

    assert decision == ExitDecision("stop_loss", ExitKind.STOP, 4.75e-05)


def test_stop_does_not_fire_while_the_low_stays_above_it() -> None:
    trade = make_trade()

    assert step(trade, candle(4.9e-05, 4.95e-05, 4.76e-05, 4.8e-05), rules()) is None


def test_a_candle_that_gapped_below_the_stop_sells_at_its_open() -> None:
    trade = make_trade()

    decision = step(trade, candle(4.6e-05, 4.7e-05, 4.5e-05, 4.55e-05), rules())

    assert decision == ExitDecision("stop_loss", ExitKind.STOP, 4.6e-05)


def test_a_live_ticker_below_the_stop_sells_at_the_current_price() -> None:
    trade = make_trade()

    decision = step(trade, point(4.7e-05), rules(freqtrade_compat=False))

    assert decision == ExitDecision("stop_loss", ExitKind.STOP, 4.7e-05)


# --- trailing stop ---------------------------------------------------------------------------


def test_trailing_stop_follows_the_candle_high_and_marks_the_trade_trailing() -> None:
    trade = make_trade()
    exit_rules = rules(trailing_stop=True)

    step(trade, candle(5.0e-05, 5.5e-05, 5.0e-05, 5.4e-05, T0 + timedelta(minutes=5)), exit_rules)

    assert trade.stop_loss == ROUND_UP(5.5e-05 * 0.95) == 5.225e-05
    assert trade.is_stop_loss_trailing
    assert trade.max_rate == 5.5e-05


def test_trailing_stop_never_moves_down_when_the_price_falls_back() -> None:
    trade = make_trade()
    exit_rules = rules(trailing_stop=True)
    step(trade, candle(5.0e-05, 5.5e-05, 5.3e-05, 5.4e-05, T0 + timedelta(minutes=5)), exit_rules)

    later = candle(5.4e-05, 5.45e-05, 5.3e-05, 5.3e-05, T0 + timedelta(minutes=10))

    assert update_stop(trade, later, exit_rules, ROUND_UP) is None
    assert trade.stop_loss == 5.225e-05


def test_trailing_stop_hit_after_moving_exits_as_trailing_stop_loss_at_the_stop() -> None:
    trade = make_trade()
    exit_rules = rules(trailing_stop=True, minimal_roi=((0, 10.0),))

    # The high comes first and lifts the stop to 5.225e-05; the low then reaches it.
    decision = step(trade, candle(5.1e-05, 5.5e-05, 5.2e-05, 5.2e-05, T0 + timedelta(minutes=5)),
                    exit_rules)

    assert decision == ExitDecision("trailing_stop_loss", ExitKind.TRAILING, 5.225e-05)


def test_trailing_stop_does_not_move_once_the_low_has_reached_the_stop() -> None:
    trade = make_trade()
    exit_rules = rules(trailing_stop=True)

    update = update_stop(trade, candle(4.8e-05, 5.6e-05, 4.7e-05, 5.0e-05), exit_rules, ROUND_UP)

    assert update is not None
    assert update.stop_loss == 4.75e-05
    assert not update.is_stop_loss_trailing


def test_trailing_stop_positive_takes_over_only_above_the_offset() -> None:
    exit_rules = rules(trailing_stop=True, trailing_stop_positive=0.01,
                       trailing_stop_positive_offset=0.03)
    below = make_trade()
    above = make_trade()

    # 2% up at the high: still the stoploss distance; 5% up: the 1% distance.
    step(below, candle(5.0e-05, 5.1e-05, 5.0e-05, 5.05e-05), exit_rules)
    step(above, candle(5.0e-05, 5.25e-05, 5.1e-05, 5.2e-05), exit_rules)

    assert below.stop_loss == ROUND_UP(5.1e-05 * 0.95)
    assert below.stop_loss_pct == -0.05
    assert above.stop_loss == ROUND_UP(5.25e-05 * 0.99) == 5.198e-05
    assert above.stop_loss_pct == -0.01


def test_trailing_only_offset_is_reached_keeps_the_initial_stop_until_the_offset() -> None:
    exit_rules = rules(trailing_stop=True, trailing_stop_positive=0.01,
                       trailing_stop_positive_offset=0.03, trailing_only_offset_is_reached=True)
    trade = make_trade()

    step(trade, candle(5.0e-05, 5.1e-05, 5.0e-05, 5.05e-05), exit_rules)
    assert trade.stop_loss == 4.75e-05
    assert not trade.is_stop_loss_trailing

    step(trade, candle(5.05e-05, 5.25e-05, 5.1e-05, 5.2e-05, T0 + timedelta(minutes=5)),
         exit_rules)
    assert trade.stop_loss == 5.198e-05
    assert trade.is_stop_loss_trailing


def test_trailing_stop_hit_on_the_entry_candle_sells_at_freqtrades_worst_case_price() -> None:
    exit_rules = rules(trailing_stop=True, minimal_roi=((0, 10.0),))
    trade = make_trade()

    decision = step(trade, candle(5.0e-05, 5.5e-05, 4.9e-05, 5.0e-05), exit_rules)

    # Just above the open, then down to the stop distance below the open; not below the low.
    assert decision == ExitDecision("trailing_stop_loss", ExitKind.TRAILING,
                                    max(4.9e-05, 5.0e-05 * (1 - 0.05)))


def test_trailing_entry_candle_price_with_offset_only_uses_offset_minus_positive() -> None:
    exit_rules = rules(trailing_stop=True, trailing_stop_positive=0.01,
                       trailing_stop_positive_offset=0.02, trailing_only_offset_is_reached=True,
                       minimal_roi=((0, 10.0),))
    trade = make_trade()

    decision = step(trade, candle(5.0e-05, 5.5e-05, 4.9e-05, 5.0e-05), exit_rules)

    assert decision is not None
    assert decision.kind is ExitKind.TRAILING
    assert decision.price == pytest.approx(5.0e-05 * (1 + 0.02 - 0.01), rel=1e-12)


def test_without_compat_a_trailing_stop_on_the_entry_candle_sells_at_the_stop() -> None:
    exit_rules = rules(trailing_stop=True, minimal_roi=((0, 10.0),), freqtrade_compat=False)
    trade = make_trade()

    decision = step(trade, candle(5.0e-05, 5.5e-05, 4.9e-05, 5.0e-05), exit_rules)

    assert decision == ExitDecision("trailing_stop_loss", ExitKind.TRAILING, 5.225e-05)


def _price_walk() -> st.SearchStrategy[list[tuple[float, float, float]]]:
    moves = st.tuples(st.floats(0.8, 1.25), st.floats(0.0, 0.05), st.floats(0.0, 0.05))
    return st.lists(moves, min_size=1, max_size=30)


@settings(max_examples=150, deadline=None)
@given(walk=_price_walk(), positive=st.sampled_from([None, 0.01, 0.02]),
       offset=st.sampled_from([0.0, 0.01, 0.03]), only_offset=st.booleans(),
       customs=st.lists(st.one_of(st.none(), st.floats(-0.2, 0.2),
                                  st.sampled_from([math.nan, math.inf])), max_size=30))
def test_the_stop_never_loosens(walk: list[tuple[float, float, float]], positive: float | None,
                                offset: float, only_offset: bool, customs: list) -> None:
    exit_rules = rules(trailing_stop=True, trailing_stop_positive=positive,
                       trailing_stop_positive_offset=offset,
                       trailing_only_offset_is_reached=only_offset, use_custom_stoploss=True)
    trade = make_trade(exit_rules=exit_rules)
    price = trade.open_rate
    for i, (move, up, down) in enumerate(walk):
        open_ = price
        price = max(open_ * move, 1e-06)
        high, low = max(open_, price) * (1 + up), min(open_, price) * (1 - down)
        before = trade.stop_loss
        custom = customs[i] if i < len(customs) else None
        apply(trade, update_stop(trade, candle(open_, high, low, price), exit_rules, ROUND_UP,
                                 custom))
        assert trade.stop_loss >= before
        assert trade.is_stop_loss_trailing == (trade.stop_loss > trade.initial_stop_loss)


# --- custom stoploss -------------------------------------------------------------------------


def test_custom_stoploss_tightens_the_stop_relative_to_the_current_rate() -> None:
    exit_rules = rules(use_custom_stoploss=True)
    trade = make_trade()

    step(trade, point(5.2e-05), exit_rules, custom_stop=-0.02)

    assert trade.stop_loss == ROUND_UP(5.2e-05 * 0.98) == 5.096e-05
    assert trade.stop_loss_pct == -0.02
    assert trade.is_stop_loss_trailing


def test_custom_stoploss_may_not_loosen_the_stop() -> None:
    exit_rules = rules(use_custom_stoploss=True)
    trade = make_trade()
    step(trade, point(5.2e-05), exit_rules, custom_stop=-0.02)

    update = update_stop(trade, point(5.2e-05), exit_rules, ROUND_UP, custom_stop=-0.10)

    assert update is None
    assert trade.stop_loss == 5.096e-05


def test_custom_stoploss_right_after_a_fill_may_loosen_the_stop() -> None:
    exit_rules = rules(use_custom_stoploss=True)
    trade = make_trade()
    step(trade, point(5.2e-05), exit_rules, custom_stop=-0.02)

    update = update_stop(trade, point(5.2e-05), exit_rules, ROUND_UP, custom_stop=-0.10,
                         after_fill=True)

    assert update is not None
    assert update.stop_loss == ROUND_UP(5.2e-05 * 0.90) == 4.68e-05
    assert update.stop_loss_pct == -0.10


@pytest.mark.parametrize("value", [None, math.nan, math.inf, -math.inf, 0.0])
def test_custom_stoploss_without_a_usable_value_leaves_the_stop_alone(value: float | None
                                                                      ) -> None:
    exit_rules = rules(use_custom_stoploss=True)
    trade = make_trade()

    update = update_stop(trade, point(5.2e-05), exit_rules, ROUND_UP, custom_stop=value)

    assert update is not None
    assert update.stop_loss == 4.75e-05
    assert not update.is_stop_loss_trailing


def test_custom_stoploss_is_ignored_unless_the_strategy_enables_it() -> None:
    trade = make_trade()

    update = update_stop(trade, point(5.2e-05), rules(), ROUND_UP, custom_stop=-0.01)

    assert update is not None
    assert update.stop_loss == 4.75e-05


def test_update_stop_reports_nothing_when_nothing_changed() -> None:
    trade = make_trade()
    apply(trade, update_stop(trade, point(5.1e-05), rules(), ROUND_UP))

    assert update_stop(trade, point(5.05e-05), rules(), ROUND_UP) is None


# --- ROI -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("minutes", "expected"), [
    (0, 0.04), (59, 0.04), (59.99, 0.04), (60, 0.02), (119, 0.02), (120, 0.0), (10_000, 0.0),
])  # fmt: skip
def test_roi_threshold_is_the_row_with_the_largest_key_not_above_the_age(
        minutes: float, expected: float) -> None:
    assert roi_threshold(minutes, rules()) == expected


def test_roi_threshold_before_the_first_key_is_none() -> None:
    assert roi_threshold(5, rules(minimal_roi=((10, 0.01),))) is None


@settings(max_examples=100, deadline=None)
@given(table=st.dictionaries(st.integers(0, 500), st.floats(-1, 1), min_size=1, max_size=6),
       minutes=st.integers(0, 600))
def test_roi_threshold_matches_freqtrades_table_lookup(table: dict[int, float],
                                                       minutes: int) -> None:
    exit_rules = ExitRules.from_strategy(
        strategy_with(minimal_roi={str(k): v for k, v in table.items()}, stoploss=-0.1), True)
    keys = [k for k in table if k <= minutes]

    assert roi_threshold(minutes, exit_rules) == (table[max(keys)] if keys else None)


def test_roi_close_rate_is_freqtrades_formula() -> None:
    trade = make_trade(5.049e-05, 990.0)

    # (1 + roi) * open value / (amount * (1 - fee)), open value = 990 * 5.049e-05 * 1.001
    assert roi_close_rate(trade, 0.04) == pytest.approx(
        1.04 * 990 * 5.049e-05 * 1.001 / (990 * 0.999), rel=1e-12)


def test_roi_exit_inside_the_candle_sells_at_the_roi_rate() -> None:
    # Freqtrade's parity case: ADA/BTC opened 08:55 at 5.049e-05, ROI exit 25 minutes later
    # at 5.261e-05.
    opened = datetime(2018, 1, 10, 8, 55, tzinfo=UTC)
    trade = make_trade(5.049e-05, 990.0, opened=opened)
    ticker = candle(5.183e-05, 5.339e-05, 5.18e-05, 5.297e-05, opened + timedelta(minutes=25))

    decision = step(trade, ticker, rules())

    assert decision is not None
    assert decision.kind is ExitKind.ROI
    assert decision.reason == "roi"
    assert nearest(decision.price) == 5.261e-05


def test_roi_exit_when_a_new_step_starts_sells_at_the_open_with_compat() -> None:
    # Parity case: NXT/BTC opened 08:15 at 3.152e-05; at 120 minutes the 0% step starts and
    # the candle opens above the target, so it sells at the open 3.204e-05.
    opened = datetime(2018, 1, 10, 8, 15, tzinfo=UTC)
    trade = make_trade(3.152e-05, 1586.0, opened=opened, pair="NXT/BTC")
    ticker = candle(3.204e-05, 3.215e-05, 3.196e-05, 3.196e-05, opened + timedelta(minutes=120),
                    pair="NXT/BTC")

    decision = step(trade, ticker, rules())

    assert decision == ExitDecision("roi", ExitKind.ROI, 3.204e-05)


def test_roi_needs_profit_strictly_above_the_threshold() -> None:
    trade = make_trade()
    high = 5.3e-05
    exactly = trade.profit_ratio(high)
    ticker = candle(5.0e-05, high, 5.0e-05, 5.1e-05, T0 + timedelta(minutes=5))

    assert step(trade, ticker, rules(minimal_roi=((0, exactly),))) is None
    decision = step(trade, ticker, rules(minimal_roi=((0, exactly - 1e-8),)))
    assert decision is not None
    assert decision.kind is ExitKind.ROI


def test_roi_is_measured_at_the_high_with_both_fees() -> None:
    trade = make_trade()
    # 1% up at the high is only ~0.8% after two 0.1% fees.
    ticker = candle(5.0e-05, 5.05e-05, 5.0e-05, 5.0e-05, T0 + timedelta(minutes=5))

    assert step(trade, ticker, rules(minimal_roi=((0, 0.009),))) is None
    assert step(trade, ticker, rules(minimal_roi=((0, 0.007),))) is not None


def test_roi_price_is_clamped_to_the_candle() -> None:
    trade = make_trade()
    ticker = candle(5.4e-05, 5.5e-05, 5.35e-05, 5.45e-05, T0 + timedelta(minutes=65))

    decision = step(trade, ticker, rules(freqtrade_compat=True))

    # 65 minutes is not a step start: Freqtrade takes the ROI rate clamped to [low, high].
    assert decision is not None
    assert decision.price == 5.35e-05


def test_without_compat_a_roi_target_passed_at_the_open_sells_at_the_open() -> None:
    trade = make_trade()
    ticker = candle(5.4e-05, 5.5e-05, 5.0e-05, 5.45e-05, T0 + timedelta(minutes=65))

    compat = step(trade, ticker, rules())
    live_like = step(make_trade(), ticker, rules(freqtrade_compat=False))

    assert compat is not None
    assert compat.price == pytest.approx(roi_close_rate(trade, 0.02))
    assert live_like == ExitDecision("roi", ExitKind.ROI, 5.4e-05)


def test_roi_minus_one_forces_an_exit_at_the_open_once_its_time_has_come() -> None:
    trade = make_trade()
    ticker = candle(4.9e-05, 4.95e-05, 4.8e-05, 4.9e-05, T0 + timedelta(minutes=30))

    decision = step(trade, ticker, rules(minimal_roi=((0, 10.0), (30, -1.0))))

    assert decision == ExitDecision("roi", ExitKind.ROI, 4.9e-05)


def test_roi_on_a_red_entry_candle_entered_below_the_open_is_refused_with_compat() -> None:
    # Entered below the open of a candle that closes below its open: Freqtrade cannot tell
    # whether the ROI price came before the entry, so it skips the ROI exit.
    trade = make_trade(4.9e-05)
    ticker = candle(5.0e-05, 5.3e-05, 4.85e-05, 4.95e-05)

    assert step(trade, ticker, rules()) is None
    assert step(make_trade(4.9e-05), ticker, rules(freqtrade_compat=False)) is not None


def test_ignore_roi_if_entry_signal_holds_while_the_entry_signal_is_on() -> None:
    trade = make_trade()
    ticker = candle(5.0e-05, 5.5e-05, 5.0e-05, 5.4e-05, T0 + timedelta(minutes=5))
    exit_rules = rules(ignore_roi_if_entry_signal=True)

    assert step(trade, ticker, exit_rules, enter=True) is None
    assert step(trade, ticker, exit_rules, enter=False) is not None


# --- signals and priority --------------------------------------------------------------------


def test_exit_signal_sells_at_the_candle_open() -> None:
    # Parity case: ADA/BTC opened at 5.004e-05, exit signal at 08:20 sells at the open 4.92e-05.
    opened = datetime(2018, 1, 10, 8, 5, tzinfo=UTC)
    trade = make_trade(5.004e-05, 999.0, opened=opened)
    ticker = candle(4.92e-05, 4.932e-05, 4.907e-05, 4.919e-05, opened + timedelta(minutes=15))

    decision = step(trade, ticker, rules(), exit_=True)

    assert decision == ExitDecision("exit_signal", ExitKind.SIGNAL, 4.92e-05)


def test_exit_signal_with_an_entry_signal_on_the_same_candle_is_ignored() -> None:
    trade = make_trade()

    assert step(trade, point(5.1e-05, T0 + timedelta(minutes=5)), rules(), exit_=True,
                enter=True) is None


def test_exit_tag_becomes_the_exit_reason() -> None:
    trade = make_trade()

    decision = step(trade, point(5.1e-05), rules(), exit_=True, tag="ema cross down")

    assert decision is not None
    assert decision.reason == "ema cross down"


def test_exit_signal_beats_a_stop_hit_in_the_same_candle() -> None:
    trade = make_trade()
    ticker = candle(4.9e-05, 4.95e-05, 4.7e-05, 4.8e-05, T0 + timedelta(minutes=5))

    decision = step(trade, ticker, rules(), exit_=True)

    assert decision == ExitDecision("exit_signal", ExitKind.SIGNAL, 4.9e-05)


def test_fixed_stop_beats_roi_in_the_same_candle() -> None:
    trade = make_trade()
    ticker = candle(5.0e-05, 5.5e-05, 4.7e-05, 4.9e-05, T0 + timedelta(minutes=5))

    found = exit_candidates(trade, ticker, ticker.time, rules(), enter_signal=False,
                            exit_signal=False, exit_tag=None, custom_exit=None)

    assert [d.kind for d in found] == [ExitKind.STOP, ExitKind.ROI]


def test_roi_beats_a_trailing_stop_in_the_same_candle() -> None:
    trade = make_trade()
    exit_rules = rules(trailing_stop=True)
    ticker = candle(5.1e-05, 5.5e-05, 5.2e-05, 5.3e-05, T0 + timedelta(minutes=5))
    apply(trade, update_stop(trade, ticker, exit_rules, ROUND_UP))

    found = exit_candidates(trade, ticker, ticker.time, exit_rules, enter_signal=False,
                            exit_signal=False, exit_tag=None, custom_exit=None)

    assert [d.kind for d in found] == [ExitKind.ROI, ExitKind.TRAILING]


def test_custom_exit_string_becomes_the_reason_cut_to_255_characters() -> None:
    trade = make_trade()

    decision = step(trade, point(5.1e-05), rules(), custom_exit="x" * 300)
    flagged = step(trade, point(5.1e-05), rules(), custom_exit=True)

    assert decision == ExitDecision("x" * 255, ExitKind.CUSTOM, 5.1e-05)
    assert flagged == ExitDecision("custom_exit", ExitKind.CUSTOM, 5.1e-05)


def test_exit_profit_only_holds_a_losing_exit_signal_but_not_a_custom_exit() -> None:
    exit_rules = rules(exit_profit_only=True, exit_profit_offset=0.01)
    trade = make_trade()
    small_gain = point(5.03e-05)  # about +0.4% after fees

    assert step(trade, small_gain, exit_rules, exit_=True) is None
    assert step(trade, small_gain, exit_rules, custom_exit="take it") == ExitDecision(
        "take it", ExitKind.CUSTOM, 5.03e-05)
    assert step(trade, point(5.2e-05), exit_rules, exit_=True) is not None


def test_use_exit_signal_off_ignores_signals_and_custom_exits() -> None:
    trade = make_trade()

    assert step(trade, point(5.1e-05), rules(use_exit_signal=False), exit_=True,
                custom_exit=True) is None


def test_a_live_ticker_prices_every_exit_at_the_current_price() -> None:
    live = rules(freqtrade_compat=False)
    later = T0 + timedelta(minutes=130)

    roi = step(make_trade(), point(5.1e-05, later), live)
    signal = step(make_trade(), point(4.9e-05, later), live, exit_=True)

    assert roi == ExitDecision("roi", ExitKind.ROI, 5.1e-05)
    assert signal == ExitDecision("exit_signal", ExitKind.SIGNAL, 4.9e-05)


# --- rules and custom prices -----------------------------------------------------------------


def test_exit_rules_are_read_from_the_strategy_attributes() -> None:
    strategy = strategy_with(
        minimal_roi={"120": 0, "0": 0.04, "60": 0.02}, stoploss=-0.05, timeframe="5m",
        trailing_stop=True, trailing_stop_positive=0.01, trailing_stop_positive_offset=0.02,
        trailing_only_offset_is_reached=True, exit_profit_only=True, exit_profit_offset=0.01,
    )

    exit_rules = ExitRules.from_strategy(strategy, freqtrade_compat=False)

    assert exit_rules == ExitRules(
        minimal_roi=((0, 0.04), (60, 0.02), (120, 0.0)), stoploss=-0.05, trailing_stop=True,
        trailing_stop_positive=0.01, trailing_stop_positive_offset=0.02,
        trailing_only_offset_is_reached=True, exit_profit_only=True, exit_profit_offset=0.01,
        use_exit_signal=True, ignore_roi_if_entry_signal=False, use_custom_stoploss=False,
        freqtrade_compat=False, timeframe_minutes=5,
    )


def test_exit_rules_of_what_a_strategy_leaves_unset_are_istrategys_defaults() -> None:
    exit_rules = ExitRules.from_strategy(strategy_with(stoploss=-0.1), freqtrade_compat=True)

    shared = [f.name for f in fields(ExitRules) if hasattr(IStrategy, f.name)]
    assert {name: getattr(exit_rules, name) for name in shared} == {
        name: getattr(IStrategy, name) for name in shared if name != "minimal_roi"
    } | {"minimal_roi": ()}
    assert exit_rules.timeframe_minutes == 5


@pytest.mark.parametrize(("attrs", "message"), [
    ({"minimal_roi": {"0": 0.1}}, "stoploss"),
    ({"minimal_roi": {"soon": 0.1}, "stoploss": -0.1}, "minimal_roi"),
    ({"minimal_roi": {"0": "high"}, "stoploss": -0.1}, "minimal_roi.0"),
])  # fmt: skip
def test_exit_rules_from_a_broken_strategy_name_the_bad_attribute(attrs: dict,
                                                                  message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ExitRules.from_strategy(strategy_with(**attrs), freqtrade_compat=True)


@settings(max_examples=200, deadline=None)
@given(proposed=st.floats(1e-8, 1e6), custom=st.one_of(
    st.none(), st.floats(allow_nan=True, allow_infinity=True)), ratio=st.floats(0, 0.5))
def test_a_custom_price_stays_within_the_allowed_distance(proposed: float, custom: float | None,
                                                          ratio: float) -> None:
    price = clamp_custom_price(proposed, custom, ratio)

    assert proposed * (1 - ratio) * (1 - 1e-12) <= price <= proposed * (1 + ratio) * (1 + 1e-12)
    if custom is None or not math.isfinite(custom) or custom == 0:
        assert price == proposed


def test_a_custom_price_inside_the_distance_is_kept() -> None:
    assert clamp_custom_price(100.0, 101.5, 0.02) == 101.5
    assert clamp_custom_price(100.0, 110.0, 0.02) == 102.0
    assert clamp_custom_price(100.0, 90.0, 0.02) == 98.0
