"""Download candles for backtests: paged, rate-limited, resumable.

Candles come through an `Exchange` (the live `CcxtExchange`, whose ccxt client keeps to the
exchange's rate limit and whose errors are classified in one place) and are written where the
backtester reads them: `<datadir>/<BASE>_<QUOTE>-<timeframe>.feather`, Freqtrade's naming.
Only closed candles are stored. A second run asks only for what is missing: the candles after
the newest stored one, and the ones before the oldest when more days are asked for. What the
tail pages brought is written even when a later page fails, so an interrupted run resumes.

The markets of the downloaded pairs are written to `<datadir>/markets.json` (ccxt's unified
form, precision as tick sizes), so a backtest of those pairs needs no network.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from core.clock import Clock
from core.errors import ConfigError
from marketdata.candles import CANDLE_COLUMNS, empty_candles
from marketdata.files import candle_file, clean_candles, load_candles
from marketdata.timeframe import TIMEFRAMES, timeframe_to_prev_date, timeframe_to_timedelta
from venues.exchange import Exchange, MarketRules
from venues.precision import market_definition, precision_mode

logger = logging.getLogger(__name__)

MARKETS_FILE = "markets.json"
PAGE = 1000  # candles per request; exchanges cap it at their own maximum


@dataclass(frozen=True, slots=True)
class Downloaded:
    pair: str
    timeframe: str
    path: Path
    new_candles: int
    total_candles: int
    first: datetime | None
    last: datetime | None


def _candle_length(timeframe: str) -> timedelta:
    """Checked before the first request: "7m" parses, but no exchange serves it and no
    backtest replays it."""
    if timeframe not in TIMEFRAMES:
        raise ConfigError(f"--timeframes: {timeframe!r} is not a timeframe backtests replay; "
                          f"expected one of {', '.join(TIMEFRAMES)}")
    return timeframe_to_timedelta(timeframe)


@dataclass(frozen=True, slots=True)
class Window:
    """What to fetch, in Freqtrade's terms. `first` (from --days or --timerange): the oldest
    candle wanted, for every pair; without it a pair with no file gets `new_pairs_days` of
    history and a stored pair only its new candles. `last`: the newest candle wanted (default:
    the last closed one). `prepend`: only candles older than the stored ones. `erase`: the
    stored files are deleted first."""

    first: datetime | None = None
    last: datetime | None = None
    new_pairs_days: float = 30
    prepend: bool = False
    erase: bool = False


async def download(exchange: Exchange, pairs: Sequence[str], timeframes: Sequence[str],
                   window: Window | float, datadir: Path, clock: Clock, *,
                   progress: Callable[[Downloaded], None] | None = None) -> list[Downloaded]:
    """Bring every (pair, timeframe) file up to date with `window` (or the last so many days,
    given as a number)."""
    if not isinstance(window, Window):
        if window <= 0:
            raise ConfigError(f"--days: expected a positive number of days, got {window}")
        window = Window(first=clock.now() - timedelta(days=window))
    steps = {timeframe: _candle_length(timeframe) for timeframe in timeframes}
    await exchange.load_markets()
    unknown = [pair for pair in pairs if pair not in exchange.markets()]
    if unknown:
        raise ConfigError(f"--pairs: {', '.join(unknown)} not a market on {exchange.name}")
    write_markets(datadir / MARKETS_FILE, exchange.name,
                  [exchange.rules(pair) for pair in pairs])
    done = []
    for timeframe in timeframes:
        for pair in pairs:
            result = await _update(exchange, pair, timeframe, steps[timeframe], window,
                                   datadir, clock.now())
            done.append(result)
            if progress is not None:
                progress(result)
    return done


async def _update(exchange: Exchange, pair: str, timeframe: str, step: timedelta,
                  window: Window, datadir: Path, now: datetime) -> Downloaded:
    stored_at = candle_file(datadir, pair, timeframe)
    if window.erase and stored_at.is_file():
        stored_at.unlink()
        logger.info("candles pair=%s timeframe=%s: erased %s", pair, timeframe, stored_at)
    stored = load_candles(stored_at) if stored_at.is_file() else empty_candles()
    # The candle forming now is never stored; an end inside the range is included.
    until = timeframe_to_prev_date(timeframe, now)
    if window.last is not None:
        until = min(until, timeframe_to_prev_date(timeframe, window.last) + step)
    first = window.first
    if first is None and (stored.empty or window.prepend):
        first = now - timedelta(days=window.new_pairs_days)
    start = None if first is None else timeframe_to_prev_date(timeframe, first)
    path = stored_at.with_name(
        stored_at.name.removesuffix(".gz").removesuffix(".json").removesuffix(".feather")
        + ".feather")
    fetched: list[pd.DataFrame] = []
    try:
        if stored.empty:
            await fetch_range(exchange, pair, timeframe, step, start or until, until,
                              into=fetched)
        else:
            if start is not None and start < _first(stored):
                # All or nothing: a partial head would leave a hole no later run looks into.
                head = await fetch_range(exchange, pair, timeframe, step, start,
                                         min(_first(stored), until))
                fetched.append(head)
            if not window.prepend:
                after = _last(stored) + step
                await fetch_range(exchange, pair, timeframe, step, after, until, into=fetched)
    finally:
        merged = _save(stored, fetched, path) if any(len(f) for f in fetched) else stored
    new = len(merged) - len(stored)
    logger.info("candles pair=%s timeframe=%s: %d new, %d in %s", pair, timeframe, new,
                len(merged), path)
    return Downloaded(pair, timeframe, path if new else stored_at, new, len(merged),
                      _first(merged) if len(merged) else None,
                      _last(merged) if len(merged) else None)


async def fetch_range(exchange: Exchange, pair: str, timeframe: str, step: timedelta,
                      since: datetime, until: datetime, *,
                      into: list[pd.DataFrame] | None = None) -> pd.DataFrame:
    """Candles opening in [since, until), page by page; each page is appended to `into` as it
    arrives, so the caller keeps what came before a failure."""
    pages = into if into is not None else []
    first_page = len(pages)
    cursor = since
    while cursor < until:
        wanted = max(min(int((until - cursor) / step), PAGE), 1)
        frame = await exchange.fetch_ohlcv(pair, timeframe, cursor, wanted)
        dates = frame["date"]
        frame = frame.loc[(dates >= cursor) & (dates < until)]
        if frame.empty:
            break
        pages.append(frame.loc[:, list(CANDLE_COLUMNS)])
        cursor = frame["date"].iloc[-1].to_pydatetime() + step
    mine = pages[first_page:]
    return pd.concat(mine, ignore_index=True) if mine else empty_candles()


def _first(frame: pd.DataFrame) -> datetime:
    return frame["date"].iloc[0].to_pydatetime()


def _last(frame: pd.DataFrame) -> datetime:
    return frame["date"].iloc[-1].to_pydatetime()


def _save(stored: pd.DataFrame, fetched: list[pd.DataFrame], path: Path) -> pd.DataFrame:
    parts = [f for f in (stored, *fetched) if len(f)]
    merged = clean_candles(pd.concat(parts, ignore_index=True))
    partial = path.with_name(path.name + ".part")
    merged.to_feather(partial)
    partial.replace(path)  # a crash mid-write never leaves a truncated file behind
    return merged


# --- market definitions ----------------------------------------------------------------------


def write_markets(path: Path, exchange_name: str, rules: Iterable[MarketRules]) -> None:
    """Add (or refresh) these markets in the JSON file, keeping the others already there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    known: dict[str, Any] = {}
    if path.is_file():
        known = {m["symbol"]: m for m in read_markets(path)}
    mode = precision_mode(exchange_name)
    known |= {r.pair: market_definition(r, mode) for r in rules}
    body = {"exchange": exchange_name, "markets": [known[s] for s in sorted(known)]}
    path.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")


def read_markets(path: Path) -> list[dict[str, Any]]:
    try:
        markets = json.loads(path.read_text(encoding="utf-8"))["markets"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"markets file {path}: expected JSON with a 'markets' list "
                          f"({exc})") from None
    if not isinstance(markets, list):
        raise ConfigError(f"markets file {path}: 'markets' must be a list of ccxt markets")
    return markets
