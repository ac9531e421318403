"""The exchange fault matrix's rig: a live engine (real ccxt binance through CcxtExchange)
against the fake Binance, driven through one full trade life cycle while one fault is on.

The life cycle every cell plays, on ETH/BTC with 5-minute iterations of a ManualClock:

1. entry A is placed and never filled, so the engine cancels it after `unfilledtimeout`;
2. entry B is placed and filled on the exchange;
3. exit X is placed and never filled, so the engine cancels it after the timeout;
4. exit Y is placed and filled: the trade closes.

Signals are levels, not one candle: the Scripted strategy says "enter" on every candle until
an entry has filled, then "exit" on every candle, so a fault that delays a step only delays
it. The fault is switched on the moment the life cycle reaches its point (see `Point.due`) and
lasts `Cell.window` of the injected clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pandas as pd

from compose import build_commands
from core.clock import ManualClock
from engine.control.commands import Commands
from engine.events import ErrorNotice, LogNotifier, WarningNotice
from store import schema
from store.models import Order, Trade
from store.store import Store
from tests.engine.scripted import Scripted
from tests.factories import make_settings
from tests.fakes import FakeExchangeServer, FakeOrder, Fault, RecordingSleep

PAIR = "ETH/BTC"
START = datetime(2018, 1, 20, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)
WINDOW = timedelta(minutes=10)  # a fault outlasts the retries of two iterations
TIMEOUT_MINUTES = 10
MAX_ITERATIONS = 40
RETRIES = 2
BACKOFF = 0.5
ORDER = "/api/v3/order"
BALANCES = {"BTC": "1"}  # the buy fee is taken in ETH, as Binance does without BNB
SETTINGS = {
    "dry_run": False, "stake_amount": 0.05, "max_open_trades": 1,
    "exchange": {"name": "binance", "pair_whitelist": [PAIR]},
    "unfilledtimeout": {"entry": TIMEOUT_MINUTES, "exit": TIMEOUT_MINUTES},
}  # fmt: skip
KEYS = {"EXCHANGE_API_KEY": "test-key", "EXCHANGE_API_SECRET": "test-secret"}
ALL_CANDLES = pd.date_range(START - timedelta(days=1), START + timedelta(days=1), freq="5min")


# --- the view of one moment ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Moment:
    """What the rig sees between two iterations: the fake's orders, oldest first."""

    now: datetime
    buys: list[FakeOrder]
    sells: list[FakeOrder]

    def age(self, order: FakeOrder) -> timedelta:
        return self.now - datetime.fromtimestamp(order.time / 1000, UTC)

    def timed_out(self, orders: list[FakeOrder]) -> bool:
        """The first order is open and old enough to be cancelled at this iteration."""
        return bool(orders) and orders[0].is_open and \
            self.age(orders[0]) >= timedelta(minutes=TIMEOUT_MINUTES)

    @property
    def entry_filled(self) -> bool:
        return any(o.executed > 0 for o in self.buys)

    @property
    def exit_filled(self) -> bool:
        return any(o.status == "FILLED" for o in self.sells)


# --- points and faults --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Point:
    """A place in the life cycle: the endpoint it calls and when the life cycle reaches it."""

    name: str
    path: str
    method: str | None
    due: Callable[[Moment], bool]


