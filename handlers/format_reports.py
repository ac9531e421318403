"""Replies about money and the bot: /profit, /daily /weekly /monthly, /balance, /health,
/show_config and the LIVE / DRY-RUN banner. Pure functions of the engine's views.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.control.views import BalanceView, HealthView, PeriodReport, ProfitSummary
from engine.fiat import FiatRate
from handlers.format import coin, duration, esc, field, number, pct, table, when

_DUST = {"BTC": 0.0001, "ETH": 0.01}
_PERIOD_TITLE = {"day": "Daily", "week": "Weekly", "month": "Monthly"}


def mode_banner(dry_run: bool) -> str:
    """The first line of /show_config and the startup message: nobody mistakes one for the other."""
    if dry_run:
        return "🧪 <b>DRY-RUN</b>: simulated orders, no real money."
    return "🔴 <b>LIVE</b>: trading with real money on the exchange."


def _fiat_line(value: float, fiat: FiatRate | None) -> list[str]:
    """Freqtrade's second line of a /profit figure, in fiat_display_currency."""
    return [f"∙ {coin(fiat.value(value), fiat.currency)}"] if fiat is not None else []


def profit_text(view: ProfitSummary, fiat: FiatRate | None = None) -> str:
    cur = view.stake_currency
    if view.trade_count == 0:
        return f"No trades yet.\n{field('Bot started', when(view.bot_start))}"
    lines = [
        "<b>ROI:</b> Closed trades",
        f"∙ {coin(view.closed_profit_abs, cur)} ({pct(view.closed_profit_mean_ratio)}) "
        f"(∑ {pct(view.closed_profit_ratio_of_start)})",
        *_fiat_line(view.closed_profit_abs, fiat),
        "<b>ROI:</b> All trades",
        f"∙ {coin(view.all_profit_abs, cur)} ({pct(view.all_profit_mean_ratio)}) "
        f"(∑ {pct(view.all_profit_ratio_of_start)})",
        *_fiat_line(view.all_profit_abs, fiat),
        "",
        field("Total Trade Count", str(view.trade_count)),
        field("Bot started", when(view.bot_start)),
    ]
    if view.since is not None:
        lines.append(field("Showing profit since", when(view.since)))
    else:
        lines.append(field("First Trade opened", when(view.first_trade_date)))
    lines.append(field("Latest Trade opened", when(view.latest_trade_date)))
    lines.append(field("Win / Loss", f"{view.wins} / {view.losses}"))
    lines.append(field("Winrate", pct(view.winrate)))
    lines.append(field("Expectancy (Ratio)",
                       f"{coin(view.expectancy_abs, cur)} ({view.expectancy_ratio:.2f})"))
    if view.closed_count:
        lines += _closed_stats(view)
    return "\n".join(lines)


def _closed_stats(view: ProfitSummary) -> list[str]:
    cur = view.stake_currency
    factor = "n/a" if view.profit_factor is None else f"{view.profit_factor:.2f}"
    lines = [
        field("Avg. Duration", duration(view.avg_duration)),
        field("Best Performing", f"{esc(view.best_pair or 'n/a')}: "
                                 f"{pct(view.best_pair_profit_ratio)}"),
        field("Trading volume", coin(view.trading_volume, cur)),
        field("Profit factor", factor),
    ]
    dd = view.max_drawdown
    if dd is not None:
        lines.append(field("Max Drawdown", f"{pct(dd.ratio)} ({coin(dd.abs, cur)})"))
        lines.append(f"    from {when(dd.high_date)} ({coin(dd.high_value, cur)})")
        lines.append(f"    to {when(dd.low_date)} ({coin(dd.low_value, cur)})")
    return lines


def periods_text(report: PeriodReport, fiat: FiatRate | None = None) -> str:
    title = _PERIOD_TITLE.get(report.unit, report.unit.title())
    cur = report.stake_currency
    head = f"<b>{esc(title)} Profit over the last {len(report.rows)} {esc(report.unit)}s</b>"
    columns = [report.unit.title(), "Profit", "Profit %", "Trades"]
    rows = [[row.start.isoformat(), f"{number(row.profit_abs, cur)} {cur}",
             pct(row.profit_ratio), str(row.trade_count)] for row in report.rows]
    if fiat is not None:
        # Freqtrade's column beside the stake's, two decimals.
        columns.insert(2, f"Profit {fiat.currency}")
        for row, shown in zip(report.rows, rows, strict=True):
            shown.insert(2, f"{fiat.value(row.profit_abs):.2f} {fiat.currency}")
    return head + "\n" + table(columns, rows)


