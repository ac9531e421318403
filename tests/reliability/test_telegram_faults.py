"""Telegram faults: the Bot API down, slow, flood-limited, answering 502, and a second process
polling the same token. Trading goes on meanwhile; the notifications written during the fault
reach the chat once Telegram heals, late but complete, in order and once each.

The real PTB Application runs over tests.fakes.telegram's FakeTelegram, on a real engine trading
the shipped candles on the paper exchange (tests/reliability/chat_rig.py). The outbox sender's
back-off sleeps on the test's clock, so a four-hour outage takes milliseconds.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import signal
import socket
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from store import models
from tests.fakes.telegram import eventually, make_command_update, strip_html
from tests.reliability.chat_rig import (
    assert_chat_is_the_outbox,
    closed_trades,
    open_rig,
    outbox_rows,
)

ROOT = Path(__file__).resolve().parents[2]
FAULTS = [pytest.param("down", marks=pytest.mark.heavy), "slow",
          pytest.param("502", marks=pytest.mark.heavy)]
STEP = re.compile(r".*: (New Trade|Exiting|Exited) .*")


@pytest.mark.parametrize("kind", FAULTS)
async def test_trading_goes_on_while_telegram_fails_and_every_notification_arrives_after(
        tmp_path: Path, kind: str) -> None:
    async with open_rig(tmp_path) as r:
        await r.iterate(2)
        await r.drain()
        before = len(r.tg.texts())
        r.tg.fail(kind, times=None)
        outage_start = r.clock.now()
        await r.iterate(48)  # four hours of candles
        assert closed_trades() >= 3
        assert len(r.tg.texts()) == before
        waiting = r.sender.outbox.count_pending()
        assert waiting >= 9  # entry, exit and exit fill of each round trip
        r.tg.heal()
        await r.drain()
        healed_at = r.clock.now()
    assert_chat_is_the_outbox(r.tg)
    late = outbox_rows()[before:]
    assert len(late) == waiting
    assert all(outage_start <= r.created_at < r.sent_at for r in late)
    assert all(r.sent_at <= healed_at for r in late)
    texts = [strip_html(t).splitlines()[0] for t in r.tg.texts()[before:]]
    for trade in models.Trade.select().where(~models.Trade.is_open):
        titles = [STEP.sub(r"\1", t) for t in texts if f"(#{trade.id})" in t]
        assert titles == ["New Trade", "Exiting", "Exited"]


@pytest.mark.heavy
async def test_a_flood_limit_is_waited_out_for_its_retry_after_and_trading_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # RetryAfter without the v22.2 deprecation
    retry_after = 45
    async with open_rig(tmp_path) as r:
        await r.iterate(3)
        await r.drain()
        before, tried = len(r.tg.texts()), len(r.tg.attempts)
        r.tg.fail("429", times=4, method="sendMessage", retry_after=retry_after)
        await r.iterate(135, step=timedelta(seconds=20))  # 45 minutes: one round trip
        assert closed_trades() == 1
        await r.drain()
    assert_chat_is_the_outbox(r.tg)
    assert len(r.tg.texts()) - before == 3
    attempts = r.tg.attempts[tried:]
    assert len(attempts) == 4 + 3
    refused = attempts[:5]  # each 429 is followed by the next try of the same message
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(refused)]
    assert all(gap >= retry_after for gap in gaps)
    assert r.sleep.waits.count(float(retry_after)) == 4
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.heavy
async def test_a_second_poller_is_reported_once_while_trading_and_notifications_go_on(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with open_rig(tmp_path) as r:
        await r.iterate(2)
        await r.drain()
        app = r.app
        assert app.updater is not None

        r.tg.fail("conflict", method="getUpdates", times=2)
        with caplog.at_level(logging.ERROR, logger="handlers.app"):
            await app.updater.start_polling(error_callback=app.hooks.polling_error,
                                            drop_pending_updates=True)
            await r.iterate(24)  # two hours of candles while the other process polls
            await eventually(lambda: caplog.text.count("another process is polling") >= 2)
            await r.drain()
            await r.tg.updates.put(make_command_update("/count"))
            await eventually(lambda: any("current" in t for t in r.tg.texts()))
            await app.updater.stop()
        assert closed_trades() == 2
    assert caplog.text.count("Telegram refused getUpdates: Conflict") == 2
    notices = [strip_html(t) for t in r.tg.texts() if "conflict" in t]
    assert notices == ["❌ Error: Telegram reports a conflict: another process is polling this "
                       "bot token; stop it (a second copy of the bot, a container or a test run)"
                       ", or commands will not get replies."]
    reply = r.tg.texts()[-1]
    assert "current" in strip_html(reply)
    rows = outbox_rows()
    assert all(row.sent_at is not None for row in rows)
    assert r.tg.texts()[:-1] == [row.text for row in rows]


@pytest.mark.heavy
async def test_a_start_while_telegram_is_unreachable_trades_at_once_and_the_chat_catches_up(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """python-telegram-bot's run_polling retries getMe before its post_init: an engine started
    from there stood still, stops included, for as long as Telegram was down."""
    async with open_rig(tmp_path, wait_for_telegram=False) as r:
        r.tg.fail("down", times=None, method="getMe")
        await r.iterate(12)  # an hour of candles: one round trip
        assert closed_trades() == 1
        assert not r.app.connected.is_set()
        assert r.tg.texts() == []
        assert r.tg.calls.count("getme") >= 1
        r.tg.heal()
        await asyncio.wait_for(r.app.connected.wait(), 10)
        await r.drain()
    assert_chat_is_the_outbox(r.tg)
    titles = [STEP.sub(r"\1", strip_html(t).splitlines()[0]) for t in r.tg.texts()]
    assert titles[-3:] == ["New Trade", "Exiting", "Exited"]
    assert "started" in r.tg.texts()[0].lower() or "DRY-RUN" in r.tg.texts()[0]
    warnings = [m for m in caplog.messages if "cannot reach Telegram" in m]
    assert len(warnings) == 1


@pytest.mark.heavy
async def test_each_kind_of_polling_failure_is_one_warning_line_per_window(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with open_rig(tmp_path) as r:
        app = r.app
        assert app.updater is not None
        r.tg.fail("502", method="getUpdates", times=3)
        with caplog.at_level(logging.WARNING):
            await app.updater.start_polling(error_callback=app.hooks.polling_error,
                                            drop_pending_updates=True)
            await eventually(lambda: r.tg.calls.count("getupdates") >= 4, within=30)
            await app.updater.stop()
    polling = [rec for rec in caplog.records if "polling" in rec.getMessage().lower()]
    assert [rec.levelname for rec in polling] == ["WARNING"]
    assert polling[0].exc_info is None


@pytest.mark.heavy  # the real bot.py trades the offline demo until its first fill: ~10 s
async def test_bot_py_trades_and_stops_on_sigterm_while_telegram_refuses_every_connection(
        tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "config.json").write_text(json.dumps({
        "offline": {"speed": 3000}, "internals": {"process_throttle_secs": 1}}))
    env = {"PATH": "/usr/bin:/bin", "TELEGRAM_TOKEN": "4242:" + "A" * 35,
           "TELEGRAM_CHAT_ID": "111", "TELEGRAM_API_URL": f"http://127.0.0.1:{port}/bot"}
    log = tmp_path / "bot.log"
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bot.py"), "--config", "config.json", "--logfile", str(log),
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await eventually(lambda: log.is_file() and "entry filled" in log.read_text(),
                         within=90)
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(process.communicate(), 30)
    text = log.read_text()
    assert process.returncode == 0, err.decode()[-2000:]
    assert text.count("cannot reach Telegram") == 1
    assert "Telegram reachable" not in text
