"""A study shared by processes on several machines (Optuna's RDB storage): opening it,
the heartbeats of the trials this process runs, and the trials nobody runs any more.

A process killed mid-epoch stops beating, and `fail_stale_trials` (Optuna's) marks its trials
failed three heartbeats later. A process killed between creating a trial and its first beat
(the moment Optuna's own `optimize` has too) leaves a trial without any heartbeat, which
Optuna never takes for stale: such an orphan is failed once it is older than ten typical
epochs of the study and three heartbeats. A live process whose epoch is failed that way is told
so when it reports it, and the epoch is run again.
"""

from __future__ import annotations

import logging
import statistics
import threading
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import optuna
from optuna.storages import BaseStorage, InMemoryStorage, RDBStorage
from optuna.trial import TrialState

from core.errors import ConfigError

logger = logging.getLogger(__name__)
ORPHAN_EPOCHS = 10


def storage_url(url: str) -> str:
    """An SQLAlchemy URL: PostgreSQL through psycopg 3, the driver tradepilot installs."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


def open_storage(url: str | None, heartbeat: int) -> BaseStorage:
    """In memory, a local SQLite file (one process), or a shared database with heartbeats."""
    if url is None:
        return InMemoryStorage()
    local = url.startswith("sqlite")
    try:
        with warnings.catch_warnings():  # the heartbeat is "experimental" since Optuna 2.9
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RDBStorage(storage_url(url), heartbeat_interval=None if local else heartbeat,
                              grace_period=None if local else heartbeat * 3)
    except Exception as exc:  # SQLAlchemy's and the driver's errors are many
        raise ConfigError(f"--storage: cannot open {url.split('@')[-1]}: {exc}") from None


def close_storage(storage: BaseStorage) -> None:
    """Close a database storage's connections (an RDB storage keeps a pool of them)."""
    if isinstance(storage, RDBStorage):
        storage.remove_session()
        storage.engine.dispose()


class Heartbeat:
    """Beats for the trials this process runs, while it runs them (RDB storage only)."""

    def __init__(self, storage: BaseStorage, interval: int) -> None:
        shared = isinstance(storage, RDBStorage) and storage.get_heartbeat_interval()
        self._storage = storage if shared and isinstance(storage, RDBStorage) else None
        self._interval = interval
        self._ids: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self._storage is not None:
            self._thread = threading.Thread(target=self._beat, daemon=True,
                                            name="hyperopt-heartbeat")
            self._thread.start()

    def track(self, trial_ids: Sequence[int]) -> None:
        with self._lock:
            new = set(trial_ids) - self._ids
            self._ids = set(trial_ids)
        if self._storage is not None:
            for trial_id in sorted(new):
                self._storage.record_heartbeat(trial_id)

    def _record(self) -> None:
        if self._storage is None:
            return
        with self._lock:
            ids = sorted(self._ids)
        for trial_id in ids:
            self._storage.record_heartbeat(trial_id)

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._record()
            except Exception:
                logger.warning("hyperopt: a heartbeat could not be recorded", exc_info=True)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)




def _aware(when: datetime) -> datetime:
    """Optuna's trial times are the writing machine's local time, without a zone."""
    return when.astimezone(UTC) if when.tzinfo is None else when


def fail_orphans(study: optuna.Study, grace: int, now: datetime) -> None:
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING))
    took = [(t.datetime_complete - t.datetime_start).total_seconds() for t in trials
            if t.state == TrialState.COMPLETE and t.datetime_start and t.datetime_complete]
    if not took:
        return
    limit = timedelta(seconds=statistics.median(took) * ORPHAN_EPOCHS + grace)
    for trial in trials:
        if trial.state == TrialState.RUNNING and trial.datetime_start is not None \
                and now - _aware(trial.datetime_start) > limit:
            logger.warning("hyperopt: epoch %d has run for %s, longer than %d epochs of this "
                           "study: failed, to be run again", trial.number + 1,
                           now - _aware(trial.datetime_start), ORPHAN_EPOCHS)
            try:
                study.tell(trial.number, state=TrialState.FAIL)
            except ValueError:  # finished meanwhile, or failed by another process
                continue