POINTS = [
    Point("candles", "/api/v3/klines", "GET", lambda m: not m.buys),
    Point("tickers", "/api/v3/ticker/24hr", "GET", lambda m: not m.buys),
    Point("balance", "/api/v3/account", "GET", lambda m: not m.buys),
    Point("create entry", ORDER, "POST", lambda m: not m.buys),
    # Entry B, filled at once: its fill must arrive through the faulty lookups.
    Point("fetch entry", ORDER, "GET", lambda m: len(m.buys) >= 2),
    Point("cancel entry", ORDER, "DELETE", lambda m: m.timed_out(m.buys)),
    Point("create exit", ORDER, "POST", lambda m: m.entry_filled),
    Point("fetch exit", ORDER, "GET", lambda m: len(m.sells) >= 2),
    Point("cancel exit", ORDER, "DELETE", lambda m: m.timed_out(m.sells)),
]
POINT_NAMES = [p.name for p in POINTS]
POINT = {p.name: p for p in POINTS}


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A row of the matrix: what the fake does, per HTTP method of the point."""

    name: str
    fault: Fault
    transient: bool = True  # retried by the adapter; otherwise a refusal or lookup failure
    on_post: Fault | None = None  # a different form for order placement
    on_delete: Fault | None = None
    needs_owner: bool = False  # the engine pauses; the owner sends /start once it is fixed

    def form(self, method: str | None) -> Fault:
        if method == "POST" and self.on_post is not None:
            return self.on_post
        if method == "DELETE" and self.on_delete is not None:
            return self.on_delete
        return self.fault


FAULTS = [
    FaultSpec("HTTP 429", Fault.RATE_LIMITED),
    FaultSpec("HTTP 418", Fault.IP_BANNED),
    FaultSpec("HTTP 500", Fault.SERVER_ERROR),
    FaultSpec("HTTP 502", Fault.BAD_GATEWAY),
    FaultSpec("HTTP 503", Fault.UNAVAILABLE),
    FaultSpec("HTTP 504", Fault.GATEWAY_TIMEOUT),
    FaultSpec("connection reset", Fault.RESET),
    # A placement or cancel that is carried out but answered too late is the dangerous form.
    FaultSpec("slower than the timeout", Fault.SLOW, on_post=Fault.TIMEOUT_AFTER_RECORD,
              on_delete=Fault.TIMEOUT_AFTER_RECORD),
    FaultSpec("malformed JSON", Fault.MALFORMED),
    FaultSpec("HTML page with status 200", Fault.HTML_PAGE),
    FaultSpec("insufficient funds", Fault.INSUFFICIENT_FUNDS, transient=False),
    FaultSpec("invalid order", Fault.INVALID_QUANTITY, transient=False),
    # A create that never arrived, its lookups answering "does not exist"; a cancel
    # answered "unknown order" (-2011).
    FaultSpec("order not found", Fault.ORDER_NOT_FOUND, transient=False,
              on_post=Fault.TIMEOUT_BEFORE_RECORD, on_delete=Fault.UNKNOWN_ORDER),
    # -2014: ccxt reads -2015 after a successful login as a temporary ban (DDoSProtection).
    FaultSpec("authentication error", Fault.BAD_API_KEY_FORMAT, transient=False,
              needs_owner=True),
    FaultSpec("maintenance for 10 minutes", Fault.MAINTENANCE),
]
FAULT_NAMES = [f.name for f in FAULTS]
FAULT = {f.name: f for f in FAULTS}

_ORDERS_ONLY = "Binance answers this code only to order requests"
NOT_APPLICABLE: dict[tuple[str, str], str] = {
    **{("insufficient funds", p): _ORDERS_ONLY + " that spend funds (placements)"
       for p in ("candles", "tickers", "balance", "fetch entry", "fetch exit", "cancel entry",
                 "cancel exit")},
    **{("invalid order", p): _ORDERS_ONLY + " that carry an amount and price (placements)"
       for p in ("candles", "tickers", "balance", "fetch entry", "fetch exit", "cancel entry",
                 "cancel exit")},
    **{("order not found", p): "no order is involved in market data or the account"
       for p in ("candles", "tickers", "balance")},
}  # fmt: skip

# Cells where the owner is rightly told nothing; in every other cell, exactly once.
SILENT: dict[tuple[str, str], str] = {
    ("slower than the timeout", "create entry"): "the late answer's order is found by its "
    "client id within the same call; nothing failed",
    ("slower than the timeout", "create exit"): "the late answer's order is found by its "
    "client id within the same call; nothing failed",
    ("order not found", "cancel entry"): "-2011 is Binance's ordinary answer to cancelling an "
    "order that just filled or went; the engine looks the order up and follows it",
    ("order not found", "cancel exit"): "-2011 is Binance's ordinary answer to cancelling an "
    "order that just filled or went; the engine looks the order up and follows it",
    ("authentication error", "candles"): "candles are public (no API key is sent); the pair "
    "keeps its cached candles until they come",
}
RECOVERED = "Exchange reachable again."


# --- one run --------------------------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    iterations: int = 0
    raised: list[BaseException] = field(default_factory=list)
    fault_from: datetime | None = None
    fault_until: datetime | None = None
    faulty_requests: int = 0  # requests to the faulted endpoint while the fault was on
    faulty_iterations: int = 0
    owner_restarts: int = 0


class Rig:
    """One cell: a fresh engine and database on the shared fake exchange."""

    def __init__(self, server: FakeExchangeServer, clock: ManualClock) -> None:
        self.server = server
        self.clock = clock
        self.notifier = LogNotifier()
        self.sleep = RecordingSleep()
        self.strategy = Scripted()
        self.commands: Commands | None = None

    async def start(self) -> Commands:
        store = Store(schema.init_db("sqlite:///:memory:"))
        settings = make_settings(SETTINGS, KEYS)
        self.strategy.apply_overrides(settings.strategy_overrides())
        exchange = self.server.ccxt_exchange(self.clock, sleep=self.sleep, retries=RETRIES,
                                             backoff_base=BACKOFF)
        self.commands = build_commands(settings, self.strategy, exchange, self.clock,
                                       self.notifier, store)
        await self.commands.startup()
        return self.commands

    def moment(self) -> Moment:
        orders = sorted(self.server.orders(PAIR), key=lambda o: o.order_id)
        return Moment(self.clock.now(), [o for o in orders if o.side == "BUY"],
                      [o for o in orders if o.side == "SELL"])

    def steer(self, moment: Moment) -> None:
        """Signals as levels: enter until an entry filled, then exit until an exit filled."""
        entering = not moment.entry_filled
        exiting = moment.entry_filled and not moment.exit_filled
        self.strategy.enter_at = {PAIR: ALL_CANDLES} if entering else {}
        self.strategy.exit_at = {PAIR: ALL_CANDLES} if exiting else {}

    def fill(self, moment: Moment) -> None:
        """The market: the second entry and the second exit fill; the first ones never do."""
        for orders in (moment.buys, moment.sells):
            if len(orders) >= 2 and orders[1].is_open:
                self.server.fill(orders[1].order_id)

    def done(self, moment: Moment) -> bool:
        return moment.exit_filled and not Trade.select().where(Trade.is_open).exists()

    async def run(self, point: Point, spec: FaultSpec | None) -> Outcome:
        assert self.commands is not None
        outcome = Outcome()
        for _ in range(MAX_ITERATIONS):
            self.clock.advance(STEP)
            moment = self.moment()
            if spec is not None and outcome.fault_from is None and point.due(moment):
                self._inject(point, spec, outcome)
            await self._owner_answers(spec, outcome)
            self.steer(moment)
            seen = len(self.server.requests)
            try:
                await self.commands.process()
            except Exception as exc:  # the matrix counts these; the loop goes on like the app
                outcome.raised.append(exc)
            self._count_faulty(point, spec, outcome, seen)
            outcome.iterations += 1
            moment = self.moment()
            self.fill(moment)
            if self.done(moment) and self._fault_over(outcome):
                break
        return outcome

    async def _owner_answers(self, spec: FaultSpec | None, outcome: Outcome) -> None:
        """The owner, told that the keys were refused, fixes them and sends /start."""
        assert self.commands is not None
        fixed = outcome.fault_from is not None and self._fault_over(outcome)
        if spec is not None and spec.needs_owner and fixed and self.commands.state == "paused":
            await self.commands.start()
            outcome.owner_restarts += 1

    def _inject(self, point: Point, spec: FaultSpec, outcome: Outcome) -> None:
        self.server.inject(point.path, spec.form(point.method), method=point.method,
                           duration=WINDOW)
        outcome.fault_from, outcome.fault_until = self.clock.now(), self.clock.now() + WINDOW

    def _fault_over(self, outcome: Outcome) -> bool:
        return outcome.fault_until is None or self.clock.now() >= outcome.fault_until

    def _count_faulty(self, point: Point, spec: FaultSpec | None, outcome: Outcome,
                      seen: int) -> None:
        if spec is None or outcome.fault_until is None or self._fault_over(outcome):
            return
        sent = [r for r in self.server.requests[seen:]
                if point.path in ("*", r.path) and point.method in (None, r.method)]
        outcome.faulty_requests += len(sent)
        outcome.faulty_iterations += 1

    # --- what the owner was told --------------------------------------------------------

    def told(self) -> list[str]:
        """Warnings and errors the owner received about a problem (not the all-clear)."""
        return [text for text in self._notices() if text != RECOVERED]

    def all_clear(self) -> int:
        return self._notices().count(RECOVERED)

    def _notices(self) -> list[str]:
        return [e.text for e in self.notifier.events if isinstance(e, WarningNotice | ErrorNotice)]


def reset(server: FakeExchangeServer, clock: ManualClock) -> None:
    """The shared fake as new: no orders, faults or requests, the opening balances."""
    clock.set(START)
    server.reset(BALANCES)


# --- the database against the exchange ----------------------------------------------------


def disagreements(server: FakeExchangeServer) -> list[str]:
    """Every way the database and the fake exchange disagree; empty when they agree."""
    problems: list[str] = []
    fake = {str(o.order_id): o for o in server.orders()}
    by_client: dict[str, list[FakeOrder]] = {}
    for order in fake.values():
        by_client.setdefault(order.client_order_id, []).append(order)
    problems += [f"{cid}: {len(v)} exchange orders" for cid, v in by_client.items() if len(v) > 1]
    rows = list(Order.select())
    known = {r.order_id: r for r in rows if r.order_id is not None}
    ids = [r.order_id for r in rows if r.order_id is not None]
    problems += [f"exchange order {i} is in {ids.count(i)} database orders"
                 for i in sorted(set(ids)) if ids.count(i) > 1]
    # An entry cancelled with nothing filled takes its trade and order rows with it (as in
    # Freqtrade); any other exchange order must be in the database.
    problems += [f"exchange order {i} ({o.client_order_id}, {o.status}) is in no database order"
                 for i, o in fake.items()
                 if i not in known and (o.status != "CANCELED" or o.executed != 0)]
    for row in rows:
        problems += _row_problems(row, fake, by_client)
    return problems


_STATUS = {"NEW": "open", "PARTIALLY_FILLED": "partially_filled", "FILLED": "filled",
           "CANCELED": "canceled"}  # fmt: skip


def _row_problems(row: Order, fake: dict[str, FakeOrder],
                  by_client: dict[str, list[FakeOrder]]) -> list[str]:
    if row.order_id is None:
        if row.client_order_id in by_client:
            return [f"{row.client_order_id}: on the exchange but without an id here"]
        if row.is_open:
            return [f"{row.client_order_id}: still pending, never resolved"]
        return []
    order = fake.get(row.order_id)
    if order is None:
        return [f"database order {row.order_id} is not on the exchange"]
    problems = []
    if order.client_order_id != row.client_order_id:
        problems.append(f"{row.order_id}: client id {row.client_order_id} here, "
                        f"{order.client_order_id} there")
    if abs(float(order.executed) - row.filled) > 1e-12:
        problems.append(f"{row.order_id}: filled {row.filled} here, {order.executed} there")
    if _STATUS[order.status] != row.status:
        problems.append(f"{row.order_id}: {row.status} here, {order.status} there")
    return problems


def trade_figures() -> tuple[int, int]:
    """(open trades, closed trades) in the database."""
    open_count = Trade.select().where(Trade.is_open).count()
    return open_count, Trade.select().count() - open_count
