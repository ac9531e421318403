"""/reload through the chat, on a strategy file the owner edits while the bot runs: the new
code trades from the next iteration, and the run state and the pairs blacklisted in chat stay
as the owner left them (issue #18)."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from compose import config_reloader
from tests.factories import make_settings, run_for
from tests.fakes.telegram import OWNER_ENV, QUIET, Chat, open_chat

STRATEGY = '''
from engine.strategy import IStrategy


class Edited(IStrategy):
    timeframe = "5m"
    stoploss = -0.99
    minimal_roi = {{"0": 100.0}}

    def populate_indicators(self, dataframe, metadata):
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        {entry}
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):
        dataframe["exit_long"] = 0
        return dataframe
'''
PAIRS = ["ETH/BTC", "LTC/BTC"]


def enters(pairs: list[str], tag: str) -> str:
    """populate_entry_trend's body: an entry signal on every candle of `pairs`, tagged."""
    return (f'dataframe["enter_long"] = int(metadata["pair"] in {pairs!r})\n'
            f'        dataframe["enter_tag"] = {tag!r}')


def save(folder: Path, entry: str) -> None:
    (folder / "edited.py").write_text(STRATEGY.format(entry=entry), encoding="utf-8")


@pytest.fixture
async def chat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Chat]:
    """A bot on the strategy file tmp_path/strategies/edited.py (entering on ETH/BTC, tagged
    tag_one), with the /reload that bot.py wires: config read again, strategy imported."""
    # As on a user's machine, where Python caches bytecode next to the strategy file.
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    folder = tmp_path / "strategies"
    folder.mkdir()
    save(folder, enters(["ETH/BTC"], "tag_one"))
    config: dict[str, Any] = {
        **QUIET, "strategy": "Edited", "strategy_path": str(folder), "max_open_trades": 2,
        "stake_amount": 0.05, "exchange": {"pair_whitelist": PAIRS},
    }
    reloader = config_reloader(lambda: make_settings(config, OWNER_ENV))
    async with open_chat(overrides=config, reloader=reloader) as opened:
        yield opened


async def run(chat: Chat, iterations: int = 3) -> None:
    await run_for(chat.commands, chat.commands.engine.clock, iterations)


def tags(chat: Chat) -> dict[str, str | None]:
    return {view.pair: view.enter_tag for view in chat.commands.status()}


async def test_after_reload_the_edited_strategy_file_makes_the_next_entry(
        chat: Chat, tmp_path: Path) -> None:
    await run(chat)
    assert tags(chat) == {"ETH/BTC": "tag_one"}

    save(tmp_path / "strategies", enters(PAIRS, "tag_two"))
    reply = await chat.say("/reload")
    await run(chat)

    assert tags(chat) == {"ETH/BTC": "tag_one", "LTC/BTC": "tag_two"}
    assert reply == ("Config reloaded, strategy Edited read again from its file. Kept: state "
                     "running; pairs blacklisted in chat: none.")


async def test_after_reload_a_raise_added_to_the_strategy_runs_on_the_next_iteration(
        chat: Chat, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    await run(chat, 1)
    save(tmp_path / "strategies", 'raise RuntimeError("the edited code ran")')
    await chat.say("/reload")

    with caplog.at_level(logging.ERROR):
        await run(chat)

    assert "the edited code ran" in caplog.text
    assert "LTC/BTC" not in tags(chat)


async def test_a_new_timeframe_is_refused_and_the_running_strategy_keeps_trading(
        chat: Chat, tmp_path: Path) -> None:
    folder = tmp_path / "strategies"
    save(folder, enters(PAIRS, "tag_two"))
    edited = folder / "edited.py"
    edited.write_text(edited.read_text().replace('"5m"', '"15m"'), encoding="utf-8")

    reply = await chat.say("/reload")
    await run(chat)

    assert tags(chat) == {"ETH/BTC": "tag_one"}
    assert reply == ("New config refused, the old one keeps running: the timeframe changes "
                     "only with a restart (running 5m, the new config has 15m).")


async def test_reload_while_paused_stays_paused_and_keeps_the_pairs_blacklisted_in_chat(
        chat: Chat, tmp_path: Path) -> None:
    save(tmp_path / "strategies", enters(PAIRS, "tag_one"))
    assert (await chat.say("/pause")).startswith("Paused")
    assert "LTC/BTC" in await chat.say("/blacklist LTC/BTC")

    reply = await chat.say("/reload")
    await run(chat)

    assert chat.commands.state == "paused"
    assert tags(chat) == {}
    assert reply == ("Config reloaded, strategy Edited read again from its file. Kept: state "
                     "paused (/start resumes); pairs blacklisted in chat: LTC/BTC.")
    assert "LTC/BTC" in await chat.say("/blacklist")

    await chat.say("/start")
    await run(chat)
    assert tags(chat) == {"ETH/BTC": "tag_one"}  # LTC/BTC signals on every candle
