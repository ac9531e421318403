"""The search: an Optuna study asked for points in batches, the batch's epochs run by worker
processes, the results told back in trial order.

Why batches of a fixed size: the sampler's next points depend only on the results told before
they are asked. Asking `batch` points, running them on however many workers, and telling all
of them in trial order before asking again makes the sequence of points a function of the seed
and the batch size alone: `-j 1` and `-j 8` give the same epochs and the same best result.

Workers are forked from the process that loaded the data and computed the indicators, so each
starts with them (copy-on-write) and runs its epochs with its own engine and in-memory SQLite.
A worker that dies has its epoch run again by another one; its result is the same.

With a shared storage (`--storage`), several processes on several machines work on one study:
`epochs` is then the number of finished trials the study should hold, each process asking
only for what is missing. Every trial being run has a heartbeat in the storage; a process
killed mid-epoch stops beating, and the next process to ask marks its trials failed (Optuna's
`fail_stale_trials`), so they are asked again and the study still completes.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection, wait
from typing import Any

import optuna
from optuna.storages import BaseStorage, RDBStorage, fail_stale_trials
from optuna.trial import FrozenTrial, Trial, TrialState

from core.errors import ConfigError
from hyperopt.epoch import EpochResult, Evaluator
from hyperopt.shared import Heartbeat, fail_orphans

logger = logging.getLogger(__name__)

INITIAL_POINTS = 30  # Freqtrade's population size and number of start-up trials
DEFAULT_SAMPLER = "NSGAIIISampler"  # Freqtrade 2026.9's
_SAMPLERS: dict[str, Callable[[int], optuna.samplers.BaseSampler]] = {
    "NSGAIIISampler": lambda seed: optuna.samplers.NSGAIIISampler(
        seed=seed, population_size=INITIAL_POINTS),
    "NSGAIISampler": lambda seed: optuna.samplers.NSGAIISampler(
        seed=seed, population_size=INITIAL_POINTS),
    "TPESampler": lambda seed: optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=INITIAL_POINTS),
    "GPSampler": lambda seed: optuna.samplers.GPSampler(
        seed=seed, n_startup_trials=INITIAL_POINTS),
    "CmaEsSampler": lambda seed: optuna.samplers.CmaEsSampler(
        seed=seed, n_startup_trials=INITIAL_POINTS),
    "QMCSampler": lambda seed: optuna.samplers.QMCSampler(seed=seed),
    "RandomSampler": lambda seed: optuna.samplers.RandomSampler(seed=seed),
}
SAMPLER_NAMES = (*_SAMPLERS, "random")


def make_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    chosen = "RandomSampler" if name == "random" else name
    if chosen not in _SAMPLERS:
        raise ConfigError(f"sampler: {name!r} is not an Optuna sampler Freqtrade knows; "
                          f"expected one of {', '.join(SAMPLER_NAMES)}")
    with warnings.catch_warnings():  # Optuna marks NSGA-III experimental; Freqtrade too
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return _SAMPLERS[chosen](seed)


# --- workers ---------------------------------------------------------------------------------


def _serve(evaluator: Evaluator, conn: Connection) -> None:
    """A worker's loop: (index, point) in, (index, result or error text) out."""
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        index, point = job
        try:
            conn.send((index, evaluator.evaluate(point)))
        except Exception:  # the strategy's own code runs here
            conn.send((index, traceback.format_exc()))


