"""Plain, frozen read models that the command API returns to handlers.

Handlers never see database rows: rows lazy-load and would drag the database into the chat
layer. Everything a reply shows is computed here, in the engine, and formatted in handlers/.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True, slots=True)
class OrderView:
    id: int
    client_order_id: str
    side: str  # buy / sell
    order_type: str
    status: str
    amount: float
    filled: float
    remaining: float
    price: float
    average: float | None
    order_date: datetime
    # A stop order resting on the exchange (stoploss_on_exchange): its trigger, the
    # exchange's id.
    stop_price: float | None = None
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class TradeView:
    id: int
    pair: str
    base_currency: str
    stake_currency: str
    is_open: bool
    amount: float  # held while open; what the entries bought once closed
    stake_amount: float  # likewise: the largest stake the trade had once closed
    open_rate: float
    open_date: datetime
    close_rate: float | None
    close_date: datetime | None
    current_rate: float | None  # None when closed or no price is known
    enter_tag: str | None
    exit_reason: str | None
    profit_ratio: float  # unrealized (open) or close profit (closed)
    profit_abs: float
    realized_profit: float
    total_profit_abs: float
    stop_loss: float
    stop_loss_pct: float | None
    initial_stop_loss: float
    initial_stop_loss_pct: float | None
    stoploss_distance_ratio: float | None  # from the current rate; None when closed
    open_orders: tuple[OrderView, ...]
    entries: int
    exits: int
    filled_orders: tuple[FilledOrder, ...] = ()  # oldest first, each done and filled


@dataclass(frozen=True, slots=True)
class DrawdownView:
    abs: float
    ratio: float
    high_date: datetime | None
    low_date: datetime | None
    high_value: float
    low_value: float


@dataclass(frozen=True, slots=True)
class ProfitSummary:
    stake_currency: str
    closed_profit_abs: float
    closed_profit_mean_ratio: float
    closed_profit_ratio_of_start: float  # closed profit / starting balance
    all_profit_abs: float
    all_profit_mean_ratio: float
    all_profit_ratio_of_start: float
    trade_count: int
    closed_count: int
    bot_start: datetime | None
    first_trade_date: datetime | None
    latest_trade_date: datetime | None
    since: datetime | None  # set when the summary covers only recent days
    wins: int
    losses: int
    winrate: float
    expectancy_abs: float
    expectancy_ratio: float
    avg_duration: timedelta | None
    best_pair: str | None
    best_pair_profit_ratio: float
    trading_volume: float
    profit_factor: float | None
    max_drawdown: DrawdownView | None


@dataclass(frozen=True, slots=True)
class PeriodProfit:
    start: date
    profit_abs: float
    profit_ratio: float  # relative to the balance at the start of the period
    trade_count: int


@dataclass(frozen=True, slots=True)
class PeriodReport:
    unit: str  # day / week / month
    stake_currency: str
    rows: tuple[PeriodProfit, ...]


@dataclass(frozen=True, slots=True)
class PairPerformance:
    pair: str
    profit_abs: float
    profit_ratio: float  # sum of close profit ratios
    count: int


@dataclass(frozen=True, slots=True)
class TagPerformance:
    """Closed trades grouped by enter tag, exit reason, or both ("tag reason")."""

    tag: str
    profit_abs: float
    profit_ratio: float  # sum of close profit ratios
    count: int


@dataclass(frozen=True, slots=True)
class ExitReasonCount:
    reason: str
    wins: int
    draws: int
    losses: int


@dataclass(frozen=True, slots=True)
class StatsView:
    """/stats: exits per reason and the mean duration of winners, draws and losers."""

    exit_reasons: tuple[ExitReasonCount, ...]
    win_duration: timedelta | None
    draw_duration: timedelta | None
    loss_duration: timedelta | None


@dataclass(frozen=True, slots=True)
class FilledOrder:
    is_entry: bool
    amount: float  # filled
    cost: float  # in the stake currency
    average: float
    filled_date: datetime | None


@dataclass(frozen=True, slots=True)
class TradeOrders:
    """/order: a trade's filled orders, oldest first."""

    trade_id: int
    pair: str
    is_open: bool
    stake_currency: str
    orders: tuple[FilledOrder, ...]


@dataclass(frozen=True, slots=True)
class CurrencyBalance:
    currency: str
    free: float
    used: float
    total: float
    bot_owned: float
    est_stake_value: float


@dataclass(frozen=True, slots=True)
class BalanceView:
    dry_run: bool
    stake_currency: str
    starting_capital: float
    currencies: tuple[CurrencyBalance, ...]
    total_value: float
    change_ratio: float


@dataclass(frozen=True, slots=True)
class CountView:
    open_trades: int
    max_open_trades: int  # -1 means unlimited
    total_stake: float
    stake_currency: str


@dataclass(frozen=True, slots=True)
class WhitelistView:
    """The pairs entries may pick now, in the pairlists' order, and the methods that made it."""

    methods: tuple[str, ...]
    pairs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LockView:
    id: int
    pair: str
    side: str
    until: datetime
    reason: str | None


@dataclass(frozen=True, slots=True)
class HealthView:
    state: str
    last_process: datetime | None
    bot_start: datetime | None
    startup_time: datetime | None  # None until the engine's start-up ran
    uptime: timedelta | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class ActionResult:
    """The outcome of a control command, as one line for the chat."""

    text: str
    trade_ids: tuple[int, ...] = ()
