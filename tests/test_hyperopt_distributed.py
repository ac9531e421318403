"""Hyperopt across processes on one study in PostgreSQL (Optuna's RDB storage): two
`bot.py hyperopt` processes share the epochs, one is SIGKILLed mid-run, and the other still
completes the study, whose best trial is the one a single process finds on the same trials."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.storages import RDBStorage
from optuna.trial import TrialState

from hyperopt.search import best_trial
from hyperopt.shared import close_storage, storage_url
from tests.hyperopt_support import evaluator, make_project

ROOT = Path(__file__).resolve().parents[1]
# Enough that the first process cannot finish them all while the second one starts up (about
# two seconds, more on a loaded machine), whatever speed a backtest has.
EPOCHS = 30
SPACES = ("buy", "sell", "stoploss")


def worker(folder: Path, url: str, seed: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "bot.py"), "hyperopt", "-c", "config.json",
         "--hyperopt-loss", "SharpeHyperOptLoss", "--spaces", *SPACES, "-e", str(EPOCHS),
         "-j", "1", "--batch-size", "2", "--random-state", str(seed), "--storage", url,
         "--study-name", "shared", "--heartbeat", "1", "--disable-param-export"],
        cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"})


def wait_for(study: optuna.Study, state: TrialState, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(study.get_trials(deepcopy=False, states=(state,))) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"no {count} {state.name} trials within {timeout} s")


@pytest.mark.postgres
@pytest.mark.heavy  # two hyperopt processes, a kill, the heartbeats' grace period
def test_two_processes_share_a_study_and_survive_one_killed_mid_epoch(
        tmp_path: Path, postgres_url: str) -> None:
    make_project(tmp_path)
    storage = RDBStorage(storage_url(postgres_url))
    victim = worker(tmp_path, postgres_url, 2)
    survivor = victim
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the study exists once a process has created it
            names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
            if "shared" in names:
                break
            time.sleep(0.2)
        study = optuna.load_study(study_name="shared", storage=storage)
        wait_for(study, TrialState.COMPLETE, 2, 120)
        wait_for(study, TrialState.RUNNING, 1, 60)  # the victim's, alone so far
        survivor = worker(tmp_path, postgres_url, 1)
        wait_for(study, TrialState.RUNNING, 2, 60)  # the survivor has joined
        victim.send_signal(signal.SIGKILL)
        victim.communicate(timeout=10)
        out, err = survivor.communicate(timeout=240)
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
        best = best_trial(study)
    finally:
        for process in {survivor, victim}:
            if process.poll() is None:
                process.kill()
            process.communicate()
        close_storage(storage)
    assert survivor.returncode == 0, err
    assert "Best result:" in out
    assert len(complete) == EPOCHS
    assert running == []
    assert failed  # the killed process's epoch, marked failed once its heartbeat stopped

    # The same points run by one process here: the same losses, so the same best.
    ev = evaluator(spaces=SPACES)
    losses = {t.number: ev.evaluate(t.params).loss for t in complete}
    assert losses == {t.number: t.value for t in complete}
    assert best is not None
    assert best.number == min(losses, key=lambda n: (losses[n], n))
