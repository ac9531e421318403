"""Hyperopt's spaces as Freqtrade 2026.9 builds them: the strategy's parameters by space, the
generated roi / stoploss / trailing / trades spaces scaled with the timeframe, and a strategy's
`HyperOpt` class replacing them."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from core.errors import ConfigError
from hyperopt import spaces as sp
from tests.ft_support import STRATEGIES, load
from tests.hyperopt_support import POINT_A, evaluator


def names(spaces: dict[str, list[sp.Dimension]]) -> dict[str, list[str]]:
    return {space: [d.name for d in dims] for space, dims in spaces.items()}


def test_default_is_buy_sell_roi_stoploss_and_all_adds_the_rest() -> None:
    strategy = load("FtParameters")
    assert names(sp.build_spaces(strategy, ["default"])) == {
        "buy": ["buy_ema", "buy_rsi", "buy_trend", "buy_volume_factor"],
        "sell": ["sell_enabled", "sell_margin", "sell_rsi"],
        "roi": ["roi_t1", "roi_t2", "roi_t3", "roi_p1", "roi_p2", "roi_p3"],
        "stoploss": ["stoploss"]}
    assert list(sp.build_spaces(strategy, ["all"])) == [
        "buy", "sell", "protection", "roi", "stoploss", "trailing", "trades"]


def test_parameters_become_optuna_distributions_of_their_kind_and_range() -> None:
    found = {d.name: d.distribution for d in sp.build_spaces(load("FtParameters"),
                                                             ["buy", "sell"])["buy"]}
    assert found["buy_rsi"] == IntDistribution(10, 50)
    assert found["buy_volume_factor"] == FloatDistribution(0.0, 2.0, step=0.1)
    assert found["buy_trend"] == CategoricalDistribution(["ema", "none"])


def test_the_roi_ranges_are_freqtrades_at_5m_and_scale_with_the_timeframe() -> None:
    assert sp.roi_limits("5m") == {
        "roi_t1": (10, 120), "roi_t2": (10, 60), "roi_t3": (10, 40),
        "roi_p1": (0.01, 0.04), "roi_p2": (0.01, 0.07), "roi_p3": (0.01, 0.20)}
    hourly = sp.roi_limits("1h")
    scale = math.log1p(60) / math.log1p(5)
    assert hourly["roi_t1"] == (120, 1440)
    assert hourly["roi_p3"] == pytest.approx((0.01 * scale, 0.20 * scale))


@given(st.integers(10, 120), st.integers(10, 60), st.integers(10, 40),
       st.floats(0.01, 0.04), st.floats(0.01, 0.07), st.floats(0.01, 0.2))
def test_the_roi_table_steps_down_to_zero_at_the_sum_of_the_times(
        t1: int, t2: int, t3: int, p1: float, p2: float, p3: float) -> None:
    table = sp.default_roi_table({"roi_t1": t1, "roi_t2": t2, "roi_t3": t3, "roi_p1": p1,
                                  "roi_p2": p2, "roi_p3": p3})
    assert list(table) == [0, t3, t3 + t2, t3 + t2 + t1]
    assert list(table.values()) == [p1 + p2 + p3, p1 + p2, p1, 0]


def test_a_space_asked_for_by_name_without_parameters_is_refused() -> None:
    with pytest.raises(ConfigError, match="the 'protection' space is included but "
                                          "FtInterfaceV3 has no parameter"):
        sp.build_spaces(load("FtInterfaceV3"), ["protection"])
    with pytest.raises(ConfigError, match="unknown space nope"):
        sp.build_spaces(load("FtParameters"), ["nope"])


HYPEROPT_CLASS = '''

    class HyperOpt:
        def stoploss_space():
            return [SKDecimal(-0.05, -0.01, decimals=3, name="stoploss")]

        def roi_space():
            return [Integer(10, 20, name="roi_t1"), SKDecimal(0.01, 0.02, decimals=3,
                                                             name="roi_p1")]

        def generate_roi_table(params):
            return {0: params["roi_p1"], params["roi_t1"]: 0}
'''


def test_the_strategys_hyperopt_class_replaces_the_generated_spaces(tmp_path: Path) -> None:
    folder = tmp_path / "strategies"
    folder.mkdir()
    source = (STRATEGIES / "ft_parameters.py").read_text(encoding="utf-8")
    source = source.replace("from pandas import DataFrame",
                            "from pandas import DataFrame\nfrom freqtrade.optimize.space "
                            "import Integer, SKDecimal")
    source = source.replace("    def populate_indicators", HYPEROPT_CLASS.lstrip("\n")
                            + "\n    def populate_indicators")
    (folder / "ft_parameters.py").write_text(source, encoding="utf-8")
    shutil.copy(STRATEGIES / "ft_parameters.json", folder)
    chosen = sp.build_spaces(load("FtParameters", folder), ["roi", "stoploss"])
    assert chosen["stoploss"][0].distribution == FloatDistribution(-0.05, -0.01, step=0.001)
    assert names(chosen)["roi"] == ["roi_t1", "roi_p1"]

    ev = evaluator(folder=folder, spaces=("roi", "stoploss"))
    result = ev.evaluate({"roi_t1": 15, "roi_p1": 0.012, "stoploss": -0.02})
    assert result.details == {"roi": {"0": 0.012, "15": 0.0}, "stoploss": {"stoploss": -0.02}}
    assert ev.strategy.minimal_roi == {"0": 0.012, "15": 0.0}


def test_trailing_builds_the_offset_from_the_positive_stop_and_its_distance() -> None:
    ev = evaluator(spaces=("trailing",))
    result = ev.evaluate({"trailing_stop": True, "trailing_stop_positive": 0.01,
                          "trailing_stop_positive_offset_p1": 0.001,
                          "trailing_only_offset_is_reached": False})
    assert result.details["trailing"] == {
        "trailing_stop": True, "trailing_stop_positive": 0.01,
        "trailing_stop_positive_offset": 0.011, "trailing_only_offset_is_reached": False}
    assert ev.strategy.trailing_stop_positive_offset == 0.011
    assert any(t.exit_reason == "trailing_stop_loss" for t in result.trades)


def test_optunas_floats_are_kept_at_the_decimals_of_their_grid() -> None:
    ev = evaluator()
    result = ev.evaluate({**POINT_A, "buy_volume_factor": 0.30000000000000004})
    assert result.params["buy_volume_factor"] == 0.3
