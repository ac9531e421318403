"""Backtests: history replayed through the live `Engine`, one candle per iteration.

Nothing here decides a trade. The driver prepares the data as Freqtrade's backtester does
(`reference/backtest-rules.md` D1-D3, P1), computes every signal once per pair over the whole
range, then steps the real engine on a `ManualClock` over an `OfflineMarket` and a
`PaperExchange` with an in-memory database: sizing, exits, locks and protections are the live
ones. At clock time t the replayed ticker spans candle t and the signals are those of candle
t - 1, the last closed one, which is Freqtrade's signal shift.

With `backtest.freqtrade_compat` (the default) four rules that exist only because of how
Freqtrade's backtester prices a candle are applied around the engine, never inside it: every
order type is a limit order (Freqtrade fills each exit at its computed price whatever the
order type), the price tick comes from the data (P1), no entry is made on the last candle
(L4), and trades still open at the end are sold at the open of their pair's last candle (F1).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from backtest.detail import detail_steps, from_range_start, release_round_trips
from backtest.history import BacktestData, BacktestHistory
from backtest.orders import BacktestOrder, filled_orders, held_at_close
from backtest.ticks import MonthlyTicks, data_ticks
from core.clock import ManualClock
from core.errors import CommandError, ConfigError, StrategyError
from engine.analysis import Analyzer, Signal
from engine.control.commands import Commands
from engine.dataprovider import DataProvider, RunMode
from engine.engine import Engine
from engine.events import LogNotifier
from engine.informative import requested_candles
from engine.pairlists.manager import check_backtest
from engine.settings import OrderTypes, Settings, TimeInForce
from engine.strategy import ALL_PAIRS, IStrategy, LogOnce, safe_call
from marketdata.candles import CANDLE_COLUMNS
from marketdata.files import TimeRange, load_pair_data
from marketdata.timeframe import timeframe_to_timedelta
from store import schema
from store.paper_orders import PaperOrders
from store.store import Store
from store.write_behind import WriteBehind
from venues.offline import OfflineMarket
from venues.paper import PaperExchange
from venues.precision import rules_from_market

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, datetime], None]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Freqtrade's backtester fills every order at the price it computed: all limit orders.
LIMIT_ONLY = OrderTypes(entry="limit", exit="limit", force_entry="limit", force_exit="limit",
                        emergency_exit="limit", stoploss="limit", stoploss_on_exchange=False)


@dataclass(frozen=True, slots=True)
class BacktestTrade:
    """One closed trade of a backtest, as exported (`--export`) and reported."""

    trade_id: int
    pair: str
    open_date: datetime
    close_date: datetime
    open_rate: float
    close_rate: float
    amount: float
    stake_amount: float
    exit_reason: str
    enter_tag: str | None
    profit_ratio: float
    profit_abs: float
    orders: tuple[BacktestOrder, ...] = ()

    @property
    def duration(self) -> timedelta:
        return self.close_date - self.open_date

    def to_json(self) -> dict[str, Any]:
        return {
            "pair": self.pair, "open_date": iso(self.open_date),
            "close_date": iso(self.close_date), "open_rate": self.open_rate,
            "close_rate": self.close_rate, "amount": self.amount,
            "stake_amount": self.stake_amount, "exit_reason": self.exit_reason,
            "enter_tag": self.enter_tag, "profit_ratio": self.profit_ratio,
            "profit_abs": self.profit_abs,
            "trade_duration": int(self.duration.total_seconds() // 60),
            "orders": [order.to_json() for order in self.orders],
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class BacktestResult:
    strategy: str
    timeframe: str
    pairs: tuple[str, ...]
    start: datetime  # open time of the first replayed candle
    end: datetime  # open time of the last one
    starting_balance: float
    stake_currency: str
    trades: tuple[BacktestTrade, ...]
    candles: int  # replayed candles over all pairs
    simulation_seconds: float
    # The first candle after the startup candles (Freqtrade's "Backtesting from"): the first
    # replayed candle trades on its signal.
    range_start: datetime
    closes: dict[str, list[float]]  # each pair's closes from range_start on (market change)


def iso(when: datetime) -> str:
    """ISO 8601 UTC with a Z, as Freqtrade exports dates: 2018-01-10T08:05:00Z."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- data ------------------------------------------------------------------------------------


