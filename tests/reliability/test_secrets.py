"""Secrets never leave the process: a session with known fake secrets (Telegram token,
exchange key, secret and password), trading, failing and crashing, is scanned afterwards.

Scanned: every log record at DEBUG (the ccxt, httpx, telegram and aiohttp loggers included,
message and traceback), every chat message, edit and button answer, the SQLite file with its
WAL, the /show_config and /logs replies, and the output of the real bot.py process when
Telegram refuses its token. Neither a secret nor any 6-character piece of one may appear, so
a masked form that keeps its first or last characters is caught too.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from telegram.ext import AIORateLimiter

from core.clock import ManualClock
from handlers.app import TICK_JOB
from handlers.logbuffer import LogBuffer, shield
from store import models
from tests.fakes import FakeExchangeServer, Fault
from tests.fakes.telegram import Chat, eventually
from tests.reliability.test_live_gate import bot_on_fake_binance, fake_binance_config

BOT_ID = "8190375462"
TOKEN_SECRET = "AAHqZkXwVbNmLpRtYsJdGfHcKuEoIaPzTxQ"
SECRETS = {
    "TELEGRAM_TOKEN": f"{BOT_ID}:{TOKEN_SECRET}",
    "EXCHANGE_API_KEY": "KqWxZvBnMlPoIuYtReWqAsDfGhJkLzXcVbN",
    "EXCHANGE_API_SECRET": "SmNbVcXzLkJhGfDsApOiUyTrEwQqWeRtYuI",
    "EXCHANGE_PASSWORD": "PwQaZxSwEdCvFrTgBnHyUjMkIoLp",
}
ENV = {**SECRETS, "TELEGRAM_CHAT_ID": "111"}
START = datetime(2018, 1, 20, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
LOUD = ("", "ccxt", "httpx", "telegram", "aiohttp", "apscheduler", "peewee")


def pieces() -> set[str]:
    """Each secret, and every 6-character piece of its secret part (the bot id before the
    token's colon is public: it is the bot's user id)."""
    found = set(SECRETS.values())
    for value in (TOKEN_SECRET, *list(SECRETS.values())[1:]):
        found |= {value[i:i + 6] for i in range(len(value) - 5)}
    return found


def leaks(text: str) -> list[str]:
    return sorted(piece for piece in pieces() if piece in text)


def log_text(caplog: pytest.LogCaptureFixture) -> Iterator[str]:
    formatter = logging.Formatter()
    for record in caplog.records:
        yield f"{record.name} {record.getMessage()}"
        if record.exc_info:
            yield formatter.formatException(record.exc_info)
        if record.exc_text:
            yield record.exc_text


def chat_text(chat: Chat) -> Iterator[str]:
    tg = chat.tg
    yield from (m.text + str(m.reply_markup) for m in tg.messages + tg.edits)
    yield from (str(a) for a in tg.answers)


def database_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.glob("*.sqlite*")))


async def tick(chat: Chat, clock: ManualClock, count: int = 1) -> None:
    """Iterations through the application's own job, so a failing one is handled as in a run."""
    (job,) = chat.app.job_queue.get_jobs_by_name(TICK_JOB)
    for _ in range(count):
        clock.advance(timedelta(minutes=5))
        await job.run(chat.app)


async def session(chat: Chat, server: FakeExchangeServer, live: bool) -> list[str]:
    """Trades, refusals, exchange faults and a crashing iteration; the replies to read."""
    clock = server.clock
    assert isinstance(clock, ManualClock)
    await tick(chat, clock)
    said = [await chat.say("/forceenter ETH/BTC"), await chat.say("/forceenter LTC/BTC")]
    if live:
        for order in server.orders():
            server.fill(order.order_id)
    server.inject("/api/v3/klines", Fault.SERVER_ERROR)
    server.inject("/api/v3/ticker/bookTicker", Fault.RATE_LIMITED)
    server.inject("/api/v3/account", Fault.INVALID_API_KEY, times=2)
    await tick(chat, clock, 3)
    for command in ("/status", "/balance", "/profit", "/health", "/forceexit 1", "/fx 99",
                    "/forceenter NOPE/BTC", "/unlock x", "/trades", "/version"):
        said.append(await chat.say(command))
    server.inject("/api/v3/order", Fault.TIMEOUT_AFTER_RECORD, method="POST")
    said.append(await chat.say("/forceexit 2"))
    await tick(chat, clock, 2)
    models.db.execute_sql("DROP TABLE pairlocks")
    said.append(await chat.say("/unlock ETH/BTC"))  # a command that crashes: the error handler
    await tick(chat, clock)  # the locks are read again (an unlock was tried): it crashes too
    said += [await chat.say("/show_config"), await chat.say("/logs 100")]
    await eventually(lambda: not models.OutboxMessage.select().where(
        models.OutboxMessage.sent_at.is_null()).exists())
    return said


