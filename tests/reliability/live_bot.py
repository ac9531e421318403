"""The real `bot.py` in live mode ("dry_run": false, keys in the environment) against the fake
Binance, which runs in the test's process on the wall clock so that it outlives every kill;
Telegram points at a port that refuses every connection."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
from pathlib import Path

from tests.fakes import FakeExchangeServer

ROOT = Path(__file__).resolve().parents[2]
PAIR = "ETH/BTC"
THROTTLE = 1.0  # seconds between iterations


def refused_port() -> int:
    """A port nobody listens on: every connection to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_live_config(folder: Path, server: FakeExchangeServer) -> None:
    (folder / "config.json").write_text(json.dumps({
        "dry_run": False, "stake_currency": "BTC", "stake_amount": 0.05, "max_open_trades": 1,
        "strategy": "tests.reliability.live_strategy:AlwaysIn",
        "db_url": f"sqlite:///{folder / 'trades.sqlite'}",
        "exchange": {"name": "binance", "pair_whitelist": [PAIR],
                     "ccxt_config": server.ccxt_config()},
        "internals": {"process_throttle_secs": THROTTLE},
    }))  # fmt: skip


class LiveBot:
    """One `bot.py run` process on the drill folder, logging to FOLDER/bot.log."""

    def __init__(self, folder: Path, telegram_port: int) -> None:
        self.folder = folder
        self.log = folder / "bot.log"
        self.env = {"PATH": "/usr/bin:/bin", "EXCHANGE_API_KEY": "drill-key",
                    "EXCHANGE_API_SECRET": "drill-secret", "TELEGRAM_TOKEN": "4242:" + "A" * 35,
                    "TELEGRAM_CHAT_ID": "111",
                    "TELEGRAM_API_URL": f"http://127.0.0.1:{telegram_port}/bot"}
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "bot.py"), "--config", "config.json", "--logfile",
            str(self.log), "run", cwd=self.folder, env=self.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)

    def text(self) -> str:
        return self.log.read_text() if self.log.is_file() else ""

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def stop(self, signum: int = signal.SIGTERM) -> int:
        process = self.process
        assert process is not None
        if process.returncode is None:
            process.send_signal(signum)
        try:
            return await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:  # hung: never leave a bot running behind the test
            process.kill()
            return await process.wait()
