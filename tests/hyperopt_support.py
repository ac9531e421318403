"""Shared by the hyperopt tests: an Evaluator on the Freqtrade-form strategies of
tests/strategies_ft and the case of tests/ft_support.py (ETH/BTC and LTC/BTC, 1,000 candles)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from backtest.download import read_markets
from backtest.history import BacktestHistory
from engine.settings import MARKETS_FILE
from hyperopt import spaces as sp
from hyperopt.epoch import Case, Evaluator
from hyperopt.losses import BUILTIN
from tests.ft_support import STRATEGIES, frames, load, settings


def evaluator(name: str = "FtParameters", spaces: Sequence[str] = ("buy", "sell"),
              loss: str = "SharpeHyperOptLoss", folder: Path = STRATEGIES,
              min_trades: int = 1) -> Evaluator:
    strategy = load(name, folder)
    candles = frames()
    case = Case(settings=settings(), frames=candles,
                history=BacktestHistory(candles, strategy.timeframe),
                markets=read_markets(MARKETS_FILE), fee=0.001, protections=False,
                spaces=sp.build_spaces(strategy, spaces), loss=BUILTIN[loss],
                min_trades=min_trades)
    return Evaluator(strategy, case)


POINT_A = {"buy_rsi": 35, "buy_ema": 12, "buy_volume_factor": 0.5, "buy_trend": "ema",
           "sell_rsi": 70, "sell_enabled": True, "sell_margin": 0.25}
POINT_B = {**POINT_A, "buy_rsi": 45, "buy_trend": "none", "sell_rsi": 60}


CONFIG = {"stake_currency": "BTC", "stake_amount": 0.05, "dry_run_wallet": 1.0,
          "max_open_trades": 2, "tradable_balance_ratio": 0.99,
          "unfilledtimeout": {"entry": 10, "exit": 10, "unit": "minutes"},
          "exchange": {"name": "offline", "pair_whitelist": ["ETH/BTC", "LTC/BTC"]},
          "strategy": "FtParameters", "strategy_path": "strategies", "datadir": "data",
          "fee": 0.001, "telegram": {"enabled": False}}


def make_project(folder: Path) -> None:
    """config.json, strategies/ with the parameter strategy and its file, and data/ with the
    candles of the case, for bot.py run in `folder`."""
    (folder / "strategies").mkdir()
    for name in ("ft_parameters.py", "ft_parameters.json"):
        shutil.copy(STRATEGIES / name, folder / "strategies")
    (folder / "data").mkdir()
    for pair, frame in frames().items():
        frame.to_feather(folder / "data" / f"{pair.replace('/', '_')}-5m.feather")
    (folder / "config.json").write_text(json.dumps(CONFIG), encoding="utf-8")
