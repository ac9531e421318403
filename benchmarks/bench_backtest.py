"""Backtest speed on the parity case (10 pairs x 5,760 candles of 5m, 1,165 trades).

1. The README's command as a whole process (`bot.py backtest ...`), its simulation time as it
   reports it, and its peak memory; beside it, in the same run, a baseline process that only
   imports pandas and reads the same candle files, so the ratio does not depend on the machine.
   Freqtrade 2026.9 on a 2-core machine: 1.6 s of simulation, 4.8 s in all, 390 MB.
2. How the simulation time grows with pairs (1, 5, 10 over 20 days) and with days (5, 10, 20
   for 10 pairs), in this process.
"""

from __future__ import annotations

import asyncio
import json
import re
import resource
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
FREQTRADE = {"simulation": 1.6, "process": 4.8, "memory_mb": 390}
BASELINE = ("import sys, pathlib, pandas\n"
            "for f in sorted(pathlib.Path(sys.argv[1]).glob('*.feather')): pandas.read_feather(f)")


def _strategy_folder(where: Path) -> Path:
    source = (PARITY / "ema_rsi_cross.py").read_text(encoding="utf-8")
    (where / "ema_rsi_cross.py").write_text(source.replace(
        "from freqtrade.strategy import IStrategy", "from engine.strategy import IStrategy"))
    return where


def _process(command: list[str]) -> tuple[float, str]:
    began = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    return time.perf_counter() - began, done.stdout


def _peak_mb() -> float:
    # ru_maxrss of the children: the largest child so far, in kB on Linux.
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _whole_process(strategies: Path, export: Path) -> None:
    baseline, _ = _process([sys.executable, "-c", BASELINE, str(PARITY / "data")])
    memory_before = _peak_mb()
    seconds, out = _process([
        sys.executable, "bot.py", "backtest", "--config", str(PARITY / "config.json"),
        "--strategy", "EmaRsiCross", "--strategy-path", str(strategies),
        "--datadir", str(PARITY / "data"), "--markets", str(PARITY / "markets.json"),
        "--fee", "0.001", "--export", str(export),
    ])  # fmt: skip
    found = re.search(r"simulated in ([\d.]+) s", out)
    simulation = float(found.group(1)) if found else float("nan")
    trades = len(json.loads(export.read_text()))
    memory = _peak_mb()
    print(f"parity case, {trades} trades:")
    print(f"  whole process   {seconds:7.2f} s   (Freqtrade {FREQTRADE['process']} s)")
    print(f"  simulation      {simulation:7.2f} s   (Freqtrade {FREQTRADE['simulation']} s)")
    print(f"  peak memory     {memory:7.0f} MB  (Freqtrade {FREQTRADE['memory_mb']} MB"
          f"{'' if memory > memory_before else '; the baseline was larger'})")
    print(f"  baseline        {baseline:7.2f} s   (python + pandas reading the 10 files)")
    print(f"  process / baseline: {seconds / baseline:.1f}x, "
          f"simulation / baseline: {simulation / baseline:.1f}x")


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
        strategies = _strategy_folder(Path(folder))
        _whole_process(strategies, Path(folder) / "trades.json")
        _growth(strategies)


if __name__ == "__main__":
    main()
