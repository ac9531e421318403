"""`self.dp`: the strategy's door to candles, analysed frames, markets and tickers, with
Freqtrade's names (`freqtrade.data.dataprovider.DataProvider`) and, in a backtest, Freqtrade's
backtest answers.

Where the candles come from is `CandleData`: live, dry-run and the offline demo read the
candle cache (closed candles only, informative pairs included); a backtest reads the files of
its data directory. The engine binds one provider per strategy (`Engine.configure`).

In a backtest (`RunMode.BACKTEST`) two phases differ, as in Freqtrade. While the strategy
analyses the whole range at once, `get_pair_dataframe` returns the whole loaded range and
`get_analyzed_dataframe` nothing. Once the replay runs (the provider has a clock), callbacks
see only what had closed at the current candle: `get_pair_dataframe` the candles opened before
the current candle of their timeframe, `get_analyzed_dataframe` the last 1000 analysed rows
before the current candle. `ohlcv` is empty, `ticker` is `{}` (history holds no tickers:
Freqtrade's backtest would ask the exchange for today's, which offline gives nothing), and
`orderbook` is refused (no history of order books; Freqtrade's would fetch today's live book).
Live, `orderbook` answers with the books the engine fetched ahead in this iteration
(`engine/orderbooks.py`) and refuses a book it did not fetch, rather than wait on the exchange.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from core.clock import Clock
from core.errors import StrategyError
from engine.informative import SPOT_CANDLES
from engine.orderbooks import OrderBooks
from engine.strategy import LogOnce
from marketdata.candles import empty_candles
from marketdata.timeframe import timeframe_to_prev_date
from venues.exchange import Exchange, MarketRules, OrderBook, Ticker

if TYPE_CHECKING:
    from engine.settings import Settings
    from engine.strategy import IStrategy

logger = logging.getLogger(__name__)

MAX_DATAFRAME_CANDLES = 1000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RunMode(StrEnum):
    """Freqtrade's run modes (`freqtrade.enums.RunMode`), with its values."""

    LIVE = "live"
    DRY_RUN = "dry_run"
    BACKTEST = "backtest"
    HYPEROPT = "hyperopt"
    UTIL_EXCHANGE = "util_exchange"
    UTIL_NO_EXCHANGE = "util_no_exchange"
    PLOT = "plot"
    WEBSERVER = "webserver"
    OTHER = "other"


class CandleData(Protocol):
    """The candles of a run and the frames the strategy made of them."""

    @property
    def runmode(self) -> RunMode: ...

    def candles(self, pair: str, timeframe: str) -> pd.DataFrame:
        """Closed candles (live), or the whole loaded range (backtest); empty if none."""
        ...

    def analyzed(self, pair: str) -> tuple[pd.DataFrame | None, datetime | None]:
        """The strategy's last analysed frame of `pair` and when it was made."""
        ...

    def available(self) -> list[tuple[str, str]]:
        """The (pair, timeframe) combinations held."""
        ...


class RunningEngine(Protocol):
    """What `provider_for` reads of the engine (`engine.engine.Engine`)."""

    @property
    def signals(self) -> CandleData: ...

    @property
    def exchange(self) -> Exchange: ...

    @property
    def tickers(self) -> Mapping[str, Ticker]: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def books(self) -> OrderBooks: ...

    @property
    def settings(self) -> Settings: ...

    def whitelist(self) -> list[str]: ...


def provider_for(engine: RunningEngine, strategy: IStrategy) -> DataProvider:
    """The `self.dp` the engine binds to `strategy`: its candle data, whitelist, markets and
    this iteration's tickers."""
    return DataProvider(engine.signals, strategy.timeframe,
                        stake_currency=engine.settings.stake_currency,
                        startup_candles=strategy.startup_candle_count,
                        whitelist=engine.whitelist, markets=engine.exchange.markets,
                        tickers=lambda: engine.tickers, clock=engine.clock,
                        books=engine.books)


