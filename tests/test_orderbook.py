"""`self.dp.orderbook` live: the engine fetches the books a strategy reads ahead of its code
(one request per pair and iteration, through the real ccxt binance client against the fake
exchange's /api/v3/depth), a book not fetched ahead is refused and holds the entry back for
one iteration, the offline demo makes books up from its replay, and backtests refuse them."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from core.clock import ManualClock
from engine.control.commands import Commands
from engine.orderbooks import names_orderbook
from engine.strategy import IStrategy
from tests.factories import DATA_START, make_engine
from tests.fakes import FakeExchangeServer, shipped_frames
from tests.ft_support import load

PAIRS = ["LTC/BTC", "XLM/BTC"]
START = datetime(2018, 1, 20, 11, 57, tzinfo=UTC)
DEPTH = "/api/v3/depth"
KEYS = {"EXCHANGE_API_KEY": "test-key", "EXCHANGE_API_SECRET": "test-secret"}


class HiddenReader(IStrategy):
    """Reads the book through a name the engine cannot see in its code, so its first ask is
    one the engine did not fetch ahead."""

    timeframe = "5m"
    stoploss = -0.2
    minimal_roi = {"0": 1.0}  # noqa: RUF012 - Freqtrade's class-attribute style
    startup_candle_count = 10

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        self.answers: list[str] = []

    def populate_indicators(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        dataframe["enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe

    def confirm_trade_entry(self, pair: str, **kwargs: Any) -> bool:
        try:
            book = getattr(self.dp, "order" + "book")(pair, 3)
        except Exception as exc:
            self.answers.append(str(exc))
            raise
        self.answers.append(f"{len(book['bids'])} bids")
        return True


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def server(clock: ManualClock) -> AsyncIterator[FakeExchangeServer]:
    async with FakeExchangeServer(clock, frames=shipped_frames(PAIRS),
                                  client_timeout=5.0) as fake:
        yield fake


async def engine_on(server: FakeExchangeServer, clock: ManualClock,
                    strategy: IStrategy) -> Commands:
    exchange = {"name": "binance", "pair_whitelist": PAIRS, "ccxt_config": server.ccxt_config()}
    made = make_engine(settings_overrides={"dry_run": False, "exchange": exchange},
                       env=KEYS, strategy=strategy, clock=clock)
    await made.startup()
    return made


async def depth_requests(commands: Commands, server: FakeExchangeServer, clock: ManualClock,
                         when: datetime) -> Counter[tuple[str, str]]:
    """The order-book requests of one iteration at `when`, by (symbol, limit)."""
    clock.set(when)
    before = len(server.requests)
    await commands.process()
    return Counter((r.params["symbol"], r.params.get("limit", ""))
                   for r in server.requests[before:] if r.path == DEPTH)


async def test_a_freqtrade_strategy_prices_and_confirms_entries_on_books_fetched_ahead(
    server: FakeExchangeServer, clock: ManualClock
) -> None:
    strategy = load("FtOrderbook")
    strategy.custom_info.clear()
    made = await engine_on(server, clock, strategy)
    try:
        first = await depth_requests(made, server, clock, START)
        # Same candle, two entries resting: the open trades' books, once each.
        second = await depth_requests(made, server, clock, START + timedelta(minutes=1))
    finally:
        await made.shutdown()

    assert first == Counter({("LTCBTC", "100"): 1, ("XLMBTC", "100"): 1})
    assert second == first
    for pair, market in zip(PAIRS, ("LTCBTC", "XLMBTC"), strict=True):
        tick = float(server.book.by_pair[pair].price_tick)
        _, bid, _ = server.book.quote(server.book.market(market))
        (order,) = server.orders(pair)
        # custom_entry_price's answer, one level under the book's best bid: the order's price.
        assert float(order.price) == pytest.approx(float(bid) - tick)
        assert strategy.custom_info[pair] == {"levels": (5, 5), "best_bid": float(bid),
                                              "rate": pytest.approx(float(bid) - tick)}


async def test_an_ask_not_fetched_ahead_is_refused_and_holds_the_entry_back_one_iteration(
    server: FakeExchangeServer, clock: ManualClock
) -> None:
    strategy = HiddenReader()
    made = await engine_on(server, clock, strategy)
    try:
        first = await depth_requests(made, server, clock, START)
        placed_first = len(server.orders())
        second = await depth_requests(made, server, clock, START + timedelta(minutes=1))
    finally:
        await made.shutdown()

    assert first == Counter()
    assert placed_first == 0  # confirm_trade_entry's default (True) was not traded on
    assert strategy.answers[:2] == [
        f"dp.orderbook('{pair}', 3): no 3-level book of {pair} was fetched in this iteration; "
        "it is fetched ahead from the next one on" for pair in PAIRS]
    # Asked once: the strategy uses books, so the candidates' books come ahead of entries.
    assert second == Counter({("LTCBTC", "100"): 1, ("XLMBTC", "100"): 1})
    assert strategy.answers[2:] == ["3 bids", "3 bids"]
    assert sorted(o.market.pair for o in server.orders()) == PAIRS


async def test_a_strategy_without_order_books_sends_no_depth_request(
    server: FakeExchangeServer, clock: ManualClock
) -> None:
    strategy = HiddenReader()
    strategy.confirm_trade_entry = lambda **kwargs: True  # type: ignore[method-assign]
    made = await engine_on(server, clock, strategy)
    try:
        counts = [await depth_requests(made, server, clock, START + timedelta(minutes=m))
                  for m in (0, 1, 5)]
    finally:
        await made.shutdown()
    assert counts == [Counter()] * 3
    assert len(server.orders()) == 2


def test_the_engine_sees_which_strategies_read_order_books() -> None:
    assert names_orderbook(load("FtOrderbook"))
    assert not names_orderbook(HiddenReader())
    assert not names_orderbook(load("FtInterfaceV3"))


async def test_the_offline_demo_answers_with_a_book_made_up_from_its_replay() -> None:
    strategy = load("FtOrderbook")
    strategy.custom_info.clear()
    made = make_engine(settings_overrides={"exchange": {"pair_whitelist": ["ETH/BTC"]}},
                       strategy=strategy, clock=ManualClock(DATA_START))
    await made.startup()
    try:
        await made.process()
        ticker = made.engine.tickers["ETH/BTC"]
        book = strategy.dp.orderbook("ETH/BTC", 3)
    finally:
        await made.shutdown()
    tick = made.engine.exchange.rules("ETH/BTC").price_tick
    assert tick is not None
    eth = shipped_frames(["ETH/BTC"])["ETH/BTC"]
    previous = eth[eth["date"] == pd.Timestamp(DATA_START - timedelta(minutes=5))]
    assert book["symbol"] == "ETH/BTC"
    assert [price for price, _ in book["bids"]] == pytest.approx(
        [ticker.bid, ticker.bid - tick, ticker.bid - 2 * tick])
    assert [price for price, _ in book["asks"]] == pytest.approx(
        [ticker.ask, ticker.ask + tick, ticker.ask + 2 * tick])
    # The demo's book asked for 100 levels: each holds a hundredth of the last closed volume.
    assert book["bids"][0][1] == pytest.approx(float(previous["volume"].iloc[0]) / 100)
    (trade,) = made.store.open_trades()
    assert trade.open_rate == pytest.approx(ticker.bid - tick)
    assert strategy.custom_info["ETH/BTC"]["levels"] == (5, 5)
