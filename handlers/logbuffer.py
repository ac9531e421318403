"""A ring buffer of recent log records for /logs, with every secret redacted.

bot.py adds one `LogBuffer` to the root logger; /logs reads its tail. Records are formatted
and redacted when they arrive, so a token that slipped into a message (httpx puts the bot
token in request URLs) never reaches the chat.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from engine.settings import Settings, redact


@dataclass(frozen=True, slots=True)
class LogLine:
    time: datetime
    level: str
    logger: str
    message: str

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.level} {self.logger}: {self.message}"


class LogBuffer(logging.Handler):
    def __init__(self, secrets: Sequence[str] = (), capacity: int = 500,
                 level: int = logging.INFO) -> None:
        super().__init__(level)
        self._secrets = [s for s in secrets if s]
        self._lines: deque[LogLine] = deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                message += f" [{type(exc).__name__}: {exc}]"
            line = LogLine(
                time=datetime.fromtimestamp(record.created, UTC),
                level=record.levelname,
                logger=record.name,
                message=redact(message, self._secrets),
            )
        except Exception:  # logging must never raise into the code that logged
            self.handleError(record)
            return
        self._lines.append(line)

    def tail(self, count: int) -> list[LogLine]:
        """The latest `count` records, oldest first, secrets replaced by ***."""
        lines = list(self._lines)[-count:] if count > 0 else []
        return [LogLine(x.time, x.level, x.logger, redact(x.message, self._secrets))
                for x in lines]


class SecretFilter(logging.Filter):
    """Replaces every secret in a record's message and traceback before it is written.

    On the handlers bot.py installs, it covers whatever any library logs; on a library's own
    logger, records reach every handler (pytest's too) already clean. python-telegram-bot logs
    the Bot API URL, token included, at DEBUG, and puts the token in InvalidToken's message.
    """

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            record.msg, record.args = redact(record.getMessage(), self.secrets), None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact(record.exc_text, self.secrets)
            if record.stack_info:
                record.stack_info = redact(record.stack_info, self.secrets)
        except Exception:  # a malformed record is the handler's to report, not ours to raise
            return True
        return True


def shield(target: logging.Logger | logging.Handler, secrets: Sequence[str]) -> None:
    """Put one SecretFilter with `secrets` on a logger or handler (replacing an older one)."""
    for old in [f for f in target.filters if isinstance(f, SecretFilter)]:
        target.removeFilter(old)
    target.addFilter(SecretFilter(secrets))


def install_log_buffer(settings: Settings, capacity: int = 500) -> LogBuffer:
    """Attach a LogBuffer to the root logger (once) and return it."""
    found = installed_log_buffer()
    if found is not None:
        return found
    buffer = LogBuffer(settings.secrets.values(), capacity)
    logging.getLogger().addHandler(buffer)
    return buffer


def installed_log_buffer() -> LogBuffer | None:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, LogBuffer):
            return handler
    return None
