"""Owner-only control, attacked with generated updates: Telegram update JSON from other chats,
other members of the owner's group, forwarded and edited messages, channel and business
posts, inline queries, membership changes and button presses with forged callback data, for
every command of the command table, fed to the real PTB Application over a FakeTelegram.

None of them has an effect: the database (trades, orders, locks, outbox, paper orders, keys)
is the same row for row, the engine's state, blacklist and pending confirmations are the
same, and nobody gets a reply. The one thing the design allows is the owner's own press of a
stale or forged button: it is answered, and its message says the button is no longer valid
(or shows the refusal), with no effect either.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram.ext import AIORateLimiter

from handlers.context import bot_context
from handlers.table import COMMANDS
from store import models
from tests.factories import DATA_START, run_for
from tests.fakes.telegram import (
    BOT_USER,
    OWNER_CHAT,
    OWNER_ENV,
    TOKEN,
    Chat,
    drive,
    open_chat,
    seed_trades,
)

GROUP = -1001234567890
GROUP_ENV = {"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": str(GROUP)}
ANONYMOUS_ADMIN = 1087968824  # Telegram's GroupAnonymousBot, the sender of anonymous admins
NAMES = sorted({n for c in COMMANDS for n in (c.name, *c.aliases)})
# Arguments that WOULD act for the owner in the prepared state (trades #1, #2 open, #3 closed,
# a lock on NXT/BTC): a stranger's copy must still do nothing.
EFFECTIVE_ARGS: dict[str, list[str]] = {
    "forceenter": ["XLM/BTC", "ADA", ""], "forcebuy": ["XLM/BTC"],
    "forceexit": ["1", "all", ""], "fx": ["2", "all"],
    "cancel_open_order": ["1"], "coo": ["2"], "delete": ["3"],
    "unlock": ["NXT/BTC", "1"], "blacklist": ["XLM/BTC", ""], "status": ["", "1 2", "table"],
    "trades": ["5"], "profit": ["3"], "logs": ["20"], "chart": ["7"],
}
TABLES = (models.Trade, models.Order, models.PairLock, models.OutboxMessage,
          models.PaperOrder, models.KeyValue)
_ids = itertools.count(10_000)


class Monotonic:
    """The confirmations' clock, moved by the test to expire a token."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Prepared:
    chat: Chat
    owner_chat: int
    owner_user: int
    valid_token: str = ""  # a pending /delete 3 confirmation
    expired_token: str = ""  # a /stop confirmation past its lifetime
    used_token: str = ""  # a confirmation already pressed (its Cancel)
    carrier: dict[str, Any] = field(default_factory=dict)  # the /forceexit picker's JSON
    monotonic: Monotonic = field(default_factory=Monotonic)

    def state(self) -> tuple[Any, ...]:
        engine = self.chat.commands.engine
        pending = bot_context(self.chat.app).confirmations._pending
        live = sorted(t for t, p in pending.items() if p.expires > self.monotonic())
        rows = tuple(tuple(t.select().order_by(t._meta.primary_key).tuples())
                     for t in TABLES)
        return rows, engine.run_state.state, engine.run_state.blacklist, tuple(live)

    def outgoing(self) -> tuple[int, int, int]:
        tg = self.chat.tg
        return len(tg.messages), len(tg.edits), len(tg.answers)


# --- update JSON as Telegram sends it ---------------------------------------------------------


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"}


def _chat(chat_id: int, kind: str) -> dict[str, Any]:
    if kind == "private":
        return {"id": chat_id, "type": kind, "first_name": f"user{chat_id}"}
    return {"id": chat_id, "type": kind, "title": f"chat{chat_id}"}


def _message(text: str, chat: dict[str, Any], sender: int | None,
             **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"message_id": next(_ids), "date": int(time.time()),
                               "chat": chat, "text": text, **extra}
    if sender is not None:
        message["from"] = _user(sender)
    word = text.split()[0] if text.split() else ""
    if word.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(word)}]
    return message


def _update(key: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"update_id": next(_ids), key: payload}


@st.composite
def command_text(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(NAMES))
    args = draw(st.sampled_from(EFFECTIVE_ARGS.get(name, [""])) | st.text(max_size=12))
    mention = draw(st.sampled_from(["", "@" + BOT_USER["username"], "@other_bot"]))
    return f"/{name}{mention} {args}".strip()


