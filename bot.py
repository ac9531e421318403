"""tradepilot: a personal crypto trading bot controlled from Telegram.

    .venv/bin/python bot.py [--config config.json ...]   run the bot (default sub-command; trade)
    .venv/bin/python bot.py check-config                 validate the config, print it (secrets
                                                         hidden; show-config)
    .venv/bin/python bot.py backtest --strategy S ...    replay history through the same engine
                                                         (backtesting)
    .venv/bin/python bot.py hyperopt --hyperopt-loss L   search the strategy's parameters
                                                         (hyperopt-list, hyperopt-show)
    .venv/bin/python bot.py download-data --pairs ...    fetch candles for backtests
    .venv/bin/python bot.py list-timeframes              the timeframes there are
    .venv/bin/python bot.py list-strategies              the strategy classes of the folder
    .venv/bin/python bot.py list-pairs [--quote BTC]     the pairs an exchange trades
    .venv/bin/python bot.py healthcheck                  exit 0 when the running bot's
                                                         heartbeat is current (HEARTBEAT_FILE)

Several --config files are merged in order, later ones overriding earlier ones, as Freqtrade
merges them (and each file's add_config_files).

With no .env at all it paper-trades on the built-in offline market and shows the chat in the
terminal. This file is the composition root: the only place that picks concrete classes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import logging.handlers
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dotenv import load_dotenv

from core.clock import Clock, ScaledClock, SystemClock
from core.errors import ConfigError, TemporaryError, TradepilotError
from engine import __version__
from engine.control.commands import Commands, Reloader
from engine.settings import Settings, redact
from engine.strategy import IStrategy
from service import heartbeat
from service.heartbeat import Heartbeat
from store import schema
from store.connection import check_url
from store.store import Store

if TYPE_CHECKING:
    from peewee import Database

    from handlers.logbuffer import LogBuffer
    from venues.exchange import Exchange

logger = logging.getLogger("tradepilot")
DEFAULT_CONFIG = "config.json"


# Freqtrade's names for the sub-commands we have: its users type them by habit.
ALIASES = {"trade": "run", "show-config": "check-config", "backtesting": "backtest"}


def _common(config_dest: str) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", dest=config_dest, action="append",
                        default=argparse.SUPPRESS, metavar="PATH",
                        help=f"config file (default: {DEFAULT_CONFIG}; built-in offline "
                             "defaults when it does not exist); repeat it to merge several, "
                             "later files overriding earlier ones")
    common.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                        help="more log output (repeat for debug)")
    common.add_argument("--logfile", "--log-file", dest="logfile", default=argparse.SUPPRESS,
                        help="also log to this file (rotated)")
    return common


def _parser() -> argparse.ArgumentParser:
    # Before the sub-command and after it, -c lands in two lists, read in that order.
    parser = argparse.ArgumentParser(prog="bot.py", description=__doc__.split("\n")[0],
                                     parents=[_common("config_before")])
    common = _common("config")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", aliases=["trade"], parents=[common],
                         help="run the bot (default)")
    run.add_argument("--sd-notify", action="store_true", default=argparse.SUPPRESS,
                     help="tell systemd about the bot (internals.sd_notify: true, as Freqtrade's "
                          "flag)")
    sub.add_parser("check-config", aliases=["show-config"], parents=[common],
                   help="validate the config and print the effective settings, secrets hidden")
    from backtest.cli import (
        add_backtest_arguments,
        add_download_arguments,
        add_list_pairs_arguments,
    )

    add_backtest_arguments(sub.add_parser(
        "backtest", aliases=["backtesting"], parents=[common],
        help="replay candle files through the engine"))
    add_download_arguments(sub.add_parser(
        "download-data", parents=[common], help="fetch candles for backtests"))
    from hyperopt.arguments import (
        add_hyperopt_arguments,
        add_list_arguments,
        add_show_arguments,
    )

    add_hyperopt_arguments(sub.add_parser(
        "hyperopt", parents=[common], help="search the strategy's parameters (Optuna)"))
    add_list_arguments(sub.add_parser(
        "hyperopt-list", parents=[common], help="the epochs of a hyperopt study"))
    add_show_arguments(sub.add_parser(
        "hyperopt-show", parents=[common], help="one epoch of a hyperopt study"))
    sub.add_parser("list-timeframes", parents=[common],
                   help="the timeframes backtests and the bot use")
    add_list_pairs_arguments(sub.add_parser(
        "list-pairs", parents=[common], help="the pairs an exchange trades"))
    strategies = sub.add_parser("list-strategies", parents=[common],
                                help="the strategy classes of the strategy folder")
    strategies.add_argument("--strategy-path", help="the folder (default: the config's)")
    strategies.add_argument("-1", "--one-column", action="store_true",
                            help="names only, one a line")
    health = sub.add_parser("healthcheck", help="exit 0 if the running bot's heartbeat is "
                            "current, 1 if not (a container's health check)")
    health.add_argument("--heartbeat-file", default=os.environ.get(heartbeat.FILE_VARIABLE),
                        help=f"the file the bot writes (default: ${heartbeat.FILE_VARIABLE})")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    from engine.config import load_settings

    files = [*getattr(args, "config_before", []), *getattr(args, "config", [])]
    if not files and Path(DEFAULT_CONFIG).is_file():
        files = [DEFAULT_CONFIG]
    settings = load_settings(files or None, os.environ)
    if getattr(args, "sd_notify", False):
        internals = dataclasses.replace(settings.internals, sd_notify=True)
        settings = dataclasses.replace(settings, internals=internals)
    return settings


def _console_chat(settings: Settings) -> bool:
    """No token: the chat is shown in the terminal (handlers/console.py)."""
    return settings.telegram.enabled and not settings.secrets.telegram_token


def _configure_logging(settings: Settings, args: argparse.Namespace) -> None:
    verbosity = max(settings.verbosity, getattr(args, "verbose", 0))
    level = logging.DEBUG if verbosity > 1 else logging.INFO
    terminal = logging.StreamHandler(sys.stderr)
    # A service's stderr is its log. Where the terminal shows the chat, or a command's report
    # and its one-line failure, INFO lines would bury them: the log file (and /logs) get them.
    if verbosity == 0 and (args.command not in (None, "run") or _console_chat(settings)):
        terminal.setLevel(logging.WARNING)
    handlers: list[logging.Handler] = [terminal]
    logfile = getattr(args, "logfile", None) or settings.log_file
    if logfile:
        handlers.append(logging.handlers.RotatingFileHandler(
            logfile, maxBytes=10_000_000, backupCount=5, encoding="utf-8"))
    from handlers.logbuffer import shield

    for handler in handlers:
        # Libraries put secrets in debug lines and exception messages; nothing is written raw.
        shield(handler, settings.secrets.values())
    logging.basicConfig(level=level, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Bot API URLs carry the token; httpx logs URLs at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _check_config(settings: Settings) -> int:
    from engine.loader import strategy_for

    if not settings.is_offline:
        from venues.ccxt_client import exchange_class

        exchange_class(settings.exchange.name)  # what `run` would refuse, refused here too
    check_url(settings.database_url, settings.database_key)
    strategy = strategy_for(settings)
    effective = settings.redacted()
    effective["mode"] = "DRY-RUN" if settings.dry_run else "LIVE"
    effective["strategy_class"] = type(strategy).__name__
    sys.stdout.write(json.dumps(effective, indent=2, default=str) + "\n")
    return 0


def _list_strategies(settings: Settings, args: argparse.Namespace) -> int:
    from engine.loader import list_strategies
    from engine.settings import project_path

    rows = list_strategies(project_path(args.strategy_path or settings.strategy_path))
    if args.one_column:
        sys.stdout.write("".join(f"{name}\n" for name, _, status in rows if status == "OK"))
        return 0
    width = max((len(name) for name, _, _ in rows), default=0)
    for name, file, status in rows:
        sys.stdout.write(f"{name.ljust(width)}  {file.name}  {status}\n")
    return 0


def _clock(settings: Settings, timeframe: str, store: Store) -> Clock:
    """Wall time, or for the offline demo history replayed faster than real time, resuming
    where the last demo run's orders stopped."""
    if not settings.is_offline:
        return SystemClock()
    from compose import replay_start

    return ScaledClock(replay_start(settings, timeframe, store), settings.offline.speed)


