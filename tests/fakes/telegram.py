"""A fake Telegram Bot API at the transport seam, for the REAL python-telegram-bot Application.

    from tests.fakes.telegram import FakeTelegram, make_command_update, make_callback_update

    tg = FakeTelegram()
    app = build_application(settings, commands, request=tg, get_updates_request=tg)
    async with running(app):                          # engine started, Telegram connected
        await drive(app, make_command_update("/status", chat_id, user_id))
        assert "No open trades" in tg.texts()[-1]

What it answers: getMe, sendMessage, editMessageText, sendPhoto, answerCallbackQuery,
setMyCommands, deleteWebhook, getUpdates (from `tg.updates`); anything else answers True.
Every call is recorded. Messages are checked like Telegram checks them in HTML parse mode
(only Telegram's tags, balanced, every < > & escaped, at most 4096 characters of text), and a
bad one is refused with the same 400 "can't parse entities" that Telegram sends.

Failure injection: `tg.fail("down")` (connection refused -> NetworkError), "timeout"
(TimedOut), "429" (RetryAfter `retry_after`), "502" (HTML error page -> NetworkError),
"conflict" (409 Conflict, for getUpdates), "bad_request" (400), "slow" (no answer within the
read timeout: `tg.slow_seconds` of real time, then TimedOut, the request not taken); `times`
limits how many calls fail (None = until `tg.heal()`), `method` limits which Bot API method
fails. `tg.delay` makes every call slow.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.error import TimedOut
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from handlers.runner import ChatApp

if TYPE_CHECKING:
    from store.store import Store

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "tradepilot", "username": "tradepilot_bot"}
OWNER_CHAT = 111
OWNER_USER = 111
STRANGER = 666
_ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                 "span", "tg-spoiler", "blockquote", "tg-emoji"}
_TOKEN = re.compile(r"<(/?)([a-zA-Z-]+)([^<>]*)>|&(?:[a-z]+|#[0-9]+|#x[0-9a-fA-F]+);|[<>&]")
_ids = itertools.count(1)


@dataclass
class Sent:
    """One message as the chat would show it."""

    method: str
    chat_id: int
    message_id: int
    text: str
    reply_markup: dict[str, Any] | None = None
    silent: bool = False
    photo: bytes | None = None
    at: float = field(default_factory=time.perf_counter)  # when the fake Telegram took it

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of every inline button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


@dataclass
class _Fault:
    kind: str
    times: int | None
    method: str | None
    retry_after: int
    description: str


class FakeTelegram(BaseRequest):
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.slow_seconds = 0.02  # how long a "slow" fault keeps the caller waiting
        self.messages: list[Sent] = []  # sendMessage and sendPhoto, in order
        self.edits: list[Sent] = []
        self.answers: list[dict[str, Any]] = []
        self.commands: list[list[dict[str, Any]]] = []
        self.calls: list[str] = []
        self.updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._faults: list[_Fault] = []

    # --- test controls ----------------------------------------------------------------------

    def fail(self, kind: str, *, times: int | None = 1, method: str | None = None,
             retry_after: int = 3, description: str = "Bad Request: chat not found") -> None:
        self._faults.append(_Fault(kind, times, method and method.lower(), retry_after,
                                   description))

    def heal(self) -> None:
        self._faults.clear()

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [m.text for m in self.messages if chat_id is None or m.chat_id == chat_id]

    def last(self) -> Sent:
        return self.messages[-1]

    # --- BaseRequest ------------------------------------------------------------------------

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None,
                         connect_timeout: Any = None, pool_timeout: Any = None,
                         ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1].lower()
        self.calls.append(endpoint)
        if self.delay:
            await asyncio.sleep(self.delay)
        params = dict(request_data.parameters) if request_data else {}
        fault = self._fault_for(endpoint)
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(self.slow_seconds)
            raise TimedOut("Timed out")
        if fault is not None:
            return self._raise_or_answer(fault)
        if endpoint == "getupdates":
            return await self._get_updates(params)
        return self._answer(endpoint, params, request_data)

    def _fault_for(self, endpoint: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method and fault.method != endpoint:
                continue
            if fault.method is None and endpoint == "getme":
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
            return fault
        return None

    @staticmethod
    def _raise_or_answer(fault: _Fault) -> tuple[int, bytes]:
        if fault.kind == "down":
            raise OSError("[Errno 111] Connection refused")
        if fault.kind == "timeout":
            raise TimedOut("Timed out")
        if fault.kind == "429":
            return _error(429, f"Too Many Requests: retry after {fault.retry_after}",
                          {"retry_after": fault.retry_after})
        if fault.kind == "502":
            return 502, b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        if fault.kind == "conflict":
            return _error(409, "Conflict: terminated by other getUpdates request; make sure "
                               "that only one bot instance is running")
        return _error(400, fault.description)

    async def _get_updates(self, params: dict[str, Any]) -> tuple[int, bytes]:
        """Long polling, shortened to 50 ms so that stopping the updater is quick."""
        wait = min(float(params.get("timeout", 0) or 0), 0.05)
        try:
            first = await asyncio.wait_for(self.updates.get(), wait or 0.001)
        except TimeoutError:
            return _ok([])
        found = [first]
        while not self.updates.empty():
            found.append(self.updates.get_nowait())
        return _ok(found)

    def _answer(self, endpoint: str, params: dict[str, Any],
                data: RequestData | None) -> tuple[int, bytes]:
        if endpoint == "getme":
            return _ok(BOT_USER)
        if endpoint in ("sendmessage", "editmessagetext"):
            problem = html_problem(str(params.get("text", "")))
            if problem and params.get("parse_mode") == "HTML":
                return _error(400, f"Bad Request: can't parse entities: {problem}")
            return _ok(self._record_text(endpoint, params))
        if endpoint == "sendphoto":
            return _ok(self._record_photo(params, data))
        if endpoint == "answercallbackquery":
            self.answers.append(params)
        if endpoint == "setmycommands":
            self.commands.append(list(params.get("commands", [])))
        return _ok(True)

    def _record_text(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
        edited = endpoint == "editmessagetext"
        sent = Sent(endpoint, int(params.get("chat_id", 0)),
                    int(params["message_id"]) if edited else next(_ids), str(params["text"]),
                    params.get("reply_markup"), bool(params.get("disable_notification")))
        (self.edits if edited else self.messages).append(sent)
        return _message_json(sent)

    def _record_photo(self, params: dict[str, Any], data: RequestData | None) -> dict[str, Any]:
        files = data.multipart_data if data else {}
        content = next((c for _n, (_f, c, _m) in files.items() if isinstance(c, bytes)), b"")
        sent = Sent("sendphoto", int(params.get("chat_id", 0)), next(_ids),
                    str(params.get("caption", "")), photo=content)
        self.messages.append(sent)
        message = _message_json(sent)
        message["photo"] = [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]
        return message


def html_problem(text: str) -> str | None:
    """What Telegram would refuse in an HTML-mode message, or None when it is fine."""
    stack: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token in "<>&":
            return f"unescaped {token!r} at byte offset {match.start()}"
        if match.group(2) is None:
            continue
        name = match.group(2).lower()
        if name not in _ALLOWED_TAGS:
            return f"unsupported start tag {name!r} at byte offset {match.start()}"
        if not match.group(1):
            stack.append(name)
        elif not stack or stack.pop() != name:
            return f"can't find end tag corresponding to start tag {name!r}"
    if stack:
        return f"can't find end tag corresponding to start tag {stack[-1]!r}"
    if len(html.unescape(re.sub(r"<[^>]+>", "", text))) > 4096:
        return "message is too long"
    return None


def _ok(result: Any) -> tuple[int, bytes]:
    return 200, json.dumps({"ok": True, "result": result}).encode()


def _error(code: int, description: str, parameters: dict[str, Any] | None = None
           ) -> tuple[int, bytes]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, json.dumps(body).encode()


def _chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "private" if chat_id > 0 else "group",
            **({"first_name": "owner"} if chat_id > 0 else {"title": "group"})}


def _message_json(sent: Sent) -> dict[str, Any]:
    message: dict[str, Any] = {"message_id": sent.message_id, "date": int(time.time()),
                               "chat": _chat(sent.chat_id), "from": BOT_USER, "text": sent.text}
    if sent.reply_markup:
        message["reply_markup"] = sent.reply_markup
    return message


# --- updates as Telegram sends them ----------------------------------------------------------


def make_command_update(text: str, chat_id: int = OWNER_CHAT, user_id: int = OWNER_USER, *,
                        edited: bool = False, forwarded: bool = False) -> dict[str, Any]:
    """The JSON of a message update carrying a bot command typed by `user_id` in `chat_id`."""
    command = text.split()[0] if text.startswith("/") else ""
    message: dict[str, Any] = {
        "message_id": next(_ids), "date": int(time.time()), "chat": _chat(chat_id),
        "from": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"}, "text": text,
    }
    if command:
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    if forwarded:
        message["forward_origin"] = {"type": "user", "date": int(time.time()),
                                     "sender_user": {"id": 5, "is_bot": False, "first_name": "x"}}
    key = "edited_message" if edited else "message"
    if edited:
        message["edit_date"] = int(time.time())
    return {"update_id": next(_ids), key: message}


def make_callback_update(data: str, message: Sent, user_id: int = OWNER_USER,
                         chat_id: int | None = None) -> dict[str, Any]:
    """The JSON of a button press on a message the bot sent (`message` from `tg.messages`)."""
    carrier = _message_json(message)
    if chat_id is not None:
        carrier["chat"] = _chat(chat_id)
    return {"update_id": next(_ids), "callback_query": {
        "id": str(next(_ids)), "chat_instance": "fake", "data": data, "message": carrier,
        "from": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"},
    }}


async def drive(app: Application[Any, Any, Any, Any, Any, Any], data: dict[str, Any]) -> None:
    """Process one update JSON through the whole application, handlers and error handler."""
    await app.process_update(Update.de_json(data, app.bot))


@asynccontextmanager
async def running(app: ChatApp) -> AsyncIterator[None]:
    """The bot's own life cycle (`ChatApp.lifecycle`) without polling: the engine started,
    Telegram connected (waited for), then everything stopped and closed on the way out."""
    async with app.lifecycle(poll=False) as connector:
        connected = asyncio.ensure_future(app.connected.wait())
        await asyncio.wait({connector, connected}, return_when=asyncio.FIRST_COMPLETED)
        connected.cancel()
        if connector.done():
            connector.result()
        yield


class Chat:
    """The owner's phone, driving a built Application over a FakeTelegram.

        chat = Chat(app, tg)
        replies = await chat.send("/status")            # the messages the bot sent back
        await chat.press("fx:1", replies[-1])           # press a button on one of them
    """

    def __init__(self, app: Application[Any, Any, Any, Any, Any, Any], tg: FakeTelegram,
                 chat_id: int = OWNER_CHAT, user_id: int = OWNER_USER) -> None:
        self.app = app
        self.tg = tg
        self.chat_id = chat_id
        self.user_id = user_id
        self.commands: Any = None

    async def send(self, text: str, *, chat_id: int | None = None, user_id: int | None = None,
                   edited: bool = False, forwarded: bool = False) -> list[Sent]:
        before = len(self.tg.messages)
        await drive(self.app, make_command_update(
            text, self.chat_id if chat_id is None else chat_id,
            self.user_id if user_id is None else user_id, edited=edited, forwarded=forwarded))
        return self.tg.messages[before:]

    async def say(self, text: str) -> str:
        """The plain text of everything the bot answered to `text`, parts joined."""
        return "\n".join(strip_html(m.text) for m in await self.send(text))

    async def press(self, data: str, message: Sent | None = None, *,
                    user_id: int | None = None, chat_id: int | None = None) -> list[Sent]:
        """Press a button; returns the edits and new messages it caused."""
        edits, before = len(self.tg.edits), len(self.tg.messages)
        carrier = message or self.tg.messages[-1]
        await drive(self.app, make_callback_update(
            data, carrier, self.user_id if user_id is None else user_id, chat_id))
        return self.tg.edits[edits:] + self.tg.messages[before:]


def strip_html(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


TOKEN = "123456:SECRET-TEST-TOKEN"
OWNER_ENV = {"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": str(OWNER_CHAT)}
# No tick job during a test unless the test runs iterations itself.
QUIET = {"internals": {"process_throttle_secs": 3600}}


@asynccontextmanager
async def open_chat(tmp_path: Any = None, overrides: dict[str, Any] | None = None,
                    tg: FakeTelegram | None = None, env: dict[str, str] | None = None,
                    **build: Any) -> AsyncIterator[Chat]:
    """A factory engine (tests/factories.py) behind a running Application on a FakeTelegram.

    `overrides` are config keys on top of QUIET, `env` replaces OWNER_ENV; `build` goes to
    build_application (notifier, sender, log_buffer, monotonic, ...), but for `reloader`,
    `clock`, `strategy` and `wrap`, which go to make_engine. The chat's `.commands`
    is the engine's command API; the chat speaks as the owner of `env`.
    """
    from handlers.app import build_application
    from tests.factories import make_engine

    commands = make_engine(tmp_path, settings_overrides={**QUIET, **(overrides or {})},
                           env=env or OWNER_ENV, notifier=build.pop("notifier", None),
                           reloader=build.pop("reloader", None), clock=build.pop("clock", None),
                           strategy=build.pop("strategy", None), wrap=build.pop("wrap", None))
    tg = tg or FakeTelegram()
    engine = commands.engine
    app = build_application(engine.settings, commands, request=tg, get_updates_request=tg,
                            clock=engine.clock, notifier=engine.notifier, **build)
    chat = Chat(app, tg, engine.settings.telegram_chat_id or OWNER_CHAT)
    chat.commands = commands
    async with running(app):
        yield chat


def seed_trades(store: Store, count: int, *, is_open: bool, start: datetime,
                pairs: Sequence[str], stake_currency: str = "BTC") -> None:
    """Insert `count` trades with their filled orders straight into `store`'s database (bulk
    data for long replies and benchmarks), then make the store read what it holds again: the
    engine sees them as it sees its own."""
    from peewee import fn

    from store import models

    trades, orders = [], []
    first_id = (models.Trade.select(fn.MAX(models.Trade.id)).scalar() or 0) + 1
    for n in range(count):
        pair = pairs[n % len(pairs)]
        opened = start + timedelta(minutes=5 * n)
        rate = 0.05 + 0.0001 * (n % 50)
        close = rate * (1.02 if n % 3 else 0.98)
        row = dict(id=first_id + n, exchange="offline", pair=pair, strategy="SampleStrategy",
                   base_currency=pair.split("/")[0], stake_currency=stake_currency,
                   timeframe=5, is_open=is_open, open_date=opened, open_rate=rate, amount=1.0,
                   stake_amount=rate, max_stake_amount=rate, open_trade_value=rate * 1.001,
                   fee_open=0.001, fee_close=0.001, stop_loss=rate * 0.9, stop_loss_pct=-0.1,
                   initial_stop_loss=rate * 0.9, initial_stop_loss_pct=-0.1)
        if not is_open:
            profit = round(close * 0.999 - rate * 1.001, 8)
            row.update(close_date=opened + timedelta(hours=1), close_rate=close,
                       exit_reason="roi", close_profit=profit / (rate * 1.001),
                       close_profit_abs=profit, realized_profit=profit)
        trades.append(row)
        sides = ("buy",) if is_open else ("buy", "sell")
        orders += [dict(trade=first_id + n, client_order_id=f"seed-{first_id + n}-{side}",
                        ft_order_side=side, ft_pair=pair, ft_amount=1.0, ft_price=price,
                        status="filled", order_type="limit", side=side, price=price, amount=1.0,
                        filled=1.0, remaining=0.0, average=price, cost=price, order_date=opened)
                   for side, price in zip(sides, (rate, close), strict=False)]
    with models.db.atomic():
        for batch in range(0, len(trades), 500):
            models.Trade.insert_many(trades[batch:batch + 500]).execute()
        for batch in range(0, len(orders), 500):
            models.Order.insert_many(orders[batch:batch + 500]).execute()
    store.forget()


async def eventually(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait until `condition()` holds, for state that other libraries change (no event to await)."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.02)
