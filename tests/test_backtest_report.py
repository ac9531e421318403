"""The backtest report against Freqtrade 2026.9's own report of the same case.

The fixtures are Freqtrade's figures for the parity case (strategy EmaRsiCross, fee 0.001), from
the oracle (`../shared/oracle/run_freqtrade.sh ... --breakdown day week month`): its summary
JSON plus, from the result file it wrote, the metrics and the rows of its tables. Each figure
is formatted here with the digits Freqtrade prints, and must appear so in `bot.py backtest`'s
report.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.test_backtest_parity import PARITY, REFERENCE, ROOT, strategy_folder

FIXTURES = Path(__file__).parent / "fixtures"
SHORT = "20180115-20180118"

pytestmark = pytest.mark.skipif(not REFERENCE.is_file(),
                                reason=f"the parity case is not at {PARITY}")


def run_parity_backtest(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "bot.py", "backtest", "--config", "../shared/parity/config.json",
        "--strategy", "EmaRsiCross", "--strategy-path", str(strategy_folder(tmp_path)),
        "--datadir", "../shared/parity/data", "--markets", "../shared/parity/markets.json",
        "--fee", "0.001", *extra,
    ]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=False)


def freqtrade(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"freqtrade_report_{name}.json").read_text(encoding="utf-8"))


def _coin(value: float, keep_zeros: bool = False) -> str:
    """Freqtrade's BTC amounts: 8 decimals, trailing zeros dropped outside its tables."""
    text = f"{value:.8f}"
    return text if keep_zeros else text.rstrip("0").rstrip(".")


def _win(row: dict[str, Any]) -> str:
    wins, draws, losses = row["wins"], row["draws"], row["losses"]
    rate = ("100" if wins and not losses else "0" if not wins
            else f"{100.0 / (wins + draws + losses) * wins:.1f}")
    return f"{wins:>4}  {draws:>4}  {losses:>4}  {rate:>4}"


def _group_row(row: dict[str, Any], blank: str = "") -> list[str]:
    key = row["key"]
    keys = list(key) if isinstance(key, list) else [key or blank]
    if keys == ["TOTAL"] and blank == "mixed":
        keys = ["TOTAL", ""]
    return [*keys, str(row["trades"]), str(row["profit_mean_pct"]),
            _coin(row["profit_total_abs"], keep_zeros=True), str(row["profit_total_pct"]),
            row["duration_avg"], _win(row).strip()]


def tables(report: str) -> dict[str, list[list[str]]]:
    """Each table of the report by its title: its rows (header and rule left out) as cells."""
    found = {}
    for block in report.split("\n\n"):
        title, *lines = block.splitlines()
        if len(lines) > 2 and " | " in lines[0]:
            found[title] = [[cell.strip() for cell in line.split(" | ")] for line in lines[2:]]
    return found


def metrics(report: str) -> dict[str, str]:
    block = report.split("SUMMARY METRICS\n", 1)[1]
    return {line[:29].strip(): line[29:].strip() for line in block.splitlines() if line}


def expected_metrics(ft: dict[str, Any]) -> dict[str, str]:
    best, worst = ft["best_pair"], ft["worst_pair"]
    return {
        "Backtesting from": ft["backtest_start"],
        "Backtesting to": ft["backtest_end"],
        "Final balance": f"{_coin(ft['final_balance'])} BTC",
        "Absolute profit": f"{_coin(ft['profit_total_abs'])} BTC",
        "Total profit %": f"{ft['profit_total']:.2%}",
        "CAGR %": f"{ft['cagr']:.2%}",
        "Sharpe (closed trades)": f"{ft['sharpe']:.2f}",
        "Sortino (closed trades)": f"{ft['sortino']:.2f}",
        "Calmar (closed trades)": f"{ft['calmar']:.2f}",
        "SQN": f"{ft['sqn']:.2f}",
        "Profit factor": f"{ft['profit_factor']:.2f}",
        "Expectancy (Ratio)": f"{ft['expectancy']:.2f} ({ft['expectancy_ratio']:.2f})",
        "Market change": f"{ft['market_change']:.2%}",
        "Best Pair": f"{best['key']} {best['profit_total']:.2%}",
        "Worst Pair": f"{worst['key']} {worst['profit_total']:.2%}",
        "Best trade": f"{ft['best_trade']['pair']} {ft['best_trade']['profit_ratio']:.2%}",
        "Worst trade": f"{ft['worst_trade']['pair']} {ft['worst_trade']['profit_ratio']:.2%}",
        "Max % of account underwater": f"{ft['max_relative_drawdown']:.2%}",
        "Absolute drawdown": f"{_coin(ft['max_drawdown_abs'])} BTC "
                             f"({ft['max_drawdown_account']:.2%})",
        "Drawdown duration": ft["drawdown_duration"],
        "Profit at drawdown start": f"{_coin(ft['max_drawdown_high'])} BTC",
        "Profit at drawdown end": f"{_coin(ft['max_drawdown_low'])} BTC",
        "Drawdown start": ft["drawdown_start"],
        "Drawdown end": ft["drawdown_end"],
    }


