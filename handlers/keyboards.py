"""Inline keyboards and the one-shot confirmation tokens behind destructive buttons.

Callback data is short and typed by its prefix: `fx:<trade_id>`, `fe:<pair>`,
`confirm:<token>`, `cancel:<token>`, `refresh:<what>:<arg>` and `dismiss`.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from core.errors import CommandError
from engine.control.views import TradeView
from handlers.format_trades import trade_button_label

CONFIRM_TTL_SECONDS = 60.0
PAIRS_PER_ROW = 3


@dataclass(frozen=True, slots=True)
class _Pending:
    action: str
    expires: float


class Confirmations:
    """Tokens for "are you sure?" buttons: each acts once, and only within its lifetime.

    Telegram delivers a second press of the same button as a second callback query, so the
    token is consumed by the first; the second finds it used and changes nothing.
    """

    def __init__(self, monotonic: Callable[[], float], ttl: float = CONFIRM_TTL_SECONDS) -> None:
        self._monotonic = monotonic
        self._ttl = ttl
        self._pending: dict[str, _Pending] = {}
        self._used: deque[str] = deque(maxlen=256)

    def issue(self, action: str) -> str:
        now = self._monotonic()
        self._pending = {t: p for t, p in self._pending.items() if p.expires > now}
        token = secrets.token_urlsafe(9)
        self._pending[token] = _Pending(action, now + self._ttl)
        return token

    def take(self, token: str) -> str:
        """The action behind `token`, consuming it; CommandError once used or expired."""
        pending = self._pending.pop(token, None)
        if pending is None:
            if token in self._used:
                raise CommandError("This button was already used.")
            raise CommandError("This button is no longer valid; send the command again.")
        self._used.append(token)
        if pending.expires <= self._monotonic():
            raise CommandError("This confirmation expired; send the command again.")
        return pending.action


def confirm_keyboard(token: str, yes_label: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(yes_label, callback_data=f"confirm:{token}"),
        InlineKeyboardButton("Cancel", callback_data=f"cancel:{token}"),
    ]])  # fmt: skip


def trades_keyboard(trades: Sequence[TradeView], now: datetime) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(trade_button_label(t, now), callback_data=f"fx:{t.id}")]
            for t in trades]
    rows.append([InlineKeyboardButton("Cancel", callback_data="dismiss")])
    return InlineKeyboardMarkup(rows)


def pairs_keyboard(pairs: Sequence[str]) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(p, callback_data=f"fe:{p}") for p in sorted(pairs)]
    rows = [buttons[i:i + PAIRS_PER_ROW] for i in range(0, len(buttons), PAIRS_PER_ROW)]
    rows.append([InlineKeyboardButton("Cancel", callback_data="dismiss")])
    return InlineKeyboardMarkup(rows)


def refresh_keyboard(what: str, arg: int | None = None) -> InlineKeyboardMarkup:
    data = f"refresh:{what}:{'' if arg is None else arg}"
    return InlineKeyboardMarkup([[InlineKeyboardButton("🔄 Refresh", callback_data=data)]])
