"""The exchange fault matrix with the stop order on the exchange as the life cycle's point:
each fault of `exchange_matrix.FAULTS` while the stop is placed, looked up and cancelled
(before the exit), on the live path (real ccxt binance against the fake Binance).

The life cycle: an entry fills, the stop order rests on the exchange for a few iterations (an
open order of its own, looked up each iteration), then an exit signal cancels it and the exit
sells. Every applicable cell must show that the engine keeps running, never has two stops
resting at once, tells the owner at most once, and ends with the trade closed and the
database agreeing with the exchange.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio

from core.clock import ManualClock
from tests.engine.scripted import Scripted
from tests.fakes import FakeExchangeServer, FakeOrder
from tests.reliability.exchange_matrix import (
    ALL_CANDLES,
    BALANCES,
    FAULT,
    FAULT_NAMES,
    ORDER,
    PAIR,
    START,
    Moment,
    Point,
    Rig,
    disagreements,
    reset,
    trade_figures,
)

IN_MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")
HOLD = 5  # iterations the stop rests before the exit signal
ON_EXCHANGE = {"entry": "limit", "exit": "limit", "stoploss": "limit",
               "stoploss_on_exchange": True, "stoploss_on_exchange_interval": 60}


@dataclass(frozen=True, slots=True)
class StopMoment(Moment):
    stops: list[FakeOrder] = field(default_factory=list)
    held: int = 0  # iterations since the entry filled

    @property
    def resting(self) -> list[FakeOrder]:
        return [o for o in self.stops if o.is_open]


POINTS = [
    Point("create stop", ORDER, "POST", lambda m: m.entry_filled and not m.stops),
    Point("fetch stop", ORDER, "GET", lambda m: bool(m.resting)),
    Point("cancel stop", ORDER, "DELETE", lambda m: bool(m.resting) and not m.sells
          and m.held >= HOLD - 1),  # type: ignore[attr-defined]
]
POINT = {p.name: p for p in POINTS}
NOT_APPLICABLE = {(f, p) for f in ("insufficient funds", "invalid order")
                  for p in ("fetch stop", "cancel stop")}
RUN = [pytest.param(f, p, id=f"{f}@{p}", marks=pytest.mark.heavy)
       for f, p in itertools.product(FAULT_NAMES, POINT) if (f, p) not in NOT_APPLICABLE]


class StopRig(Rig):
    """The matrix's rig with the stop on the exchange and a held position."""

    def __init__(self, server: FakeExchangeServer, clock: ManualClock) -> None:
        super().__init__(server, clock)
        self.strategy = Scripted(order_types=ON_EXCHANGE, stoploss=-0.05)
        self.held = 0
        self.most_resting = 0

    def moment(self) -> StopMoment:
        orders = sorted(self.server.orders(PAIR), key=lambda o: o.order_id)
        stops = [o for o in orders if o.order_type == "STOP_LOSS_LIMIT"]
        self.most_resting = max(self.most_resting, sum(o.is_open for o in stops))
        moment = StopMoment(self.clock.now(), [o for o in orders if o.side == "BUY"],
                            [o for o in orders if o.side == "SELL" and o not in stops], stops,
                            self.held)
        return moment

    def steer(self, moment: Moment) -> None:
        """Enter until an entry filled; hold HOLD iterations; then exit until one filled."""
        if moment.entry_filled:
            self.held += 1
        exiting = self.held > HOLD and not moment.exit_filled
        self.strategy.enter_at = {PAIR: ALL_CANDLES} if not moment.entry_filled else {}
        self.strategy.exit_at = {PAIR: ALL_CANDLES} if exiting else {}


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(START)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(clock: ManualClock) -> AsyncIterator[FakeExchangeServer]:
    async with FakeExchangeServer(clock, balances=BALANCES, client_timeout=0.15) as fake:
        yield fake


@pytest_asyncio.fixture(loop_scope="module")
async def rig(server: FakeExchangeServer, clock: ManualClock) -> StopRig:
    reset(server, clock)
    rig = StopRig(server, clock)
    await rig.start()
    return rig


def test_the_stop_matrix_has_every_fault_at_every_stop_point_run_or_explained() -> None:
    assert (len(FAULT_NAMES), len(POINT), len(RUN), len(NOT_APPLICABLE)) == (15, 3, 41, 4)


@IN_MODULE_LOOP
async def test_without_a_fault_the_stop_rests_then_is_cancelled_before_the_exit(
        rig: StopRig) -> None:
    outcome = await rig.run(POINT["fetch stop"], None)

    assert outcome.raised == []
    assert rig.told() == []
    assert disagreements(rig.server) == []
    assert trade_figures() == (0, 1)
    # One stop before the first exit (which times out), placed again, cancelled before the
    # second.
    stops = rig.moment().stops
    assert [o.status for o in stops] == ["CANCELED", "CANCELED"]
    assert rig.most_resting == 1


@IN_MODULE_LOOP
@pytest.mark.parametrize(("fault", "point"), RUN)
async def test_fault_at_a_stop_point_keeps_one_stop_at_most_and_loses_nothing(
        rig: StopRig, fault: str, point: str) -> None:
    outcome = await rig.run(POINT[point], FAULT[fault])

    assert outcome.fault_from is not None, "the life cycle never reached the point"
    assert outcome.faulty_requests > 0, "the point was not called while the fault lasted"
    assert outcome.raised == []
    assert trade_figures() == (0, 1)
    assert disagreements(rig.server) == []
    assert rig.most_resting <= 1
    assert len(rig.told()) <= 1, rig.told()
