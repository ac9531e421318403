"""Destructive commands ask first; their buttons act once and only before they expire."""

from __future__ import annotations

import pytest

from store import models
from tests.factories import run_for
from tests.fakes.telegram import Chat, open_chat, strip_html


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monotonic() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
async def chat(monotonic: FakeMonotonic):
    async with open_chat(monotonic=monotonic) as opened:
        await run_for(opened.commands, opened.commands.engine.clock, 1)
        await opened.say("/forceenter ETH/BTC")
        await opened.say("/forceenter LTC/BTC")
        yield opened


def open_ids(chat: Chat) -> list[int]:
    return [t.id for t in chat.commands.status()]


async def test_forceexit_all_asks_first_and_acts_once_when_pressed_twice(chat: Chat) -> None:
    (question,) = await chat.send("/forceexit all")
    assert strip_html(question.text) == "Exit all 2 open trades at the current exit rate?"
    assert [label for label, _ in question.buttons] == ["Yes, exit all", "Cancel"]
    assert open_ids(chat) == [1, 2]
    confirm = question.buttons[0][1]
    (first,) = await chat.press(confirm, question)
    assert strip_html(first.text) == "Exiting trade(s) #1, #2."
    (second,) = await chat.press(confirm, question)
    assert strip_html(second.text) == "This button was already used."
    assert models.Order.select().where(models.Order.side == "sell").count() == 2
    await run_for(chat.commands, chat.commands.engine.clock, 1)
    closed = [t for t in chat.commands.trades(10) if t.exit_reason == "force_exit"]
    assert sorted(t.id for t in closed) == [1, 2]


async def test_a_confirmation_expires_after_a_minute(chat: Chat,
                                                     monotonic: FakeMonotonic) -> None:
    (question,) = await chat.send("/forceexit all")
    monotonic.now += 61
    (answer,) = await chat.press(question.buttons[0][1], question)
    assert strip_html(answer.text) == "This confirmation expired; send the command again."
    assert open_ids(chat) == [1, 2]


async def test_cancel_consumes_the_question(chat: Chat) -> None:
    (question,) = await chat.send("/delete 1")
    assert "Delete trade #1 (ETH/BTC)" in strip_html(question.text)
    (cancelled,) = await chat.press(question.buttons[1][1], question)
    assert strip_html(cancelled.text) == "Cancelled."
    (late,) = await chat.press(question.buttons[0][1], question)
    assert strip_html(late.text) == "This button was already used."
    assert open_ids(chat) == [1, 2]


async def test_delete_removes_the_trade_after_confirmation(chat: Chat) -> None:
    (question,) = await chat.send("/delete 2")
    (done,) = await chat.press(question.buttons[0][1], question)
    assert strip_html(done.text).startswith("Deleted trade #2 (LTC/BTC).")
    assert open_ids(chat) == [1]
    assert await chat.say("/delete 2") == "No trade with id 2."


async def test_unknown_or_forged_button_data_changes_nothing(chat: Chat) -> None:
    for data in ("confirm:forged", "fx:abc", "refresh:nothing:", "bogus", "refresh:profit:x"):
        (answer,) = await chat.press(data)
        assert strip_html(answer.text) == ("This button is no longer valid; send the command "
                                           "again.")
    assert open_ids(chat) == [1, 2]
    assert chat.commands.state == "running"


async def test_a_button_press_is_always_answered_first(chat: Chat) -> None:
    (picker,) = await chat.send("/forceexit")
    await chat.press("dismiss", picker)
    assert len(chat.tg.answers) == 1
    assert chat.tg.calls.index("answercallbackquery") < chat.tg.calls.index("editmessagetext")


async def test_refreshing_twice_in_the_same_second_is_harmless(chat: Chat) -> None:
    (profit,) = await chat.send("/profit")
    chat.tg.fail("bad_request", method="editMessageText", description=(
        "Bad Request: message is not modified: specified new message content and reply "
        "markup are exactly the same as a current content and reply markup of the message"))
    before = len(chat.tg.messages)
    await chat.press("refresh:profit:", profit)
    assert len(chat.tg.messages) == before


async def test_forceenter_on_a_pair_with_a_trade_asks_then_adds_to_it(monotonic) -> None:
    async with open_chat(monotonic=monotonic, overrides={"position_adjustment_enable": True}
                         ) as chat:
        await run_for(chat.commands, chat.commands.engine.clock, 1)
        await chat.say("/forceenter ETH/BTC")
        await run_for(chat.commands, chat.commands.engine.clock, 1)
        (question,) = await chat.send("/forceenter ETH/BTC 0.02")
        assert strip_html(question.text) == (
            "Add 0.02 BTC to trade #1 (ETH/BTC) at the current entry rate?")
        assert models.Order.select().count() == 1
        (answer,) = await chat.press(question.buttons[0][1], question)
        assert strip_html(answer.text) == "Adding 0.02 BTC to trade #1 (ETH/BTC)."
        await run_for(chat.commands, chat.commands.engine.clock, 1)
        (trade,) = chat.commands.status()
        assert (trade.entries, trade.exits) == (2, 0)
        added = list(models.Order.select().order_by(models.Order.id))[1]
        assert (added.side, added.ft_order_tag) == ("buy", "force_entry")
        assert added.amount * added.price == pytest.approx(0.02, rel=1e-2)
        assert "/forceenter ETH/BTC STAKE" in await chat.say("/forceenter ETH/BTC")


async def test_forceexit_with_an_amount_sells_that_part_only(chat: Chat) -> None:
    await run_for(chat.commands, chat.commands.engine.clock, 1)
    before = chat.commands.status([1])[0].amount
    assert await chat.say("/forceexit 1 0.2") == "Exiting trade(s) #1."
    await run_for(chat.commands, chat.commands.engine.clock, 1)
    (trade,) = chat.commands.status([1])
    assert trade.is_open
    assert trade.exits == 1
    assert trade.amount == pytest.approx(before - 0.2)