class Workers:
    """`jobs` forked worker processes, or the evaluator itself with one job."""

    def __init__(self, evaluator: Evaluator, jobs: int) -> None:
        self._evaluator = evaluator
        self._pipes: dict[Connection, multiprocessing.process.BaseProcess] = {}
        if jobs > 1:
            context = multiprocessing.get_context("fork")
            for _ in range(jobs):
                parent, child = context.Pipe()
                process = context.Process(target=_serve, args=(evaluator, child), daemon=True)
                process.start()
                child.close()
                self._pipes[parent] = process

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._pipes.values() if p.pid is not None]

    def run(self, points: Sequence[Mapping[str, Any]]) -> list[EpochResult]:
        """Every point's result, in the order of the points."""
        if not self._pipes:
            return [self._evaluator.evaluate(point) for point in points]
        return self._spread(points)

    def _spread(self, points: Sequence[Mapping[str, Any]]) -> list[EpochResult]:
        waiting = list(range(len(points)))
        busy: dict[Connection, int] = {}
        found: dict[int, EpochResult] = {}
        while len(found) < len(points):
            for conn in [c for c in self._pipes if c not in busy]:
                if waiting:
                    busy[conn] = waiting.pop(0)
                    with contextlib.suppress(OSError):  # a dead worker: seen on receiving
                        conn.send((busy[conn], dict(points[busy[conn]])))
            if not self._pipes:
                raise ConfigError("hyperopt: every worker process died; see the log above")
            answered = wait(list(busy))
            for ready in [c for c in busy if c in answered]:
                try:
                    index, answer = ready.recv()
                except (EOFError, OSError):
                    waiting.insert(0, busy.pop(ready))  # the same point, on another worker
                    logger.warning("hyperopt: a worker process died; its epoch runs again")
                    self._pipes.pop(ready).join(timeout=1)
                    continue
                del busy[ready]
                if isinstance(answer, str):
                    raise ConfigError(f"hyperopt: an epoch failed:\n{answer}")
                found[index] = answer
        return [found[i] for i in range(len(points))]

    def close(self) -> None:
        for conn, process in self._pipes.items():
            with contextlib.suppress(BrokenPipeError, OSError):
                conn.send(None)
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
        self._pipes.clear()


# --- the study -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Told:
    """One finished epoch, as the output shows it."""

    number: int  # the trial's number in the study (epoch = number + 1)
    result: EpochResult
    best: bool  # the best of the study so far


def _finished(study: optuna.Study) -> tuple[int, int]:
    """(complete trials, running trials) of the study."""
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING))
    complete = sum(1 for t in trials if t.state == TrialState.COMPLETE)
    return complete, len(trials) - complete


def search(study: optuna.Study, storage: BaseStorage, workers: Workers,
           distributions: Mapping[str, optuna.distributions.BaseDistribution], epochs: int,
           batch: int, heartbeat: int, told: Callable[[Told], None],
           now: Callable[[], datetime] | None = None) -> None:
    """Run trials until the study holds `epochs` complete ones; `now` is the wall clock a
    shared study's orphaned trials are aged by."""
    beat = Heartbeat(storage, heartbeat)
    shared = isinstance(storage, RDBStorage) and storage.get_heartbeat_interval() is not None
    study_id = storage.get_study_id_from_name(study.study_name)
    best = _best_value(study)
    try:
        while True:
            if shared:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    fail_stale_trials(study)
                if now is not None:
                    fail_orphans(study, heartbeat * 3, now())
            complete, running = _finished(study)
            wanted = min(batch, epochs - complete - running)
            if wanted <= 0:
                if running == 0 or not shared:
                    return
                threading.Event().wait(heartbeat)
                continue
            trials: list[Trial] = []
            for _ in range(wanted):  # each beats from its ask on, as in Optuna's own optimize
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", "Heartbeat of storage", UserWarning)
                    trials.append(study.ask(dict(distributions)))
                beat.track([storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
                            for t in trials])
            results = workers.run([t.params for t in trials])
            for trial, result in zip(trials, results, strict=True):
                best = _tell(study, trial, result, best, told)
            beat.track([])
    finally:
        beat.close()


def _best_value(study: optuna.Study) -> float | None:
    done = [t.value for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.value is not None]
    return min(done) if done else None


def _tell(study: optuna.Study, trial: Trial, result: EpochResult, best: float | None,
          told: Callable[[Told], None]) -> float | None:
    trial.set_user_attr("details", result.details)
    trial.set_user_attr("stats", result.stats.to_json())
    try:
        if result.loss != result.loss:  # NaN: Optuna cannot rank it
            study.tell(trial, state=TrialState.FAIL)
            return best
        study.tell(trial, result.loss)
    except ValueError:  # another process took it for an orphan and failed it: run again
        logger.warning("hyperopt: epoch %d was failed by another process", trial.number + 1)
        return best
    is_best = best is None or result.loss < best
    told(Told(trial.number, result, is_best))
    return result.loss if is_best else best


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return min(trials, key=lambda t: (t.value, t.number)) if trials else None
