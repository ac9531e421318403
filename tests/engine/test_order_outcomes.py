"""Submitting an intent gives one outcome value for every answer of the exchange: placed
(with what the answer changed), refused (the row marked, with the reason) or unknown (the row
left pending, resolved later by its client id). And what the owner is told of each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.clock import ManualClock
from core.errors import OrderNotPlaced, OrderRejected, OrderStateUnknown
from engine.events import EntryCancelled, EntryPlaced, ExitCancelled, LogNotifier, WarningNotice
from engine.orders import OrderManager, Placed, Refused, Unknown, record_intent
from store.models import Order, OrderStatus, Trade
from store.store import Store
from tests.engine.scripted import Scripted
from tests.factories import make_engine, new_trade, run_for
from venues.exchange import Exchange, OrderRequest, OrderSnapshot

T0 = datetime(2018, 1, 11, 6, 5, tzinfo=UTC)
PAIR = "ETH/BTC"


class OneAnswer:
    """An exchange that answers every create with one scripted snapshot or error, and finds
    an order by its client id once told where it went."""

    def __init__(self, answer: OrderSnapshot | Exception) -> None:
        self.answer = answer
        self.found: OrderSnapshot | None = None
        self.sent: list[OrderRequest] = []

    async def create_order(self, request: OrderRequest) -> OrderSnapshot:
        self.sent.append(request)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    async def fetch_order(self, pair: str, order_id: str | None = None,
                          client_order_id: str | None = None) -> OrderSnapshot:
        assert self.found is not None
        assert client_order_id == self.found.client_order_id
        return self.found


def snapshot(order: Order, status: str, filled: float, **values: Any) -> OrderSnapshot:
    return OrderSnapshot(
        order_id="x1", client_order_id=order.client_order_id, pair=PAIR, side="buy",
        order_type="limit", status=status, amount=order.amount, filled=filled,  # type: ignore[arg-type]
        remaining=order.amount - filled, price=order.price,
        average=order.price if filled else None, cost=filled * order.price, fee_cost=None,
        fee_currency=None, timestamp=T0, **values,
    )  # fmt: skip


@pytest.fixture
def intent(store: Store) -> Order:
    """A trade and its entry intent, committed as the trader commits them."""
    with store.transaction():
        trade = new_trade(store, PAIR, exchange="paper", strategy="S", open_date=T0,
                          open_rate=0.05, amount_requested=2.0)
        return record_intent(store, trade, "buy", "limit", 2.0, 0.05, None, ManualClock(T0))


def submitted(answer: OneAnswer, store: Store) -> OrderManager:
    return OrderManager(answer, ManualClock(T0), store)  # type: ignore[arg-type]


async def test_a_filled_answer_is_placed_and_the_trade_is_what_its_order_filled(
        store: Store, intent: Order) -> None:
    exchange = OneAnswer(snapshot(intent, "closed", 2.0))

    outcome = await submitted(exchange, store).submit(intent)

    assert isinstance(outcome, Placed)
    change = outcome.change
    assert (change.before, change.after, change.newly_filled) == (
        OrderStatus.PENDING_SUBMIT, OrderStatus.FILLED, True)
    assert (change.filled_before, change.filled_after) == (0.0, 2.0)
    row = Order.get_by_id(intent.id)
    assert (row.status, row.order_id, row.filled, row.remaining) == ("filled", "x1", 2.0, 0.0)
    trade = Trade.get_by_id(intent.trade_id)
    assert (trade.amount, trade.open_rate) == (2.0, 0.05)
    assert [r.client_order_id for r in exchange.sent] == [intent.client_order_id]


async def test_an_order_resting_on_the_book_is_placed_and_open(store: Store,
                                                              intent: Order) -> None:
    outcome = await submitted(OneAnswer(snapshot(intent, "open", 0.0)), store).submit(intent)

    assert isinstance(outcome, Placed)
    assert outcome.change.after == OrderStatus.OPEN
    assert not outcome.change.newly_filled
    assert not outcome.change.newly_ended
    assert Order.get_by_id(intent.id).status == "open"
    assert Trade.get_by_id(intent.trade_id).amount == 0.0


async def test_a_rejected_order_is_refused_with_the_reason_and_its_row_marked_rejected(
        store: Store, intent: Order) -> None:
    reason = "ETH/BTC: insufficient balance " + "x" * 300

    outcome = await submitted(OneAnswer(OrderRejected(reason)), store).submit(intent)

    assert isinstance(outcome, Refused)
    assert outcome.reason == reason
    assert (outcome.change.before, outcome.change.after) == (
        OrderStatus.PENDING_SUBMIT, OrderStatus.REJECTED)
    assert outcome.change.newly_ended
    row = Order.get_by_id(intent.id)
    assert (row.status, row.order_id, row.remaining) == ("rejected", None, 0.0)
    assert row.ft_cancel_reason == reason[:250]


async def test_an_order_that_never_arrived_is_refused_and_its_row_marked_failed(
        store: Store, intent: Order) -> None:
    outcome = await submitted(OneAnswer(OrderNotPlaced("never reached")), store).submit(intent)

    assert isinstance(outcome, Refused)
    assert (outcome.reason, outcome.change.after) == ("never reached", OrderStatus.FAILED)
    row = Order.get_by_id(intent.id)
    assert (row.status, row.ft_cancel_reason) == ("failed", "never reached")


async def test_an_unknown_outcome_leaves_the_intent_pending_until_its_client_id_is_found(
        store: Store, intent: Order) -> None:
    exchange = OneAnswer(OrderStateUnknown("no answer"))
    orders = submitted(exchange, store)

    outcome = await orders.submit(intent)

    assert outcome == Unknown(intent)
    row = Order.get_by_id(intent.id)
    assert (row.status, row.order_id) == ("pending_submit", None)
    exchange.found = snapshot(intent, "open", 0.0)
    change = await orders.refresh(row)
    assert change is not None
    assert (change.before, change.after) == (OrderStatus.PENDING_SUBMIT, OrderStatus.OPEN)
    assert Order.get_by_id(intent.id).order_id == "x1"


# --- what the owner hears, through a whole engine ------------------------------------------


class Refusing:
    """The paper exchange, refusing every create of one side while `refusing` is set."""

    def __init__(self, inner: Exchange, side: str) -> None:
        self._inner = inner
        self._side = side
        self.refusing = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def create_order(self, request: OrderRequest) -> OrderSnapshot:
        if self.refusing and request.side == self._side:
            raise OrderRejected(f"{request.pair}: not enough BTC")
        return await self._inner.create_order(request)


SIGNALS = [datetime(2018, 1, 11, 6, 0, tzinfo=UTC) + timedelta(minutes=5 * i)
           for i in range(6)]


async def engine_refusing(side: str, strategy: Scripted) -> tuple:
    clock = ManualClock(datetime(2018, 1, 11, 5, 0, tzinfo=UTC))
    notifier = LogNotifier(keep=1000)
    wrapped: list[Refusing] = []

    def wrap(inner: Exchange) -> Exchange:
        wrapped.append(Refusing(inner, side))
        return wrapped[0]  # type: ignore[return-value]

    commands = make_engine(settings_overrides={"exchange": {"pair_whitelist": [PAIR]},
                                               "stake_amount": 0.05, "max_open_trades": 1},
                           strategy=strategy, clock=clock, notifier=notifier, wrap=wrap)
    await commands.startup()
    return commands, clock, notifier, wrapped[0]


def refusal_notices(notifier: LogNotifier) -> list[str]:
    return [e.text for e in notifier.events
            if isinstance(e, WarningNotice) and "order refused" in e.text]


async def test_a_refused_entry_removes_its_trade_and_the_owner_hears_once_per_episode() -> None:
    commands, clock, notifier, exchange = await engine_refusing(
        "buy", Scripted(enter={PAIR: SIGNALS}))

    await run_for(commands, clock, 16)  # 06:05 to 06:20: four entries refused in a row

    assert Trade.select().count() == 0
    assert Order.select().count() == 0
    placed = [e for e in notifier.events if isinstance(e, EntryPlaced)]
    cancelled = [e for e in notifier.events if isinstance(e, EntryCancelled)]
    assert len(placed) == len(cancelled) == 4
    assert {(e.reason, e.partial) for e in cancelled} == {
        ("ETH/BTC: not enough BTC, fully cancelled", False)}
    assert refusal_notices(notifier) == ["ETH/BTC: order refused: ETH/BTC: not enough BTC"]

    exchange.refusing = False
    await run_for(commands, clock, 1)  # 06:25: goes through, which ends the episode
    assert Trade.select().count() == 1
    assert len(refusal_notices(notifier)) == 1


async def test_a_refused_exit_keeps_the_trade_open_and_forgets_its_exit_reason() -> None:
    commands, clock, notifier, _ = await engine_refusing(
        "sell", Scripted(enter={PAIR: SIGNALS[:1]}, exit_={PAIR: SIGNALS[2:]}))

    await run_for(commands, clock, 17)  # entry at 06:05, exits refused from 06:15 on

    (trade,) = Trade.select()
    assert trade.is_open
    assert trade.amount > 0
    assert trade.exit_reason is None
    sells = [o.status for o in Order.select().where(Order.side == "sell")]
    assert sells == ["rejected"] * 3
    cancelled = [e.reason for e in notifier.events if isinstance(e, ExitCancelled)]
    assert cancelled == ["ETH/BTC: not enough BTC"] * 3
    assert refusal_notices(notifier) == ["ETH/BTC: order refused: ETH/BTC: not enough BTC"]