def load_data(datadir: str, pairs: Iterable[str], timeframe: str, timerange: TimeRange | None,
              startup_candles: int) -> dict[str, pd.DataFrame]:
    """Candles of every pair, gaps filled, with the startup candles before the range start
    when the files have them (D1, D2)."""
    if timerange is not None and timerange[0] is not None:
        warmup = timeframe_to_timedelta(timeframe) * startup_candles
        timerange = (timerange[0] - warmup, timerange[1])
    return load_pair_data(datadir, pairs, timeframe, timerange)


def market_definitions(markets: Iterable[Mapping[str, Any]], pairs: Iterable[str], *,
                       fee: float | None = None) -> list[dict[str, Any]]:
    """The ccxt markets of `pairs`, with the backtest fee applied."""
    by_symbol = {m.get("symbol"): m for m in markets}
    missing = [p for p in pairs if p not in by_symbol]
    if missing:
        raise ConfigError(f"markets: no definition for {', '.join(missing)}; expected them in "
                          "the markets file (--markets) or on the exchange")
    chosen = []
    for pair in pairs:
        market = copy.deepcopy(dict(by_symbol[pair]))
        if fee is not None:
            market["maker"] = market["taker"] = fee
        chosen.append(market)
    return chosen


def analyze(strategy: IStrategy, frames: Mapping[str, pd.DataFrame],
            history: BacktestHistory | None = None, *,
            markets: Iterable[Mapping[str, Any]] = (), stake_currency: str = "",
            signals: bool = True) -> dict[str, pd.DataFrame]:
    """Indicators and signals over each pair's whole frame, once (vectorized, as Freqtrade),
    with `strategy.dp` reading `history` as in Freqtrade's analysis (nothing cut yet) and
    `markets` for `dp.market`. Without `signals`, the indicators only (hyperopt's first half;
    `populate_signals` is the second)."""
    history = history or BacktestHistory(frames, strategy.timeframe)
    _bind_for_analysis(strategy, history, list(frames), markets, stake_currency)
    return _populate_all(strategy, frames, history, signals=signals)


def populate_signals(strategy: IStrategy, indicators: Mapping[str, pd.DataFrame],
                     history: BacktestHistory) -> dict[str, pd.DataFrame]:
    """populate_entry_trend and populate_exit_trend on frames `analyze` gave indicators."""
    return _populate_all(strategy, indicators, history, indicators=False)


def _populate_all(strategy: IStrategy, frames: Mapping[str, pd.DataFrame],
                  history: BacktestHistory, *, indicators: bool = True, signals: bool = True
                  ) -> dict[str, pd.DataFrame]:
    analyzer = Analyzer(strategy, strategy.timeframe, log_once=_AnalysisLog(logger))
    analyzed = {}
    for pair, frame in frames.items():
        result = analyzer.populate(pair, frame, indicators=indicators, signals=signals)
        if result is None:
            if history.missing is not None:
                raise history.missing
            raise ConfigError(f"strategy {type(strategy).__name__} failed to analyze {pair} "
                              "(see the log above); expected populate_* to return the frame")
        analyzed[pair] = result
    return analyzed


class _AnalysisLog(LogOnce):
    """The strategy fence's log while a backtest analyses: a missing data file is raised as
    one line naming it (`BacktestHistory.missing`), not logged with a traceback."""

    def log(self, level: int, key: Hashable, msg: str, *args: object,
            exc_info: BaseException | None = None) -> bool:
        if isinstance(exc_info, ConfigError):
            return False
        return super().log(level, key, msg, *args, exc_info=exc_info)


