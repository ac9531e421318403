"""Events the engine emits for every state change a user cares about, and the Notifier seam.

Each event's `kind` matches a key of `telegram.notification_settings`. The engine calls
`Notifier.notify(event)` synchronously and never waits for delivery: implementations must
only record the event (the Telegram one writes it to the database outbox).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    kind: ClassVar[str] = "event"


@dataclass(frozen=True, slots=True)
class EntryPlaced(Event):
    kind: ClassVar[str] = "entry"
    trade_id: int
    pair: str
    amount: float
    price: float
    stake_amount: float
    stake_currency: str
    order_type: str
    enter_tag: str | None
    current_rate: float
    exchange: str
    dry_run: bool
    addition: bool = False  # added to an open trade (position adjustment)


@dataclass(frozen=True, slots=True)
class EntryFilled(Event):
    kind: ClassVar[str] = "entry_fill"
    trade_id: int
    pair: str
    amount: float
    open_rate: float
    stake_amount: float
    stake_currency: str
    enter_tag: str | None
    addition: bool = False  # the fill of an addition; amount and rate are the trade's now


@dataclass(frozen=True, slots=True)
class EntryCancelled(Event):
    kind: ClassVar[str] = "entry_cancel"
    trade_id: int
    pair: str
    reason: str
    partial: bool


@dataclass(frozen=True, slots=True)
class ExitPlaced(Event):
    kind: ClassVar[str] = "exit"
    trade_id: int
    pair: str
    amount: float
    open_rate: float
    exit_rate: float
    current_rate: float
    exit_reason: str
    enter_tag: str | None
    profit_ratio: float  # unrealized, at the exit rate
    profit_abs: float
    stake_currency: str
    order_type: str


@dataclass(frozen=True, slots=True)
class ExitFilled(Event):
    kind: ClassVar[str] = "exit_fill"
    trade_id: int
    pair: str
    amount: float
    open_rate: float
    close_rate: float
    exit_reason: str
    enter_tag: str | None
    profit_ratio: float
    profit_abs: float
    stake_currency: str
    open_date: datetime
    close_date: datetime
    partial: bool

    @property
    def duration(self) -> timedelta:
        return self.close_date - self.open_date


@dataclass(frozen=True, slots=True)
class ExitCancelled(Event):
    kind: ClassVar[str] = "exit_cancel"
    trade_id: int
    pair: str
    reason: str


@dataclass(frozen=True, slots=True)
class ProtectionTriggered(Event):
    kind: ClassVar[str] = "protection_trigger"
    pair: str  # "*" for a global lock
    until: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class GlobalProtectionTriggered(Event):
    kind: ClassVar[str] = "protection_trigger_global"
    until: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class WarningNotice(Event):
    kind: ClassVar[str] = "warning"
    text: str


@dataclass(frozen=True, slots=True)
class ErrorNotice(Event):
    kind: ClassVar[str] = "error"
    text: str


@dataclass(frozen=True, slots=True)
class ReplayLapStarted(Event):
    """The offline demo ran through its candles and replays them again (venues.offline)."""

    kind: ClassVar[str] = "status"
    lap: int  # the first replay is lap 1
    starts: datetime
    data_first: datetime
    data_last: datetime


@dataclass(frozen=True, slots=True)
class Startup(Event):
    kind: ClassVar[str] = "startup"
    dry_run: bool
    exchange: str
    strategy: str
    timeframe: str
    stake_amount: str
    stake_currency: str
    max_open_trades: int
    minimal_roi: dict[str, float]
    stoploss: float
    trailing_stop: bool
    pairs: tuple[str, ...]
    state: str
    open_trades: int
    reconciled: str  # one line on what start-up reconciliation found
    # The strategy's effective parameter values by space ({"buy": {"buy_rsi": 30}}).
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)


class Notifier(Protocol):
    def notify(self, event: Event) -> None:
        """Record the event for delivery; must return at once and never raise."""
        ...


class LogNotifier:
    """Delivers events to the log only (headless runs, backtests); keeps the latest few."""

    def __init__(self, keep: int = 1000) -> None:
        self.events: deque[Event] = deque(maxlen=keep)

    def notify(self, event: Event) -> None:
        self.events.append(event)
        logger.info("event %s: %s", event.kind, event)
