"""Replies about money and the bot: /profit, /daily /weekly /monthly, /balance, /health,
/show_config and the LIVE / DRY-RUN banner. Pure functions of the engine's views.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.control.views import BalanceView, HealthView, PeriodReport, ProfitSummary
from handlers.format import coin, duration, esc, field, number, pct, table, when

_DUST = {"BTC": 0.0001, "ETH": 0.01}
_PERIOD_TITLE = {"day": "Daily", "week": "Weekly", "month": "Monthly"}


def mode_banner(dry_run: bool) -> str:
    """The first line of /show_config and the startup message: nobody mistakes one for the other."""
    if dry_run:
        return "🧪 <b>DRY-RUN</b>: simulated orders, no real money."
    return "🔴 <b>LIVE</b>: trading with real money on the exchange."


def profit_text(view: ProfitSummary) -> str:
    cur = view.stake_currency
    if view.trade_count == 0:
        return f"No trades yet.\n{field('Bot started', when(view.bot_start))}"
    lines = [
        "<b>ROI:</b> Closed trades",
        f"∙ {coin(view.closed_profit_abs, cur)} ({pct(view.closed_profit_mean_ratio)}) "
        f"(∑ {pct(view.closed_profit_ratio_of_start)})",
        "<b>ROI:</b> All trades",
        f"∙ {coin(view.all_profit_abs, cur)} ({pct(view.all_profit_mean_ratio)}) "
        f"(∑ {pct(view.all_profit_ratio_of_start)})",
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


def periods_text(report: PeriodReport) -> str:
    title = _PERIOD_TITLE.get(report.unit, report.unit.title())
    cur = report.stake_currency
    head = f"<b>{esc(title)} Profit over the last {len(report.rows)} {esc(report.unit)}s</b>"
    rows = [[row.start.isoformat(), f"{number(row.profit_abs, cur)} {cur}",
             pct(row.profit_ratio), str(row.trade_count)] for row in report.rows]
    return head + "\n" + table([report.unit.title(), "Profit", "Profit %", "Trades"], rows)


def balance_text(view: BalanceView, dust_level: float | None) -> str:
    cur = view.stake_currency
    level = dust_level if dust_level is not None else _DUST.get(cur.upper(), 1.0)
    lines: list[str] = []
    if view.dry_run:
        lines.append("⚠️ <b>Simulated balances (dry-run)</b>")
    lines.append(field("Starting capital", coin(view.starting_capital, cur)))
    dust_count, dust_value = 0, 0.0
    for bal in view.currencies:
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
    lines += ["", field("Estimated Value", f"{coin(view.total_value, cur)} "
                                           f"({pct(view.change_ratio)} since start)")]
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


_CONFIG_KEYS = (
    ("Exchange", ("exchange", "name")),
    ("Strategy", ("strategy",)),
    ("Timeframe", ("timeframe",)),
    ("Stake per trade", ("stake_amount",)),
    ("Stake currency", ("stake_currency",)),
    ("Max open trades", ("max_open_trades",)),
    ("Minimal ROI", ("minimal_roi",)),
    ("Stoploss", ("stoploss",)),
    ("Trailing stop", ("trailing_stop",)),
    ("Strategy parameters", ("strategy_parameters",)),
    ("Entry pricing", ("entry_pricing",)),
    ("Exit pricing", ("exit_pricing",)),
    ("Pairs", ("exchange", "pair_whitelist")),
    ("Force entry", ("force_entry_enable",)),
    ("Config source", ("source",)),
)


def config_text(config: Mapping[str, Any], dry_run: bool, state: str) -> str:
    """The effective settings (already redacted by the engine) with the mode on top."""
    lines = [mode_banner(dry_run), field("State", esc(state))]
    for label, path in _CONFIG_KEYS:
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