@pytest.mark.parametrize("live", [False, pytest.param(True, marks=pytest.mark.heavy)],
                         ids=["dry-run", "live"])
async def test_a_session_with_trades_errors_and_a_crash_shows_no_secret_anywhere(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, live: bool) -> None:
    for name in LOUD:
        caplog.set_level(logging.DEBUG, logger=name)
    buffer = LogBuffer(list(SECRETS.values()), level=logging.DEBUG)
    logging.getLogger().addHandler(buffer)
    try:
        async with FakeExchangeServer(ManualClock(START), balances={"BTC": 10, "ETH": 1}) as server:
            config = fake_binance_config(server, not live)
            async with bot_on_fake_binance(
                    server, config, ENV, f"sqlite:///{tmp_path / 'trades.sqlite'}",
                    log_buffer=buffer, rate_limiter=AIORateLimiter(overall_max_rate=0)) as chat:
                said = await session(chat, server, live)
                shown, logs = said[-2], said[-1]
                texts = list(chat_text(chat))
    finally:
        logging.getLogger().removeHandler(buffer)
    assert ("LIVE" if live else "DRY-RUN") in shown
    assert "OperationalError" in logs  # the crash is in /logs, with its message
    assert any("An iteration failed" in t for t in texts)  # and reported to the owner
    assert leaks(shown) == []
    assert leaks(logs) == []
    assert leaks("\n".join(texts)) == []
    assert leaks("\n".join(log_text(caplog))) == []
    assert leaks(database_bytes(tmp_path).decode("latin-1")) == []
    assert len(caplog.records) > 100  # DEBUG was on: the scan read the chatter too


async def _unauthorized(_request: web.Request) -> web.Response:
    return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"},
                             status=401)


@pytest.mark.heavy
async def test_bot_refused_by_telegram_exits_with_one_line_and_no_secret(
        tmp_path: Path) -> None:
    """The real process at -vv, its token refused by a local Bot API: python-telegram-bot logs
    the API URL (token included) at DEBUG, then logs and raises InvalidToken quoting it."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _unauthorized)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    env = {"PATH": "/usr/bin:/bin", **ENV, "TELEGRAM_API_URL": f"http://127.0.0.1:{port}/bot"}
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "bot.py"), "-vv", "--logfile", str(tmp_path / "bot.log"),
            cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        await runner.cleanup()
    output = (out + err).decode() + (tmp_path / "bot.log").read_text(encoding="utf-8")
    assert process.returncode == 2
    assert err.decode().strip().splitlines()[-1] == (
        "tradepilot: TELEGRAM_TOKEN: Telegram rejected the token; expected the token "
        "@BotFather gave for this bot")
    assert "DEBUG" in output  # -vv was on
    assert "Telegram refused the bot: InvalidToken" in output  # its message, redacted
    assert leaks(output) == []
    assert leaks(database_bytes(tmp_path).decode("latin-1")) == []


def test_a_shielded_handler_writes_messages_and_tracebacks_with_secrets_replaced() -> None:
    """What bot.py puts on its stderr and file handlers, for any library's record."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    shield(handler, list(SECRETS.values()))
    shield(handler, list(SECRETS.values()))  # rebuilt on reload: still one filter
    log = logging.getLogger("some.library")
    log.addHandler(handler)
    try:
        log.warning("GET /bot%s/getMe failed", SECRETS["TELEGRAM_TOKEN"])
        try:
            _refuse_key()
        except ValueError:
            log.exception("signed request with secret %s", SECRETS["EXCHANGE_API_SECRET"])
    finally:
        log.removeHandler(handler)
    written = stream.getvalue()
    assert len(handler.filters) == 1
    assert "Traceback" in written
    assert written.count("***") == 3
    assert leaks(written) == []


def _refuse_key() -> None:
    raise ValueError(f"key {SECRETS['EXCHANGE_API_KEY']} refused")
