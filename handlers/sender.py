"""Delivers the outbox to the owner's chat, in order, without ever skipping a message.

One asyncio task reads the oldest undelivered messages and sends them one at a time. Flood
limits (`RetryAfter`) are waited out; network trouble, timeouts and Telegram 5xx answers are
retried with a capped exponential back-off, always with the SAME message, so nothing is
reordered or dropped. Only a message Telegram can never accept (a 400 about that message's
own text) is logged and set aside, so one bad row cannot wedge the queue. A message is marked
sent only after Telegram accepted it; a crash between the two sends it again on the next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, RetryAfter, TelegramError

from core.clock import Clock, SystemClock
from store.outbox import Outbox, OutboxItem

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
# 400 answers about the text itself: sending the same text again can never work.
_UNSENDABLE = ("can't parse", "too long", "text must be non-empty", "message is empty")


def retry_seconds(exc: RetryAfter) -> float:
    """RetryAfter's wait in seconds, whichever type this PTB version reports it as."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class OutboxSender:
    def __init__(self, outbox: Outbox, chat_id: int, *, clock: Clock | None = None,
                 sleep: Sleep = asyncio.sleep, batch: int = 20, idle_poll: float = 5.0,
                 first_backoff: float = 1.0, max_backoff: float = 60.0) -> None:
        self.outbox = outbox
        self._chat_id = chat_id
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._batch = batch
        self._idle_poll = idle_poll
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()

    def wake(self) -> None:
        """Called by the notifier after adding a message: deliver now instead of at the poll."""
        self._wakeup.set()

    def start(self, bot: Bot) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(bot), name="outbox-sender")

    async def stop(self, flush_timeout: float = 0.0) -> None:
        """Stop delivering; with a timeout, first give pending messages that long to go out."""
        if self._task is None:
            return
        if flush_timeout > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.drained(), flush_timeout)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def drained(self) -> None:
        """Wait until every message in the outbox has been delivered."""
        while self.outbox.count_pending():
            self._idle.clear()
            self.wake()
            await self._idle.wait()

    async def _run(self, bot: Bot) -> None:
        while True:
            self._wakeup.clear()
            try:
                delivered = await self._deliver_batch(bot)
            except Exception:  # a bug or a database hiccup must not end delivery for good
                logger.exception("outbox delivery failed; retrying")
                await self._sleep(self._max_backoff)
                continue
            if delivered:
                continue
            self._idle.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._idle_poll)

    async def _deliver_batch(self, bot: Bot) -> bool:
        items = self.outbox.pending(self._batch)
        for item in items:
            await self._deliver(bot, item)
        return bool(items)

    async def _deliver(self, bot: Bot, item: OutboxItem) -> None:
        """Send one message until Telegram takes it (or refuses its text for good)."""
        backoff = self._first_backoff
        failures = 0
        while (error := await self._try_send(bot, item)) is not None:
            if isinstance(error, RetryAfter):
                logger.warning("Telegram flood limit: waiting %.0f s", retry_seconds(error))
                await self._sleep(retry_seconds(error))
                continue
            if isinstance(error, BadRequest) and _unsendable(error):
                logger.error("outbox message %s can never be sent (%s); set aside: %r",
                             item.id, error, item.text[:200])
                break
            if failures == 0:
                logger.warning("cannot reach Telegram (%s: %s); outbox message %s will be "
                               "retried", type(error).__name__, error, item.id)
            await self._sleep(backoff)
            failures, backoff = failures + 1, min(backoff * 2, self._max_backoff)
        if failures:
            logger.info("Telegram reachable again after %d attempts", failures + 1)
        self.outbox.mark_sent(item.id, self._clock.now())

    async def _try_send(self, bot: Bot, item: OutboxItem) -> TelegramError | None:
        try:
            await bot.send_message(self._chat_id, item.text, parse_mode=ParseMode.HTML,
                                   disable_notification=item.silent)
        except TelegramError as exc:
            return exc
        return None


def _unsendable(exc: BadRequest) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in _UNSENDABLE)
