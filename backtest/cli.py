"""The `backtest` and `download-data` sub-commands of bot.py.

bot.py has already loaded the settings from `--config`; the options here are applied on top
with `dataclasses.replace`. Reports go to stdout, progress and logs to stderr. Bad input is a
ConfigError, which bot.py turns into one line and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backtest import download
from backtest import run as backtest_run
from backtest.history import BacktestHistory
from backtest.report import BREAKDOWNS, render, write_chart
from core.clock import SystemClock
from core.errors import ConfigError
from engine.loader import strategy_for
from engine.settings import MARKETS_FILE, PROJECT, Settings, offline_datadir
from marketdata.files import TimeRange
from marketdata.timeframe import TIMEFRAMES
from venues.ccxt_exchange import CcxtExchange

logger = logging.getLogger(__name__)

PROGRESS_FROM = 2000  # candles; shorter runs finish before a progress line would help


def add_backtest_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", "--strategy", help="strategy class name (default: the config's)")
    parser.add_argument("--strategy-path", help="folder of the strategy file")
    parser.add_argument("--datadir", help="folder of the candle files (default: data/<exchange>,"
                                          " or the offline market's data)")
    parser.add_argument("--timerange", help="YYYYMMDD-YYYYMMDD, either side may be left out")
    parser.add_argument("-i", "--timeframe", help="candle timeframe (default: the strategy's)")
    parser.add_argument("-p", "--pairs", nargs="+", help="pairs (default: the whitelist)")
    parser.add_argument("--fee", type=float, help="fee ratio per side, e.g. 0.001 "
                                                  "(default: the market's)")
    parser.add_argument("--markets", help="JSON file with a 'markets' list of ccxt markets "
                                          "(default: <datadir>/markets.json, else the exchange)")
    parser.add_argument("--export", help="write the trades to this JSON file")
    parser.add_argument("--chart", help="write the equity curve to this PNG file")
    parser.add_argument("--breakdown", nargs="+", choices=BREAKDOWNS, default=[],
                        help="also show the profit per day, week and/or month")


def add_download_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--exchange", help="ccxt exchange id (default: the config's)")
    parser.add_argument("-p", "--pairs", nargs="+", help="pairs (default: the whitelist)")
    parser.add_argument("-t", "--timeframes", nargs="+", default=["5m"],
                        help="timeframes (default: 5m)")
    parser.add_argument("--days", type=float, default=30, help="days of history (default: 30)")
    parser.add_argument("--datadir", help="where to write (default: data/<exchange>)")


# --- backtest --------------------------------------------------------------------------------


def run_backtest(settings: Settings, args: argparse.Namespace) -> int:
    settings = backtest_run.backtest_settings(_with_options(settings, args))
    fee = _fee(args.fee)
    strategy = strategy_for(settings)
    datadir = Path(args.datadir) if args.datadir else default_datadir(settings,
                                                                       settings.exchange.name)
    timerange = parse_timerange(args.timerange)
    frames = backtest_run.load_data(str(datadir), settings.exchange.pair_whitelist,
                                strategy.timeframe, timerange, strategy.startup_candle_count)
    history = BacktestHistory(frames, strategy.timeframe, datadir=datadir, timerange=timerange,
                              startup_candles=strategy.startup_candle_count)
    markets = backtest_markets(settings, args.markets, datadir)
    candles = sum(len(frame) for frame in frames.values())
    progress = _progress_writer() if candles >= PROGRESS_FROM else None
    with _engine_logs(verbose=getattr(args, "verbose", 0) >= 1):
        result = asyncio.run(backtest_run.run(settings, strategy, frames, markets, fee=fee,
                                              progress=progress, history=history))
    if args.export:
        write_export(result, Path(args.export))
    if args.chart:
        write_chart(result, Path(args.chart))
    sys.stdout.write(render(result, args.breakdown))
    return 0


@contextmanager
def _engine_logs(*, verbose: bool) -> Iterator[None]:
    """Every order is logged at INFO, which a backtest of a thousand trades drowns in: only
    warnings, unless -v."""
    engine_logger = logging.getLogger("engine")
    before = engine_logger.level
    if not verbose:
        engine_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        engine_logger.setLevel(before)


def _with_options(settings: Settings, args: argparse.Namespace) -> Settings:
    changes: dict[str, Any] = {}
    if args.strategy:
        changes["strategy"] = args.strategy
    if args.strategy_path:
        changes["strategy_path"] = str(Path(args.strategy_path).resolve())
    if args.timeframe:
        if args.timeframe not in TIMEFRAMES:
            raise ConfigError(f"--timeframe: expected one of {', '.join(TIMEFRAMES)}, "
                              f"got {args.timeframe!r}")
        changes["timeframe"] = args.timeframe
    if args.pairs:
        changes["exchange"] = replace(settings.exchange,
                                      pair_whitelist=_pairs(args.pairs, settings.stake_currency))
    return replace(settings, **changes)


def _pairs(pairs: list[str], stake_currency: str) -> tuple[str, ...]:
    wrong = [p for p in pairs if p.count("/") != 1 or not p.endswith(f"/{stake_currency}")]
    if wrong:
        raise ConfigError(f"--pairs: {', '.join(wrong)}: expected pairs like "
                          f"ETH/{stake_currency} (quoted in the stake currency)")
    return tuple(dict.fromkeys(pairs))


def _fee(fee: float | None) -> float | None:
    if fee is not None and not 0 <= fee < 0.1:
        raise ConfigError(f"--fee: expected a ratio per side such as 0.001, got {fee}")
    return fee


def parse_timerange(text: str | None) -> TimeRange | None:
    """`YYYYMMDD-YYYYMMDD`, `YYYYMMDD-` or `-YYYYMMDD` (UTC midnights, both ends included)."""
    if not text:
        return None
    start, dash, end = text.partition("-")
    if not dash or not (start or end):
        raise ConfigError(f"--timerange: expected YYYYMMDD-YYYYMMDD, got {text!r}")
    first, last = _day(start, text), _day(end, text)
    if first is not None and last is not None and last <= first:
        raise ConfigError(f"--timerange: the end must come after the start in {text!r}")
    return first, last


def _day(text: str, whole: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y%m%d").replace(tzinfo=UTC)
    except ValueError:
        raise ConfigError(f"--timerange: expected YYYYMMDD-YYYYMMDD, got {whole!r}") from None


def default_datadir(settings: Settings, exchange_name: str) -> Path:
    """The offline market's candles, or `data/<exchange>` of the project."""
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


