"""What a database must look like after any number of kills: the bot's orders and trades agree
with the paper exchange's own order book (`paper_orders`), order by order and fill by fill, and
the profit figures add up to what the wallet gained.

`snapshot()` reads the database once (tests call it with no bot process running); `audit()`
lists every broken promise as a sentence, so a failure names the order or trade at fault.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal, localcontext
from functools import cached_property
from pathlib import Path

from store import models, schema
from store.models import Order, OrderStatus, PaperOrder, Trade, dec

# Freqtrade rounds a trade's profit to 8 decimals: that far a closed trade may sit from its fills.
PROFIT_ROUNDING = 5e-9
EXACT = 1e-9
STATUS_ON_EXCHANGE = {
    OrderStatus.FILLED: {"closed"}, OrderStatus.CANCELED: {"canceled"},
    OrderStatus.OPEN: {"open"}, OrderStatus.PARTIALLY_FILLED: {"open"},
}  # fmt: skip
NEVER_PLACED = {OrderStatus.FAILED, OrderStatus.REJECTED}


@dataclass(frozen=True)
class Book:
    """Both sides at one moment: the bot's trades and orders, the exchange's orders."""

    trades: list[Trade]
    orders: list[Order]
    paper: list[PaperOrder]
    integrity: str

    @cached_property
    def orders_by_client_id(self) -> dict[str, Order]:
        return {o.client_order_id: o for o in self.orders}

    @cached_property
    def paper_by_client_id(self) -> dict[str, PaperOrder]:
        return {p.client_order_id: p for p in self.paper}

    @cached_property
    def orders_by_trade(self) -> dict[int, list[Order]]:
        grouped: dict[int, list[Order]] = defaultdict(list)
        for order in self.orders:
            grouped[order.trade_id].append(order)
        return grouped


def snapshot(db_file: Path) -> Book:
    schema.init_db(f"sqlite:///{db_file}")
    try:
        return Book(trades=list(Trade.select().order_by(Trade.id)),
                    orders=list(Order.select().order_by(Order.id)),
                    paper=list(PaperOrder.select().order_by(PaperOrder.created_at)),
                    integrity=str(models.db.execute_sql("PRAGMA integrity_check").fetchone()[0]))
    finally:
        schema.close_db()


def quote_flow(side: str, cost: float, fee: float | None) -> Decimal:
    """What one order's fills did to the stake currency, as the paper wallet books it."""
    with localcontext() as ctx:
        ctx.prec = 60
        value, paid = dec(cost), dec(fee or 0.0)
        return value - paid if side == "sell" else -(value + paid)


def wallet_change(book: Book) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60
        return sum((quote_flow(p.side, p.cost, p.fee_cost) for p in book.paper), Decimal(0))


def trade_flow(book: Book, trade: Trade) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60
        return sum((quote_flow(o.side, o.cost, o.fee_cost)
                    for o in book.orders_by_trade.get(trade.id, []) if o.filled > 0), Decimal(0))


# --- the checks ---------------------------------------------------------------------------


def exchange_orders_are_ours(book: Book) -> list[str]:
    """Every exchange order is one bot order (same client id, same exchange id) of one trade.

    The only exchange orders without a bot order are entries cancelled with nothing filled: their
    trade is removed, as Freqtrade removes it, and they never moved the wallet.
    """
    problems = []
    ours = book.orders_by_client_id
    trade_ids = {t.id for t in book.trades}
    for paper in book.paper:
        order = ours.get(paper.client_order_id)
        if order is None:
            if not (paper.status == "canceled" and paper.filled == 0 and paper.side == "buy"):
                problems.append(f"exchange order {paper.id} ({paper.status}, filled "
                                f"{paper.filled}) belongs to no order of the bot")
        elif order.order_id != paper.id:
            problems.append(f"order {order.client_order_id}: bot has exchange id "
                            f"{order.order_id}, exchange has {paper.id}")
        elif order.trade_id not in trade_ids:
            problems.append(f"order {order.client_order_id} points at missing trade "
                            f"{order.trade_id}")
    return problems


