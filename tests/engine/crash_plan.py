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


class Adjusting(Scripted):
    """The round trip with an addition of 0.03 BTC from 06:20 and a sale of 0.02 BTC's worth
    from 06:40 (the first iteration after either time that finds it not done yet)."""

    position_adjustment_enable = True

    def adjust_trade_position(self, trade: Any, current_time: datetime, current_rate: float,
                              current_profit: float, min_stake: float | None,
                              max_stake: float, current_entry_rate: float,
                              current_exit_rate: float, current_entry_profit: float,
                              current_exit_profit: float, **kwargs: Any) -> Any:
        entries, exits = trade.nr_of_successful_entries, trade.nr_of_successful_exits
        if current_time >= ADD_AT and entries == 1 and not exits:
            return 0.03, "add"
        if current_time >= PART_AT and entries == 2 and not exits:
            return -0.02, "part"
        return None


ADD_AT = datetime(2018, 1, 11, 6, 20, tzinfo=UTC)
PART_AT = datetime(2018, 1, 11, 6, 40, tzinfo=UTC)


def adjusting(order_types: dict[str, Any] = MARKET) -> Adjusting:
    return Adjusting(enter={PAIR: [datetime(2018, 1, 11, 6, 0, tzinfo=UTC)]},
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
