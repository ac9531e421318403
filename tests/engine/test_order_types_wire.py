"""Order types, time in force and order-book pricing, live: the engine through the real ccxt
binance client against the fake Binance, whose book a test pins (`set_book`).

The book: bids 0.2 ETH at 0.099 then 5 at 0.0989; asks 0.3 at 0.1 then 5 at 0.1001. A stake of
0.05 BTC priced at the bid buys 0.505 ETH, more than the best ask holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from compose import build_commands
from core.clock import ManualClock
from core.errors import OrderRejected
from engine.control.commands import Commands
from engine.events import EntryCancelled, LogNotifier, WarningNotice
from store import schema
from store.models import Trade
from store.store import Store
from tests.databases import url_for
from tests.engine.scripted import Scripted
from tests.factories import make_engine, make_settings
from tests.fakes import FakeExchangeServer, FakeOrder, RecordingSleep
from venues.ccxt_exchange import CcxtExchange
from venues.exchange import OrderRequest

PAIR, OTHER = "ETH/BTC", "LTC/BTC"
START = datetime(2018, 1, 20, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)
ORDER, DEPTH = "/api/v3/order", "/api/v3/depth"
KEYS = {"EXCHANGE_API_KEY": "test-key", "EXCHANGE_API_SECRET": "test-secret"}
BIDS = [("0.099000", "0.2"), ("0.098900", "5")]
ASKS = [("0.100000", "0.3"), ("0.100100", "5")]
MARKET = {"entry": "market", "exit": "market", "stoploss": "market",
          "stoploss_on_exchange": False}
LIMIT = {**MARKET, "entry": "limit", "exit": "limit", "stoploss": "limit"}
FEE = Decimal("0.001")


def settings(**extra: Any) -> dict[str, Any]:
    return {"dry_run": False, "stake_amount": 0.05, "max_open_trades": 1,
            "exchange": {"name": "binance", "pair_whitelist": [PAIR, OTHER]}, **extra}


@asynccontextmanager
async def live(tmp_path: Path, strategy: Scripted, config: dict[str, Any], *,
               ccxt_options: dict[str, Any] | None = None
               ) -> AsyncIterator[tuple[Commands, FakeExchangeServer, ManualClock, LogNotifier]]:
    clock = ManualClock(START)
    notifier = LogNotifier()
    async with FakeExchangeServer(clock, balances={"BTC": "1"}) as server:
        server.set_book(PAIR, BIDS, ASKS)
        parsed = make_settings(config, KEYS)
        strategy.apply_overrides(parsed.strategy_overrides())
        ccxt_config = server.ccxt_config()
        ccxt_config["options"] |= ccxt_options or {}
        exchange = CcxtExchange("binance", ccxt_config, "test-key", "test-secret", None, clock,
                                sleep=RecordingSleep(), retries=1, backoff_base=0.1)
        commands = build_commands(parsed, strategy, exchange, clock, notifier,
                                  Store(schema.init_db(url_for(tmp_path, "bot"))))
        try:
            await commands.startup()
            yield commands, server, clock, notifier
        finally:
            await commands.shutdown()
            schema.close_db()


def entering(**attrs: Any) -> Scripted:
    return Scripted(enter={PAIR: [START - STEP]}, stoploss=-0.1, **attrs)


def posts(server: FakeExchangeServer) -> list[dict[str, str]]:
    return [dict(r.params) for r in server.requests_to(ORDER, "POST")]


def average(order: FakeOrder) -> Decimal:
    return order.quote_qty / order.executed


def notices(notifier: LogNotifier) -> list[str]:
    return [e.text for e in notifier.events if isinstance(e, WarningNotice)]


class ExitPriceOfItsOwn(Scripted):
    asked = 0

    def custom_exit_price(self, pair: str, trade: Any, current_time: datetime,
                          proposed_rate: float, current_profit: float, exit_tag: str | None,
                          **kwargs: Any) -> float:
        self.asked += 1
        return proposed_rate * 0.99


async def test_market_entry_and_exit_take_from_the_book_at_once_and_pay_the_taker_fee(
        tmp_path: Path) -> None:
    strategy = ExitPriceOfItsOwn(enter={PAIR: [START - STEP]}, exit_={PAIR: [START]},
                                 stoploss=-0.1, order_types=MARKET)
    async with live(tmp_path, strategy, settings()) as (commands, server, clock, _):
        await commands.process()
        (buy,) = server.orders(PAIR)
        (trade,) = commands.store.open_trades()
        clock.advance(STEP)
        await commands.process()
        buy, sell = server.orders(PAIR)
        closed = commands.store.trade(trade.id)
        wallet = server.book.free
        exit_row = commands.store.orders_of(trade.id)[-1]

    # No price is sent with a market order: the exchange fills it, here on two levels each.
    entry_post, exit_post = posts(server)
    assert (entry_post["type"], entry_post["quantity"]) == ("MARKET", "0.505")
    assert "price" not in entry_post
    assert "timeInForce" not in entry_post
    assert (exit_post["type"], "price" in exit_post) == ("MARKET", False)
    # A market exit's price is not the strategy's to set (Freqtrade asks custom_exit_price
    # for limit exits only): the row records the exit price, the best ask ("same").
    assert (strategy.asked, exit_row.ft_price) == (0, 0.1)
    assert [f["price"] for f in buy.fills] == ["0.100000", "0.100100"]
    assert [f["price"] for f in sell.fills] == ["0.099000", "0.098900"]
    assert closed is not None
    assert not closed.is_open
    assert closed.exit_reason == "exit_signal"
    # The open rate is the fills' average on the price tick (0.000001), as Freqtrade keeps it.
    assert closed.open_rate == pytest.approx(round(float(average(buy)), 6), rel=1e-12)
    assert closed.close_rate == pytest.approx(float(average(sell)), rel=1e-12)
    # The entry fee was taken in ETH, so the exit sells what arrived; the exit's in BTC.
    assert sell.executed == Decimal("0.504")  # 0.505 less the 0.000505 fee, on the 0.001 step
    assert closed.fee_close == pytest.approx(float(FEE), rel=1e-9)
    assert wallet["BTC"] == 1 - buy.quote_qty + sell.quote_qty * (1 - FEE)


async def test_a_market_buy_is_sized_by_its_quote_where_the_exchange_needs_it(
        tmp_path: Path) -> None:
    async with live(tmp_path, entering(order_types=MARKET), settings(),
                    ccxt_options={"createMarketBuyOrderRequiresPrice": True}
                    ) as (commands, server, _, _):
        await commands.process()
        (buy,) = server.orders(PAIR)
        (trade,) = commands.store.open_trades()

    (post,) = posts(server)
    # 0.505 ETH at the 0.099 bid the entry was priced at: 0.049995 BTC to spend.
    assert (post["quoteOrderQty"], "quantity" in post) == ("0.049995", False)
    assert buy.executed == Decimal("0.499")  # 0.03 BTC at 0.1, then 0.199 ETH at 0.1001
    assert trade.amount == pytest.approx(0.499 * (1 - 0.001), rel=1e-12)


class TellsTimeInForce(Scripted):
    told: tuple[str, ...] = ()

    def confirm_trade_entry(self, pair: str, order_type: str, amount: float, rate: float,
                            time_in_force: str, current_time: datetime, entry_tag: str | None,
                            side: str, **kwargs: Any) -> bool:
        self.told = (*self.told, time_in_force)
        return True


async def test_an_ioc_entry_keeps_what_crossed_and_the_exchange_expires_the_rest(
        tmp_path: Path) -> None:
    config = settings(order_time_in_force={"entry": "IOC", "exit": "GTC"},
                      entry_pricing={"price_side": "other"})
    strategy = TellsTimeInForce(enter={PAIR: [START - STEP]}, stoploss=-0.1, order_types=LIMIT)
    async with live(tmp_path, strategy, config) as (
            commands, server, _, notifier):
        await commands.process()
        (buy,) = server.orders(PAIR)
        (trade,) = commands.store.open_trades()
        (order,) = commands.store.orders_of(trade.id)

    (post,) = posts(server)
    assert (post["type"], post["timeInForce"], post["price"]) == ("LIMIT", "IOC", "0.1")
    assert (buy.status, buy.executed, buy.quantity) == ("EXPIRED", Decimal("0.3"),
                                                        Decimal("0.5"))
    assert (order.status, order.filled) == ("canceled", 0.3)
    assert trade.amount == pytest.approx(0.3 * (1 - 0.001), rel=1e-12)
    assert [e.partial for e in notifier.events if isinstance(e, EntryCancelled)] == [True]
    assert strategy.told == ("IOC",)


async def test_dry_run_fills_an_ioc_entry_from_the_exchanges_book_as_live_does(
        tmp_path: Path) -> None:
    clock = ManualClock(START)
    async with FakeExchangeServer(clock, balances={"BTC": "1"}) as server:
        server.set_book(PAIR, BIDS, ASKS)
        config = {**settings(order_time_in_force={"entry": "IOC", "exit": "GTC"},
                             entry_pricing={"price_side": "other"}),
                  "dry_run": True, "dry_run_wallet": 1, "stake_currency": "BTC"}
        config["exchange"] = {**config["exchange"], "ccxt_config": server.ccxt_config()}
        commands = make_engine(tmp_path, settings_overrides=config, clock=clock,
                               strategy=entering(order_types=LIMIT))
        try:
            await commands.startup()
            await commands.process()
            (trade,) = commands.store.open_trades()
            (order,) = commands.store.orders_of(trade.id)
        finally:
            await commands.shutdown()
            schema.close_db()

    assert server.count(ORDER, "POST") == 0  # paper trading
    assert [r.params["limit"] for r in server.requests_to(DEPTH)] == ["20"]
    assert (order.status, order.filled, order.average) == ("canceled", 0.3, 0.1)
    assert trade.amount == 0.3  # the paper fee is paid in BTC


async def test_a_fok_entry_that_cannot_fill_whole_expires_and_leaves_no_trade(
        tmp_path: Path) -> None:
    config = settings(order_time_in_force={"entry": "FOK", "exit": "GTC"},
                      entry_pricing={"price_side": "other"})
    async with live(tmp_path, entering(order_types=LIMIT), config) as (
            commands, server, _, notifier):
        await commands.process()
        (buy,) = server.orders(PAIR)
        trades = list(Trade.select())

    assert posts(server)[0]["timeInForce"] == "FOK"
    assert (buy.status, buy.executed) == ("EXPIRED", Decimal(0))
    assert trades == []
    assert [e.partial for e in notifier.events if isinstance(e, EntryCancelled)] == [False]
    assert server.book.free["BTC"] == 1


@pytest.mark.parametrize(("price_side", "placed"), [("other", False), ("same", True)])
async def test_a_post_only_entry_is_refused_when_it_would_take_and_rests_when_not(
        tmp_path: Path, price_side: str, placed: bool) -> None:
    config = settings(order_time_in_force={"entry": "PO", "exit": "GTC"},
                      entry_pricing={"price_side": price_side})
    async with live(tmp_path, entering(order_types=LIMIT), config) as (
            commands, server, _, notifier):
        await commands.process()
        resting = server.orders(PAIR)
        trades = commands.store.open_trades()

    (post,) = posts(server)
    assert post["type"] == "LIMIT_MAKER"  # ccxt's postOnly on Binance spot
    if placed:
        assert [(o.order_type, o.status, o.price) for o in resting] == [
            ("LIMIT_MAKER", "NEW", Decimal("0.099"))]
        assert len(trades) == 1
    else:
        assert resting == []
        assert trades == []
        assert any("would immediately match and take" in t for t in notices(notifier))


async def test_an_exit_that_timed_out_exit_timeout_count_times_is_followed_by_an_emergency_exit(
        tmp_path: Path) -> None:
    strategy = entering(order_types={**LIMIT, "entry": "market"},
                        unfilledtimeout={"entry": 10, "exit": 1, "unit": "minutes",
                                         "exit_timeout_count": 2})
    async with live(tmp_path, strategy, settings()) as (commands, server, clock, notifier):
        await commands.process()
        (trade,) = commands.store.open_trades()
        server.set_book(PAIR, [("0.080000", "1"), ("0.079900", "5")],
                        [("0.081000", "1"), ("0.081100", "5")])  # below the stop
        for _ in range(3):
            clock.advance(STEP)
            await commands.process()
        closed = commands.store.trade(trade.id)
        orders = server.orders(PAIR)

    assert [(o.side, o.order_type, o.status) for o in orders] == [
        ("BUY", "MARKET", "FILLED"), ("SELL", "LIMIT", "CANCELED"),
        ("SELL", "LIMIT", "CANCELED"), ("SELL", "MARKET", "FILLED")]
    assert closed is not None
    assert not closed.is_open
    assert closed.exit_reason == "emergency_exit"
    assert any("timed out 2 times; emergency exit (market order)" in t
               for t in notices(notifier))


async def test_entry_and_exit_are_priced_from_the_book_fetched_only_for_the_pair_needing_it(
        tmp_path: Path) -> None:
    strategy = Scripted(enter={PAIR: [START - STEP]}, exit_={PAIR: [START + STEP]},
                        stoploss=-0.5, order_types=LIMIT)
    config = settings(entry_pricing={"use_order_book": True, "order_book_top": 2},
                      exit_pricing={"use_order_book": True, "price_side": "same"})
    async with live(tmp_path, strategy, config) as (commands, server, clock, _):
        await commands.process()
        entry_depths = [r.params["symbol"] for r in server.requests_to(DEPTH)]
        (buy,) = server.orders(PAIR)
        server.fill(buy.order_id)
        clock.advance(STEP)
        await commands.process()  # the entry fill is seen; no exit signal yet
        clock.advance(STEP)
        await commands.process()
        buy, sell = server.orders(PAIR)

    assert entry_depths == ["ETHBTC"]  # LTC/BTC had no signal: no book asked
    assert buy.price == Decimal("0.0989")  # the 2nd bid
    assert sell.price == Decimal("0.1")  # the best ask: a long exit's "same" side
    assert {r.params["symbol"] for r in server.requests_to(DEPTH)} == {"ETHBTC"}


async def test_no_book_is_asked_for_while_pricing_reads_the_ticker_and_its_last_balance(
        tmp_path: Path) -> None:
    config = settings(entry_pricing={"price_side": "other", "price_last_balance": 0.5})
    async with live(tmp_path, entering(order_types=LIMIT), config) as (commands, server, _, _):
        await commands.process()
        (buy,) = server.orders(PAIR)

    assert server.count(DEPTH) == 0
    assert buy.price == Decimal("0.0995")  # the ask, half way to the last price (the bid)


@pytest.mark.parametrize(("bids_volume", "enters"), [("5", False), ("6", True)])
async def test_the_depth_of_market_check_holds_an_entry_back_until_bids_outweigh_asks(
        tmp_path: Path, bids_volume: str, enters: bool) -> None:
    config = settings(entry_pricing={"check_depth_of_market": {"enabled": True,
                                                               "bids_to_ask_delta": 1.0}})
    async with live(tmp_path, entering(order_types=LIMIT), config) as (commands, server, _, _):
        server.set_book(PAIR, [("0.099000", "0.2"), ("0.098900", bids_volume)], ASKS)
        await commands.process()
        depth_limits = [r.params["limit"] for r in server.requests_to(DEPTH)]
        trades = commands.store.open_trades()

    assert depth_limits == ["1000"]  # Freqtrade's depth for this check
    assert len(trades) == (1 if enters else 0)


async def test_a_time_in_force_the_exchange_lacks_is_refused_before_anything_is_sent() -> None:
    clock = ManualClock(START)
    async with FakeExchangeServer(clock, balances={"BTC": "1"}) as server:
        config = server.ccxt_config() | {
            "features": {"spot": {"createOrder": {"timeInForce": {"FOK": False}}}}}
        exchange = CcxtExchange("binance", config, "test-key", "test-secret", None, clock,
                                sleep=RecordingSleep(), retries=1)
        try:
            await exchange.load_markets()
            with pytest.raises(OrderRejected, match="binance takes no FOK orders"):
                await exchange.create_order(OrderRequest(PAIR, "buy", "limit", 0.5, 0.099,
                                                         "tp-1", time_in_force="FOK"))
        finally:
            await exchange.close()

    assert server.count(ORDER, "POST") == 0
