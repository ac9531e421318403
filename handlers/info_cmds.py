"""Commands that only show things: trades, profit, periods, balance, lists, logs, config, health,
version and the chart. None of them changes the bot.

Replies that can be refreshed in place are rendered by the functions in REFRESHERS, so the
command and its Refresh button show exactly the same text.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import tomllib
from collections.abc import Awaitable, Callable
from pathlib import Path

from engine.control.api import MAX_SPAN, PeriodUnit, TagKind
from handlers import args as parse
from handlers.chart import render_chart
from handlers.context import BotContext, Call
from handlers.format import esc, field, whitelist_text
from handlers.format_reports import (
    balance_text,
    config_text,
    health_text,
    periods_text,
    profit_text,
)
from handlers.format_stats import tag_performance_text
from handlers.format_trades import (
    count_text,
    locks_text,
    performance_text,
    status_table_text,
    status_text,
    trades_text,
)
from handlers.keyboards import refresh_keyboard

TAG_COMMANDS: dict[str, TagKind] = {"entries": "enter_tag", "exits": "exit_reason",
                                     "mix_tags": "mix"}
PERIODS: dict[str, tuple[PeriodUnit, int, int]] = {
    # command: (unit, default count, maximum count)
    "daily": ("day", 7, 365),
    "weekly": ("week", 8, 104),
    "monthly": ("month", 6, 60),
}


async def _status_table(bot: BotContext, _arg: int | None) -> str:
    return status_table_text(bot.control.status(), bot.now())


async def _profit(bot: BotContext, days: int | None) -> str:
    return profit_text(bot.control.profit(days), bot.control.fiat())


async def _profit_long(bot: BotContext, days: int | None) -> str:
    # Spot, long only: every trade is a long one, so the long profit is the whole profit.
    return "<b>Long trades</b> (spot: every trade is long)\n\n" + await _profit(bot, days)


async def _balance(bot: BotContext, arg: int | None) -> str:
    return balance_text(await bot.control.balance(), bot.settings.telegram.balance_dust_level,
                        full=bool(arg), fiat=bot.control.fiat())


def _period(command: str) -> Callable[[BotContext, int | None], Awaitable[str]]:
    unit, default, _ = PERIODS[command]

    async def render(bot: BotContext, count: int | None) -> str:
        return periods_text(bot.control.periods(unit, count or default), bot.control.fiat())

    return render


def _tags(by: TagKind) -> Callable[[BotContext, int | None], Awaitable[str]]:
    async def render(bot: BotContext, _arg: int | None) -> str:
        return tag_performance_text(by, bot.control.tag_performance(by),
                                    bot.control.stake_currency)

    return render


REFRESHERS: dict[str, Callable[[BotContext, int | None], Awaitable[str]]] = {
    "status_table": _status_table,
    "profit": _profit,
    "profit_long": _profit_long,
    "balance": _balance,
    **{name: _period(name) for name in PERIODS},
    **{name: _tags(by) for name, by in TAG_COMMANDS.items()},
}
PROFIT_MAX_DAYS = MAX_SPAN
# The largest argument a Refresh button may carry: the command's own limit (none: no argument).
REFRESH_MAX: dict[str, int] = {"profit": PROFIT_MAX_DAYS, "profit_long": PROFIT_MAX_DAYS,
                               "balance": 1,
                               **{name: limits[2] for name, limits in PERIODS.items()}}


async def _reply_refreshable(call: Call, what: str, arg: int | None) -> None:
    text = await REFRESHERS[what](call.bot, arg)
    keyboard = refresh_keyboard(what, arg) if call.bot.settings.telegram.reload else None
    await call.reply(text, keyboard)


async def cmd_status(call: Call) -> None:
    target = parse.status_target(call.args, call.usage)
    if target == "table":
        await _reply_refreshable(call, "status_table", None)
        return
    trades = call.control.status(target or None)
    await call.reply(status_text(trades, call.bot.now()))


async def cmd_trades(call: Call) -> None:
    count = parse.optional_whole(call.args, call.usage, 1, 100) or 10
    await call.reply(trades_text(call.control.trades(count), call.bot.now()))


def tag_command(command: str) -> Callable[[Call], Awaitable[None]]:
    """/entries, /exits or /mix_tags [pair]: closed trades by enter tag, exit reason or both;
    all pairs with a Refresh button, as in Freqtrade."""
    by = TAG_COMMANDS[command]

    async def run(call: Call) -> None:
        pair = parse.optional_pair(call.args, call.usage, call.control.stake_currency)
        if pair is None:
            await _reply_refreshable(call, command, None)
            return
        rows = call.control.tag_performance(by, pair)
        await call.reply(tag_performance_text(by, rows, call.control.stake_currency))

    return run


async def cmd_profit(call: Call) -> None:
    days = parse.optional_whole(call.args, call.usage, 1, PROFIT_MAX_DAYS)
    await _reply_refreshable(call, "profit", days)


async def cmd_profit_long(call: Call) -> None:
    days = parse.optional_whole(call.args, call.usage, 1, PROFIT_MAX_DAYS)
    await _reply_refreshable(call, "profit_long", days)


def period_command(command: str) -> Callable[[Call], Awaitable[None]]:
    """/daily, /weekly or /monthly [n]."""
    _, _, maximum = PERIODS[command]

    async def run(call: Call) -> None:
        count = parse.optional_whole(call.args, call.usage, 1, maximum)
        await _reply_refreshable(call, command, count)

    return run


async def cmd_performance(call: Call) -> None:
    parse.no_args(call.args, call.usage)
    await call.reply(performance_text(call.control.performance(), call.control.stake_currency))


async def cmd_balance(call: Call) -> None:
    full = "full" in parse.options(call.args, call.usage, ("full",))
    await _reply_refreshable(call, "balance", 1 if full else None)


async def cmd_count(call: Call) -> None:
    parse.no_args(call.args, call.usage)
    await call.reply(count_text(call.control.count()))


async def cmd_locks(call: Call) -> None:
    parse.no_args(call.args, call.usage)
    await call.reply(locks_text(call.control.locks()))


def _pairs_text(title: str, pairs: list[str]) -> str:
    if not pairs:
        return f"<b>{title}</b> is empty."
    listed = ", ".join(f"<code>{esc(p)}</code>" for p in pairs)
    return f"<b>{title}</b> ({len(pairs)} pairs):\n{listed}"


async def cmd_whitelist(call: Call) -> None:
    shown = parse.options(call.args, call.usage, ("sorted", "baseonly"))
    await call.reply(whitelist_text(call.control.whitelist_view(), sort="sorted" in shown,
                                    base_only="baseonly" in shown))


async def cmd_blacklist(call: Call) -> None:
    added = parse.pair_list(call.args, call.usage, call.control.stake_currency)
    await call.reply(_pairs_text("Blacklist", call.control.blacklist(added or None)))


async def cmd_logs(call: Call) -> None:
    count = parse.optional_whole(call.args, call.usage, 1, 100) or 10
    if call.bot.log_buffer is None:
        await call.reply("Logs are not collected in this run.")
        return
    lines = call.bot.log_buffer.tail(count)
    if not lines:
        await call.reply("No log records yet.")
        return
    await call.reply("\n".join(f"<code>{esc(line)}</code>" for line in lines))


async def cmd_show_config(call: Call) -> None:
    parse.no_args(call.args, call.usage)
    control = call.control
    await call.reply(config_text(control.show_config(), control.dry_run, control.state))


async def cmd_health(call: Call) -> None:
    parse.no_args(call.args, call.usage)
    await call.reply(health_text(call.control.health(), call.bot.now()))


async def cmd_version(call: Call) -> None:
    parse.no_args(call.args, call.usage)
    lines = [field("tradepilot", esc(call.bot.version)),
             field("Strategy", esc(call.bot.settings.strategy))]
    await call.reply("\n".join(lines))


async def cmd_chart(call: Call) -> None:
    days = parse.optional_whole(call.args, call.usage, 1, MAX_SPAN) or 30
    series = call.control.closed_profit_series(days)
    trades = call.control.status()
    currency = call.control.stake_currency
    png = await asyncio.to_thread(render_chart, series, trades, currency, days)
    await call.reply_photo(png, f"Closed profit over {days} days and {len(trades)} open trades")


def version() -> str:
    """The installed package version, or the checkout's pyproject version."""
    try:
        return importlib.metadata.version("tradepilot")
    except importlib.metadata.PackageNotFoundError:
        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
