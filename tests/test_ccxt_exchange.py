"""The live adapter with the REAL ccxt binance class against the local fake Binance."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import ccxt
import pandas as pd
import pytest

from core.clock import ManualClock
from core.errors import (
    ConfigError,
    ExchangeError,
    FatalExchangeError,
    InsufficientFunds,
    OrderNotFound,
    OrderNotPlaced,
    OrderRejected,
    OrderStateUnknown,
    TemporaryError,
)
from marketdata.candles import CANDLE_COLUMNS
from tests.fakes import FakeExchangeServer, Fault, MarketSpec, RecordingSleep, parity_markets
from venues.ccxt_exchange import CcxtExchange
from venues.exchange import OrderRequest, classify

START = datetime(2018, 1, 20, 12, 2, tzinfo=UTC)
ORDER = "/api/v3/order"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def server(clock: ManualClock) -> AsyncIterator[FakeExchangeServer]:
    markets = [
        *parity_markets(),
        MarketSpec("BCC/BTC", "0.01", "0.000001", "0.01", "0.0001", active=False),
        MarketSpec("ETH/USDT", "0.0001", "0.01", "0.0001", "5"),
    ]
    async with FakeExchangeServer(clock, markets=markets, balances={"BTC": 1}) as fake:
        yield fake


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def exchange(server: FakeExchangeServer, sleep: RecordingSleep) -> CcxtExchange:
    exchange = server.ccxt_exchange(sleep=sleep)
    await exchange.load_markets()
    return exchange


def buy(amount: float, price: float, client_id: str = "tp-1", kind: str = "limit") -> OrderRequest:
    return OrderRequest("ETH/BTC", "buy", kind, amount, price, client_id)  # type: ignore[arg-type]


# --- rounding and limits against real market rules -------------------------------------


async def test_amount_is_truncated_to_the_step_and_price_rounded_to_the_tick_before_sending(
    exchange: CcxtExchange, server: FakeExchangeServer
) -> None:
    snapshot = await exchange.create_order(buy(0.123999, 0.0912345678))

    (order,) = server.orders()
    assert (order.quantity, order.price) == (Decimal("0.123"), Decimal("0.091235"))
    assert (snapshot.amount, snapshot.price, snapshot.status) == (0.123, 0.091235, "open")
    assert snapshot.client_order_id == "tp-1"


async def test_too_small_stake_is_refused_before_sending_with_the_minimum_in_the_message(
    exchange: CcxtExchange, server: FakeExchangeServer
) -> None:
    with pytest.raises(
        OrderRejected, match=r"order cost 5e-05 BTC is below the minimum 0.0001 BTC"
    ):
        await exchange.create_order(buy(0.001, 0.05))

    assert server.count(ORDER, "POST") == 0


async def test_amount_below_one_step_is_refused_without_a_request(
    exchange: CcxtExchange, server: FakeExchangeServer
) -> None:
    with pytest.raises(OrderRejected, match=r"minimum amount precision of 0\.001"):
        await exchange.create_order(buy(0.0004, 0.09))

    assert server.count(ORDER, "POST") == 0


async def test_client_order_id_travels_as_binances_new_client_order_id(
    exchange: CcxtExchange, server: FakeExchangeServer
) -> None:
    await exchange.create_order(buy(0.1, 0.09, client_id="tp-42"))

    (sent,) = server.requests_to(ORDER, "POST")
    assert sent.params["newClientOrderId"] == "tp-42"
    assert server.orders()[0].client_order_id == "tp-42"


async def test_market_buy_fills_at_the_ask_with_the_taker_fee_in_the_bought_coin(
    exchange: CcxtExchange, server: FakeExchangeServer
) -> None:
    server.set_price("ETH/BTC", 0.09, bid=0.0899, ask=0.0901)

    snapshot = await exchange.create_order(buy(0.5, 0.09, kind="market"))
    balances = await exchange.fetch_balance()

    assert (snapshot.status, snapshot.filled, snapshot.remaining) == ("closed", 0.5, 0.0)
    assert snapshot.average == pytest.approx(0.0901)
    assert (snapshot.fee_cost, snapshot.fee_currency) == (pytest.approx(0.0005), "ETH")
    assert balances["BTC"].free == pytest.approx(1 - 0.5 * 0.0901)
    assert balances["ETH"].total == pytest.approx(0.4995)


async def test_partial_fill_is_reported_as_cumulative_values_and_the_order_stays_open(
    exchange: CcxtExchange, server: FakeExchangeServer
) -> None:
    placed = await exchange.create_order(buy(0.3, 0.09))
    server.fill(placed.order_id, "0.1")

    snapshot = await exchange.fetch_order("ETH/BTC", placed.order_id)

    assert (snapshot.status, snapshot.filled, snapshot.remaining) == ("open", 0.1, 0.2)
    assert snapshot.cost == pytest.approx(0.009)


async def test_cancel_returns_the_order_canceled_under_its_own_client_id_and_frees_the_stake(
    exchange: CcxtExchange, server: FakeExchangeServer
) -> None:
    placed = await exchange.create_order(buy(1, 0.09, client_id="tp-7"))
    assert (await exchange.fetch_balance())["BTC"].used == pytest.approx(0.09)

    canceled = await exchange.cancel_order("ETH/BTC", placed.order_id)

    assert (canceled.status, canceled.client_order_id) == ("canceled", "tp-7")
    assert (await exchange.fetch_balance())["BTC"].free == pytest.approx(1)
    assert await exchange.fetch_open_orders("ETH/BTC") == []


# --- create_order whose outcome is unknown ----------------------------------------------


async def test_create_order_timeout_finds_the_order_by_client_id_and_places_nothing_twice(
    exchange: CcxtExchange, server: FakeExchangeServer
) -> None:
    server.inject(ORDER, Fault.TIMEOUT_AFTER_RECORD, method="POST")

    snapshot = await exchange.create_order(buy(0.2, 0.09, client_id="tp-9"))

    (order,) = server.orders()
    assert snapshot.order_id == str(order.order_id)
    assert (snapshot.client_order_id, snapshot.amount) == ("tp-9", 0.2)
    assert server.count(ORDER, "POST") == 1
    assert server.requests_to(ORDER, "GET")[0].params["origClientOrderId"] == "tp-9"


async def test_create_order_timeout_before_the_exchange_got_it_is_not_placed_and_retry_is_safe(
    exchange: CcxtExchange, server: FakeExchangeServer, sleep: RecordingSleep
) -> None:
    server.inject(ORDER, Fault.TIMEOUT_BEFORE_RECORD, method="POST")

    with pytest.raises(OrderNotPlaced, match="placing it again is safe"):
        await exchange.create_order(buy(0.2, 0.09, client_id="tp-9"))
    assert server.orders() == []
    # Every lookup said "absent", until Binance's 10 s recvWindow plus 2 s had passed.
    assert sleep.delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]

    await exchange.create_order(buy(0.2, 0.09, client_id="tp-9"))
    assert len(server.orders()) == 1


class ClockSleep:
    """The venue's pauses, on the fake's clock: the exchange sees the time pass."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        self.clock.advance(timedelta(seconds=delay))


