"""The strategy contract: callbacks behind the safety fence, config overrides, trade snapshots."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime
from typing import Any, ClassVar

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ConfigError, StrategyError
from engine.settings import STRATEGY_KEYS, OrderTypes, Settings, UnfilledTimeout
from engine.strategy import (
    ALL_PAIRS,
    RAISE,
    IStrategy,
    LogOnce,
    TradeSnapshot,
    safe_call,
    safe_populate,
)
from store import models
from store.store import Store
from tests.factories import new_order, new_trade

NOW = datetime(2018, 1, 20, 12, 0, tzinfo=UTC)
log = logging.getLogger("tests.strategy")


class FussyStrategy(IStrategy):
    """Its stake callback breaks on one pair only."""

    timeframe = "5m"
    stoploss = -0.10
    calls: ClassVar[list[str]] = []

    def custom_stake_amount(self, pair: str, proposed_stake: float, **kwargs: Any) -> float:
        if pair == "LTC/BTC":
            raise ZeroDivisionError("division by zero")
        return proposed_stake / 2

    def bot_loop_start(self, current_time: datetime, **kwargs: Any) -> None:
        self.calls.append(f"loop {current_time.isoformat()} {sorted(kwargs)}")


def stake(strategy: IStrategy, pair: str, log_once: LogOnce) -> float:
    return safe_call(pair, strategy.custom_stake_amount, default=0.05, log_once=log_once,
                     current_time=NOW, current_rate=0.1, proposed_stake=0.05, min_stake=0.001,
                     max_stake=1.0, leverage=1.0, entry_tag=None, side="long")


def test_callback_raising_on_one_pair_gives_the_default_there_and_other_pairs_keep_trading(
    caplog: pytest.LogCaptureFixture,
) -> None:
    strategy, log_once = FussyStrategy(), LogOnce(log)
    with caplog.at_level(logging.ERROR):
        stakes = [(stake(strategy, "LTC/BTC", log_once), stake(strategy, "ETH/BTC", log_once))
                  for _ in range(5)]
    assert stakes == [(0.05, 0.025)] * 5
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "custom_stake_amount raised for LTC/BTC: ZeroDivisionError: division by zero" \
        in errors[0].getMessage()
    assert errors[0].exc_info is not None  # the traceback, once, to debug the strategy


def test_fence_asked_to_raise_turns_any_exception_into_a_strategy_error() -> None:
    def broken(pair: str) -> None:
        raise KeyError("rsi")

    with pytest.raises(StrategyError, match="broken failed for ETH/BTC: KeyError: 'rsi'"):
        safe_call("ETH/BTC", broken, default=RAISE, log_once=LogOnce(log))


def test_fence_lets_base_exceptions_like_cancellation_through() -> None:
    def interrupted(pair: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        safe_call("ETH/BTC", interrupted, default=None, log_once=LogOnce(log))


def test_a_callback_about_no_pair_gets_only_its_own_arguments() -> None:
    strategy = FussyStrategy()
    FussyStrategy.calls.clear()
    safe_call(ALL_PAIRS, strategy.bot_loop_start, default=None, log_once=LogOnce(log),
              current_time=NOW)
    assert FussyStrategy.calls == [f"loop {NOW.isoformat()} []"]


def test_populate_that_returns_no_frame_is_a_strategy_error_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def populate_indicators(dataframe: Any, metadata: dict) -> None:
        dataframe["x"] = 1  # forgot the return

    log_once = LogOnce(log)
    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            with pytest.raises(StrategyError, match="returned NoneType, expected a DataFrame"):
                safe_populate("ETH/BTC", populate_indicators, _frame(), {}, log_once=log_once)
    assert len(caplog.records) == 1


def test_log_once_logs_again_after_the_condition_cleared(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log_once = LogOnce(log)
    with caplog.at_level(logging.WARNING):
        assert log_once.warning("stale:ETH", "stale %s", "ETH")
        assert not log_once.warning("stale:ETH", "stale %s", "ETH")
        log_once.forget("stale:ETH")
        assert log_once.warning("stale:ETH", "stale %s", "ETH")
    assert [r.getMessage() for r in caplog.records] == ["stale ETH", "stale ETH"]


def test_log_once_forgets_the_oldest_keys_beyond_its_size() -> None:
    log_once = LogOnce(log, maxsize=2)
    for key in ("a", "b", "c"):
        log_once.info(key, "x")
    assert log_once.info("a", "x")
    assert not log_once.info("c", "x")


def test_config_values_replace_the_strategy_values_as_freqtrade_does() -> None:
    settings = Settings(stoploss=-0.02, minimal_roi={"0": 0.01}, timeframe="1h",
                        order_types=OrderTypes(entry="market"),
                        unfilledtimeout=UnfilledTimeout(entry=30, unit="seconds"))
    strategy = FussyStrategy()
    strategy.apply_overrides(settings.strategy_overrides())
    assert (strategy.stoploss, dict(strategy.minimal_roi), strategy.timeframe) == \
        (-0.02, {"0": 0.01}, "1h")
    assert strategy.resolved_order_types() == OrderTypes(entry="market")
    assert strategy.resolved_unfilledtimeout().entry_delta.total_seconds() == 30
    assert FussyStrategy.stoploss == -0.10  # the class itself is untouched


def test_each_config_key_that_replaces_a_strategy_value_names_a_strategy_attribute() -> None:
    setting_names = {f.name for f in dataclasses.fields(Settings)}
    strategy_names = set(IStrategy.__annotations__) | set(vars(IStrategy))

    assert [k for k in STRATEGY_KEYS if k not in setting_names or k not in strategy_names] == []


def test_strategy_order_types_and_timeouts_as_dicts_resolve_to_the_typed_settings() -> None:
    class Dicts(FussyStrategy):
        order_types: ClassVar[dict[str, Any]] = {
            "entry": "market", "exit": "limit", "stoploss": "market",
            "stoploss_on_exchange": False, "stoploss_on_exchange_interval": 60,
        }
        unfilledtimeout: ClassVar[dict[str, Any]] = {"entry": 5, "exit": 15,
                                                     "exit_timeout_count": 2}

    strategy = Dicts()
    assert strategy.resolved_order_types() == OrderTypes(entry="market", exit="limit",
                                                         stoploss="market")
    assert strategy.resolved_unfilledtimeout() == UnfilledTimeout(entry=5, exit=15,
                                                                  exit_timeout_count=2)
    assert FussyStrategy().resolved_order_types().stoploss == "limit"  # Freqtrade's default


def test_overriding_something_that_is_no_strategy_setting_is_refused() -> None:
    with pytest.raises(ConfigError, match="stake_amount: not a strategy setting"):
        FussyStrategy().apply_overrides({"stake_amount": 1})


def test_default_callbacks_answer_as_freqtrade_defaults_do() -> None:
    strategy = FussyStrategy()
    snapshot = _snapshot()
    assert strategy.custom_stoploss(pair="ETH/BTC", trade=snapshot, current_time=NOW,
                                    current_rate=0.1, current_profit=0.0,
                                    after_fill=False) == -0.10
    assert strategy.custom_exit(pair="ETH/BTC", trade=snapshot, current_time=NOW,
                                current_rate=0.1, current_profit=0.0) is None
    assert strategy.confirm_trade_entry(pair="ETH/BTC", order_type="limit", amount=1.0,
                                        rate=0.1, time_in_force="GTC", current_time=NOW,
                                        entry_tag=None, side="long") is True
    assert strategy.custom_entry_price(pair="ETH/BTC", trade=None, current_time=NOW,
                                       proposed_rate=0.1, entry_tag=None, side="long") == 0.1
    assert strategy.check_exit_timeout(pair="ETH/BTC", trade=snapshot, order=None,
                                       current_time=NOW) is False


def test_trade_snapshot_cannot_be_changed_by_a_strategy() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        _snapshot().stop_loss = 0.5  # type: ignore[misc]


def test_trade_snapshot_copies_a_trade_row_and_counts_its_filled_entries(store: Store) -> None:
    trade = new_trade(store, strategy="FussyStrategy", enter_tag="ema_cross", open_date=NOW,
                      stop_loss=0.095, initial_stop_loss=0.095, max_rate=0.1, min_rate=0.1)
    for filled in (1.0, 0.5, 0.0):
        new_order(store, trade, filled=filled, status="filled" if filled else "open")
    trade.recalc_from_orders(store.filled_orders(trade))
    store.write(trade)
    snapshot = TradeSnapshot.from_trade(trade, store.orders_of(trade.id))
    assert (snapshot.id, snapshot.pair, snapshot.amount, snapshot.enter_tag) == \
        (trade.id, "ETH/BTC", 1.5, "ema_cross")
    assert snapshot.nr_of_successful_entries == 2
    assert snapshot.open_date_utc == NOW
    assert snapshot.calc_profit_ratio(0.11) == trade.profit_ratio(0.11)


@given(amount=st.floats(1e-4, 1e4), open_rate=st.floats(1e-6, 1e3),
       move=st.floats(-0.9, 5.0), fee=st.sampled_from([0.0, 0.001, 0.0025, 0.01]))
def test_snapshot_profit_ratio_is_the_trade_profit_ratio(amount: float, open_rate: float,
                                                         move: float, fee: float) -> None:
    trade = models.Trade(amount=amount, fee_open=fee, fee_close=fee, open_rate=open_rate)
    trade.open_trade_value = trade.open_value_of(amount, open_rate)
    snapshot = dataclasses.replace(_snapshot(), amount=amount, fee_open=fee, fee_close=fee,
                                   open_rate=open_rate, open_trade_value=trade.open_trade_value)
    rate = open_rate * (1 + move)
    assert snapshot.calc_profit_ratio(rate) == trade.profit_ratio(rate)


def _snapshot() -> TradeSnapshot:
    return TradeSnapshot(
        id=1, pair="ETH/BTC", open_rate=0.1, open_date=NOW, amount=1.0, stake_amount=0.1,
        enter_tag=None, is_open=True, fee_open=0.001, fee_close=0.001, stop_loss=0.09,
        initial_stop_loss=0.09, max_rate=0.1, min_rate=0.1, exit_reason=None,
        open_trade_value=0.1001, nr_of_successful_entries=1)


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"close": [1.0, 2.0]})
