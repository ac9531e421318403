"""bot.py's sub-commands failing as a user meets them: the real process, one line on stderr
naming the cause, exit 2 for bad input and 1 for an exchange that cannot be reached, and never a
traceback. The exchange is ccxt's binance pointed at a local port where nothing listens."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.clock import SystemClock
from tests.fakes import FakeExchangeServer

ROOT = Path(__file__).resolve().parents[1]
SECRETS = ("TELEGRAM_TOKEN", "TELEGRAM_CHAT_ID", "TELEGRAM_API_URL", "EXCHANGE_API_KEY",
           "EXCHANGE_API_SECRET", "EXCHANGE_PASSWORD", "DATABASE_URL")


def bot(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run([sys.executable, str(ROOT / "bot.py"), *args], cwd=cwd, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture
def unreachable_config(tmp_path: Path) -> Iterator[Path]:
    """A config trading on binance whose every URL is a local port that refuses connections
    (bound, never listening)."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = FakeExchangeServer(SystemClock())
        nowhere.url = f"http://127.0.0.1:{closed.getsockname()[1]}"
        config = tmp_path / "config.json"
        config.write_text(json.dumps({"exchange": {
            "name": "binance", "pair_whitelist": ["ETH/BTC"],
            "ccxt_config": nowhere.ccxt_config()}}), encoding="utf-8")
        yield config


@pytest.mark.heavy  # waits out the real retry delays, about 8 s
def test_download_from_an_unreachable_exchange_ends_in_one_line_and_exit_1(
    tmp_path: Path, unreachable_config: Path
) -> None:
    run = bot(tmp_path, "download-data", "--config", str(unreachable_config), "--days", "1",
              "--datadir", str(tmp_path / "data"))

    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    *retries, failure = run.stderr.strip().splitlines()
    assert failure.startswith("tradepilot: ExchangeNotAvailable: binance GET http://127.0.0.1:")
    assert "Cannot connect to host 127.0.0.1" in failure
    assert failure.endswith("; try again later")
    assert [" WARNING " in line and "retry" in line for line in retries] == [True] * 4
    assert not (tmp_path / "data").exists()


@pytest.mark.heavy
def test_an_unknown_download_timeframe_is_refused_before_asking_the_exchange(
    tmp_path: Path, unreachable_config: Path
) -> None:
    run = bot(tmp_path, "download-data", "--config", str(unreachable_config),
              "--timeframes", "5m", "7m")

    assert run.returncode == 2
    # No retry warnings: the exchange was not asked.
    assert run.stderr.splitlines() == [
        "tradepilot: --timeframes: '7m' is not a timeframe backtests replay; expected one of "
        "1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d"]


@pytest.mark.parametrize(("options", "message"), [
    pytest.param(["--datadir", "missing"], "tradepilot: no 5m candles for ETH/BTC in missing: "
                 "expected ETH_BTC-5m.feather", marks=pytest.mark.heavy),
    pytest.param(["--timerange", "2024-01-02"], "tradepilot: --timerange: expected "
                 "YYYYMMDD-YYYYMMDD, got '2024-01-02'", marks=pytest.mark.heavy),
    (["--strategy", "NoSuchStrategy"], "tradepilot: strategy: no strategy class NoSuchStrategy"),
])  # fmt: skip
def test_a_bad_backtest_option_is_one_line_on_stderr_and_exit_2(
    tmp_path: Path, options: list[str], message: str
) -> None:
    run = bot(tmp_path, "backtest", *options)

    assert run.returncode == 2
    assert len(run.stderr.splitlines()) == 1, run.stderr
    assert run.stderr.startswith(message)
    assert run.stdout == ""


@pytest.mark.heavy
def test_sigterm_stops_the_headless_bot_through_its_shutdown_with_exit_0(tmp_path: Path) -> None:
    """It exited 143 (killed by the signal) without running the engine's shutdown; the
    database and the log it wrote are the owner's alone."""
    (tmp_path / "config.json").write_text(json.dumps({
        "telegram": {"enabled": False}, "offline": {"speed": 3000},
        "internals": {"process_throttle_secs": 1}}))
    log = tmp_path / "bot.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "EXCHANGE_"))}
    with subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "--config", "config.json",
                           "--logfile", str(log)], cwd=tmp_path, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        for _ in range(300):
            if log.is_file() and "started: DRY-RUN" in log.read_text():
                break
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err[-2000:]
    assert "Traceback" not in err
    for made in (log, tmp_path / "tradepilot.dryrun.sqlite"):
        assert made.stat().st_mode & 0o777 == 0o600, made