class DataProvider:
    def __init__(self, data: CandleData, timeframe: str, *, stake_currency: str,
                 startup_candles: int, whitelist: Callable[[], list[str]],
                 markets: Callable[[], Mapping[str, MarketRules]],
                 tickers: Callable[[], Mapping[str, Ticker]], clock: Clock | None,
                 books: OrderBooks | None = None) -> None:
        self._data = data
        self.stake_currency = stake_currency
        self._startup = startup_candles
        self._timeframe = timeframe
        self._whitelist = whitelist
        self._markets = markets
        self._tickers = tickers
        self._books = books
        # A backtest's analysis phase has no clock: nothing is cut, nothing analysed yet.
        self._clock = clock
        # A pair without data is asked for once per candle: one line until it has some.
        self._log_once = LogOnce(logger)

    @property
    def runmode(self) -> RunMode:
        return self._data.runmode

    @property
    def _replaying(self) -> bool:
        return self.runmode is RunMode.BACKTEST and self._clock is not None

    @property
    def _trading(self) -> bool:
        return self.runmode in (RunMode.LIVE, RunMode.DRY_RUN)

    # --- candles -----------------------------------------------------------------------------

    def get_pair_dataframe(self, pair: str, timeframe: str | None = None,
                           candle_type: str = "") -> pd.DataFrame:
        """Candles of `pair` at `timeframe` (default: the strategy's): the cached closed ones
        live, the loaded history in a backtest, cut to the candles closed at the current
        candle while the backtest replays."""
        _spot(candle_type)
        timeframe = timeframe or self._timeframe
        frame = self._data.candles(pair, timeframe)
        if self._replaying and self._clock is not None and not frame.empty:
            cutoff = timeframe_to_prev_date(timeframe, self._clock.now())
            frame = frame.iloc[:_rows_before(frame, cutoff)]
        key = ("no data", pair, timeframe)
        if frame.empty:
            self._log_once.warning(key, "No data found for (%s, %s, %s).", pair, timeframe,
                                   candle_type or "spot")
        else:
            self._log_once.forget(key)
        return frame.copy()

    def historic_ohlcv(self, pair: str, timeframe: str, candle_type: str = "") -> pd.DataFrame:
        """The stored history: a backtest's loaded range, whole. Live runs keep no candle
        files, so there it is empty."""
        _spot(candle_type)
        if self._trading:
            return empty_candles()
        return self._data.candles(pair, timeframe).copy()

    def ohlcv(self, pair: str, timeframe: str | None = None, copy: bool = True,
              candle_type: str = "") -> pd.DataFrame:
        """The cached candles of a live run (closed only); empty in a backtest, as in
        Freqtrade."""
        _spot(candle_type)
        if not self._trading:
            return pd.DataFrame()
        frame = self._data.candles(pair, timeframe or self._timeframe)
        return frame.copy() if copy else frame

    def get_analyzed_dataframe(self, pair: str, timeframe: str
                               ) -> tuple[pd.DataFrame, datetime]:
        """The strategy's analysed frame of `pair` and when it was analysed; in a backtest's
        replay the last 1000 rows before the current candle. `(empty frame, 1970-01-01)` when
        there is none (another timeframe, or a backtest still analysing)."""
        frame, analysed_at = self._data.analyzed(pair)
        if frame is None or timeframe != self._timeframe \
                or (self.runmode is RunMode.BACKTEST and self._clock is None):
            return pd.DataFrame(), EPOCH
        if self._clock is not None and self.runmode is RunMode.BACKTEST:
            now = self._clock.now()
            # Before the candle trading now: the clock may stand inside it (detail candles).
            end = _rows_before(frame, timeframe_to_prev_date(self._timeframe, now))
            return frame.iloc[max(0, end - MAX_DATAFRAME_CANDLES):end], now
        return frame, analysed_at or EPOCH

    @property
    def available_pairs(self) -> list[tuple[str, str, str]]:
        """(pair, timeframe, candle type) of the candles held, Freqtrade's triples."""
        return [(pair, timeframe, "spot") for pair, timeframe in self._data.available()]

    def get_required_startup(self, timeframe: str) -> int:
        return self._startup

    # --- the exchange --------------------------------------------------------------------------

    def current_whitelist(self) -> list[str]:
        return list(self._whitelist())

    def market(self, pair: str) -> dict[str, Any] | None:
        """The pair's market in ccxt's unified shape, or None when the exchange has none."""
        rules = self._markets().get(pair)
        return None if rules is None else market_dict(rules)

    def ticker(self, pair: str) -> dict[str, Any]:
        """This iteration's ticker of `pair` in ccxt's shape; `{}` when there is none (a pair
        not traded this iteration) and always in a backtest."""
        if not self._trading:
            return {}
        ticker = self._tickers().get(pair)
        return {} if ticker is None else ticker_dict(ticker)

    def orderbook(self, pair: str, maximum: int) -> dict[str, Any]:
        """The pair's L2 book in ccxt's shape (`bids`/`asks`: [price, amount], best first, at
        most `maximum` levels), as the engine fetched it in this iteration. Raises when it
        has none: a backtest has no history of order books, and live the first ask for a
        pair the engine did not fetch ahead is refused (fetched from the next iteration)."""
        if not self._trading or self._books is None:
            raise StrategyError(
                f"dp.orderbook({pair!r}, {maximum}): a backtest has no history of order "
                "books (Freqtrade's would fetch today's live book); refused")
        book = self._books.book(pair, maximum)
        if book is None:
            raise StrategyError(
                f"dp.orderbook({pair!r}, {maximum}): no {maximum}-level book of {pair} was "
                "fetched in this iteration; it is fetched ahead from the next one on")
        return book_dict(book, maximum)


