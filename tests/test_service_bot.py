"""The real bot.py under a fake systemd: READY=1 once its loop runs, WATCHDOG=1 after each
iteration, STOPPING=1 and exit 0 on SIGTERM, in each mode the bot runs in (headless, Telegram, the
console chat); `bot.py healthcheck` reads the heartbeat file it writes (the image's check)."""

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

from tests.fakes.systemd import FakeSystemd
from tests.fakes.systemd import abstract_systemd as fake_systemd

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def abstract_systemd() -> Iterator[tuple[FakeSystemd, str]]:
    with fake_systemd() as made:
        yield made


def healthcheck(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "bot.py"), "healthcheck"], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def refused_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/bot"


@pytest.mark.parametrize("mode", [
    "headless",  # PTB's start-up: ~9 s
    pytest.param("chat", marks=pytest.mark.heavy),
    pytest.param("console", marks=pytest.mark.heavy),
])
def test_bot_py_tells_systemd_ready_alive_and_stopping_and_keeps_the_heartbeat_file(
        tmp_path: Path, abstract_systemd: tuple[FakeSystemd, str], mode: str) -> None:
    fake, value = abstract_systemd
    config: dict[str, object] = {"offline": {"speed": 3000},
                                 "internals": {"process_throttle_secs": 1}}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "EXCHANGE_"))}
    if mode == "headless":
        config["telegram"] = {"enabled": False}
    elif mode == "chat":  # Telegram refuses every connection: systemd hears the bot anyway
        env |= {"TELEGRAM_TOKEN": "4242:" + "A" * 35, "TELEGRAM_CHAT_ID": "111",
                "TELEGRAM_API_URL": refused_url()}
    (tmp_path / "config.json").write_text(json.dumps(config))
    beat_file = tmp_path / "heartbeat.json"
    env |= {"NOTIFY_SOCKET": value, "HEARTBEAT_FILE": str(beat_file)}
    assert healthcheck(tmp_path, env).returncode == 1  # not started yet

    with subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "--config", "config.json"],
                          cwd=tmp_path, env=env,
                          # The console chat (no token) stops at the end of its input.
                          stdin=subprocess.PIPE if mode == "console" else subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            first = fake.receive()
            pings = [fake.receive(), fake.receive()]
            check = healthcheck(tmp_path, env)
            mode_bits = beat_file.stat().st_mode & 0o777
        finally:
            process.send_signal(signal.SIGTERM)
            _out, err = process.communicate(timeout=30)
    messages = fake.pending()

    assert first[0] == "READY=1"
    assert pings == [["WATCHDOG=1"], ["WATCHDOG=1"]]
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith("tradepilot: last heartbeat ")
    assert mode_bits == 0o600
    assert ["STOPPING=1", "STATUS=shutting down"] in messages
    assert messages[-1] == ["STOPPING=1", "STATUS=shutting down"]
    assert process.returncode == 0, err[-2000:]
    assert "Traceback" not in err
    assert not beat_file.exists()
    stopped = healthcheck(tmp_path, env)
    assert (stopped.returncode, stopped.stderr) == (
        1, f"tradepilot: no heartbeat at {beat_file}: the bot is not running, or not yet "
           "started\n")


@pytest.mark.heavy
def test_healthcheck_without_a_heartbeat_file_says_what_to_set(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HEARTBEAT_FILE"}
    started = time.monotonic()
    run = healthcheck(tmp_path, env)
    assert (run.returncode, run.stderr) == (
        2, "tradepilot: no heartbeat file: set HEARTBEAT_FILE or pass --heartbeat-file\n")
    assert time.monotonic() - started < 10
