"""Freqtrade strategy files run unchanged: their `freqtrade.*` imports answered by tradepilot's
modules inside strategy code only, TA-Lib and qtpylib installed, interface-2 names mapped, the
runtime surface (Trade, wallets, config, locks, order_filled) bound, and the trades Freqtrade
2026.9 makes on the same case (tests/fixtures/ft_oracle/)."""

from __future__ import annotations

import logging
import math
import sys
import textwrap
import types
from pathlib import Path

import pytest
import technical.qtpylib
from hypothesis import given
from hypothesis import strategies as st

from backtest.run import iso
from core.errors import ConfigError
from engine.freqtrade_names.enums import ExitType
from engine.freqtrade_names.strategy_helper import stoploss_from_absolute, stoploss_from_open
from engine.strategy import IStrategy
from tests.ft_support import backtest, differences, exported, load, reference

BODY = """
    timeframe = "5m"
    stoploss = -0.1

    def populate_indicators(self, dataframe, metadata):
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):
        return dataframe
"""


def strategy_file(folder: Path, header: str, body: str = BODY, name: str = "Probe") -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "probe.py"
    path.write_text(textwrap.dedent(header) + f"\n\nclass {name}(IStrategy):\n"
                    + textwrap.dedent(body).replace("\n", "\n    "), encoding="utf-8")
    return path


def refused(folder: Path, name: str = "Probe") -> str:
    with pytest.raises(ConfigError) as caught:
        load(name, folder)
    return str(caught.value)


def freqtrade_modules() -> list[str]:
    return [name for name in sys.modules if name == "freqtrade" or name.startswith("freqtrade.")]


# --- backtests against Freqtrade's trades ----------------------------------------------------


async def test_a_talib_and_qtpylib_strategy_runs_unchanged_and_trades_as_freqtrade() -> None:
    strategy = load("FtTalibQtpylib")
    result = await backtest(strategy)
    trades = exported(result)
    assert len(trades) == 49
    assert {t["enter_tag"] for t in trades} == {"ema_cross"}
    assert differences(trades, reference("FtTalibQtpylib")) == []


async def test_an_interface_2_strategy_trades_as_its_v3_twin_and_as_freqtrade(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="engine.loader"):
        v2 = load("FtInterfaceV2")
    (warning,) = [r.getMessage() for r in caplog.records if "older names" in r.getMessage()]
    for mapped in ("populate_buy_trend -> populate_entry_trend", "custom_sell -> custom_exit",
                   "use_sell_signal -> use_exit_signal", "sell_profit_only -> exit_profit_only",
                   "ignore_roi_if_buy_signal -> ignore_roi_if_entry_signal",
                   "order_types.buy -> order_types.entry", "unfilledtimeout.sell -> "
                   "unfilledtimeout.exit"):
        assert mapped in warning
    assert (v2.exit_profit_only, v2.exit_profit_offset, v2.ignore_roi_if_entry_signal) == \
        (True, 0.001, True)
    ours = exported(await backtest(v2))
    twin = exported(await backtest(load("FtInterfaceV3")))
    # Freqtrade 2026.9 drops a v2 buy_tag (its trades' enter_tag is empty); all else is equal.
    assert {t.pop("enter_tag") for t in ours} == {None}
    assert {t.pop("enter_tag") for t in twin} == {"rsi_dip"}
    # ...and with it the tag of each trade's entry order.
    for trade in ours + twin:
        for order in trade["orders"]:
            if order["side"] == "buy":
                order.pop("tag")
    assert ours == twin
    assert "gave_up" in {t["exit_reason"] for t in ours}
    assert differences(ours, reference("FtInterfaceV2")) == []


async def test_imports_inside_methods_and_the_runtime_surface_work_in_a_backtest() -> None:
    strategy = load("FtLazyImport")
    trades = exported(await backtest(strategy))
    # 21 trades, not 23: a pair is locked for the hour after a losing exit (order_filled).
    assert len(trades) == 21
    assert differences(trades, reference("FtLazyImport")) == []
    seen = strategy.seen  # type: ignore[attr-defined]
    # custom_stoploss ran with an open trade and read it back through Trade.
    assert min(seen["open_counts"]) >= 1
    # The wallet as Freqtrade computes it: 1 BTC plus closed profit, less the open stakes.
    for when, free in seen["free"]:
        stamp = iso(when)
        closed = sum(t["profit_abs"] for t in trades
                     if t["open_date"] < stamp and t["close_date"] <= stamp)
        tied = sum(t["stake_amount"] for t in trades if t["open_date"] < stamp < t["close_date"])
        assert math.isclose(free, 1.0 + closed - tied, abs_tol=1e-7), when
    assert seen["stake_currency"][0] == "BTC"
    # order_filled for every entry and every exit, with Freqtrade's Order fields.
    assert [side for _, side in seen["fills"]].count("buy") == len(trades)
    assert [side for _, side in seen["fills"]].count("sell") == len(trades)


