"""Freqtrade's command names, aliases and layouts in the chat (issue 18, item 11), through the
real Application and the real engine, as the owner reads the replies."""

from __future__ import annotations

import pytest

from handlers.table import COMMANDS
from tests.factories import run_for
from tests.fakes.telegram import OWNER_CHAT, OWNER_USER, Chat, open_chat, strip_html

NEW_NAMES = ("stopbuy", "show_conf", "reload_conf", "forcelong", "fl", "delete_locks",
             "blacklist_delete", "bl_delete", "stats", "entries", "buys", "exits", "sells",
             "mix_tags", "order", "marketdir", "tg_info", "profit_long")


async def warm(chat: Chat) -> None:
    await run_for(chat.commands, chat.commands.engine.clock, 1)


@pytest.fixture
async def chat():
    async with open_chat() as opened:
        await warm(opened)
        yield opened


async def closed_trade(chat: Chat, pair: str = "ETH/BTC") -> None:
    entered = await chat.say(f"/forcelong {pair}")
    trade_id = entered.rsplit("#", 1)[1].rstrip(".")
    await warm(chat)
    assert await chat.say(f"/forceexit {trade_id}") == f"Exiting trade(s) #{trade_id}."
    await warm(chat)


@pytest.mark.parametrize(("command", "usage"), [
    ("/entries ETH/BTC LTC/BTC", "Usage: /entries [pair] — give nothing or one pair like ETH/BTC"),
    ("/buys a/b/c", "Usage: /entries [pair] — give nothing or one pair like ETH/BTC"),
    ("/exits 1 2", "Usage: /exits [pair] — give nothing or one pair like ETH/BTC"),
    ("/mix_tags x y", "Usage: /mix_tags [pair] — give nothing or one pair like ETH/BTC"),
    ("/stats now", "Usage: /stats"),
    ("/order one", "Usage: /order [id...] — give nothing or trade ids"),
    ("/order 1 x", "Usage: /order [id...] — give nothing or trade ids"),
    ("/marketdir up", "Usage: /marketdir [long|short|even|none] — give nothing or one of long, "
                      "short, even, none"),
    ("/marketdir long short", "Usage: /marketdir [long|short|even|none] — give nothing or one "
                              "of long, short, even, none"),
    ("/tg_info x", "Usage: /tg_info"),
    ("/balance all", "Usage: /balance [full] — give nothing or the word full"),
    ("/whitelist reversed", "Usage: /whitelist [sorted] [baseonly] — give nothing, sorted, "
                            "baseonly or both"),
    ("/profit_long x", "Usage: /profit_long [days] — days is a whole number from 1 to 3650"),
    ("/bl_delete", "Usage: /blacklist_delete <pair...> — pairs like ETH/BTC, at most 20"),
    ("/stopbuy now", "Usage: /stopentry"),
    ("/show_conf x", "Usage: /show_config"),
    ("/fl ETH/BTC cheap", "Usage: /forceenter [pair [price]] — pair like ETH/BTC, price a "
                          "positive number; on a pair with an open trade the number is the "
                          "stake to add to it"),
    ("/delete_locks", "Usage: /unlock <pair|id> — give a pair like ETH/BTC or a lock id"),
])
async def test_new_commands_answer_bad_input_with_their_usage(chat: Chat, command: str,
                                                             usage: str) -> None:
    replies = await chat.send(command)
    assert [strip_html(r.text) for r in replies] == [usage]


async def test_freqtrades_aliases_run_the_same_commands(chat: Chat) -> None:
    assert await chat.say("/forcelong ETH/BTC") == "Entering ETH/BTC: trade #1."
    assert await chat.say("/fl ltc") == "Entering LTC/BTC: trade #2."
    assert await chat.say("/delete_locks ETH/BTC") == "No active lock for ETH/BTC."
    assert (await chat.say("/show_conf")).startswith("🧪 DRY-RUN")
    assert await chat.say("/reload_conf") == "Reload is not available in this run."
    assert (await chat.say("/stopbuy")).startswith("Paused")
    assert await chat.say("/stopbuy") == "Already paused."


async def test_help_and_the_menu_list_every_freqtrade_name(chat: Chat) -> None:
    text = await chat.say("/help")
    for name in NEW_NAMES:
        assert f"/{name}" in text
    menu = {c["command"] for c in chat.tg.commands[-1]}
    assert {"stats", "entries", "exits", "mix_tags", "order", "marketdir", "tg_info",
            "profit_long", "blacklist_delete"} <= menu
    assert {c.name for c in COMMANDS} >= {"blacklist_delete", "tg_info"}


async def test_entries_exits_and_mix_tags_group_closed_trades(chat: Chat) -> None:
    assert await chat.say("/entries") == "No closed trades yet."
    await closed_trade(chat, "ETH/BTC")
    await closed_trade(chat, "LTC/BTC")

    entries = (await chat.say("/entries")).splitlines()
    assert entries[0] == "Entry Tag Performance:"
    assert entries[1].startswith("1. force_entry ")
    assert entries[1].endswith(" (2)")
    exits = (await chat.say("/sells")).splitlines()
    assert exits[0] == "Exit Reason Performance:"
    assert exits[1].startswith("1. force_exit ")
    (reply,) = await chat.send("/exits")
    assert reply.buttons == [("🔄 Refresh", "refresh:exits:")]
    (edit,) = await chat.press("refresh:exits:", reply)
    assert strip_html(edit.text).startswith("Exit Reason Performance:\n1. force_exit ")
    mixed = (await chat.say("/mix_tags ltc")).splitlines()
    assert mixed[0] == "Mix Tag Performance:"
    assert mixed[1].startswith("1. force_entry force_exit ")
    assert mixed[1].endswith(" (1)")


