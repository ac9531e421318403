"""Builds the python-telegram-bot Application that runs the whole bot on one event loop.

Life cycle (`handlers.runner.ChatApp` drives it; Telegram never gates the engine):
* start_engine: `await control.startup()` (the engine's reconciliation and startup message,
  written to the outbox), then the iteration job is scheduled and the job queue started.
* connect, once Telegram answers: start the outbox sender, register the command menu.
* stop: `await control.shutdown()` while the bot can still send, then give the outbox a few
  seconds to deliver the last messages and stop the sender.

The service manager (`ServiceHooks`, given by the composition root) hears `ready` once the
iterations are scheduled, `beat` after every iteration, failed or not, and `stopping` first
thing at the stop.

The iteration is one repeating job ("engine-tick") with APScheduler's max_instances=1 and
coalesce, so a slow iteration is never overlapped by the next one. Its first run is placed just
after a multiple of the interval (counted from the Unix epoch): candles close on such multiples
whenever the interval divides a minute, so a fresh candle is picked up within
CANDLE_SLACK_SECONDS plus one iteration of closing.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any, Protocol

from telegram import Update
from telegram.error import Conflict, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    TypeHandler,
)
from telegram.request import BaseRequest

from core.clock import Clock, SystemClock
from core.errors import ConfigError
from engine.control.api import Control
from engine.events import ErrorNotice, Notifier
from engine.settings import Settings, redact
from handlers.auth import command_filter, make_gate, owner_chat_id, verdict
from handlers.buttons import on_button
from handlers.context import BOT_DATA_KEY, BotContext, Call, Context, bot_context
from handlers.info_cmds import version
from handlers.keyboards import Confirmations
from handlers.logbuffer import LogBuffer, installed_log_buffer, shield
from handlers.runner import ChatApp
from handlers.sender import OutboxSender
from handlers.table import COMMANDS, menu, register
from store.outbox import Outbox

logger = logging.getLogger(__name__)

OFFLINE_TOKEN = "0:offline"  # noqa: S105 - a placeholder that never leaves the process
CANDLE_SLACK_SECONDS = 2.0
ERROR_REPORT_WINDOW_SECONDS = 600.0
FLUSH_ON_STOP_SECONDS = 5.0
TICK_JOB = "engine-tick"
# Where python-telegram-bot logs the Bot API URL, token included, at DEBUG as the bot is built.
PTB_BOT_LOGGERS = ("telegram.Bot", "telegram.ext.ExtBot")
CONFLICT_HELP = ("another process is polling this bot token; stop it (a second copy of the bot, "
                 "a container or a test run), or commands will not get replies")
App = Application[Any, Any, Any, Any, Any, Any]


class BotControl(Control, Protocol):
    """The command API plus the life cycle the application drives."""

    async def startup(self) -> None: ...

    async def process(self) -> None: ...

    async def shutdown(self) -> None: ...


class ServiceHooks(Protocol):
    """What supervises the process: systemd's notifications, the heartbeat file."""

    def ready(self) -> None: ...

    def beat(self) -> None: ...

    def stopping(self) -> None: ...


class ErrorThrottle:
    """At most one owner message per distinct error per window; the log gets every one."""

    def __init__(self, monotonic: Callable[[], float],
                 window: float = ERROR_REPORT_WINDOW_SECONDS) -> None:
        self._monotonic = monotonic
        self._window = window
        self._last: dict[str, float] = {}

    def allow(self, key: str) -> bool:
        now = self._monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self._window:
            return False
        self._last[key] = now
        return True


