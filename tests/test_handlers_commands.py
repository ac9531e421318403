"""Every command through the real Application and the real engine (factory: offline market on
the shipped candles, paper exchange, SQLite): valid, missing and malformed arguments, and the
reply text the owner reads."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from handlers.logbuffer import LogBuffer
from handlers.table import COMMANDS
from tests.factories import run_for
from tests.fakes.telegram import TOKEN, Chat, html_problem, open_chat, seed_trades, strip_html


async def warm(chat: Chat, iterations: int = 1) -> None:
    """Run iterations so the engine has prices (forced entries need a ticker)."""
    await run_for(chat.commands, chat.commands.engine.clock, iterations)


async def enter(chat: Chat, pair: str) -> str:
    return await chat.say(f"/forceenter {pair}")


@pytest.fixture
async def chat():
    async with open_chat() as opened:
        await warm(opened)
        yield opened


FORCEEXIT_HELP = ("give a trade id (and an amount to sell only part), the word all, or nothing "
                  "to pick")
FORCEENTER_HELP = ("pair like ETH/BTC, price a positive number; on a pair with an open trade "
                   "the number is the stake to add to it")


@pytest.mark.parametrize(("command", "usage"), [
    ("/trades x", "Usage: /trades [n] — n is a whole number from 1 to 100"),
    ("/trades 0", "Usage: /trades [n] — n is a whole number from 1 to 100"),
    ("/trades 1 2", "Usage: /trades [n] — n is a whole number from 1 to 100"),
    ("/profit -3", "Usage: /profit [days] — days is a whole number from 1 to 3650"),
    ("/daily 366", "Usage: /daily [n] — n is a whole number from 1 to 365"),
    ("/weekly ten", "Usage: /weekly [n] — n is a whole number from 1 to 104"),
    ("/monthly 61", "Usage: /monthly [n] — n is a whole number from 1 to 60"),
    ("/status 1x", "Usage: /status [table|id...] — give no argument, the word table, or trade ids"),
    ("/forceexit 1 2 3", f"Usage: /forceexit [id [amount]|all] — {FORCEEXIT_HELP}"),
    ("/forceexit 1 half", f"Usage: /forceexit [id [amount]|all] — {FORCEEXIT_HELP}"),
    ("/fx abc", f"Usage: /forceexit [id [amount]|all] — {FORCEEXIT_HELP}"),
    ("/forceenter ETH/BTC cheap", f"Usage: /forceenter [pair [price]] — {FORCEENTER_HELP}"),
    ("/forcebuy ETH/BTC -1", f"Usage: /forceenter [pair [price]] — {FORCEENTER_HELP}"),
    ("/cancel_open_order", "Usage: /cancel_open_order <id> — id is a trade id"),
    ("/coo one", "Usage: /cancel_open_order <id> — id is a trade id"),
    ("/delete", "Usage: /delete <id> — id is a trade id"),
    ("/delete 1 2", "Usage: /delete <id> — id is a trade id"),
    ("/unlock", "Usage: /unlock <pair|id> — give a pair like ETH/BTC or a lock id"),
    ("/unlock a/b/c", "Usage: /unlock <pair|id> — give a pair like ETH/BTC or a lock id"),
    ("/blacklist ETH/BTC/X", "Usage: /blacklist [pair...] — pairs like ETH/BTC, at most 20"),
    ("/logs 101", "Usage: /logs [n] — n is a whole number from 1 to 100"),
    ("/chart 0", "Usage: /chart [days] — days is a whole number from 1 to 3650"),
    ("/balance all", "Usage: /balance [full] — give nothing or the word full"),
    ("/count 3", "Usage: /count"),
    ("/stop now", "Usage: /stop"),
    ("/version x", "Usage: /version"),
])
async def test_malformed_arguments_get_a_one_line_usage_reply(chat: Chat, command: str,
                                                              usage: str) -> None:
    replies = await chat.send(command)
    assert [strip_html(r.text) for r in replies] == [usage]


async def test_status_without_trades_says_there_are_none(chat: Chat) -> None:
    assert await chat.say("/status") == "No open trades."
    assert await chat.say("/status table") == "No open trades."


async def test_status_shows_each_open_trade_with_its_figures(chat: Chat) -> None:
    assert await enter(chat, "ETH/BTC") == "Entering ETH/BTC: trade #1."
    assert await enter(chat, "ltc") == "Entering LTC/BTC: trade #2."
    text = await chat.say("/status")
    assert text.count("Trade ID:") == 2
    for label in ("Pair: ETH/BTC", "Pair: LTC/BTC", "Open Rate:", "Current Rate:",
                  "Unrealized Profit:", "Stoploss:", "Stoploss distance:"):
        assert label in text
    one = await chat.say("/status 2")
    assert "Pair: LTC/BTC" in one
    assert "ETH/BTC" not in one


async def test_status_table_has_a_refresh_button_that_edits_in_place(chat: Chat) -> None:
    await enter(chat, "ETH/BTC")
    (table,) = await chat.send("/status table")
    assert "ETH/BTC" in table.text
    assert table.buttons == [("🔄 Refresh", "refresh:status_table:")]
    (edit,) = await chat.press("refresh:status_table:", table)
    assert edit.method == "editmessagetext"
    assert edit.message_id == table.message_id
    assert "Updated:" in edit.text
    assert "ETH/BTC" in edit.text


async def test_status_of_an_unknown_trade_replies_the_engine_refusal(chat: Chat) -> None:
    assert await chat.say("/status 42") == "No trade with id 42."


async def test_trades_lists_closed_trades_newest_first(chat: Chat) -> None:
    assert await chat.say("/trades") == "No closed trades yet."
    await enter(chat, "ETH/BTC")
    assert await chat.say("/forceexit 1") == "Exiting trade(s) #1."
    await warm(chat)
    text = await chat.say("/trades 5")
    assert "Last 1 closed trades" in text
    assert "ETH/BTC (#1)" in text


async def test_profit_daily_weekly_monthly_show_figures_and_refresh(chat: Chat) -> None:
    assert (await chat.say("/profit")).startswith("No trades yet.")
    await enter(chat, "ETH/BTC")
    await chat.say("/forceexit 1")
    await warm(chat)
    (profit,) = await chat.send("/profit 30")
    for label in ("ROI: Closed trades", "ROI: All trades", "Total Trade Count:", "Win / Loss",
                  "Winrate", "Expectancy", "Avg. Duration", "Best Performing: ETH/BTC",
                  "Showing profit since"):
        assert label in strip_html(profit.text)
    assert profit.buttons == [("🔄 Refresh", "refresh:profit:30")]
    (daily,) = await chat.send("/daily 3")
    assert "Daily Profit over the last 3 days" in strip_html(daily.text)
    assert daily.buttons == [("🔄 Refresh", "refresh:daily:3")]
    assert "last 8 weeks" in await chat.say("/weekly")
    assert "last 2 months" in await chat.say("/monthly 2")
    (edit,) = await chat.press("refresh:daily:3", daily)
    assert "Daily Profit over the last 3 days" in strip_html(edit.text)


async def test_performance_count_balance(chat: Chat) -> None:
    assert await chat.say("/performance") == "No closed trades yet."
    await enter(chat, "ETH/BTC")
    count = await chat.say("/count")
    assert "current  max  total stake (BTC)" in count
    assert "\n1        3    0.0" in count
    (balance,) = await chat.send("/balance")
    assert strip_html(balance.text).startswith("⚠️ Simulated balances (dry-run)")
    assert "ETH:" in strip_html(balance.text)
    assert balance.buttons == [("🔄 Refresh", "refresh:balance:")]
    await chat.say("/forceexit 1")
    await warm(chat)
    assert "1. ETH/BTC" in await chat.say("/performance")


async def test_forceexit_without_argument_offers_open_trades_and_a_press_exits(chat: Chat) -> None:
    assert await chat.say("/fx") == "No open trades."
    await enter(chat, "ETH/BTC")
    (picker,) = await chat.send("/forceexit")
    assert picker.buttons[0][1] == "fx:1"
    assert picker.buttons[0][0].startswith("1 ETH/BTC")
    assert picker.buttons[-1] == ("Cancel", "dismiss")
    (result,) = await chat.press("fx:1", picker)
    assert strip_html(result.text) == "Exiting trade(s) #1."
    assert chat.tg.answers  # the spinner on the phone was stopped


async def test_forceexit_of_an_unknown_trade_replies_the_refusal(chat: Chat) -> None:
    assert await chat.say("/forceexit 9") == "No open trade with id 9."


async def test_forceenter_without_argument_offers_free_pairs(chat: Chat) -> None:
    await enter(chat, "ETH/BTC")
    (picker,) = await chat.send("/forceenter")
    pairs = [data for _label, data in picker.buttons]
    assert "fe:ETH/BTC" not in pairs
    assert "fe:LTC/BTC" in pairs
    (result,) = await chat.press("fe:LTC/BTC", picker)
    assert strip_html(result.text) == "Entering LTC/BTC: trade #2."


async def test_forceenter_is_refused_when_disabled_in_the_config() -> None:
    async with open_chat(overrides={"force_entry_enable": False}) as chat:
        text = await chat.say("/forceenter ETH/BTC")
        assert text.startswith("Forced entries are disabled")
        assert chat.commands.status() == []


async def test_forceenter_of_an_unknown_pair_replies_the_refusal(chat: Chat) -> None:
    assert (await chat.say("/forceenter DOGE/BTC")).startswith("Unknown pair DOGE/BTC")


async def test_cancel_open_order_and_its_alias(chat: Chat) -> None:
    await enter(chat, "ETH/BTC")
    assert await chat.say("/coo 1") == "Trade #1 has no open order."
    assert await chat.say("/cancel_open_order 7") == "No open trade with id 7."


async def test_stop_start_pause_and_reload(chat: Chat) -> None:
    (question,) = await chat.send("/stop")
    assert chat.commands.state == "running"
    await chat.press(question.buttons[0][1], question)
    assert chat.commands.state == "stopped"
    assert (await chat.say("/start")).startswith("Running")
    assert (await chat.say("/pause")).startswith("Paused")
    assert await chat.say("/stopentry") == "Already paused."
    assert await chat.say("/reload_config") == "Reload is not available in this run."


async def test_locks_and_unlock(chat: Chat) -> None:
    assert await chat.say("/locks") == "No active locks."
    assert await chat.say("/unlock ETH/BTC") == "No active lock for ETH/BTC."
    now = chat.commands.engine.clock.now()
    store = chat.commands.store
    store.lock_pair("ETH/BTC", now + timedelta(hours=2), "StoplossGuard <2 losses>", now)
    store.lock_pair("*", now + timedelta(hours=1), "MaxDrawdown", now)
    locks = await chat.say("/locks")
    assert "1   ETH/BTC    2018-01-11 07:05  StoplossGuard <2 losses>" in locks
    assert "2   all pairs  2018-01-11 06:05  MaxDrawdown" in locks
    unlocked = await chat.say("/unlock eth")
    assert unlocked.startswith("Removed 1 lock(s) for ETH/BTC.")
    assert "ETH/BTC" not in unlocked.split("\n", 1)[1]
    assert (await chat.say("/unlock 2")).startswith("Removed 1 lock(s) for 2.")
    assert await chat.say("/locks") == "No active locks."


async def test_whitelist_and_blacklist(chat: Chat) -> None:
    whitelist = await chat.say("/whitelist")
    assert whitelist.startswith("Using whitelist StaticPairList with 5 pairs\n")
    assert "ETH/BTC" in whitelist
    assert await chat.say("/blacklist") == "Blacklist is empty."
    assert await chat.say("/blacklist xlm") == "Blacklist (1 pairs):\nXLM/BTC"
    assert (await chat.say("/blacklist NOPE/BTC")).startswith("Unknown pair NOPE/BTC")


async def test_a_blacklist_command_with_one_bad_entry_changes_nothing(chat: Chat) -> None:
    """"/blacklist ETH/USDT NaN" answered "Unknown pair" and had blacklisted ETH/USDT."""
    assert (await chat.say("/blacklist ETH/BTC NaN")).startswith("Unknown pair NAN/BTC")
    assert await chat.say("/blacklist") == "Blacklist is empty."
    await chat.say("/blacklist XLM/BTC")
    refused = await chat.say("/bl_delete XLM/BTC NOPE/BTC")
    assert refused.startswith("Not on the blacklist: NOPE/BTC")
    assert await chat.say("/blacklist") == "Blacklist (1 pairs):\nXLM/BTC"
    assert (await chat.say("/bl_delete XLM/BTC XLM/BTC")).endswith("Blacklist is empty.")
    assert await chat.say("/blacklist") == "Blacklist is empty."


async def test_logs_show_recent_lines_with_secrets_redacted() -> None:
    buffer = LogBuffer([TOKEN])
    logger = logging.getLogger("tradepilot.test")
    logger.addHandler(buffer)
    try:
        logger.warning("calling https://api.telegram.org/bot%s/getMe", TOKEN)
        async with open_chat(log_buffer=buffer) as chat:
            text = await chat.say("/logs 5")
            assert "WARNING tradepilot.test: calling https://api.telegram.org/bot***/getMe" in text
            assert TOKEN not in text
    finally:
        logger.removeHandler(buffer)


async def test_show_config_says_dry_run_and_hides_secrets(chat: Chat) -> None:
    text = await chat.say("/show_config")
    assert text.splitlines()[0] == "🧪 DRY-RUN: simulated orders, no real money."
    assert "Exchange: offline" in text
    assert TOKEN not in text


async def test_health_version_and_unknown_commands(chat: Chat) -> None:
    health = await chat.say("/health")
    assert "State: running" in health
    assert "Last iteration: 2018-01-11 05:05:00 (0s ago)" in health
    assert (await chat.say("/version")).startswith("tradepilot: 0.1.0")
    assert await chat.say("/frobnicate") == "Unknown command. Send /help for the list."


async def test_help_and_the_command_menu_come_from_the_one_table(chat: Chat) -> None:
    text = await chat.say("/help")
    for command in COMMANDS:
        assert f"/{command.name}" in text
    assert "(also /fx)" in text
    menu = [c["command"] for c in chat.tg.commands[-1]]
    assert menu == [c.name for c in COMMANDS if c.menu]


async def test_chart_sends_a_png(chat: Chat) -> None:
    await enter(chat, "ETH/BTC")
    (photo,) = await chat.send("/chart 7")
    assert photo.method == "sendphoto"
    assert photo.photo is not None
    assert photo.photo.startswith(b"\x89PNG")
    assert photo.text == "Closed profit over 7 days and 1 open trades"


async def test_a_status_over_4096_characters_arrives_as_several_valid_messages(
        chat: Chat) -> None:
    start = chat.commands.engine.clock.now() - timedelta(days=1)
    seed_trades(chat.commands.store, 12, is_open=True, start=start,
                pairs=["ETH/BTC", "LTC/BTC", "<XLM>&/BTC"])
    replies = await chat.send("/status")
    assert len(replies) > 1
    assert all(len(r.text) <= 4096 for r in replies)
    assert all(html_problem(r.text) is None for r in replies)
    joined = "\n".join(strip_html(r.text) for r in replies)
    assert [joined.count(f"Trade ID: {i} ") for i in range(1, 13)] == [1] * 12
    assert "Pair: <XLM>&/BTC" in joined


async def test_refresh_buttons_are_left_out_when_reload_is_off() -> None:
    async with open_chat(overrides={"telegram": {"reload": False}}) as chat:
        for command in ("/profit", "/daily", "/balance", "/status table"):
            (reply,) = await chat.send(command)
            assert reply.buttons == []