FORWARD_ORIGINS = [
    {"type": "user", "sender_user": _user(OWNER_CHAT)},
    {"type": "hidden_user", "sender_user_name": "someone"},
    {"type": "chat", "sender_chat": _chat(GROUP, "supergroup")},
    {"type": "channel", "chat": _chat(-1009, "channel"), "message_id": 5},
]
STRANGER_IDS = st.integers(1, 10**10).filter(lambda i: i != OWNER_CHAT)
GROUP_IDS = st.integers(-10**13, -1).filter(lambda i: i != GROUP)


def message_from_elsewhere(prep: Prepared) -> st.SearchStrategy[dict[str, Any]]:
    """A command typed in a chat that is not the owner's, by anyone (the owner included)."""
    private = st.builds(lambda uid, text: _update("message", _message(
        text, _chat(uid, "private"), uid)), STRANGER_IDS, command_text())
    groups = st.builds(lambda cid, kind, uid, text: _update("message", _message(
        text, _chat(cid, kind), uid)), GROUP_IDS.filter(lambda c: c != prep.owner_chat),
        st.sampled_from(["group", "supergroup"]), STRANGER_IDS | st.just(prep.owner_user),
        command_text())
    return private | groups


def ignored_from_owner(prep: Prepared) -> st.SearchStrategy[dict[str, Any]]:
    """Forwarded and edited commands, channel and business posts in the owner's chat."""
    owner = _chat(prep.owner_chat, "private" if prep.owner_chat > 0 else "supergroup")
    forwarded = st.builds(lambda text, origin: _update("message", _message(
        text, owner, prep.owner_user, forward_origin={**origin, "date": 1})),
        command_text(), st.sampled_from(FORWARD_ORIGINS))
    edited = st.builds(lambda text: _update("edited_message", _message(
        text, owner, prep.owner_user, edit_date=int(time.time()))), command_text())
    channel = st.builds(lambda key, cid, text: _update(key, _message(
        text, _chat(cid, "channel"), None, sender_chat=_chat(cid, "channel"))),
        st.sampled_from(["channel_post", "edited_channel_post"]),
        st.just(prep.owner_chat) | GROUP_IDS, command_text())
    business = st.builds(lambda text: _update("business_message", _message(
        text, owner, prep.owner_user, business_connection_id="conn")), command_text())
    return forwarded | edited | channel | business


def other_update_types(prep: Prepared) -> st.SearchStrategy[dict[str, Any]]:
    inline = st.builds(lambda uid, text: _update("inline_query", {
        "id": str(next(_ids)), "from": _user(uid), "query": text, "offset": ""}),
        STRANGER_IDS | st.just(prep.owner_user), command_text())
    member = st.builds(lambda uid: _update("my_chat_member", {
        "chat": _chat(uid, "private"), "from": _user(uid), "date": 1,
        "old_chat_member": {"status": "left", "user": BOT_USER},
        "new_chat_member": {"status": "member", "user": BOT_USER}}), STRANGER_IDS)
    return inline | member


def forged_data(prep: Prepared) -> st.SearchStrategy[str]:
    ids = st.integers(-10**12, 10**12).map(str) | st.sampled_from(["1", "2", "3", "", "1e3"])
    tokens = st.sampled_from([prep.valid_token, prep.expired_token, prep.used_token]) | st.text(
        max_size=16)
    return (st.builds("fx:{}".format, ids)
            | st.builds(lambda p, t: f"{p}:{t}", st.sampled_from(["confirm", "cancel"]), tokens)
            | st.builds("fe:{}".format, st.sampled_from(["XLM/BTC", "ETH/BTC", "DOGE/BTC"])
                        | st.text(max_size=10))
            | st.builds("refresh:{}:{}".format, st.sampled_from(["profit", "balance", "x"]),
                        ids | st.text(max_size=5))
            | st.sampled_from(["dismiss", "delete:3", "stop", "fx:all", ""])
            | st.text(max_size=64))


def press(data: str, carrier: dict[str, Any], user_id: int,
          chat: dict[str, Any] | None = None) -> dict[str, Any]:
    query: dict[str, Any] = {"id": str(next(_ids)), "chat_instance": "x", "data": data,
                             "from": _user(user_id)}
    if chat is None:
        query["inline_message_id"] = "inline-1"
    else:
        query["message"] = {**carrier, "chat": chat}
    return _update("callback_query", query)


