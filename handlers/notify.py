"""Engine events become chat messages, written to the durable outbox and delivered later.

`TelegramNotifier.notify` is called by the engine in the middle of its iteration: it formats,
applies `telegram.notification_settings` (on / silent / off, `exit` optionally per exit reason),
writes the message into the outbox, wakes the sender and returns. It never waits on Telegram
and never raises: a notification must not be able to break trading.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from core.clock import Clock, SystemClock
from engine.events import (
    EntryCancelled,
    EntryFilled,
    EntryPlaced,
    ErrorNotice,
    Event,
    ExitCancelled,
    ExitFilled,
    ExitPlaced,
    GlobalProtectionTriggered,
    ProtectionTriggered,
    ReplayLapStarted,
    Startup,
    WarningNotice,
)
from engine.fiat import FiatRate
from engine.settings import Settings
from handlers.format import amount, coin, duration, esc, field, pct, rate, split_message, when
from handlers.format_reports import mode_banner, parameter_text
from store.outbox import Outbox

logger = logging.getLogger(__name__)


class TelegramNotifier:
    """Implements engine.events.Notifier over the database outbox."""

    def __init__(self, settings: Settings, outbox: Outbox, wake: Callable[[], None], *,
                 clock: Clock | None = None,
                 fiat: Callable[[], FiatRate | None] | None = None) -> None:
        self._settings = settings
        self._fiat = fiat or (lambda: None)
        self._outbox = outbox
        self._wake = wake
        self._clock = clock or SystemClock()
        # Freqtrade marks only dry runs ("(dry)"); here every trade message says which.
        mode = "DRY-RUN" if settings.dry_run else "LIVE"
        self._prefix = f"{esc(settings.exchange.name)} ({mode})"

    def notify(self, event: Event) -> None:
        try:
            self._record(event)
        except Exception:  # a failed notification is logged; trading goes on
            logger.exception("could not record the %s notification", event.kind)

    def _record(self, event: Event) -> None:
        level = notification_level(self._settings.telegram.notification_settings, event)
        if level == "off":
            logger.info("notification %s is off: %s", event.kind, event)
            return
        text = format_event(event, self._prefix, self._fiat())
        now = self._clock.now()
        for part in split_message(text):
            self._outbox.add(event.kind, part, level == "silent", now)
        self._wake()


def notification_level(settings: Mapping[str, Any], event: Event) -> str:
    """on, silent or off; unset means on, and a table keyed by exit reason picks per reason."""
    value = settings.get(event.kind, "on")
    if isinstance(value, Mapping):
        reason = getattr(event, "exit_reason", None)
        value = value.get(reason, "on") if reason is not None else "on"
    return value if value in ("on", "silent", "off") else "on"


def format_event(event: Event, prefix: str, fiat: FiatRate | None = None) -> str:
    """The chat text of an event; with `fiat`, money of trades is also shown in that currency
    (" / 12.345 USD", as Freqtrade's)."""
    money = _MONEY_FORMATTERS.get(type(event))
    if money is not None:
        return money(event, prefix, fiat)
    formatter = _FORMATTERS.get(type(event))
    if formatter is None:
        return f"<b>{esc(event.kind)}:</b> {esc(event)}"
    return formatter(event, prefix)


def _in_fiat(value: float, fiat: FiatRate | None) -> str:
    return f" / {fiat.value(value):.3f} {esc(fiat.currency)}" if fiat is not None else ""


def _entry(event: Any, prefix: str, fiat: FiatRate | None) -> str:
    filled = isinstance(event, EntryFilled)
    if event.addition:
        # An addition's fill reports the trade as it is now: its amount and average rate.
        title = f"Addition filled, added to #{event.trade_id}" if filled \
            else f"Adding to #{event.trade_id}"
        head = f"🔵 <b>{prefix}:</b> {title}"
    else:
        title = "New Trade filled" if filled else "New Trade"
        head = f"🔵 <b>{prefix}:</b> {title} (#{event.trade_id})"
    price = event.open_rate if filled else event.price
    lines = [head, field("Pair", esc(event.pair))]
    if event.enter_tag:
        lines.append(field("Enter Tag", esc(event.enter_tag)))
    lines.append(field("Amount", amount(event.amount)))
    lines.append(field("Direction", "Long"))
    lines.append(field("Open Rate", rate(price)))
    if not filled:
        lines.append(field("Current Rate", rate(event.current_rate)))
    lines.append(field("Total", coin(event.stake_amount, event.stake_currency)
                       + _in_fiat(event.stake_amount, fiat)))
    return "\n".join(lines)


def _entry_cancel(event: EntryCancelled, prefix: str) -> str:
    partial = "partial " if event.partial else ""
    return (f"⚠️ <b>{prefix}:</b> Cancelling {partial}enter Order for {esc(event.pair)} "
            f"(#{event.trade_id}). Reason: {esc(event.reason)}")


def _exit_emoji(ratio: float, reason: str) -> str:
    if ratio >= 0.05:
        return "🚀"
    if ratio >= 0:
        return "✳️"
    return "⚠️" if reason == "stop_loss" else "❌"


def _exit(event: ExitPlaced, prefix: str, fiat: FiatRate | None) -> str:
    cur = event.stake_currency
    profit = f"{coin(event.profit_abs, cur)}{_in_fiat(event.profit_abs, fiat)}"
    lines = [
        f"{_exit_emoji(event.profit_ratio, event.exit_reason)} <b>{prefix}:</b> "
        f"Exiting {esc(event.pair)} (#{event.trade_id})",
        field("Unrealized Profit", f"{pct(event.profit_ratio)} ({profit})"),
    ]
    if event.enter_tag:
        lines.append(field("Enter Tag", esc(event.enter_tag)))
    lines += [
        field("Exit Reason", esc(event.exit_reason)),
        field("Direction", "Long"),
        field("Amount", amount(event.amount)),
        field("Open Rate", rate(event.open_rate)),
        field("Current Rate", rate(event.current_rate)),
        field("Exit Rate", rate(event.exit_rate)),
    ]
    return "\n".join(lines)


def _exit_fill(event: ExitFilled, prefix: str, fiat: FiatRate | None) -> str:
    cur = event.stake_currency
    title = "Partial exit of" if event.partial else "Exited"
    money = f"{coin(event.profit_abs, cur)}{_in_fiat(event.profit_abs, fiat)}"
    profit = (field("Realized Profit", money) if event.partial
              else field("Profit", f"{pct(event.profit_ratio)} ({money})"))
    lines = [
        f"{_exit_emoji(event.profit_ratio, event.exit_reason)} <b>{prefix}:</b> "
        f"{title} {esc(event.pair)} (#{event.trade_id})",
        profit,
        field("Exit Reason", esc(event.exit_reason)),
        field("Amount", amount(event.amount)),
        field("Open Rate", rate(event.open_rate)),
        field("Close Rate", rate(event.close_rate)),
        field("Duration", duration(event.duration)),
    ]
    return "\n".join(lines)


def _exit_cancel(event: ExitCancelled, prefix: str) -> str:
    return (f"⚠️ <b>{prefix}:</b> Cancelling exit Order for {esc(event.pair)} "
            f"(#{event.trade_id}). Reason: {esc(event.reason)}")


def _protection(event: ProtectionTriggered, _prefix: str) -> str:
    target = "All pairs" if event.pair == "*" else f"<code>{esc(event.pair)}</code>"
    return (f"🔒 <b>Protection</b> triggered due to {esc(event.reason)}. {target} will be "
            f"locked until {when(event.until)} UTC.")


def _global_protection(event: GlobalProtectionTriggered, _prefix: str) -> str:
    return (f"🔒 <b>Protection</b> triggered due to {esc(event.reason)}. All pairs will be "
            f"locked until {when(event.until)} UTC.")


def _warning(event: WarningNotice, _prefix: str) -> str:
    return f"⚠️ <b>Warning:</b> {esc(event.text)}"


def _error(event: ErrorNotice, _prefix: str) -> str:
    return f"❌ <b>Error:</b> {esc(event.text)}"


def _replay_lap(event: ReplayLapStarted, _prefix: str) -> str:
    return (f"🔁 <b>Offline demo:</b> the bundled candles ({when(event.data_first)} to "
            f"{when(event.data_last)} UTC) ran out, so the replay starts over: lap "
            f"{event.lap} from {when(event.starts)} UTC. The same candles follow on, each "
            "pair's prices scaled to continue from its last close. Open trades carry on at "
            "those prices; nothing was closed.")


def _startup(event: Startup, _prefix: str) -> str:
    roi = ", ".join(f"{esc(k)}m: {pct(v)}" for k, v in sorted(event.minimal_roi.items(),
                                                            key=lambda kv: int(kv[0])))
    trailing = " (trailing)" if event.trailing_stop else ""
    lines = [
        mode_banner(event.dry_run),
        field("Exchange", esc(event.exchange)),
        field("Strategy", esc(event.strategy)),
        field("Timeframe", esc(event.timeframe)),
        field("Stake per trade", f"{esc(event.stake_amount)} {esc(event.stake_currency)}"),
        field("Max open trades", str(event.max_open_trades)),
        field("Minimal ROI", roi or "none"),
        field("Stoploss", pct(event.stoploss) + trailing),
        field("Pairs", esc(", ".join(event.pairs)) or "none"),
        field("State", esc(event.state)),
        field("Open trades", str(event.open_trades)),
        field("Reconciliation", esc(event.reconciled)),
    ]
    if event.parameters:
        lines.append(field("Parameters", esc(parameter_text(event.parameters))))
    return "\n".join(lines)


_MONEY_FORMATTERS: dict[type[Event], Callable[[Any, str, FiatRate | None], str]] = {
    EntryPlaced: _entry,
    EntryFilled: _entry,
    ExitPlaced: _exit,
    ExitFilled: _exit_fill,
}
_FORMATTERS: dict[type[Event], Callable[[Any, str], str]] = {
    EntryCancelled: _entry_cancel,
    ExitCancelled: _exit_cancel,
    ProtectionTriggered: _protection,
    GlobalProtectionTriggered: _global_protection,
    WarningNotice: _warning,
    ErrorNotice: _error,
    ReplayLapStarted: _replay_lap,
    Startup: _startup,
}
