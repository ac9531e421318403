"""entry_pricing / exit_pricing as Freqtrade computes them (exchange.get_rate,
_get_rate_from_ticker, _get_rate_from_ob, freqtradebot._check_depth_of_market), checked
against a separate statement of its formulas; and which books the engine asks for."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backtest.run import backtest_settings
from engine.config import parse_config
from engine.orderbooks import OrderBooks
from engine.pricing import (
    DEPTH_OF_MARKET_LEVELS,
    Pricer,
    depth_of_market_ok,
    price_side,
    rate_from_book,
    rate_from_ticker,
)
from engine.settings import Pricing, TimeInForce
from engine.strategy import LogOnce
from venues.exchange import OrderBook, Ticker

NOW = datetime(2018, 1, 11, tzinfo=UTC)
SIDES = ("same", "other", "bid", "ask")

prices = st.floats(min_value=1e-8, max_value=1e6, allow_nan=False)
balances = st.floats(min_value=0.0, max_value=1.0)
levels = st.lists(st.tuples(prices, st.floats(min_value=0.0, max_value=1e6)), max_size=30)


def freqtrade_rate(side: str, setting: str, bid: float, ask: float, last: float,
                   balance: float) -> float:
    """Freqtrade's ticker rate, written from its documentation's wording: a long entry at
    "same" is the bid, "other" the ask; a long exit at "same" the ask, "other" the bid; an
    entry price above last is pulled `balance` of the way down to last, an exit price below
    last `balance` of the way up."""
    table = {("entry", "same"): bid, ("entry", "other"): ask, ("exit", "same"): ask,
             ("exit", "other"): bid, ("entry", "bid"): bid, ("entry", "ask"): ask,
             ("exit", "bid"): bid, ("exit", "ask"): ask}
    chosen = table[(side, setting)]
    if side == "entry" and chosen > last:
        return (1 - balance) * chosen + balance * last
    if side == "exit" and chosen < last:
        return (1 - balance) * chosen + balance * last
    return chosen


def ticker(bid: float, ask: float, last: float) -> Ticker:
    return Ticker("ETH/BTC", NOW, bid, ask, last, last, last, last)


@given(side=st.sampled_from(("entry", "exit")), setting=st.sampled_from(SIDES), bid=prices,
       ask=prices, last=prices, balance=balances)
def test_the_ticker_rate_is_freqtrades(side: str, setting: str, bid: float, ask: float,
                                       last: float, balance: float) -> None:
    pricing = Pricing(price_side=setting, price_last_balance=balance)  # type: ignore[arg-type]
    rate = rate_from_ticker(side, ticker(bid, ask, last), pricing)  # type: ignore[arg-type]
    expected = freqtrade_rate(side, setting, bid, ask, last, balance)
    assert rate == pytest.approx(expected, rel=1e-9, abs=1e-12 * max(bid, ask, last))


@given(side=st.sampled_from(("entry", "exit")), setting=st.sampled_from(SIDES),
       bids=levels, asks=levels, top=st.integers(1, 40), balance=balances)
def test_the_book_rate_is_the_top_th_level_of_the_side_without_the_last_balance(
        side: str, setting: str, bids: list, asks: list, top: int, balance: float) -> None:
    book = OrderBook("ETH/BTC", tuple(bids), tuple(asks))
    pricing = Pricing(price_side=setting, use_order_book=True,  # type: ignore[arg-type]
                      order_book_top=top, price_last_balance=balance)
    resting_is_bid = side == "entry"
    uses_bids = setting == "bid" or (setting == "same" and resting_is_bid) or (
        setting == "other" and not resting_is_bid)
    chosen = bids if uses_bids else asks
    expected = chosen[top - 1][0] if top <= len(chosen) else None
    assert rate_from_book(side, book, pricing) == expected  # type: ignore[arg-type]


@given(bids=levels, asks=levels, delta=st.floats(min_value=0.0, max_value=10.0))
def test_the_depth_of_market_check_compares_the_bid_volume_to_the_ask_volume(
        bids: list, asks: list, delta: float) -> None:
    book = OrderBook("ETH/BTC", tuple(bids), tuple(asks))
    total_bids, total_asks = sum(a for _, a in bids), sum(a for _, a in asks)
    # numpy's x / 0 is inf (passes) and 0 / 0 nan (fails), as in Freqtrade.
    expected = total_bids > 0 if total_asks == 0 else total_bids / total_asks >= delta
    assert depth_of_market_ok(book, delta) is expected


def test_the_side_mapping_for_a_long_entry_and_exit() -> None:
    assert [price_side("entry", s) for s in SIDES] == ["bid", "ask", "bid", "ask"]
    assert [price_side("exit", s) for s in SIDES] == ["ask", "bid", "bid", "ask"]


class CountingBooks:
    """A book source that records the requests and how many ran at once."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, int]] = []
        self.running = 0
        self.most = 0

    async def fetch_order_book(self, pair: str, limit: int) -> OrderBook:
        self.asked.append((pair, limit))
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(0.01)
        self.running -= 1
        return OrderBook(pair, ((1.0, 5.0), (0.9, 5.0)), ((1.1, 1.0), (1.2, 1.0)))


class NoBooks:
    """A strategy that never reads dp.orderbook."""


