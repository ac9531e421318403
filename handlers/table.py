"""The one command table. It drives the handlers PTB registers, the command menu Telegram shows
(`set_my_commands`) and /help, so the three can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from engine.control.api import MAX_SPAN
from handlers import control_cmds as control
from handlers import info_cmds as info
from handlers import stats_cmds as stats
from handlers.context import Call, Context, Handler, bot_context, run_guarded, usage_line
from handlers.format import esc


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    handler: Handler
    help: str
    args: str = ""  # shown after the name: "[n]", "<id|all>"
    hint: str = ""  # what the arguments must be, for the usage line
    aliases: tuple[str, ...] = ()
    menu: bool = True  # listed in Telegram's command menu

    @property
    def usage(self) -> str:
        return usage_line(self.name, self.args, self.hint)


async def cmd_help(call: Call) -> None:
    await call.reply(help_text(COMMANDS))


_N100 = "n is a whole number from 1 to 100"
_PAIR = "give nothing or one pair like ETH/BTC"
COMMANDS: tuple[Command, ...] = (
    Command("status", info.cmd_status, "open trades, or the given trades",
            "[table|id...]", "give no argument, the word table, or trade ids"),
    Command("trades", info.cmd_trades, "the latest closed trades", "[n]", _N100),
    Command("profit", info.cmd_profit, "profit summary, optionally of the last days",
            "[days]", f"days is a whole number from 1 to {MAX_SPAN}"),
    Command("profit_long", info.cmd_profit_long, "profit of long trades (spot: all of them)",
            "[days]", f"days is a whole number from 1 to {MAX_SPAN}"),
    Command("daily", info.period_command("daily"), "profit per day", "[n]",
            "n is a whole number from 1 to 365"),
    Command("weekly", info.period_command("weekly"), "profit per week", "[n]",
            "n is a whole number from 1 to 104"),
    Command("monthly", info.period_command("monthly"), "profit per month", "[n]",
            "n is a whole number from 1 to 60"),
    Command("performance", info.cmd_performance, "profit per pair"),
    Command("entries", info.tag_command("entries"), "profit per enter tag", "[pair]",
            _PAIR, aliases=("buys",)),
    Command("exits", info.tag_command("exits"), "profit per exit reason", "[pair]",
            _PAIR, aliases=("sells",)),
    Command("mix_tags", info.tag_command("mix_tags"), "profit per enter tag and exit reason",
            "[pair]", _PAIR),
    Command("stats", stats.cmd_stats, "exits per reason, wins and losses, mean durations"),
    Command("order", stats.cmd_order, "the filled orders of open trades, or of the given ones",
            "[id...]", "give nothing or trade ids"),
    Command("balance", info.cmd_balance, "bot-managed balances; full: every currency",
            "[full]", "give nothing or the word full"),
    Command("count", info.cmd_count, "open trades against the limit"),
    Command("locks", info.cmd_locks, "active pair locks"),
    Command("chart", info.cmd_chart, "chart of profit and open positions", "[days]",
            f"days is a whole number from 1 to {MAX_SPAN}"),
    Command("start", control.cmd_start, "start trading"),
    Command("stop", control.cmd_stop, "stop entries and strategy exits (asks first)"),
    Command("stopentry", control.cmd_pause, "stop opening trades; exits continue",
            aliases=("pause", "stopbuy")),
    Command("reload", control.cmd_reload, "re-read the config and the strategy",
            aliases=("reload_config", "reload_conf")),
    Command("forceexit", control.cmd_forceexit, "exit a trade now (asks first for all)",
            "[id [amount]|all]",
            "give a trade id (and an amount to sell only part), the word all, or nothing "
            "to pick",
            aliases=("fx",)),
    Command("forceenter", control.cmd_forceenter, "open a trade now, or add to one",
            "[pair [price]]",
            "pair like ETH/BTC, price a positive number; on a pair with an open trade the "
            "number is the stake to add to it",
            aliases=("forcelong", "fl", "forcebuy")),
    Command("cancel_open_order", control.cmd_cancel_open_order, "cancel a trade's open order",
            "<id>", "id is a trade id", aliases=("coo",)),
    Command("delete", control.cmd_delete, "delete a trade from the database (asks first)",
            "<id>", "id is a trade id"),
    Command("unlock", control.cmd_unlock, "remove the locks of a pair, or one lock",
            "<pair|id>", "give a pair like ETH/BTC or a lock id", aliases=("delete_locks",)),
    Command("whitelist", info.cmd_whitelist, "pairs the bot trades", "[sorted] [baseonly]",
            "give nothing, sorted, baseonly or both"),
    Command("blacklist", info.cmd_blacklist, "show the blacklist, or add pairs to it",
            "[pair...]", "pairs like ETH/BTC, at most 20"),
    Command("blacklist_delete", control.cmd_blacklist_delete, "take pairs off the blacklist",
            "<pair...>", "pairs like ETH/BTC, at most 20", aliases=("bl_delete",)),
    Command("marketdir", stats.cmd_marketdir, "Freqtrade's market direction (spot here: none)",
            "[long|short|even|none]", "give nothing or one of long, short, even, none"),
    Command("logs", info.cmd_logs, "the latest log lines", "[n]", _N100),
    Command("show_config", info.cmd_show_config, "mode (LIVE or DRY-RUN) and settings",
            aliases=("show_conf",)),
    Command("health", info.cmd_health, "last iteration and uptime"),
    Command("version", info.cmd_version, "version of tradepilot"),
    Command("tg_info", stats.cmd_tg_info, "the ids of this chat, topic and user"),
    Command("help", cmd_help, "this list"),
)


def help_text(commands: Sequence[Command]) -> str:
    lines = ["<b>Commands</b>"]
    for command in commands:
        name = f"/{command.name}" + (f" {command.args}" if command.args else "")
        line = f"{esc(name)} — {esc(command.help)}"
        if command.aliases:
            line += " (also " + ", ".join(f"/{a}" for a in command.aliases) + ")"
        lines.append(line)
    return "\n".join(lines)


def menu(commands: Sequence[Command]) -> list[BotCommand]:
    return [BotCommand(c.name, c.help) for c in commands if c.menu]


def _adapter(command: Command) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
    async def run(update: Update, context: Context) -> None:
        call = Call(update, context, bot_context(context.application), command.usage)
        await run_guarded(call, command.handler)

    return run


async def _unknown(update: Update, context: Context) -> None:
    call = Call(update, context, bot_context(context.application))
    await call.reply("Unknown command. Send /help for the list.")


def register(app: Application[Any, Any, Any, Any, Any, Any],
             allowed: filters.BaseFilter) -> None:
    """One handler per command (aliases included), each behind the owner filter."""
    for command in COMMANDS:
        names = (command.name, *command.aliases)
        app.add_handler(CommandHandler(names, _adapter(command), filters=allowed))
    app.add_handler(MessageHandler(allowed & filters.COMMAND, _unknown))