def strangers_press(prep: Prepared) -> st.SearchStrategy[dict[str, Any]]:
    """Any data, by anyone, on a message outside the owner's chat or on no message at all."""
    elsewhere = st.builds(lambda cid: _chat(cid, "supergroup"), GROUP_IDS) | st.builds(
        lambda uid: _chat(uid, "private"), STRANGER_IDS) | st.none()
    return st.builds(lambda data, uid, chat: press(data, prep.carrier, uid, chat),
                     forged_data(prep), STRANGER_IDS | st.just(prep.owner_user), elsewhere)


# --- the prepared bot -------------------------------------------------------------------------


@pytest.fixture
async def private() -> AsyncIterator[Prepared]:
    async with prepared(OWNER_ENV, {}) as prep:
        yield prep


@pytest.fixture
async def group() -> AsyncIterator[Prepared]:
    overrides = {"telegram": {"authorized_users": [OWNER_CHAT]}}
    async with prepared(GROUP_ENV, overrides) as prep:
        yield prep


@asynccontextmanager
async def prepared(env: dict[str, str], overrides: dict[str, Any]) -> AsyncIterator[Prepared]:
    """Trades #1 and #2 open, #3 closed, NXT/BTC locked, a pending /delete 3 confirmation, an
    expired /stop one, a used one, and a /forceexit picker to press buttons on."""
    monotonic = Monotonic()
    # Telegram's flood limit (30 replies a second) lifted: thousands of commands are sent.
    unthrottled = AIORateLimiter(overall_max_rate=0, group_max_rate=0)
    async with open_chat(overrides=overrides, env=env, monotonic=monotonic,
                         rate_limiter=unthrottled) as chat:
        prep = Prepared(chat, chat.chat_id, chat.user_id, monotonic=monotonic)
        clock = chat.commands.engine.clock
        await run_for(chat.commands, clock, 1)
        assert "trade #1" in await chat.say("/forceenter ETH/BTC")
        assert "trade #2" in await chat.say("/forceenter LTC/BTC")
        seed_trades(chat.commands.store, 1, is_open=False, start=DATA_START, pairs=["XLM/BTC"])
        chat.commands.store.lock_pair("NXT/BTC", clock.now() + timedelta(days=30), "test",
                                      clock.now())
        (stop,) = await chat.send("/stop")
        monotonic.now += 45
        (delete,) = await chat.send("/delete 3")
        (used,) = await chat.send("/forceexit all")
        await chat.press(used.buttons[1][1], used)  # its Cancel: the token is used up
        monotonic.now += 25
        (picker,) = await chat.send("/forceexit")
        prep.expired_token = stop.buttons[0][1].partition(":")[2]
        prep.valid_token = delete.buttons[0][1].partition(":")[2]
        prep.used_token = used.buttons[0][1].partition(":")[2]
        prep.carrier = {"message_id": picker.message_id, "date": 1, "text": picker.text,
                        "chat": _chat(prep.owner_chat, "private"), "from": BOT_USER,
                        "reply_markup": picker.reply_markup}
        yield prep


async def no_effect(prep: Prepared, update: dict[str, Any],
                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.clear()
    before, said = prep.state(), prep.outgoing()
    await drive(prep.chat.app, update)
    assert prep.state() == before
    assert prep.outgoing() == said
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


# One prepared bot serves every example of a test: each example checks its own before/after.
HYPOTHESIS = settings(max_examples=400, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.function_scoped_fixture])


# --- the tests --------------------------------------------------------------------------------


FOREIGN: dict[str, Callable[[str, Prepared], dict[str, Any]]] = {
    "a stranger's private chat": lambda text, p: _update("message", _message(
        text, _chat(666, "private"), 666)),
    "the owner in another group": lambda text, p: _update("message", _message(
        text, _chat(-100777, "supergroup"), p.owner_user)),
    "forwarded into the owner's chat": lambda text, p: _update("message", _message(
        text, _chat(p.owner_chat, "private"), p.owner_user,
        forward_origin={**FORWARD_ORIGINS[0], "date": 1})),
    "edited in the owner's chat": lambda text, p: _update("edited_message", _message(
        text, _chat(p.owner_chat, "private"), p.owner_user, edit_date=1)),
    "a channel post with the owner's chat id": lambda text, p: _update("channel_post", _message(
        text, _chat(p.owner_chat, "channel"), None, sender_chat=_chat(p.owner_chat, "channel"))),
    "an inline query by a stranger": lambda text, p: _update("inline_query", {
        "id": "q", "from": _user(666), "query": text, "offset": ""}),
}


