"""Stake sizing: available balance, per-trade stake, exchange minimum and maximum, and the
+30% rule, checked by hand against Freqtrade's formulas and by properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.sizing import (
    amount_for,
    available_stake,
    max_stake,
    min_stake,
    proposed_stake,
    stoploss_reserve,
    validate_stake,
)
from venues.exchange import MarketRules


def market(min_cost: float | None = 0.0001, min_amount: float | None = 1.0,
           max_cost: float | None = 9_000_000.0, max_amount: float | None = 9_000_000.0
           ) -> MarketRules:
    return MarketRules(pair="ADA/BTC", base="ADA", quote="BTC", active=True, amount_step=1.0,
                       price_tick=1e-08, min_amount=min_amount, max_amount=max_amount,
                       min_cost=min_cost, max_cost=max_cost, maker_fee=0.001, taker_fee=0.001)


# --- available balance -----------------------------------------------------------------------


def test_available_stake_applies_the_ratio_to_open_stakes_plus_free_balance() -> None:
    # (0.1 open + 1.0 free) * 0.99 - 0.1 open = 0.989
    available = available_stake(free=1.0, open_stake=0.1, tradable_balance_ratio=0.99,
                                available_capital=None, closed_profit=0.0)

    assert available == pytest.approx(0.989)


def test_available_capital_plus_closed_profit_replaces_the_wallet_total() -> None:
    available = available_stake(free=5.0, open_stake=0.2, tradable_balance_ratio=0.99,
                                available_capital=0.5, closed_profit=0.1)

    assert available == pytest.approx(0.4)


def test_available_stake_is_never_more_than_the_free_balance() -> None:
    available = available_stake(free=0.05, open_stake=0.0, tradable_balance_ratio=1.0,
                                available_capital=1.0, closed_profit=0.0)

    assert available == 0.05


def test_available_stake_after_losses_beyond_the_capital_is_zero() -> None:
    assert available_stake(free=1.0, open_stake=0.3, tradable_balance_ratio=0.99,
                           available_capital=0.5, closed_profit=-0.4) == 0.0


# --- per-trade stake -------------------------------------------------------------------------


def test_a_fixed_stake_is_used_as_configured() -> None:
    assert proposed_stake(stake_amount=0.05, available=0.9, open_stake=0.1, max_open_trades=3,
                          open_trades=2) == 0.05


def test_no_stake_when_every_slot_is_taken() -> None:
    assert proposed_stake(stake_amount=0.05, available=0.9, open_stake=0.15, max_open_trades=3,
                          open_trades=3) == 0.0


def test_unlimited_max_open_trades_never_runs_out_of_slots() -> None:
    assert proposed_stake(stake_amount=0.05, available=0.9, open_stake=5.0, max_open_trades=-1,
                          open_trades=100) == 0.05


def test_no_stake_when_less_is_available_than_the_fixed_stake() -> None:
    assert proposed_stake(stake_amount=0.05, available=0.04, open_stake=0.0, max_open_trades=3,
                          open_trades=0) == 0.0


def test_unlimited_stake_splits_the_balance_over_the_slots() -> None:
    # (0.6 available + 0.3 open) / 3 slots = 0.3
    stake = proposed_stake(stake_amount="unlimited", available=0.6, open_stake=0.3,
                           max_open_trades=3, open_trades=1)

    assert stake == pytest.approx(0.3)


def test_unlimited_stake_is_capped_at_what_is_available() -> None:
    stake = proposed_stake(stake_amount="unlimited", available=0.1, open_stake=0.8,
                           max_open_trades=3, open_trades=2)

    assert stake == 0.1


def test_amend_last_stake_uses_the_remainder_only_when_it_is_big_enough() -> None:
    args = {"stake_amount": 0.05, "open_stake": 0.0, "max_open_trades": 3, "open_trades": 0,
            "amend_last_stake_amount": True}

    assert proposed_stake(available=0.03, **args) == 0.03  # type: ignore[arg-type]
    assert proposed_stake(available=0.02, **args) == 0.0  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(stake=st.one_of(st.just("unlimited"), st.floats(1e-6, 10)),
       available=st.floats(0, 10), open_stake=st.floats(0, 10),
       max_open_trades=st.integers(-1, 10), open_trades=st.integers(0, 12),
       amend=st.booleans())
def test_the_proposed_stake_never_exceeds_what_is_available(
        stake: float | str, available: float, open_stake: float, max_open_trades: int,
        open_trades: int, amend: bool) -> None:
    proposed = proposed_stake(stake_amount=stake, available=available,  # type: ignore[arg-type]
                              open_stake=open_stake, max_open_trades=max_open_trades,
                              open_trades=open_trades, amend_last_stake_amount=amend)

    assert 0.0 <= proposed <= available
    if 0 <= max_open_trades <= open_trades:
        assert proposed == 0.0


# --- exchange limits -------------------------------------------------------------------------


def test_min_stake_reserves_for_the_stoploss_on_the_minimum_cost() -> None:
    # cost limit 0.0001 * (1.05 / 0.95); amount limit 1 * 5e-05 * 1.05 is smaller.
    assert min_stake(market(), 5e-05, -0.05) == pytest.approx(0.0001 * 1.05 / 0.95)


def test_min_stake_from_the_minimum_amount_when_it_is_the_larger_one() -> None:
    # amount limit 1 * 0.001 * 1.05 = 0.00105 beats the cost limit 0.000110526...
    assert min_stake(market(), 0.001, -0.05) == pytest.approx(0.00105)


@pytest.mark.parametrize(("stoploss", "reserve"), [
    (-0.05, 1.05 / 0.95), (-0.3, 1.5), (-1.0, 1.5), (-0.0001, 1.05 / 0.9999),
])  # fmt: skip
def test_the_stoploss_reserve_is_kept_within_one_and_one_and_a_half(stoploss: float,
                                                                   reserve: float) -> None:
    assert stoploss_reserve(stoploss, 0.05) == pytest.approx(reserve)


def test_no_min_stake_when_the_market_has_no_minimum() -> None:
    assert min_stake(market(min_cost=None, min_amount=None), 1.0, -0.1) is None


def test_max_stake_is_the_smaller_of_cost_and_amount_limits() -> None:
    assert max_stake(market(max_cost=2.0, max_amount=1000.0), 0.001) == 1.0
    assert max_stake(market(max_cost=0.5, max_amount=1000.0), 0.001) == 0.5


def test_max_stake_is_unlimited_when_the_market_defines_none() -> None:
    assert max_stake(market(max_cost=None, max_amount=None), 1.0) == math.inf


# --- validation ------------------------------------------------------------------------------


def test_a_stake_inside_the_limits_is_accepted_unchanged() -> None:
    check = validate_stake(0.05, min_stake=0.0001, max_stake=10.0, available=0.9)

    assert check.stake == 0.05
    assert check.reason == ""


def test_a_stake_up_to_30_percent_below_the_minimum_is_raised_to_it() -> None:
    check = validate_stake(0.0001, min_stake=0.00013, max_stake=10.0, available=0.9,
                           currency="BTC")

    assert check.stake == 0.00013
    assert check.reason == "stake 0.0001 BTC raised to the exchange minimum 0.00013 BTC"


def test_a_stake_more_than_30_percent_below_the_minimum_skips_the_trade() -> None:
    check = validate_stake(0.0001, min_stake=0.000131, max_stake=10.0, available=0.9,
                           currency="BTC")

    assert check.stake is None
    assert check.reason == ("stake 0.0001 BTC is below the exchange minimum 0.000131 BTC and "
                            "raising it by more than 30% is not allowed")


def test_a_stake_above_the_available_balance_is_cut_to_it() -> None:
    check = validate_stake(0.5, min_stake=0.0001, max_stake=10.0, available=0.2, currency="BTC")

    assert check.stake == 0.2
    assert check.reason == "stake 0.5 BTC cut to the 0.2 BTC that may be staked"


def test_a_stake_above_the_exchange_maximum_is_cut_to_it() -> None:
    assert validate_stake(5.0, min_stake=None, max_stake=1.0, available=9.0).stake == 1.0


def test_a_minimum_above_what_may_be_staked_skips_the_trade() -> None:
    check = validate_stake(0.05, min_stake=0.3, max_stake=10.0, available=0.2, currency="BTC")

    assert check.stake is None
    assert "0.3 BTC" in check.reason
    assert "0.2 BTC" in check.reason


def test_an_existing_trade_may_only_grow_up_to_the_exchange_maximum() -> None:
    check = validate_stake(0.5, min_stake=None, max_stake=1.0, available=9.0, trade_stake=0.8)

    assert check.stake == pytest.approx(0.2)


def test_a_zero_stake_skips_the_trade() -> None:
    assert validate_stake(0.0, min_stake=None, max_stake=1.0, available=1.0).stake is None


@settings(max_examples=300, deadline=None)
@given(stake=st.floats(0, 10), low=st.one_of(st.none(), st.floats(0, 5)),
       high=st.one_of(st.just(math.inf), st.floats(0, 20)), available=st.floats(0, 10))
def test_the_validated_stake_respects_every_limit_or_skips_the_trade(
        stake: float, low: float | None, high: float, available: float) -> None:
    check = validate_stake(stake, min_stake=low, max_stake=high, available=available)

    if check.stake is None:
        assert check.reason
        return
    assert check.stake > 0
    assert low is None or check.stake >= low
    assert check.stake <= high
    assert check.stake <= available
    assert check.stake <= max(stake * 1.3, stake)


def test_amount_is_stake_over_price_unrounded() -> None:
    assert amount_for(0.05, 5.004e-05) == 0.05 / 5.004e-05
