"""Kill the engine for real (SIGKILL) around every order step; a restart on the same database
and the same (paper) exchange neither duplicates nor loses anything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core.clock import ManualClock
from store import schema
from store.models import Order, PaperOrder, Trade
from tests.databases import url_for
from tests.engine.crash_plan import ROUND_TRIP_STEPS, SETTINGS, START, scripted
from tests.factories import make_engine, run_for

ROOT = Path(__file__).resolve().parents[2]
FIVE = timedelta(minutes=5)
POINTS = ["before:create_order:buy", "after:create_order:buy", "before:create_order:sell",
          "after:create_order:sell"]


def _last_order_time(folder: Path) -> datetime:
    schema.init_db(url_for(folder))
    latest = max(o.order_date for o in Order.select())
    schema.close_db()
    return latest


def crash(folder: Path, point: str) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "tests.engine.crash_child", str(folder), point],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                            check=False)
    return result.returncode


@pytest.mark.heavy
@pytest.mark.parametrize("point", POINTS)
async def test_restart_after_sigkill_neither_duplicates_nor_loses_an_order(
        tmp_path: Path, point: str) -> None:
    assert crash(tmp_path, point) == -signal.SIGKILL

    # Time only moves forward: the restarted bot resumes at the moment the old one died.
    died_at = _last_order_time(tmp_path)
    clock = ManualClock(died_at - FIVE)
    commands = make_engine(tmp_path, settings_overrides=SETTINGS, strategy=scripted(),
                           clock=clock)
    await commands.startup()
    await run_for(commands, clock, ROUND_TRIP_STEPS - (died_at - START) // FIVE + 1)

    on_exchange = list(PaperOrder.select().order_by(PaperOrder.created_at))
    assert [(p.side, p.status) for p in on_exchange] == [("buy", "closed"), ("sell", "closed")]
    trades = list(Trade.select())
    assert len(trades) == 1
    trade = trades[0]
    assert not trade.is_open
    assert trade.exit_reason == "exit_signal"
    filled = [o for o in Order.select() if o.status == "filled"]
    assert sorted(o.order_id for o in filled) == sorted(p.id for p in on_exchange)
    assert all(o.trade_id == trade.id for o in filled)
    never_sent = [o for o in Order.select() if o.status == "failed"]
    assert all(o.order_id is None for o in never_sent)
    assert trade.amount_requested == pytest.approx(on_exchange[0].filled)
    assert trade.close_profit_abs == pytest.approx(
        on_exchange[1].cost - on_exchange[1].fee_cost - on_exchange[0].cost
        - on_exchange[0].fee_cost, abs=1e-8)
