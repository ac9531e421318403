"""Deny by default: strangers' commands and button presses have no effect and get no reply;
edited and forwarded commands are ignored; in a group, `authorized_users` narrows who may act."""

from __future__ import annotations

import logging

import pytest

from tests.factories import run_for
from tests.fakes.telegram import OWNER_CHAT, STRANGER, TOKEN, Chat, open_chat

GROUP = -100123
GROUP_ENV = {"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": str(GROUP)}


@pytest.fixture
async def chat():
    async with open_chat() as opened:
        await run_for(opened.commands, opened.commands.engine.clock, 1)
        yield opened


def outgoing(chat: Chat) -> int:
    """Everything the bot has said or done in any chat."""
    return len(chat.tg.messages) + len(chat.tg.edits) + len(chat.tg.answers)


async def test_a_strangers_command_has_no_effect_no_reply_and_is_logged(
        chat: Chat, caplog: pytest.LogCaptureFixture) -> None:
    before = outgoing(chat)
    with caplog.at_level(logging.WARNING, logger="handlers.auth"):
        await chat.send("/forceenter ETH/BTC", chat_id=STRANGER, user_id=STRANGER)
        await chat.send("/stop", chat_id=STRANGER, user_id=STRANGER)
        await chat.send("/status", chat_id=STRANGER, user_id=STRANGER)
    assert outgoing(chat) == before
    assert chat.commands.status() == []
    assert chat.commands.state == "running"
    assert f"from user {STRANGER} in chat {STRANGER}" in caplog.text


async def test_a_stranger_is_warned_about_once_however_many_updates_they_send(
        chat: Chat, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="handlers.auth"):
        for _ in range(20):
            await chat.send("/status", chat_id=STRANGER, user_id=STRANGER)
        await chat.send("/status", chat_id=STRANGER + 1, user_id=STRANGER + 1)

    refused = [r.getMessage() for r in caplog.records if "refused update" in r.getMessage()]
    assert len(refused) == 2
    assert f"from user {STRANGER + 1} in chat {STRANGER + 1}" in refused[1]


async def test_a_strangers_button_press_has_no_effect_and_no_answer(chat: Chat) -> None:
    await chat.send("/forceenter ETH/BTC")
    (picker,) = await chat.send("/forceexit")
    before = outgoing(chat)
    await chat.press("fx:1", picker, user_id=STRANGER, chat_id=STRANGER)
    assert outgoing(chat) == before
    assert [t.is_open for t in chat.commands.status()] == [True]


async def test_a_strangers_press_of_a_confirmation_does_not_consume_it(chat: Chat) -> None:
    (question,) = await chat.send("/stop")
    confirm = question.buttons[0][1]
    await chat.press(confirm, question, user_id=STRANGER, chat_id=STRANGER)
    assert chat.commands.state == "running"
    await chat.press(confirm, question)
    assert chat.commands.state == "stopped"


async def test_edited_and_forwarded_commands_are_ignored(chat: Chat) -> None:
    before = outgoing(chat)
    await chat.send("/forceenter ETH/BTC", edited=True)
    await chat.send("/forceenter ETH/BTC", forwarded=True)
    assert outgoing(chat) == before
    assert chat.commands.status() == []


async def test_in_a_group_only_authorized_users_may_act() -> None:
    overrides = {"telegram": {"authorized_users": [OWNER_CHAT]}}
    async with open_chat(overrides=overrides, env=GROUP_ENV) as group:
        await run_for(group.commands, group.commands.engine.clock, 1)
        before = outgoing(group)
        await group.send("/forceenter ETH/BTC", user_id=STRANGER)
        assert outgoing(group) == before
        assert group.commands.status() == []
        assert await group.say("/forceenter ETH/BTC") == "Entering ETH/BTC: trade #1."
        (picker,) = await group.send("/forceexit")
        before = outgoing(group)
        await group.press("fx:1", picker, user_id=STRANGER)
        assert outgoing(group) == before
        assert [t.is_open for t in group.commands.status()] == [True]


async def test_the_owner_chat_in_a_group_without_a_user_list_lets_members_act() -> None:
    async with open_chat(env=GROUP_ENV) as group:
        assert await group.say("/count") != ""
        assert (await group.send("/count", user_id=STRANGER))[0].chat_id == GROUP