def _heartbeat(settings: Settings, commands: Commands) -> Heartbeat:
    internals = settings.internals
    return heartbeat.from_environment(
        os.environ, sd_notify=internals.sd_notify, throttle_secs=internals.process_throttle_secs,
        log_every=internals.heartbeat_interval, state=lambda: commands.state,
        version=__version__)


async def _headless(commands: Commands, settings: Settings, beat: Heartbeat) -> None:
    """Telegram disabled: the same engine, driven by a plain loop, events to the log. SIGINT
    and SIGTERM end it after the iteration in progress, through the engine's shutdown.
    Iterations start every `process_throttle_secs`, however long each took (as the job queue
    runs them, and Freqtrade's worker); one that overran starts the next at once."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    period = settings.internals.process_throttle_secs
    try:
        await commands.startup()
        beat.ready()
        due = loop.time()
        while not stop.is_set():
            await commands.process()
            beat.beat()
            due = max(due + period, loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), due - loop.time())
    finally:
        beat.stopping()
        await commands.shutdown()


def _healthcheck(args: argparse.Namespace) -> int:
    if not args.heartbeat_file:
        sys.stderr.write(f"tradepilot: no heartbeat file: set {heartbeat.FILE_VARIABLE} or "
                         "pass --heartbeat-file\n")
        return 2
    healthy, why = heartbeat.check(Path(args.heartbeat_file))
    (sys.stdout if healthy else sys.stderr).write(f"tradepilot: {why}\n")
    return 0 if healthy else 1


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from compose import build_commands, build_exchange, config_reloader
    from engine.events import LogNotifier
    from engine.loader import strategy_for
    from handlers.logbuffer import install_log_buffer
    from store.paper_orders import PaperOrders

    strategy = strategy_for(settings)
    if settings.ignored_keys:
        logger.warning("config keys tradepilot accepts and does not use: %s",
                       ", ".join(settings.ignored_keys))
    database = schema.init_db(settings.database_url, settings.database_key)
    store = Store(database)
    clock = _clock(settings, strategy.timeframe, store)
    log_buffer = install_log_buffer(settings)

    reload = config_reloader(lambda: _settings(args))
    if not settings.telegram.enabled:
        notifier = LogNotifier()
        exchange = build_exchange(settings, strategy.timeframe, clock, PaperOrders(database),
                                  notifier)
        _log_start(settings, exchange)
        commands = build_commands(settings, strategy, exchange, clock, notifier, store, reload)
        asyncio.run(_headless(commands, settings, _heartbeat(settings, commands)))
        return 0
    return _run_chat(settings, strategy, database, clock, store, reload, log_buffer)


def _log_start(settings: Settings, exchange: Exchange) -> None:
    logger.info("tradepilot %s starting: %s on %s", __version__,
                "DRY-RUN" if settings.dry_run else "LIVE", exchange.name)


def _run_chat(settings: Settings, strategy: IStrategy, database: Database, clock: Clock,
              store: Store, reload: Reloader, log_buffer: LogBuffer) -> int:
    """Telegram, or the terminal, in front of the engine. Imported only here: PTB and the
    chart code are a third of a headless start-up. The notifier comes first: the offline
    demo's market tells it when its replay starts a new lap."""
    from compose import build_commands, build_exchange
    from engine.fiat import FiatRates
    from handlers.app import build_application
    from handlers.auth import owner_chat_id
    from handlers.console import ConsoleRequest
    from handlers.notify import TelegramNotifier
    from handlers.sender import OutboxSender
    from store.outbox import Outbox
    from store.paper_orders import PaperOrders

    sender = OutboxSender(Outbox(), owner_chat_id(settings), clock=clock)
    # The engine refreshes the rate; the notifier reads it into trade messages.
    fiat = FiatRates(settings.stake_currency, settings.fiat_display_currency)
    notifier = TelegramNotifier(settings, sender.outbox, sender.wake, clock=clock,
                                fiat=lambda: fiat.current(clock.now()))
    exchange = build_exchange(settings, strategy.timeframe, clock, PaperOrders(database),
                              notifier)
    _log_start(settings, exchange)
    commands = build_commands(settings, strategy, exchange, clock, notifier, store, reload, fiat)
    stop = asyncio.Event()
    request = None
    if _console_chat(settings):
        request = ConsoleRequest.for_terminal(settings, stop=stop.set)  # on Ctrl-D
    app = build_application(settings, commands, request=request, get_updates_request=request,
                            notifier=notifier, sender=sender, clock=clock, log_buffer=log_buffer,
                            service=_heartbeat(settings, commands))
    try:
        asyncio.run(app.serve(stop))
    finally:
        schema.close_db()
    return 0


