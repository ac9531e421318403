"""Shared by the hyperopt tests: an Evaluator on the Freqtrade-form strategies of
tests/strategies_ft and the case of tests/ft_support.py (ETH/BTC and LTC/BTC, 1,000 candles)."""

from __future__ import annotations

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
