"""Orders of ours that the exchange holds after the bot gave up on them, or that this database
does not know, are adopted by reconciliation: an entry becomes an open trade with the fields
the engine gives one it opens itself, so its stoploss fires; an exit is attached to its trade;
what cannot be adopted safely is reported once and never touched; nothing is adopted twice.

Live engines (real ccxt binance through CcxtExchange) against the fake Binance.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from compose import build_commands
from core.clock import ManualClock
from engine.control.commands import Commands
from engine.events import EntryFilled, LogNotifier, Startup, WarningNotice
from engine.reconcile import reconcile
from store import schema
from store.models import Order, Trade
from store.store import Store
from tests.databases import url_for
from tests.engine.scripted import Scripted
from tests.factories import make_settings
from tests.fakes import FakeExchangeServer, Fault, RecordingSleep

PAIR = "ETH/BTC"
START = datetime(2018, 1, 20, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)
ORDER = "/api/v3/order"
SETTINGS = {
    "dry_run": False, "stake_amount": 0.05, "max_open_trades": 1,
    "exchange": {"name": "binance", "pair_whitelist": [PAIR]},
}  # fmt: skip
KEYS = {"EXCHANGE_API_KEY": "test-key", "EXCHANGE_API_SECRET": "test-secret"}
MARKET = {"entry": "market", "exit": "market", "stoploss": "market",
          "stoploss_on_exchange": False}
# The bot looks a lost create up for 0.5 s (+2 s for the clocks); the fake places it 5 s late,
# inside the 10 s recvWindow ccxt sends.
WINDOW = 0.5
LATE = timedelta(seconds=5)
OURS = "tp" + "0123456789abcdef012345"
MONEY = ("amount", "amount_requested", "open_rate", "stake_amount", "fee_open", "fee_close",
         "stop_loss", "stop_loss_pct", "initial_stop_loss", "initial_stop_loss_pct",
         "strategy", "enter_tag", "timeframe", "is_open")


def engine_on(server: FakeExchangeServer, clock: ManualClock, url: str, notifier: LogNotifier,
              strategy: Scripted) -> Commands:
    settings = make_settings(SETTINGS, KEYS)
    strategy.apply_overrides(settings.strategy_overrides())
    exchange = server.ccxt_exchange(clock, sleep=RecordingSleep(), retries=1, backoff_base=0.1,
                                    execution_window=WINDOW)
    return build_commands(settings, strategy, exchange, clock, notifier,
                          Store(schema.init_db(url)))


def entering() -> Scripted:
    return Scripted(enter={PAIR: [START - STEP]}, stoploss=-0.1, order_types=MARKET)


def notices(notifier: LogNotifier) -> list[str]:
    return [e.text for e in notifier.events if isinstance(e, WarningNotice)]


def money(trade: Trade) -> dict[str, Any]:
    return {name: getattr(trade, name) for name in MONEY}


async def again(commands: Commands) -> str:
    engine = commands.engine
    return await reconcile(engine.trader, commands.store, engine.pairs())


async def trade_opened_by_the_engine(tmp_path: Path) -> dict[str, Any]:
    clock = ManualClock(START)
    async with FakeExchangeServer(clock, balances={"BTC": "1"}) as server:
        commands = engine_on(server, clock, url_for(tmp_path, "plain"),
                             LogNotifier(), entering())
        try:
            await commands.startup()
            await commands.process()
            (trade,) = commands.store.open_trades()
            return money(trade)
        finally:
            await commands.shutdown()
            schema.close_db()


async def test_an_entry_the_exchange_executed_after_the_bot_gave_up_is_adopted_once(
        tmp_path: Path) -> None:
    expected = await trade_opened_by_the_engine(tmp_path)
    clock = ManualClock(START)
    url = url_for(tmp_path, "bot")
    async with FakeExchangeServer(clock, balances={"BTC": "1"}) as server:
        server.late_by = LATE
        server.inject(ORDER, Fault.EXECUTED_LATE, method="POST")
        first_notifier = LogNotifier()
        first = engine_on(server, clock, url, first_notifier, entering())
        try:
            await first.startup()
            await first.process()
            assert first.store.open_trades() == []
            assert any("never reached binance" in text for text in notices(first_notifier))
            assert server.orders(PAIR) == []
        finally:
            await first.shutdown()
            schema.close_db()

        clock.advance(LATE)  # the exchange executes it before it answers the restarted bot
        notifier = LogNotifier()
        commands = engine_on(server, clock, url, notifier, Scripted(stoploss=-0.1))
        try:
            await commands.startup()

            (late,) = server.orders(PAIR)
            assert (late.side, late.status) == ("BUY", "FILLED")
            (trade,) = commands.store.open_trades()
            # Binance's order lookup carries no fee: the coin fee the create's answer reported
            # is booked at the exit (Trader._book_unreported_coin_fee), as for any fill seen
            # only by a lookup.
            assert money(trade) == pytest.approx(expected | {
                "amount": float(late.executed),
                "stake_amount": float(late.executed * late.price)})
            assert trade.open_date == datetime.fromtimestamp(late.time / 1000, UTC)
            (order,) = commands.store.orders_of(trade.id)
            assert (order.client_order_id, order.order_id, order.status) == (
                late.client_order_id, str(late.order_id), "filled")
            assert order.filled == float(late.executed)
            (startup,) = [e for e in notifier.events if isinstance(e, Startup)]
            assert (f"adopted 1 orders of ours found on the exchange: {PAIR} buy "
                    f"{late.client_order_id} -> trade #{trade.id}") in startup.reconciled
            adopted = [t for t in notices(notifier) if "adopted into trade #" in t]
            assert len(adopted) == 1
            assert [type(e) for e in notifier.events].count(EntryFilled) == 1

            assert "adopted" not in await again(commands)
            assert len(Trade.select()) == 1
            assert len(Order.select()) == 1
            assert len([t for t in notices(notifier) if "adopted into" in t]) == 1

            server.set_price(PAIR, float(late.price) * 0.85)
            clock.advance(STEP)
            await commands.process()
            assert [o.side for o in server.orders(PAIR)] == ["BUY", "SELL"]
            assert commands.store.trade(trade.id).exit_reason == "stop_loss"
        finally:
            await commands.shutdown()
            schema.close_db()


async def test_an_exit_the_exchange_executed_after_the_bot_gave_up_closes_its_trade(
        tmp_path: Path) -> None:
    clock = ManualClock(START)
    notifier = LogNotifier()
    async with FakeExchangeServer(clock, balances={"BTC": "1"}) as server:
        commands = engine_on(server, clock, url_for(tmp_path, "bot"), notifier,
                             entering())
        try:
            await commands.startup()
            await commands.process()
            (trade,) = commands.store.open_trades()
            server.late_by = LATE
            server.inject(ORDER, Fault.EXECUTED_LATE, method="POST")
            server.set_price(PAIR, trade.open_rate * 0.85)
            clock.advance(STEP)
            await commands.process()
            (failed,) = [o for o in commands.store.orders_of(trade.id) if not o.is_entry]
            assert failed.status == "failed"
            clock.advance(LATE)
            server.set_price(PAIR, trade.open_rate * 1.5)  # no stop now: no second exit
            await commands.process()
            assert [o.side for o in server.orders(PAIR)] == ["BUY", "SELL"]

            summary = await again(commands)

            assert "adopted 1 orders" in summary
            closed = commands.store.trade(trade.id)
            assert not closed.is_open
            assert closed.exit_reason == "stop_loss"
            exit_row = next(o for o in commands.store.orders_of(trade.id) if not o.is_entry)
            assert exit_row.status == "filled"
            assert "adopted" not in await again(commands)
            assert len(Order.select()) == 2
        finally:
            await commands.shutdown()
            schema.close_db()


def place(server: FakeExchangeServer, side: str, client_id: str, price: float,
          quantity: str = "0.5") -> None:
    server.book.place({"symbol": "ETHBTC", "side": side, "type": "LIMIT", "quantity": quantity,
                       "price": f"{price:.6f}", "newClientOrderId": client_id})


async def test_a_foreign_open_entry_with_our_client_id_becomes_a_trade_and_the_rest_is_told(
        tmp_path: Path) -> None:
    clock = ManualClock(START)
    notifier = LogNotifier()
    url = url_for(tmp_path, "bot")
    async with FakeExchangeServer(clock, balances={"BTC": "1", "ETH": "1"}) as server:
        price = float(server.book.quote(server.book.market("ETHBTC"))[1]) * 0.98
        place(server, "BUY", OURS, price)
        place(server, "SELL", "tp" + "f" * 22, price * 1.2)
        place(server, "BUY", "web_b4d8c0ffee", price * 0.9)
        commands = engine_on(server, clock, url, notifier, Scripted(stoploss=-0.1))
        try:
            await commands.startup()
            (trade,) = commands.store.open_trades()
            (order,) = commands.store.orders_of(trade.id)
            assert (order.client_order_id, order.status) == (OURS, "open")
            assert trade.stop_loss == pytest.approx(price * 0.9, rel=1e-3)
            refused = [t for t in notices(notifier) if "cannot be adopted" in t]
            assert len(refused) == 1
            assert "an exit whose trade this database does not have" in refused[0]
            summary = await again(commands)
            assert "adopted" not in summary
            assert "1 orders of ours left untouched" in summary
            assert "1 open orders on the exchange are not ours" in summary
            assert len([t for t in notices(notifier) if "cannot be adopted" in t]) == 1
            assert len(Trade.select()) == 1

            (resting,) = [o for o in server.orders() if o.client_order_id == OURS]
            server.fill(resting.order_id)
            clock.advance(STEP)
            await commands.process()
            filled = commands.store.trade(trade.id)
            assert filled.amount == 0.5  # the lookup's fill (no fee: booked at the exit)
            assert commands.store.orders_of(trade.id)[0].status == "filled"
            assert sorted(o.status for o in server.orders()) == ["FILLED", "NEW", "NEW"]
        finally:
            await commands.shutdown()
            schema.close_db()


def test_the_order_ids_of_other_tools_are_not_taken_for_ours() -> None:
    from engine.orders import is_ours, new_client_order_id

    assert is_ours(new_client_order_id())
    assert not any(is_ours(cid) for cid in (None, "tp", "tpx" * 8, "web_123", OURS.upper(),
                                            OURS + "0", "x" + OURS[1:]))



async def test_a_failed_order_is_looked_up_for_a_day_then_forgotten(tmp_path: Path) -> None:
    clock = ManualClock(START)
    async with FakeExchangeServer(clock, balances={"BTC": "1"}) as server:
        server.inject(ORDER, Fault.TIMEOUT_BEFORE_RECORD, method="POST")  # never placed
        commands = engine_on(server, clock, url_for(tmp_path, "bot"),
                             LogNotifier(), entering())
        try:
            await commands.startup()
            await commands.process()
            (failed,) = commands.store.unplaced()
            sent = server.requests_to(ORDER, "POST")[0].params["newClientOrderId"]
            assert failed.client_order_id == sent

            def lookups() -> int:
                return sum(r.params.get("origClientOrderId") == sent
                           for r in server.requests_to(ORDER, "GET"))

            before = lookups()
            clock.advance(timedelta(hours=23))
            await again(commands)
            assert lookups() == before + 1
            assert len(commands.store.unplaced()) == 1
            clock.advance(timedelta(hours=2))
            await again(commands)
            assert lookups() == before + 1
            assert commands.store.unplaced() == []
        finally:
            await commands.shutdown()
            schema.close_db()


async def test_start_up_lists_the_open_orders_of_every_pair_in_one_request(
        tmp_path: Path) -> None:
    """Ten pairs, one request: Binance serves all open orders at once (weight 80, where ten
    requests by pair would cost 60 and a hundred 600). It asked one per pair."""
    clock = ManualClock(START)
    notifier = LogNotifier()
    async with FakeExchangeServer(clock, balances={"BTC": "1", "ETH": "1"}) as server:
        price = float(server.book.quote(server.book.market("ETHBTC"))[1]) * 0.98
        place(server, "BUY", OURS, price)
        place(server, "BUY", "web_b4d8c0ffee", price * 0.9)
        settings = make_settings(SETTINGS | {"exchange": {
            "name": "binance", "pair_whitelist": list(server.book.by_pair)}}, KEYS)
        strategy = Scripted(stoploss=-0.1)
        strategy.apply_overrides(settings.strategy_overrides())
        exchange = server.ccxt_exchange(clock, sleep=RecordingSleep(), retries=1)
        commands = build_commands(settings, strategy, exchange, clock, notifier,
                                  Store(schema.init_db(url_for(tmp_path, "b"))))
        try:
            await commands.startup()
            (listing,) = server.requests_to("/api/v3/openOrders")
            assert "symbol" not in listing.params
            (trade,) = commands.store.open_trades()
            assert commands.store.orders_of(trade.id)[0].client_order_id == OURS
            summary = await again(commands)
            assert "1 open orders on the exchange are not ours" in summary
        finally:
            await commands.shutdown()
            schema.close_db()
