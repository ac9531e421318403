"""Backtest speed: the parity case (10 pairs x 5,760 candles of 5m, 1,165 trades), the two
position-adjustment parity cases (DcaDown, ScaleOut) and the trailing-stop one (TalibBands: a
stop that trails once 2% up), all of tests/freqtrade_parity/.

1. For each case, the README's command as a whole process (`bot.py backtest ...`) on the
   strategy file as it is, its simulation time as it reports it, and its peak memory; beside
   it, in the same run, a baseline process that only imports pandas and reads the same candle
   files, so the ratio does not depend on the machine. With `FTPY` naming the python of a venv
   that has Freqtrade 2026.9 (../shared/oracle/README.md), Freqtrade's backtest of the same
   case runs in the same session, interleaved with ours (`RUNS` times each, medians): its
   whole process, its simulation (the oracle wrapper's timer of `Backtesting.backtest`) and
   its peak memory, and the ratios. Without it, Freqtrade's figures are "not measured".
2. How the parity case's simulation time grows with pairs (1, 5, 10 over 20 days) and with
   days (5, 10, 20 for 10 pairs), here and (with `FTPY`) in Freqtrade on the same cuts, and
   for each a least-squares fit of a fixed cost, a cost per candle and a cost per trade.
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
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy

from backtest import run as backtest_run
from backtest.download import read_markets
from engine.config import load_settings
from engine.loader import strategy_for

ROOT = Path(__file__).resolve().parent.parent
PARITY = ROOT.parent / "shared" / "parity"
ORACLE = ROOT.parent / "shared" / "oracle"
FT_CASES = ROOT / "tests" / "freqtrade_parity"
RUNS = 3
BASELINE = ("import sys, pathlib, pandas\n"
            "for f in sorted(pathlib.Path(sys.argv[1]).glob('*.feather')): pandas.read_feather(f)")
# Runs a command, passing its output on, then prints the child's peak memory (kB) on a last
# line of its own: one figure per process measured.
MEASURED = ("import resource, subprocess, sys\n"
            "subprocess.run(sys.argv[1:], check=True)\n"
            "print(flush=True)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def _measured(command: list[str],
              env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak MB and standard output of one process."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURED, *command], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - began
    output, _, peak = done.stdout.rstrip().rpartition("\n")
    return seconds, int(peak) / 1024, output


@dataclass(frozen=True)
class Case:
    """One backtest measured here and in Freqtrade: the same strategy file, candles and markets."""

    strategy: str
    strategy_path: Path
    datadir: Path
    markets: Path
    config: Path
    freqtrade_config: Path


CASES = (
    Case("EmaRsiCross", PARITY, PARITY / "data", PARITY / "markets.json", PARITY / "config.json",
         ORACLE / "config_backtest.json"),
    *(Case(name, FT_CASES / "strategies", FT_CASES / "data", FT_CASES / "markets.json",
           FT_CASES / "configs" / f"{name}.json", FT_CASES / "configs" / f"{name}.json")
      for name in ("DcaDown", "ScaleOut", "TalibBands")),
)  # fmt: skip


def _ours(case: Case, folder: Path) -> tuple[float, float, float, int]:
    """Whole process, simulation (as the report says it), peak MB and trades of our backtest."""
    export = folder / f"{case.strategy}.json"
    command = [
        sys.executable, "bot.py", "backtest", "--config", str(case.config),
        "--strategy", case.strategy, "--strategy-path", str(case.strategy_path),
        "--datadir", str(case.datadir), "--markets", str(case.markets),
        "--fee", "0.001", "--export", "trades", "--export-filename", str(export),
    ]  # fmt: skip
    seconds, memory, out = _measured(command)
    found = re.search(r"simulated in ([\d.]+) s", out)
    simulation = float(found.group(1)) if found else float("nan")
    return seconds, simulation, memory, len(json.loads(export.read_text()))


def _freqtrade(python: str, case: Case, folder: Path,
               extra: tuple[str, ...] = ()) -> tuple[float, float, float, int]:
    """The same for Freqtrade, through the oracle's offline wrapper (no network)."""
    user = folder / "user_data"
    (user / "backtest_results").mkdir(parents=True, exist_ok=True)
    timing = folder / "timing.json"
    env = {**os.environ, "FT_MARKETS_FILE": str(case.markets),
           "FT_OFFLINE_TIMING_FILE": str(timing)}
    seconds, memory, _ = _measured([
        python, str(ORACLE / "ft_offline.py"), "backtesting",
        "--config", str(case.freqtrade_config), "--userdir", str(user),
        "--datadir", str(case.datadir), "--strategy-path", str(case.strategy_path),
        "--strategy", case.strategy, "--fee", "0.001", "--cache", "none",
        "--export", "none", *extra,
    ], env)  # fmt: skip
    (stats,) = json.loads(timing.read_text())["strategies"]
    return seconds, float(stats["backtest_s"]), memory, int(stats["trades"])


