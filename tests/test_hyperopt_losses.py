"""The hyperopt losses against a computation by hand, written out here from Freqtrade 2026.9's
formulas, on five made-up trades over four days (starting balance 1 BTC)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backtest.run import BacktestTrade
from core.errors import ConfigError
from hyperopt.losses import BUILTIN, load_loss, trades_frame

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 1, 5, 12, tzinfo=UTC)  # 4 whole days after START
BALANCE = 1.0
# (opened hours after START, held minutes, profit_abs, profit_ratio), in close order
MADE_UP = [(1, 60, 0.010, 0.20), (20, 120, -0.004, -0.08), (30, 30, 0.002, 0.04),
           (50, 240, -0.006, -0.12), (80, 90, 0.003, 0.06)]
PROFITS = [p for _, _, p, _ in MADE_UP]
RATIOS = [r for _, _, _, r in MADE_UP]


def trades() -> list[BacktestTrade]:
    return [BacktestTrade(
        trade_id=n, pair="ETH/BTC", open_date=START + timedelta(hours=h),
        close_date=START + timedelta(hours=h, minutes=m), open_rate=1.0, close_rate=1.0,
        amount=1.0, stake_amount=0.05, exit_reason="roi", enter_tag=None, profit_ratio=r,
        profit_abs=p) for n, (h, m, p, r) in enumerate(MADE_UP, start=1)]


def loss(name: str) -> float:
    return BUILTIN[name](results=trades_frame(trades()), trade_count=len(MADE_UP),
                         min_date=START, max_date=END, config={}, processed={},
                         backtest_stats={}, starting_balance=BALANCE)


def population_sd(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


# The cumulative profit after each close: .010 .006 .008 .002 .005; its high .010 from the
# first close on; the deepest fall .008 below it (after the fourth close).
MAX_DRAWDOWN = 0.008
RELATIVE_DRAWDOWN = 0.008 / (BALANCE + 0.010)
TOTAL = 0.005


def test_only_profit_is_minus_the_total_profit() -> None:
    assert loss("OnlyProfitHyperOptLoss") == pytest.approx(-TOTAL)


def test_short_trade_duration_weighs_count_profit_and_duration() -> None:
    mean_minutes = (60 + 120 + 30 + 240 + 90) / 5
    expected = (1 - 0.25 * math.exp(-((5 - 600) ** 2) / 10 ** 5.8)) \
        + max(0, 1 - sum(RATIOS) / 3.0) + 0.4 * min(mean_minutes / 300, 1)
    assert loss("ShortTradeDurHyperOptLoss") == pytest.approx(expected)
    assert loss("DefaultHyperOptLoss") == pytest.approx(expected)


def test_sharpe_is_the_daily_mean_return_over_the_deviation_of_trade_returns() -> None:
    expected = (sum(PROFITS) / 4) / population_sd(PROFITS) * math.sqrt(365)
    assert loss("SharpeHyperOptLoss") == pytest.approx(-expected)


def test_sortino_divides_by_the_deviation_of_the_losing_trades_only() -> None:
    expected = (sum(PROFITS) / 4) / population_sd([-0.004, -0.006]) * math.sqrt(365)
    assert loss("SortinoHyperOptLoss") == pytest.approx(-expected)


def test_calmar_divides_the_daily_profit_in_percent_by_the_relative_drawdown() -> None:
    expected = (TOTAL / 4 * 100) / RELATIVE_DRAWDOWN * math.sqrt(365)
    assert loss("CalmarHyperOptLoss") == pytest.approx(-expected)


def test_max_drawdown_is_the_profit_over_the_deepest_fall() -> None:
    assert loss("MaxDrawDownHyperOptLoss") == pytest.approx(-TOTAL / MAX_DRAWDOWN)


def test_max_drawdown_relative_divides_by_both_falls() -> None:
    assert loss("MaxDrawDownRelativeHyperOptLoss") == pytest.approx(
        -TOTAL / MAX_DRAWDOWN / RELATIVE_DRAWDOWN)


def test_profit_drawdown_takes_most_of_the_relative_drawdown_off_the_profit() -> None:
    expected = TOTAL - RELATIVE_DRAWDOWN * TOTAL * (1 - 0.075)
    assert loss("ProfitDrawDownHyperOptLoss") == pytest.approx(-expected)


# Closes by day (hours after START): day 0 at 2 h and 22 h; day 1 at 30.5 h; day 2 at 54 h;
# day 3 at 81.5 h; day 4 none. Each trade's ratio less 0.0005 slippage.
DAILY = [0.20 - 0.0005 - 0.08 - 0.0005, 0.04 - 0.0005, -0.12 - 0.0005, 0.06 - 0.0005, 0.0]


def test_sharpe_daily_is_over_every_day_of_the_range_with_slippage() -> None:
    mean = sum(DAILY) / len(DAILY)
    sample_sd = math.sqrt(sum((d - mean) ** 2 for d in DAILY) / (len(DAILY) - 1))
    assert loss("SharpeHyperOptLossDaily") == pytest.approx(-mean / sample_sd * math.sqrt(365))


def test_sortino_daily_divides_by_the_downside_deviation_of_the_days() -> None:
    mean = sum(DAILY) / len(DAILY)
    downside = math.sqrt(sum(min(d, 0) ** 2 for d in DAILY) / len(DAILY))
    assert loss("SortinoHyperOptLossDaily") == pytest.approx(-mean / downside * math.sqrt(365))


def test_the_ten_names_of_freqtrade_are_all_there() -> None:
    assert {"ShortTradeDurHyperOptLoss", "OnlyProfitHyperOptLoss", "SharpeHyperOptLoss",
            "SharpeHyperOptLossDaily", "SortinoHyperOptLoss", "SortinoHyperOptLossDaily",
            "CalmarHyperOptLoss", "MaxDrawDownHyperOptLoss", "MaxDrawDownRelativeHyperOptLoss",
            "ProfitDrawDownHyperOptLoss"} <= set(BUILTIN)


USER_LOSS = '''
from datetime import datetime
from pandas import DataFrame
from freqtrade.optimize.hyperopt import IHyperOptLoss


class WinsHyperOptLoss(IHyperOptLoss):
    @staticmethod
    def hyperopt_loss_function(results: DataFrame, trade_count: int, min_date: datetime,
                               max_date: datetime, *args, **kwargs) -> float:
        return -float((results["profit_abs"] > 0).sum()) + trade_count / 1000
'''


def test_a_users_loss_class_is_loaded_from_its_file_with_freqtrades_imports(
        tmp_path: Path) -> None:
    (tmp_path / "wins_loss.py").write_text(USER_LOSS, encoding="utf-8")
    function = load_loss("WinsHyperOptLoss", tmp_path, "5m")
    value = function(results=trades_frame(trades()), trade_count=5, min_date=START,
                     max_date=END, config={}, processed={}, backtest_stats={},
                     starting_balance=BALANCE)
    assert value == pytest.approx(-3 + 0.005)


def test_an_unknown_loss_is_refused_naming_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--hyperopt-loss Nope: no such loss; expected one "
                                          "of ShortTradeDurHyperOptLoss"):
        load_loss("Nope", tmp_path, "5m")
