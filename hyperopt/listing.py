"""`bot.py hyperopt-list` and `hyperopt-show`: a study's epochs read back from its storage
(the default SQLite file, or `--storage`), the latest study unless `--study-name` names one."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import optuna
from optuna.trial import FrozenTrial, TrialState

from core.errors import ConfigError
from engine.settings import Settings
from hyperopt import output, search, shared
from hyperopt.cli import storage_of


@contextmanager
def _study(args: argparse.Namespace) -> Iterator[optuna.Study]:
    storage = shared.open_storage(storage_of(args), 60)
    try:
        yield _load(storage, args)
    finally:
        shared.close_storage(storage)


def _load(storage: optuna.storages.BaseStorage, args: argparse.Namespace) -> optuna.Study:
    names = [s.study_name for s in optuna.study.get_all_study_summaries(storage)]
    if not names:
        raise ConfigError(f"--storage: no hyperopt study in {storage_of(args).split('@')[-1]}; "
                          "run bot.py hyperopt first")
    name = args.study_name or names[-1]
    if name not in names:
        raise ConfigError(f"--study-name: no study {name!r}; expected one of "
                          f"{', '.join(names)}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=name, storage=storage)


def _rows(study: optuna.Study) -> list[output.Row]:
    rows = []
    best: float | None = None
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        loss = float(trial.value if trial.value is not None else output.MAX_LOSS)
        is_best = best is None or loss < best
        best = loss if is_best else best
        rows.append(_row(trial, is_best))
    return rows


def _row(trial: FrozenTrial, best: bool) -> output.Row:
    return output.Row(trial.number + 1, float(trial.value or 0.0), trial.user_attrs["stats"],
                      trial.user_attrs["details"], best)


def _epochs(study: optuna.Study) -> int:
    return int(study.user_attrs.get("epochs", len(study.trials)))


def run_list(settings: Settings, args: argparse.Namespace) -> int:
    with _study(args) as study:
        return _list(study, settings, args)


def _list(study: optuna.Study, settings: Settings, args: argparse.Namespace) -> int:
    rows = [r for r in _rows(study) if (r.best or not args.best)
            and (r.stats["profit_abs"] > 0 or not args.profitable)
            and r.stats["trades"] >= args.min_trades]
    currency = str(study.user_attrs.get("stake_currency", settings.stake_currency))
    sys.stdout.write(f"{study.study_name} ({study.user_attrs.get('strategy', '?')}): "
                     f"{len(rows)} epochs\n")
    sys.stdout.write(output.table(rows, _epochs(study), currency))
    return 0


def _epoch(trials: list[FrozenTrial], index: int) -> FrozenTrial:
    by_epoch = {t.number + 1: t for t in trials}
    wanted = index if index > 0 else max(by_epoch) + 1 + index
    if wanted not in by_epoch:
        raise ConfigError(f"-n: no finished epoch {index}; expected one of 1 to "
                          f"{max(by_epoch)}")
    return by_epoch[wanted]


def run_show(settings: Settings, args: argparse.Namespace) -> int:
    with _study(args) as study:
        return _show(study, settings, args)


def _show(study: optuna.Study, settings: Settings, args: argparse.Namespace) -> int:
    best = search.best_trial(study)
    if best is None:
        raise ConfigError(f"{study.study_name}: no finished epoch yet")
    chosen = best if args.index is None else _epoch(
        study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), args.index)
    header = "Best result" if args.index is None else f"Result of epoch {chosen.number + 1}"
    row = _row(chosen, chosen.number == best.number)
    currency = str(study.user_attrs.get("stake_currency", settings.stake_currency))
    if args.print_json:
        sys.stdout.write(json.dumps(row.details, indent=2) + "\n")
    else:
        sys.stdout.write(output.show(row, _epochs(study), currency, header))
    return 0
