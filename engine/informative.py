"""More data than one pair at one timeframe: Freqtrade's `merge_informative_pair` and the
`@informative` decorator, with Freqtrade 2026.9's names, column naming and merge rule.

The one rule that matters: no look-ahead. Candles are labelled by their open time, so a 1h
candle dated 10:00 closes at 11:00. The merge gives each informative candle the date of the
last base candle that opens before it closes (10:00 + 1h - 5m = 10:55 on 5m candles, whose
close is 11:00) and joins on that date: the 10:00 1h candle reaches the 5m rows from 10:55 on,
the row whose close is the same moment as its own. With `ffill` the row keeps what the last
row matched, as Freqtrade's ordered merge does: a base row that matched nothing (a gap in the
base candles) keeps the older candle rather than taking one later. Before the first matched
row, Freqtrade fills the rows with the last informative candle dated before the first match;
so does this merge, except on a row that candle had not closed for yet (possible only with a
gap in the base candles), which takes the newest candle that had.

`@informative` methods are gathered from the strategy class (in name order, as Freqtrade's
`dir()` walk) and merged into the frame before `populate_indicators` runs (`merge_decorated`).
Their data, and `informative_pairs()`, are what `requested_candles` lists for the candle cache
or the backtest's data directory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from core.errors import ConfigError, StrategyError
from marketdata.timeframe import timeframe_to_minutes

if TYPE_CHECKING:
    from engine.strategy import IStrategy

# Where the decorator leaves its specs on the method: our own attribute, read by `decorated`.
SPECS_ATTRIBUTE: Final = "tradepilot_informative"
RESERVED_COLUMN: Final = "date_merge"
SPOT_CANDLES: Final = ("", "spot")

PopulateMethod = Callable[..., pd.DataFrame]
ColumnFormat = str | Callable[..., str]


@dataclass(frozen=True, slots=True)
class InformativeSpec:
    """One `@informative(...)` line: which asset and timeframe, and how columns are named."""

    timeframe: str
    asset: str = ""
    fmt: ColumnFormat | None = None
    ffill: bool = True
    candle_type: str | None = None


def informative(timeframe: str, asset: str = "", fmt: ColumnFormat | None = None, *,
                candle_type: str | None = None, ffill: bool = True,
                cache: bool = True) -> Callable[[PopulateMethod], PopulateMethod]:
    """Mark `populate_indicators_<x>(self, dataframe, metadata)` as the indicators of another
    timeframe (and pair, with `asset`), merged into the strategy's frame under
    `{column}_{timeframe}` (`{base}_{quote}_{column}_{timeframe}` with an asset).

    `asset` may hold `{stake}`/`{stake_currency}` and the current pair's `{base}`, `{quote}`,
    `{BASE}`, `{QUOTE}`; `fmt` is a format string or a callable taking those names plus
    `column`, `asset` and `timeframe` as keywords. `cache` is accepted for Freqtrade's
    signature: the method is run again for each base pair, which gives the same columns for any
    method that depends only on its frame.
    """
    del cache
    if candle_type not in (None, *SPOT_CANDLES):
        raise ConfigError(f"@informative candle_type={candle_type!r}: tradepilot trades spot "
                          "only; expected no candle_type or 'spot'")
    spec = InformativeSpec(timeframe, asset, fmt, ffill, candle_type)

    def decorate(method: PopulateMethod) -> PopulateMethod:
        specs: list[InformativeSpec] = list(getattr(method, SPECS_ATTRIBUTE, []))
        specs.append(spec)
        setattr(method, SPECS_ATTRIBUTE, specs)
        return method

    return decorate


# --- the merge ---------------------------------------------------------------------------------


def merge_informative_pair(dataframe: pd.DataFrame, informative: pd.DataFrame, timeframe: str,
                           timeframe_inf: str, ffill: bool = True, append_timeframe: bool = True,
                           date_column: str = "date", suffix: str | None = None
                           ) -> pd.DataFrame:
    """`informative` (candles of `timeframe_inf`, with its indicators) joined onto `dataframe`
    (candles of `timeframe`): each row sees the last informative candle closed at its own
    close, never a later one. Columns are renamed `<column>_<timeframe_inf>`, or
    `<column>_<suffix>`, or kept with neither.

    Raises ValueError for an informative timeframe shorter than the frame's, and for both
    `append_timeframe` and `suffix`.
    """
    minutes, minutes_inf = timeframe_to_minutes(timeframe), timeframe_to_minutes(timeframe_inf)
    if minutes_inf < minutes:
        raise ValueError(f"merge_informative_pair: the informative timeframe {timeframe_inf} is "
                         f"shorter than {timeframe}; expected it equal or longer (a shorter one "
                         "would add rows to the frame)")
    if suffix and append_timeframe:
        raise ValueError("merge_informative_pair: give either append_timeframe=True or a "
                         "suffix, not both")
    ready = _informative_dates(informative, date_column, timeframe_inf, minutes_inf - minutes)
    label = f"_{timeframe_inf}" if append_timeframe else f"_{suffix}" if suffix else ""
    renamed = informative.set_axis([f"{column}{label}" for column in informative.columns],
                                   axis=1)
    return _joined(dataframe, renamed.reset_index(drop=True), ready, ffill=ffill)


def _informative_dates(informative: pd.DataFrame, date_column: str, timeframe_inf: str,
                       delay_minutes: int) -> np.ndarray:
    """For each informative candle, the open time (ns) of the base candle that closes with it."""
    dates = pd.DatetimeIndex(informative[date_column])
    if delay_minutes and len(dates):
        if timeframe_inf == "1M":
            closes = dates + pd.offsets.MonthBegin(1)
            dates = pd.DatetimeIndex(closes) - pd.Timedelta(
                minutes=timeframe_to_minutes(timeframe_inf) - delay_minutes)
        else:
            dates = dates + pd.Timedelta(minutes=delay_minutes)
    return np.asarray(dates.as_unit("ns").asi8)


def _joined(dataframe: pd.DataFrame, informative: pd.DataFrame, ready: np.ndarray, *,
            ffill: bool) -> pd.DataFrame:
    base = pd.DatetimeIndex(dataframe["date"]).as_unit("ns").asi8
    # Only informative candles whose date is a base row's take part, as in an ordered join.
    matched = np.flatnonzero(np.isin(ready, base))
    matched = matched[np.argsort(ready[matched], kind="stable")]
    if ffill:
        at = np.searchsorted(ready[matched], base, side="right") - 1
        rows = np.where(at >= 0, matched[np.maximum(at, 0)], -1) if len(matched) \
            else np.full(len(base), -1, dtype=np.int64)
        _fill_leading_rows(rows, ready, base)
    else:
        position = {int(date): int(row) for row, date in zip(matched, ready[matched],
                                                              strict=True)}
        rows = np.array([position.get(int(date), -1) for date in base], dtype=np.int64)
    picked = informative.reindex(pd.Index(rows)).reset_index(drop=True)
    base_frame = dataframe.reset_index(drop=True)
    # A name on both sides keeps both, suffixed as pandas' merge suffixes them.
    both = set(base_frame.columns) & set(picked.columns)
    if both:
        base_frame = base_frame.rename(columns={c: f"{c}_x" for c in both})
        picked = picked.rename(columns={c: f"{c}_y" for c in both})
    return pd.concat([base_frame, picked], axis=1)


def _fill_leading_rows(rows: np.ndarray, ready: np.ndarray, base: np.ndarray) -> None:
    """The rows before the first matched one: Freqtrade fills them (only when some later row
    matched) with the last informative candle dated before the first match. A row that
    candle had not closed for yet (a gap in the base candles) takes the newest one that had."""
    if len(rows) < 2 or rows[0] >= 0 or not (rows >= 0).any():
        return
    first_matched = int(np.argmax(rows >= 0))
    order = np.argsort(ready, kind="stable")
    ordered = ready[order]
    fill = int(np.searchsorted(ordered, ready[rows[first_matched]], side="left")) - 1
    if fill < 0:
        return
    closed = np.searchsorted(ordered, base[:first_matched], side="right") - 1
    chosen = np.minimum(closed, fill)
    rows[:first_matched] = np.where(chosen >= 0, order[np.maximum(chosen, 0)], -1)


# --- the decorator at work ---------------------------------------------------------------------


def decorated(strategy: IStrategy) -> list[tuple[InformativeSpec, PopulateMethod]]:
    """The strategy's `@informative` methods, in Freqtrade's order (attribute names sorted,
    then each method's decorators from the innermost out); a timeframe shorter than the
    strategy's is a ConfigError, as Freqtrade refuses it at load."""
    found: list[tuple[InformativeSpec, PopulateMethod]] = []
    cls = type(strategy)
    for name in dir(cls):
        method = getattr(cls, name, None)
        specs = getattr(method, SPECS_ATTRIBUTE, None) if callable(method) else None
        if method is None or not isinstance(specs, list):
            continue
        for spec in specs:
            if timeframe_to_minutes(spec.timeframe) < timeframe_to_minutes(strategy.timeframe):
                raise ConfigError(f"{cls.__name__}.{name}: @informative('{spec.timeframe}') is "
                                  f"shorter than the strategy's timeframe {strategy.timeframe};"
                                  " expected an equal or longer timeframe")
            found.append((spec, method))
    return found


def merge_decorated(strategy: IStrategy, dataframe: pd.DataFrame, metadata: dict[str, Any],
                    methods: Iterable[tuple[InformativeSpec, PopulateMethod]]) -> pd.DataFrame:
    """Run each `@informative` method on its candles and merge the result into `dataframe`."""
    for spec, method in methods:
        dataframe = _merge_one(strategy, dataframe, metadata, spec, method)
    return dataframe


def _merge_one(strategy: IStrategy, dataframe: pd.DataFrame, metadata: dict[str, Any],
               spec: InformativeSpec, method: PopulateMethod) -> pd.DataFrame:
    _refuse_reserved(dataframe)
    dp = strategy.dp
    asset = format_asset(spec.asset, dp.stake_currency, dp.market(metadata["pair"])) \
        if spec.asset else metadata["pair"]
    market = dp.market(asset)
    if market is None:
        raise StrategyError(f"@informative: market {asset} is not available")
    candles = dp.get_pair_dataframe(asset, spec.timeframe)
    if candles.empty:
        raise StrategyError(f"@informative: no {spec.timeframe} candles for {asset}; cannot "
                            "populate its indicators")
    frame = method(strategy, candles, {"pair": asset, "timeframe": spec.timeframe})
    _refuse_reserved(frame)
    fmt = spec.fmt or ("{base}_{quote}_{column}_{timeframe}" if spec.asset
                       else "{column}_{timeframe}")
    formatter = fmt if callable(fmt) else fmt.format
    names = {**pair_names(market), "asset": asset, "timeframe": spec.timeframe}
    columns = [formatter(column=column, **names) for column in frame.columns]
    if RESERVED_COLUMN in columns:
        raise StrategyError(f"@informative: the column name {RESERVED_COLUMN!r} is reserved")
    date_column = formatter(column="date", **names)
    if date_column in dataframe.columns:
        raise StrategyError(f"@informative: the column {date_column} is already in the frame; "
                            "expected unique column names")
    return merge_informative_pair(dataframe, frame.set_axis(columns, axis=1),
                                  strategy.timeframe, spec.timeframe, ffill=spec.ffill,
                                  append_timeframe=False, date_column=date_column)


def _refuse_reserved(frame: pd.DataFrame) -> None:
    if RESERVED_COLUMN in frame.columns:
        raise StrategyError(f"@informative: the column name {RESERVED_COLUMN!r} is reserved "
                            "for the merge")


def pair_names(market: Mapping[str, Any] | None) -> dict[str, str]:
    """`{base}`, `{BASE}`, `{quote}`, `{QUOTE}` of a market (none without one)."""
    if not market:
        return {}
    base, quote = str(market["base"]), str(market["quote"])
    return {"base": base.lower(), "BASE": base.upper(), "quote": quote.lower(),
            "QUOTE": quote.upper()}


def format_asset(asset: str, stake: str, market: Mapping[str, Any] | None = None) -> str:
    """`asset` with `{stake}`/`{stake_currency}` and the pair names filled in, upper case."""
    try:
        return asset.format(stake=stake, stake_currency=stake, **pair_names(market)).upper()
    except (KeyError, IndexError, ValueError) as exc:
        raise StrategyError(f"@informative asset {asset!r}: cannot fill in {exc}; expected "
                            "{stake}, {base}, {quote}, {BASE} or {QUOTE}") from None


# --- what to fetch -----------------------------------------------------------------------------


def requested_candles(strategy: IStrategy, declared: Iterable[Any], whitelist: Iterable[str],
                      market: Callable[[str], Mapping[str, Any] | None], stake: str
                      ) -> list[tuple[str, str]]:
    """The (pair, timeframe) candles a strategy asks for beyond its own: `declared` (what its
    `informative_pairs()` returned) and those of its `@informative` methods."""
    wanted: dict[tuple[str, str], None] = {}
    for item in declared:
        wanted[_declared_pair(item)] = None
    pairs = list(whitelist)
    for spec, _ in decorated(strategy):
        if not spec.asset:
            wanted.update(((pair, spec.timeframe), None) for pair in pairs)
        elif any(name in spec.asset for name in ("{base}", "{BASE}")):
            wanted.update(((format_asset(spec.asset, stake, market(pair)),
                            spec.timeframe), None) for pair in pairs)
        else:
            wanted[(format_asset(spec.asset, stake), spec.timeframe)] = None
    return list(wanted)


def _declared_pair(item: Any) -> tuple[str, str]:
    if not isinstance(item, tuple | list) or len(item) not in (2, 3) \
            or not all(isinstance(part, str) for part in item):
        raise StrategyError(f"informative_pairs: {item!r} is not a (pair, timeframe) or "
                            "(pair, timeframe, candle_type) tuple")
    if len(item) == 3 and item[2] not in SPOT_CANDLES:
        raise StrategyError(f"informative_pairs: {tuple(item)!r}: candle type {item[2]!r}; "
                            "tradepilot trades spot only")
    timeframe_to_minutes(item[1])
    return item[0], item[1]