def _whole_process(case: Case, folder: Path) -> None:
    baseline, _, _ = _measured([sys.executable, "-c", BASELINE, str(case.datadir)])
    python = os.environ.get("FTPY")
    ours, theirs = [], []
    for run in range(RUNS):
        ours.append(_ours(case, folder))
        if python:
            theirs.append(_freqtrade(python, case, folder / f"ft-{case.strategy}-{run}"))
    mine = [statistics.median(values) for values in zip(*ours, strict=True)]
    ft = [statistics.median(values) for values in zip(*theirs, strict=True)] if theirs else None
    print(f"{case.strategy}: {int(mine[3])} trades here"
          f"{f', {int(ft[3])} in Freqtrade' if ft else ''}; medians of {RUNS} runs:")
    print("                     ours      Freqtrade   ours/Freqtrade")
    for index, (label, unit) in enumerate((("whole process", "s"), ("simulation", "s"),
                                           ("peak memory", "MB"))):
        theirs_text = f"{ft[index]:9.2f} {unit:2}   {mine[index] / ft[index]:5.2f}x" if ft \
            else "not measured (set FTPY to a Freqtrade 2026.9 venv's python)"
        print(f"  {label:15} {mine[index]:9.2f} {unit:2}   {theirs_text}")
    print(f"  baseline        {baseline:9.2f} s    (python + pandas reading the candle files)")
    print(f"  process / baseline: {mine[0] / baseline:.1f}x, "
          f"simulation / baseline: {mine[1] / baseline:.1f}x")


def _simulate(strategies: Path, pairs: int, days: int) -> tuple[float, int, int, datetime]:
    """Our simulation's seconds, candles and trades on the cut, and where the cut ends."""
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
    return result.simulation_seconds, result.candles, len(result.trades), last


def _freqtrade_part(python: str, pairs: int, last: datetime,
                    folder: Path) -> tuple[float, int]:
    """Freqtrade's simulation of the parity case's first `pairs` up to `last`, and its trades."""
    config = json.loads((ORACLE / "config_backtest.json").read_text())
    config["exchange"]["pair_whitelist"] = config["exchange"]["pair_whitelist"][:pairs]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    case = replace(CASES[0], freqtrade_config=folder / "config.json")
    _, simulation, _, trades = _freqtrade(
        python, case, folder, ("--timerange", f"-{int(last.timestamp())}"))
    return simulation, trades


def _fit(rows: list[tuple[float, int, int]]) -> tuple[float, float, float]:
    """Least squares of seconds = fixed + per candle x candles + per trade x trades."""
    design = numpy.array([[1.0, candles, trades] for _, candles, trades in rows])
    seconds = numpy.array([row[0] for row in rows])
    fixed, per_candle, per_trade = numpy.linalg.lstsq(design, seconds, rcond=None)[0]
    return float(fixed), float(per_candle), float(per_trade)


def _growth(strategies: Path, folder: Path) -> None:
    python = os.environ.get("FTPY")
    print("simulation time growth (ours in this process; Freqtrade's the same cut, timed by the "
          "oracle wrapper):")
    print("  pairs  days  candles  trades  seconds  ms/1000 candles   Freqtrade: trades  seconds")
    ours, theirs = [], []
    for pairs, days in ((1, 20), (5, 20), (10, 20), (10, 5), (10, 10)):
        seconds, candles, trades, last = _simulate(strategies, pairs, days)
        ours.append((seconds, candles, trades))
        line = (f"  {pairs:5d}  {days:4d}  {candles:7d}  {trades:6d}  {seconds:7.2f}  "
                f"{seconds / candles * 1e6:15.1f}")
        if python:
            ft_seconds, ft_trades = _freqtrade_part(python, pairs, last,
                                                    folder / f"part-{pairs}-{days}")
            theirs.append((ft_seconds, candles, ft_trades))
            line += f"   {ft_trades:17d}  {ft_seconds:7.2f}"
        print(line)
    for name, rows in (("ours", ours), ("Freqtrade", theirs)):
        if not rows:
            print(f"  fit, {name}: not measured (set FTPY to a Freqtrade 2026.9 venv's python)")
            continue
        fixed, per_candle, per_trade = _fit(rows)
        print(f"  fit, {name}: {fixed * 1e3:.0f} ms + {per_candle * 1e6:.1f} us a candle "
              f"+ {per_trade * 1e3:.2f} ms a trade")


def main() -> None:
    if not PARITY.is_dir():
        print(f"skipped: the parity case is not at {PARITY}")
        return
    with tempfile.TemporaryDirectory() as folder:
        for case in CASES:
            _whole_process(case, Path(folder))
        _growth(PARITY, Path(folder))


if __name__ == "__main__":
    main()
