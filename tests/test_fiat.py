"""fiat_display_currency: Freqtrade's values accepted and others refused; the rate read from the
exchange's tickers (direct, inverted, USD through USDT then USDC), refreshed by the engine every
few minutes and only read by the chat; shown in /profit, /daily, /balance and trade messages,
and left out, with one log line, when no market gives it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compose import build_commands
from core.clock import ManualClock
from core.errors import ConfigError, TemporaryError
from engine.config import parse_config
from engine.events import EntryPlaced, ExitFilled, LogNotifier
from engine.fiat import REFRESH, STALE, FiatRate, FiatRates, markets_for, rate_from
from handlers.notify import format_event
from store import schema
from store.store import Store
from tests.databases import url_for
from tests.engine.scripted import Scripted
from tests.factories import make_settings
from tests.fakes import FakeExchangeServer, parity_markets
from tests.fakes.binance_book import MarketSpec
from tests.fakes.telegram import open_chat, seed_trades, strip_html
from venues.exchange import Ticker

NOW = datetime(2018, 1, 20, 12, 0, tzinfo=UTC)


def ticker(pair: str, last: float) -> Ticker:
    return Ticker(pair, NOW, last, last, last, last, last, last, 0.0)


# --- the setting ---------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["USD", "EUR", "JPY", "BTC", ""])
def test_freqtrades_fiat_values_and_none_are_accepted(value: str) -> None:
    assert parse_config({"fiat_display_currency": value}, {}).fiat_display_currency == value


@pytest.mark.parametrize("value", ["usd", "DOGE", 840, None])
def test_any_other_fiat_value_is_refused_naming_the_key(value: object) -> None:
    with pytest.raises(ConfigError, match=r"^fiat_display_currency: expected one of AUD, "):
        parse_config({"fiat_display_currency": value}, {})


# --- where the rate comes from --------------------------------------------------------------

def test_the_direct_market_comes_before_the_inverted_one_and_usd_tries_usdt_then_usdc() -> None:
    listed = {"BTC/USDC", "USDT/BTC", "BTC/EUR", "ETH/BTC"}
    assert markets_for("BTC", "USD", listed) == ["USDT/BTC", "BTC/USDC"]
    assert markets_for("BTC", "EUR", listed) == ["BTC/EUR"]
    assert markets_for("USDT", "EUR", listed) == []
    assert markets_for("BTC", "ETH", listed) == ["ETH/BTC"]


@given(st.floats(min_value=1e-8, max_value=1e8))
def test_a_direct_market_gives_its_price_and_an_inverted_one_its_inverse(last: float) -> None:
    assert rate_from("BTC", {"BTC/EUR": ticker("BTC/EUR", last)}, ["BTC/EUR"]) == last
    inverted = rate_from("BTC", {"EUR/BTC": ticker("EUR/BTC", last)}, ["EUR/BTC"])
    assert inverted == pytest.approx(1 / last)


def test_a_market_without_a_price_is_passed_over_and_none_left_is_no_rate() -> None:
    tickers = {"USDT/BTC": ticker("USDT/BTC", 0.0), "BTC/USDC": ticker("BTC/USDC", 40_000.0)}
    assert rate_from("BTC", tickers, ["USDT/BTC", "BTC/USDC"]) == 40_000.0
    assert rate_from("BTC", {}, ["USDT/BTC"]) is None


async def test_the_rate_is_asked_every_five_minutes_and_not_shown_once_stale() -> None:
    asked: list[list[str]] = []

    async def fetch(pairs: list[str]) -> dict[str, Ticker]:
        asked.append(pairs)
        return {"BTC/EUR": ticker("BTC/EUR", 30_000.0)}

    rates = FiatRates("BTC", "EUR")
    await rates.refresh(NOW, {"BTC/EUR"}, fetch)
    await rates.refresh(NOW + REFRESH - timedelta(seconds=1), {"BTC/EUR"}, fetch)
    assert asked == [["BTC/EUR"]]
    assert rates.current(NOW) == FiatRate("EUR", 30_000.0, NOW)
    assert rates.current(NOW + STALE + timedelta(seconds=1)) is None
    await rates.refresh(NOW + REFRESH, {"BTC/EUR"}, fetch)
    assert len(asked) == 2


async def test_the_same_currency_or_usd_for_a_dollar_stake_is_one_without_asking() -> None:
    async def fetch(pairs: list[str]) -> dict[str, Ticker]:
        raise AssertionError("no request needed")

    for stake, fiat in (("BTC", "BTC"), ("USDT", "USD"), ("USDC", "USD")):
        rates = FiatRates(stake, fiat)
        await rates.refresh(NOW, set(), fetch)
        assert rates.current(NOW) == FiatRate(fiat, 1.0, NOW)


async def test_no_market_or_a_failed_fetch_gives_no_rate_and_one_log_line_each(
        caplog: pytest.LogCaptureFixture) -> None:
    async def failing(pairs: list[str]) -> dict[str, Ticker]:
        raise TemporaryError("exchange down")

    caplog.set_level(logging.INFO, logger="engine.fiat")
    nothing = FiatRates("BTC", "JPY")
    down = FiatRates("BTC", "EUR")
    for minutes in (0, 5, 10):
        at = NOW + timedelta(minutes=minutes)
        await nothing.refresh(at, {"ETH/BTC"}, failing)
        await down.refresh(at, {"BTC/EUR"}, failing)
    assert nothing.current(NOW) is None
    assert down.current(NOW) is None
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "lists no market between BTC and JPY" in lines[0]
    assert "no rate (exchange down)" in lines[1]


def test_reconfigured_to_another_currency_the_old_rate_is_dropped() -> None:
    rates = FiatRates("BTC", "EUR")
    rates.configure("BTC", "EUR")
    rates.configure("BTC", "GBP")
    assert rates.current(NOW) is None


# --- on the wire: real ccxt against the fake Binance ----------------------------------------

async def test_the_engine_reads_btc_in_usd_from_the_usdt_market_and_commands_only_read_it(
        ) -> None:
    clock = ManualClock(NOW)
    markets = [*parity_markets(), MarketSpec("BTC/USDT", "0.00001", "0.01", "0.00001", "5")]
    async with FakeExchangeServer(clock, markets=markets) as server:
        server.set_price("BTC/USDT", 41_234.5)
        settings = make_settings({"stake_amount": 0.05, "fiat_display_currency": "USD",
                                  "exchange": {"name": "binance", "pair_whitelist": ["ETH/BTC"]}})
        commands = build_commands(settings, Scripted(), server.ccxt_exchange(clock), clock,
                                  LogNotifier(), Store(schema.init_db(url_for())))
        try:
            await commands.startup()
            await commands.process()
            assert commands.fiat() == FiatRate("USD", 41_234.5, NOW)
            asked = len(server.requests)
            for _ in range(3):
                assert commands.fiat() is not None
            assert len(server.requests) == asked  # the chat asks the exchange nothing
            server.set_price("BTC/USDT", 40_000.0)
            clock.advance(REFRESH)
            await commands.process()
            assert commands.fiat() == FiatRate("USD", 40_000.0, NOW + REFRESH)
        finally:
            await commands.shutdown()
            schema.close_db()


# --- what the owner reads -------------------------------------------------------------------

def test_trade_messages_show_the_stake_and_the_profit_in_fiat_as_freqtrade() -> None:
    fiat = FiatRate("USD", 40_000.0, NOW)
    entry = EntryPlaced(trade_id=1, pair="ETH/BTC", amount=1.0, price=0.05, stake_amount=0.05,
                        stake_currency="BTC", order_type="limit", enter_tag=None,
                        current_rate=0.05, exchange="binance", dry_run=True)
    assert "Total: 0.05 BTC / 2000.000 USD" in strip_html(format_event(entry, "x", fiat))
    exit_fill = ExitFilled(trade_id=1, pair="ETH/BTC", amount=1.0, open_rate=0.05,
                           close_rate=0.051, exit_reason="roi", enter_tag=None,
                           profit_ratio=0.018, profit_abs=0.0009, stake_currency="BTC",
                           open_date=NOW, close_date=NOW + timedelta(hours=1), partial=False)
    text = strip_html(format_event(exit_fill, "x", fiat))
    assert "Profit: 1.80% (0.0009 BTC / 36.000 USD)" in text
    assert " USD" not in strip_html(format_event(exit_fill, "x"))


async def test_profit_daily_and_balance_show_fiat_beside_the_stake(tmp_path: object) -> None:
    # The offline market lists ETH/BTC: ETH is one of Freqtrade's display currencies.
    async with open_chat(overrides={"fiat_display_currency": "ETH"}) as chat:
        engine = chat.commands.engine
        seed_trades(engine.store, 3, is_open=False, start=engine.clock.now() - timedelta(days=1),
                    pairs=["LTC/BTC"])
        await chat.commands.process()
        rate = chat.commands.fiat()
        assert rate is not None
        assert rate.currency == "ETH"
        assert rate.rate > 1
        profit = strip_html(await chat.say("/profit"))
        closed = chat.commands.profit().closed_profit_abs
        assert f"∙ {closed * rate.rate:.4f}".rstrip("0") in profit
        daily = strip_html(await chat.say("/daily 2"))
        assert "Profit ETH" in daily
        balance = strip_html(await chat.say("/balance"))
        start = next(line for line in balance.splitlines() if line.startswith("Starting"))
        assert start.endswith(" ETH")
        assert " ETH" in balance.split("Estimated Value")[1]


async def test_without_a_rate_the_replies_leave_fiat_out() -> None:
    async with open_chat(overrides={"fiat_display_currency": "EUR"}) as chat:
        await chat.commands.process()
        assert chat.commands.fiat() is None
        assert "EUR" not in strip_html(await chat.say("/balance"))
        assert "EUR" not in strip_html(await chat.say("/daily 2"))
