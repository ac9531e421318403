"""Drills of the real bot.py in live mode against the fake Binance (tests/reliability/live_bot.py),
with every Telegram connection refused throughout:

- a SIGKILL while a trade is open, the price falling through its stop while the bot is dead:
  the restarted bot sells within one iteration of its start, whatever Telegram does;
- the exchange down (every request 503) when the bot starts: the process stays up all along,
  and it trades in the first iteration after the exchange answers.

The process runs on the wall clock, so the outage lasts 20 s here; the 15 minutes of the
issue run in process on a manual clock (tests/engine/test_exchange_down_at_start.py).
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest

from core.clock import SystemClock
from tests.fakes import FakeExchangeServer, Fault
from tests.fakes.telegram import eventually
from tests.reliability.live_bot import PAIR, THROTTLE, LiveBot, refused_port, write_live_config

STARTED = re.compile(r"engine\.engine: started: LIVE")
OUTAGE = timedelta(seconds=20)


def sides(server: FakeExchangeServer) -> list[str]:
    return [o.side for o in sorted(server.orders(PAIR), key=lambda o: o.order_id)]


@pytest.mark.heavy  # two bot.py start-ups: ~15 s
async def test_after_a_sigkill_with_telegram_refused_the_stop_fires_within_one_iteration(
        tmp_path: Path) -> None:
    port = refused_port()
    async with FakeExchangeServer(SystemClock(), balances={"BTC": "1"},
                                  client_timeout=2.0) as server:
        write_live_config(tmp_path, server)
        first = LiveBot(tmp_path, port)
        await first.start()
        try:
            await eventually(lambda: "entry filled" in first.text(), within=45)
        finally:
            assert await first.stop(signal.SIGKILL) == -signal.SIGKILL
        (entry,) = server.orders(PAIR)
        assert "Telegram reachable" not in first.text()
        server.set_price(PAIR, float(entry.price) * 0.93)  # 7 % down, through the -3 % stop

        second = LiveBot(tmp_path, port)
        second.log = tmp_path / "restart.log"
        await second.start()
        try:
            await eventually(lambda: STARTED.search(second.text()) is not None, within=45)
            started_at = time.monotonic()
            await eventually(lambda: sides(server) == ["BUY", "SELL"], within=10 * THROTTLE)
            sold_after = time.monotonic() - started_at
        finally:
            returncode = await second.stop()
        text = second.text()
    # The first iteration waits for the next whole interval (at most THROTTLE), then fetches
    # candles, tickers and the wallet before it checks the stops: 2.2 s measured.
    assert sold_after <= 2 * THROTTLE + 1.5
    assert returncode == 0
    assert "exit (stop_loss)" in text
    assert "cannot reach Telegram" in text
    assert "Telegram reachable" not in text


@pytest.mark.heavy  # 20 s of outage through bot.py
async def test_bot_py_started_with_the_exchange_down_stays_up_and_trades_once_it_answers(
        tmp_path: Path) -> None:
    clock = SystemClock()
    async with FakeExchangeServer(clock, balances={"BTC": "1"}, client_timeout=2.0) as server:
        server.inject("*", Fault.UNAVAILABLE, duration=OUTAGE)
        healed_at = clock.now() + OUTAGE
        write_live_config(tmp_path, server)
        bot = LiveBot(tmp_path, refused_port())
        await bot.start()
        try:
            while clock.now() < healed_at:
                assert bot.alive, bot.text()[-3000:]
                await asyncio.sleep(0.5)
            assert server.orders() == []
            down_requests = len(server.requests)
            back = time.monotonic()
            await eventually(lambda: sides(server) == ["BUY"], within=30)
            traded_after = time.monotonic() - back
            alive_at_the_end = bot.alive
        finally:
            returncode = await bot.stop()
        text = bot.text()
    # It kept trying all along: start-up attempts 1 s, then 2 s apart (the pause doubles up
    # to 5 minutes), each with its market load's own retries.
    assert down_requests > 5
    # An iteration's market load retries with pauses of 0.5 to 4 s before it gives up: the
    # first one to reach the exchange may start up to 7.5 s after it is back (0.1 s measured).
    assert traded_after <= 10
    assert alive_at_the_end
    assert returncode == 0
    assert text.count("Exchange unavailable at start-up") == 1
    assert STARTED.search(text) is not None
    assert "Traceback" not in text
