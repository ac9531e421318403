"""The round trip the crash drills replay: one entry signal, one exit signal, on ETH/BTC.

The wire drills (test_crash_restart_wire.py) replay it through the real ccxt binance client
against a fake Binance in another process; `SharedClock` / `FileClock` give both processes
the engine's time, and keep it after the engine is killed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.clock import ManualClock
from tests.engine.scripted import Scripted

PAIR = "ETH/BTC"
START = datetime(2018, 1, 11, 5, 0, tzinfo=UTC)
SETTINGS = {"exchange": {"pair_whitelist": [PAIR]}, "stake_amount": 0.05, "max_open_trades": 1}
ROUND_TRIP_STEPS = 30  # 05:05 .. 07:30: entry at 06:05, exit at 07:05
FIVE = timedelta(minutes=5)
END = START + ROUND_TRIP_STEPS * FIVE
MARKET = {"entry": "market", "exit": "market", "stoploss": "market",
          "stoploss_on_exchange": False}
LIMIT = {**MARKET, "entry": "limit", "exit": "limit"}
# Live (not dry-run) settings need credentials; the fake accepts any.
WIRE_ENV = {"EXCHANGE_API_KEY": "drill-key", "EXCHANGE_API_SECRET": "drill-secret"}


def scripted(order_types: dict[str, Any] = MARKET) -> Scripted:
    return Scripted(enter={PAIR: [datetime(2018, 1, 11, 6, 0, tzinfo=UTC)]},
                    exit_={PAIR: [datetime(2018, 1, 11, 7, 0, tzinfo=UTC)]},
                    order_types=order_types)


def wire_settings(ccxt_config: dict[str, Any]) -> dict[str, Any]:
    """SETTINGS trading live on binance, whose ccxt client `ccxt_config` points at a fake."""
    exchange = {"name": "binance", "pair_whitelist": [PAIR], "ccxt_config": ccxt_config}
    return {**SETTINGS, "dry_run": False, "exchange": exchange}


class SharedClock(ManualClock):
    """A ManualClock that publishes every move to a file, for a `FileClock` elsewhere."""

    def __init__(self, path: Path, start: datetime) -> None:
        super().__init__(start)
        self._path = path
        self._publish()

    def advance(self, delta: timedelta) -> None:
        super().advance(delta)
        self._publish()

    def set(self, when: datetime) -> None:
        super().set(when)
        self._publish()

    def _publish(self) -> None:
        # Written whole, then renamed: a reader never sees half a timestamp.
        partial = self._path.with_suffix(".partial")
        partial.write_text(self.now().isoformat())
        partial.replace(self._path)


class FileClock:
    """The time a `SharedClock` last published (the engine's time, even after it died)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def now(self) -> datetime:
        return datetime.fromisoformat(self._path.read_text())
