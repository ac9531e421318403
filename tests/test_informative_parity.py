"""Trade-for-trade parity with Freqtrade 2026.9 for the informative strategies of
tests/freqtrade_parity: a 1h `@informative` timeframe on 5m (InformativeTrend1h), ETH/BTC's 1h
trend as an informative pair filtering three alts (EthTrendFilter), and `@informative` with an
`ETH/{stake}` asset plus `self.dp` read inside `confirm_trade_entry` and `custom_exit`
(EthHourlyCallbacks).

Runs `bot.py backtest` as a user would, on the fixtures' data directory (the 5m parity candles
and their 1h resamples), and compares the export with the oracle's list by the rules of
shared/parity/README.md. The strategy files run unchanged, `from freqtrade.strategy import ...`
included.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_backtest_parity import PARITY, differences

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "freqtrade_parity"
CASES = {
    "InformativeTrend1h": "informative_trend_1h.py",
    "EthTrendFilter": "eth_trend_filter.py",
    "EthHourlyCallbacks": "eth_hourly_callbacks.py",
}


def strategy_folder(tmp_path: Path, filename: str) -> Path:
    """The strategy file exactly as Freqtrade ran it, in a folder of its own."""
    folder = tmp_path / "strategy"
    folder.mkdir()
    shutil.copy(FIXTURES / "strategies" / filename, folder / filename)
    return folder


@pytest.mark.parametrize("strategy", [
    s if s == "InformativeTrend1h" else pytest.param(s, marks=pytest.mark.heavy)
    for s in sorted(CASES)])
def test_the_informative_strategy_trades_as_freqtrade_one_for_one(tmp_path: Path,
                                                                  strategy: str) -> None:
    export = tmp_path / "trades.json"
    command = [
        sys.executable, "bot.py", "backtest", "--config",
        str(FIXTURES / "configs" / f"{strategy}.json"), "--strategy", strategy,
        "--strategy-path", str(strategy_folder(tmp_path, CASES[strategy])),
        "--datadir", str(FIXTURES / "data"), "--markets", str(PARITY / "markets.json"),
        "--fee", "0.001", "--export", str(export),
    ]  # fmt: skip

    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                         check=False)

    assert run.returncode == 0, run.stderr[-3000:]
    ours = json.loads(export.read_text(encoding="utf-8"))
    theirs = json.loads((FIXTURES / "reference" / f"{strategy}.json").read_text(
        encoding="utf-8"))
    for index, (mine, reference) in enumerate(zip(ours, theirs, strict=False)):
        problems = differences(mine, reference)
        assert not problems, f"trade {index} ({reference['pair']} {reference['open_date']}): " \
                             f"{'; '.join(problems)}"
    assert len(ours) == len(theirs)
    assert len(theirs) > 50
