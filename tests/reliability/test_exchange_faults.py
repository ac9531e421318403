"""The exchange fault matrix: 14 faults x 9 points of the trade life cycle, on the live path
(real ccxt binance through CcxtExchange against the fake Binance).

Every applicable cell must show that the engine keeps running, backs off, tells the owner once
(not once per iteration), and ends with the database agreeing with the exchange: no duplicate
order, no lost fill, no trade left open once the fault has cleared and the exit has happened.
See `tests/reliability/exchange_matrix.py` for the life cycle each cell plays.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from core.clock import ManualClock
from engine.events import EntryCancelled
from store.models import Order
from tests.factories import run_for
from tests.fakes import FakeExchangeServer, Fault
from tests.reliability.exchange_matrix import (
    BACKOFF,
    BALANCES,
    FAULT,
    FAULT_NAMES,
    NOT_APPLICABLE,
    POINT,
    POINT_NAMES,
    RETRIES,
    SILENT,
    START,
    WINDOW,
    Point,
    Rig,
    disagreements,
    reset,
    trade_figures,
)
from venues.ccxt_exchange import MAX_LOOKUP_PAUSE_SECONDS

IN_MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")

CELLS = list(itertools.product(FAULT_NAMES, POINT_NAMES))
# The cells that are run; the others are in NOT_APPLICABLE with their reason, not skipped tests.
RUN = [pytest.param(fault, point, id=f"{fault}@{point}", marks=pytest.mark.heavy)
       for fault, point in CELLS if (fault, point) not in NOT_APPLICABLE]


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(START)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(clock: ManualClock) -> AsyncIterator[FakeExchangeServer]:
    async with FakeExchangeServer(clock, balances=BALANCES, client_timeout=0.15) as fake:
        yield fake


@pytest_asyncio.fixture(loop_scope="module")
async def rig(server: FakeExchangeServer, clock: ManualClock) -> Rig:
    reset(server, clock)
    rig = Rig(server, clock)
    await rig.start()
    return rig


def test_the_matrix_has_every_fault_at_every_point_run_or_explained() -> None:
    assert (len(FAULT_NAMES), len(POINT_NAMES), len(CELLS)) == (15, 9, 135)
    assert set(NOT_APPLICABLE) <= set(CELLS)
    assert all(reason.strip() for reason in NOT_APPLICABLE.values())
    assert (len(RUN), len(NOT_APPLICABLE)) == (118, 17)


@IN_MODULE_LOOP
async def test_without_a_fault_the_life_cycle_completes_and_nobody_is_warned(rig: Rig) -> None:
    outcome = await rig.run(POINT["candles"], None)

    assert outcome.raised == []
    assert rig.told() == []
    assert disagreements(rig.server) == []
    assert trade_figures() == (0, 1)
    assert [o.status for o in rig.server.orders()] == ["CANCELED", "FILLED", "CANCELED", "FILLED"]


@IN_MODULE_LOOP
@pytest.mark.parametrize(("fault", "point"), RUN)
async def test_fault_at_point_keeps_trading_tells_once_and_loses_nothing(
    rig: Rig, fault: str, point: str
) -> None:
    spec, where = FAULT[fault], POINT[point]

    outcome = await rig.run(where, spec)

    assert outcome.fault_from is not None, "the life cycle never reached the point"
    assert outcome.faulty_requests > 0, "the point was not called while the fault lasted"
    # Keeps running: no iteration raised, and the whole life cycle completed after the fault.
    assert outcome.raised == []
    assert trade_figures() == (0, 1)
    # Loses nothing: one exchange order per database order, the same fills and statuses.
    assert disagreements(rig.server) == []
    # Tells the owner once, not once per iteration (the fault spans two iterations).
    assert outcome.faulty_iterations >= 2
    assert len(rig.told()) == (0 if (fault, point) in SILENT else 1), rig.told()
    assert rig.all_clear() <= 1
    assert outcome.owner_restarts == (1 if spec.needs_owner and rig.told() else 0)
    if spec.transient:
        # Backs off: each call retried RETRIES times at growing delays, then left to the next
        # iteration (aiohttp itself resends a GET once on a reset connection).
        assert outcome.faulty_requests <= 2 * (RETRIES + 1) * outcome.faulty_iterations
        # A create whose outcome is unknown is looked up at growing pauses, capped, until
        # the exchange can no longer execute it.
        pauses = {min(BACKOFF * 2**n, MAX_LOOKUP_PAUSE_SECONDS) for n in range(10)}
        assert set(rig.sleep.delays) <= pauses


@IN_MODULE_LOOP
async def test_keys_refused_again_after_the_owners_start_are_told_again(rig: Rig) -> None:
    refused = "Exchange refused our credentials"
    for episode in (1, 2):
        rig.server.inject("/api/v3/ticker/24hr", Fault.BAD_API_KEY_FORMAT, duration=WINDOW)
        await run_for(rig.commands, rig.clock, 3)
        assert rig.commands.state == "paused"
        await run_for(rig.commands, rig.clock, 1)
        await rig.commands.start()

        assert [t for t in rig.told() if t.startswith(refused)] == [rig.told()[0]] * episode


@IN_MODULE_LOOP
async def test_whole_exchange_in_maintenance_while_an_entry_fills_is_told_once_and_loses_nothing(
    rig: Rig,
) -> None:
    everything = Point("whole exchange", "*", None, lambda moment: moment.entry_filled)

    outcome = await rig.run(everything, FAULT["maintenance for 10 minutes"])

    assert outcome.raised == []
    assert outcome.faulty_iterations == 2
    assert outcome.faulty_requests > 0
    assert trade_figures() == (0, 1)
    assert disagreements(rig.server) == []
    assert (len(rig.told()), rig.all_clear()) == (1, 1)


@IN_MODULE_LOOP
async def test_the_agreement_check_sees_a_lost_fill_and_a_duplicate_order(rig: Rig) -> None:
    await rig.run(POINT["candles"], None)
    entry = Order.get(Order.side == "buy", Order.status == "filled")
    Order.update(filled=0.0).where(Order.id == entry.id).execute()
    rig.server.book.place({"symbol": "ETHBTC", "side": "BUY", "type": "LIMIT",
                           "quantity": "0.1", "price": "0.01",
                           "newClientOrderId": entry.client_order_id})

    found = disagreements(rig.server)

    assert f"{entry.client_order_id}: 2 exchange orders" in found
    assert any(f"{entry.order_id}: filled 0.0 here" in problem for problem in found)
    assert any("is in no database order" in problem for problem in found)


@IN_MODULE_LOOP
async def test_an_order_gone_from_the_exchange_for_an_hour_is_taken_for_cancelled(rig: Rig) -> None:
    rig.steer(rig.moment())
    await run_for(rig.commands, rig.clock, 1)
    (placed,) = rig.server.orders()
    del rig.server.book.orders[placed.order_id]  # purged: every lookup says "does not exist"

    await run_for(rig.commands, rig.clock, 12)  # missing from 12:10 to 13:05: still a glitch
    assert Order.get().status == "open"
    await run_for(rig.commands, rig.clock, 1)  # 13:10, an hour: cancelled, the trade removed

    cancelled = [e.reason for e in rig.notifier.events if isinstance(e, EntryCancelled)]
    assert cancelled == ["cancelled on exchange, fully cancelled"]
    assert len(rig.server.orders()) == 1  # the next entry; the signal is still on
    assert rig.told() == [rig.told()[0]]
    assert "Order does not exist" in rig.told()[0]