class AppHooks:
    """What python-telegram-bot calls back during one Application run: the life-cycle hooks
    (post_init, post_stop, post_shutdown), the iteration job and the error handler, with
    what they need to do their work."""

    def __init__(self, settings: Settings, control: BotControl, notifier: Notifier | None,
                 sender: OutboxSender, monotonic: Callable[[], float],
                 service: ServiceHooks | None = None) -> None:
        self.settings = settings
        self.control = control
        self.service = service
        self.notifier = notifier
        self.sender = sender
        self.errors = ErrorThrottle(monotonic)
        self.polling_errors = ErrorThrottle(monotonic)
        self.engine_stopped = False
        self.conflict_reported = False

    def report(self, key: str, text: str) -> None:
        """Tell the owner about a failure, rate-limited, with secrets removed."""
        if self.notifier is not None and self.errors.allow(key):
            self.notifier.notify(ErrorNotice(redact(text, self.settings.secrets.values())))

    async def start_engine(self, app: App) -> None:
        await self.control.startup()
        interval = self.settings.internals.process_throttle_secs
        first = aligned_first_run(interval, time.time())
        if app.job_queue is None:
            raise ConfigError("python-telegram-bot[job-queue] is not installed; run make run")
        app.job_queue.run_repeating(self.tick, interval=interval, first=first, name=TICK_JOB,
                                    job_kwargs={"max_instances": 1, "coalesce": True})
        await app.job_queue.start()
        if self.service is not None:
            self.service.ready()

    async def connect(self, app: App) -> None:
        self.sender.start(app.bot)
        try:
            await app.bot.set_my_commands(menu(COMMANDS))
        except TelegramError as exc:
            logger.warning("could not register the command menu: %s", exc)

    async def tick(self, _context: Context) -> None:
        """One engine iteration; a crash is logged and reported, and the next one runs."""
        try:
            await self.control.process()
        except Exception as exc:  # the loop must survive any one bad iteration
            logger.exception("engine iteration failed")
            # Digits vary between otherwise identical failures (ids, prices, times).
            key = re.sub(r"[0-9]+", "#", f"tick:{type(exc).__name__}:{exc}")
            self.report(key,
                        f"An iteration failed ({type(exc).__name__}: {exc}). The bot keeps "
                        "running; details are in /logs.")
        if self.service is not None:
            self.service.beat()

    async def stop(self, _app: App) -> None:
        if self.service is not None:
            self.service.stopping()
        await self._stop_engine()
        await self.sender.stop(flush_timeout=FLUSH_ON_STOP_SECONDS)

    async def _stop_engine(self) -> None:
        if self.engine_stopped:
            return
        self.engine_stopped = True
        try:
            await self.control.shutdown()
        except Exception:  # shutdown goes on: the sender and the loop still need closing
            logger.exception("engine shutdown failed")

    def polling_error(self, error: TelegramError) -> None:
        """A failed getUpdates: the updater retries on its own, so one line per kind of
        failure and window is enough (no traceback: it is always the same three frames)."""
        if isinstance(error, Conflict):
            self._conflict(error)
        elif self.polling_errors.allow(f"{type(error).__name__}:{error}"):
            logger.warning("Telegram polling failed: %s: %s (retrying; logged once per %.0f "
                           "minutes)", type(error).__name__, error,
                           ERROR_REPORT_WINDOW_SECONDS / 60)

    def _conflict(self, error: Conflict) -> None:
        logger.error("Telegram refused getUpdates: %s. %s", error, CONFLICT_HELP)
        if not self.conflict_reported:
            self.conflict_reported = True
            self.report("conflict", f"Telegram reports a conflict: {CONFLICT_HELP}.")

    async def on_error(self, update: object, context: Context) -> None:
        error = context.error
        if isinstance(error, Conflict):
            self._conflict(error)
            return
        logger.error("error while handling an update", exc_info=error)
        if isinstance(update, Update) and verdict(update, self.settings) == "owner":
            call = Call(update, context, bot_context(context.application))
            try:
                await call.reply("Something went wrong with that command; the details are "
                                 "in the log (/logs).")
            except TelegramError:
                logger.warning("could not tell the owner about the error")


def aligned_first_run(interval: float, now: float) -> float:
    """Seconds until just after the next multiple of `interval` since the epoch."""
    return interval - (now % interval) + CANDLE_SLACK_SECONDS


def _builder(settings: Settings, hooks: AppHooks, request: BaseRequest | None,
             get_updates_request: BaseRequest | None,
             rate_limiter: BaseRateLimiter[Any] | None,
             ) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
    builder = (
        Application.builder()
        .token(settings.secrets.telegram_token or OFFLINE_TOKEN)
        .rate_limiter(rate_limiter or AIORateLimiter())
        .concurrent_updates(True)  # a command waiting on the exchange never delays /status
        .application_class(ChatApp, {"hooks": hooks})
    )
    if settings.secrets.telegram_api_url:
        builder = builder.base_url(settings.secrets.telegram_api_url)
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    return builder


def build_application(
    settings: Settings,
    control: BotControl,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    notifier: Notifier | None = None,
    sender: OutboxSender | None = None,
    clock: Clock | None = None,
    log_buffer: LogBuffer | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    rate_limiter: BaseRateLimiter[Any] | None = None,
    service: ServiceHooks | None = None,
) -> ChatApp:
    """The Application with every handler, the gate, the tick job and the outbox sender.

    Without TELEGRAM_TOKEN pass a local transport (handlers.console.ConsoleRequest) as both
    requests; the token is then a placeholder that never leaves the process. Pass the `sender`
    whose `wake` the notifier was given; without one, a sender is made here and picks new
    messages up at its idle poll. `log_buffer` defaults to the one installed on the root
    logger. `rate_limiter` defaults to AIORateLimiter at Telegram's flood limits (30 messages
    a second), which tests of thousands of replies lift. Handlers find their collaborators in
    one typed `BotContext` (`handlers.context.bot_context`), the only entry of `bot_data`.
    """
    owner = owner_chat_id(settings)
    sender = sender or OutboxSender(Outbox(), owner, clock=clock)
    hooks = AppHooks(settings, control, notifier, sender, monotonic, service)
    for name in PTB_BOT_LOGGERS:
        shield(logging.getLogger(name), settings.secrets.values())
    # The rate limiter gives a 429 up at once and logs that as an error with a traceback; the
    # outbox then waits the flood limit out and sends again, and a refused reply reaches the
    # error handler. That one message is no news, but it would alarm an owner reading /logs.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    # An iteration that outlasts the interval (an exchange retrying through an outage) makes
    # APScheduler skip the next runs, as max_instances=1 and coalesce mean it to, with a
    # WARNING each second; the engine tells the owner of the outage itself, once.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    app = _builder(settings, hooks, request, get_updates_request, rate_limiter).build()
    if not isinstance(app, ChatApp):
        raise TypeError("the application builder ignored application_class")
    app.bot_data[BOT_DATA_KEY] = BotContext(
        control=control, settings=settings, clock=clock or SystemClock(),
        owner_chat_id=owner, confirmations=Confirmations(monotonic),
        log_buffer=log_buffer or installed_log_buffer(), version=version(),
    )
    app.add_handler(TypeHandler(Update, make_gate(settings)), group=-1)
    register(app, command_filter(settings))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_error_handler(hooks.on_error)
    return app
