"""Differential parity with Freqtrade 2026.9: Freqtrade strategy files, unchanged, give here
the trades Freqtrade's own backtest gave on the same candles.

Every `freqtrade_parity/reference/<Case>.json` is a case: Freqtrade's trade list for a class
of `freqtrade_parity/strategies/` (the file exactly as Freqtrade ran it; the class is the
config's "strategy", else the case's name), backtested with `configs/<Case>.json`, the candles
of `data/`, the markets of `markets.json` and a fee of 0.001, as `freqtrade_parity/README.md`
says. Our backtest runs the
same command in-process and must match trade for trade under `tests/parity_rules.py`, and
order for order where `reference/orders/<Case>.json` lists Freqtrade's orders (the cases with
position adjustment).

A case whose strategy needs a part of the Freqtrade surface that this checkout does not
provide yet is an expected failure, named after that part, until the part is here; from then
on it must pass.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
from pathlib import Path

import pytest

from backtest.cli import add_backtest_arguments, run_backtest
from engine.config import load_settings
from tests.parity_rules import first_difference, first_order_difference

FIXTURES = Path(__file__).resolve().parent / "freqtrade_parity"
STRATEGIES = FIXTURES / "strategies"
FEE = "0.001"

# The parts of Freqtrade's surface a strategy may need, how its source shows it needs them,
# and the module of ours that provides them.
NEEDS = (
    ("the freqtrade.* names (import hook, parameters, interface 2)",
     re.compile(r"^\s*(from|import)\s+freqtrade\b", re.MULTILINE), "engine.freqtrade_names"),
    ("the DataProvider and informative pairs",
     re.compile(r"self\.dp\b|informative", re.MULTILINE), "engine.dataprovider"),
)  # fmt: skip


def _source_of(strategy: str) -> str:
    pattern = re.compile(rf"^class\s+{re.escape(strategy)}\b", re.MULTILINE)
    files = [f for f in sorted(STRATEGIES.glob("*.py"))
             if pattern.search(f.read_text(encoding="utf-8"))]
    assert len(files) == 1, f"expected one file defining {strategy} in {STRATEGIES}, got {files}"
    return files[0].read_text(encoding="utf-8")


def _missing_parts(strategy: str) -> list[str]:
    source = _source_of(strategy)
    return [part for part, used, module in NEEDS
            if used.search(source) and importlib.util.find_spec(module) is None]


def strategy_of(case: str) -> str:
    config = json.loads((FIXTURES / "configs" / f"{case}.json").read_text(encoding="utf-8"))
    return str(config.get("strategy", case))


# The cases of a second or more (make test runs them, make test-fast leaves them out); the
# cheaper ones stay in the fast lane, DcaDown among them for the order-for-order comparison.
HEAVY = {"BandParams", "DetailChurn-detail", "DpCustomStop", "DpCustomStop-detail",
         "DpCustomStop-detail-slots", "EthHourlyCallbacks", "InformativeTrend1h",
         "PandasTaTrend", "ScaleOut", "TalibBands", "TalibBands-amend", "TalibBands-protections",
         "TalibBands-shuffle", "TalibBands-stoploss-on-exchange", "TalibBands-unlimited"}


def _cases() -> list[object]:
    cases: list[object] = []
    for reference in sorted((FIXTURES / "reference").glob("*.json")):
        missing = _missing_parts(strategy_of(reference.stem))
        marks = [pytest.mark.xfail(reason=f"waits for {' and '.join(missing)}", strict=True,
                                   raises=AssertionError)] if missing else []
        if reference.stem in HEAVY:
            marks.append(pytest.mark.heavy)
        cases.append(pytest.param(reference.stem, marks=marks, id=reference.stem))
    return cases


def backtest_args(strategy: str, export: Path) -> argparse.Namespace:
    """`bot.py backtest` as the fixture README runs it."""
    parser = argparse.ArgumentParser()
    add_backtest_arguments(parser)
    args = parser.parse_args([
        "--strategy", strategy, "--strategy-path", str(STRATEGIES),
        "--datadir", str(FIXTURES / "data"), "--markets", str(FIXTURES / "markets.json"),
        "--fee", FEE, "--export", "trades", "--export-filename", str(export),
    ])  # fmt: skip
    args.verbose = 0
    return args


def test_every_reference_has_its_config_and_strategy() -> None:
    references = sorted((FIXTURES / "reference").glob("*.json"))
    assert references
    for reference in references:
        assert (FIXTURES / "configs" / reference.name).is_file(), reference.stem
        assert _source_of(strategy_of(reference.stem))


@pytest.mark.parametrize("case", _cases())
def test_freqtrade_strategy_backtests_to_freqtrades_trades(case: str, tmp_path: Path) -> None:
    export = tmp_path / "trades.json"
    settings = load_settings(str(FIXTURES / "configs" / f"{case}.json"), {})
    try:
        code = run_backtest(settings, backtest_args(strategy_of(case), export))
    except Exception as exc:
        raise AssertionError(f"{case} did not backtest: {type(exc).__name__}: {exc}") from exc
    assert code == 0
    # The oracle lists trades by (open date, pair); ours are by open date, then entry order.
    ours = sorted(json.loads(export.read_text(encoding="utf-8")),
                  key=lambda t: (t["open_date"], t["pair"]))
    theirs = json.loads((FIXTURES / "reference" / f"{case}.json").read_text(encoding="utf-8"))
    assert first_difference(ours, theirs) is None
    orders = FIXTURES / "reference" / "orders" / f"{case}.json"
    if orders.is_file():
        assert first_order_difference(ours, json.loads(orders.read_text(encoding="utf-8"))) \
            is None
