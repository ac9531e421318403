"""The owner's orders when the exchange refuses the request: a rate limit (429) or a ban (418)
on /forceenter or /forceexit is said plainly, with what was placed (nothing), never as
"Something went wrong" with an ERROR in the log. Live, against the fake Binance."""

from __future__ import annotations

import logging

import pytest

from core.clock import ManualClock
from store import models
from tests.factories import run_for
from tests.fakes import FakeExchangeServer, Fault
from tests.reliability.test_live_gate import (
    KEYS,
    START,
    bot_on_fake_binance,
    fake_binance_config,
)

ORDER = "/api/v3/order"


@pytest.mark.parametrize("fault", [Fault.RATE_LIMITED, Fault.IP_BANNED])
async def test_a_refused_forceenter_says_the_exchange_is_limiting_and_nothing_was_placed(
        fault: Fault, caplog: pytest.LogCaptureFixture) -> None:
    async with FakeExchangeServer(ManualClock(START)) as server, \
            bot_on_fake_binance(server, fake_binance_config(server, False), KEYS) as chat:
        await run_for(chat.commands, server.clock, 1)
        server.inject(ORDER, fault, times=100, method="POST")
        with caplog.at_level(logging.WARNING):
            reply = await chat.say("/forceenter ETH/BTC")
        assert "binance is rate-limiting or not answering" in reply
        assert "nothing was placed" in reply
        assert "Something went wrong" not in reply
        assert server.orders() == []
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_refused_forceexit_says_so_and_the_trade_stays_open() -> None:
    async with FakeExchangeServer(ManualClock(START)) as server, \
            bot_on_fake_binance(server, fake_binance_config(server, False), KEYS) as chat:
        await run_for(chat.commands, server.clock, 1)
        assert "Entering ETH/BTC: trade #1." in await chat.say("/forceenter ETH/BTC")
        (entry,) = server.orders()
        server.fill(entry.order_id)
        await run_for(chat.commands, server.clock, 1)
        server.inject(ORDER, Fault.RATE_LIMITED, times=100, method="POST")
        reply = await chat.say("/forceexit 1")
        assert "rate-limiting" in reply
        assert "nothing was placed" in reply
        assert [o.side for o in server.orders()] == ["BUY"]
        assert models.Trade.get_by_id(1).is_open
