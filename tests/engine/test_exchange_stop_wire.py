"""Stoploss on the exchange, live through the real ccxt binance client against the fake
Binance: the stop order rests there from the entry on, is what sells, survives the bot's
absence, is cancelled before any other exit, and is placed again when the exchange drops it."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.clock import ManualClock
from engine.control.commands import Commands
from engine.events import LogNotifier, WarningNotice
from handlers.format import rate, strip_tags
from handlers.format_trades import status_text
from store.models import Order, Trade
from tests.engine.crash_plan import FIVE, PAIR, START, WIRE_ENV, wire_settings
from tests.engine.scripted import Scripted
from tests.factories import make_engine, run_for
from tests.fakes import FakeExchangeServer, FakeOrder, shipped_frames
from tests.fakes.binance_book import BinanceError

logger = logging.getLogger(__name__)
ORDER = "/api/v3/order"
SIGNAL_AT = datetime(2018, 1, 11, 6, 0, tzinfo=UTC)
ENTERED_AT = SIGNAL_AT + FIVE
ON_EXCHANGE = {"entry": "market", "exit": "market", "stoploss": "limit",
               "stoploss_on_exchange": True, "stoploss_on_exchange_interval": 60,
               "stoploss_on_exchange_limit_ratio": 0.99}


def strategy(**attrs: Any) -> Scripted:
    return Scripted(enter={PAIR: [SIGNAL_AT]}, stoploss=-0.05, order_types=ON_EXCHANGE,
                    **attrs)


def engine(tmp_path: Path, server: FakeExchangeServer, clock: ManualClock,
           notifier: LogNotifier | None = None, **attrs: Any) -> Commands:
    return make_engine(tmp_path, settings_overrides=wire_settings(server.ccxt_config()),
                       strategy=strategy(**attrs), clock=clock, env=WIRE_ENV,
                       notifier=notifier)


def stops(server: FakeExchangeServer) -> list[FakeOrder]:
    return [o for o in server.orders(PAIR) if o.order_type == "STOP_LOSS_LIMIT"]


def resting(server: FakeExchangeServer) -> FakeOrder:
    (stop,) = [o for o in stops(server) if o.is_open]
    return stop


def stop_rows() -> list[Order]:
    return list(Order.select().where(Order.ft_order_side == "stoploss").order_by(Order.id))


async def entered(tmp_path: Path, server: FakeExchangeServer, clock: ManualClock,
                  notifier: LogNotifier | None = None, **attrs: Any) -> Commands:
    commands = engine(tmp_path, server, clock, notifier, **attrs)
    await commands.startup()
    await run_for(commands, clock, (ENTERED_AT - START) // FIVE)
    return commands


@pytest.fixture
async def server() -> Any:
    async with FakeExchangeServer(ManualClock(START), balances={"BTC": 1},
                                  frames=shipped_frames([PAIR])) as fake:
        yield fake


@pytest.fixture
def clock(server: FakeExchangeServer) -> ManualClock:
    assert isinstance(server.book.clock, ManualClock)
    return server.book.clock


async def test_a_full_trade_rests_its_stop_on_the_exchange_and_the_stop_sells(
        tmp_path: Path, server: FakeExchangeServer, clock: ManualClock) -> None:
    commands = await entered(tmp_path, server, clock)
    (trade,) = Trade.select()
    stop = resting(server)
    # Placed in the iteration the entry filled: the trade's stop, limit 1% below, all it holds.
    assert (stop.side, stop.time) == ("SELL", int(ENTERED_AT.timestamp() * 1000))
    assert float(stop.stop_price) == pytest.approx(trade.stop_loss)
    assert float(stop.price) == pytest.approx(round(trade.stop_loss * 0.99, 6))
    assert float(stop.quantity) == pytest.approx(trade.amount, abs=0.001)
    assert server.book.locked["ETH"] == stop.quantity  # the coins are held for it
    (row,) = stop_rows()
    assert (row.order_id, row.status, row.stop_price) == (str(stop.order_id), "open",
                                                          trade.stop_loss)
    await run_for(commands, clock, 3)
    assert resting(server).order_id == stop.order_id  # not moved: the stop did not move
    shown = strip_tags(status_text(commands.status(), clock.now()))
    assert (f"Stoploss on exchange: order {stop.order_id}, stop {rate(float(stop.stop_price))}, "
            f"limit {rate(float(stop.price))}, open") in shown
    assert f"Pair: {PAIR}\n" in shown
    assert "Open Exit Order" not in shown

    server.set_price(PAIR, float(stop.stop_price) * 0.995)  # the market falls through it
    await run_for(commands, clock, 1)
    trade = Trade.get_by_id(trade.id)
    assert (trade.is_open, trade.exit_reason) == (False, "stoploss_on_exchange")
    assert trade.close_rate == pytest.approx(float(stop.price))
    assert [o.side for o in server.orders(PAIR)] == ["BUY", "SELL"]  # no sell of the bot's
    await commands.shutdown()


async def test_a_stop_filled_while_the_bot_was_down_closes_the_trade_at_restart(
        tmp_path: Path, server: FakeExchangeServer, clock: ManualClock) -> None:
    commands = await entered(tmp_path, server, clock)
    await commands.shutdown()
    stop = resting(server)
    clock.advance(FIVE * 6)
    server.set_price(PAIR, float(stop.stop_price) * 0.99)  # fills it while nobody watches
    assert not stop.is_open

    notifier = LogNotifier()
    restarted = engine(tmp_path, server, clock, notifier)
    began = time.perf_counter()
    await restarted.startup()
    found_in = time.perf_counter() - began
    (trade,) = Trade.select()
    assert (trade.is_open, trade.exit_reason) == (False, "stoploss_on_exchange")
    assert trade.close_rate == pytest.approx(float(stop.price))
    assert [type(e).__name__ for e in notifier.events].count("ExitFilled") == 1
    # The figure for the note: start-up to the trade closed by the stop's fill.
    logger.warning("restart found the stop filled while down in %.3f s", found_in)
    assert found_in < 5
    await restarted.shutdown()


async def test_an_exit_signal_cancels_the_stop_first_then_sells(
        tmp_path: Path, server: FakeExchangeServer, clock: ManualClock) -> None:
    exit_at = SIGNAL_AT + 12 * FIVE
    commands = await entered(tmp_path, server, clock, exit_at={PAIR: [exit_at]})
    stop = resting(server)
    await run_for(commands, clock, 13)

    (trade,) = Trade.select()
    assert (trade.is_open, trade.exit_reason) == (False, "exit_signal")
    assert stop.status == "CANCELED"
    calls = [(r.method, r.params.get("side"), r.params.get("orderId"))
             for r in server.requests_to(ORDER) if r.method in ("POST", "DELETE")]
    assert calls[-2:] == [("DELETE", None, str(stop.order_id)), ("POST", "SELL", None)]
    assert stop_rows()[-1].ft_cancel_reason == "cancelled before another exit"
    assert not [o for o in server.orders(PAIR) if o.is_open]
    await commands.shutdown()


class FillsOnCancel(FakeExchangeServer):
    """The stop fills just before the exchange reads our cancel."""

    def _cancel(self, params: Mapping[str, str]) -> Any:
        order = self.book.find(params)
        if order.order_type == "STOP_LOSS_LIMIT" and order.is_open:
            self.book.fill(order.order_id, taker=True)
            raise BinanceError(-2011, "Unknown order sent.")
        return super()._cancel(params)


async def test_an_exit_whose_cancel_finds_the_stop_filled_closes_the_trade_by_the_stop(
        tmp_path: Path) -> None:
    clock = ManualClock(START)
    async with FillsOnCancel(clock, balances={"BTC": 1}, frames=shipped_frames([PAIR])) as fake:
        commands = await entered(tmp_path, fake, clock, exit_at={PAIR: [SIGNAL_AT + 2 * FIVE]})
        await run_for(commands, clock, 3)
        (trade,) = Trade.select()
        assert (trade.is_open, trade.exit_reason) == (False, "stoploss_on_exchange")
        assert [(o.side, o.status) for o in fake.orders(PAIR)] == [("BUY", "FILLED"),
                                                                    ("SELL", "FILLED")]
        await commands.shutdown()


async def test_a_stop_the_exchange_cancelled_is_placed_again_and_the_owner_told_once(
        tmp_path: Path, server: FakeExchangeServer, clock: ManualClock) -> None:
    notifier = LogNotifier()
    commands = await entered(tmp_path, server, clock, notifier)
    first = resting(server)
    server.expire(first.order_id)
    await run_for(commands, clock, 3)

    second = resting(server)
    assert second.order_id != first.order_id
    assert second.stop_price == first.stop_price
    assert [r.status for r in stop_rows()] == ["canceled", "open"]
    told = [e.text for e in notifier.events
            if isinstance(e, WarningNotice) and "cancelled the stop order" in e.text]
    assert told == [f"Trade #1 {PAIR}: the exchange cancelled the stop order "
                    f"{first.order_id} (stop {float(first.stop_price):.8g}); placing it again."]
    await commands.shutdown()


async def test_a_restart_keeps_the_resting_stop_it_knows_and_places_no_second_one(
        tmp_path: Path, server: FakeExchangeServer, clock: ManualClock) -> None:
    commands = await entered(tmp_path, server, clock)
    await commands.shutdown()
    stop = resting(server)

    restarted = engine(tmp_path, server, clock)
    await restarted.startup()
    await run_for(restarted, clock, 3)
    assert [o.order_id for o in stops(server)] == [stop.order_id]
    assert [(r.order_id, r.status) for r in stop_rows()] == [(str(stop.order_id), "open")]
    await restarted.shutdown()


async def test_a_stop_of_ours_unknown_to_the_database_is_adopted_as_the_trades_stop(
        tmp_path: Path, server: FakeExchangeServer, clock: ManualClock) -> None:
    commands = await entered(tmp_path, server, clock)
    await commands.shutdown()
    stop = resting(server)
    Order.delete().where(Order.ft_order_side == "stoploss").execute()  # an older backup

    notifier = LogNotifier()
    restarted = engine(tmp_path, server, clock, notifier)
    await restarted.startup()
    await run_for(restarted, clock, 3)
    assert [o.order_id for o in stops(server)] == [stop.order_id]  # adopted, not doubled
    (row,) = stop_rows()
    (trade,) = Trade.select()
    assert (row.trade_id, row.client_order_id, row.status) == (trade.id, stop.client_order_id,
                                                               "open")
    assert row.stop_price == float(stop.stop_price)
    assert any(isinstance(e, WarningNotice) and "adopted into trade #1" in e.text
               for e in notifier.events)

    server.set_price(PAIR, float(stop.stop_price) * 0.99)
    await run_for(restarted, clock, 1)
    trade = Trade.get_by_id(trade.id)
    assert (trade.is_open, trade.exit_reason) == (False, "stoploss_on_exchange")
    await restarted.shutdown()


async def test_a_shutdown_that_cancels_open_orders_leaves_the_stop_protecting_the_trade(
        tmp_path: Path, server: FakeExchangeServer, clock: ManualClock) -> None:
    commands = make_engine(tmp_path, settings_overrides={
        **wire_settings(server.ccxt_config()), "cancel_open_orders_on_exit": True},
        strategy=strategy(), clock=clock, env=WIRE_ENV)
    await commands.startup()
    await run_for(commands, clock, (ENTERED_AT - START) // FIVE)
    stop = resting(server)
    await commands.shutdown()
    assert stop.is_open