def expected_tables(ft: dict[str, Any]) -> dict[str, list[list[str]]]:
    found = {
        "BACKTESTING REPORT": [_group_row(r) for r in ft["results_per_pair"]],
        "LEFT OPEN TRADES REPORT": [_group_row(r) for r in ft["left_open_trades"]],
        "ENTER TAG STATS": [_group_row(r, "OTHER") for r in ft["results_per_enter_tag"]],
        "EXIT REASON STATS": [_group_row(r) for r in ft["exit_reason_summary"]],
        "MIXED TAG STATS": [_group_row(r, "mixed") for r in ft["mix_tag_stats"]],
    }
    for unit, rows in ft["periodic_breakdown"].items():
        found[f"{unit.upper()} BREAKDOWN"] = [
            [r["date"], str(r["trades"]), _coin(r["profit_abs"]), str(round(r["profit_factor"], 2)),
             _win(r).strip()] for r in rows]
    return found


def assert_report_matches(report: str, ft: dict[str, Any]) -> None:
    ours = metrics(report)
    for name, value in expected_metrics(ft).items():
        assert ours.get(name) == value, f"{name}: ours {ours.get(name)!r}, Freqtrade {value!r}"
    shown = tables(report)
    for title, rows in expected_tables(ft).items():
        assert shown.get(title) == rows, f"{title} differs from Freqtrade's"


def test_a_short_parity_backtest_reports_freqtrades_tables_and_metrics(tmp_path: Path) -> None:
    run = run_parity_backtest(tmp_path, "--timerange", SHORT, "--breakdown", "day", "week",
                              "month")

    assert run.returncode == 0, run.stderr[-3000:]
    ft = freqtrade(f"EmaRsiCross_{SHORT}")
    assert ft["trades"] == 145
    assert_report_matches(run.stdout, ft)


@pytest.mark.heavy
def test_breakdown_tables_appear_only_when_asked_and_bad_units_are_refused(
        tmp_path: Path) -> None:
    run = run_parity_backtest(tmp_path, "--timerange", SHORT, "--breakdown", "week")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "WEEK BREAKDOWN" in run.stdout
    assert "DAY BREAKDOWN" not in run.stdout
    assert "MONTH BREAKDOWN" not in run.stdout

    (tmp_path / "again").mkdir()
    refused = run_parity_backtest(tmp_path / "again", "--breakdown", "year")
    assert refused.returncode == 2
    assert "--breakdown: invalid choice: 'year'" in refused.stderr
    assert "Traceback" not in refused.stderr


@pytest.mark.heavy  # the whole parity case: 57,288 candles, 1,165 trades
def test_the_parity_backtest_reports_freqtrades_figures(tmp_path: Path) -> None:
    run = run_parity_backtest(tmp_path, "--breakdown", "day", "week", "month")

    assert run.returncode == 0, run.stderr[-3000:]
    ft = freqtrade("EmaRsiCross")
    assert ft["trades"] == 1165
    assert_report_matches(run.stdout, ft)
    assert metrics(run.stdout)["Sharpe (closed trades)"] == "-198.26"
