"""Hyperopt's epochs and search: each epoch a whole backtest through the same engine with
nothing carried over, the indicators computed once per value they depend on, and the same seed
giving the same epochs whatever the number of workers."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from dataclasses import replace
from pathlib import Path

import optuna
import pytest

from backtest import run as backtest_run
from backtest.download import read_markets
from engine.settings import MARKETS_FILE
from hyperopt import search, shared
from hyperopt import spaces as sp
from hyperopt.epoch import MAX_LOSS
from tests.ft_support import STRATEGIES, frames, load, settings
from tests.hyperopt_support import POINT_A, POINT_B, evaluator


def test_an_epoch_run_again_after_another_gives_the_same_trades() -> None:
    ev = evaluator()
    first = ev.evaluate(POINT_A)
    other = ev.evaluate(POINT_B)
    again = ev.evaluate(POINT_A)

    assert first.trades  # a case with trades, so equality means something
    assert other.trades != first.trades
    assert again.trades == first.trades
    assert (again.loss, again.stats) == (first.loss, first.stats)


def test_an_epoch_is_the_backtest_of_its_values() -> None:
    result = evaluator().evaluate(POINT_B)
    strategy = load("FtParameters")
    for name, value in POINT_B.items():
        getattr(strategy, name).value = value
    plain = asyncio.run(backtest_run.run(settings(), strategy, frames(),
                                         read_markets(MARKETS_FILE), fee=0.001))

    assert result.trades == plain.trades
    assert result.stats.profit_abs == pytest.approx(sum(t.profit_abs for t in plain.trades))


def test_indicators_are_computed_once_when_populate_indicators_reads_only_ranges() -> None:
    ev = evaluator()
    ev.prepare()
    for point in (POINT_A, POINT_B, {**POINT_A, "buy_ema": 25}):
        ev.evaluate(point)

    assert ev.indicator_runs == 1


@pytest.mark.heavy
def test_indicators_are_computed_once_per_value_a_searched_parameter_has_there(
        tmp_path: Path) -> None:
    source = (STRATEGIES / "ft_parameters.py").read_text(encoding="utf-8")
    folder = tmp_path / "strategies"
    folder.mkdir()
    # populate_indicators reads buy_ema's value: one indicator set per buy_ema.
    (folder / "ft_parameters.py").write_text(source.replace(
        "for period in self.buy_ema.range:", "for period in [self.buy_ema.value]:"),
        encoding="utf-8")
    shutil.copy(STRATEGIES / "ft_parameters.json", folder)
    ev = evaluator(folder=folder)
    points = [{**POINT_A, "buy_ema": 12}, {**POINT_A, "buy_ema": 20},
              {**POINT_B, "buy_ema": 12}, {**POINT_B, "buy_ema": 20}]
    results = [ev.evaluate(p) for p in points]

    assert ev.indicator_runs == 2
    shared = evaluator().evaluate(points[1])  # the strategy that computes every ema at once
    assert results[1].trades == shared.trades


def test_fewer_trades_than_min_trades_is_freqtrades_worst_loss() -> None:
    result = evaluator(min_trades=10_000).evaluate(POINT_A)
    assert result.loss == MAX_LOSS


def _all_epochs(jobs: int) -> list[tuple[dict[str, object], float]]:
    ev = evaluator(spaces=("buy", "sell", "roi", "stoploss"))
    ev.prepare()
    storage = shared.open_storage(None, 1)
    sampler = search.make_sampler(search.DEFAULT_SAMPLER, 7)
    study = optuna.create_study(storage=storage, sampler=sampler, direction="minimize")
    workers = search.Workers(ev, jobs)
    try:
        search.search(study, storage, workers, sp.distributions(ev.case.spaces), epochs=6,
                      batch=3, heartbeat=1, told=lambda _: None)
    finally:
        workers.close()
    return [(t.params, float(t.value or 0)) for t in study.trials]


@pytest.mark.heavy
def test_a_fixed_seed_gives_the_same_epochs_with_one_and_two_workers() -> None:
    one, two = _all_epochs(1), _all_epochs(2)

    assert len(one) == 6
    assert len({loss for _, loss in one}) > 1  # different points, different results
    assert one == two


@pytest.mark.heavy
def test_the_epochs_of_a_dead_worker_run_again_elsewhere() -> None:
    ev = evaluator()
    workers = search.Workers(ev, 2)
    try:
        os.kill(workers.pids[0], signal.SIGKILL)
        results = workers.run([POINT_A, POINT_B, POINT_A])
    finally:
        workers.close()
    assert [r.trades for r in results] == [ev.evaluate(p).trades
                                           for p in (POINT_A, POINT_B, POINT_A)]


def test_trades_space_sets_max_open_trades_minus_one_and_zero_unlimited() -> None:
    ev = evaluator(spaces=("trades",))
    assert ev.evaluate({"max_open_trades": 1}).stats.trades \
        < ev.evaluate({"max_open_trades": -1}).stats.trades
    unlimited = replace(ev.case.settings, stake_amount="unlimited")
    ev_unlimited = type(ev)(ev.strategy, replace(ev.case, settings=unlimited))
    # An unlimited stake over unlimited trades is the config's max_open_trades, as Freqtrade.
    assert ev_unlimited.evaluate({"max_open_trades": 0}).trades \
        == ev_unlimited.evaluate({"max_open_trades": 2}).trades
