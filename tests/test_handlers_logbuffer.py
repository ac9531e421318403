"""The /logs ring buffer keeps the latest records and never gives a secret back."""

from __future__ import annotations

import logging

from hypothesis import given
from hypothesis import strategies as st

from handlers.logbuffer import LogBuffer, install_log_buffer, installed_log_buffer
from tests.factories import make_settings

SECRET = "123456:SECRET-TEST-TOKEN"


def record(message: str, *args: object, level: int = logging.INFO,
           exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, None) if exc else None
    return logging.LogRecord("engine.x", level, __file__, 1, message, args, exc_info)


def test_the_buffer_keeps_only_the_latest_records_oldest_first() -> None:
    buffer = LogBuffer(capacity=3)
    for i in range(5):
        buffer.emit(record("line %d", i))
    assert [line.message for line in buffer.tail(10)] == ["line 2", "line 3", "line 4"]
    assert [line.message for line in buffer.tail(1)] == ["line 4"]
    assert buffer.tail(0) == []


@given(st.text(max_size=40), st.text(max_size=40))
def test_secrets_never_come_back_whatever_surrounds_them(before: str, after: str) -> None:
    buffer = LogBuffer([SECRET])
    buffer.emit(record("%s%s%s", before, SECRET, after))
    buffer.emit(record("failed", level=logging.ERROR, exc=RuntimeError(f"url /bot{SECRET}/x")))
    text = "\n".join(str(line) for line in buffer.tail(2))
    assert SECRET not in text
    assert "***" in text


def test_a_record_that_cannot_be_formatted_does_not_raise() -> None:
    buffer = LogBuffer()
    logging.raiseExceptions = False
    try:
        buffer.emit(record("%d apples", "many"))
    finally:
        logging.raiseExceptions = True
    assert buffer.tail(5) == []


def test_installing_twice_keeps_one_buffer_on_the_root_logger() -> None:
    settings = make_settings({}, {"TELEGRAM_TOKEN": SECRET, "TELEGRAM_CHAT_ID": "1"})
    first = install_log_buffer(settings)
    try:
        assert install_log_buffer(settings) is first
        assert installed_log_buffer() is first
        logging.getLogger("tradepilot.test").warning("token %s leaked", SECRET)
        assert str(first.tail(1)[0]).endswith("WARNING tradepilot.test: token *** leaked")
    finally:
        logging.getLogger().removeHandler(first)
