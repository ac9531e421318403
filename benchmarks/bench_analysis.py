"""Analysis cost: 100 pairs x 1000 candles with the sample strategy, when a new candle closes.

Compared, in the same run, with a bare `close.ewm(span=9).mean()` over the same frames (the
least any EMA strategy costs), with a strategy that computes nothing (what the analysis itself
costs), and with an iteration where no candle closed (the strategy is not called at all then).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from engine.analysis import Analyzer
from engine.loader import load_strategy
from engine.strategy import IStrategy

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
PAIRS = 100
CANDLES = 1000
ROUNDS = 7
FIVE = timedelta(minutes=5)
Timings = tuple[list[float], list[float]]


def _frames() -> dict[str, pd.DataFrame]:
    """100 different windows of real candles on one shared date grid, ROUNDS candles longer
    than the window so that each round can close a new one."""
    sources = [pd.read_feather(FIXTURES / f"{name}_BTC-5m.feather") for name in ("ETH", "LTC")]
    length = CANDLES + ROUNDS
    dates = sources[0]["date"].iloc[:length].reset_index(drop=True)
    frames = {}
    for i in range(PAIRS):
        source = sources[i % 2]
        start = (i * 47) % (len(source) - length)
        frame = source.iloc[start:start + length].reset_index(drop=True)
        frames[f"P{i:03d}/BTC"] = frame.assign(date=dates)
    return frames


def _after_close(frame: pd.DataFrame, row: int) -> datetime:
    return frame["date"].iloc[row].to_pydatetime() + FIVE + timedelta(seconds=10)


class Bare(IStrategy):
    """Computes nothing: what remains is the cost of the analysis around a strategy."""

    timeframe = "5m"
    stoploss = -0.1

    def populate_indicators(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe

    def populate_exit_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _analyze_all(analyzer: Analyzer, frames: dict[str, pd.DataFrame], end: int,
                 now: datetime) -> None:
    for pair, frame in frames.items():
        analyzer.analyze(pair, frame.iloc[end - CANDLES:end], now)


def _rounds(strategy: IStrategy, frames: dict[str, pd.DataFrame]) -> Timings:
    """Seconds per round for all pairs: when a candle has just closed, and 2 minutes later."""
    any_frame = next(iter(frames.values()))
    analyzer = Analyzer(strategy, "5m", outdated_offset=timedelta(minutes=5))
    _analyze_all(analyzer, frames, CANDLES, _after_close(any_frame, CANDLES - 1))
    new_candle, no_candle = [], []
    for round_ in range(1, ROUNDS + 1):
        end = CANDLES + round_
        now = _after_close(any_frame, end - 1)
        new_candle.append(_timed(lambda e=end, n=now: _analyze_all(analyzer, frames, e, n)))
        later = now + timedelta(minutes=2)
        no_candle.append(_timed(lambda e=end, n=later: _analyze_all(analyzer, frames, e, n)))
    return new_candle, no_candle


def main() -> None:
    frames = _frames()
    new_candle, no_candle = _rounds(load_strategy("SampleStrategy", ROOT / "strategies", {}),
                                    frames)
    bare, _ = _rounds(Bare(), frames)
    windows = [frame.iloc[1:CANDLES + 1] for frame in frames.values()]
    baseline = [_timed(lambda: [w["close"].ewm(span=9).mean() for w in windows])
                for _ in range(ROUNDS)]
    _report(new_candle, no_candle, bare, baseline)


def _report(new_candle: list[float], no_candle: list[float], bare: list[float],
            baseline: list[float]) -> None:
    def ms(values: list[float]) -> str:
        median, best = statistics.median(values) * 1000, min(values) * 1000
        return f"median {median:7.1f} ms, min {best:7.1f} ms"

    print(f"analysis, {PAIRS} pairs x {CANDLES} candles, SampleStrategy, {ROUNDS} rounds")
    print(f"  new candle, sample strategy:       {ms(new_candle)}  "
          f"({statistics.median(new_candle) / PAIRS * 1000:.2f} ms per pair)")
    print(f"  no new candle (nothing runs):      {ms(no_candle)}")
    print(f"  new candle, strategy does nothing: {ms(bare)}")
    print(f"  baseline close.ewm(span=9):        {ms(baseline)}")
    print(f"  sample strategy / baseline:        "
          f"{statistics.median(new_candle) / statistics.median(baseline):.1f}x")


if __name__ == "__main__":
    main()