def _rows_before(frame: pd.DataFrame, when: datetime) -> int:
    """How many of the frame's (sorted) candles opened before `when`: a callback asks once
    per trade and candle, so no whole-column comparison."""
    return int(frame["date"].searchsorted(pd.Timestamp(when), side="left"))


def _spot(candle_type: str) -> None:
    if candle_type not in SPOT_CANDLES:
        raise StrategyError(f"candle_type={candle_type!r}: tradepilot trades spot only; "
                            "expected '' or 'spot'")


def market_dict(rules: MarketRules) -> dict[str, Any]:
    """ccxt's unified market fields that strategies read (precision as steps)."""
    return {
        "id": rules.pair.replace("/", ""), "symbol": rules.pair, "base": rules.base,
        "quote": rules.quote, "active": rules.active, "type": "spot", "spot": True,
        "margin": False, "swap": False, "future": False, "option": False, "contract": False,
        "maker": rules.maker_fee, "taker": rules.taker_fee,
        "precision": {"amount": rules.amount_step, "price": rules.price_tick},
        "limits": {"amount": {"min": rules.min_amount, "max": rules.max_amount},
                   "cost": {"min": rules.min_cost, "max": rules.max_cost},
                   "price": {"min": None, "max": None}},
    }  # fmt: skip


def ticker_dict(ticker: Ticker) -> dict[str, Any]:
    """A ticker in ccxt's unified shape (the fields a snapshot has)."""
    stamp = int(ticker.time.timestamp() * 1000)
    return {
        "symbol": ticker.pair, "timestamp": stamp, "datetime": ticker.time.isoformat(),
        "bid": ticker.bid, "ask": ticker.ask, "last": ticker.last, "close": ticker.last,
        "open": ticker.open, "high": ticker.high, "low": ticker.low,
    }  # fmt: skip


def book_dict(book: OrderBook, maximum: int) -> dict[str, Any]:
    """A book in ccxt's unified shape, `maximum` levels a side."""
    stamp = None if book.timestamp is None else int(book.timestamp.timestamp() * 1000)
    return {
        "symbol": book.pair, "bids": [list(level) for level in book.bids[:maximum]],
        "asks": [list(level) for level in book.asks[:maximum]], "timestamp": stamp,
        "datetime": None if book.timestamp is None else book.timestamp.isoformat(),
        "nonce": book.nonce,
    }  # fmt: skip
