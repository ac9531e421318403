"""Hyperopt's epochs mean what Freqtrade's backtests of the same values mean: for three points
of a small space (buy_rsi x sell_rsi of FtParameters, its other values from its parameter
file), the epoch's trades and profit equal Freqtrade 2026.9's backtest with a parameter file of
those values.

The references in tests/fixtures/ft_oracle/hyperopt/ were made once with
../shared/oracle/run_freqtrade.sh on the case of tests/ft_support.py (its candles written as
feather files, the oracle's config with the two pairs and max_open_trades 2), each strategy
folder holding ft_parameters.json with buy_rsi and sell_rsi replaced."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.ft_support import ORACLE, differences
from tests.hyperopt_support import evaluator

REFERENCES = sorted((ORACLE / "hyperopt").glob("FtParameters_*.json"))
# The values of tests/strategies_ft/ft_parameters.json (and the class) for the rest.
REST = {"buy_ema": 12, "buy_volume_factor": 0.5, "buy_trend": "ema", "sell_enabled": True,
        "sell_margin": 0.25}


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda p: p.stem)
def test_an_epoch_trades_as_freqtrades_backtest_of_its_values(reference: Path) -> None:
    expected: dict[str, Any] = json.loads(reference.read_text(encoding="utf-8"))
    point = {**REST, "buy_rsi": expected["buy_rsi"], "sell_rsi": expected["sell_rsi"]}
    result = evaluator(spaces=("buy", "sell")).evaluate(point)

    ours = sorted((t.to_json() for t in result.trades),
                  key=lambda t: (t["open_date"], t["pair"]))
    assert differences(ours, expected["trades"]) == []
    assert result.stats.profit_abs == pytest.approx(expected["profit_total_abs"], abs=1e-10)


def test_the_references_are_three_different_cases() -> None:
    counts = {len(json.loads(p.read_text(encoding="utf-8"))["trades"]) for p in REFERENCES}
    assert len(REFERENCES) == 3
    assert len(counts) == 3
