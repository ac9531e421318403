"""What a new user met in the chat in their first hour (issue #18, items 4 and 5), checked in
the chat: the replies and notifications through the real Application on the fake Telegram,
with the trades in the database and the orders on the paper exchange behind them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from compose import config_reloader
from core.clock import ManualClock
from core.errors import TemporaryError
from handlers.format import rate
from handlers.notify import TelegramNotifier
from handlers.sender import OutboxSender
from store import models
from store.outbox import Outbox
from tests.factories import make_settings, run_for
from tests.fakes.telegram import OWNER_CHAT, OWNER_ENV, QUIET, Chat, Sent, open_chat, strip_html
from venues.exchange import Ticker
from venues.watched import WatchedExchange


@asynccontextmanager
async def notified_chat(tmp_path: Path, **build: Any) -> AsyncIterator[tuple[Chat, OutboxSender]]:
    """A chat whose engine events arrive in it as they do in a run (outbox, sender)."""
    outbox = Outbox()
    sender = OutboxSender(outbox, OWNER_CHAT)
    notifier = TelegramNotifier(make_settings(QUIET, OWNER_ENV), outbox, sender.wake)
    async with open_chat(tmp_path, notifier=notifier, sender=sender, **build) as chat:
        await asyncio.wait_for(sender.drained(), 10)
        yield chat, sender


async def everything_after(chat: Chat, sender: OutboxSender, text: str) -> list[str]:
    """The plain text of every message the chat got for `text`, notifications included."""
    before = len(chat.tg.messages)
    await chat.send(text)
    await asyncio.wait_for(sender.drained(), 10)
    return [strip_html(m.text) for m in chat.tg.messages[before:]]


def paper_orders() -> list[models.PaperOrder]:
    return list(models.PaperOrder.select().order_by(models.PaperOrder.created_at))


# --- item 4: a forced entry or exit right after start ----------------------------------------


async def test_forceenter_right_after_start_fetches_its_own_price() -> None:
    async with open_chat() as chat:
        assert chat.commands.engine.last_process is None  # no iteration has run

        assert await chat.say("/forceenter ETH/BTC") == "Entering ETH/BTC: trade #1."

        assert [(o.side, o.pair) for o in paper_orders()] == [("buy", "ETH/BTC")]
        assert chat.commands.store.trade(1).amount > 0


async def test_forceexit_right_after_a_restart_fetches_its_own_price(tmp_path: Path) -> None:
    async with open_chat(tmp_path) as chat:
        await run_for(chat.commands, chat.commands.engine.clock, 1)
        assert await chat.say("/forceenter ETH/BTC") == "Entering ETH/BTC: trade #1."

    async with open_chat(tmp_path) as chat:
        assert chat.commands.engine.last_process is None  # no iteration has run

        assert await chat.say("/forceexit 1") == "Exiting trade(s) #1."

        assert sorted((o.side, o.pair) for o in paper_orders()) == [("buy", "ETH/BTC"),
                                                                    ("sell", "ETH/BTC")]
        assert [o.ft_order_side for o in chat.commands.store.orders_of(1)] == ["buy", "sell"]


class TickersTimingOut(WatchedExchange):
    """The venue, but its ticker requests time out (after the venue classified them)."""

    async def fetch_tickers(self, pairs: list[str]) -> dict[str, Ticker]:
        raise TemporaryError("RequestTimeout: binance GET /api/v3/ticker/bookTicker")


async def test_a_forced_entry_whose_price_fetch_fails_says_so_and_enters_nothing() -> None:
    async with open_chat(wrap=TickersTimingOut) as chat:
        reply = await chat.say("/forceenter ETH/BTC")

        assert reply == ("The exchange did not answer: RequestTimeout: binance GET "
                         "/api/v3/ticker/bookTicker")
        assert chat.commands.store.open_trades() == []
        assert paper_orders() == []


# --- item 5 ----------------------------------------------------------------------------------


async def test_status_of_a_closed_trade_shows_the_amount_it_traded() -> None:
    async with open_chat() as chat:
        await run_for(chat.commands, chat.commands.engine.clock, 1)
        await chat.say("/forceenter ETH/BTC")
        entry = chat.commands.store.orders_of(1)[0]
        bought = entry.filled - entry.fee_base
        assert bought > 0
        await chat.say("/forceexit 1")
        await run_for(chat.commands, chat.commands.engine.clock, 1)
        assert not chat.commands.store.trade(1).is_open

        text = await chat.say("/status 1")

        assert f"Amount: {rate(bought)} ETH" in text
        assert "Amount: 0 " not in text


async def test_the_entry_notice_of_a_limit_entry_shows_the_limit_as_open_rate_and_the_market_as_current(  # noqa: E501
        tmp_path: Path) -> None:
    async with notified_chat(tmp_path) as (chat, sender):
        await run_for(chat.commands, chat.commands.engine.clock, 1)
        market = (await chat.commands.engine.exchange.fetch_tickers(["ETH/BTC"]))["ETH/BTC"]
        limit = 0.04
        assert market.ask > 2 * limit  # so the entry stays open at its limit

        texts = await everything_after(chat, sender, f"/forceenter ETH/BTC {limit}")

        (notice,) = [t for t in texts if "New Trade (#1)" in t]
        assert f"Open Rate: {rate(limit)}" in notice
        current = chat.commands.engine.pricer.entry_rate("ETH/BTC", market)
        assert f"Current Rate: {rate(current)}" in notice


async def test_state_commands_reply_once(tmp_path: Path) -> None:
    reloader = config_reloader(lambda: make_settings(QUIET, OWNER_ENV))
    async with notified_chat(tmp_path, reloader=reloader) as (chat, sender):
        for command, reply in [("/stopentry", "Paused: "), ("/start", "Running: "),
                               ("/pause", "Paused: "), ("/reload", "Config reloaded")]:
            texts = await everything_after(chat, sender, command)
            assert len(texts) == 1, (command, texts)
            assert texts[0].startswith(reply)

        (question,) = await chat.send("/stop")
        before = len(chat.tg.messages)
        answers = await chat.press(question.buttons[0][1], question)
        await asyncio.wait_for(sender.drained(), 10)

        assert [strip_html(a.text)[:8] for a in answers] == ["Stopped:"]
        assert chat.tg.messages[before:] == []
        assert chat.commands.state == "stopped"


class TickingClock(ManualClock):
    """Moves a minute at every reading, as the demo's sped-up clock moves while the bot is
    put together before its start-up."""

    def now(self) -> datetime:
        self.advance(timedelta(minutes=1))
        return super().now()


def _health_times(reply: Sent) -> dict[str, str]:
    lines = strip_html(reply.text).splitlines()
    return {k: v.strip() for k, v in (line.split(":", 1) for line in lines)
            if k in ("Bot started", "Last restart")}


async def test_health_shows_the_last_restart_at_or_after_the_bots_start(tmp_path: Path) -> None:
    from tests.factories import DATA_START

    starts = []
    for _run in range(2):
        clock = TickingClock(DATA_START + timedelta(hours=len(starts)))
        async with open_chat(tmp_path, clock=clock) as chat:
            (reply,) = await chat.send("/health")
            starts.append(_health_times(reply))

    first, second = starts
    assert first["Last restart"] == first["Bot started"]
    assert second["Bot started"] == first["Bot started"]
    assert second["Last restart"] > second["Bot started"]