async def _exchange_markets(settings: Settings) -> list[dict[str, Any]]:
    name = settings.exchange.name
    exchange = CcxtExchange(name, settings.exchange.ccxt_config, None, None, None,
                            SystemClock())
    try:
        await exchange.load_markets()
        known = exchange.markets()
        mode = download.precision_mode(name)
        return [download.market_definition(known[p], mode)
                for p in settings.exchange.pair_whitelist if p in known]
    finally:
        await exchange.close()


def write_export(result: backtest_run.BacktestResult, path: Path) -> None:
    """One trade per line, in the order of the result."""
    lines = ",\n".join(json.dumps(trade.to_json()) for trade in result.trades)
    path.write_text(f"[\n{lines}\n]\n" if lines else "[]\n", encoding="utf-8")


def _progress_writer() -> backtest_run.Progress:
    stream = sys.stderr
    shown = -1

    def show(done: int, total: int, now: datetime) -> None:
        nonlocal shown
        percent = done * 100 // total
        step = 1 if stream.isatty() else 25
        if percent // step == shown // step and done < total:
            return
        shown = percent
        end = "\n" if done == total or not stream.isatty() else ""
        stream.write(f"\rbacktest: {percent:3d}% ({backtest_run.iso(now)}){end}")
        stream.flush()

    return show


# --- download-data ---------------------------------------------------------------------------


def run_download(settings: Settings, args: argparse.Namespace) -> int:
    name = args.exchange or settings.exchange.name
    if name == "offline":
        raise ConfigError("--exchange: the offline market has nothing to download; expected a "
                          "ccxt exchange id such as binance")
    pairs = list(dict.fromkeys(args.pairs or settings.exchange.pair_whitelist))
    datadir = Path(args.datadir) if args.datadir else default_datadir(settings, name)
    config = settings.exchange.ccxt_config if name == settings.exchange.name else {}
    results = asyncio.run(_download(name, config, pairs, args.timeframes, args.days, datadir))
    for item in results:
        span = "" if item.first is None else f" ({backtest_run.iso(item.first)} to " \
                                              f"{backtest_run.iso(item.last or item.first)})"
        sys.stdout.write(f"{item.pair} {item.timeframe}: {item.new_candles} new, "
                         f"{item.total_candles} candles in {item.path}{span}\n")
    return 0


async def _download(name: str, config: Any, pairs: list[str], timeframes: list[str],
                    days: float, datadir: Path) -> list[download.Downloaded]:
    clock = SystemClock()
    exchange = CcxtExchange(name, config, None, None, None, clock)
    try:
        return await download.download(exchange, pairs, timeframes, days, datadir, clock)
    finally:
        await exchange.close()