@pytest.mark.parametrize("late", [0.5, 3.0, 6.0, 9.0, 9.9])
async def test_a_create_the_exchange_executes_late_within_its_recv_window_is_found(
    server: FakeExchangeServer, clock: ManualClock, late: float
) -> None:
    """Four lookups over 7.5 s took a create placed 9 s after it was sent for never placed:
    the trade was deleted while its order filled on the exchange."""
    sleep = ClockSleep(clock)
    exchange = server.ccxt_exchange(sleep=sleep)
    await exchange.load_markets()
    server.late_by = timedelta(seconds=late)
    server.inject(ORDER, Fault.EXECUTED_LATE, method="POST")

    snapshot = await exchange.create_order(buy(0.2, 0.09, client_id="tp-late"))

    (placed,) = server.orders()
    assert snapshot.order_id == str(placed.order_id)
    assert snapshot.client_order_id == "tp-late"
    assert server.count(ORDER, "POST") == 1


async def test_a_create_past_its_recv_window_is_called_not_placed_only_after_the_window(
    server: FakeExchangeServer, clock: ManualClock
) -> None:
    sleep = ClockSleep(clock)
    exchange = server.ccxt_exchange(sleep=sleep)
    await exchange.load_markets()
    server.late_by = timedelta(seconds=10.5)  # Binance drops it: past the 10 s recvWindow
    server.inject(ORDER, Fault.EXECUTED_LATE, method="POST")

    with pytest.raises(OrderNotPlaced):
        await exchange.create_order(buy(0.2, 0.09, client_id="tp-never"))

    assert sum(sleep.delays) >= 12.0
    assert server.orders() == []


