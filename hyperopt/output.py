"""What a hyperopt shows and writes: the results table (Freqtrade's columns), one line per
epoch, the best result's parameters as strategy code, and the parameter file
(`<strategy file>.json`, Freqtrade's format) that `bot.py backtest` and the bot load."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from engine.parameter_file import parameter_file
from engine.strategy import IStrategy
from hyperopt.epoch import MAX_LOSS

COLUMNS = ("Best", "Epoch", "Trades", "Win  Draw  Loss  Win%", "Avg profit", "Profit",
           "Avg duration", "Objective", "Max Drawdown (Acct)")
_HEADERS = {"buy": "Buy hyperspace params:", "sell": "Sell hyperspace params:",
            "protection": "Protection hyperspace params:", "roi": "ROI table:",
            "stoploss": "Stoploss:", "trailing": "Trailing stop:",
            "max_open_trades": "Max Open Trades:"}
_DECIMALS = {"BTC": 8, "ETH": 5}


@dataclass(frozen=True, slots=True)
class Row:
    """One epoch as the outputs read it (from a result, or from a stored trial)."""

    epoch: int  # 1-based
    loss: float
    stats: Mapping[str, Any]  # EpochStats.to_json()
    details: Mapping[str, Mapping[str, Any]]
    best: bool = False


def _coin(amount: float, currency: str) -> str:
    return f"{amount:.{_DECIMALS.get(currency, 3)}f} {currency}"


def _duration(minutes: float) -> str:
    return str(timedelta(minutes=round(minutes)))


def cells(row: Row, total: int, currency: str) -> list[str]:
    s = row.stats
    win_rate = s["wins"] / s["trades"] * 100 if s["trades"] else 0.0
    profit = "--" if s["profit_abs"] == 0 else \
        f"{_coin(s['profit_abs'], currency)} ({s['profit_ratio']:.2%})"
    drawdown = "--" if s["max_drawdown_account"] == 0 else \
        f"{_coin(s['max_drawdown_abs'], currency)} ({s['max_drawdown_account']:.2%})"
    return [
        "Best" if row.best else "", f"{row.epoch}/{total}", str(s["trades"]),
        f"{s['wins']:>4}  {s['draws']:>4}  {s['losses']:>4}  {win_rate:4.1f}",
        f"{s['avg_profit_ratio']:.2%}" if s["trades"] else "--", profit,
        _duration(s["avg_duration_minutes"]),
        "N/A" if row.loss == MAX_LOSS else f"{row.loss:,.5f}", drawdown,
    ]  # fmt: skip


def table(rows: Sequence[Row], total: int, currency: str) -> str:
    body = [cells(row, total, currency) for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in body)) for i, c in enumerate(COLUMNS)]

    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.rjust(w) if i else v.ljust(w)
                                 for i, (v, w) in enumerate(zip(values, widths, strict=True))
                                 ) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(COLUMNS), rule, *(line(r) for r in body)]) + "\n"


def explanation(row: Row, total: int, currency: str) -> str:
    """Freqtrade's one line per epoch."""
    s = row.stats
    return (f"{row.epoch:5d}/{total}: {s['trades']:6d} trades. {s['wins']}/{s['draws']}/"
            f"{s['losses']} Wins/Draws/Losses. Avg profit {s['avg_profit_ratio']:7.2%}. "
            f"Total profit {s['profit_abs']:11.8f} {currency} ({s['profit_ratio']:8.2%}). "
            f"Avg duration {_duration(s['avg_duration_minutes'])} min. "
            f"Objective: {row.loss:.5f}")


def _python(value: Any, indent: int = 4) -> str:
    return json.dumps(value, indent=indent).replace("true", "True").replace(
        "false", "False").replace("null", "None")


def params_code(details: Mapping[str, Mapping[str, Any]]) -> str:
    """The searched values as the lines of strategy code Freqtrade prints."""
    parts = []
    for space, values in details.items():
        header = _HEADERS.get(space, f"{space.capitalize()} hyperspace params:")
        if space == "roi":
            parts.append(f"# {header}\nminimal_roi = {_python(dict(values))}")
        elif space in ("stoploss", "max_open_trades"):
            parts.append(f"# {header}\n{space} = {values[space]}")
        elif space == "trailing":
            parts.append(f"# {header}\n" + "\n".join(f"{k} = {_python(v)}"
                                                     for k, v in values.items()))
        else:
            parts.append(f"# {header}\n{space}_params = {_python(dict(values))}")
    return "\n\n".join(parts) + "\n"


def show(row: Row, total: int, currency: str, header: str = "Best result") -> str:
    return f"\n{header}:\n\n{explanation(row, total, currency)}\n\n{params_code(row.details)}"


# --- the parameter file ----------------------------------------------------------------------


def not_optimized(strategy: IStrategy, max_open_trades: int) -> dict[str, dict[str, Any]]:
    """The strategy's current values of every space, before any epoch changes them."""
    values: dict[str, dict[str, Any]] = {
        space: dict(params) for space, params in strategy.parameter_values.items()}
    values["roi"] = {str(k): v for k, v in strategy.minimal_roi.items()}
    values["stoploss"] = {"stoploss": strategy.stoploss}
    values["trailing"] = {
        "trailing_stop": strategy.trailing_stop,
        "trailing_stop_positive": strategy.trailing_stop_positive,
        "trailing_stop_positive_offset": strategy.trailing_stop_positive_offset,
        "trailing_only_offset_is_reached": strategy.trailing_only_offset_is_reached,
    }
    values["max_open_trades"] = {"max_open_trades": max_open_trades}
    return values


def file_params(details: Mapping[str, Mapping[str, Any]],
                baseline: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The searched values over the strategy's others, space by space."""
    merged = {space: dict(values) for space, values in baseline.items()}
    for space, values in details.items():
        if space in ("roi", "max_open_trades", "stoploss", "trailing"):
            merged[space] = dict(values)
        else:
            merged.setdefault(space, {}).update(values)
    return merged


def strategy_file(strategy: IStrategy) -> Path | None:
    module = sys.modules.get(type(strategy).__module__)
    source = getattr(module, "__file__", None) if isinstance(module, ModuleType) else None
    return parameter_file(source)


def write_parameter_file(path: Path, strategy_name: str, params: Mapping[str, Any],
                         now: datetime) -> None:
    data = {"strategy_name": strategy_name, "params": params, "ft_stratparam_v": 1,
            "export_time": now.isoformat(sep=" ")}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
