"""The paper (dry-run) exchange: real prices from any source, simulated orders and wallet.

Market data (markets, rules, rounding, tickers, candles) comes from `source`: the live
exchange's public data or an `OfflineMarket`. Orders live in the `paper_orders` table, each
state change committed in its own transaction, because that table plays the part of the
exchange's own durable state: after a restart the wallet is `wallet` plus the effect of every
fill recorded there, and open orders carry on. Being the table's only writer, it keeps balances,
open orders and client order ids in memory: read on first use, changed only once a write has
committed, dropped (to be read again) when one fails.

Fill rules, kept simple on purpose:
- market orders fill at once, fully, with the taker fee: with `book_fills` (dry-run and the
  demo) at Freqtrade's dry-run price from the order book (venues/paper_fills.py), else (a
  backtest) at the ask (buy) or bid (sell);
- IOC, FOK and PO limit orders meet the book (or, without `book_fills`, the ticker) when they
  are placed, as venues/paper_fills.py says; what they fill then pays the taker fee;
- a limit buy fills when the traded range reached it (limit >= ticker.low), a limit sell when
  limit <= ticker.high, at the limit price with the maker fee. That includes a limit that is
  already crossed when it is placed (Freqtrade charges the taker fee there; one rule is easier
  to reason about, and backtests set one fee for both anyway);
- `fee`, when given, replaces both the maker and the taker fee; fees are charged in the quote
  currency, cost x rate;
- `partial_fill_ratio` (for tests) makes each check of a limit order fill only that fraction of
  what remains (truncated to the amount step; all of it once the fraction rounds to nothing).
Open limit orders are checked against the current ticker on `fetch_order`, `fetch_open_orders`
and `match_open_orders`. A cancel does not check first: an order the engine timed out is
cancelled before the candle that would have filled it is looked at, as Freqtrade's backtest
orders it.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any, cast

import pandas as pd

from core.clock import Clock
from core.errors import ConfigError, InsufficientFunds, OrderNotFound, OrderRejected
from store.models import PaperOrder, dec
from store.paper_orders import PaperOrders
from venues import paper_fills as fills
from venues import paper_stops
from venues.exchange import (
    Balance,
    Exchange,
    ExchangeOrderStatus,
    MarketRules,
    OrderBook,
    OrderRequest,
    OrderSnapshot,
    OrderType,
    Rounding,
    Side,
    Ticker,
)
from venues.paper_fills import CANCELED, CLOSED, EXPIRED, OPEN
from venues.precision import check_order_limits

logger = logging.getLogger(__name__)

class _Book:
    """The table as this process last read or wrote it."""

    def __init__(self, wallet: float, stake: str) -> None:
        self.totals: dict[str, Decimal] = defaultdict(Decimal, {stake: dec(wallet)})
        self.open: dict[str, PaperOrder] = {}  # by id, in the table's order
        self.ids: dict[str, str] = {}  # every row's order id, by client order id

    @classmethod
    def read(cls, table: PaperOrders, wallet: float, stake: str) -> _Book:
        book = cls(wallet, stake)
        for row in table.all():
            book.take(row, {})
        return book

    def take(self, row: PaperOrder, before: dict[str, Decimal]) -> None:
        """Count in a row as written: `before` is its fills' effect in the previous version."""
        with localcontext(fills.EXACT):
            for effect, sign in ((before, -1), (fills.effect(row), 1)):
                for currency, amount in effect.items():
                    self.totals[currency] += sign * amount
        self.ids[row.client_order_id] = row.id
        if row.status == OPEN:
            self.open[row.id] = row
        else:
            self.open.pop(row.id, None)


def snapshot(row: PaperOrder) -> OrderSnapshot:
    return OrderSnapshot(
        order_id=row.id,
        client_order_id=row.client_order_id,
        pair=row.pair,
        side=cast(Side, row.side),
        order_type="market" if row.order_type == "market" else "limit",
        status=cast(ExchangeOrderStatus, row.status),
        amount=row.amount,
        filled=row.filled,
        remaining=fills.remaining(row),
        price=row.price,
        average=row.average,
        cost=row.cost,
        fee_cost=row.fee_cost,
        fee_currency=row.fee_currency,
        timestamp=row.created_at,
        last_update=row.updated_at,
        stop_price=row.stop_price,
    )