# --- import names ----------------------------------------------------------------------------


def test_every_import_form_resolves_to_tradepilots_names(tmp_path: Path) -> None:
    strategy_file(tmp_path, """
        import freqtrade.strategy
        import freqtrade.vendor.qtpylib.indicators as qtpylib
        from freqtrade import strategy as ft_strategy
        from freqtrade.constants import ListPairsWithTimeframes
        from freqtrade.enums import CandleType, ExitType, SignalDirection
        from freqtrade.exchange import timeframe_to_minutes, timeframe_to_prev_date
        from freqtrade.optimize.space import Categorical, Integer, SKDecimal
        from freqtrade.persistence import Order, Trade
        from freqtrade.strategy import DecimalParameter, IntParameter, stoploss_from_open
        from freqtrade.strategy.interface import IStrategy
        from freqtrade.strategy.parameters import CategoricalParameter
        from freqtrade.vendor.qtpylib import indicators
    """, BODY + """
    names = (freqtrade.strategy.IStrategy, qtpylib, ft_strategy, ListPairsWithTimeframes,
             CandleType.SPOT, ExitType.ROI, SignalDirection.LONG, timeframe_to_minutes("1h"),
             Trade, Order, stoploss_from_open, indicators, CategoricalParameter)
    buy_level = IntParameter(1, 5, default=3, space="buy")

    class HyperOpt:
        def stoploss_space():
            return [SKDecimal(-0.3, -0.02, decimals=3, name="stoploss")]
    """)
    strategy = load("Probe", tmp_path)
    names = type(strategy).names  # type: ignore[attr-defined]
    assert names[0] is IStrategy
    assert names[1].crossed_above is technical.qtpylib.crossed_above
    assert names[2].IStrategy is IStrategy
    assert names[4:8] == ("spot", ExitType.ROI, "long", 60)
    assert names[11].crossed_below is technical.qtpylib.crossed_below
    assert strategy.buy_level.value == 3  # type: ignore[attr-defined]
    assert freqtrade_modules() == []


@pytest.mark.parametrize(("header", "message"), [
    ("from freqtrade.strategy import IStrategy, PairLocks",
     "probe.py, line 1: tradepilot does not provide freqtrade.strategy.PairLocks: use the "
     "strategy's self.lock_pair, self.unlock_pair and self.is_pair_locked"),
    ("from freqtrade.strategy import IStrategy\nfrom freqtrade.optimize.hyperopt import IHyperOpt",
     "probe.py, line 2: tradepilot does not provide freqtrade.optimize.hyperopt.IHyperOpt: "
     "Freqtrade 2026.9 has no separate hyperopt classes either"),
    ("from freqtrade.strategy import IStrategy\nimport freqtrade.optimize.backtesting",
     "probe.py, line 2: tradepilot does not provide freqtrade.optimize.backtesting: of "
     "Freqtrade's optimize package only freqtrade.optimize.space and IHyperOptLoss"),
    ("from freqtrade.strategy import IStrategy\nfrom freqtrade.strategy.hyper import IntParameter",
     "tradepilot does not provide freqtrade.strategy.hyper.IntParameter: not in Freqtrade "
     "2026.9's freqtrade.strategy.hyper either; import it from freqtrade.strategy"),
    ("from freqtrade.strategy import IStrategy\nimport freqtrade.wallets",
     "tradepilot does not provide freqtrade.wallets: no tradepilot module stands for it"),
    ("from freqtrade.strategy import IStrategy\nfrom freqtrade.exchange import Exchange",
     "tradepilot does not provide freqtrade.exchange.Exchange: a strategy reaches the exchange "
     "through self.dp"),
])
def test_a_name_tradepilot_does_not_provide_fails_at_load_with_the_name_and_why(
        tmp_path: Path, header: str, message: str) -> None:
    strategy_file(tmp_path, header)
    assert message in refused(tmp_path)


def test_a_lazily_provided_name_fails_at_load_while_its_module_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "engine.informative", None)  # import raises ImportError
    strategy_file(tmp_path, "from freqtrade.strategy import IStrategy, informative")
    assert "probe.py, line 1: tradepilot does not provide freqtrade.strategy.informative: the " \
           "@informative decorator is not available in this build (engine.informative is " \
           "missing)" in refused(tmp_path)


def test_names_of_other_parts_are_looked_up_when_used_and_star_imports_work(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    informative = types.ModuleType("engine.informative")
    informative.informative = lambda timeframe: (lambda method: method)  # type: ignore[attr-defined]
    informative.merge_informative_pair = object()  # type: ignore[attr-defined]
    dataprovider = types.ModuleType("engine.dataprovider")
    dataprovider.RunMode = type("RunMode", (), {})  # type: ignore[attr-defined]
    dataprovider.DataProvider = type("DataProvider", (), {})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "engine.informative", informative)
    monkeypatch.setitem(sys.modules, "engine.dataprovider", dataprovider)
    strategy_file(tmp_path, """
        from freqtrade.strategy import *
        from freqtrade.enums import RunMode
        from freqtrade.data.dataprovider import DataProvider
    """, BODY + """
    names = (merge_informative_pair, RunMode, DataProvider, DecimalParameter, Trade)
    """)
    names = type(load("Probe", tmp_path)).names  # type: ignore[attr-defined]
    assert names[:3] == (informative.merge_informative_pair, dataprovider.RunMode,
                         dataprovider.DataProvider)