def _command(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "list-timeframes":
        from marketdata.timeframe import TIMEFRAMES

        sys.stdout.write(" ".join(TIMEFRAMES) + "\n")
        return 0
    if args.command == "list-strategies":
        return _list_strategies(settings, args)
    if args.command == "check-config":
        return _check_config(settings)
    if args.command in ("backtest", "download-data", "list-pairs"):
        from backtest.cli import run_backtest, run_download, run_list_pairs

        runner = {"backtest": run_backtest, "download-data": run_download,
                  "list-pairs": run_list_pairs}[args.command]
        return runner(settings, args)
    if args.command in ("hyperopt", "hyperopt-list", "hyperopt-show"):
        from hyperopt.cli import run_hyperopt
        from hyperopt.listing import run_list, run_show

        runner = {"hyperopt": run_hyperopt, "hyperopt-list": run_list,
                  "hyperopt-show": run_show}[args.command]
        return runner(settings, args)
    return _run(settings, args)


def _failure(exc: TradepilotError, secrets: list[str]) -> str:
    """One line: the message; under any but a ConfigError (whose message is complete), the
    first library error in its chain that adds to it (for a network failure, the one saying
    "Cannot connect to host ..."); what to do."""
    text = str(exc)
    cause = None if isinstance(exc, ConfigError) else exc.__cause__
    while cause is not None and (not str(cause) or str(cause) in text):
        cause = cause.__cause__
    if cause is not None:
        text += f" ({cause})"
    if isinstance(exc, TemporaryError):
        text += "; try again later"
    return "tradepilot: " + redact(" ".join(text.split()), secrets) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    # PTB 22 warns about int retry_after values unless told to use timedeltas.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    # The database holds the account's trades and the log its activity: owner-only files, as
    # the systemd unit's UMask=0077 makes them, however the bot is started.
    os.umask(0o077)
    args = _parser().parse_args(argv)
    args.command = ALIASES.get(args.command, args.command)
    if args.command == "healthcheck":  # of another process: no config, nothing opened
        return _healthcheck(args)
    load_dotenv(Path.cwd() / ".env", override=False)
    secrets: list[str] = []
    try:
        settings = _settings(args)
        secrets = settings.secrets.values()
        _configure_logging(settings, args)
        return _command(settings, args)
    except ConfigError as exc:
        sys.stderr.write(_failure(exc, secrets))
        return 2
    except TradepilotError as exc:
        # Raised on purpose with a message for people (the exchange unreachable, the database
        # locked): a traceback would add nothing but noise. Exit 1 lets systemd retry.
        sys.stderr.write(_failure(exc, secrets))
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
