"""Paper trading on the shipped candles: fills, fees, funds, limits and restarts."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pandas as pd
import peewee
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from peewee import Database

from core.clock import ManualClock
from core.errors import ConfigError, InsufficientFunds, OrderNotFound, OrderRejected
from marketdata.files import load_candles, load_pair_data
from store import models, schema
from store.paper_orders import PaperOrders
from tests.databases import url_for
from venues.exchange import Balance, OrderRequest, OrderSnapshot
from venues.offline import OfflineMarket
from venues.paper import PaperExchange

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "ohlcv"
MARKETS = ROOT / "data" / "markets.json"
PAIRS = ["ETH/BTC", "LTC/BTC", "XLM/BTC", "NXT/BTC", "ADA/BTC"]
START = datetime(2018, 1, 15, 12, 2, 30, tzinfo=UTC)  # inside the 12:00 ETH/BTC candle
FIVE = timedelta(minutes=5)
ETH = load_candles(DATA / "ETH_BTC-5m.feather").set_index("date")


def candle(when: datetime) -> pd.Series:
    return cast(pd.Series, ETH.loc[pd.Timestamp(when).floor("5min")])


def buy(amount: float, price: float = 0.0, kind: str = "market", cid: str = "b1",
        pair: str = "ETH/BTC") -> OrderRequest:  # fmt: skip
    return OrderRequest(pair, "buy", kind, amount, price, cid)  # type: ignore[arg-type]


def sell(amount: float, price: float = 0.0, kind: str = "market", cid: str = "s1",
         pair: str = "ETH/BTC") -> OrderRequest:  # fmt: skip
    return OrderRequest(pair, "sell", kind, amount, price, cid)  # type: ignore[arg-type]


def close_to(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def market(clock: ManualClock) -> OfflineMarket:
    return OfflineMarket.from_files(DATA, PAIRS, "5m", MARKETS, clock)


@pytest.fixture
def orders(database: Database) -> PaperOrders:
    return PaperOrders(database)


@pytest.fixture
def paper(orders: PaperOrders, market: OfflineMarket, clock: ManualClock) -> PaperExchange:
    return PaperExchange(market, clock, orders, wallet=1.0, stake_currency="BTC")


async def test_market_buy_fills_at_once_at_the_candle_open_with_the_taker_fee(
    paper: PaperExchange,
) -> None:
    order = await paper.create_order(buy(2.0))
    price = candle(START)["open"]
    assert (order.status, order.filled, order.remaining) == ("closed", 2.0, 0.0)
    assert order.average == price
    assert close_to(order.cost, 2.0 * price)
    assert (order.fee_currency, close_to(order.fee_cost or 0, order.cost * 0.001)) == ("BTC", True)
    balance = await paper.fetch_balance()
    assert close_to(balance["BTC"].free, 1.0 - order.cost - (order.fee_cost or 0))
    assert balance["ETH"] == Balance("ETH", 2.0, 0.0, 2.0)


async def test_market_sell_returns_the_proceeds_less_the_fee_at_the_later_candle(
    paper: PaperExchange, clock: ManualClock
) -> None:
    bought = await paper.create_order(buy(2.0))
    clock.advance(timedelta(hours=2))
    sold = await paper.create_order(sell(2.0))
    assert sold.average == candle(clock.now())["open"]
    expected = 1.0 - bought.cost * 1.001 + sold.cost * 0.999
    balance = await paper.fetch_balance()
    assert close_to(balance["BTC"].total, expected)
    assert "ETH" not in balance


async def test_amount_is_truncated_to_the_market_step(paper: PaperExchange) -> None:
    order = await paper.create_order(buy(1.23456789))
    assert order.amount == order.filled == 1.234


async def test_fee_given_replaces_the_market_fees(
    orders: PaperOrders, market: OfflineMarket, clock: ManualClock
) -> None:
    paper = PaperExchange(market, clock, orders, wallet=1.0, stake_currency="BTC", fee=0.0025)
    order = await paper.create_order(buy(1.0))
    assert close_to(order.fee_cost or 0, order.cost * 0.0025)


async def test_limit_buy_below_the_range_stays_open_until_a_candle_reaches_it(
    paper: PaperExchange, market: OfflineMarket, clock: ManualClock
) -> None:
    limit = market.round_price("ETH/BTC", candle(START)["low"] * 0.995)
    order = await paper.create_order(buy(1.0, limit, "limit"))
    assert (order.status, order.filled) == ("open", 0.0)
    reaching = ETH[(ETH.index > candle(START).name) & (ETH["low"] <= limit)].index[0]
    clock.set(reaching - FIVE + timedelta(minutes=1))
    assert (await paper.fetch_order("ETH/BTC", order.order_id)).status == "open"
    locked = (await paper.fetch_balance())["BTC"].used
    assert close_to(locked, limit * 1.001)

    clock.set(reaching + timedelta(minutes=1))
    filled = await paper.fetch_order("ETH/BTC", order.order_id)
    assert (filled.status, filled.filled, filled.average) == ("closed", 1.0, limit)
    assert close_to(filled.fee_cost or 0, limit * 0.001)
    balance = await paper.fetch_balance()
    assert balance["BTC"].used == 0.0
    assert close_to(balance["BTC"].total, 1.0 - limit * 1.001)


async def test_limit_sell_fills_at_its_price_when_the_high_reaches_it(
    paper: PaperExchange, market: OfflineMarket, clock: ManualClock
) -> None:
    await paper.create_order(buy(1.0))
    limit = market.round_price("ETH/BTC", candle(START)["high"] * 1.005)
    order = await paper.create_order(sell(1.0, limit, "limit"))
    assert (await paper.fetch_balance())["ETH"] == Balance("ETH", 0.0, 1.0, 1.0)
    reaching = ETH[(ETH.index > candle(START).name) & (ETH["high"] >= limit)].index[0]
    clock.set(reaching)
    changed = await paper.match_open_orders()
    assert [(o.order_id, o.status, o.average) for o in changed] == [
        (order.order_id, "closed", limit)
    ]
    assert await paper.fetch_open_orders("ETH/BTC") == []


async def test_limit_already_crossed_when_placed_fills_at_its_limit_price(
    paper: PaperExchange, market: OfflineMarket
) -> None:
    limit = market.round_price("ETH/BTC", candle(START)["high"])
    order = await paper.create_order(buy(1.0, limit, "limit"))
    assert (order.status, order.average) == ("closed", limit)


async def test_limit_that_never_crosses_stays_open_to_the_end_of_the_data(
    paper: PaperExchange, market: OfflineMarket, clock: ManualClock
) -> None:
    order = await paper.create_order(buy(1.0, 0.05, "limit"))
    for hours in (1, 24, 24 * 14):
        clock.set(START + timedelta(hours=hours))
        assert [o.order_id for o in await paper.fetch_open_orders("ETH/BTC")] == [order.order_id]
    clock.set(market.last_time())
    assert await paper.match_open_orders() == []
    balance = (await paper.fetch_balance())["BTC"]
    assert close_to(balance.used, 0.05 * 1.001)
    assert close_to(balance.free + balance.used, 1.0)


async def test_buy_beyond_the_free_balance_is_refused_and_leaves_no_order(
    paper: PaperExchange,
) -> None:
    await paper.create_order(buy(5.0, 0.09, "limit", cid="locks-funds"))
    refusal = r"needs 0\.85\d* BTC \(fee included\), only 0\.549\d* BTC free"
    with pytest.raises(InsufficientFunds, match=refusal):
        await paper.create_order(buy(9.0, cid="too-much"))
    assert models.PaperOrder.select().count() == 1


async def test_selling_more_than_is_held_is_refused(paper: PaperExchange) -> None:
    await paper.create_order(buy(1.0))
    with pytest.raises(InsufficientFunds, match=r"needs 1\.5 ETH, only 1 ETH free"):
        await paper.create_order(sell(1.5))


async def test_orders_below_the_minimum_cost_or_amount_are_refused_with_the_rule(
    orders: PaperOrders, clock: ManualClock
) -> None:
    markets = json.loads(MARKETS.read_text())["markets"]
    for market in markets:
        if market["symbol"] == "ETH/BTC":
            market["limits"]["amount"]["min"] = 0.01
    venue = OfflineMarket(load_pair_data(DATA, ["ETH/BTC", "NXT/BTC"], "5m"), "5m", markets, clock)
    paper = PaperExchange(venue, clock, orders, wallet=1.0, stake_currency="BTC")
    with pytest.raises(OrderRejected, match=r"below the minimum 0\.0001 BTC"):
        await paper.create_order(buy(2, pair="NXT/BTC"))
    with pytest.raises(OrderRejected, match=r"amount 0\.005 is below the minimum amount 0\.01"):
        await paper.create_order(buy(0.005))
    with pytest.raises(OrderRejected, match=r"minimum amount precision of 0\.001"):
        await paper.create_order(buy(0.0004))
    assert models.PaperOrder.select().count() == 0


async def test_partial_fills_take_the_ratio_of_what_remains_at_each_check(
    orders: PaperOrders, market: OfflineMarket, clock: ManualClock
) -> None:
    paper = PaperExchange(market, clock, orders, wallet=1.0, stake_currency="BTC",
                          partial_fill_ratio=0.5)
    limit = market.round_price("ETH/BTC", candle(START)["open"])
    order = await paper.create_order(buy(1.0, limit, "limit"))
    fills = [order.filled]
    for _ in range(3):
        fills.append((await paper.fetch_order("ETH/BTC", order.order_id)).filled)
    assert fills == [0.5, 0.75, 0.875, 0.937]  # 0.0625 truncated to the 0.001 step
    balance = await paper.fetch_balance()
    assert balance["ETH"].total == 0.937
    assert close_to(balance["BTC"].used, 0.063 * limit * 1.001)
    assert close_to(balance["BTC"].total, 1.0 - 0.937 * limit * 1.001)


async def test_cancel_keeps_the_filled_part_and_releases_the_rest(
    orders: PaperOrders, market: OfflineMarket, clock: ManualClock
) -> None:
    paper = PaperExchange(market, clock, orders, wallet=1.0, stake_currency="BTC",
                          partial_fill_ratio=0.4)
    limit = market.round_price("ETH/BTC", candle(START)["open"])
    order = await paper.create_order(buy(1.0, limit, "limit"))
    canceled = await paper.cancel_order("ETH/BTC", order.order_id)
    assert (canceled.status, canceled.filled, canceled.remaining) == ("canceled", 0.4, 0.6)
    again = await paper.fetch_order("ETH/BTC", client_order_id=order.client_order_id)
    assert (again.status, again.filled) == ("canceled", 0.4)
    balance = await paper.fetch_balance()
    assert (balance["ETH"].total, balance["BTC"].used) == (0.4, 0.0)
    assert close_to(balance["BTC"].total, 1.0 - 0.4 * limit * 1.001)


async def test_same_client_order_id_returns_the_existing_order_and_charges_once(
    paper: PaperExchange,
) -> None:
    first = await paper.create_order(buy(1.0, cid="intent-7"))
    second = await paper.create_order(buy(1.0, cid="intent-7"))
    assert second == first
    assert models.PaperOrder.select().count() == 1
    assert (await paper.fetch_balance())["ETH"].total == 1.0


async def test_unknown_orders_are_not_found(paper: PaperExchange) -> None:
    order = await paper.create_order(buy(1.0))
    with pytest.raises(OrderNotFound):
        await paper.fetch_order("ETH/BTC", "paper-99")
    with pytest.raises(OrderNotFound):
        await paper.fetch_order("LTC/BTC", order.order_id)
    with pytest.raises(OrderNotFound):
        await paper.cancel_order("ETH/BTC", "paper-99")


async def test_no_price_outside_the_data_refuses_the_order(
    paper: PaperExchange, market: OfflineMarket, clock: ManualClock
) -> None:
    clock.set(market.last_time() + timedelta(hours=1))
    with pytest.raises(OrderRejected, match="no price"):
        await paper.create_order(buy(1.0))


def test_partial_fill_ratio_outside_zero_to_one_is_a_config_error(
    orders: PaperOrders, market: OfflineMarket, clock: ManualClock
) -> None:
    with pytest.raises(ConfigError, match="partial_fill_ratio"):
        PaperExchange(market, clock, orders, wallet=1.0, stake_currency="BTC",
                      partial_fill_ratio=1.5)


async def test_balances_add_up_to_the_wallet_less_fees_at_the_prices_paid(
    paper: PaperExchange,
) -> None:
    bought = await paper.create_order(buy(3.0))
    resting = await paper.create_order(buy(1.0, 0.05, "limit", cid="rest"))
    await paper.create_order(sell(1.0, 0.2, "limit", cid="ask"))
    balance = await paper.fetch_balance()
    btc, eth = balance["BTC"], balance["ETH"]
    assert (eth.free, eth.used, eth.total) == (2.0, 1.0, 3.0)
    assert close_to(btc.used, (resting.price or 0) * 1.001)
    assert close_to(btc.free + btc.used, btc.total)
    fees = bought.fee_cost or 0
    assert close_to(btc.total + eth.total * (bought.average or 0) + fees, 1.0)


async def test_state_survives_a_restart_on_the_same_database_file(tmp_path: Path) -> None:
    url = url_for(tmp_path, "dryrun")

    async def session(clock: ManualClock) -> PaperExchange:
        orders = PaperOrders(schema.init_db(url))
        venue = OfflineMarket.from_files(DATA, PAIRS, "5m", MARKETS, clock)
        return PaperExchange(venue, clock, orders, wallet=1.0, stake_currency="BTC",
                             partial_fill_ratio=0.5)

    clock = ManualClock(START)
    paper = await session(clock)
    await paper.create_order(buy(2.0))
    limit = paper.round_price("ETH/BTC", candle(START)["open"])
    resting = await paper.create_order(buy(1.0, limit, "limit", cid="half"))
    before = await paper.fetch_balance()
    schema.close_db()

    restarted = await session(ManualClock(START))
    assert await restarted.fetch_balance() == before
    open_orders = await restarted.fetch_open_orders("ETH/BTC")
    assert [(o.order_id, o.filled) for o in open_orders] == [(resting.order_id, 0.75)]
    after = await restarted.create_order(sell(1.0, cid="after-restart"))
    assert after.order_id == "paper-3"
    schema.close_db()


def snapshot_totals(orders: list[OrderSnapshot], wallet: float) -> dict[str, float]:
    btc, eth = wallet, 0.0
    for o in orders:
        sign = 1 if o.side == "buy" else -1
        btc -= sign * o.cost + (o.fee_cost or 0)
        eth += sign * o.filled
    return {"BTC": btc, "ETH": eth}


order_steps = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell"]),
        st.floats(0.001, 8.0),
        st.none() | st.floats(0.97, 1.03),  # market, or a limit this far from the open
        st.integers(0, 48),  # hours to wait first
    ),
    max_size=12,
)


@pytest.mark.heavy
@settings(max_examples=25, deadline=None)
@given(order_steps, st.none() | st.floats(0.1, 1.0))
def test_free_never_goes_negative_and_totals_follow_the_fills(
    steps: list[tuple[str, float, float | None, int]], ratio: float | None
) -> None:
    async def run(orders: PaperOrders) -> tuple[dict[str, Balance], list[OrderSnapshot]]:
        clock = ManualClock(START)
        venue = OfflineMarket(load_pair_data(DATA, ["ETH/BTC"], "5m"), "5m", markets(), clock)
        paper = PaperExchange(
            venue, clock, orders, wallet=1.0, stake_currency="BTC", partial_fill_ratio=ratio
        )
        ids = []
        for number, (side, amount, distance, hours) in enumerate(steps):
            clock.advance(timedelta(hours=hours))
            await paper.match_open_orders()
            price = cast(float, ETH["open"].asof(pd.Timestamp(clock.now()))) * (distance or 1)
            kind = "market" if distance is None else "limit"
            request = (buy if side == "buy" else sell)(amount, price, kind, f"c{number}")
            try:
                ids.append((await paper.create_order(request)).order_id)
            except OrderRejected:  # too little money, or below the market minimums
                continue
            balance = await paper.fetch_balance()
            assert all(b.free >= -1e-12 for b in balance.values())
            assert all(close_to(b.free + b.used, b.total) for b in balance.values())
        orders = [await paper.fetch_order("ETH/BTC", order_id) for order_id in ids]
        return await paper.fetch_balance(), orders

    table = PaperOrders(schema.init_db(url_for()))
    try:
        balance, orders = asyncio.run(run(table))
    finally:
        schema.close_db()
    totals = snapshot_totals(orders, 1.0)
    assert close_to(balance["BTC"].total, totals["BTC"])
    assert math.isclose(balance.get("ETH", Balance("ETH", 0, 0, 0)).total, totals["ETH"],
                        abs_tol=1e-12)  # fmt: skip


def markets() -> list[dict[str, object]]:
    return list(json.loads(MARKETS.read_text())["markets"])


class FullDisk(peewee.SqliteDatabase):
    """The database file on a disk that fills up: while `full`, every write fails as SQLite
    reports it."""

    full = False

    def execute_sql(self, sql: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        if self.full and sql.lstrip()[:6].upper() in ("INSERT", "UPDATE"):
            raise peewee.OperationalError("database or disk is full")
        return super().execute_sql(sql, params, *args, **kwargs)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[FullDisk]:
    schema.init_db(f"sqlite:///{tmp_path / 'dryrun.sqlite'}")
    schema.close_db()
    database = FullDisk(str(tmp_path / "dryrun.sqlite"))
    schema.open_database(database)
    yield database
    schema.close_db()


@pytest.mark.sqlite_only  # a full disk as SQLite reports it
async def test_a_fill_that_could_not_be_written_is_not_remembered_and_happens_once_written(
    disk: FullDisk, market: OfflineMarket, clock: ManualClock
) -> None:
    paper = PaperExchange(market, clock, PaperOrders(disk), wallet=1.0, stake_currency="BTC")
    limit = market.round_price("ETH/BTC", candle(START)["low"] * 0.995)
    order = await paper.create_order(buy(1.0, limit, "limit"))
    before = await paper.fetch_balance()
    clock.set(ETH[(ETH.index > candle(START).name) & (ETH["low"] <= limit)].index[0])
    disk.full = True
    with pytest.raises(peewee.OperationalError, match="disk is full"):
        await paper.match_open_orders()
    assert await paper.fetch_balance() == before

    disk.full = False
    assert [o.order_id for o in await paper.match_open_orders()] == [order.order_id]
    assert models.PaperOrder.get_by_id(order.order_id).status == "closed"
    assert (await paper.fetch_balance())["ETH"].total == 1.0


@pytest.mark.sqlite_only  # a full disk as SQLite reports it
async def test_after_a_failed_write_the_exchange_believes_the_table_not_its_memory(
    disk: FullDisk, market: OfflineMarket, clock: ManualClock
) -> None:
    paper = PaperExchange(market, clock, PaperOrders(disk), wallet=1.0, stake_currency="BTC")
    order = await paper.create_order(buy(1.0, 0.05, "limit", cid="resting"))
    disk.full = True
    with pytest.raises(peewee.OperationalError):
        await paper.cancel_order("ETH/BTC", order.order_id)
    disk.full = False
    # Whatever the failed write left behind, the table is the truth: here, the cancel landed.
    models.PaperOrder.update(status="canceled").execute()
    assert await paper.fetch_open_orders("ETH/BTC") == []
    assert (await paper.fetch_balance())["BTC"] == Balance("BTC", 1.0, 0.0, 1.0)
    retried = await paper.create_order(buy(1.0, 0.05, "limit", cid="resting"))
    assert (retried.order_id, retried.status) == (order.order_id, "canceled")


@pytest.mark.sqlite_only  # a full disk as SQLite reports it
async def test_an_order_that_could_not_be_written_does_not_exist_and_its_number_is_reused(
    disk: FullDisk, market: OfflineMarket, clock: ManualClock
) -> None:
    paper = PaperExchange(market, clock, PaperOrders(disk), wallet=1.0, stake_currency="BTC")
    await paper.create_order(buy(1.0, cid="first"))
    disk.full = True
    with pytest.raises(peewee.OperationalError):
        await paper.create_order(buy(1.0, cid="lost"))
    disk.full = False
    assert (await paper.fetch_balance())["ETH"].total == 1.0
    again = await paper.create_order(buy(1.0, cid="lost"))
    assert (again.order_id, again.status) == ("paper-2", "closed")
    assert models.PaperOrder.select().count() == 2


async def test_a_retried_create_returns_the_finished_order_it_made_before_a_restart(
    tmp_path: Path, clock: ManualClock
) -> None:
    url = url_for(tmp_path, "dryrun")
    orders = PaperOrders(schema.init_db(url))
    venue = OfflineMarket.from_files(DATA, PAIRS, "5m", MARKETS, clock)
    paper = PaperExchange(venue, clock, orders, wallet=1.0, stake_currency="BTC")
    bought = await paper.create_order(buy(1.0, cid="intent-1"))
    resting = await paper.create_order(buy(1.0, 0.05, "limit", cid="intent-2"))
    canceled = await paper.cancel_order("ETH/BTC", resting.order_id)
    schema.close_db()

    restarted = PaperExchange(venue, clock, PaperOrders(schema.init_db(url)), wallet=1.0,
                              stake_currency="BTC")
    assert await restarted.create_order(buy(1.0, cid="intent-1")) == bought
    assert await restarted.create_order(buy(1.0, 0.05, "limit", cid="intent-2")) == canceled
    assert models.PaperOrder.select().count() == 2
    assert (await restarted.fetch_balance())["ETH"].total == 1.0
    schema.close_db()
