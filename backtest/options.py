"""The command-line options of `backtest` and `download-data` that Freqtrade's users know, read
into what the commands need: the time range, the pairs, the export, and the config keys the
options replace. Every bad value is a ConfigError naming the option."""

from __future__ import annotations

import argparse
import contextlib
import logging
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from core.clock import Clock
from core.errors import ConfigError
from engine.config import check_consistency, parse_option
from engine.config_files import read_json
from engine.settings import Settings
from marketdata.files import TimeRange
from marketdata.timeframe import TIMEFRAMES

logger = logging.getLogger(__name__)

# One side of a time range: Freqtrade's forms, all UTC.
_SIDES: tuple[tuple[str, str | None], ...] = (
    (r"\d{8}", "%Y%m%d"), (r"\d{8}T\d{4}", "%Y%m%dT%H%M"), (r"\d{8}T\d{6}", "%Y%m%dT%H%M%S"),
    (r"\d{10}", None), (r"\d{13}", None),
)  # fmt: skip
_TIMERANGE_FORMS = ("each side may also be YYYYMMDDTHHMM[SS] or a Unix time in seconds or "
                    "milliseconds, or be left out")
ExportKind = Literal["trades", "signals", "none"]
EXPORT_KINDS: tuple[ExportKind, ...] = ("trades", "signals", "none")


def parse_timerange(text: str | None, option: str = "--timerange") -> TimeRange | None:
    """`START-END` as Freqtrade reads it: either side left out (`20180101-`, `-20180201`),
    a day, a minute or a second (`20180101T0930`), or a Unix time (`1514764800`, 10 digits,
    or in milliseconds, 13). Both ends are included."""
    if not text:
        return None
    sides = text.split("-")
    if len(sides) != 2 or not any(sides):
        raise ConfigError(f"{option}: expected YYYYMMDD-YYYYMMDD, got {text!r} "
                          f"({_TIMERANGE_FORMS})")
    first, last = (_side(side, text, option) for side in sides)
    if first is not None and last is not None and last < first:
        raise ConfigError(f"{option}: the end comes before the start in {text!r}")
    return first, last


def _side(text: str, whole: str, option: str) -> datetime | None:
    if not text:
        return None
    for pattern, form in _SIDES:
        if not re.fullmatch(pattern, text):
            continue
        try:
            if form is None:
                seconds = int(text) // 1000 if len(text) == 13 else int(text)
                return datetime.fromtimestamp(seconds, UTC)
            return datetime.strptime(text, form).replace(tzinfo=UTC)
        except (ValueError, OverflowError, OSError):
            break
    raise ConfigError(f"{option}: expected YYYYMMDD-YYYYMMDD, got {whole!r} ({_TIMERANGE_FORMS})")


def pairs_file(path: str) -> list[str]:
    """--pairs-file: a JSON list of pairs, as Freqtrade's `pairs.json`."""
    pairs = read_json(Path(path))
    if not isinstance(pairs, list) or not pairs or not all(isinstance(p, str) for p in pairs):
        raise ConfigError(f'--pairs-file {path}: expected a JSON list of pairs like ["ETH/BTC"]')
    return sorted(dict.fromkeys(pairs))


def chosen_pairs(args: argparse.Namespace) -> list[str] | None:
    """--pairs-file wins over --pairs, as in Freqtrade; None when neither is given."""
    if getattr(args, "pairs_file", None):
        return pairs_file(args.pairs_file)
    return list(dict.fromkeys(args.pairs)) if args.pairs else None


def quoted_pairs(pairs: list[str], stake_currency: str) -> tuple[str, ...]:
    wrong = [p for p in pairs if p.count("/") != 1 or not p.endswith(f"/{stake_currency}")]
    if wrong:
        raise ConfigError(f"--pairs: {', '.join(wrong)}: expected pairs like "
                          f"ETH/{stake_currency} (quoted in the stake currency)")
    return tuple(pairs)


def with_options(settings: Settings, args: argparse.Namespace) -> Settings:
    """The settings with the backtest's options in place of the config keys they replace."""
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
    pairs = chosen_pairs(args)
    if pairs:
        changes["exchange"] = replace(settings.exchange,
                                      pair_whitelist=quoted_pairs(pairs, settings.stake_currency))
    if args.timeframe_detail:
        if args.timeframe_detail not in TIMEFRAMES:
            raise ConfigError(f"--timeframe-detail: expected one of {', '.join(TIMEFRAMES)}, "
                              f"got {args.timeframe_detail!r}")
        changes["timeframe_detail"] = args.timeframe_detail
    return check_consistency(replace(settings, **changes, **_money(args)))


def _money(args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if args.max_open_trades is not None:
        changes["max_open_trades"] = parse_option("--max-open-trades", "max_open_trades",
                                                  args.max_open_trades)
    if args.stake_amount is not None:
        stake: Any = args.stake_amount
        with contextlib.suppress(ValueError):
            stake = float(stake)
        changes["stake_amount"] = parse_option("--stake-amount", "stake_amount", stake)
    if args.dry_run_wallet is not None:
        changes["dry_run_wallet"] = parse_option("--dry-run-wallet", "dry_run_wallet",
                                                 args.dry_run_wallet)
    return changes


@dataclass(frozen=True, slots=True)
class Export:
    kind: ExportKind
    path: Path | None  # None with kind "none"


def export_of(args: argparse.Namespace, clock: Clock) -> Export:
    """--export trades|signals|none and --export-filename, as Freqtrade's. The older
    `--export FILE` still writes the trades to FILE, with a warning naming the new form."""
    kind = args.export or ("trades" if args.export_filename else "none")
    if kind not in EXPORT_KINDS:
        if not (Path(kind).suffix or "/" in kind):
            raise ConfigError(f"--export: expected one of {', '.join(EXPORT_KINDS)}, got "
                              f"{kind!r}")
        if args.export_filename:
            raise ConfigError(f"--export {kind}: give a file name with --export-filename only")
        logger.warning("--export FILE is deprecated; use --export trades --export-filename "
                       "%s (Freqtrade's form)", kind)
        return Export("trades", Path(kind))
    if kind == "none":
        return Export("none", None)
    if args.export_filename:
        return Export(kind, Path(args.export_filename))
    stamp = clock.now().strftime("%Y-%m-%d_%H-%M-%S")
    return Export(kind, Path("backtest_results") / f"backtest-result-{stamp}.json")


def strategy_names(args: argparse.Namespace) -> list[str | None]:
    """--strategy-list, or the one --strategy (None: the config's)."""
    if args.strategy_list:
        return list(dict.fromkeys(args.strategy_list))
    return [args.strategy]