def _bind_for_analysis(strategy: IStrategy, history: BacktestHistory, pairs: list[str],
                       markets: Iterable[Mapping[str, Any]], stake_currency: str) -> list[str]:
    """Give the strategy its `dp` for the analysis, and read every informative file it
    declares now, so a missing one is named before anything runs. Returns the informative
    pairs that have a market, for the replay's market definitions."""
    rules = {m["symbol"]: rules_from_market(dict(m)) for m in markets if "symbol" in m}
    strategy.dp = DataProvider(BacktestData(history, None), strategy.timeframe,
                               stake_currency=stake_currency,
                               startup_candles=strategy.startup_candle_count,
                               whitelist=lambda: list(pairs), markets=lambda: rules,
                               tickers=dict, clock=None)
    strategy.config["runmode"] = strategy.dp.runmode
    # Freqtrade's backtest never asks: a failing informative_pairs() is logged, not fatal.
    declared = safe_call(ALL_PAIRS, strategy.informative_pairs, default=[],
                         log_once=LogOnce(logger))
    try:
        wanted = requested_candles(strategy, declared, pairs, strategy.dp.market,
                                   stake_currency)
    except (StrategyError, ValueError, TypeError) as exc:
        raise ConfigError(f"strategy {type(strategy).__name__}: informative pairs: {exc}"
                          ) from None
    for pair, timeframe in wanted:
        history.candles(pair, timeframe)
    return [pair for pair, _ in wanted if pair in rules and pair not in pairs]


# --- signals ---------------------------------------------------------------------------------


class PrecomputedSignals:
    """The backtest's `SignalSource`: signals computed once, read as the clock moves.

    At clock time `now` (a candle open) the signal is the one of the candle before, the last
    one closed, through the same `Analyzer` lookup a live run uses.
    """

    def __init__(self, analyzer: Analyzer, timeframe: str,
                 history: BacktestHistory | None = None) -> None:
        self._analyzer = analyzer
        self._data = BacktestData(history or BacktestHistory({}, timeframe), analyzer)
        self._step = timeframe_to_timedelta(timeframe)
        self._candle: datetime | None = None
        self._signals: dict[str, Signal | None] = {}

    async def refresh(self, pairs: list[str], now: datetime) -> None:
        # Inside a candle (detail steps), still the candle before the one trading now.
        candle = now - (now - _EPOCH) % self._step - self._step
        if candle != self._candle:
            self._candle = candle
            self._signals.clear()

    def signal(self, pair: str) -> Signal | None:
        if self._candle is None:
            return None
        if pair not in self._signals:
            self._signals[pair] = self._analyzer.signal_at(pair, self._candle)
        return self._signals[pair]

    def use(self, strategy: IStrategy) -> None:
        raise CommandError("A backtest keeps the strategy its signals were computed with.")

    # --- CandleData: what `self.dp` reads while the replay runs ------------------------------

    @property
    def runmode(self) -> RunMode:
        return RunMode.BACKTEST

    def candles(self, pair: str, timeframe: str) -> pd.DataFrame:
        return self._data.candles(pair, timeframe)

    def analyzed(self, pair: str) -> tuple[pd.DataFrame | None, datetime | None]:
        return self._data.analyzed(pair)

    def available(self) -> list[tuple[str, str]]:
        return self._data.available()


