"""Runs the bot: the engine first, Telegram whenever it can be reached.

python-telegram-bot's `run_polling` initializes the bot (a `getMe` it retries for as long as
Telegram is unreachable) before it calls `post_init`, so an engine started from there waits on
Telegram: after a restart during a Telegram outage no stop would fire until the chat came back.
`ChatApp.serve` orders the same steps differently. The engine starts (reconciliation, the
start-up message written to the outbox) and the job queue runs the iterations at once; a
background task connects Telegram with growing pauses between attempts, then starts the outbox
sender, polling and the handlers, so the chat catches up on everything the outbox kept. The
job queue is the Application's own (it does not need the bot to be initialized); only the order
of the life-cycle calls is ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application

from core.errors import ConfigError

if TYPE_CHECKING:
    from handlers.app import AppHooks

logger = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 60.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class ChatApp(Application[Any, Any, Any, Any, Any, Any]):
    """The Application, with the bot's own life cycle (`serve`, `lifecycle`)."""

    def __init__(self, *, hooks: AppHooks, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hooks = hooks
        self.connected = asyncio.Event()
        self._initialized_here = False

    async def serve(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set or SIGINT/SIGTERM arrives, then shut down in order. An
        invalid token ends the run with a ConfigError."""
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, stop.set)
        try:
            async with self.lifecycle() as connector:
                stopped = asyncio.ensure_future(stop.wait())
                try:
                    await asyncio.wait({stopped, connector},
                                       return_when=asyncio.FIRST_COMPLETED)
                    if not stopped.done():
                        connector.result()  # an InvalidToken's ConfigError ends the run here
                        await stopped  # connected: run until told to stop
                finally:
                    stopped.cancel()
        finally:
            for sig in STOP_SIGNALS:
                loop.remove_signal_handler(sig)

    @contextlib.asynccontextmanager
    async def lifecycle(self, *, poll: bool = True) -> AsyncIterator[asyncio.Task[None]]:
        """The engine and its iterations running, Telegram being connected by the task
        yielded (done once connected); everything stopped and closed on the way out. Without
        `poll` no updates are fetched (tests hand them to `process_update` themselves)."""
        connector: asyncio.Task[None] | None = None
        try:
            await self.hooks.start_engine(self)
            connector = asyncio.create_task(self._connect(poll), name="telegram-connect")
            yield connector
        finally:
            if connector is not None:
                connector.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await connector
            await self._close()

    async def _connect(self, poll: bool) -> None:
        pause = FIRST_RETRY_SECONDS
        failures = 0
        while True:
            try:
                await self.initialize()
                self._initialized_here = True
                break
            except InvalidToken as exc:
                # Its message quotes the token: the log's shield redacts it, the exit line
                # leaves it out. A traceback would add only the library's frames.
                logger.error("Telegram refused the bot: %s: %s",  # noqa: TRY400
                             type(exc).__name__, exc)
                raise ConfigError("TELEGRAM_TOKEN: Telegram rejected the token; expected the "
                                  "token @BotFather gave for this bot") from None
            except TelegramError as exc:
                failures += 1
                if failures == 1:
                    logger.warning("cannot reach Telegram (%s); the engine runs on and the chat "
                                   "catches up once Telegram answers", exc)
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_RETRY_SECONDS)
        if failures:
            logger.info("Telegram reachable after %d failed attempts", failures)
        await self.hooks.connect(self)
        if poll and self.updater is not None:
            await self.updater.start_polling(
                allowed_updates=Update.ALL_TYPES, drop_pending_updates=True,
                bootstrap_retries=-1, error_callback=self.hooks.polling_error)
        await self.start()
        self.connected.set()

    async def _close(self) -> None:
        if self.updater is not None and self.updater.running:
            await self.updater.stop()
        if self.running:
            await self.stop()
        elif self.job_queue is not None:
            await self.job_queue.stop()
        await self.hooks.stop(self)
        if self._initialized_here:
            await self.shutdown()
        else:
            await self.bot.shutdown()  # a failed getMe may have opened the connections