def pricer_on(source: CountingBooks, entry: Pricing, exit: Pricing, *, trading: bool = True
              ) -> tuple[Pricer, OrderBooks]:
    books = OrderBooks(source)
    books.use(NoBooks(), trading=trading)  # type: ignore[arg-type]
    pricer = Pricer(books, LogOnce(logging.getLogger("test")))
    pricer.use(entry, exit, trading=trading)
    return pricer, books


async def test_books_are_fetched_only_for_pairs_that_need_a_price_now_and_concurrently(
        ) -> None:
    source = CountingBooks()
    pricer, books = pricer_on(source, Pricing(use_order_book=True, order_book_top=2),
                              Pricing(use_order_book=True))
    exits_asked: list[bool] = []

    def exits() -> list[str]:
        exits_asked.append(True)
        return ["LTC/BTC"]

    await books.fetch([], pricer.books_wanted(["ETH/BTC", "XLM/BTC"], exits))

    assert sorted(pair for pair, _ in source.asked) == ["ETH/BTC", "LTC/BTC", "XLM/BTC"]
    assert source.most == 3  # one gather, not one request after the other
    assert pricer.entry_rate("ETH/BTC", ticker(5, 6, 5)) == 0.9  # the 2nd bid
    assert pricer.exit_rate("LTC/BTC", ticker(5, 6, 5)) == 1.1  # the best ask ("same")


async def test_no_book_is_fetched_when_pricing_reads_the_ticker() -> None:
    source = CountingBooks()
    pricer, books = pricer_on(source, Pricing(), Pricing(price_side="other"))

    def exits() -> list[str]:
        raise AssertionError("the open trades are not even listed")

    await books.fetch([], pricer.books_wanted(["ETH/BTC"], exits))

    assert source.asked == []
    assert pricer.entry_rate("ETH/BTC", ticker(5, 6, 5.5)) == 5
    assert pricer.exit_rate("ETH/BTC", ticker(5, 6, 5.5)) == 5


async def test_the_depth_check_reads_freqtrades_1000_levels_and_holds_entries_back() -> None:
    source = CountingBooks()
    holding_back = Pricing(check_depth_of_market=True, bids_to_ask_delta=6.0)
    pricer, books = pricer_on(source, holding_back, Pricing())
    await books.fetch([], pricer.books_wanted(["ETH/BTC"], list))
    assert source.asked == [("ETH/BTC", DEPTH_OF_MARKET_LEVELS)]
    assert pricer.depth_allows("ETH/BTC") is False  # 10 bid coins / 2 ask coins = 5 < 6
    assert pricer.depth_allows("LTC/BTC") is False  # no book: no entry

    letting_in = Pricing(check_depth_of_market=True, bids_to_ask_delta=5.0)
    pricer.use(letting_in, Pricing(), trading=True)
    assert pricer.depth_allows("ETH/BTC") is True


async def test_an_entry_without_its_book_has_no_price_and_an_exit_falls_back_to_the_ticker(
        ) -> None:
    pricer, _ = pricer_on(CountingBooks(), Pricing(use_order_book=True),
                          Pricing(use_order_book=True))
    assert pricer.entry_rate("ETH/BTC", ticker(5, 6, 5)) is None
    assert pricer.exit_rate("ETH/BTC", ticker(5, 6, 5)) == 6


async def test_backtests_read_no_books_and_price_from_the_candle() -> None:
    source = CountingBooks()
    pricer, books = pricer_on(source, Pricing(use_order_book=True, check_depth_of_market=True,
                                              bids_to_ask_delta=100),
                              Pricing(use_order_book=True), trading=False)
    await books.fetch([], pricer.books_wanted(["ETH/BTC"], lambda: ["ETH/BTC"]))
    candle = Ticker("ETH/BTC", NOW, 5, 5, 5, 5, 7, 4)
    assert source.asked == []
    assert pricer.entry_rate("ETH/BTC", candle) == 5
    assert pricer.depth_allows("ETH/BTC") is True
    assert pricer.exit_ticker("ETH/BTC", candle) is candle  # the candle's range stays


def test_a_live_exit_is_tested_at_the_exit_price_as_a_point() -> None:
    pricer, _ = pricer_on(CountingBooks(), Pricing(), Pricing())
    point = pricer.exit_ticker("ETH/BTC", ticker(5, 6, 5.5))
    assert (point.open, point.high, point.low, point.last) == (6, 6, 6, 6)


def test_order_time_in_force_is_parsed_and_backtests_run_good_till_cancelled() -> None:
    settings = parse_config({"order_time_in_force": {"entry": "ioc", "exit": "PO"}}, {})
    assert settings.order_time_in_force == TimeInForce(entry="IOC", exit="PO")
    assert settings.strategy_overrides()["order_time_in_force"] == TimeInForce("IOC", "PO")
    assert backtest_settings(settings).order_time_in_force == TimeInForce()


def test_check_depth_of_market_is_parsed_for_entries() -> None:
    settings = parse_config({"entry_pricing": {"check_depth_of_market": {
        "enabled": True, "bids_to_ask_delta": 1.5}}}, {})
    assert settings.entry_pricing == Pricing(check_depth_of_market=True, bids_to_ask_delta=1.5)