async def test_create_order_stays_unknown_when_the_lookups_fail_too(
    exchange: CcxtExchange, server: FakeExchangeServer
) -> None:
    server.inject(ORDER, Fault.RESET, method="POST")
    server.inject(ORDER, Fault.UNAVAILABLE, times=100, method="GET")

    with pytest.raises(OrderStateUnknown, match="lookups failed"):
        await exchange.create_order(buy(0.2, 0.09))

    assert server.count(ORDER, "POST") == 1


async def test_unreadable_create_answer_is_resolved_by_client_id(
    exchange: CcxtExchange, server: FakeExchangeServer
) -> None:
    server.inject(ORDER, Fault.TIMEOUT_AFTER_RECORD, method="POST")
    server.inject(ORDER, Fault.MALFORMED, times=1, method="GET")

    snapshot = await exchange.create_order(buy(0.2, 0.09, client_id="tp-3"))

    assert snapshot.order_id == str(server.orders()[0].order_id)
    assert server.count(ORDER, "POST") == 1


async def test_without_a_client_id_query_open_and_closed_orders_are_scanned(
    server: FakeExchangeServer,
) -> None:
    exchange = server.ccxt_exchange(sleep=RecordingSleep(), client_id_lookup=False)
    await exchange.load_markets()
    server.inject(ORDER, Fault.TIMEOUT_AFTER_RECORD, method="POST")
    resting = await exchange.create_order(buy(0.2, 0.09, client_id="tp-open"))
    await exchange.create_order(buy(0.2, 0.09, client_id="tp-filled", kind="market"))

    filled = await exchange.fetch_order("ETH/BTC", client_order_id="tp-filled")

    assert resting.order_id == str(server.orders()[0].order_id)
    assert (filled.client_order_id, filled.status) == ("tp-filled", "closed")
    assert server.count(ORDER, "GET") == 0
    assert server.count("/api/v3/allOrders") >= 1


async def test_lookup_of_an_unknown_client_id_is_order_not_found(exchange: CcxtExchange) -> None:
    with pytest.raises(OrderNotFound):
        await exchange.fetch_order("ETH/BTC", client_order_id="never-sent")


# --- retries and error mapping on the wire ---------------------------------------------

READ_FAULTS = [
    Fault.RATE_LIMITED, Fault.IP_BANNED, Fault.SERVER_ERROR, Fault.BAD_GATEWAY,
    Fault.UNAVAILABLE, Fault.GATEWAY_TIMEOUT, Fault.MAINTENANCE, Fault.RESET,
    pytest.param(Fault.SLOW, marks=pytest.mark.heavy),
    Fault.MALFORMED, Fault.HTML_PAGE,
]  # fmt: skip


@pytest.mark.parametrize("fault", READ_FAULTS)
async def test_read_faults_are_retried_with_growing_delays_then_surface_as_temporary(
    server: FakeExchangeServer, fault: Fault
) -> None:
    sleep = RecordingSleep()
    exchange = server.ccxt_exchange(sleep=sleep, retries=3)
    server.inject("/api/v3/account", fault, times=10)

    with pytest.raises(TemporaryError):
        await exchange.fetch_balance()

    assert sleep.delays == [0.5, 1.0, 2.0]
    # aiohttp itself resends a GET once when a reused keep-alive connection is dropped.
    assert server.count("/api/v3/account") == (8 if fault is Fault.RESET else 4)


