"""The narrow API that chat handlers use. `Commands` implements it; handlers type against it.

Every method returns plain frozen views or raises CommandError, whose text is meant for the
user as it is. Methods that only read the database are synchronous and never wait on the
exchange, so a hanging exchange never delays `/status`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

from engine.control.views import (
    ActionResult,
    BalanceView,
    CountView,
    HealthView,
    LockView,
    PairPerformance,
    PeriodReport,
    ProfitSummary,
    StatsView,
    TagPerformance,
    TradeOrders,
    TradeView,
    WhitelistView,
)
from engine.fiat import FiatRate

PeriodUnit = Literal["day", "week", "month"]
TagKind = Literal["enter_tag", "exit_reason", "mix"]
MAX_SPAN = 3650  # the most days (or periods) a report may span; far more overflows dates


class Control(Protocol):
    @property
    def state(self) -> str:
        """running, paused or stopped."""
        ...

    @property
    def dry_run(self) -> bool: ...

    @property
    def stake_currency(self) -> str: ...

    def fiat(self) -> FiatRate | None: ...

    async def start(self) -> ActionResult: ...

    async def stop(self) -> ActionResult:
        """No new entries and no strategy exits; the stoploss keeps protecting open trades."""
        ...

    async def pause(self) -> ActionResult:
        """No new entries; exits, stops and order management continue."""
        ...

    async def reload(self) -> ActionResult:
        """Re-read config and strategy; an invalid new config is refused, the old one stays."""
        ...

    def status(self, trade_ids: list[int] | None = None) -> list[TradeView]:
        """Open trades, or the given trades (open or closed). Unknown ids: CommandError."""
        ...

    def trades(self, limit: int = 10) -> list[TradeView]:
        """The latest closed trades, newest first."""
        ...

    def profit(self, days: int | None = None) -> ProfitSummary: ...

    def periods(self, unit: PeriodUnit, count: int) -> PeriodReport: ...

    def performance(self) -> list[PairPerformance]: ...

    def tag_performance(self, by: TagKind, pair: str | None = None) -> list[TagPerformance]:
        """Closed trades (of one pair) by enter tag, exit reason, or both."""
        ...

    def stats(self) -> StatsView: ...

    def orders(self, trade_ids: list[int] | None = None) -> list[TradeOrders]:
        """The filled orders of each given trade, open or closed (unknown ids: CommandError),
        or of every open trade."""
        ...

    async def balance(self) -> BalanceView: ...

    def count(self) -> CountView: ...

    def locks(self) -> list[LockView]: ...

    def unlock(self, target: str) -> ActionResult:
        """Deactivate the locks of a pair, or one lock by its id."""
        ...

    async def force_exit(self, trade_id: int | Literal["all"], amount: float | None = None
                         ) -> ActionResult: ...

    async def force_entry(self, pair: str, price: float | None = None) -> ActionResult: ...

    async def add_to_trade(self, trade_id: int, stake: float) -> ActionResult: ...

    async def cancel_open_order(self, trade_id: int) -> ActionResult: ...

    async def delete_trade(self, trade_id: int) -> ActionResult:
        """Only when the trade has no open order on the exchange."""
        ...

    def whitelist(self) -> list[str]: ...

    def whitelist_view(self) -> WhitelistView:
        """The whitelist and the pairlist methods that produced it."""
        ...

    def blacklist(self, add: list[str] | None = None) -> list[str]:
        """Show the blacklist, or add validated pairs to it first."""
        ...

    def blacklist_delete(self, pairs: list[str]) -> list[str]:
        """Take pairs off the blacklist; a pair not on it: CommandError."""
        ...

    def entry_pair_choices(self) -> list[str]:
        """Pairs a forced entry may pick: whitelisted, not blacklisted, no open trade."""
        ...

    def health(self) -> HealthView: ...

    def show_config(self) -> dict[str, Any]:
        """Effective settings with secrets redacted, plus mode (LIVE / DRY-RUN) and state."""
        ...

    def closed_profit_series(self, days: int) -> list[tuple[datetime, float]]:
        """Cumulative closed profit after each trade closed in the last `days` days."""
        ...
