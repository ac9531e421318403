"""`--timeframe-detail`: each candle of the backtest stepped through shorter candles.

Freqtrade's backtester (2026.9) prices a candle's exits, with a detail timeframe, on each of
the shorter candles inside it in turn, at their own time: the replay here does the same by
stepping the clock through them while the offline market quotes the detail candle and the
signals stay those of the last closed candle of the strategy's timeframe. How Freqtrade takes
them, and so how this module prepares them:

- the detail candles of a pair are read from its own `PAIR-TF` file, from the first candle of
  the backtest range on (no startup candles), and their gaps are filled;
- the k-th detail candle inside a candle trades at the candle's open plus k detail steps, by
  position (`OfflineMarket`): a candle without any trades whole, at its open;
- a pair whose trade closed inside a candle waits for the next candle (the engine's lock
  after an exit), except after a trade that opened and closed on the same detail candle:
  Freqtrade's backtester lets that pair enter again on the next detail candle
  (`release_round_trips`, with `backtest.freqtrade_compat`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import pandas as pd

from core.errors import ConfigError
from engine.protections import AUTO_LOCK
from marketdata.files import TimeRange, load_pair_data
from marketdata.timeframe import TIMEFRAMES, timeframe_to_seconds
from store.store import Store


def check_detail(timeframe: str, detail: str, option: str = "--timeframe-detail") -> None:
    """A detail timeframe must be shorter than the strategy's and divide it."""
    if detail not in TIMEFRAMES:
        raise ConfigError(f"{option}: expected one of {', '.join(TIMEFRAMES)}, got {detail!r}")
    main, short = timeframe_to_seconds(timeframe), timeframe_to_seconds(detail)
    if short >= main or main % short:
        raise ConfigError(f"{option}: expected a timeframe shorter than the strategy's "
                          f"{timeframe} that divides it (such as 1m), got {detail}")


def detail_steps(timeframe: str, detail: str | None) -> tuple[timedelta, ...]:
    """Where the clock stops inside each candle: its open, then each detail candle's."""
    if not detail:
        return (timedelta(0),)
    short = timeframe_to_seconds(detail)
    return tuple(timedelta(seconds=s) for s in range(0, timeframe_to_seconds(timeframe), short))


def load_detail(datadir: str, pairs: Iterable[str], timeframe: str, detail: str,
                timerange: TimeRange | None) -> dict[str, pd.DataFrame]:
    """Each pair's detail candles (a missing file is a ConfigError naming it)."""
    check_detail(timeframe, detail)
    return load_pair_data(datadir, pairs, detail, timerange, fill_missing=False)


def from_range_start(frames: Mapping[str, pd.DataFrame], start: datetime
                     ) -> dict[str, pd.DataFrame]:
    """The detail candles from the backtest range's first candle on, as Freqtrade loads
    them; the offline market fills their gaps after this cut."""
    return {pair: frame.loc[frame["date"] >= start].reset_index(drop=True)
            for pair, frame in frames.items()}


def release_round_trips(store: Store, now: datetime, held: set[str]) -> None:
    """Lift the lock after an exit at `now` from each pair that held no trade before (`held`:
    the pairs with an open trade when the clock reached `now`): its trade opened and closed
    on this detail candle.

    Freqtrade's backtester keeps a pair out for the rest of a candle once it has seen the
    pair's trade open at the start of a detail candle; a trade entered and exited within one
    detail candle was never seen open, so its pair may enter again on the next one."""
    for lock in store.active_locks(now):
        if lock.reason == AUTO_LOCK and lock.lock_time == now and lock.pair not in held:
            store.unlock(str(lock.id), now)
