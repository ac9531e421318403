"""Freqtrade's statistics and chat-info commands: /stats, /order, /marketdir and /tg_info.
None of them changes the bot.
"""

from __future__ import annotations

from core.errors import CommandError
from handlers import args as parse
from handlers.context import Call
from handlers.format import esc, field
from handlers.format_stats import orders_text, stats_text

MARKET_DIRECTIONS = ("long", "short", "even", "none")
MARKETDIR_HERE = ("Market direction: <b>none</b>. In Freqtrade, /marketdir sets a variable that "
                  "a strategy may read to favour longs or shorts. This bot trades spot, long "
                  "only, and its strategies have no market direction to read.")


async def cmd_stats(call: Call) -> None:
    parse.no_args(call.args, call.usage)
    await call.reply(stats_text(call.control.stats()))


async def cmd_order(call: Call) -> None:
    ids = parse.trade_ids(call.args, call.usage)
    trades = call.control.orders(ids or None)
    await call.reply(orders_text(trades) if trades else "No open trades.")


async def cmd_marketdir(call: Call) -> None:
    if len(call.args) > 1 or (call.args and call.args[0].lower() not in MARKET_DIRECTIONS):
        raise CommandError(call.usage)
    if call.args:
        raise CommandError(f"Market direction not changed: this bot trades spot, long only, "
                           f"and no strategy here reads a market direction, so "
                           f"'{call.args[0].lower()}' would change nothing.")
    await call.reply(MARKETDIR_HERE)


async def cmd_tg_info(call: Call) -> None:
    """The ids to put in the config: this chat's, the forum topic's, the sender's."""
    parse.no_args(call.args, call.usage)
    message = call.update.effective_message
    user = call.update.effective_user
    lines = ["<b>Telegram chat info</b>", field("chat_id", f"<code>{call.chat_id}</code>")]
    if message is not None and message.message_thread_id is not None:
        lines.append(field("topic_id", f"<code>{message.message_thread_id}</code>"))
    if user is not None:
        lines.append(field("user_id", f"<code>{user.id}</code> (for authorized_users)"))
    lines.append(esc("Set TELEGRAM_CHAT_ID to the chat_id."))
    await call.reply("\n".join(lines))
