"""The strategy contract, with Freqtrade's names and meanings, and the fence around user code.

A strategy is a class with three DataFrame methods (`populate_indicators`, `populate_entry_trend`,
`populate_exit_trend`) and optional keyword-only callbacks. A Freqtrade strategy file runs as it
is (the loader answers its `freqtrade.*` imports, engine/freqtrade_names/); the one-line port,
`from engine.strategy import IStrategy`, works too.

The engine calls strategy code only through `safe_call` (callbacks) and `safe_populate`
(DataFrame methods): an exception there is logged once and turned into a default value or a
`StrategyError`, so user code can skip a pair for an iteration but never stop the bot. Callbacks
receive `TradeSnapshot`s, frozen copies, never database rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from core.errors import ConfigError, StrategyError

# The config's own parsers, so a bad strategy value reads like a bad config value.
from engine.config import _order_types, _time_in_force, _timeout
from engine.freqtrade_names.enums import MarketDirection
from engine.log_once import LogOnce
from engine.settings import STRATEGY_KEYS, OrderTypes, TimeInForce, UnfilledTimeout
from engine.strategy_order import OrderInfo
from marketdata.timeframe import timeframe_to_next_date
from store.models import Order, OrderStatus, Trade

if TYPE_CHECKING:
    from engine.dataprovider import DataProvider
    from engine.strategy_runtime import RuntimeSlot, StrategyRuntime, StrategyWallets
    from venues.exchange import OrderSnapshot

logger = logging.getLogger(__name__)

ALL_PAIRS: Final = "*"
# Order statuses of an order that is done: Freqtrade's select_filled_orders looks at these.
_ENDED: Final = frozenset({OrderStatus.FILLED.value, OrderStatus.CANCELED.value})


class _Raise:
    def __repr__(self) -> str:
        return "RAISE"


# Pass as `default` to get a StrategyError instead of a fallback value.
RAISE: Final = _Raise()


def safe_call(pair: str, fn: Callable[..., Any], *, default: Any, log_once: LogOnce,
              **kwargs: Any) -> Any:
    """Call the strategy callback `fn(pair=pair, **kwargs)` inside the fence.

    `pair` is passed on unless it is ALL_PAIRS (callbacks such as `bot_loop_start` that are
    about no one pair). An exception is logged once per (pair, callback, message) and gives
    `default`, or a StrategyError when `default` is RAISE; nothing else ever propagates.
    """
    call_kwargs = kwargs if pair == ALL_PAIRS else {"pair": pair, **kwargs}
    return _fenced(pair, fn, (), call_kwargs, default, log_once)


def safe_populate(pair: str, fn: Callable[..., Any], dataframe: pd.DataFrame,
                  metadata: dict[str, Any], *, log_once: LogOnce) -> pd.DataFrame:
    """Run one of the strategy's DataFrame methods inside the fence.

    There is no sane default for a frame, so any failure, including not returning a
    DataFrame, is a StrategyError (logged once) that skips the pair for this iteration.
    """
    result = _fenced(pair, fn, (dataframe, metadata), {}, RAISE, log_once)
    if not isinstance(result, pd.DataFrame):
        name = getattr(fn, "__name__", repr(fn))
        text = f"{name} returned {type(result).__name__}, expected a DataFrame"
        log_once.error((pair, name, text), "strategy: %s for %s; pair skipped", text, pair)
        raise StrategyError(f"{pair}: {text}")
    return result


def _fenced(pair: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
            default: Any, log_once: LogOnce) -> Any:
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        name = getattr(fn, "__name__", repr(fn))
        text = f"{type(exc).__name__}: {exc}"
        outcome = "pair skipped this iteration" if default is RAISE else f"using {default!r}"
        log_once.log(logging.ERROR, (pair, name, text),
                     "strategy: %s raised for %s: %s (%s; logged once)", name, pair, text,
                     outcome, exc_info=exc)
        if default is RAISE:
            raise StrategyError(f"{name} failed for {pair}: {text}") from exc
        return default


@dataclass(frozen=True, slots=True)
class TradeSnapshot:
    """A read-only copy of a trade, what strategy callbacks get as `trade`.

    It carries the fields Freqtrade strategies commonly read; changing it is impossible, so a
    strategy can never corrupt a trade.
    """

    id: int
    pair: str
    open_rate: float
    open_date: datetime
    amount: float
    stake_amount: float
    enter_tag: str | None
    is_open: bool
    fee_open: float
    fee_close: float
    stop_loss: float
    initial_stop_loss: float
    max_rate: float | None
    min_rate: float | None
    exit_reason: str | None
    open_trade_value: float
    nr_of_successful_entries: int
    is_short: bool = False
    leverage: float = 1.0
    close_date: datetime | None = None
    close_rate: float | None = None
    close_profit: float | None = None
    close_profit_abs: float | None = None
    realized_profit: float = 0.0
    max_stake_amount: float = 0.0
    nr_of_successful_exits: int = 0
    has_open_orders: bool = False
    stake_currency: str = ""
    orders: tuple[OrderInfo, ...] = ()

    @property
    def open_date_utc(self) -> datetime:
        """Freqtrade's name for the (already UTC) open date."""
        return self.open_date

    @property
    def close_date_utc(self) -> datetime | None:
        return self.close_date

    @property
    def buy_tag(self) -> str | None:
        """Freqtrade's interface-2 name of `enter_tag`."""
        return self.enter_tag

    @property
    def sell_reason(self) -> str | None:
        """Freqtrade's interface-2 name of `exit_reason`."""
        return self.exit_reason

    @property
    def trade_direction(self) -> str:
        return "long"

    @property
    def entry_side(self) -> str:
        return "buy"

    @property
    def exit_side(self) -> str:
        return "sell"

    def select_filled_orders(self, order_side: str | None = None) -> list[OrderInfo]:
        """The trade's orders that are done and filled something, of one side or both."""
        return [o for o in self.orders if o.filled > 0 and o.status in _ENDED
                and order_side in (None, o.ft_order_side)]

    def calc_profit(self, rate: float) -> float:
        """Profit in stake currency of selling the whole position at `rate`, fees included."""
        money = Trade(amount=self.amount, fee_close=self.fee_close,
                      open_trade_value=self.open_trade_value)
        return float(money.profit_abs(rate))

    def calc_profit_ratio(self, rate: float) -> float:
        """Profit ratio of selling the whole position at `rate`, fees on both sides."""
        money = Trade(amount=self.amount, fee_close=self.fee_close,
                      open_trade_value=self.open_trade_value)
        return float(money.profit_ratio(rate))

    @classmethod
    def from_trade(cls, trade: Any, orders: Iterable[Order]) -> TradeSnapshot:
        """Copy a trade (a models.Trade or anything with its attributes), given its orders."""
        orders = list(orders)
        # Freqtrade counts the orders done with a fill, not one still filling.
        entries = sum(1 for o in orders if o.is_entry and o.filled > 0 and not o.is_open)
        exits = sum(1 for o in orders if not o.is_entry and o.filled > 0 and not o.is_open)
        return cls(
            id=trade.id, pair=trade.pair, open_rate=trade.open_rate, open_date=trade.open_date,
            amount=trade.amount, stake_amount=trade.stake_amount, enter_tag=trade.enter_tag,
            is_open=trade.is_open, fee_open=trade.fee_open, fee_close=trade.fee_close,
            stop_loss=trade.stop_loss, initial_stop_loss=trade.initial_stop_loss,
            max_rate=trade.max_rate, min_rate=trade.min_rate, exit_reason=trade.exit_reason,
            open_trade_value=trade.open_trade_value, nr_of_successful_entries=entries,
            is_short=trade.is_short, leverage=trade.leverage, close_date=trade.close_date,
            close_rate=trade.close_rate, close_profit=trade.close_profit,
            close_profit_abs=trade.close_profit_abs, realized_profit=trade.realized_profit,
            max_stake_amount=trade.max_stake_amount, nr_of_successful_exits=exits,
            has_open_orders=any(order.is_open for order in orders),
            stake_currency=trade.stake_currency,
            orders=tuple(OrderInfo.from_order(order) for order in orders),
        )  # fmt: skip


