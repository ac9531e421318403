"""docs/deploy.md's backup and restore of the SQLite database, as the owner would do it: an
online backup of a running bot's database (SQLite's backup API, what `sqlite3 DB ".backup
FILE"` runs), restored into a fresh folder, where a new bot.py takes over the open trades of the
backup and manages them to their exit."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "tradepilot.dryrun.sqlite"


def start_bot(folder: Path, config: dict[str, Any]) -> subprocess.Popen[str]:
    (folder / "config.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "EXCHANGE_", "DATABASE_", "NOTIFY_", "HEARTBEAT_"))}
    env["PYTHONPATH"] = str(ROOT)  # the strategy is the test's own, tests.reliability...
    return subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "--config", "config.json",
                             "--logfile", "bot.log"], cwd=folder, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def stop_bot(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err[-2000:]


def rows(database: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """A read of the bot's database from outside, as a second process sees it."""
    if not database.exists():
        return []
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
        try:
            return db.execute(sql, params).fetchall()
        except sqlite3.OperationalError:  # the bot has not made its tables yet
            return []


def wait_for(condition: Callable[[], bool], within: float = 90) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


OPEN_TRADES = "SELECT id, pair, amount, open_rate FROM trades WHERE is_open = 1 ORDER BY id"
CONFIG = {"telegram": {"enabled": False}, "offline": {"speed": 60},
          "internals": {"process_throttle_secs": 0.5}, "max_open_trades": 2,
          "strategy": "tests.reliability.live_strategy:AlwaysIn", "stoploss": -0.99}


def test_an_online_backup_restored_into_a_fresh_folder_resumes_the_open_trades(
        tmp_path: Path) -> None:
    live, restored = tmp_path / "live", tmp_path / "restored"
    live.mkdir()
    restored.mkdir()
    bot = start_bot(live, CONFIG)
    try:
        wait_for(lambda: len(rows(live / DATABASE, OPEN_TRADES)) == 2)
        with sqlite3.connect(live / DATABASE) as source, \
                sqlite3.connect(restored / DATABASE) as copy:
            source.backup(copy)  # while the bot runs, trades and writes
    finally:
        stop_bot(bot)
    backed_up = rows(restored / DATABASE, OPEN_TRADES)
    assert len(backed_up) == 2
    assert (restored / DATABASE).stat().st_size > 0

    # Any profit is enough now: the restored bot must find the trades and sell them.
    bot = start_bot(restored, CONFIG | {"minimal_roi": {"0": -0.5}})
    try:
        ids = tuple(trade[0] for trade in backed_up)
        wait_for(lambda: len(rows(restored / DATABASE, "SELECT id FROM trades WHERE id IN "
                                                       "(?, ?) AND is_open = 0", *ids)) == 2)
    finally:
        stop_bot(bot)
    closed = rows(restored / DATABASE, "SELECT id, pair, open_rate, exit_reason FROM trades "
                                       "WHERE id IN (?, ?) ORDER BY id", *ids)
    assert closed == [(id_, pair, rate, "roi") for id_, pair, _amount, rate in backed_up]
    # Each sold exactly what the backup held, once.
    sells = rows(restored / DATABASE, "SELECT trade_id, pair, filled, status FROM orders JOIN "
                                      "trades ON trades.id = trade_id WHERE trade_id IN (?, ?) "
                                      "AND ft_order_side = 'sell' ORDER BY trade_id", *ids)
    assert sells == [(id_, pair, amount, "filled") for id_, pair, amount, _rate in backed_up]
    log = (restored / "bot.log").read_text()
    assert "open_trades=2" in log  # the start-up message counts them
    assert "Traceback" not in log
