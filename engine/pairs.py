"""Blacklist entries as Freqtrade reads them: a pair, or a regular expression matched against
the whole pair name, ignoring case (`BNB/.*` is every BNB pair, `.*DOWN/BTC` every DOWN token)."""

from __future__ import annotations

import re
from collections.abc import Iterable

_REGEX_SIGNS = frozenset("*+?[](){}|^$\\")


def pattern_problem(entry: str) -> str | None:
    """Why `entry` cannot be a blacklist entry, or None."""
    try:
        re.compile(entry, re.IGNORECASE)
    except re.error as exc:
        return (f"{entry!r} is not a valid regular expression ({exc}); expected a pair like "
                "BNB/BTC or a pattern like BNB/.*")
    return None


def is_pattern(entry: str) -> bool:
    """True when `entry` may name more than one pair (a dot alone is taken for a pair's own)."""
    return not _REGEX_SIGNS.isdisjoint(entry)


def matches(entries: Iterable[str], pair: str) -> bool:
    """`pair` is named by one of the entries (re keeps the compiled patterns cached)."""
    return any(re.fullmatch(entry, pair, re.IGNORECASE) for entry in entries)
