"""Shared by the tests of Freqtrade-form strategies: load one from tests/strategies_ft with the
real loader, backtest it through `backtest.run` on the first 1,000 candles of the ETH/BTC and
LTC/BTC fixtures, and compare the trades with Freqtrade 2026.9's for the same case.

The case is the one the committed references in tests/fixtures/ft_oracle/ were made on, with
`../shared/oracle/run_freqtrade.sh` (config: the oracle's, with these two pairs and
`max_open_trades` 2): prices rounded to 8 decimals as the shared parity data is (the fixture
files hold prices one ulp off their decimal value, where Freqtrade's fill check against the
candle's low flips), fee 0.001.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtest import run as backtest_run
from backtest.download import read_markets
from backtest.run import BacktestResult
from engine.config import parse_config
from engine.loader import load_strategy
from engine.settings import MARKETS_FILE, Settings
from engine.strategy import IStrategy
from engine.strategy_runtime import freqtrade_config

HERE = Path(__file__).parent
STRATEGIES = HERE / "strategies_ft"
ORACLE = HERE / "fixtures" / "ft_oracle"
PAIRS = ("ETH/BTC", "LTC/BTC")
CANDLES = 1000


def frames(count: int = CANDLES) -> dict[str, pd.DataFrame]:
    loaded = {}
    for pair in PAIRS:
        frame = pd.read_feather(HERE / "fixtures" / f"{pair.replace('/', '_')}-5m.feather")
        frame = frame.iloc[:count].copy()
        for column in ("open", "high", "low", "close"):
            frame[column] = np.round(frame[column], 8)
        loaded[pair] = frame.reset_index(drop=True)
    return loaded


def settings(**extra: Any) -> Settings:
    raw = {"stake_currency": "BTC", "stake_amount": 0.05, "dry_run_wallet": 1.0,
           "max_open_trades": 2, "tradable_balance_ratio": 0.99,
           "unfilledtimeout": {"entry": 10, "exit": 10, "unit": "minutes"},
           "exchange": {"name": "offline", "pair_whitelist": list(PAIRS)}, **extra}
    return backtest_run.backtest_settings(parse_config(raw, {}))


def load(name: str, folder: Path = STRATEGIES, **extra: Any) -> IStrategy:
    chosen = settings(**extra)
    return load_strategy(name, folder, chosen.strategy_overrides(),
                         config=freqtrade_config(chosen))


async def backtest(strategy: IStrategy, **extra: Any) -> BacktestResult:
    return await backtest_run.run(settings(**extra), strategy, frames(),
                                  read_markets(MARKETS_FILE), fee=0.001)


def exported(result: BacktestResult) -> list[dict[str, Any]]:
    return sorted((t.to_json() for t in result.trades), key=lambda t: (t["open_date"], t["pair"]))


def differences(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> list[str]:
    """The parity rules of ../shared/parity/README.md, trade by trade."""
    found = [] if len(ours) == len(theirs) else [f"{len(ours)} trades, Freqtrade {len(theirs)}"]
    for n, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        wrong = [k for k in ("pair", "open_date", "close_date", "exit_reason") if a[k] != b[k]]
        wrong += [k for k in ("open_rate", "close_rate", "amount")
                  if not math.isclose(a[k], b[k], rel_tol=1e-9)]
        if abs(a["profit_ratio"] - b["profit_ratio"]) > 1e-9:
            wrong.append("profit_ratio")
        found += [f"trade {n} {k}: {a[k]!r} != {b[k]!r}" for k in wrong]
    return found


def reference(name: str) -> list[dict[str, Any]]:
    trades: list[dict[str, Any]] = json.loads((ORACLE / f"{name}.json").read_text())
    return trades
