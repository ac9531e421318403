"""The stake currency's value in `fiat_display_currency`, for the owner's eyes only.

Freqtrade asks CoinGecko; tradepilot has no service beside the exchange, so the rate is read
from the exchange's own tickers: STAKE/FIAT, or FIAT/STAKE inverted, with USDT and then USDC
standing in for USD (exchanges list few USD markets). The engine refreshes it every few
minutes; the chat's commands and notifications only read what it last found, so a command
never waits on the exchange for it. Without a market to read it from, messages leave the fiat
part out and the log says why once. Nothing here changes what is traded.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.errors import ExchangeError
from engine.log_once import LogOnce
from venues.exchange import Ticker

logger = logging.getLogger(__name__)

REFRESH = timedelta(minutes=5)
# Past this age a rate is not shown: a value from an hour-old price would mislead.
STALE = timedelta(minutes=30)
_STAND_INS = {"USD": ("USD", "USDT", "USDC")}


@dataclass(frozen=True, slots=True)
class FiatRate:
    """`rate` units of `currency` (fiat_display_currency) per unit of the stake currency, as
    read from the exchange at `at`: plain data for the chat."""

    currency: str
    rate: float
    at: datetime

    def value(self, stake_amount: float) -> float:
        return stake_amount * self.rate


def quotes_for(fiat: str) -> tuple[str, ...]:
    return _STAND_INS.get(fiat, (fiat,))


def markets_for(stake: str, fiat: str, listed: Collection[str]) -> list[str]:
    """The listed markets a rate can be read from, best first: direct before inverted, each
    quote of `quotes_for` in its order."""
    found = []
    for quote in quotes_for(fiat):
        found += [m for m in (f"{stake}/{quote}", f"{quote}/{stake}") if m in listed]
    return found


def rate_from(stake: str, tickers: Mapping[str, Ticker], markets: list[str]) -> float | None:
    """The first of `markets` with a usable last price, as fiat per stake."""
    for market in markets:
        ticker = tickers.get(market)
        if ticker is None or not ticker.last or ticker.last <= 0:
            continue
        return ticker.last if market.startswith(f"{stake}/") else 1 / ticker.last
    return None


class FiatRates:
    """The cached rate: `refresh` (the engine, once an iteration) reads it from the exchange
    when it is due; `current` (the chat) only reads the cache."""

    def __init__(self, stake: str = "", fiat: str = "") -> None:
        self._log_once = LogOnce(logger)
        self._found: FiatRate | None = None
        self._asked: datetime | None = None
        self._currencies = (stake, fiat)

    def configure(self, stake: str, fiat: str) -> None:
        """New settings (/reload): a changed currency drops the rate of the old one."""
        if (stake, fiat) != self._currencies:
            self._currencies = (stake, fiat)
            self._found = self._asked = None

    def current(self, now: datetime) -> FiatRate | None:
        found = self._found
        if found is None or now - found.at > STALE:
            return None
        return found

    async def refresh(self, now: datetime, listed: Collection[str],
                      fetch: Callable[[list[str]], Awaitable[Mapping[str, Ticker]]]) -> None:
        stake, fiat = self._currencies
        if not fiat or (self._asked is not None and now - self._asked < REFRESH):
            return
        self._asked = now
        if fiat == stake or (fiat == "USD" and stake in quotes_for(fiat)):
            self._found = FiatRate(fiat, 1.0, now)
            return
        markets = markets_for(stake, fiat, listed)
        if not markets:
            self._log_once.info(("none", stake, fiat), "fiat_display_currency %s: the exchange "
                                "lists no market between %s and %s; values are shown in %s only",
                                fiat, stake, " or ".join(quotes_for(fiat)), stake)
            return
        try:
            rate = rate_from(stake, await fetch(markets), markets)
        except ExchangeError as exc:
            self._log_once.info(("fetch", stake, fiat), "fiat_display_currency %s: no rate "
                                "(%s); trying again in %s", fiat, exc, REFRESH)
            return
        if rate is not None:
            self._found = FiatRate(fiat, rate, now)