class PaperExchange:
    """The dry-run `Exchange`: `source` for prices, `table` (paper_orders) for orders and
    balances."""

    def __init__(
        self,
        source: Exchange,
        clock: Clock,
        table: PaperOrders,
        *,
        wallet: float,
        stake_currency: str,
        fee: float | None = None,
        partial_fill_ratio: float | None = None,
        book_fills: bool = False,
    ) -> None:
        if partial_fill_ratio is not None and not 0 < partial_fill_ratio <= 1:
            raise ConfigError(
                f"partial_fill_ratio: expected a number in (0, 1], got {partial_fill_ratio}"
            )
        self._source = source
        self._clock = clock
        self._table = table
        self._wallet = wallet
        self._stake = stake_currency
        self._fee = fee
        self._ratio = partial_fill_ratio
        self._book_fills = book_fills
        # Read from the database on first use, so a restart picks up where it was.
        self._state: _Book | None = None

    # --- market data: the source's ------------------------------------------------------

    @property
    def name(self) -> str:
        return self._source.name

    async def load_markets(self, reload: bool = False) -> None:
        await self._source.load_markets(reload)

    def markets(self) -> Mapping[str, MarketRules]:
        return self._source.markets()

    def market_definitions(self, pairs: Iterable[str]) -> dict[str, dict[str, Any]]:
        return self._source.market_definitions(pairs)

    def use_markets(self, definitions: Mapping[str, Mapping[str, Any]]) -> None:
        self._source.use_markets(definitions)

    def rules(self, pair: str) -> MarketRules:
        return self._source.rules(pair)

    def round_amount(self, pair: str, amount: float) -> float:
        return self._source.round_amount(pair, amount)

    def round_price(self, pair: str, price: float, rounding: Rounding = Rounding.ROUND) -> float:
        return self._source.round_price(pair, price, rounding)

    async def fetch_tickers(self, pairs: list[str]) -> dict[str, Ticker]:
        return await self._source.fetch_tickers(pairs)

    async def fetch_ohlcv(
        self, pair: str, timeframe: str, since: datetime | None = None, limit: int | None = None
    ) -> pd.DataFrame:
        return await self._source.fetch_ohlcv(pair, timeframe, since, limit)

    def ohlcv_candle_limit(self, timeframe: str) -> int:
        return self._source.ohlcv_candle_limit(timeframe)

    async def fetch_order_book(self, pair: str, limit: int) -> OrderBook:
        return await self._source.fetch_order_book(pair, limit)

    async def close(self) -> None:
        await self._source.close()

    # --- balances -------------------------------------------------------------------------

    def _book(self) -> _Book:
        if self._state is None:
            self._state = _Book.read(self._table, self._wallet, self._stake)
        return self._state

    async def fetch_balance(self) -> dict[str, Balance]:
        totals, used = self._book().totals, self._used()
        currencies = {self._stake} | {c for c, v in totals.items() if v} | set(used)
        balances = {}
        for currency in sorted(currencies):
            total, locked = totals.get(currency, Decimal(0)), used.get(currency, Decimal(0))
            with localcontext(fills.EXACT):
                free = float(total - locked)
            balances[currency] = Balance(currency, free, float(locked), float(total))
        return balances

    def _used(self) -> dict[str, Decimal]:
        """Funds locked by open orders: quote (with fee) for buys, base for sells."""
        used: dict[str, Decimal] = defaultdict(Decimal)
        with localcontext(fills.EXACT):
            for row in self._book().open.values():
                base, quote = fills.currencies(row.pair)
                remaining = dec(row.amount) - dec(row.filled)
                if row.side == "buy":
                    rate = dec(self._fee_rate(self._source.rules(row.pair), "limit"))
                    used[quote] += remaining * dec(fills.price(row)) * (1 + rate)
                else:
                    used[base] += remaining
        return used

    def _free(self, currency: str) -> float:
        with localcontext(fills.EXACT):
            used = self._used().get(currency, Decimal(0))
            return float(self._book().totals.get(currency, Decimal(0)) - used)

    def _fee_rate(self, rules: MarketRules, order_type: OrderType) -> float:
        if self._fee is not None:
            return self._fee
        return rules.taker_fee if order_type == "market" else rules.maker_fee

    # --- orders ---------------------------------------------------------------------------

    async def create_order(self, request: OrderRequest) -> OrderSnapshot:
        """Place a simulated order; a client id seen before returns that order instead."""
        pair = request.pair
        ticker = (await self._source.fetch_tickers([pair])).get(pair)
        existing = self._row(self._book().ids.get(request.client_order_id))
        if existing is not None:
            return self._match(existing, ticker if existing.pair == pair else None)
        if ticker is None:
            raise OrderRejected(f"{pair}: no price at {self._clock.now().isoformat()}")
        rules = self._source.rules(pair)
        amount = self._source.round_amount(pair, request.amount)
        tif = request.time_in_force if request.order_type == "limit" else "GTC"
        book = await self._order_book(pair, request.order_type == "market" or tif != "GTC")
        price = fills.order_price(request, ticker, amount, book,
                                  lambda p: self._source.round_price(pair, p))
        check_order_limits(rules, amount, price)
        fee_rate = self._fee_rate(rules, "market" if tif != "GTC" else request.order_type)
        self._check_funds(rules, request.side, amount, price * (1 + fee_rate))
        if tif == "PO" and fills.would_take(request.side, price, book, ticker):
            raise OrderRejected(f"{pair}: post-only {request.side} at {price} would take")
        row = self._new_row(request, rules, amount, price)
        if request.stop_price is not None:
            row.stop_price = self._source.round_price(pair, request.stop_price)
            paper_stops.check_placeable(request, row.stop_price, ticker)
            row.order_type = paper_stops.WAITING
        elif request.order_type == "market":
            self._fill(row, amount, fee_rate)
        elif tif in ("IOC", "FOK"):
            self._fill_now(row, tif, book, ticker, fee_rate)
        elif fills.crosses(row, ticker):
            self._fill(row, self._fill_amount(row), fee_rate)
        taken = self._write(row, {}, insert=True)
        logger.info("paper order %s client_id=%s %s %s %s %s %s at %s (stop %s): %s", row.id,
                    row.client_order_id, request.order_type, tif, row.side, amount, pair, price,
                    row.stop_price, row.status)
        return taken

    async def _order_book(self, pair: str, needed: bool) -> OrderBook | None:
        if not (needed and self._book_fills):
            return None
        book = await self._source.fetch_order_book(pair, fills.BOOK_LEVELS)
        return fills.on_ticks(book, lambda level: self._source.round_price(pair, level))

    def _fill_now(self, row: PaperOrder, tif: str, book: OrderBook | None, ticker: Ticker,
                  fee_rate: float) -> None:
        """An IOC or FOK order: fill what crosses now (FOK: all or nothing), expire the rest."""
        amount = fills.remaining(row)
        if book is not None:
            part, average = fills.crossing(cast(Side, row.side), fills.price(row), amount, book)
        else:
            part, average = (amount, fills.price(row)) if fills.crosses(row, ticker) else (0, 0)
        if 0 < part < amount and tif == "IOC":
            with contextlib.suppress(OrderRejected):  # below one amount step: nothing fills
                self._fill(row, self._source.round_amount(row.pair, part), fee_rate, at=average)
        elif part >= amount:
            self._fill(row, amount, fee_rate, at=average)
        if row.status == OPEN:
            row.status = EXPIRED

    def _check_funds(self, rules: MarketRules, side: str, amount: float, unit: float) -> None:
        """`unit` is the quote needed per base unit bought, fee included."""
        currency, need = (rules.quote, amount * unit) if side == "buy" else (rules.base, amount)
        free = self._free(currency)
        if need > free and not math.isclose(need, free, rel_tol=1e-9, abs_tol=1e-12):
            raise InsufficientFunds(
                f"{rules.pair}: {side} of {amount} {rules.base} needs {need:.8g} {currency}"
                f"{' (fee included)' if side == 'buy' else ''}, only {free:.8g} {currency} free"
            )

    def _new_row(
        self, request: OrderRequest, rules: MarketRules, amount: float, price: float
    ) -> PaperOrder:
        number = len(self._book().ids) + 1
        now = self._clock.now()
        return PaperOrder(
            id=f"paper-{number}", client_order_id=request.client_order_id,
            pair=request.pair, side=request.side, order_type=request.order_type, price=price,
            amount=amount, filled=0.0, average=None, cost=0.0, fee_cost=0.0,
            fee_currency=rules.quote, status=OPEN, created_at=now, updated_at=now,
        )  # fmt: skip

    def _fill_amount(self, row: PaperOrder) -> float:
        remaining = fills.remaining(row)
        if self._ratio is None:
            return remaining
        try:
            part = self._source.round_amount(row.pair, remaining * self._ratio)
        except OrderRejected:  # less than one amount step
            return remaining
        return part if part > 0 else remaining

    def _fill(self, row: PaperOrder, amount: float, fee_rate: float, *,
              at: float | None = None) -> None:
        """Add a fill of `amount` at the order's price (or at `at`: an IOC's or FOK's levels,
        a triggered stop's price), each such order filling at one price."""
        price = fills.price(row) if at is None else at
        with localcontext(fills.EXACT):
            value = dec(amount) * dec(price)
            row.filled = float(dec(row.filled) + dec(amount))
            row.cost = float(dec(row.cost) + value)
            row.fee_cost = float(dec(row.fee_cost) + value * dec(fee_rate))
        row.average = price
        row.updated_at = self._clock.now()
        if fills.remaining(row) <= 0:
            row.status = CLOSED

    def _match(self, row: PaperOrder, ticker: Ticker | None) -> OrderSnapshot:
        """Fill an open limit order if the ticker's range reached its price; trigger a stop
        (venues/paper_stops.py)."""
        if row.status != OPEN or ticker is None:
            return snapshot(row)
        hit = paper_stops.triggered_at(row, ticker) if paper_stops.is_waiting(row) else None
        if hit is None and (paper_stops.is_waiting(row) or not fills.crosses(row, ticker)):
            return snapshot(row)
        before, row = fills.effect(row), self._table.copy(row)
        rules = self._source.rules(row.pair)
        if hit is not None:
            row.order_type = "limit"
            if hit < fills.price(row):  # fell through the limit: it rests until the price is back
                return self._write(row, before, insert=False)
        amount = self._fill_amount(row)
        self._fill(row, amount, self._fee_rate(rules, "limit" if hit is None else "market"),
                   at=hit)
        taken = self._write(row, before, insert=False)
        logger.info("paper order %s client_id=%s filled %s %s at %s: %s", row.id,
                    row.client_order_id, amount, row.pair, row.average, row.status)
        return taken

    def _write(self, row: PaperOrder, before: dict[str, Decimal], *, insert: bool
               ) -> OrderSnapshot:
        """Commit the row (one statement, applied whole or not at all); only then does the
        book take it in."""
        book = self._book()
        try:
            if insert:
                self._table.add(row)
            else:
                self._table.write(row)
        except BaseException:
            self._state = None  # what the table holds now is read again, not guessed
            raise
        taken = snapshot(row)
        if row.status == OPEN:
            self._table.as_stored(row)
        book.take(row, before)
        return taken

    def _row(self, order_id: str | None) -> PaperOrder | None:
        """An open order from the book; a finished one (it changes no more) from the table."""
        if order_id is None:
            return None
        row = self._book().open.get(order_id)
        return self._table.find(order_id) if row is None else row

    def _find(self, pair: str, order_id: str | None, client_order_id: str | None) -> PaperOrder:
        if order_id is not None:
            row = self._row(order_id)
        elif client_order_id is not None:
            row = self._row(self._book().ids.get(client_order_id))
        else:
            raise OrderNotFound(f"{pair}: an order id or a client order id is needed")
        if row is None or row.pair != pair:
            raise OrderNotFound(f"{pair}: no paper order with id {order_id or client_order_id!r}")
        return row

    async def fetch_order(
        self, pair: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderSnapshot:
        row = self._find(pair, order_id, client_order_id)
        if row.status == OPEN:
            ticker = (await self._source.fetch_tickers([pair])).get(pair)
            return self._match(self._find(pair, order_id, client_order_id), ticker)
        return snapshot(row)

    async def fetch_open_orders(self, pair: str | None = None) -> list[OrderSnapshot]:
        rows = [row for row in self._book().open.values() if pair in (None, row.pair)]
        if not rows:  # no ticker request for nothing
            return []
        tickers = await self._source.fetch_tickers(list(dict.fromkeys(r.pair for r in rows)))
        rows.sort(key=lambda row: cast(datetime, row.created_at))
        matched = [self._match(row, tickers.get(row.pair)) for row in rows]
        return [order for order in matched if order.status == OPEN]

    async def match_open_orders(self) -> list[OrderSnapshot]:
        """Check every open order against the current tickers (one call); the changed ones."""
        pairs = list(dict.fromkeys(row.pair for row in self._book().open.values()))
        if not pairs:
            return []
        tickers = await self._source.fetch_tickers(pairs)
        changed = []
        for row in list(self._book().open.values()):
            order = self._match(row, tickers.get(row.pair))
            if order.filled != row.filled:
                changed.append(order)
        return changed

    async def cancel_order(self, pair: str, order_id: str) -> OrderSnapshot:
        """Cancel an open order, keeping what it filled; a finished order is returned as is."""
        row = self._find(pair, order_id, None)
        if row.status != OPEN:
            return snapshot(row)
        before, row = fills.effect(row), self._table.copy(row)
        row.status = CANCELED
        row.updated_at = self._clock.now()
        taken = self._write(row, before, insert=False)
        logger.info("paper order %s client_id=%s canceled, %s of %s filled", row.id,
                    row.client_order_id, row.filled, row.amount)
        return taken