# --- the run ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Replay:
    """What the loop steps over: OHLCV from each pair's first tradable candle, and when."""

    candles: dict[str, pd.DataFrame]
    start: datetime
    end: datetime
    last: dict[str, datetime]  # each pair's last candle
    range_start: datetime  # the first candle after the startup candles

    @classmethod
    def of(cls, analyzed: Mapping[str, pd.DataFrame], startup: int) -> _Replay:
        # D2 and D3: the startup rows are dropped, and the first row left only lends its signal.
        candles = {pair: frame.loc[:, list(CANDLE_COLUMNS)].iloc[startup + 1:]
                   .reset_index(drop=True) for pair, frame in analyzed.items()}
        candles = {pair: frame for pair, frame in candles.items() if not frame.empty}
        if not candles:
            raise ConfigError(f"no candles left to backtest after the {startup} startup "
                              "candles; expected a longer time range")
        last = {p: f["date"].iloc[-1].to_pydatetime() for p, f in candles.items()}
        start = min(f["date"].iloc[0] for f in candles.values()).to_pydatetime()
        range_start = min(analyzed[p]["date"].iloc[startup] for p in candles).to_pydatetime()
        return cls(candles, start, max(last.values()), last, range_start)


def range_closes(analyzed: Mapping[str, pd.DataFrame], since: datetime
                 ) -> dict[str, list[float]]:
    return {pair: frame.loc[frame["date"] >= since, "close"].dropna().tolist()
            for pair, frame in analyzed.items()}


def backtest_settings(settings: Settings) -> Settings:
    """The settings a backtest runs with: paper trading from a running start, orders good
    till cancelled (Freqtrade's backtest has no time in force); with freqtrade_compat, limit
    orders only. Pairlists Freqtrade's backtest refuses are refused."""
    for warning in check_backtest(settings.pairlists):
        logger.warning("%s", warning)
    settings = replace(settings, dry_run=True, initial_state="running",
                       order_time_in_force=TimeInForce())
    if settings.backtest.freqtrade_compat:
        settings = replace(settings, order_types=LIMIT_ONLY)
    return settings


async def run(settings: Settings, strategy: IStrategy, frames: Mapping[str, pd.DataFrame],
              markets: Iterable[Mapping[str, Any]], *, fee: float | None = None,
              progress: Progress | None = None, protections: bool = True,
              history: BacktestHistory | None = None,
              detail: Mapping[str, pd.DataFrame] | None = None,
              analyzed: Mapping[str, pd.DataFrame] | None = None) -> BacktestResult:
    """Backtest `strategy` on `frames` (loaded candles, startup included) with `settings`
    (already through `backtest_settings`, its overrides applied to `strategy`); without
    `protections` the strategy's protections are left out (`backtest --enable-protections`).
    Other pairs and timeframes the strategy reads come from `history` (the data directory).
    `detail` holds each pair's candles of `settings.timeframe_detail`, through which every
    candle is stepped (`backtest/detail.py`).

    The run has a database of its own, a fresh in-memory SQLite, closed when the trades have
    been read from it.
    """
    if bool(settings.timeframe_detail) != bool(detail):
        raise ConfigError("timeframe_detail: expected the detail candles with the detail "
                          "timeframe (backtest.detail.load_detail)")
    compat = settings.backtest.freqtrade_compat
    markets = list(markets)
    history = history or BacktestHistory(frames, strategy.timeframe)
    informative = _bind_for_analysis(strategy, history, list(frames), markets,
                                     settings.stake_currency)
    if analyzed is None:
        analyzed = _populate_all(strategy, frames, history)
    replay = _Replay.of(analyzed, strategy.startup_candle_count)
    definitions = market_definitions(markets, [*replay.candles, *informative], fee=fee)
    if detail:
        detail = from_range_start(detail, replay.range_start)
    database = schema.init_db("sqlite:///:memory:")
    try:
        held = WriteBehind(database)  # nobody else reads this database: no write waits
        store = Store(database, held)
        clock = ManualClock(replay.start)
        market = OfflineMarket(replay.candles, strategy.timeframe, definitions, clock,
                               detail=detail, detail_timeframe=settings.timeframe_detail)
        exchange = PaperExchange(market, clock, PaperOrders(database, held),
                                 wallet=settings.dry_run_wallet,
                                 stake_currency=settings.stake_currency, fee=fee)
        analyzer = Analyzer(strategy, strategy.timeframe)
        for pair, frame in analyzed.items():
            analyzer.set_frame(pair, frame)
        signals = PrecomputedSignals(analyzer, strategy.timeframe, history)
        engine = Engine(settings, exchange, strategy, clock, LogNotifier(keep=10), signals,
                        store)
        if not protections:
            engine.protections = []
        ticks = MonthlyTicks(market, {pair: data_ticks(frames[pair]) for pair in replay.candles},
                              store) if compat else None
        began = time.perf_counter()
        steps = detail_steps(strategy.timeframe, settings.timeframe_detail if detail else None)
        await _step_through(Commands(engine, store), clock, replay, compat, ticks, progress,
                            steps)
        market.drop_detail()
        await _exit_at_the_end(Commands(engine, store), clock, replay)
        elapsed = time.perf_counter() - began
        trades = closed_trades(store)
    finally:
        schema.close_db()
    return BacktestResult(
        strategy=type(strategy).__name__, timeframe=strategy.timeframe,
        pairs=tuple(replay.candles), start=replay.start, end=replay.end,
        starting_balance=settings.dry_run_wallet, stake_currency=settings.stake_currency,
        trades=trades, candles=sum(len(f) for f in replay.candles.values()),
        simulation_seconds=elapsed, range_start=replay.range_start,
        closes=range_closes(analyzed, replay.range_start),
    )  # fmt: skip


