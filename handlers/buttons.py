"""Inline button presses: one CallbackQueryHandler, routed by the callback data's prefix.

Every press is answered first (`query.answer()`), so the phone stops its spinner whatever
happens next; the outcome then replaces the text of the message that carried the button.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update

from core.errors import CommandError
from handlers import args as parse
from handlers.auth import verdict
from handlers.context import Call, Context, bot_context, run_guarded
from handlers.control_cmds import press_force_entry, press_force_exit, run_confirmed
from handlers.info_cmds import REFRESH_MAX, REFRESHERS
from handlers.keyboards import refresh_keyboard

_STALE = "This button is no longer valid; send the command again."


async def _confirm(call: Call, token: str) -> None:
    await run_confirmed(call, call.bot.confirmations.take(token))


async def _cancel(call: Call, token: str) -> None:
    call.bot.confirmations.take(token)
    await call.edit("Cancelled.")


async def _dismiss(call: Call, _rest: str) -> None:
    await call.edit("Cancelled.")


async def _force_exit(call: Call, rest: str) -> None:
    await press_force_exit(call, parse.whole(rest, _STALE))


async def _refresh(call: Call, rest: str) -> None:
    what, _, raw = rest.partition(":")
    render = REFRESHERS.get(what)
    if render is None:
        raise CommandError(_STALE)
    # The data comes back from the client: bounded like the command's own argument.
    arg = parse.whole(raw, _STALE, 1, REFRESH_MAX.get(what, 0)) if raw else None
    text = await render(call.bot, arg)
    stamp = f"\n\n<i>Updated: {call.bot.now():%Y-%m-%d %H:%M:%S} UTC</i>"
    await call.edit(text + stamp, refresh_keyboard(what, arg))


_ROUTES: dict[str, Callable[[Call, str], Awaitable[None]]] = {
    "confirm": _confirm,
    "cancel": _cancel,
    "dismiss": _dismiss,
    "fx": _force_exit,
    "fe": press_force_entry,
    "refresh": _refresh,
}


async def on_button(update: Update, context: Context) -> None:
    query = update.callback_query
    bot = bot_context(context.application)
    if query is None or verdict(update, bot.settings) != "owner":
        return
    await query.answer()
    prefix, _, rest = (query.data or "").partition(":")
    route = _ROUTES.get(prefix)
    call = Call(update, context, bot)

    async def handle(c: Call) -> None:
        if route is None:
            raise CommandError(_STALE)
        await route(c, rest)

    await run_guarded(call, handle, edit=True)

