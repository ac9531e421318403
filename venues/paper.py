"""The paper (dry-run) exchange: real prices from any source, simulated orders and wallet.

Market data (markets, rules, rounding, tickers, candles) comes from `source`: the live
exchange's public data or an `OfflineMarket`. Orders live in the `paper_orders` table, each
state change committed in its own transaction, because that table plays the part of the
exchange's own durable state: after a restart the wallet is `wallet` plus the effect of every
fill recorded there, and open orders carry on. Being the table's only writer, it keeps balances,
open orders and client order ids in memory: read on first use, changed only once a write has
committed, dropped (to be read again) when one fails.

Fill rules, kept simple on purpose:
- market orders fill at once, fully, at the ask (buy) or bid (sell), with the taker fee;
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

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Context, Decimal, localcontext
from typing import Any, cast

import pandas as pd

from core.clock import Clock
from core.errors import ConfigError, InsufficientFunds, OrderNotFound, OrderRejected
from store.models import PaperOrder, dec
from store.paper_orders import PaperOrders
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
from venues.precision import check_order_limits

logger = logging.getLogger(__name__)

# Exact decimal sums: the wallet must not depend on the order fills were added in, so that a
# restart (which sums every row again) finds the very same balances.
_EXACT = Context(prec=60)
OPEN, CLOSED, CANCELED = "open", "closed", "canceled"


def _currencies(pair: str) -> tuple[str, str]:
    base, _, rest = pair.partition("/")
    return base, rest.split(":")[0]


def _effect(row: PaperOrder) -> dict[str, Decimal]:
    """What the order's fills so far did to the balances."""
    base, quote = _currencies(row.pair)
    with localcontext(_EXACT):
        filled, value, fee = dec(row.filled), dec(row.cost), dec(row.fee_cost)
        if row.side == "buy":
            return {base: filled, quote: -(value + fee)}
        return {base: -filled, quote: value - fee}


def _remaining(row: PaperOrder) -> float:
    with localcontext(_EXACT):
        return float(dec(row.amount) - dec(row.filled))


def _price(row: PaperOrder) -> float:
    # The column is nullable for the exchange's sake; every paper order records its price.
    return cast(float, row.price)


def _crosses(row: PaperOrder, ticker: Ticker) -> bool:
    price = _price(row)
    return price >= ticker.low if row.side == "buy" else price <= ticker.high


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
        with localcontext(_EXACT):
            for effect, sign in ((before, -1), (_effect(row), 1)):
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
        order_type=cast(OrderType, row.order_type),
        status=cast(ExchangeOrderStatus, row.status),
        amount=row.amount,
        filled=row.filled,
        remaining=_remaining(row),
        price=row.price,
        average=row.average,
        cost=row.cost,
        fee_cost=row.fee_cost,
        fee_currency=row.fee_currency,
        timestamp=row.created_at,
        last_update=row.updated_at,
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
            with localcontext(_EXACT):
                free = float(total - locked)
            balances[currency] = Balance(currency, free, float(locked), float(total))
        return balances

    def _used(self) -> dict[str, Decimal]:
        """Funds locked by open orders: quote (with fee) for buys, base for sells."""
        used: dict[str, Decimal] = defaultdict(Decimal)
        with localcontext(_EXACT):
            for row in self._book().open.values():
                base, quote = _currencies(row.pair)
                remaining = dec(row.amount) - dec(row.filled)
                if row.side == "buy":
                    rate = dec(self._fee_rate(self._source.rules(row.pair), "limit"))
                    used[quote] += remaining * dec(_price(row)) * (1 + rate)
                else:
                    used[base] += remaining
        return used

    def _free(self, currency: str) -> float:
        with localcontext(_EXACT):
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
        price = self._order_price(request, ticker)
        check_order_limits(rules, amount, price)
        fee_rate = self._fee_rate(rules, request.order_type)
        self._check_funds(rules, request.side, amount, price * (1 + fee_rate))
        row = self._new_row(request, rules, amount, price)
        if request.order_type == "market":
            self._fill(row, amount, fee_rate)
        elif _crosses(row, ticker):
            self._fill(row, self._fill_amount(row), fee_rate)
        taken = self._write(row, {}, insert=True)
        logger.info(
            "paper order %s client_id=%s %s %s %s %s at %s: %s",
            row.id,
            row.client_order_id,
            request.order_type,
            row.side,
            amount,
            pair,
            price,
            row.status,
        )
        return taken

    def _order_price(self, request: OrderRequest, ticker: Ticker) -> float:
        if request.order_type == "market":
            # The quoted price as is: on replayed candles it is the candle open, the price a
            # Freqtrade backtest enters and exits at.
            return ticker.ask if request.side == "buy" else ticker.bid
        return self._source.round_price(request.pair, request.price)

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
        remaining = _remaining(row)
        if self._ratio is None:
            return remaining
        try:
            part = self._source.round_amount(row.pair, remaining * self._ratio)
        except OrderRejected:  # less than one amount step
            return remaining
        return part if part > 0 else remaining

    def _fill(self, row: PaperOrder, amount: float, fee_rate: float) -> None:
        """Add a fill of `amount` at the order's price; every fill of an order is at it."""
        with localcontext(_EXACT):
            value = dec(amount) * dec(_price(row))
            row.filled = float(dec(row.filled) + dec(amount))
            row.cost = float(dec(row.cost) + value)
            row.fee_cost = float(dec(row.fee_cost) + value * dec(fee_rate))
        row.average = row.price
        row.updated_at = self._clock.now()
        if _remaining(row) <= 0:
            row.status = CLOSED

    def _match(self, row: PaperOrder, ticker: Ticker | None) -> OrderSnapshot:
        """Fill an open limit order if the ticker's range reached its price."""
        if row.status != OPEN or ticker is None or not _crosses(row, ticker):
            return snapshot(row)
        before, row = _effect(row), self._table.copy(row)
        amount = self._fill_amount(row)
        self._fill(row, amount, self._fee_rate(self._source.rules(row.pair), "limit"))
        taken = self._write(row, before, insert=False)
        logger.info(
            "paper order %s client_id=%s filled %s %s at %s: %s",
            row.id,
            row.client_order_id,
            amount,
            row.pair,
            row.price,
            row.status,
        )
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
        before, row = _effect(row), self._table.copy(row)
        row.status = CANCELED
        row.updated_at = self._clock.now()
        taken = self._write(row, before, insert=False)
        logger.info(
            "paper order %s client_id=%s canceled, %s of %s filled",
            row.id,
            row.client_order_id,
            row.filled,
            row.amount,
        )
        return taken