async def _step_through(commands: Commands, clock: ManualClock, replay: _Replay, compat: bool,
                        ticks: MonthlyTicks | None, progress: Progress | None,
                        steps: tuple[timedelta, ...]) -> None:
    step = timeframe_to_timedelta(commands.engine.strategy.timeframe)
    total = int((replay.end - replay.start) / step) + 1
    await commands.startup()
    for index in range(total):
        candle = replay.start + step * index
        for offset in steps:
            now = candle + offset
            clock.set(now)
            if ticks is not None:
                ticks.apply(now)
            if compat and now == replay.end:
                await commands.pause()  # L4: nothing enters on the last candle...
            elif compat and candle == replay.end:
                await commands.start()  # ...but on its later detail candles, as in Freqtrade
            detail = compat and len(steps) > 1
            held = {t.pair for t in commands.store.open_trades()} if detail else set()
            await commands.process()
            if detail:
                release_round_trips(commands.store, now, held)
        if progress is not None:
            progress(index + 1, total, candle)


async def _exit_at_the_end(commands: Commands, clock: ManualClock, replay: _Replay) -> None:
    """F1: trades still open are sold at the open of their pair's last candle."""
    engine = commands.engine
    for trade in commands.store.open_trades():
        clock.set(replay.last[trade.pair])
        engine.tickers.update(await engine.exchange.fetch_tickers([trade.pair]))
        try:
            await commands.force_exit(trade.id)
        except CommandError as exc:
            logger.warning("trade=%s pair=%s still open at the end: %s", trade.id, trade.pair,
                           exc)


def closed_trades(store: Store) -> tuple[BacktestTrade, ...]:
    """The database's closed trades, ordered by open date, then by order of entry; a trade's
    amount is what its last exit sold (all it bought, unless it was partly sold before)."""
    bought = store.entered_amounts()
    closed = sorted(store.closed_trades(), key=lambda t: (t.open_date, t.id))
    orders_of = store.orders_of_closed_trades()
    trades = []
    for t in closed:
        orders = filled_orders(orders_of.get(t.id, []))
        held = held_at_close(orders)
        trades.append(BacktestTrade(
            trade_id=t.id, pair=t.pair, open_date=t.open_date, close_date=t.close_date,
            open_rate=t.open_rate, close_rate=t.close_rate or 0.0,
            amount=held if held is not None else bought.get(t.id, 0.0),
            stake_amount=t.max_stake_amount, exit_reason=t.exit_reason or "",
            enter_tag=t.enter_tag, profit_ratio=t.close_profit or 0.0,
            profit_abs=t.close_profit_abs or 0.0, orders=orders,
        ))  # fmt: skip
    return tuple(trades)
