"""Command-argument parsers. Each takes the words after the command and the command's one-line
usage text, and either returns clean values or raises CommandError carrying that usage line, so
every malformed argument is answered the same way.
"""

from __future__ import annotations

import math
import re
from typing import Literal

from core.errors import CommandError

_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_WHOLE = re.compile(r"[0-9]{1,9}")
_PAIR = re.compile(r"[A-Z0-9._-]{1,20}/[A-Z0-9._-]{1,20}")
_PAIR_PATTERN = re.compile(r"[A-Z0-9._*+?|()\[\]-]{1,40}/[A-Z0-9._*+?|()\[\]-]{1,40}")
MAX_IDS = 20


def no_args(args: list[str], usage: str) -> None:
    if args:
        raise CommandError(usage)


def whole(word: str, usage: str, lo: int = 1, hi: int | None = None) -> int:
    if not _WHOLE.fullmatch(word):
        raise CommandError(usage)
    value = int(word)
    if value < lo or (hi is not None and value > hi):
        raise CommandError(usage)
    return value


def optional_whole(args: list[str], usage: str, lo: int, hi: int) -> int | None:
    """Zero or one whole number in [lo, hi]."""
    if not args:
        return None
    if len(args) > 1:
        raise CommandError(usage)
    return whole(args[0], usage, lo, hi)


def trade_id(args: list[str], usage: str) -> int:
    """Exactly one trade id."""
    if len(args) != 1:
        raise CommandError(usage)
    return whole(args[0], usage)


def status_target(args: list[str], usage: str) -> Literal["table"] | list[int] | None:
    """/status: nothing (all open trades), "table", or up to MAX_IDS distinct trade ids."""
    if not args:
        return None
    if len(args) == 1 and args[0].lower() == "table":
        return "table"
    if len(args) > MAX_IDS:
        # One message may hold ~2,000 ids: each would be a full trade card in the reply.
        raise CommandError(usage)
    return list(dict.fromkeys(whole(word, usage) for word in args))


def exit_target(args: list[str], usage: str) -> int | Literal["all"] | None:
    """/forceexit: nothing (show the picker), "all", or one trade id."""
    if not args:
        return None
    if len(args) != 1:
        raise CommandError(usage)
    if args[0].lower() == "all":
        return "all"
    return whole(args[0], usage)


def pair(word: str, usage: str, stake_currency: str, patterns: bool = False) -> str:
    """A pair as BASE/QUOTE in capitals; a bare base gets the stake currency as its quote."""
    text = word.upper()
    if "/" not in text:
        text = f"{text}/{stake_currency.upper()}"
    if not (_PAIR_PATTERN if patterns else _PAIR).fullmatch(text):
        raise CommandError(usage)
    return text


def entry_args(args: list[str], usage: str, stake_currency: str) -> tuple[str, float | None] | None:
    """/forceenter: nothing (show the picker), or a pair and an optional limit price."""
    if not args:
        return None
    if len(args) > 2:
        raise CommandError(usage)
    price = price_of(args[1], usage) if len(args) == 2 else None
    return pair(args[0], usage, stake_currency), price


def price_of(word: str, usage: str) -> float:
    """A positive price or amount written plainly (0.5, 12, .25): no sign, exponent, "inf"
    or "nan", which Python's float() takes and an owner does not mean."""
    if not _PLAIN_NUMBER.fullmatch(word):
        raise CommandError(usage)
    value = float(word)
    if not math.isfinite(value) or value <= 0:
        raise CommandError(usage)
    return value


def pair_or_lock_id(args: list[str], usage: str, stake_currency: str) -> str:
    """/unlock: one lock id, or one pair (all its locks)."""
    if len(args) != 1:
        raise CommandError(usage)
    word = args[0]
    if _WHOLE.fullmatch(word):
        return str(whole(word, usage))
    return pair(word, usage, stake_currency)


def pair_list(args: list[str], usage: str, stake_currency: str) -> list[str]:
    """/blacklist: pairs or wildcard patterns such as .*/BTC, at most 20 at once."""
    if len(args) > 20:
        raise CommandError(usage)
    return [pair(word, usage, stake_currency, patterns=True) for word in args]


def optional_pair(args: list[str], usage: str, stake_currency: str) -> str | None:
    """/entries, /exits, /mix_tags: nothing (all pairs) or one pair."""
    if not args:
        return None
    if len(args) > 1:
        raise CommandError(usage)
    return pair(args[0], usage, stake_currency)


def trade_ids(args: list[str], usage: str) -> list[int]:
    """/order: no id (the open trades) or up to MAX_IDS distinct trade ids."""
    if len(args) > MAX_IDS:
        raise CommandError(usage)
    return list(dict.fromkeys(whole(word, usage) for word in args))


def options(args: list[str], usage: str, allowed: tuple[str, ...]) -> set[str]:
    """Flag words such as /whitelist sorted baseonly: each at most once, from `allowed`."""
    words = [word.lower() for word in args]
    if len(set(words)) != len(words) or any(word not in allowed for word in words):
        raise CommandError(usage)
    return set(words)


def blacklisted_pairs(args: list[str], usage: str, stake_currency: str) -> list[str]:
    """/blacklist_delete: one to 20 pairs or patterns as they stand on the blacklist."""
    if not args:
        raise CommandError(usage)
    return pair_list(args, usage, stake_currency)