class IStrategy:
    """Base class of every strategy. Attributes and methods mean what they mean in Freqtrade.

    Spot, long only: `can_short` must stay False. The `side` parameters of the callbacks are
    kept so short trading can follow.
    """

    INTERFACE_VERSION: int = 3

    # Set by the strategy or the config; the loader refuses to start without them.
    timeframe: str
    stoploss: float
    # {"<minutes since the trade opened>": ratio}: exit once the profit is above the ratio.
    minimal_roi: Mapping[str, float] = MappingProxyType({})

    trailing_stop: bool = False
    trailing_stop_positive: float | None = None
    trailing_stop_positive_offset: float = 0.0
    trailing_only_offset_is_reached: bool = False
    use_custom_stoploss: bool = False

    use_exit_signal: bool = True
    exit_profit_only: bool = False
    exit_profit_offset: float = 0.0
    ignore_roi_if_entry_signal: bool = False

    process_only_new_candles: bool = True
    startup_candle_count: int = 0
    ignore_buying_expired_candle_after: int = 0  # seconds; 0 takes every entry signal

    order_types: Mapping[str, Any] | OrderTypes = MappingProxyType({
        "entry": "limit", "exit": "limit", "stoploss": "limit", "stoploss_on_exchange": False,
    })  # fmt: skip
    unfilledtimeout: Mapping[str, Any] | UnfilledTimeout = MappingProxyType({})
    order_time_in_force: Mapping[str, Any] | TimeInForce = MappingProxyType({
        "entry": "GTC", "exit": "GTC"})
    protections: Sequence[Mapping[str, Any]] = ()

    can_short: bool = False
    position_adjustment_enable: bool = False
    max_entry_position_adjustment: int = -1  # additions after the first entry; -1: no limit
    # Freqtrade's /marketdir value; tradepilot has no way to set it, as /marketdir says.
    market_direction: MarketDirection = MarketDirection.NONE

    # Bound by the engine when it adopts the strategy (engine/strategy_runtime.py): the
    # read-only wallets, and the running bot behind lock_pair & co.
    wallets: StrategyWallets | None = None
    stake_currency: str
    stake_amount: float | str
    max_open_trades: int
    tradepilot_runtime: StrategyRuntime | None = None
    # Set by the loader: where the strategy module's own `Trade` finds the runtime, and the
    # effective parameter values by space ({"buy": {"buy_rsi": 30}}).
    tradepilot_slot: RuntimeSlot | None = None
    parameter_values: Mapping[str, Mapping[str, Any]] = MappingProxyType({})

    # Candles, analysed frames, markets and tickers; bound by the engine (Engine.configure).
    dp: DataProvider

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config: dict[str, Any] = dict(config or {})

    # --- pair locks (Freqtrade's names; only while the bot runs the strategy) -------------

    def _running(self, what: str) -> StrategyRuntime:
        if self.tradepilot_runtime is None:
            raise StrategyError(f"{what}: only while the bot runs the strategy")
        return self.tradepilot_runtime

    def lock_pair(self, pair: str, until: datetime, reason: str | None = None,
                  side: str = "*") -> None:
        """Keep `pair` from new entries until the candle after `until`."""
        self._running("lock_pair").lock_pair(pair, until, reason, side, self.timeframe)

    def unlock_pair(self, pair: str) -> None:
        self._running("unlock_pair").unlock_pair(pair)

    def unlock_reason(self, reason: str) -> None:
        """Lift every active lock with this reason."""
        self._running("unlock_reason").unlock_reason(reason)

    def is_pair_locked(self, pair: str, *, candle_date: datetime | None = None,
                       side: str = "*") -> bool:
        """Whether `pair` is locked now, or at the open of the candle after `candle_date`."""
        when = None if candle_date is None else timeframe_to_next_date(self.timeframe,
                                                                       candle_date)
        return self._running("is_pair_locked").is_pair_locked(pair, when)

    # --- settings ------------------------------------------------------------------------

    def apply_overrides(self, overrides: Mapping[str, Any]) -> None:
        """Let config values replace the strategy's own, as Freqtrade's StrategyResolver does."""
        for key, value in overrides.items():
            if key not in STRATEGY_KEYS:
                raise ConfigError(f"{key}: not a strategy setting; expected one of "
                                  f"{', '.join(sorted(STRATEGY_KEYS))}")
            setattr(self, key, value)
            logger.info("Override strategy '%s' with value in config file: %s.", key, value)

    def resolved_order_types(self) -> OrderTypes:
        """`order_types` in one typed form, whether it came from the config or the strategy."""
        if isinstance(self.order_types, OrderTypes):
            return self.order_types
        return _order_types(f"{type(self).__name__}.order_types", _plain(self.order_types))

    def resolved_time_in_force(self) -> TimeInForce:
        """`order_time_in_force` in one typed form (GTC for a side not given)."""
        if isinstance(self.order_time_in_force, TimeInForce):
            return self.order_time_in_force
        return _time_in_force(f"{type(self).__name__}.order_time_in_force",
                              _plain(self.order_time_in_force))

    def resolved_unfilledtimeout(self) -> UnfilledTimeout:
        """`unfilledtimeout` in one typed form (defaults: 10 minutes for entries and exits)."""
        if isinstance(self.unfilledtimeout, UnfilledTimeout):
            return self.unfilledtimeout
        return _timeout(f"{type(self).__name__}.unfilledtimeout", _plain(self.unfilledtimeout))

    # --- the DataFrame contract ------------------------------------------------------------

    def populate_indicators(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        """Add indicator columns to the candles of `metadata["pair"]` and return the frame."""
        raise NotImplementedError(f"{type(self).__name__} must define populate_indicators")

    def populate_entry_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        """Set `enter_long` to 1 on the candles to enter on (optional `enter_tag`)."""
        raise NotImplementedError(f"{type(self).__name__} must define populate_entry_trend")

    def populate_exit_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        """Set `exit_long` to 1 on the candles to exit on (optional `exit_tag`)."""
        raise NotImplementedError(f"{type(self).__name__} must define populate_exit_trend")

    # --- optional callbacks (Freqtrade's defaults) -----------------------------------------

    def informative_pairs(self) -> list[tuple[str, ...]]:
        """(pair, timeframe) candles to have besides the traded pairs' (`self.dp`)."""
        return []

    def bot_start(self, **kwargs: Any) -> None:
        """Called once when the strategy is loaded, before any candle is analysed."""

    def bot_loop_start(self, current_time: datetime, **kwargs: Any) -> None:
        """Called once per iteration, before any pair is looked at."""

    def custom_stake_amount(self, pair: str, current_time: datetime, current_rate: float,
                            proposed_stake: float, min_stake: float | None, max_stake: float,
                            leverage: float, entry_tag: str | None, side: str,
                            **kwargs: Any) -> float:
        return proposed_stake

    def custom_entry_price(self, pair: str, trade: TradeSnapshot | None, current_time: datetime,
                           proposed_rate: float, entry_tag: str | None, side: str,
                           **kwargs: Any) -> float:
        return proposed_rate

    def custom_exit_price(self, pair: str, trade: TradeSnapshot, current_time: datetime,
                          proposed_rate: float, current_profit: float, exit_tag: str | None,
                          **kwargs: Any) -> float:
        return proposed_rate

    def custom_stoploss(self, pair: str, trade: TradeSnapshot, current_time: datetime,
                        current_rate: float, current_profit: float, after_fill: bool,
                        **kwargs: Any) -> float | None:
        """A stop distance relative to `current_rate` (only with use_custom_stoploss)."""
        return self.stoploss

    def custom_exit(self, pair: str, trade: TradeSnapshot, current_time: datetime,
                    current_rate: float, current_profit: float,
                    **kwargs: Any) -> str | bool | None:
        """True or a reason (the exit reason shown) to exit now; None to hold."""
        return None

    def adjust_trade_position(self, trade: TradeSnapshot, current_time: datetime,
                              current_rate: float, current_profit: float,
                              min_stake: float | None, max_stake: float,
                              current_entry_rate: float, current_exit_rate: float,
                              current_entry_profit: float, current_exit_profit: float,
                              **kwargs: Any) -> float | tuple[float | None, str | None] | None:
        """With `position_adjustment_enable`: a stake to add (positive), the stake's worth to
        sell (negative), optionally with an order tag as `(stake, tag)`; None or 0 does
        nothing. Asked once per iteration for each open trade without an open order."""
        return None

    def confirm_trade_entry(self, pair: str, order_type: str, amount: float, rate: float,
                            time_in_force: str, current_time: datetime, entry_tag: str | None,
                            side: str, **kwargs: Any) -> bool:
        return True

    def confirm_trade_exit(self, pair: str, trade: TradeSnapshot, order_type: str,
                           amount: float, rate: float, time_in_force: str, exit_reason: str,
                           current_time: datetime, **kwargs: Any) -> bool:
        return True

    def check_entry_timeout(self, pair: str, trade: TradeSnapshot,
                            order: OrderSnapshot | None, current_time: datetime,
                            **kwargs: Any) -> bool:
        """True cancels the open entry order before `unfilledtimeout.entry`."""
        return False

    def check_exit_timeout(self, pair: str, trade: TradeSnapshot,
                           order: OrderSnapshot | None, current_time: datetime,
                           **kwargs: Any) -> bool:
        """True cancels the open exit order before `unfilledtimeout.exit`."""
        return False

    def order_filled(self, pair: str, trade: TradeSnapshot, order: OrderInfo,
                     current_time: datetime, **kwargs: Any) -> None:
        """Called when an order of `trade` has filled, entries and exits (for an exit before
        the trade is closed, as in Freqtrade's backtest)."""


def implements(strategy: IStrategy, callback: str) -> bool:
    """Whether the strategy overrides an optional callback: one it does not is not called,
    and what only its arguments needed (a trade's snapshot) is not built."""
    return getattr(type(strategy), callback) is not getattr(IStrategy, callback)


def _plain(value: Any) -> Any:
    """The config parsers read JSON-shaped data: plain dicts."""
    return dict(value) if isinstance(value, Mapping) else value
