"""Fakes at the wire, shared by every test that needs an exchange.

`FakeExchangeServer` is a local Binance spot REST server for the REAL ccxt client (see
`tests/fakes/exchange_server.py` for the full API).
"""

from tests.fakes.binance_book import FakeOrder, MarketSpec, generated_markets, parity_markets
from tests.fakes.exchange_server import (
    FakeExchangeServer,
    Fault,
    RecordingSleep,
    Request,
    shipped_frames,
)

__all__ = [
    "FakeExchangeServer",
    "FakeOrder",
    "Fault",
    "MarketSpec",
    "RecordingSleep",
    "Request",
    "generated_markets",
    "parity_markets",
    "shipped_frames",
]
