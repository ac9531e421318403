"""Pure text helpers for chat replies: numbers, dates, durations, tables and message splitting.

Everything returns Telegram HTML. Dynamic text always goes through `esc`, so no message is ever
refused for bad entities; the only markup is what these helpers add.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from telegram.constants import MessageLimit

from engine.control.views import WhitelistView

MAX_TEXT = int(MessageLimit.MAX_TEXT_LENGTH)
_DECIMALS = {"BTC": 8, "ETH": 5}
_TAG = re.compile(r"<(/?)([a-z-]+)[^>]*>")


def esc(value: object) -> str:
    return html.escape(str(value), quote=False)


def trim(value: float, decimals: int) -> str:
    """A fixed-point number without trailing zeros: 0.05000000 -> 0.05."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def number(value: float, currency: str) -> str:
    """An amount of `currency` as plain text, with as many digits as that coin usually shows."""
    return trim(value, _DECIMALS.get(currency.upper(), 3))


def coin(value: float, currency: str) -> str:
    return f"{number(value, currency)} {esc(currency)}"


def amount(value: float) -> str:
    """A coin amount as Freqtrade shows it: up to 8 decimals, whatever its size."""
    return trim(value, 8)


def rate(value: float | None) -> str:
    if value is None:
        return "n/a"
    return trim(value, 8) if abs(value) < 1000 else trim(value, 2)


def pct(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio * 100:.2f}%"


def when(moment: datetime | None) -> str:
    return "n/a" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def duration(delta: timedelta | None) -> str:
    """Compact duration: 2d 3h, 4h 5m, 12m, 40s."""
    if delta is None:
        return "n/a"
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def field(label: str, value: str) -> str:
    """One "<b>Label:</b> value" line; `value` must already be HTML."""
    return f"<b>{esc(label)}:</b> {value}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A monospace table in a <pre> block; cells are plain text and get escaped here."""
    cells = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "<pre>" + esc("\n".join(lines)) + "</pre>"


def whitelist_text(view: WhitelistView, *, sort: bool = False, base_only: bool = False) -> str:
    """Freqtrade's /whitelist: "Using whitelist `methods` with N pairs", then the pairs."""
    pairs = sorted(view.pairs) if sort else list(view.pairs)
    if base_only:
        pairs = [p.split("/")[0] for p in pairs]
    methods = esc(", ".join(view.methods))
    head = f"Using whitelist <code>{methods}</code> with {len(pairs)} pairs"
    return f"{head}\n<code>{esc(', '.join(pairs))}</code>" if pairs else head


def strip_tags(text: str) -> str:
    """Plain text of one of our HTML messages (for the terminal and length checks)."""
    return html.unescape(_TAG.sub("", text))


# --- splitting at Telegram's limit --------------------------------------------------------


def split_message(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split an HTML message into parts of at most `limit` characters.

    Parts break between paragraphs where possible, then between lines, and only inside a
    line when one line alone is too long (never inside a tag or an entity). A tag left open
    at a break (a long <pre> table) is closed at the end of the part and reopened at the start
    of the next, so every part is valid HTML on its own.
    """
    if len(text) <= limit:
        return [text]
    budget = limit - 64  # room for the tags closed and reopened at a break
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for piece, sep in _pieces(text, budget):
        extra = len(piece) + (len(sep) if current else 0)
        if current and size + extra > budget:
            parts.append("".join(current))
            current, size = [], 0
            extra = len(piece)
        if current:
            current.append(sep)
        current.append(piece)
        size += extra
    if current:
        parts.append("".join(current))
    return _rebalance(parts)


def _pieces(text: str, budget: int) -> Iterator[tuple[str, str]]:
    """(piece, separator before it) pairs, each piece at most `budget` long."""
    for paragraph in text.split("\n\n"):
        if len(paragraph) <= budget:
            yield paragraph, "\n\n"
            continue
        sep = "\n\n"
        for line in paragraph.split("\n"):
            for chunk in _cut_line(line, budget):
                yield chunk, sep
                sep = ""
            sep = "\n"


def _cut_line(line: str, budget: int) -> Iterator[str]:
    while len(line) > budget:
        cut = _safe_cut(line, budget)
        yield line[:cut]
        line = line[cut:]
    yield line


def _safe_cut(line: str, budget: int) -> int:
    """The last position <= budget that is not inside a tag or an entity, preferring a space."""
    cut = budget
    opening = max(line.rfind("<", 0, cut), line.rfind("&", 0, cut))
    closing = max(line.rfind(">", 0, cut), line.rfind(";", 0, cut))
    if opening > closing:
        cut = opening
    space = line.rfind(" ", 0, cut)
    return space + 1 if space > cut // 2 else max(cut, 1)


def _rebalance(parts: list[str]) -> list[str]:
    """Close tags left open at the end of each part and reopen them in the next."""
    out: list[str] = []
    carried: list[str] = []
    for part in parts:
        opening = "".join(carried)
        stack = _open_tags(opening + part)
        closing = "".join(f"</{_tag_name(t)}>" for t in reversed(stack))
        out.append(opening + part + closing)
        carried = stack
    return out


def _tag_name(tag: str) -> str:
    match = _TAG.match(tag)
    return match.group(2) if match else ""


def _open_tags(text: str) -> list[str]:
    stack: list[str] = []
    for match in _TAG.finditer(text):
        if match.group(1):
            if stack and _tag_name(stack[-1]) == match.group(2):
                stack.pop()
        else:
            stack.append(match.group(0))
    return stack
