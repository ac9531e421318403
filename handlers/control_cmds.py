"""Commands that change what the bot does: start/stop/pause/reload, forced exits and entries,
order cancels, trade deletion, unlocks and the blacklist.

Destructive commands (/stop, /forceexit all, /delete) and an addition to an open trade
(/forceenter on its pair) only ask here; the action runs when the
confirmation button is pressed (`run_confirmed`), once, and only before it expires.
"""

from __future__ import annotations

from core.errors import CommandError
from handlers import args as parse
from handlers.context import Call
from handlers.format import esc
from handlers.format_trades import locks_text
from handlers.keyboards import confirm_keyboard, pairs_keyboard, trades_keyboard

FORCE_ENTRY_DISABLED = ("Forced entries are disabled: set \"force_entry_enable\": true in the "
                        "config and /reload.")


async def cmd_start(call: Call) -> None:
    parse.no_args(call.args, call.usage)
    await call.reply(esc((await call.control.start()).text))


async def cmd_stop(call: Call) -> None:
    parse.no_args(call.args, call.usage)
    token = call.bot.confirmations.issue("stop")
    await call.reply(
        "<b>Stop trading?</b> No new entries and no strategy exits; stoplosses keep "
        "protecting open trades. /start resumes.",
        confirm_keyboard(token, "Yes, stop"),
    )


async def cmd_pause(call: Call) -> None:
    parse.no_args(call.args, call.usage)
    await call.reply(esc((await call.control.pause()).text))


async def cmd_reload(call: Call) -> None:
    parse.no_args(call.args, call.usage)
    await call.reply(esc((await call.control.reload()).text))


async def cmd_forceexit(call: Call) -> None:
    if len(call.args) == 2:  # an id and an amount: sell that much of the trade
        amount = parse.price_of(call.args[1], call.usage)
        trade_id = parse.whole(call.args[0], call.usage)
        await call.reply(esc((await call.control.force_exit(trade_id, amount)).text))
        return
    target = parse.exit_target(call.args, call.usage)
    if target is None:
        trades = call.control.status()
        if not trades:
            await call.reply("No open trades.")
            return
        await call.reply("Which trade should be exited?", trades_keyboard(trades, call.bot.now()))
    elif target == "all":
        count = len(call.control.status())
        if not count:
            await call.reply("No open trades.")
            return
        token = call.bot.confirmations.issue("fx:all")
        await call.reply(f"<b>Exit all {count} open trades</b> at the current exit rate?",
                         confirm_keyboard(token, "Yes, exit all"))
    else:
        await call.reply(esc((await call.control.force_exit(target)).text))


async def cmd_forceenter(call: Call) -> None:
    if not call.bot.settings.force_entry_enable:
        raise CommandError(FORCE_ENTRY_DISABLED)
    parsed = parse.entry_args(call.args, call.usage, call.control.stake_currency)
    if parsed is None:
        pairs = call.control.entry_pair_choices()
        if not pairs:
            await call.reply("No pair is free for a forced entry.")
            return
        await call.reply("Which pair should be entered?", pairs_keyboard(pairs))
        return
    pair, number = parsed
    held = next((t for t in call.control.status() if t.pair == pair), None)
    if held is None:
        await call.reply(esc((await call.control.force_entry(pair, number)).text))
        return
    if number is None:
        raise CommandError(f"{pair} has trade #{held.id} open: /forceenter {pair} STAKE adds "
                           "that stake to it.")
    token = call.bot.confirmations.issue(f"add:{held.id}:{number!r}")
    await call.reply(f"<b>Add {number:.8g} {esc(held.stake_currency)} to trade #{held.id} "
                     f"({esc(pair)})</b> at the current entry rate?",
                     confirm_keyboard(token, f"Yes, add to #{held.id}"))


async def cmd_cancel_open_order(call: Call) -> None:
    trade_id = parse.trade_id(call.args, call.usage)
    await call.reply(esc((await call.control.cancel_open_order(trade_id)).text))


async def cmd_delete(call: Call) -> None:
    trade_id = parse.trade_id(call.args, call.usage)
    trades = call.control.status([trade_id])
    if not trades:
        raise CommandError(f"No trade with id {trade_id}.")
    trade = trades[0]
    token = call.bot.confirmations.issue(f"delete:{trade_id}")
    await call.reply(
        f"<b>Delete trade #{trade.id} ({esc(trade.pair)})</b> from the database? Its open "
        "orders are cancelled; coins left on the exchange are yours to handle.",
        confirm_keyboard(token, f"Yes, delete #{trade.id}"),
    )


async def cmd_unlock(call: Call) -> None:
    target = parse.pair_or_lock_id(call.args, call.usage, call.control.stake_currency)
    result = call.control.unlock(target)
    await call.reply(esc(result.text) + "\n\n" + locks_text(call.control.locks()))


async def cmd_blacklist_delete(call: Call) -> None:
    pairs = parse.blacklisted_pairs(call.args, call.usage, call.control.stake_currency)
    left = call.control.blacklist_delete(pairs)
    text = f"Removed {', '.join(pairs)} from the blacklist."
    await call.reply(esc(text) + "\n" + (f"<b>Blacklist</b> ({len(left)} pairs):\n" + ", ".join(
        f"<code>{esc(p)}</code>" for p in left) if left else "<b>Blacklist</b> is empty."))


async def run_confirmed(call: Call, action: str) -> None:
    """Carry out a confirmed destructive action and show the outcome in place of the question."""
    if action == "stop":
        result = await call.control.stop()
    elif action == "fx:all":
        result = await call.control.force_exit("all")
    elif action.startswith("add:"):
        trade_id, _, stake = action.removeprefix("add:").partition(":")
        result = await call.control.add_to_trade(int(trade_id), float(stake))
    elif action.startswith("delete:"):
        result = await call.control.delete_trade(int(action.removeprefix("delete:")))
    else:
        raise CommandError("This button is no longer valid; send the command again.")
    await call.edit(esc(result.text))


async def press_force_exit(call: Call, trade_id: int) -> None:
    await call.edit(esc((await call.control.force_exit(trade_id)).text))


async def press_force_entry(call: Call, pair: str) -> None:
    if not call.bot.settings.force_entry_enable:
        raise CommandError(FORCE_ENTRY_DISABLED)
    await call.edit(esc((await call.control.force_entry(pair)).text))
