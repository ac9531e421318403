"""The round trip the crash drills replay: one entry signal, one exit signal, on ETH/BTC."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.engine.scripted import Scripted

PAIR = "ETH/BTC"
START = datetime(2018, 1, 11, 5, 0, tzinfo=UTC)
SETTINGS = {"exchange": {"pair_whitelist": [PAIR]}, "stake_amount": 0.05, "max_open_trades": 1}
ROUND_TRIP_STEPS = 30  # 05:05 .. 07:30: entry at 06:05, exit at 07:05
MARKET = {"entry": "market", "exit": "market", "stoploss": "market",
          "stoploss_on_exchange": False}


def scripted() -> Scripted:
    return Scripted(enter={PAIR: [datetime(2018, 1, 11, 6, 0, tzinfo=UTC)]},
                    exit_={PAIR: [datetime(2018, 1, 11, 7, 0, tzinfo=UTC)]},
                    order_types=MARKET)
