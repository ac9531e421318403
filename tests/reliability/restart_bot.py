"""The real `bot.py`, started as its own process on a drill folder and killed with SIGKILL.

A drill folder holds config.json and the database; every start uses the same ones, so each
restart finds what the killed process left. Kill moments are planned from a seed: a delay after
start-up, a delay after a start-up log line (reconciliation runs right after it), or the very
moment the bot logs its k-th order step (an intent about to be sent, an order the exchange
just accepted, filled or cancelled before the bot recorded the answer).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STRATEGY = "tests.reliability.restart_strategy:RestartChurn"
PAIRS = ("ETH/BTC", "LTC/BTC", "XLM/BTC", "NXT/BTC", "ADA/BTC")
WALLET = 1.0
# 5-minute candles at 3000x: one candle every 0.1 s, a trade every few candles on each pair.
SPEED = 3000.0
SECRET_VARIABLES = ("TELEGRAM_", "EXCHANGE_", "DATABASE_URL")

# Log lines that mark a moment worth dying at, by name.
TRIGGERS: dict[str, re.Pattern[str]] = {
    "starting": re.compile(r"tradepilot: tradepilot \S+ starting"),
    "started": re.compile(r"engine\.engine: started:"),
    "intent": re.compile(r"engine\.trader: trade=\d+ pair=\S+ client_id=\S+ (entry|exit) "),
    "accepted": re.compile(r"engine\.paper: paper order \S+ client_id=\S+ (limit|market) "),
    "filled": re.compile(r"engine\.paper: paper order \S+ client_id=\S+ filled "),
    "cancelled": re.compile(r"engine\.paper: paper order \S+ client_id=\S+ canceled"),
}
ORDER_STEPS = ("intent", "accepted", "filled", "cancelled")


def drill_config(folder: Path) -> dict[str, Any]:
    """The busy offline session: every shipped pair, a fast replay, the churning strategy."""
    return {
        "dry_run": True, "dry_run_wallet": WALLET, "stake_currency": "BTC",
        "stake_amount": 0.01, "max_open_trades": len(PAIRS),
        "strategy": STRATEGY, "db_url": f"sqlite:///{folder / 'trades.sqlite'}",
        "exchange": {"name": "offline", "pair_whitelist": list(PAIRS)},
        "telegram": {"enabled": False},
        "internals": {"process_throttle_secs": 0.02},
        "offline": {"speed": SPEED},
    }  # fmt: skip


def write_config(folder: Path) -> Path:
    path = folder / "config.json"
    path.write_text(json.dumps(drill_config(folder), indent=2), encoding="utf-8")
    return path


@dataclass(frozen=True, slots=True)
class Kill:
    """Die `delay` seconds after the `count`-th log line matching `trigger` ("spawn": the
    moment the process was started)."""

    trigger: str
    count: int = 1
    delay: float = 0.0

    def __str__(self) -> str:
        return f"{self.trigger}#{self.count}+{self.delay * 1000:.0f}ms"


def plan_kills(seed: int, restarts: int) -> list[Kill]:
    """Random but reproducible kill moments, about half of them on an order step."""
    rng = random.Random(seed)
    kills = []
    for _ in range(restarts):
        roll = rng.random()
        if roll < 0.1:
            kills.append(Kill("spawn", delay=rng.uniform(0.2, 1.2)))
        elif roll < 0.2:
            kills.append(Kill("starting", delay=rng.uniform(0.0, 0.03)))
        elif roll < 0.5:
            kills.append(Kill("started", delay=rng.uniform(0.05, 0.8)))
        else:
            kills.append(Kill(rng.choice(ORDER_STEPS), count=rng.randint(1, 4)))
    return kills


@dataclass
class Run:
    """One process: what it logged and how it ended."""

    kill: Kill | None
    started_at: float
    lines: list[str] = field(default_factory=list)
    killed_at: float | None = None
    ready_after: float | None = None
    returncode: int | None = None

    def tail(self, count: int = 30) -> str:
        return "\n".join(self.lines[-count:])


def _environment() -> dict[str, str]:
    """No token, no keys, no database URL from the caller's shell: offline, on our files."""
    return {k: v for k, v in os.environ.items() if not k.startswith(SECRET_VARIABLES)}


class BotProcess:
    """`python bot.py --config FOLDER/config.json run`, with cwd FOLDER."""

    def __init__(self, folder: Path, kill: Kill | None) -> None:
        self.run = Run(kill, time.monotonic())
        self._counts: dict[str, int] = {}
        self._fired = threading.Event()
        self._proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bot.py"), "--config", str(folder / "config.json"),
             "run"],
            cwd=folder, env=_environment(), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if kill is not None and kill.trigger == "spawn":
            self._arm(kill.delay)

    def _read(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self.run.lines.append(line.rstrip("\n"))
            self._on_line(line)

    def _on_line(self, line: str) -> None:
        kill = self.run.kill
        for name, pattern in TRIGGERS.items():
            if not pattern.search(line):
                continue
            self._counts[name] = self._counts.get(name, 0) + 1
            if name == "started" and self.run.ready_after is None:
                self.run.ready_after = time.monotonic() - self.run.started_at
            if kill is not None and kill.trigger == name and self._counts[name] == kill.count:
                self._arm(kill.delay)

    def _arm(self, delay: float) -> None:
        if delay <= 0:
            self._signal(signal.SIGKILL)
            return
        timer = threading.Timer(delay, self._signal, (signal.SIGKILL,))
        timer.daemon = True
        timer.start()

    def _signal(self, signum: int) -> None:
        if self._proc.poll() is None and not self._fired.is_set():
            self._fired.set()
            self.run.killed_at = time.monotonic() - self.run.started_at
            self._proc.send_signal(signum)

    def wait_until(self, ready: Callable[[Run], bool], timeout: float) -> bool:
        """Poll until `ready(run)` or the process ended; False when `timeout` passed first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready(self.run) or self._proc.poll() is not None:
                return True
            time.sleep(0.01)
        return False

    def stop(self, signum: int, timeout: float = 20) -> Run:
        """Send `signum` (unless a planned kill already went out) and wait for the end."""
        self._signal(signum)
        try:
            self.run.returncode = self._proc.wait(timeout)
        except subprocess.TimeoutExpired:  # hung: never leave a bot running behind the test
            self._proc.kill()
            self.run.returncode = self._proc.wait()
        self._reader.join(timeout)
        if self._proc.stderr is not None:
            self._proc.stderr.close()
        return self.run

    def count(self, trigger: str) -> int:
        return self._counts.get(trigger, 0)


def killed_run(folder: Path, kill: Kill, patience: float = 6.0) -> Run:
    """Start the bot and let the planned kill take it; SIGKILL anyway after `patience` s."""
    bot = BotProcess(folder, kill)
    bot.wait_until(lambda run: run.killed_at is not None, patience)
    return bot.stop(signal.SIGKILL)


def settled_run(folder: Path, steps: int = 10, patience: float = 20.0) -> Run:
    """Start the bot, let it reconcile and trade for `steps` order steps, stop it with Ctrl-C."""
    bot = BotProcess(folder, None)
    bot.wait_until(lambda run: run.ready_after is not None, patience)
    bot.wait_until(lambda _run: sum(bot.count(s) for s in ORDER_STEPS) >= steps, patience)
    return bot.stop(signal.SIGINT)