def no_duplicates(book: Book) -> list[str]:
    problems = []
    for label, ids in (("bot client order id", [o.client_order_id for o in book.orders]),
                       ("exchange client order id", [p.client_order_id for p in book.paper]),
                       ("exchange order id in the bot",
                        [o.order_id for o in book.orders if o.order_id is not None])):
        problems += [f"duplicate {label} {key} ({n}x)" for key, n in Counter(ids).items() if n > 1]
    open_pairs = Counter(t.pair for t in book.trades if t.is_open)
    problems += [f"{n} open trades on {pair}" for pair, n in open_pairs.items() if n > 1]
    open_orders = Counter(o.trade_id for o in book.orders if o.is_open)
    problems += [f"trade {tid} has {n} open orders" for tid, n in open_orders.items() if n > 1]
    return problems


def bot_orders_are_known(book: Book) -> list[str]:
    """Each bot order the exchange accepted is there; the others were never placed, not stuck."""
    problems = []
    theirs = book.paper_by_client_id
    for order in book.orders:
        paper = theirs.get(order.client_order_id)
        status = order.order_status
        if paper is None:
            if status not in NEVER_PLACED or order.filled:
                problems.append(f"order {order.client_order_id} ({status.value}, filled "
                                f"{order.filled}) is unknown to the exchange")
        elif status not in STATUS_ON_EXCHANGE or paper.status not in STATUS_ON_EXCHANGE[status]:
            problems.append(f"order {order.client_order_id}: bot says {status.value}, "
                            f"exchange says {paper.status}")
    return problems


def fills_agree(book: Book) -> list[str]:
    problems = []
    theirs = book.paper_by_client_id
    for order in book.orders:
        paper = theirs.get(order.client_order_id)
        if paper is None:
            continue
        mine = (order.filled, order.cost, order.fee_cost or 0.0)
        if mine != (paper.filled, paper.cost, paper.fee_cost):
            problems.append(f"order {order.client_order_id}: bot filled/cost/fee {mine}, "
                            f"exchange {(paper.filled, paper.cost, paper.fee_cost)}")
    return problems


def trade_amounts_agree(book: Book) -> list[str]:
    """A trade holds what its entries filled minus what its exits filled."""
    problems = []
    for trade in book.trades:
        mine = book.orders_by_trade.get(trade.id, [])
        held = sum(dec(o.filled) * (1 if o.side == "buy" else -1) for o in mine)
        if abs(float(held) - trade.amount) > 1e-12 * max(1.0, float(abs(held))):
            problems.append(f"trade {trade.id}: amount {trade.amount}, fills say {held}")
        if not trade.is_open and abs(trade.amount) > 1e-9:
            problems.append(f"trade {trade.id} is closed but holds {trade.amount}")
        if trade.is_open and trade.amount <= 0 and not any(o.is_open for o in mine):
            problems.append(f"trade {trade.id} is open with nothing held and nothing open")
        if any(o.client_order_id.startswith("ext-") for o in mine):
            problems.append(f"trade {trade.id} was closed as sold outside the bot")
    return problems


def profits_add_up(book: Book) -> list[str]:
    problems = []
    closed = [t for t in book.trades if not t.is_open]
    for trade in closed:
        flow = float(trade_flow(book, trade))
        if abs((trade.close_profit_abs or 0.0) - flow) > PROFIT_ROUNDING + EXACT * 1e-3:
            problems.append(f"trade {trade.id}: profit {trade.close_profit_abs}, fills {flow}")
    flows = sum((trade_flow(book, t) for t in book.trades), Decimal(0))
    if abs(float(flows - wallet_change(book))) > EXACT:
        problems.append(f"wallet moved {wallet_change(book)}, the trades' fills say {flows}")
    return problems


def audit(book: Book) -> list[str]:
    problems = [] if book.integrity == "ok" else [f"integrity_check: {book.integrity}"]
    for check in (exchange_orders_are_ours, no_duplicates, bot_orders_are_known, fills_agree,
                  trade_amounts_agree, profits_add_up):
        problems += check(book)
    return problems


def in_flight(book: Book) -> Counter[str]:
    """What a kill left half done, by kind; `resting` orders are open on both sides, agreed."""
    found: Counter[str] = Counter()
    theirs = book.paper_by_client_id
    for order in book.orders:
        if not order.is_open:
            continue
        paper = theirs.get(order.client_order_id)
        if paper is None:
            found["intent not sent"] += 1
        elif order.order_status == OrderStatus.PENDING_SUBMIT:
            found["accepted, answer not recorded"] += 1
        elif paper.filled != order.filled:
            found["fill not recorded"] += 1
        elif paper.status == "canceled":
            found["cancel not recorded"] += 1
        else:
            found["resting"] += 1
    return found