async def test_stats_counts_exits_per_reason_and_mean_durations(chat: Chat) -> None:
    assert await chat.say("/stats") == "No trades yet."
    await closed_trade(chat)

    text = await chat.say("/stats")
    assert "Exit Reason  Exits  Wins  Losses" in text
    assert "Force Exit   1" in text
    assert "Avg. Duration" in text
    assert "Wins" in text
    assert "Losses" in text


async def test_order_lists_the_filled_orders_of_a_trade(chat: Chat) -> None:
    assert await chat.say("/order") == "No open trades."
    await closed_trade(chat)
    await chat.say("/forcelong LTC/BTC")
    await warm(chat)
    open_orders = await chat.say("/order")
    assert open_orders.startswith("Order List for Trade #2 (LTC/BTC)")
    assert "Exit #" not in open_orders

    text = await chat.say("/order 1")
    lines = text.splitlines()
    assert lines[0] == "Order List for Trade #1 (ETH/BTC)"
    assert "Entry #1:" in lines
    assert "Exit #2:" in lines
    assert any(line.startswith("Amount: ") and line.endswith(" BTC)") for line in lines)
    assert any(line.startswith("Average Exit Price: ") and "from 1st entry rate" in line
               for line in lines)
    assert await chat.say("/order 9") == "No trade with id 9."


async def test_marketdir_says_what_it_means_on_a_spot_long_only_bot(chat: Chat) -> None:
    shown = await chat.say("/marketdir")
    assert shown.startswith("Market direction: none.")
    assert "spot, long only" in shown
    refused = await chat.say("/marketdir long")
    assert refused.startswith("Market direction not changed: this bot trades spot, long only")


async def test_tg_info_gives_the_ids_for_the_config(chat: Chat) -> None:
    text = await chat.say("/tg_info")
    assert f"chat_id: {OWNER_CHAT}" in text
    assert f"user_id: {OWNER_USER}" in text


async def test_balance_shows_bot_managed_assets_and_full_shows_all(chat: Chat) -> None:
    await chat.say("/forcelong ETH/BTC")
    assert "ETH:" in await chat.say("/balance")
    # The trade leaves the database; its coins stay in the account, no longer the bot's.
    chat.commands.store.delete_trade(chat.commands.store.trade(1))

    managed = await chat.say("/balance")
    assert "ETH:" not in managed
    assert "Estimated Value (Bot managed assets only):" in managed
    (full,) = await chat.send("/balance full")
    assert "ETH:" in strip_html(full.text)
    assert "Bot Owned: 0" in strip_html(full.text)
    assert "Estimated Value:" in strip_html(full.text)
    assert full.buttons == [("🔄 Refresh", "refresh:balance:1")]
    (edit,) = await chat.press("refresh:balance:1", full)
    assert "ETH:" in strip_html(edit.text)


async def test_whitelist_sorted_and_baseonly(chat: Chat) -> None:
    pairs = chat.commands.whitelist()
    sorted_text = await chat.say("/whitelist sorted")
    assert sorted_text.endswith(", ".join(sorted(pairs)))
    base = await chat.say("/whitelist baseonly sorted")
    assert base.endswith(", ".join(sorted(p.split("/")[0] for p in pairs)))


async def test_profit_long_is_the_whole_profit_on_spot(chat: Chat) -> None:
    await closed_trade(chat)
    (reply,) = await chat.send("/profit_long 30")
    text = strip_html(reply.text)
    assert text.startswith("Long trades (spot: every trade is long)")
    assert "ROI: Closed trades" in text
    assert reply.buttons == [("🔄 Refresh", "refresh:profit_long:30")]


async def test_blacklist_delete_takes_pairs_off(chat: Chat) -> None:
    await chat.say("/blacklist xlm ltc")
    assert await chat.say("/bl_delete XLM") == ("Removed XLM/BTC from the blacklist.\n"
                                                "Blacklist (1 pairs):\nLTC/BTC")
    assert await chat.say("/blacklist_delete XLM/BTC") == "Not on the blacklist: XLM/BTC."
    assert chat.commands.blacklist() == ["LTC/BTC"]


async def test_status_shows_amounts_with_eight_decimals_whatever_their_size(chat: Chat) -> None:
    await chat.say("/forcelong ETH/BTC")
    store = chat.commands.store
    trade = store.trade(1)
    trade.amount = 1234.56789012
    store.write(trade)

    assert "Amount: 1234.56789012 ETH" in await chat.say("/status 1")


async def test_show_config_shows_roi_stoploss_pricing_and_timeframe_as_freqtrade(
        chat: Chat) -> None:
    lines = (await chat.say("/show_config")).splitlines()

    assert lines[0] == "🧪 DRY-RUN: simulated orders, no real money."
    for line in ("Mode: Dry-run", "Exchange: offline", "Market: spot",
                 "Stake per trade: 0.05 BTC", "Max open Trades: 3",
                 "Minimum ROI: {'0': 0.04, '60': 0.02, '120': 0.0}", "Stoploss: -0.05",
                 "Position adjustment: Off", "Timeframe: 5m", "Current state: running"):
        assert line in lines
    entry = next(line for line in lines if line.startswith("Entry strategy: "))
    assert '"price_side": "same"' in entry
    assert any(line.startswith("Exit strategy: {") for line in lines)
