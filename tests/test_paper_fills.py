"""The paper exchange as dry-run and the demo run it (`book_fills`): market orders at
Freqtrade's dry-run price from the book, IOC / FOK / PO limit orders against the book."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from peewee import Database

from core.clock import ManualClock
from core.errors import OrderRejected
from marketdata.files import load_candles
from store.paper_orders import PaperOrders
from venues.exchange import OrderBook, OrderRequest
from venues.offline import OfflineMarket
from venues.paper import PaperExchange
from venues.paper_fills import market_price

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2018, 1, 15, 12, 2, 30, tzinfo=UTC)  # inside the 12:00 ETH/BTC candle
CANDLE = load_candles(ROOT / "data" / "ohlcv" / "ETH_BTC-5m.feather").set_index("date").loc[
    datetime(2018, 1, 15, 12, 0, tzinfo=UTC)]
P = float(CANDLE["open"])  # the ticker's bid, ask and last in the demo
BID2, ASK2 = round(P * 0.999, 6), round(P * 1.001, 6)
BOOK = OrderBook("ETH/BTC", bids=((P, 0.2), (BID2, 5.0)), asks=((P, 0.3), (ASK2, 5.0)))


class PinnedBook:
    """The offline market with a book of the test's choosing."""

    def __init__(self, market: OfflineMarket, book: OrderBook) -> None:
        self._market = market
        self.book = book
        self.asked: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._market, name)

    async def fetch_order_book(self, pair: str, limit: int) -> OrderBook:
        self.asked.append(limit)
        return self.book


def request(side: str, amount: float, price: float = 0.0, kind: str = "limit",
            tif: str = "GTC", cid: str = "c1") -> OrderRequest:
    return OrderRequest("ETH/BTC", side, kind, amount, price, cid,  # type: ignore[arg-type]
                        time_in_force=tif)  # type: ignore[arg-type]


@pytest.fixture
def source() -> PinnedBook:
    clock = ManualClock(START)
    market = OfflineMarket.from_files(ROOT / "data" / "ohlcv", ["ETH/BTC"], "5m",
                                      ROOT / "data" / "markets.json", clock)
    return PinnedBook(market, BOOK)


@pytest.fixture
def paper(source: PinnedBook, database: Database) -> PaperExchange:
    return PaperExchange(source, ManualClock(START), PaperOrders(database),  # type: ignore[arg-type]
                         wallet=1.0, stake_currency="BTC", fee=0.001, book_fills=True)


def freqtrade_fill_price(side: str, amount: float, reference: float,
                         levels: list[tuple[float, float]]) -> float:
    """Freqtrade's get_dry_market_fill_price, restated: the cumulative volume of the levels
    decides each level's share; what the book lacks fills at its last level; the result is
    bounded 5% beyond the reference on the order's bad side."""
    if not levels:
        return reference
    shares, cumulative = [], 0.0
    for price, volume in levels:
        share = max(min(volume, amount - cumulative), 0.0)
        shares.append((price, share))
        cumulative += volume
    value = sum(p * s for p, s in shares) + max(amount - cumulative, 0.0) * levels[-1][0]
    vwap = value / amount
    bound = reference * (1.05 if side == "buy" else 0.95)
    return min(vwap, bound) if side == "buy" else max(vwap, bound)


@given(side=st.sampled_from(("buy", "sell")),
       amount=st.floats(min_value=1e-6, max_value=1e4),
       reference=st.floats(min_value=1e-4, max_value=1e3),
       levels=st.lists(st.tuples(st.floats(min_value=1e-4, max_value=1e3),
                                 st.floats(min_value=0.0, max_value=1e4)), max_size=20))
def test_the_market_fill_price_is_freqtrades_dry_run_price(
        side: str, amount: float, reference: float, levels: list[tuple[float, float]]) -> None:
    book = OrderBook("ETH/BTC", tuple(levels), tuple(levels))
    price = market_price(side, amount, reference, book)  # type: ignore[arg-type]
    expected = freqtrade_fill_price(side, amount, reference, levels)
    assert price == pytest.approx(expected, rel=1e-9, abs=1e-12)


async def test_a_market_buy_walks_the_book_pays_the_taker_fee_and_is_rounded_to_the_tick(
        paper: PaperExchange, source: PinnedBook) -> None:
    order = await paper.create_order(request("buy", 0.5, P, "market"))

    vwap = round((0.3 * P + 0.2 * ASK2) / 0.5, 6)  # on ETH/BTC's 1e-6 tick
    assert (order.status, order.filled, order.average) == ("closed", 0.5, vwap)
    assert order.fee_cost == pytest.approx(0.5 * vwap * 0.001, rel=1e-9)
    assert source.asked == [20]  # Freqtrade's dry run reads 20 levels
    balances = await paper.fetch_balance()
    assert balances["BTC"].total == pytest.approx(1 - 0.5 * vwap * 1.001, rel=1e-12)


async def test_a_market_sell_slips_at_most_five_percent(paper: PaperExchange,
                                                        source: PinnedBook) -> None:
    await paper.create_order(request("buy", 0.5, P, "market", cid="b"))
    source.book = OrderBook("ETH/BTC", bids=((P, 0.1), (P / 2, 10.0)), asks=BOOK.asks)
    order = await paper.create_order(request("sell", 0.4, P, "market", cid="s"))

    assert order.average == round(P * 0.95, 6)


async def test_an_ioc_buy_fills_what_crosses_at_the_levels_prices_and_expires_the_rest(
        paper: PaperExchange) -> None:
    order = await paper.create_order(request("buy", 0.5, P, tif="IOC"))

    assert (order.status, order.filled, order.remaining) == ("expired", 0.3, 0.2)
    assert order.average == P
    assert order.fee_cost == pytest.approx(0.3 * P * 0.001)  # taker
    balances = await paper.fetch_balance()
    assert (balances["ETH"].total, balances["BTC"].used) == (0.3, 0.0)  # nothing rests


async def test_a_fok_buy_that_cannot_fill_whole_expires_empty(paper: PaperExchange) -> None:
    order = await paper.create_order(request("buy", 0.5, P, tif="FOK"))
    whole = await paper.create_order(request("buy", 0.5, ASK2, tif="FOK", cid="c2"))

    assert (order.status, order.filled) == ("expired", 0.0)
    assert (whole.status, whole.filled) == ("closed", 0.5)
    assert whole.average == pytest.approx((0.3 * P + 0.2 * ASK2) / 0.5)


async def test_a_post_only_order_is_rejected_when_it_would_take_and_rests_otherwise(
        paper: PaperExchange) -> None:
    with pytest.raises(OrderRejected, match=r"post-only buy at .* would take"):
        await paper.create_order(request("buy", 0.5, P, tif="PO"))
    below = round(float(CANDLE["low"]) * 0.99, 6)  # the candle never trades this low
    resting = await paper.create_order(request("buy", 0.5, below, tif="PO", cid="c2"))

    assert (resting.status, resting.filled) == ("open", 0.0)


async def test_expired_orders_count_the_same_after_a_restart(
        paper: PaperExchange, source: PinnedBook, database: Database) -> None:
    await paper.create_order(request("buy", 0.5, P, tif="IOC"))
    before = await paper.fetch_balance()
    restarted = PaperExchange(source, ManualClock(START), PaperOrders(database),  # type: ignore[arg-type]
                              wallet=1.0, stake_currency="BTC", fee=0.001, book_fills=True)

    after = await restarted.fetch_balance()
    assert after == before
    assert Decimal(str(after["ETH"].total)) == Decimal("0.3")
