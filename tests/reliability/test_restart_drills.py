"""Restart drills: the real bot.py process, trading hard on the offline market, is killed with
SIGKILL at random moments (many of them while an order is in flight) and restarted on the same
database, again and again. Nothing may be lost or doubled: at the end every exchange order is
one order of one trade, every fill is in the database, and the profit figures add up to what the
wallet gained.

The kill plan comes from a seed (RESTART_DRILL_SEED, printed on failure); every process's log is
kept in drill.log beside the database.
"""

from __future__ import annotations

import json
import os
import signal
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core.clock import ManualClock
from store import schema
from store.models import Trade
from tests.engine.scripted import Scripted
from tests.factories import DATA_START, make_engine, run_for
from tests.reliability.restart_audit import (
    PROFIT_ROUNDING,
    Book,
    audit,
    in_flight,
    snapshot,
    wallet_change,
)
from tests.reliability.restart_bot import (
    Kill,
    Run,
    drill_config,
    killed_run,
    plan_kills,
    settled_run,
    write_config,
)

SEED = int(os.environ.get("RESTART_DRILL_SEED", "20261124"))
RESTARTS = 50
FIVE = timedelta(minutes=5)


@dataclass
class Drill:
    """The session so far: where the drill is, for the failure message, and its figures."""

    folder: Path
    seed: int
    kills: list[Kill]
    book: Book | None = None
    log: list[str] = field(default_factory=list)
    left_in_flight: Counter[str] = field(default_factory=Counter)
    kills_with_orders_in_flight: int = 0
    kills_with_orders_resting: int = 0
    runs_that_traded: int = 0
    ready_times: list[float] = field(default_factory=list)

    @property
    def db_file(self) -> Path:
        return self.folder / "trades.sqlite"

    def record(self, label: str, run: Run) -> None:
        self.log.append(f"===== {label}: kill {run.kill}, killed at {run.killed_at}, "
                        f"ready after {run.ready_after}, exit {run.returncode}")
        self.log += run.lines
        (self.folder / "drill.log").write_text("\n".join(self.log), encoding="utf-8")
        if run.ready_after is not None:
            self.ready_times.append(run.ready_after)

    def context(self, where: str, run: Run | None = None) -> str:
        tail = f"\n--- last log lines ---\n{run.tail()}" if run else ""
        return (f"restart drill seed {self.seed} (rerun with RESTART_DRILL_SEED={self.seed}), "
                f"{where}; full log in {self.folder / 'drill.log'}{tail}")

    def figures(self, settled: Book) -> dict[str, object]:
        """What docs/reliability.md publishes, written beside the log."""
        ready = sorted(self.ready_times)
        found = {
            "seed": self.seed, "sigkills": len(self.kills),
            "kill_moments": Counter(k.trigger for k in self.kills),
            "kills_with_an_order_in_flight": self.kills_with_orders_in_flight,
            "half_done_orders_left_by_kills": dict(self.left_in_flight),
            "kills_with_orders_resting_on_the_exchange": self.kills_with_orders_resting,
            "runs_that_traded": self.runs_that_traded,
            "orders_on_the_exchange": len(settled.paper),
            "orders_filled": sum(1 for p in settled.paper if p.filled > 0),
            "bot_orders": len(settled.orders), "trades": len(settled.trades),
            "intents_never_sent": sum(1 for o in settled.orders if o.order_id is None),
            "exchange_orders_of_removed_trades": len(
                set(settled.paper_by_client_id) - set(settled.orders_by_client_id)),
            "replayed_from": str(min((o.order_date for o in settled.orders), default=None)),
            "replayed_to": str(latest_order_date(settled)),
            "closed_profit": sum(t.close_profit_abs or 0.0 for t in settled.trades),
            "wallet_change": float(wallet_change(settled)),
            "start_up_seconds_median": ready[len(ready) // 2] if ready else None,
            "start_up_seconds_max": ready[-1] if ready else None,
        }  # fmt: skip
        (self.folder / "figures.json").write_text(json.dumps(found, indent=2), encoding="utf-8")
        return found


def latest_order_date(book: Book | None) -> datetime | None:
    return max((o.order_date for o in book.orders), default=None) if book else None


def kill_and_restart(drill: Drill, number: int, kill: Kill) -> None:
    """One cycle: start on the database the last process left, die at the planned moment."""
    before = drill.book
    run = killed_run(drill.folder, kill)
    drill.record(f"restart {number}", run)
    where = f"restart {number} of {len(drill.kills)} ({kill})"
    assert run.returncode == -signal.SIGKILL, drill.context(
        f"{where}: the bot exited by itself", run)
    if not drill.db_file.exists():
        return
    after = drill.book = snapshot(drill.db_file)
    assert after.integrity == "ok", drill.context(f"{where}: {after.integrity}", run)
    known = {o.client_order_id for o in before.orders} if before else set()
    new = [o for o in after.orders if o.client_order_id not in known]
    drill.runs_that_traded += bool(new)
    # bot.py resumes the replay where the last orders were placed; older candles never return.
    resumed_at = latest_order_date(before)
    replayed = [o.client_order_id for o in new if resumed_at and o.order_date < resumed_at]
    assert not replayed, drill.context(
        f"{where}: orders placed before {resumed_at}, where the replay should resume: "
        f"{replayed}", run)
    half_done = in_flight(after)
    drill.kills_with_orders_resting += bool(half_done.pop("resting", 0))
    drill.left_in_flight += half_done
    drill.kills_with_orders_in_flight += bool(half_done)


async def settle(folder: Path) -> Book:
    """Close every trade at market through the engine on the drilled database, no new entries,
    so the whole session's profit is realized."""
    config = drill_config(folder)
    book = snapshot(folder / "trades.sqlite")
    clock = ManualClock(latest_order_date(book) or DATA_START)
    commands = make_engine(folder, settings_overrides=config, clock=clock)
    await commands.startup()
    await commands.stop()
    await commands.process()
    if commands.status():
        await commands.force_exit("all")
    await commands.process()
    summary, performance = commands.profit(), commands.performance()
    await commands.shutdown()
    settled = snapshot(folder / "trades.sqlite")
    closed = [t for t in settled.trades if not t.is_open]
    profit = sum(t.close_profit_abs or 0.0 for t in closed)
    assert summary.closed_count == len(closed) == summary.trade_count
    assert summary.closed_profit_abs == pytest.approx(profit, abs=1e-12)
    assert sum(p.profit_abs for p in performance) == pytest.approx(profit, abs=1e-12)
    assert sum(p.count for p in performance) == len(closed)
    filled = sum(o.cost for o in settled.orders if o.filled > 0)
    assert summary.trading_volume == pytest.approx(filled, abs=1e-9)
    return settled


@pytest.mark.heavy
async def test_fifty_sigkills_of_the_trading_bot_lose_nothing_and_double_nothing(
        tmp_path: Path) -> None:
    write_config(tmp_path)
    drill = Drill(tmp_path, SEED, plan_kills(SEED, RESTARTS))
    for number, kill in enumerate(drill.kills, 1):
        kill_and_restart(drill, number, kill)

    final = settled_run(tmp_path)
    drill.record("final clean run", final)
    assert final.returncode == 0, drill.context("the final run did not stop cleanly", final)
    book = snapshot(drill.db_file)
    problems = audit(book)
    assert not problems, drill.context("after the last restart:\n" + "\n".join(problems))
    assert drill.kills_with_orders_in_flight >= 5, drill.context(
        f"only {drill.kills_with_orders_in_flight} kills caught an order in flight")
    assert drill.runs_that_traded >= RESTARTS // 2, drill.context(
        f"only {drill.runs_that_traded} of {RESTARTS} runs traded: is the replay stuck?")

    settled = await settle(tmp_path)
    problems = audit(settled)
    assert not problems, drill.context("after closing every trade:\n" + "\n".join(problems))
    closed_profit = sum(t.close_profit_abs or 0.0 for t in settled.trades)
    gained = float(wallet_change(settled))
    assert abs(closed_profit - gained) <= PROFIT_ROUNDING * len(settled.trades), drill.context(
        f"closed profit {closed_profit} but the wallet gained {gained}")
    drill.figures(settled)


