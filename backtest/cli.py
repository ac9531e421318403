"""The `backtest` and `download-data` sub-commands of bot.py.

bot.py has already loaded the settings from `--config`; the options here (Freqtrade's names
and meanings, read in backtest/options.py) are applied on top. Reports go to stdout; the
progress bar (on a terminal only) and logs to stderr. Bad input is a ConfigError, which bot.py
turns into one line and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from backtest import download, progress
from backtest import run as backtest_run
from backtest.compare import render_comparison
from backtest.detail import load_detail
from backtest.history import BacktestHistory
from backtest.options import (
    Export,
    chosen_pairs,
    export_of,
    parse_timerange,
    strategy_names,
    with_options,
)
from backtest.report import BREAKDOWNS, render, write_chart
from core.clock import Clock, SystemClock
from core.errors import ConfigError
from engine.loader import strategy_for
from engine.settings import MARKETS_FILE, PROJECT, Settings, offline_datadir, project_path
from marketdata.timeframe import timeframe_to_timedelta

if TYPE_CHECKING:
    from venues.ccxt_exchange import CcxtExchange

logger = logging.getLogger(__name__)


def add_backtest_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", "--strategy", help="strategy class name (default: the config's)")
    parser.add_argument("--strategy-list", nargs="+", metavar="STRATEGY",
                        help="several strategies: one report each, then a comparison")
    parser.add_argument("--strategy-path", help="folder of the strategy file")
    parser.add_argument("-d", "--datadir", "--data-dir", dest="datadir",
                        help="folder of the candle files (default: data/<exchange>, or the "
                             "offline market's data)")
    parser.add_argument("--timerange", help="START-END: YYYYMMDD[THHMM[SS]] or a Unix time, "
                                            "either side may be left out")
    parser.add_argument("-i", "--timeframe", help="candle timeframe (default: the strategy's)")
    parser.add_argument("--timeframe-detail", help="step each candle through these shorter "
                                                   "candles (such as 1m): exits on each")
    parser.add_argument("-p", "--pairs", nargs="+", help="pairs (default: the whitelist)")
    parser.add_argument("--pairs-file", help="JSON list of pairs (wins over --pairs)")
    parser.add_argument("--fee", type=float, help="fee ratio per side, e.g. 0.001 "
                                                  "(default: the market's)")
    parser.add_argument("--max-open-trades", type=int, help="replaces max_open_trades")
    parser.add_argument("--stake-amount", help='replaces stake_amount (a number or "unlimited")')
    parser.add_argument("--dry-run-wallet", "--starting-balance", dest="dry_run_wallet",
                        type=float, help="starting balance (replaces dry_run_wallet)")
    parser.add_argument("--enable-protections", "--enableprotections", action="store_true",
                        help="apply the strategy's protections (off by default, as in "
                             "Freqtrade's backtests)")
    parser.add_argument("--markets", help="JSON file with a 'markets' list of ccxt markets "
                                          "(default: <datadir>/markets.json, else the exchange)")
    parser.add_argument("--export", help="trades, signals or none (default: none, or trades "
                                         "with --export-filename)")
    parser.add_argument("--export-filename", "--backtest-filename", dest="export_filename",
                        help="the export's JSON file (default: backtest_results/"
                             "backtest-result-<time>.json)")
    parser.add_argument("--chart", help="write the equity curve to this PNG file")
    parser.add_argument("--breakdown", nargs="+", choices=BREAKDOWNS, default=[],
                        help="also show the profit per day, week and/or month")


def add_download_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--exchange", help="ccxt exchange id (default: the config's)")
    parser.add_argument("-p", "--pairs", nargs="+", help="pairs (default: the whitelist)")
    parser.add_argument("--pairs-file", help="JSON list of pairs (wins over --pairs)")
    parser.add_argument("-t", "--timeframes", nargs="+", default=["5m"],
                        help="timeframes (default: 5m)")
    parser.add_argument("--days", type=float, help="days of history up to now, for every "
                                                   "pair (older candles are fetched too)")
    parser.add_argument("--timerange", help="START-END instead of --days (as for backtest)")
    parser.add_argument("--new-pairs-days", type=float, default=30,
                        help="days of history for a pair with no file yet, without --days or "
                             "--timerange (default: 30)")
    parser.add_argument("--erase", action="store_true",
                        help="delete the files of these pairs and timeframes first")
    parser.add_argument("--prepend", action="store_true",
                        help="only fetch candles older than the stored ones (no new ones)")
    parser.add_argument("-d", "--datadir", "--data-dir", dest="datadir",
                        help="where to write (default: data/<exchange>)")


# --- backtest --------------------------------------------------------------------------------


def run_backtest(settings: Settings, args: argparse.Namespace) -> int:
    export = export_of(args, SystemClock())
    fee = _fee(args.fee if args.fee is not None else settings.fee)
    results = []
    names = strategy_names(args)
    for name in names:
        chosen = with_options(settings, argparse.Namespace(**{**vars(args), "strategy": name}))
        result = _backtest(backtest_run.backtest_settings(chosen), args, fee, export)
        if args.chart:
            write_chart(result, _for_strategy(Path(args.chart), result.strategy, len(names)))
        sys.stdout.write(render(result, args.breakdown))
        results.append(result)
    if len(results) > 1:
        sys.stdout.write("\n" + render_comparison(results))
    return 0


def _for_strategy(path: Path, strategy: str, strategies: int) -> Path:
    """With several strategies each writes its own file, named after it."""
    return path if strategies == 1 else path.with_name(f"{path.stem}-{strategy}{path.suffix}")


def _backtest(settings: Settings, args: argparse.Namespace, fee: float | None,
              export: Export) -> backtest_run.BacktestResult:
    strategy = strategy_for(settings)
    datadir = Path(args.datadir) if args.datadir else default_datadir(settings,
                                                                       settings.exchange.name)
    timerange = parse_timerange(args.timerange)
    frames = backtest_run.load_data(str(datadir), settings.exchange.pair_whitelist,
                                    strategy.timeframe, timerange, strategy.startup_candle_count)
    history = BacktestHistory(frames, strategy.timeframe, datadir=datadir, timerange=timerange,
                              startup_candles=strategy.startup_candle_count)
    markets = backtest_markets(settings, args.markets, datadir)
    detail = None if not settings.timeframe_detail else load_detail(
        str(datadir), settings.exchange.pair_whitelist, strategy.timeframe,
        settings.timeframe_detail, timerange)
    protections = args.enable_protections or settings.enable_protections
    if strategy.protections and not protections:
        logger.warning("%s: its %d protections are left out, as Freqtrade's backtest leaves "
                       "them out; --enable-protections applies them", type(strategy).__name__,
                       len(strategy.protections))
    with _engine_logs(verbose=getattr(args, "verbose", 0) >= 1), \
            progress.bar(type(strategy).__name__, "candle") as move:
        result = asyncio.run(backtest_run.run(
            settings, strategy, frames, markets, fee=fee,
            progress=progress.backtest_progress(move), protections=protections,
            history=history, detail=detail))
    if export.path is not None:
        count = len(strategy_names(args))
        path = _for_strategy(export.path, result.strategy, count)
        write_export(result, path)
        if export.kind == "signals":
            analyzed = backtest_run.analyze(strategy, frames, history, markets=markets,
                                            stake_currency=settings.stake_currency)
            write_signals(result, analyzed, path.with_name(f"{path.stem}_signals{path.suffix}"))
    return result


@contextmanager
def _engine_logs(*, verbose: bool) -> Iterator[None]:
    """Every order is logged at INFO, by the engine and by the paper exchange, which a backtest
    of a thousand trades drowns in: only warnings, unless -v."""
    loggers = [logging.getLogger(name) for name in ("engine", "venues")]
    before = [each.level for each in loggers]
    if not verbose:
        for each in loggers:
            each.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for each, level in zip(loggers, before, strict=True):
            each.setLevel(level)


def _fee(fee: float | None) -> float | None:
    if fee is not None and not 0 <= fee < 0.1:
        raise ConfigError(f"--fee: expected a ratio per side such as 0.001, got {fee}")
    return fee


def default_datadir(settings: Settings, exchange_name: str) -> Path:
    """The config's `datadir`, else the offline market's candles, or `data/<exchange>` of the
    project."""
    if settings.datadir is not None:
        return project_path(settings.datadir)
    if exchange_name == settings.exchange.name and settings.is_offline:
        return offline_datadir(settings)
    return PROJECT / "data" / exchange_name


def backtest_markets(settings: Settings, path: str | None, datadir: Path
                     ) -> list[dict[str, Any]]:
    """Market definitions: the file given, the data folder's, the offline market's, or the
    exchange's (one request)."""
    if path:
        return download.read_markets(Path(path))
    for candidate in (datadir / download.MARKETS_FILE, MARKETS_FILE if settings.is_offline
                      else None):
        if candidate is not None and candidate.is_file():
            return download.read_markets(candidate)
    return asyncio.run(_exchange_markets(settings))


