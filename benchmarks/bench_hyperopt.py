"""Hyperopt speed on the parity case (EmaRsiCross, 10 pairs of 5m, the first DAYS days), spaces
roi and stoploss, SharpeHyperOptLoss, a fixed random state.

Epochs per second with -j 1 and -j 2, each from two whole `bot.py hyperopt` processes (EPOCHS
epochs and 1 epoch: the difference is the epochs without the start-up), beside one plain
`bot.py backtest` of the same range (its simulation time) as the baseline, and each process's
peak memory (the largest of its processes: with -j 2, a worker's). With `FTPY` naming the python
of a Freqtrade 2026.9 venv, Freqtrade's hyperopt of the same case runs the same way through the
oracle's offline wrapper. That venv lacks Freqtrade's hyperopt extras: our Optuna is put on
its path, and `FT_HYPEROPT_PATH` names a folder with the rest (`pip install --target DIR
filelock`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARITY = ROOT.parent / "shared" / "parity"
ORACLE = ROOT.parent / "shared" / "oracle"
EPOCHS = 12
DAYS = "20180110-20180114"
MEASURED = ("import resource, subprocess, sys\n"
            "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, "
            "stderr=subprocess.DEVNULL)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
# The packages Optuna needs that Freqtrade's venv lacks, taken from ours.
OPTUNA_PACKAGES = ("optuna", "alembic", "colorlog", "mako", "yaml", "_yaml", "tqdm")


def _measured(command: list[str], cwd: Path, env: dict[str, str] | None = None
              ) -> tuple[float, float]:
    """Wall seconds and peak MB (the largest process) of one command."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURED, *command], cwd=cwd, env=env,
                          capture_output=True, text=True, check=True)
    return time.perf_counter() - began, int(done.stdout.split()[-1]) / 1024


def _case(folder: Path) -> list[str]:
    strategies = folder / "strategies"
    strategies.mkdir(exist_ok=True)
    shutil.copy(PARITY / "ema_rsi_cross.py", strategies)
    return ["--strategy", "EmaRsiCross", "--strategy-path", str(strategies),
            "--datadir", str(PARITY / "data"), "--timerange", DAYS, "--fee", "0.001"]


def _ours(folder: Path, epochs: int, jobs: int) -> tuple[float, float]:
    return _measured([
        sys.executable, str(ROOT / "bot.py"), "hyperopt", "--config", str(PARITY / "config.json"),
        *_case(folder), "--markets", str(PARITY / "markets.json"),
        "--hyperopt-loss", "SharpeHyperOptLoss", "--spaces", "roi", "stoploss",
        "-e", str(epochs), "-j", str(jobs), "--random-state", "1", "--disable-param-export",
        "--storage", f"sqlite:///{folder / f'study-{epochs}-{jobs}.sqlite3'}",
    ], folder)  # fmt: skip


def _optuna_path(folder: Path) -> str:
    """A folder holding only our Optuna and what it needs, for Freqtrade's venv."""
    import optuna

    site = Path(optuna.__file__).resolve().parent.parent
    path = folder / "optuna_only"
    path.mkdir(exist_ok=True)
    for name in OPTUNA_PACKAGES:
        if (site / name).exists() and not (path / name).exists():
            (path / name).symlink_to(site / name)
    return str(path)


def _freqtrade(python: str, folder: Path, epochs: int, jobs: int) -> tuple[float, float]:
    user = folder / "user_data"
    (user / "hyperopt_results").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "FT_MARKETS_FILE": str(ORACLE / "markets.json"),
           "PYTHONPATH": os.pathsep.join(filter(None, [_optuna_path(folder),
                                                       os.environ.get("FT_HYPEROPT_PATH")]))}
    return _measured([
        python, str(ORACLE / "ft_offline.py"), "hyperopt",
        "--config", str(ORACLE / "config_backtest.json"), "--userdir", str(user),
        *_case(folder), "--hyperopt-loss", "SharpeHyperOptLoss", "--spaces", "roi",
        "stoploss", "-e", str(epochs), "-j", str(jobs), "--random-state", "1",
        "--disable-param-export",
    ], folder, env)  # fmt: skip


def _backtest(folder: Path) -> float:
    out = subprocess.run([
        sys.executable, str(ROOT / "bot.py"), "backtest", "--config", str(PARITY / "config.json"),
        *_case(folder), "--markets", str(PARITY / "markets.json"),
    ], cwd=folder, capture_output=True, text=True, check=True).stdout  # fmt: skip
    found = re.search(r"simulated in ([\d.]+) s", out)
    return float(found.group(1)) if found else float("nan")


def _rate(many: tuple[float, float], one: tuple[float, float]) -> tuple[float, float]:
    """Epochs per second without the start-up, and the peak MB of the longer run."""
    return (EPOCHS - 1) / max(many[0] - one[0], 1e-9), many[1]


def main() -> None:
    python = os.environ.get("FTPY")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        baseline = _backtest(folder)
        print(f"parity case, {DAYS}, spaces roi stoploss, {EPOCHS} epochs; one backtest "
              f"simulated in {baseline:.2f} s ({1 / baseline:.2f} backtests/s)")
        print("          ours epochs/s  peak MB    Freqtrade epochs/s  peak MB   ours/Freqtrade")
        for jobs in (1, 2):
            rate, memory = _rate(_ours(folder, EPOCHS, jobs), _ours(folder, 1, jobs))
            if python:
                ft = folder / f"ft{jobs}"
                ft.mkdir()
                ft_rate, ft_memory = _rate(_freqtrade(python, ft, EPOCHS, jobs),
                                           _freqtrade(python, ft, 1, jobs))
                theirs = f"{ft_rate:14.2f}  {ft_memory:7.0f}   {rate / ft_rate:9.2f}x"
            else:
                theirs = "not measured (set FTPY to a Freqtrade 2026.9 venv's python)"
            print(f"  -j {jobs}  {rate:12.2f}  {memory:7.0f}    {theirs}")
            if jobs == 1:
                print(f"          one epoch / one plain backtest: {1 / rate / baseline:.2f}x")