def balance_text(view: BalanceView, dust_level: float | None, full: bool = False,
                 fiat: FiatRate | None = None) -> str:
    """Bot-managed assets (the stake currency and the coins of open trades), or with `full`
    every currency of the account, as Freqtrade's /balance and /balance full."""
    cur = view.stake_currency
    level = dust_level if dust_level is not None else _DUST.get(cur.upper(), 1.0)
    lines: list[str] = []
    if view.dry_run:
        lines.append("⚠️ <b>Simulated balances (dry-run)</b>")
    start = coin(view.starting_capital, cur)
    if fiat is not None:
        start += f", {coin(fiat.value(view.starting_capital), fiat.currency)}"
    lines.append(field("Starting capital", start))
    shown = [b for b in view.currencies if full or b.currency == cur or b.bot_owned > 0]
    dust_count, dust_value = 0, 0.0
    for bal in shown:
        if bal.currency != cur and bal.est_stake_value < level:
            dust_count, dust_value = dust_count + 1, dust_value + bal.est_stake_value
            continue
        lines += [
            "",
            f"<b>{esc(bal.currency)}:</b>",
            f"    Available: {number(bal.free, bal.currency)}",
            f"    Balance: {number(bal.total, bal.currency)}",
            f"    Pending: {number(bal.used, bal.currency)}",
            f"    Bot Owned: {number(bal.bot_owned, bal.currency)}",
            f"    Est. {esc(cur)}: {number(bal.est_stake_value, cur)}",
        ]
    if dust_count:
        lines += ["", f"{dust_count} dust balances below {coin(level, cur)}, "
                      f"worth {coin(dust_value, cur)}"]
    total = view.total_value if full else sum(b.est_stake_value for b in shown)
    change = total / view.starting_capital - 1 if view.starting_capital else 0.0
    label = "Estimated Value" if full else "Estimated Value (Bot managed assets only)"
    lines += ["", field(label, f"{coin(total, cur)} ({pct(change)} since start)")]
    if fiat is not None:
        lines.append(f"    {esc(fiat.currency)}: {number(fiat.value(total), fiat.currency)}")
    return "\n".join(lines)


def health_text(view: HealthView, now: datetime) -> str:
    last = "never" if view.last_process is None else (
        f"{when(view.last_process)} ({duration(now - view.last_process)} ago)")
    lines = [
        field("State", esc(view.state)),
        field("Last iteration", last),
        field("Bot started", when(view.bot_start)),
        field("Last restart", when(view.startup_time)),
        field("Uptime", duration(view.uptime)),
    ]
    if view.last_error:
        lines.append(field("Last error", esc(view.last_error)))
    return "\n".join(lines)


def _stoploss_lines(config: Mapping[str, Any]) -> list[str]:
    if not config.get("trailing_stop"):
        return [field("Stoploss", _code(config.get("stoploss")))]
    return [
        field("Initial Stoploss", _code(config.get("stoploss"))),
        field("Trailing stop positive", _code(config.get("trailing_stop_positive"))),
        field("Trailing stop offset", _code(config.get("trailing_stop_positive_offset"))),
        field("Only trail above offset", _code(config.get("trailing_only_offset_is_reached"))),
    ]


def _code(value: Any) -> str:
    return f"<code>{esc(value)}</code>"


def _stake(config: Mapping[str, Any]) -> str:
    return f"{config.get('stake_amount')} {config.get('stake_currency')}"


def config_text(config: Mapping[str, Any], dry_run: bool, state: str) -> str:
    """The effective settings (already redacted by the engine) with the mode on top, in
    Freqtrade's words and order; then what only tradepilot has."""
    adjust = "On" if config.get("position_adjustment_enable") else "Off"
    lines = [
        mode_banner(dry_run),
        field("Mode", _code("Dry-run" if dry_run else "Live")),
        field("Exchange", _code(_lookup(config, ("exchange", "name")))),
        field("Market", _code("spot")),
        field("Stake per trade", _code(_stake(config))),
        field("Max open Trades", _code(config.get("max_open_trades"))),
        field("Minimum ROI", _code(config.get("minimal_roi"))),
        field("Entry strategy", _code(json.dumps(config.get("entry_pricing")))),
        field("Exit strategy", _code(json.dumps(config.get("exit_pricing")))),
        *_stoploss_lines(config),
        field("Position adjustment", adjust),
        field("Timeframe", _code(config.get("timeframe"))),
        field("Strategy", _code(config.get("strategy"))),
        field("Current state", _code(state)),
    ]
    for label, path in (("Strategy parameters", ("strategy_parameters",)),
                        ("Pairs", ("exchange", "pair_whitelist")),
                        ("Force entry", ("force_entry_enable",)), ("Config source", ("source",))):
        value = _lookup(config, path)
        if value is not None:
            lines.append(field(label, f"<code>{esc(_show(value))}</code>"))
    return "\n".join(lines)


def _lookup(config: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = config
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    return json.dumps(value, default=str)


def parameter_text(parameters: Mapping[str, Mapping[str, Any]]) -> str:
    """A strategy's parameter values on one line: `buy: buy_rsi=30; sell: sell_rsi=70`."""
    return "; ".join(f"{space}: " + ", ".join(f"{name}={value}" for name, value in values.items())
                     for space, values in parameters.items())
