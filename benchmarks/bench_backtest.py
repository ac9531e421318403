"""Backtest speed on the parity case (10 pairs x 5,760 candles of 5m, 1,165 trades).

1. The README's command as a whole process (`bot.py backtest ...`) on the parity strategy file
   as it is, its simulation time as it reports it, and its peak memory; beside it, in the same
   run, a baseline process that only imports pandas and reads the same candle files, so the
   ratio does not depend on the machine. With `FTPY` naming the python of a venv that has
   Freqtrade 2026.9 (../shared/oracle/README.md), Freqtrade's backtest of the same case runs in
   the same session, interleaved with ours (`RUNS` times each, medians): its whole process,
   its simulation (the oracle wrapper's timer of `Backtesting.backtest`) and its peak memory,
   and the ratios. Without it, Freqtrade's figures are "not measured".
2. How the simulation time grows with pairs (1, 5, 10 over 20 days) and with days (5, 10, 20
   for 10 pairs), in this process.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from backtest import run as backtest_run
from backtest.download import read_markets
from engine.config import load_settings
from engine.loader import strategy_for

ROOT = Path(__file__).resolve().parent.parent
PARITY = ROOT.parent / "shared" / "parity"
ORACLE = ROOT.parent / "shared" / "oracle"
RUNS = 3
BASELINE = ("import sys, pathlib, pandas\n"
            "for f in sorted(pathlib.Path(sys.argv[1]).glob('*.feather')): pandas.read_feather(f)")
# Runs a command and prints its own child's peak memory (kB): one figure per process measured.
MEASURED = ("import resource, subprocess, sys\n"
            "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def _measured(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak MB of one process."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURED, *command], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    return time.perf_counter() - began, int(done.stdout.split()[-1]) / 1024


def _ours(folder: Path) -> tuple[float, float, float, int]:
    """Whole process, simulation (as the report says it), peak MB and trades of our backtest."""
    export = folder / "trades.json"
    command = [
        sys.executable, "bot.py", "backtest", "--config", str(PARITY / "config.json"),
        "--strategy", "EmaRsiCross", "--strategy-path", str(PARITY),
        "--datadir", str(PARITY / "data"), "--markets", str(PARITY / "markets.json"),
        "--fee", "0.001", "--export", "trades", "--export-filename", str(export),
    ]  # fmt: skip
    seconds, memory = _measured(command)
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    found = re.search(r"simulated in ([\d.]+) s", out)
    simulation = float(found.group(1)) if found else float("nan")
    return seconds, simulation, memory, len(json.loads(export.read_text()))


def _freqtrade(python: str, folder: Path) -> tuple[float, float, float, int]:
    """The same for Freqtrade, through the oracle's offline wrapper (no network)."""
    user = folder / "user_data"
    (user / "backtest_results").mkdir(parents=True, exist_ok=True)
    timing = folder / "timing.json"
    env = {**os.environ, "FT_MARKETS_FILE": str(ORACLE / "markets.json"),
           "FT_OFFLINE_TIMING_FILE": str(timing)}
    seconds, memory = _measured([
        python, str(ORACLE / "ft_offline.py"), "backtesting",
        "--config", str(ORACLE / "config_backtest.json"), "--userdir", str(user),
        "--datadir", str(PARITY / "data"), "--strategy-path", str(PARITY),
        "--strategy", "EmaRsiCross", "--fee", "0.001", "--cache", "none",
        "--export", "none",
    ], env)  # fmt: skip
    (stats,) = json.loads(timing.read_text())["strategies"]
    return seconds, float(stats["backtest_s"]), memory, int(stats["trades"])


def _whole_process(folder: Path) -> None:
    baseline, _ = _measured([sys.executable, "-c", BASELINE, str(PARITY / "data")])
    python = os.environ.get("FTPY")
    ours, theirs = [], []
    for run in range(RUNS):
        ours.append(_ours(folder))
        if python:
            theirs.append(_freqtrade(python, folder / f"ft{run}"))
    mine = [statistics.median(values) for values in zip(*ours, strict=True)]
    ft = [statistics.median(values) for values in zip(*theirs, strict=True)] if theirs else None
    print(f"parity case, {int(mine[3])} trades here"
          f"{f', {int(ft[3])} in Freqtrade' if ft else ''}; medians of {RUNS} runs:")
    print("                     ours      Freqtrade   ours/Freqtrade")
    for index, (label, unit) in enumerate((("whole process", "s"), ("simulation", "s"),
                                           ("peak memory", "MB"))):
        theirs_text = f"{ft[index]:9.2f} {unit:2}   {mine[index] / ft[index]:5.2f}x" if ft \
            else "not measured (set FTPY to a Freqtrade 2026.9 venv's python)"
        print(f"  {label:15} {mine[index]:9.2f} {unit:2}   {theirs_text}")
    print(f"  baseline        {baseline:9.2f} s    (python + pandas reading the 10 files)")
    print(f"  process / baseline: {mine[0] / baseline:.1f}x, "
          f"simulation / baseline: {mine[1] / baseline:.1f}x")


def _simulate(strategies: Path, pairs: int, days: int) -> tuple[float, int, int]:
    settings = load_settings(str(PARITY / "config.json"), {})
    whitelist = settings.exchange.pair_whitelist[:pairs]
    settings = backtest_run.backtest_settings(replace(
        settings, strategy="EmaRsiCross", strategy_path=str(strategies),
        exchange=replace(settings.exchange, pair_whitelist=whitelist)))
    strategy = strategy_for(settings)
    frames = backtest_run.load_data(str(PARITY / "data"), whitelist, strategy.timeframe, None,
                                strategy.startup_candle_count)
    first = min(f["date"].iloc[0] for f in frames.values())
    last = first + timedelta(days=days)
    frames = {p: f.loc[f["date"] < last].reset_index(drop=True) for p, f in frames.items()}
    markets = read_markets(PARITY / "markets.json")
    result = asyncio.run(backtest_run.run(settings, strategy, frames, markets, fee=0.001))
    return result.simulation_seconds, result.candles, len(result.trades)


def _growth(strategies: Path) -> None:
    print("simulation time growth (this process):")
    print("  pairs  days  candles  trades  seconds  ms/1000 candles")
    for pairs, days in ((1, 20), (5, 20), (10, 20), (10, 5), (10, 10)):
        seconds, candles, trades = _simulate(strategies, pairs, days)
        print(f"  {pairs:5d}  {days:4d}  {candles:7d}  {trades:6d}  {seconds:7.2f}  "
              f"{seconds / candles * 1e6:15.1f}")


def main() -> None:
    if not PARITY.is_dir():
        print(f"skipped: the parity case is not at {PARITY}")
        return
    with tempfile.TemporaryDirectory() as folder:
        _whole_process(Path(folder))
        _growth(PARITY)


if __name__ == "__main__":
    main()