@pytest.mark.parametrize(
    ("path", "read"),
    [
        ("/api/v3/klines", lambda ex: ex.fetch_ohlcv("ETH/BTC", "5m")),
        ("/api/v3/ticker/24hr", lambda ex: ex.fetch_tickers(["ETH/BTC"])),
        ("/api/v3/openOrders", lambda ex: ex.fetch_open_orders("ETH/BTC")),
        ("/api/v3/exchangeInfo", lambda ex: ex.load_markets(reload=True)),
        (ORDER, lambda ex: ex.fetch_order("ETH/BTC", "1001")),
    ],
)
async def test_every_read_recovers_once_the_fault_passes(
    exchange: CcxtExchange, server: FakeExchangeServer, sleep: RecordingSleep, path, read
) -> None:
    await exchange.create_order(buy(0.2, 0.09))
    server.inject(path, Fault.RATE_LIMITED, times=2)

    await read(exchange)

    assert sleep.delays == [0.5, 1.0]


@pytest.mark.parametrize(
    ("path", "read"),
    [
        ("/api/v3/klines", lambda ex: ex.fetch_ohlcv("ETH/BTC", "5m")),
        ("/api/v3/ticker/24hr", lambda ex: ex.fetch_tickers(["ETH/BTC"])),
        ("/api/v3/account", lambda ex: ex.fetch_balance()),
        ("/api/v3/openOrders", lambda ex: ex.fetch_open_orders("ETH/BTC")),
        ("/api/v3/exchangeInfo", lambda ex: ex.load_markets(reload=True)),
    ],
)
async def test_an_html_page_with_status_200_is_a_temporary_error_never_an_empty_answer(
    exchange: CcxtExchange, server: FakeExchangeServer, path, read
) -> None:
    """A proxy's or maintenance page parsed as text gave an empty balance, NaN candles, a
    crash in the tickers ('str' object has no attribute 'keys') and markets of None."""
    server.inject(path, Fault.HTML_PAGE, times=100)

    with pytest.raises(TemporaryError, match="answer is not JSON"):
        await read(exchange)

    assert exchange.markets()


async def test_an_html_page_answering_a_create_is_an_unknown_outcome_looked_up_by_client_id(
    exchange: CcxtExchange, server: FakeExchangeServer
) -> None:
    """Parsed as text, the page gave an order with the id 'None' that was taken as placed."""
    server.inject(ORDER, Fault.HTML_PAGE, method="POST")

    with pytest.raises(OrderNotPlaced, match="tp-html never reached"):
        await exchange.create_order(buy(0.2, 0.09, client_id="tp-html"))

    assert server.count(ORDER, "POST") == 1
    assert server.count(ORDER, "GET") >= 1
    assert server.orders() == []


async def test_maintenance_window_fails_every_endpoint_until_it_is_over(
    exchange: CcxtExchange, server: FakeExchangeServer, clock: ManualClock
) -> None:
    server.inject("*", Fault.MAINTENANCE, duration=timedelta(minutes=10))

    with pytest.raises(TemporaryError, match="503"):
        await exchange.fetch_balance()
    with pytest.raises(TemporaryError, match="503"):
        await exchange.fetch_ohlcv("ETH/BTC", "5m")
    clock.advance(timedelta(minutes=11))

    assert (await exchange.fetch_balance())["BTC"].free == 1


async def test_cancel_is_retried_on_a_temporary_error(
    exchange: CcxtExchange, server: FakeExchangeServer, sleep: RecordingSleep
) -> None:
    placed = await exchange.create_order(buy(0.2, 0.09))
    server.inject(ORDER, Fault.BAD_GATEWAY, method="DELETE")

    canceled = await exchange.cancel_order("ETH/BTC", placed.order_id)

    assert canceled.status == "canceled"
    assert sleep.delays == [0.5]


