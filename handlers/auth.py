"""Deny by default: only the owner's chat (and, when configured, only the listed users in it)
can run commands or press buttons. Nothing else gets a reply or has an effect.

Two layers. A `TypeHandler` in group -1 sees every update first: strangers are logged with
their ids and stopped there. Every command handler also carries `command_filter`, so a handler
registered without the gate still refuses strangers. Edited and forwarded messages from the
owner are ignored too: an edit of an old "/forceexit 3" or a forwarded "/stop" was not typed as
a command now.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any, Literal

from telegram import Update
from telegram.ext import ApplicationHandlerStop, CallbackContext, filters

from core.errors import ConfigError
from engine.settings import Settings

logger = logging.getLogger(__name__)

# The chat the offline console transport speaks as when no TELEGRAM_CHAT_ID is set.
DEMO_CHAT_ID = 1000001
DEMO_USER_ID = 1000001

Verdict = Literal["owner", "ignored", "stranger"]
MAX_WARNED_STRANGERS = 1000


def owner_chat_id(settings: Settings) -> int:
    if settings.telegram_chat_id is not None:
        return settings.telegram_chat_id
    if settings.secrets.telegram_token:
        raise ConfigError("TELEGRAM_CHAT_ID: required when TELEGRAM_TOKEN is set; expected the "
                          "numeric id of the owner's chat")
    return DEMO_CHAT_ID


def command_filter(settings: Settings) -> filters.BaseFilter:
    """New, unforwarded messages in the owner chat, from an authorized user when listed."""
    allowed = (filters.UpdateType.MESSAGE & filters.Chat(chat_id=owner_chat_id(settings))
               & ~filters.FORWARDED)
    if settings.telegram.authorized_users:
        allowed = allowed & filters.User(user_id=list(settings.telegram.authorized_users))
    return allowed


def verdict(update: Update, settings: Settings) -> Verdict:
    chat = update.effective_chat
    if chat is None or chat.id != owner_chat_id(settings):
        return "stranger"
    users = settings.telegram.authorized_users
    if users and (update.effective_user is None or update.effective_user.id not in users):
        return "stranger"
    if update.callback_query is not None:
        return "owner"
    if update.message is not None and update.message.forward_origin is None:
        return "owner"
    return "ignored"


Gate = Callable[[Update, CallbackContext[Any, Any, Any, Any]], Coroutine[Any, Any, None]]


def make_gate(settings: Settings) -> Gate:
    """The group -1 handler callback that stops every update not from the owner."""

    warned: set[tuple[int | None, int | None]] = set()

    async def gate(update: Update, _context: CallbackContext[Any, Any, Any, Any]) -> None:
        found = verdict(update, settings)
        if found == "owner":
            return
        user = update.effective_user
        chat = update.effective_chat
        if found == "stranger":
            who = (user.id if user else None, chat.id if chat else None)
            # A warning for each new stranger; a stranger's flood must not flood the log.
            first = who not in warned and len(warned) < MAX_WARNED_STRANGERS
            if first:
                warned.add(who)
            logger.log(logging.WARNING if first else logging.DEBUG,
                       "refused update %s from user %s in chat %s", update.update_id, *who)
        else:
            logger.info("ignored update %s (edited, forwarded or not a command) in chat %s",
                        update.update_id, chat.id if chat else None)
        raise ApplicationHandlerStop

    return gate
