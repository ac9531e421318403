"""What every command handler shares: the bot's collaborators, one call's context, and the
reply helpers that escape, split and send.

Handlers are `async def cmd(call: Call) -> None`: parse `call.args`, make one call of the
command API (`call.control`), format, `await call.reply(...)`. A CommandError (a usage line or
an engine refusal) becomes the reply text as it is; anything else goes on to the application's
error handler.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, CallbackContext

from core.clock import Clock
from core.errors import CommandError
from engine.control.api import Control
from engine.settings import Settings
from handlers.format import esc, split_message
from handlers.keyboards import Confirmations
from handlers.logbuffer import LogBuffer

logger = logging.getLogger(__name__)

BOT_DATA_KEY = "tradepilot"
Context = CallbackContext[Any, Any, Any, Any]


@dataclass(slots=True)
class BotContext:
    """The bot's collaborators, stored once in `application.bot_data`."""

    control: Control  # the command API (engine.control.commands.Commands)
    settings: Settings
    clock: Clock
    owner_chat_id: int
    confirmations: Confirmations
    log_buffer: LogBuffer | None = None
    version: str = "unknown"

    def now(self) -> datetime:
        return self.clock.now()


def bot_context(app: Application[Any, Any, Any, Any, Any, Any]) -> BotContext:
    found = app.bot_data[BOT_DATA_KEY]
    if not isinstance(found, BotContext):
        raise TypeError("application.bot_data has no tradepilot BotContext")
    return found


@dataclass(frozen=True, slots=True)
class Call:
    """One command or button press being answered."""

    update: Update
    context: Context
    bot: BotContext
    usage: str = ""

    @property
    def args(self) -> list[str]:
        return list(self.context.args or [])

    @property
    def control(self) -> Control:
        return self.bot.control

    @property
    def chat_id(self) -> int:
        chat = self.update.effective_chat
        return chat.id if chat is not None else self.bot.owner_chat_id

    async def reply(self, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
        """Send `text` (HTML), split at Telegram's limit; the keyboard goes on the last part."""
        parts = split_message(text)
        for index, part in enumerate(parts):
            markup = keyboard if index == len(parts) - 1 else None
            await self.context.bot.send_message(
                self.chat_id, part, parse_mode=ParseMode.HTML, reply_markup=markup
            )

    async def reply_photo(self, png: bytes, caption: str) -> None:
        await self.context.bot.send_photo(
            self.chat_id, png, caption=caption, parse_mode=ParseMode.HTML
        )

    async def edit(self, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
        """Replace the text of the message that carried the pressed button."""
        query = self.update.callback_query
        if query is None or not isinstance(query.message, Message):
            await self.reply(text, keyboard)
            return
        parts = split_message(text)
        await _edit(query, parts[0], keyboard if len(parts) == 1 else None)
        for index, part in enumerate(parts[1:], start=2):
            markup = keyboard if index == len(parts) else None
            await self.context.bot.send_message(
                self.chat_id, part, parse_mode=ParseMode.HTML, reply_markup=markup
            )


async def _edit(query: CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
    except BadRequest as exc:
        # Two refreshes within one second render the same text; Telegram refuses the no-op.
        if "not modified" not in str(exc).lower():
            raise


Handler = Callable[[Call], Awaitable[None]]


async def run_guarded(call: Call, handler: Handler, *, edit: bool = False) -> None:
    """Run one handler; a CommandError is the answer the user reads."""
    try:
        await handler(call)
    except CommandError as exc:
        logger.info("command refused: %s", exc)
        text = esc(str(exc))
        await (call.edit(text) if edit else call.reply(text))


def usage_line(name: str, args: str, hint: str) -> str:
    """The one-line answer to a malformed argument."""
    line = f"Usage: /{name}" + (f" {args}" if args else "")
    return line + (f" — {hint}" if hint else "")
