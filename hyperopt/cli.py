"""`bot.py hyperopt`: Freqtrade's options and meanings, on the backtest's data loading.

The run loads the strategy and the candles as `bot.py backtest` does, builds the spaces, opens
the study (a SQLite file under hyperopt_results/ by default, or `--storage`), runs the epochs
(hyperopt/search.py), prints Freqtrade's table and the best parameters, and writes them to the
strategy's parameter file, which the next backtest and the bot load.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import optuna

from backtest import progress
from backtest import run as backtest_run
from backtest.cli import backtest_markets, default_datadir
from backtest.detail import load_detail
from backtest.history import BacktestHistory
from backtest.options import parse_timerange, with_options
from core.clock import SystemClock
from core.errors import ConfigError
from engine.loader import strategy_for
from engine.settings import Settings, project_path
from hyperopt import output, search, shared
from hyperopt import spaces as sp
from hyperopt.arguments import DEFAULT_STORAGE_FILE
from hyperopt.epoch import Case, Evaluator
from hyperopt.losses import BUILTIN, load_loss

logger = logging.getLogger(__name__)

def storage_of(args: argparse.Namespace) -> str:
    if args.storage:
        return str(args.storage)
    DEFAULT_STORAGE_FILE.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_STORAGE_FILE}"


def workers_of(jobs: int) -> int:
    cores = os.cpu_count() or 1
    if jobs == 0 or jobs < -cores:
        raise ConfigError(f"-j: expected a number of workers, or -1 for all {cores} cores, "
                          f"got {jobs}")
    return jobs if jobs > 0 else cores + 1 + jobs


def _check(args: argparse.Namespace) -> None:
    if not args.hyperopt_loss:
        raise ConfigError(f"--hyperopt-loss: expected one of {', '.join(BUILTIN)} or the name "
                          "of your loss class")
    for option, value in (("-e", args.epochs), ("--batch-size", args.batch_size),
                          ("--heartbeat", args.heartbeat)):
        if value < 1:
            raise ConfigError(f"{option}: expected a positive number, got {value}")
    if args.min_trades < 0:
        raise ConfigError(f"--min-trades: expected 0 or more, got {args.min_trades}")


def build_case(settings: Settings, args: argparse.Namespace) -> tuple[Evaluator, Settings]:
    """The strategy loaded and the data read as a backtest reads them; the spaces built."""
    settings = backtest_run.backtest_settings(with_options(settings, args))
    strategy = strategy_for(settings)
    datadir = Path(args.datadir) if args.datadir else default_datadir(settings,
                                                                       settings.exchange.name)
    timerange = parse_timerange(args.timerange)
    startup = strategy.startup_candle_count
    pairs = settings.exchange.pair_whitelist
    frames = backtest_run.load_data(str(datadir), pairs, strategy.timeframe, timerange, startup)
    history = BacktestHistory(frames, strategy.timeframe, datadir=datadir, timerange=timerange,
                              startup_candles=startup)
    detail = None if not settings.timeframe_detail else load_detail(
        str(datadir), pairs, strategy.timeframe, settings.timeframe_detail, timerange)
    chosen = sp.build_spaces(strategy, args.spaces, ignore_missing=args.ignore_missing_spaces)
    folder = Path(args.hyperopt_path) if args.hyperopt_path else project_path(
        settings.strategy_path)
    fee = args.fee if args.fee is not None else settings.fee
    protections = (args.enable_protections or settings.enable_protections
                   or "protection" in chosen)
    case = Case(settings=settings, frames=frames, history=history,
                markets=backtest_markets(settings, args.markets, datadir), fee=fee,
                protections=protections, spaces=chosen,
                loss=load_loss(args.hyperopt_loss, folder, strategy.timeframe),
                min_trades=args.min_trades, detail=detail)
    return Evaluator(strategy, case), settings


def _sampler_name(evaluator: Evaluator, args: argparse.Namespace) -> str:
    if args.sampler:
        return str(args.sampler)
    inner = getattr(type(evaluator.strategy), "HyperOpt", None)
    custom = getattr(inner, "generate_estimator", None)
    if callable(custom):
        name = custom(dimensions=list(sp.distributions(evaluator.case.spaces)))
        if not isinstance(name, str):
            raise ConfigError("HyperOpt.generate_estimator: expected the name of a sampler "
                              f"({', '.join(search.SAMPLER_NAMES)})")
        return name
    return search.DEFAULT_SAMPLER


@contextmanager
def quiet_engine() -> Iterator[None]:
    """Thousands of backtests log every order at INFO: warnings only."""
    engine_logger = logging.getLogger("engine")
    before = engine_logger.level
    engine_logger.setLevel(logging.WARNING)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        engine_logger.setLevel(before)


def run_hyperopt(settings: Settings, args: argparse.Namespace) -> int:
    _check(args)
    jobs = workers_of(args.jobs)
    clock = SystemClock()
    with quiet_engine():
        evaluator, settings = build_case(settings, args)
        strategy = evaluator.strategy
        name = type(strategy).__name__
        baseline = output.not_optimized(strategy, settings.max_open_trades)
        evaluator.prepare()
        seed = args.random_state if args.random_state is not None \
            else random.SystemRandom().randint(1, 2 ** 16 - 1)
        sampler_name = _sampler_name(evaluator, args)
        study_name = args.study_name or f"{name}-{clock.now():%Y-%m-%d_%H-%M-%S}"
        workers = search.Workers(evaluator, jobs)  # forked before the storage has connections
        try:
            storage = shared.open_storage(storage_of(args), args.heartbeat)
            sampler = search.make_sampler(sampler_name, seed)
            study = optuna.create_study(storage=storage, study_name=study_name,
                                        sampler=sampler, direction="minimize",
                                        load_if_exists=True)
            for key, value in (("strategy", name), ("epochs", args.epochs),
                               ("stake_currency", settings.stake_currency),
                               ("spaces", list(evaluator.case.spaces))):
                study.set_user_attr(key, value)
            sys.stderr.write(f"hyperopt {name}: study {study_name}, {args.epochs} epochs, "
                             f"{jobs} workers, {sampler_name} with random state {seed}\n")
            try:
                rows = _search(study, storage, workers, evaluator, args,
                               settings.stake_currency)
                best = search.best_trial(study)
            finally:
                shared.close_storage(storage)
        finally:
            workers.close()
    if best is None:
        sys.stdout.write("No epoch finished: nothing to show.\n")
        return 0
    shown = rows if args.print_all else [r for r in rows if r.best]
    sys.stdout.write(output.table(shown, args.epochs, settings.stake_currency))
    best_row = output.Row(best.number + 1, float(best.value or 0.0), best.user_attrs["stats"],
                          best.user_attrs["details"], True)
    sys.stdout.write(output.show(best_row, args.epochs, settings.stake_currency))
    path = output.strategy_file(strategy)
    if path is not None and not args.disable_param_export:
        params = output.file_params(best_row.details, baseline)
        output.write_parameter_file(path, name, params, clock.now())
        sys.stdout.write(f"\nBest parameters written to {path}\n")
    return 0


def _search(study: optuna.Study, storage: optuna.storages.BaseStorage,
            workers: search.Workers, evaluator: Evaluator, args: argparse.Namespace,
            currency: str) -> list[output.Row]:
    rows: list[output.Row] = []
    with progress.bar("hyperopt", "epoch") as move:

        def told(item: search.Told) -> None:
            row = output.Row(item.number + 1, item.result.loss, item.result.stats.to_json(),
                             item.result.details, item.best)
            rows.append(row)
            if move is not None:
                best = min(r.loss for r in rows)
                move(len(rows), args.epochs, f"best loss {best:.5f}")
            if (row.best or args.print_all) and move is None:
                sys.stdout.write(("*" if row.best else " ") + output.explanation(
                    row, args.epochs, currency) + "\n")

        search.search(study, storage, workers, sp.distributions(evaluator.case.spaces),
                      args.epochs, args.batch_size, args.heartbeat, told,
                      now=SystemClock().now)
    return rows