async def test_insufficient_funds_surfaces_at_once_without_retry(
    exchange: CcxtExchange, server: FakeExchangeServer, sleep: RecordingSleep
) -> None:
    with pytest.raises(InsufficientFunds, match="insufficient balance"):
        await exchange.create_order(buy(20, 0.09))

    assert server.count(ORDER, "POST") == 1
    assert (server.orders(), sleep.delays) == ([], [])


@pytest.mark.parametrize(
    ("fault", "error"),
    [(Fault.INVALID_QUANTITY, OrderRejected), (Fault.INSUFFICIENT_FUNDS, InsufficientFunds)],
)
async def test_exchange_refusals_of_a_create_surface_as_rejections_without_retry(
    exchange: CcxtExchange, server: FakeExchangeServer, sleep: RecordingSleep, fault, error
) -> None:
    server.inject(ORDER, fault, method="POST")

    with pytest.raises(error):
        await exchange.create_order(buy(0.2, 0.09))

    assert server.count(ORDER, "POST") == 1
    assert (server.orders(), sleep.delays) == ([], [])


async def test_unknown_order_id_is_order_not_found_on_fetch_and_on_cancel(
    exchange: CcxtExchange, server: FakeExchangeServer, sleep: RecordingSleep
) -> None:
    with pytest.raises(OrderNotFound, match="Order does not exist"):
        await exchange.fetch_order("ETH/BTC", "424242")
    with pytest.raises(OrderNotFound, match="Unknown order sent"):
        await exchange.cancel_order("ETH/BTC", "424242")

    assert (server.count(ORDER), sleep.delays) == (2, [])


@pytest.mark.parametrize("fault", [Fault.BAD_API_KEY_FORMAT, Fault.INVALID_API_KEY])
async def test_authentication_error_is_fatal_and_not_retried(
    server: FakeExchangeServer, sleep: RecordingSleep, fault: Fault
) -> None:
    exchange = server.ccxt_exchange(sleep=sleep)
    server.inject("/api/v3/account", fault)

    with pytest.raises(FatalExchangeError, match="API-key"):
        await exchange.fetch_balance()

    assert (server.count("/api/v3/account"), sleep.delays) == (1, [])


