"""`bot.py hyperopt`, `hyperopt-list` and `hyperopt-show` as a user runs them: the table and the
best result on stdout, the best parameters in the strategy's parameter file, which
`bot.py backtest` and the bot's loader then use, to the same trades as the best epoch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna
import pytest

import bot
from engine.config import load_settings
from engine.loader import strategy_for
from hyperopt.search import best_trial
from tests.hyperopt_support import make_project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def hyperopt(*extra: str) -> int:
    return bot.main(["hyperopt", "-c", "config.json", "--hyperopt-loss", "SharpeHyperOptLoss",
                     "--spaces", "buy", "sell", "roi", "stoploss", "-e", "4", "-j", "1",
                     "--random-state", "5", "--batch-size", "2", *extra])


def study(name: str) -> optuna.Study:
    return optuna.load_study(study_name=name,
                             storage="sqlite:///hyperopt_results/hyperopt.sqlite3")


@pytest.mark.heavy
def test_the_best_parameters_go_to_the_file_that_backtest_and_the_bot_load(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert hyperopt("--study-name", "first") == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("| Best"))
    assert [c.strip() for c in header.strip("|").split("|")] == [
        "Best", "Epoch", "Trades", "Win  Draw  Loss  Win%", "Avg profit", "Profit",
        "Avg duration", "Objective", "Max Drawdown (Acct)"]
    assert "Best result:" in out
    assert "# Buy hyperspace params:\nbuy_params = {" in out

    best = best_trial(study("first"))
    assert best is not None
    written: dict[str, Any] = json.loads(
        (project / "strategies" / "ft_parameters.json").read_text(encoding="utf-8"))
    assert written["strategy_name"] == "FtParameters"
    assert written["params"]["buy"] == {**best.user_attrs["details"]["buy"]}
    assert written["params"]["roi"] == best.user_attrs["details"]["roi"]
    assert written["params"]["stoploss"] == best.user_attrs["details"]["stoploss"]

    loaded = strategy_for(load_settings(["config.json"], {}))  # as the bot loads it
    assert loaded.buy_rsi.value == best.params["buy_rsi"]  # type: ignore[attr-defined]
    assert loaded.stoploss == best.user_attrs["details"]["stoploss"]["stoploss"]

    assert bot.main(["backtest", "-c", "config.json", "--export", "trades",
                     "--export-filename", "trades.json"]) == 0
    trades = json.loads((project / "trades.json").read_text(encoding="utf-8"))
    stats = best.user_attrs["stats"]
    assert len(trades) == stats["trades"] > 0
    assert sum(t["profit_abs"] for t in trades) == pytest.approx(stats["profit_abs"], abs=1e-12)


@pytest.mark.heavy
def test_list_and_show_read_the_study_back(project: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert hyperopt("--study-name", "listed", "--disable-param-export") == 0
    capsys.readouterr()
    assert bot.main(["hyperopt-list"]) == 0
    listed = capsys.readouterr().out
    assert listed.startswith("listed (FtParameters): 4 epochs\n")
    assert "  4/4 |" in listed

    assert bot.main(["hyperopt-show", "-n", "3", "--print-json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    third = next(t for t in study("listed").trials if t.number == 2)
    assert shown == third.user_attrs["details"]
    assert bot.main(["hyperopt-show"]) == 0
    assert "Best result:" in capsys.readouterr().out


def test_bad_hyperopt_options_are_one_line_and_exit_2(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bot.main(["hyperopt", "-c", "config.json", "-e", "5"]) == 2
    assert "--hyperopt-loss: expected one of ShortTradeDurHyperOptLoss" in capsys.readouterr().err
    assert hyperopt("-j", "0") == 2
    assert "-j: expected a number of workers, or -1 for all" in capsys.readouterr().err
    assert hyperopt("--spaces", "buy", "nope") == 2
    assert "--spaces: unknown space nope" in capsys.readouterr().err
    assert bot.main(["hyperopt-show", "--study-name", "nope"]) == 2
    assert "no hyperopt study" in capsys.readouterr().err
