"""Hostile arguments for every command, typed by the owner: random unicode, huge numbers, NaN
and infinities, negative ids, SQL-looking text, markup, control characters, 10 KB words and
hundreds of arguments. Each gets one short reply (a usage line or a refusal, never a
traceback or "something went wrong"), nothing is logged at ERROR, and nothing changes: the
database, the engine's state and blacklist, and the pending confirmations are as before.

Inputs that could really be valid for a command that acts (a plain pair name or trade id for
/forceenter, /forceexit, /unlock, /blacklist ...) are left out: those are not invalid input.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core.errors import CommandError
from engine.pairs import is_pattern, pattern_problem
from handlers.args import price_of
from handlers.table import COMMANDS, help_text
from tests.fakes.telegram import OWNER_ENV, Sent, strip_html
from tests.reliability.test_authorization import NAMES, Prepared, prepared

SHORT = 300  # characters: a usage line or a one-sentence refusal
ACTING = {"start", "stop", "stopentry", "pause", "reload", "reload_config", "forceexit", "fx",
          "forceenter", "forcebuy", "cancel_open_order", "coo", "delete", "unlock",
          "blacklist"}
_PLAIN = re.compile(r"[A-Za-z0-9/]{1,20}")

HOSTILE_WORDS = [
    "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e400", "-1e400", "1e-400", "5e-324",
    "-1", "-999999999999", "0", "00", "-0", "+1", "1.5", "1,5", "0x1F", "1_000", "\uff11", "\u0663",
    "9" * 400, "99999999999999999999", "18446744073709551617",
    "'; DROP TABLE trades; --", "1;DELETE FROM orders", "' OR '1'='1", "%", "_", "*", ".*",
    "%s%s%s%n", "{0}{1!r}", "<b>", "</code>", "&amp;", "<script>alert(1)</script>",
    "\x00", "\u202eCTB/HTE", "\u200b", "🚀🚀", "ETH/BTC/XLM", "/stop", "@tradepilot_bot",
    "A" * 10240, "ETH/" + "B" * 10240, "é" * 10240,
]  # fmt: skip
MANY = ["1 " * 300, "ETH/BTC " * 25, "x " * 1000]
PRICES = ["nan", "inf", "-inf", "-1", "0", "-0", "1e400", "1e300", "1e-300", "5e-324",
          "0x10", "1,5", "'", "9" * 400]


def _an_amount(word: str) -> bool:
    try:
        price_of(word, "")
    except CommandError:
        return False
    return True


@pytest.fixture
async def owner() -> AsyncIterator[Prepared]:
    async with prepared(OWNER_ENV, {}) as prep:
        yield prep


def acceptable(name: str, replies: list[Sent]) -> bool:
    """One short reply; /help answers with the help whatever follows it."""
    texts = [strip_html(r.text) for r in replies]
    if name == "help":
        return texts == [strip_html(help_text(COMMANDS))]
    return len(texts) == 1 and len(texts[0]) <= SHORT and "Traceback" not in texts[0] \
        and "Something went wrong" not in texts[0]


async def refused_without_effect(prep: Prepared, name: str, args: str,
                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.clear()
    before = prep.state()
    replies = await prep.chat.send(f"/{name} {args}")
    assert acceptable(name, replies), (name, args[:80], [r.text[:200] for r in replies])
    assert prep.state() == before, (name, args[:80])
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert errors == [], (name, args[:80])


@pytest.mark.heavy
async def test_every_command_refuses_each_hostile_argument_without_effect(
        owner: Prepared, caplog: pytest.LogCaptureFixture) -> None:
    """Every name and alias of the table, with each word alone, after a valid-looking first
    argument, and with hundreds of arguments; /forceenter's price with each hostile number."""
    for name in NAMES:
        for word in HOSTILE_WORDS:
            if name == "blacklist" and is_pattern(word) and pattern_problem(word) is None:
                continue  # a valid pattern such as .* is an owner's real blacklist entry
            await refused_without_effect(owner, name, word, caplog)
            if name in ("forceexit", "fx") and _an_amount(word):
                continue  # /forceexit ID AMOUNT sells that much: an owner's real request
            await refused_without_effect(owner, name, f"1 {word}", caplog)
        for words in MANY:
            await refused_without_effect(owner, name, words, caplog)
    for name in ("forceenter", "forcebuy"):
        for price in PRICES:
            await refused_without_effect(owner, name, f"XLM/BTC {price}", caplog)


WORD = st.one_of(
    st.text(min_size=1, max_size=24),
    st.integers(min_value=10**9).map(str),
    st.integers(max_value=0).map(str),
    st.floats().map(repr),
    st.sampled_from(HOSTILE_WORDS),
).filter(lambda w: bool(w.split()))


@pytest.mark.heavy
@settings(max_examples=1000, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=st.sampled_from(NAMES), words=st.lists(WORD, min_size=1, max_size=40))
async def test_generated_arguments_get_a_short_reply_and_change_nothing(
        owner: Prepared, name: str, words: list[str],
        caplog: pytest.LogCaptureFixture) -> None:
    args = " ".join(words)
    assume(not (name in ACTING and all(_PLAIN.fullmatch(w) for w in args.split())))
    await refused_without_effect(owner, name, args, caplog)


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(alphabet=st.characters(codec="utf-8", exclude_characters=" \n\t\r"),
                    min_size=1, max_size=40), args=st.text(max_size=40))
async def test_unknown_command_names_get_a_short_reply_and_change_nothing(
        owner: Prepared, name: str, args: str, caplog: pytest.LogCaptureFixture) -> None:
    assume(name.lower() not in NAMES and name.split() == [name])
    caplog.clear()
    before = owner.state()
    replies = await owner.chat.send(f"/{name} {args}")
    assert all(len(strip_html(r.text)) <= SHORT for r in replies)
    assert len(replies) <= 1
    assert owner.state() == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