def test_a_strategys_own_fallback_on_import_error_still_works(tmp_path: Path) -> None:
    strategy_file(tmp_path, """
        from freqtrade.strategy import IStrategy
        try:
            from freqtrade.strategy import PairLocks
        except ImportError:
            PairLocks = None
    """, BODY + "\n    has_pairlocks = PairLocks is not None\n")
    assert load("Probe", tmp_path).has_pairlocks is False  # type: ignore[attr-defined]


def test_a_real_freqtrade_elsewhere_is_neither_hidden_nor_seen_by_strategies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "site" / "freqtrade"
    (fake / "strategy").mkdir(parents=True)
    (fake / "__init__.py").write_text("WHO = 'the real freqtrade'\n")
    (fake / "strategy" / "__init__.py").write_text("class IStrategy:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    strategy_file(tmp_path / "strategies", "from freqtrade.strategy import IStrategy", BODY + """
    def bot_loop_start(self, current_time, **kwargs):
        import freqtrade
        from freqtrade.strategy import IStrategy as Later
        self.later = (freqtrade.strategy.IStrategy, Later)
    """)
    try:
        strategy = load("Probe", tmp_path / "strategies")
        assert isinstance(strategy, IStrategy)
        assert freqtrade_modules() == []
        strategy.bot_loop_start(current_time=None)
        assert strategy.later == (IStrategy, IStrategy)  # type: ignore[attr-defined]
        assert freqtrade_modules() == []
        import freqtrade  # the real one, outside strategy code

        assert freqtrade.WHO == "the real freqtrade"
        from freqtrade.strategy import IStrategy as Theirs

        assert Theirs is not IStrategy
    finally:
        for name in freqtrade_modules():
            monkeypatch.delitem(sys.modules, name)


# --- the stoploss helpers ----------------------------------------------------------------------


@given(stop=st.floats(-0.99, 0.99), profit=st.floats(-0.95, 5.0),
       leverage=st.sampled_from([1.0, 2.0, 3.0, 5.0]))
def test_stoploss_from_open_puts_the_stop_at_that_distance_from_the_open_price(
        stop: float, profit: float, leverage: float) -> None:
    open_rate = 100.0
    current = open_rate * (1 + profit / leverage)  # the price move behind a leveraged profit
    stop_price = open_rate * (1 + stop / leverage)
    expected = max((current - stop_price) / current * leverage, 0.0)
    assert math.isclose(stoploss_from_open(stop, profit, leverage=leverage), expected,
                        rel_tol=1e-9, abs_tol=1e-12)


@given(stop_rate=st.floats(0.0, 200.0), current=st.floats(0.01, 200.0),
       leverage=st.sampled_from([1.0, 3.0]))
def test_stoploss_from_absolute_is_the_distance_below_the_current_price(
        stop_rate: float, current: float, leverage: float) -> None:
    expected = max((current - stop_rate) / current, 0.0) * leverage
    assert math.isclose(stoploss_from_absolute(stop_rate, current, leverage=leverage), expected,
                        rel_tol=1e-9, abs_tol=1e-12)


def test_the_stoploss_helpers_edge_cases_and_refuse_short_positions() -> None:
    assert stoploss_from_open(0.1, -1.0) == 1
    assert stoploss_from_absolute(10.0, 0.0) == 1
    with pytest.raises(ValueError, match="spot, long only"):
        stoploss_from_open(0.1, 0.2, is_short=True)
    with pytest.raises(ValueError, match="spot, long only"):
        stoploss_from_absolute(90.0, 100.0, is_short=True)


# --- the live engine -------------------------------------------------------------------------


async def test_an_unchanged_freqtrade_strategy_trades_in_the_offline_demo() -> None:
    from tests.factories import make_engine, run_for
    from tests.ft_support import STRATEGIES

    commands = make_engine(settings_overrides={
        "strategy": "FtLazyImport", "strategy_path": str(STRATEGIES),
        "exchange": {"name": "offline", "pair_whitelist": ["ETH/BTC", "LTC/BTC"]}})
    await commands.startup()
    await run_for(commands, commands.engine.clock, 60)
    strategy = commands.engine.strategy
    trades = commands.store.open_trades() + commands.store.closed_trades()
    assert trades
    fills = strategy.seen["fills"]  # type: ignore[attr-defined]
    assert [side for _, side in fills].count("buy") == len(trades)
    assert min(strategy.seen["open_counts"]) >= 1  # type: ignore[attr-defined]