def _public_client(name: str, config: Any, clock: Clock) -> CcxtExchange:
    """The exchange's public data through ccxt's async client, imported only when a command
    needs the network: a backtest on local candles and markets never loads it (half a second
    of start-up)."""
    from venues.ccxt_exchange import CcxtExchange

    return CcxtExchange(name, config, None, None, None, clock)


async def _exchange_markets(settings: Settings) -> list[dict[str, Any]]:
    name = settings.exchange.name
    exchange = _public_client(name, settings.exchange.ccxt_config, SystemClock())
    try:
        await exchange.load_markets()
        known = exchange.markets()
        mode = download.precision_mode(name)
        return [download.market_definition(known[p], mode)
                for p in settings.exchange.pair_whitelist if p in known]
    finally:
        await exchange.close()


def add_list_pairs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--exchange", help="ccxt exchange id (default: the config's)")
    parser.add_argument("--quote", nargs="+", help="only pairs quoted in these currencies")
    parser.add_argument("-a", "--all", action="store_true", help="inactive markets too")
    parser.add_argument("-1", "--one-column", action="store_true", help="one pair a line")


def run_list_pairs(settings: Settings, args: argparse.Namespace) -> int:
    """Freqtrade's list-pairs: the exchange's spot pairs (the offline market's from its
    markets file), active ones unless --all."""
    name = args.exchange or settings.exchange.name
    if name == "offline":
        known = [(m["symbol"], m["quote"], m.get("active") is not False)
                 for m in download.read_markets(MARKETS_FILE)]
    else:
        known = asyncio.run(_all_markets(name, settings.exchange.ccxt_config
                                         if name == settings.exchange.name else {}))
    quotes = {q.upper() for q in args.quote or []}
    pairs = sorted(pair for pair, quote, active in known
                   if (active or args.all) and (not quotes or quote in quotes))
    sys.stdout.write("".join(f"{p}\n" for p in pairs) if args.one_column
                     else f"{len(pairs)} pairs on {name}: {', '.join(pairs)}\n")
    return 0


async def _all_markets(name: str, config: Any) -> list[tuple[str, str, bool]]:
    exchange = _public_client(name, config, SystemClock())
    try:
        await exchange.load_markets()
        return [(r.pair, r.quote, r.active) for r in exchange.markets().values()]
    finally:
        await exchange.close()


def write_export(result: backtest_run.BacktestResult, path: Path) -> None:
    """One trade per line, in the order of the result."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ",\n".join(json.dumps(trade.to_json()) for trade in result.trades)
    path.write_text(f"[\n{lines}\n]\n" if lines else "[]\n", encoding="utf-8")


def write_signals(result: backtest_run.BacktestResult, analyzed: dict[str, pd.DataFrame],
                  path: Path) -> None:
    """--export signals: beside the trades, each trade's signal candle (the one before its
    entry) with every column the strategy computed on it."""
    step = timeframe_to_timedelta(result.timeframe)
    rows = []
    for trade in result.trades:
        frame = analyzed[trade.pair]
        found = frame.loc[frame["date"] == trade.open_date - step]
        for record in found.to_dict("records"):
            plain = {str(k): _plain(v) for k, v in record.items()}
            rows.append({"trade_id": trade.trade_id, "pair": trade.pair, **plain})
    lines = ",\n".join(json.dumps(row) for row in rows)
    path.write_text(f"[\n{lines}\n]\n" if lines else "[]\n", encoding="utf-8")


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return backtest_run.iso(value.to_pydatetime())
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    return value if value is None or isinstance(value, str | int | bool) else str(value)


# --- download-data ---------------------------------------------------------------------------


def run_download(settings: Settings, args: argparse.Namespace) -> int:
    name = args.exchange or settings.exchange.name
    if name == "offline":
        raise ConfigError("--exchange: the offline market has nothing to download; expected a "
                          "ccxt exchange id such as binance")
    if args.days is not None and args.timerange:
        raise ConfigError("--days and --timerange: give one of them, not both")
    if args.days is not None and args.days <= 0:
        raise ConfigError(f"--days: expected a positive number of days, got {args.days}")
    if args.new_pairs_days <= 0:
        raise ConfigError(f"--new-pairs-days: expected a positive number of days, got "
                          f"{args.new_pairs_days}")
    first, last = parse_timerange(args.timerange) or (None, None)
    clock = SystemClock()
    if args.days is not None:
        first = clock.now() - timedelta(days=args.days)
    window = download.Window(first, last, args.new_pairs_days, prepend=args.prepend,
                             erase=args.erase)
    pairs = chosen_pairs(args) or list(dict.fromkeys(settings.exchange.pair_whitelist))
    datadir = Path(args.datadir) if args.datadir else default_datadir(settings, name)
    config = settings.exchange.ccxt_config if name == settings.exchange.name else {}
    with progress.bar(f"download {name}", "file") as move:
        results = asyncio.run(_download(name, config, pairs, args.timeframes, window, datadir,
                                        clock, move))
    for item in results:
        span = "" if item.first is None else f" ({backtest_run.iso(item.first)} to " \
                                              f"{backtest_run.iso(item.last or item.first)})"
        sys.stdout.write(f"{item.pair} {item.timeframe}: {item.new_candles} new, "
                         f"{item.total_candles} candles in {item.path}{span}\n")
    return 0


async def _download(name: str, config: Any, pairs: list[str], timeframes: list[str],
                    window: download.Window, datadir: Path, clock: SystemClock,
                    move: progress.Move | None) -> list[download.Downloaded]:
    exchange = _public_client(name, config, clock)
    total = len(pairs) * len(timeframes)
    done: list[download.Downloaded] = []

    def fetched(item: download.Downloaded) -> None:
        done.append(item)
        if move is not None:
            move(len(done), total, f"{item.pair} {item.timeframe}")

    try:
        return await download.download(exchange, pairs, timeframes, window, datadir, clock,
                                       progress=fetched)
    finally:
        await exchange.close()