async def test_api_keys_never_reach_the_logs(
    server: FakeExchangeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    exchange = server.ccxt_exchange(sleep=RecordingSleep())
    server.inject("/api/v3/account", Fault.SERVER_ERROR, times=2)

    await exchange.fetch_balance()

    assert "test-secret" not in caplog.text
    assert "test-key" not in caplog.text


# --- markets, whitelist, tickers, candles -----------------------------------------------


async def test_whitelist_refuses_unknown_inactive_and_wrongly_quoted_pairs_in_one_message(
    exchange: CcxtExchange,
) -> None:
    exchange.validate_pairs(["ETH/BTC", "LTC/BTC"], "BTC")

    with pytest.raises(ConfigError) as refused:
        exchange.validate_pairs(["ETH/BTC", "FOO/BTC", "BCC/BTC", "ETH/USDT"], "BTC")

    assert str(refused.value) == (
        "exchange.pair_whitelist: FOO/BTC is not a market on binance; "
        "BCC/BTC is inactive on binance; "
        "ETH/USDT is quoted in USDT, not in the stake currency BTC"
    )


async def test_markets_are_reloaded_only_once_older_than_the_refresh_interval(
    exchange: CcxtExchange, server: FakeExchangeServer, clock: ManualClock
) -> None:
    info = "/api/v3/exchangeInfo"
    await exchange.load_markets()
    clock.advance(timedelta(minutes=59))
    await exchange.load_markets()
    assert server.count(info) == 1

    clock.advance(timedelta(minutes=2))
    await exchange.load_markets()
    await exchange.load_markets(reload=True)

    assert server.count(info) == 3


async def test_markets_are_kept_when_a_scheduled_refresh_fails(
    exchange: CcxtExchange, server: FakeExchangeServer, clock: ManualClock
) -> None:
    clock.advance(timedelta(hours=2))
    server.inject("/api/v3/exchangeInfo", Fault.UNAVAILABLE, times=10)

    await exchange.load_markets()

    assert exchange.rules("ETH/BTC").min_cost == 0.0001
    assert server.count("/api/v3/exchangeInfo") == 2  # one try per iteration, no backoff wait


async def test_tickers_of_all_pairs_come_in_one_request_cached_for_the_iteration(
    exchange: CcxtExchange, server: FakeExchangeServer, clock: ManualClock
) -> None:
    pairs = ["ETH/BTC", "LTC/BTC", "XLM/BTC"]
    first = await exchange.fetch_tickers(pairs)
    again = await exchange.fetch_tickers(pairs)
    assert server.count("/api/v3/ticker/24hr") == 1
    assert first == again

    clock.advance(timedelta(seconds=5))
    await exchange.fetch_tickers(pairs)

    assert server.count("/api/v3/ticker/24hr") == 2
    eth = first["ETH/BTC"]
    assert eth.bid < eth.last < eth.ask
    assert eth.open == eth.high == eth.low == eth.last
    assert eth.time == START


async def test_fetch_ohlcv_returns_utc_candles_in_the_project_columns(
    exchange: CcxtExchange,
) -> None:
    since = datetime(2018, 1, 20, 11, 0, tzinfo=UTC)

    frame = await exchange.fetch_ohlcv("ETH/BTC", "5m", since, 3)

    assert tuple(frame.columns) == CANDLE_COLUMNS
    assert str(frame["date"].dtype) == "datetime64[ns, UTC]"
    assert list(frame["date"]) == list(pd.date_range(since, periods=3, freq="5min"))
    assert (frame["high"] >= frame["low"]).all()


async def test_unknown_exchange_name_is_a_config_error(clock: ManualClock) -> None:
    with pytest.raises(ConfigError, match=r"exchange\.name: ccxt does not know"):
        CcxtExchange("notanexchange", {}, None, None, None, clock)


# --- classify(), directly ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "operation", "expected"),
    [
        (ccxt.RequestTimeout("t"), "read", TemporaryError),
        (ccxt.RequestTimeout("t"), "create_order", OrderStateUnknown),
        (ccxt.RequestTimeout("t"), "cancel_order", OrderStateUnknown),
        (TimeoutError(), "read", TemporaryError),
        (ccxt.NetworkError("n"), "read", TemporaryError),
        (ccxt.ExchangeNotAvailable("n"), "create_order", OrderStateUnknown),
        (ccxt.BadResponse("b"), "read", TemporaryError),
        (ccxt.RateLimitExceeded("r"), "create_order", TemporaryError),
        (ccxt.DDoSProtection("d"), "read", TemporaryError),
        (ccxt.DuplicateOrderId("d"), "create_order", OrderStateUnknown),
        (ccxt.OrderNotFound("o"), "fetch_order", OrderNotFound),
        (ccxt.OrderNotFound("o"), "cancel_order", OrderNotFound),
        (ccxt.InsufficientFunds("f"), "create_order", InsufficientFunds),
        (ccxt.InvalidOrder("i"), "create_order", OrderRejected),
        (ccxt.BadSymbol("s"), "create_order", OrderRejected),
        (ccxt.BadRequest("b"), "create_order", OrderRejected),
        (ccxt.AuthenticationError("a"), "read", FatalExchangeError),
        (ccxt.PermissionDenied("p"), "read", FatalExchangeError),
        (ccxt.ExchangeError("e"), "read", ExchangeError),
        (ConnectionResetError(), "read", TemporaryError),
    ],
)
def test_classify_maps_ccxt_errors_onto_what_the_caller_must_do(exc, operation, expected) -> None:
    mapped = classify(exc, operation)

    assert type(mapped) is expected
    assert type(exc).__name__ in str(mapped)


def test_classify_passes_our_own_errors_through_unchanged() -> None:
    error = OrderNotPlaced("gone")

    assert classify(error, "create_order") is error