async def test_a_trade_killed_between_its_exit_fill_and_its_close_is_closed_on_restart(
        tmp_path: Path) -> None:
    pair = "ETH/BTC"
    clock = ManualClock(DATA_START)
    market = {"entry": "market", "exit": "market", "stoploss": "market",
              "stoploss_on_exchange": False}
    settings = {"exchange": {"pair_whitelist": [pair]}, "stake_amount": 0.05}

    def round_trip() -> Scripted:
        return Scripted(enter={pair: [DATA_START + FIVE * 2]},
                        exit_={pair: [DATA_START + FIVE * 5]}, order_types=market)

    commands = make_engine(tmp_path, settings_overrides=settings, strategy=round_trip(),
                           clock=clock)
    await commands.startup()
    await run_for(commands, clock, 8)
    closed = snapshot(tmp_path / "trades.sqlite")
    (trade,) = closed.trades
    assert not trade.is_open
    # What the database holds when the process dies after the exit fill is recorded and
    # before the trade is closed (two commits).
    schema.init_db(f"sqlite:///{tmp_path / 'trades.sqlite'}")
    Trade.update(is_open=True, close_date=None, close_rate=None, close_profit=None,
                 close_profit_abs=None).execute()

    restarted = make_engine(tmp_path, settings_overrides=settings, strategy=round_trip(),
                            clock=clock)
    await restarted.startup()

    after = snapshot(tmp_path / "trades.sqlite")
    assert not audit(after)
    (again,) = after.trades
    assert not again.is_open
    assert again.close_profit_abs == trade.close_profit_abs
    assert again.close_date == trade.close_date
    assert [o.client_order_id for o in after.orders] == [o.client_order_id for o in closed.orders]
