"""Stake sizing through the real engine. Hypothesis draws a wallet, a stake setting (fixed or
"unlimited"), tradable_balance_ratio, max_open_trades, the market fee and each market's
minimum amount and cost, and a burst of entry signals on several pairs; the engine then trades
on the paper exchange. What a user sees must hold: no order commits more than the free
balance (fee included), no wallet balance goes negative, no order is below the exchange
minimum, never more open trades than max_open_trades, no order is refused, and no order at
all for a pair whose minimum stake is out of reach."""

from __future__ import annotations

import asyncio
import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from peewee import SqliteDatabase

from core.clock import ManualClock
from engine.events import LogNotifier, WarningNotice
from engine.settings import MARKETS_FILE, PROJECT
from marketdata.files import load_pair_data
from store.models import Trade
from store.paper_orders import PaperOrders
from tests.engine.scripted import Scripted
from tests.factories import make_engine
from venues.exchange import Exchange, OrderRequest, OrderSnapshot
from venues.offline import OfflineMarket
from venues.paper import PaperExchange

PAIRS = ("ETH/BTC", "LTC/BTC", "XLM/BTC", "NXT/BTC", "ADA/BTC")
STAKE = "BTC"
START = datetime(2018, 1, 11, 6, 0, tzinfo=UTC)
WAVES = (datetime(2018, 1, 11, 6, 0, tzinfo=UTC), datetime(2018, 1, 11, 6, 10, tzinfo=UTC))
ITERATIONS = 6  # 06:05 .. 06:30: both waves are acted on, limit orders get a chance to fill
CANDLES = load_pair_data(PROJECT / "data" / "ohlcv", PAIRS, "5m")
MARKETS = {m["symbol"]: m for m in json.loads(MARKETS_FILE.read_text())["markets"]}
RAISE = 1.3  # the most a stake is ever raised to reach the exchange minimum


def _lowest_price(pair: str) -> float:
    """The lowest price the pair trades at while the engine runs."""
    frame = CANDLES[pair]
    end = START + timedelta(minutes=5 * ITERATIONS)
    window = frame[(frame["date"] >= START) & (frame["date"] <= end)]
    return float(window["low"].min())


@dataclass(frozen=True, slots=True)
class Case:
    wallet: float
    stake_amount: float | str
    ratio: float
    max_open_trades: int
    fee: float
    min_cost: dict[str, float]
    min_amount: dict[str, float]
    signals: dict[str, list[datetime]]
    order_type: str

    def markets(self) -> list[dict[str, Any]]:
        markets = []
        for pair in PAIRS:
            market = copy.deepcopy(MARKETS[pair])
            market["maker"] = market["taker"] = self.fee
            market["limits"]["cost"]["min"] = self.min_cost[pair]
            market["limits"]["amount"]["min"] = self.min_amount[pair]
            markets.append(market)
        return markets

    def out_of_reach(self, pair: str) -> bool:
        """Even the exchange's bare minimum (no reserve) cannot be staked on `pair`."""
        price = _lowest_price(pair)
        minimum = max(self.min_cost[pair], self.min_amount[pair] * price)
        budget = self.wallet * self.ratio
        if self.stake_amount != "unlimited":
            budget = min(budget, float(self.stake_amount) * RAISE)
        return budget < minimum


@st.composite
def cases(draw: st.DrawFn) -> Case:
    def per_pair(values: st.SearchStrategy[Any]) -> dict[str, Any]:
        return {pair: draw(values) for pair in PAIRS}

    steps = {pair: MARKETS[pair]["precision"]["amount"] for pair in PAIRS}
    wave = st.lists(st.sampled_from(PAIRS), unique=True, max_size=len(PAIRS))
    first, second = draw(wave.filter(bool)), draw(wave)
    signals = {p: [t for t, wave_pairs in zip(WAVES, (first, second), strict=True)
                   if p in wave_pairs] for p in PAIRS}
    # Each range mixes the common (small minimums, a ratio at or near 1) with the extreme.
    return Case(
        wallet=draw(st.one_of(st.floats(0.0005, 0.01), st.floats(0.01, 1.0))),
        stake_amount=draw(st.one_of(st.just("unlimited"), st.floats(0.0002, 0.02),
                                    st.floats(0.02, 0.5))),
        ratio=draw(st.one_of(st.sampled_from([1.0, 0.99]), st.floats(0.05, 1.0))),
        max_open_trades=draw(st.sampled_from([-1, 1, 2, 3, 4, 6])),
        fee=draw(st.sampled_from([0.0, 0.00075, 0.001, 0.0025, 0.01])),
        min_cost=per_pair(st.one_of(st.floats(0.00001, 0.001), st.floats(0.001, 0.2))),
        # Exchanges set the minimum amount in whole steps.
        min_amount={p: steps[p] * n for p, n in
                    per_pair(st.one_of(st.integers(1, 10), st.integers(10, 3000))).items()},
        signals={p: t for p, t in signals.items() if t},
        order_type=draw(st.sampled_from(["market", "limit"])),
    )


