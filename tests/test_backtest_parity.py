"""Trade-for-trade parity with Freqtrade 2026.9's backtest on the shared parity case.

Runs the parity README's command as a user would, then compares the exported trades with
Freqtrade's own list: same trades in the same order, same pairs, dates and exit reasons, rates
and amounts within 1e-9 relative, profit ratios within 1e-9 absolute.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.parity_rules import differences

ROOT = Path(__file__).resolve().parents[1]
PARITY = Path(__file__).resolve().parents[2] / "shared" / "parity"
REFERENCE = PARITY / "reference_trades_EmaRsiCross.json"
FREQTRADE_IMPORT = "from freqtrade.strategy import IStrategy"

pytestmark = pytest.mark.skipif(not REFERENCE.is_file(),
                                reason=f"the parity case is not at {PARITY}")


def strategy_folder(tmp_path: Path) -> Path:
    """The parity strategy with its import line changed to ours, in a folder of its own."""
    source = (PARITY / "ema_rsi_cross.py").read_text(encoding="utf-8")
    assert FREQTRADE_IMPORT in source
    folder = tmp_path / "strategy"
    folder.mkdir()
    (folder / "ema_rsi_cross.py").write_text(
        source.replace(FREQTRADE_IMPORT, "from engine.strategy import IStrategy"),
        encoding="utf-8")
    return folder


@pytest.mark.heavy  # bot.py replays the whole parity case: 57,288 candles, 1,165 trades
def test_backtest_of_the_parity_case_reproduces_freqtrades_trades_one_for_one(
    tmp_path: Path,
) -> None:
    export = tmp_path / "trades.json"
    command = [
        sys.executable, "bot.py", "backtest", "--config", "../shared/parity/config.json",
        "--strategy", "EmaRsiCross", "--strategy-path", str(strategy_folder(tmp_path)),
        "--datadir", "../shared/parity/data", "--markets", "../shared/parity/markets.json",
        "--fee", "0.001", "--export", str(export),
    ]  # fmt: skip

    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                         check=False)

    assert run.returncode == 0, run.stderr[-3000:]
    ours = json.loads(export.read_text(encoding="utf-8"))
    theirs = json.loads(REFERENCE.read_text(encoding="utf-8"))
    for index, (mine, reference) in enumerate(zip(ours, theirs, strict=False)):
        problems = differences(mine, reference)
        assert not problems, f"trade {index} ({reference['pair']} {reference['open_date']}): " \
                             f"{'; '.join(problems)}"
    assert len(ours) == len(theirs) == 1165
    assert "Absolute profit              -0.1204494 BTC" in run.stdout