@pytest.mark.parametrize("kind", sorted(FOREIGN))
async def test_every_command_of_the_table_from_outside_the_owners_control_has_no_effect(
        private: Prepared, kind: str, caplog: pytest.LogCaptureFixture) -> None:
    """Each command name and alias, with arguments that would act for the owner."""
    for name in NAMES:
        for args in EFFECTIVE_ARGS.get(name, [""]):
            await no_effect(private, FOREIGN[kind](f"/{name} {args}".strip(), private), caplog)


@pytest.mark.heavy
@HYPOTHESIS
@given(data=st.data())
async def test_generated_foreign_updates_have_no_effect_and_get_no_reply(
        private: Prepared, data: st.DataObject, caplog: pytest.LogCaptureFixture) -> None:
    prep = private
    update = data.draw(message_from_elsewhere(prep) | ignored_from_owner(prep)
                       | other_update_types(prep) | strangers_press(prep))
    await no_effect(prep, update, caplog)


@pytest.mark.heavy
@HYPOTHESIS
@given(data=st.data())
async def test_other_members_of_the_owners_group_have_no_effect(
        group: Prepared, data: st.DataObject, caplog: pytest.LogCaptureFixture) -> None:
    prep = group
    chat = _chat(GROUP, "supergroup")
    member = STRANGER_IDS | st.just(ANONYMOUS_ADMIN)
    typed = st.builds(lambda uid, text: _update("message", _message(text, chat, uid)),
                      member, command_text())
    anonymous = st.builds(lambda text: _update("message", _message(
        text, chat, ANONYMOUS_ADMIN, sender_chat=chat)), command_text())
    pressed = st.builds(lambda d, uid: press(d, prep.carrier, uid, chat), forged_data(prep),
                        member)
    update = data.draw(typed | anonymous | pressed | ignored_from_owner(prep))
    await no_effect(prep, update, caplog)


STALE = ("This button is no longer valid; send the command again.",
         "This button was already used.", "This confirmation expired; send the command again.",
         "Cancelled.")


async def owners_press_changes_nothing(prep: Prepared, forged: str,
                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.clear()
    before, (messages, edits, answers) = prep.state(), prep.outgoing()
    await drive(prep.chat.app, press(forged, prep.carrier, prep.owner_user,
                                     _chat(prep.owner_chat, "private")))
    assert prep.state() == before
    assert len(prep.chat.tg.answers) == answers + 1
    assert len(prep.chat.tg.messages) == messages
    new = prep.chat.tg.edits[edits:]
    assert len(new) <= 1
    if new and not forged.startswith("refresh:"):
        assert new[0].text in STALE or new[0].text.startswith(_REFUSALS), new[0].text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], forged


@pytest.mark.heavy
@HYPOTHESIS
@given(data=st.data())
async def test_the_owners_forged_or_stale_buttons_are_answered_and_change_nothing(
        private: Prepared, data: st.DataObject, caplog: pytest.LogCaptureFixture) -> None:
    forged = data.draw(forged_data(private).filter(lambda d: not _acts_for_owner(d, private)))
    await owners_press_changes_nothing(private, forged, caplog)


async def test_the_owners_out_of_range_and_used_up_buttons_change_nothing(
        private: Prepared, caplog: pytest.LogCaptureFixture) -> None:
    """The cases the generated ones found or must not miss: Refresh data past the command's
    own limit once crashed the handler (OverflowError after years of periods)."""
    for forged in ("refresh:daily:999999999", "refresh:weekly:105", "refresh:monthly:100000",
                   "refresh:profit:3651", "refresh:profit:0", "refresh:balance:5",
                   "refresh:status_table:-1", "fx:0", "fx:-1", "fx:3", "fx:999999999",
                   f"confirm:{private.expired_token}", f"confirm:{private.used_token}",
                   f"cancel:{private.used_token}", "confirm:", "fe:", "fe:ETH/BTC", "\x00"):
        await owners_press_changes_nothing(private, forged, caplog)


_REFUSALS = ("No open trade with id", "Unknown pair", "ETH/BTC already has an open trade")


def _acts_for_owner(data: str, prep: Prepared) -> bool:
    """Presses the owner may really make: exits of open trades, the pending confirmation,
    an entry on a free pair."""
    prefix, _, rest = data.partition(":")
    if prefix == "fx":
        return rest.lstrip("0") in ("1", "2")
    if prefix in ("confirm", "cancel"):
        return rest == prep.valid_token
    return prefix == "fe" and rest in ("XLM/BTC", "ADA/BTC", "NXT/BTC")