@dataclass(frozen=True, slots=True)
class Placed:
    free_before: float
    order: OrderSnapshot


class Ledger:
    """The paper exchange, noting the free stake balance right before each order."""

    def __init__(self, inner: Exchange) -> None:
        self._inner = inner
        self.placed: list[Placed] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def create_order(self, request: OrderRequest) -> OrderSnapshot:
        balances = await self._inner.fetch_balance()
        free = balances[STAKE].free if STAKE in balances else 0.0
        order = await self._inner.create_order(request)
        self.placed.append(Placed(free, order))
        return order


async def _run(case: Case) -> tuple[Ledger, LogNotifier, list[int]]:
    """Run the engine through the burst; returns the orders, the events and the number of
    open trades after each iteration (the wallet is checked after each one too)."""
    clock = ManualClock(START)
    notifier = LogNotifier()
    market = OfflineMarket(CANDLES, "5m", case.markets(), clock)
    database = SqliteDatabase(":memory:")
    ledger = Ledger(PaperExchange(market, clock, PaperOrders(database), wallet=case.wallet,
                                  stake_currency=STAKE))
    strategy = Scripted(enter=case.signals, order_types={
        "entry": case.order_type, "exit": "limit", "stoploss": "market",
        "stoploss_on_exchange": False})
    overrides = {"exchange": {"pair_whitelist": list(PAIRS)}, "dry_run_wallet": case.wallet,
                 "stake_amount": case.stake_amount, "tradable_balance_ratio": case.ratio,
                 "max_open_trades": case.max_open_trades}
    commands = make_engine(settings_overrides=overrides, notifier=notifier, clock=clock,
                           strategy=strategy, wrap=lambda _paper: ledger, database=database)  # type: ignore[arg-type,return-value]
    open_counts = []
    try:
        await commands.startup()
        for _ in range(ITERATIONS):
            clock.advance(timedelta(minutes=5))
            await commands.process()
            open_counts.append(Trade.select().where(Trade.is_open).count())
            for balance in (await ledger.fetch_balance()).values():
                assert balance.free >= -1e-12, f"negative free {balance}"
                assert balance.total >= -1e-12, f"negative total {balance}"
    finally:
        await commands.shutdown()
    return ledger, notifier, open_counts


def _check(case: Case, ledger: Ledger, notifier: LogNotifier, open_counts: list[int]) -> None:
    warnings = [e.text for e in notifier.events if isinstance(e, WarningNotice)]
    assert warnings == []
    if case.max_open_trades >= 0:
        assert max(open_counts) <= case.max_open_trades
    for placed in ledger.placed:
        order, pair = placed.order, placed.order.pair
        assert order.price is not None
        committed = order.amount * order.price
        assert committed * (1 + case.fee) <= placed.free_before * (1 + 1e-9)
        assert order.amount >= case.min_amount[pair] * (1 - 1e-9)
        assert committed >= case.min_cost[pair] * (1 - 1e-9)
        assert not case.out_of_reach(pair), f"{pair}: an order below any reachable minimum"


def _case(**changes: Any) -> Case:
    """Small market minimums, every pair signalled in the first wave."""
    values: dict[str, Any] = {
        "wallet": 1.0, "stake_amount": 0.05, "ratio": 0.99, "max_open_trades": 3, "fee": 0.001,
        "min_cost": dict.fromkeys(PAIRS, 0.0001),
        "min_amount": {p: MARKETS[p]["precision"]["amount"] for p in PAIRS},
        "signals": {p: [WAVES[0]] for p in PAIRS}, "order_type": "market"}
    return Case(**values | changes)


@pytest.mark.heavy
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
# All of the wallet as the stake left nothing for the fee: every entry was refused.
@example(case=_case(wallet=0.5, stake_amount="unlimited", ratio=1.0, max_open_trades=2,
                    fee=0.01, order_type="limit"))
def test_engine_sizing_never_overspends_never_undercuts_the_minimum_and_keeps_the_slots(
        case: Case) -> None:
    ledger, notifier, open_counts = asyncio.run(_run(case))
    _check(case, ledger, notifier, open_counts)


def test_a_burst_of_signals_fills_exactly_the_free_slots_with_fixed_stakes() -> None:
    case = _case()
    ledger, notifier, open_counts = asyncio.run(_run(case))
    _check(case, ledger, notifier, open_counts)
    assert open_counts[-1] == 3
    assert [p.order.cost for p in ledger.placed] == pytest.approx([0.05] * 3, rel=0.01)
