"""Read-only figures for the chat: trades, profit, periods, performance (Freqtrade's /profit
definitions, section 2.3 of the reference). Everything returns frozen views."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from engine.control.views import (
    DrawdownView,
    ExitReasonCount,
    FilledOrder,
    OrderView,
    PairPerformance,
    PeriodProfit,
    PeriodReport,
    ProfitSummary,
    StatsView,
    TagPerformance,
    TradeOrders,
    TradeView,
)
from store.models import Order, Trade


def order_view(order: Order) -> OrderView:
    return OrderView(
        id=order.id, client_order_id=order.client_order_id, side=order.side,
        order_type=order.order_type, status=order.status, amount=order.amount,
        filled=order.filled, remaining=order.remaining if order.remaining is not None else 0.0,
        price=order.price, average=order.average, order_date=order.order_date,
        stop_price=order.stop_price if order.is_stop else None, order_id=order.order_id,
    )  # fmt: skip


def trade_view(trade: Trade, current_rate: float | None, orders: Sequence[Order]) -> TradeView:
    """`orders` are the trade's, oldest first."""
    rate = current_rate if trade.is_open else None
    if trade.is_open:
        mark = rate if rate is not None else trade.open_rate
        profit_ratio, profit_abs = trade.profit_ratio(mark), trade.profit_abs(mark)
        total = trade.total_profit_abs(mark)
    else:
        profit_ratio, profit_abs = trade.close_profit or 0.0, trade.close_profit_abs or 0.0
        total = profit_abs
    distance = (trade.stop_loss / rate - 1) if rate and trade.stop_loss else None
    amount, stake = trade.amount, trade.stake_amount
    if not trade.is_open:
        # A closed trade holds nothing; what it traded is what its entries bought.
        amount = sum(o.filled - (o.fee_base or 0.0) for o in orders if o.is_entry)
        stake = trade.max_stake_amount
    return TradeView(
        id=trade.id, pair=trade.pair, base_currency=trade.base_currency,
        stake_currency=trade.stake_currency, is_open=trade.is_open, amount=amount,
        stake_amount=stake, open_rate=trade.open_rate, open_date=trade.open_date,
        close_rate=trade.close_rate, close_date=trade.close_date, current_rate=rate,
        enter_tag=trade.enter_tag, exit_reason=trade.exit_reason, profit_ratio=profit_ratio,
        profit_abs=profit_abs, realized_profit=trade.realized_profit, total_profit_abs=total,
        stop_loss=trade.stop_loss, stop_loss_pct=trade.stop_loss_pct,
        initial_stop_loss=trade.initial_stop_loss,
        initial_stop_loss_pct=trade.initial_stop_loss_pct, stoploss_distance_ratio=distance,
        open_orders=tuple(order_view(o) for o in orders if o.is_open),
        entries=sum(1 for o in orders if o.is_entry and o.filled > 0),
        exits=sum(1 for o in orders if not o.is_entry and o.filled > 0),
        filled_orders=trade_orders(trade, orders).orders,
    )  # fmt: skip


def _drawdown(closed: list[Trade], start_balance: float) -> DrawdownView | None:
    if not closed:
        return None
    value = high = 0.0
    high_date = low_date = None
    best = DrawdownView(0.0, 0.0, None, None, 0.0, 0.0)
    peak_date = closed[0].close_date
    for trade in closed:
        value += trade.close_profit_abs or 0.0
        if value > high:
            high, peak_date = value, trade.close_date
        drop = high - value
        if drop > best.abs:
            high_date, low_date = peak_date, trade.close_date
            ratio = drop / (start_balance + high) if start_balance + high > 0 else 0.0
            best = DrawdownView(drop, ratio, high_date, low_date, high, value)
    return best


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def profit_summary(closed: list[Trade], open_trades: list[Trade], rates: dict[str, float], *,
                   stake_currency: str, start_balance: float, bot_start: datetime | None,
                   since: datetime | None, trading_volume: float) -> ProfitSummary:
    """`closed` must be ordered by close date; `rates` are current exit rates per pair;
    `trading_volume` is the traded value of all fills of these trades."""
    closed_abs = [t.close_profit_abs or 0.0 for t in closed]
    closed_ratio = [t.close_profit or 0.0 for t in closed]
    open_abs = [t.total_profit_abs(rates.get(t.pair, t.open_rate)) for t in open_trades]
    open_ratio = [t.profit_ratio(rates.get(t.pair, t.open_rate)) for t in open_trades]
    wins = [p for p in closed_abs if p >= 0]
    losses = [p for p in closed_abs if p < 0]
    winrate = len(wins) / len(closed) if closed else 0.0
    avg_win, avg_loss = _mean(wins), abs(_mean(losses))
    expectancy = winrate * avg_win - (1 - winrate) * avg_loss if closed else 0.0
    expectancy_ratio = ((1 + avg_win / avg_loss) * winrate - 1) if avg_loss else 0.0
    perf = performance(closed)
    everything = closed + open_trades
    durations = [t.close_date - t.open_date for t in closed]
    total_closed, total_all = sum(closed_abs), sum(closed_abs) + sum(open_abs)
    return ProfitSummary(
        stake_currency=stake_currency, closed_profit_abs=total_closed,
        closed_profit_mean_ratio=_mean(closed_ratio),
        closed_profit_ratio_of_start=total_closed / start_balance if start_balance else 0.0,
        all_profit_abs=total_all, all_profit_mean_ratio=_mean(closed_ratio + open_ratio),
        all_profit_ratio_of_start=total_all / start_balance if start_balance else 0.0,
        trade_count=len(everything), closed_count=len(closed), bot_start=bot_start,
        first_trade_date=min((t.open_date for t in everything), default=None),
        latest_trade_date=max((t.open_date for t in everything), default=None), since=since,
        wins=len(wins), losses=len(losses), winrate=winrate, expectancy_abs=expectancy,
        expectancy_ratio=expectancy_ratio,
        avg_duration=sum(durations, timedelta()) / len(durations) if durations else None,
        best_pair=perf[0].pair if perf else None,
        best_pair_profit_ratio=perf[0].profit_ratio if perf else 0.0,
        trading_volume=trading_volume,
        profit_factor=sum(wins) / abs(sum(losses)) if losses else None,
        max_drawdown=_drawdown(closed, start_balance),
    )  # fmt: skip


def performance(closed: Iterable[Trade]) -> list[PairPerformance]:
    abs_by: dict[str, float] = defaultdict(float)
    ratio_by: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for trade in closed:
        abs_by[trade.pair] += trade.close_profit_abs or 0.0
        ratio_by[trade.pair] += trade.close_profit or 0.0
        count[trade.pair] += 1
    rows = [PairPerformance(p, abs_by[p], ratio_by[p], count[p]) for p in abs_by]
    return sorted(rows, key=lambda r: r.profit_abs, reverse=True)


def _period_start(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def _step_back(start: date, unit: str) -> date:
    if unit == "day":
        return start - timedelta(days=1)
    if unit == "week":
        return start - timedelta(days=7)
    return (start - timedelta(days=1)).replace(day=1)


def period_report(closed: list[Trade], unit: str, count: int, today: date, *,
                  stake_currency: str, start_balance: float) -> PeriodReport:
    """Profit per day / week (from Monday) / month, newest first, `count` periods."""
    by_period: dict[date, list[Trade]] = defaultdict(list)
    for trade in closed:
        by_period[_period_start(trade.close_date.date(), unit)].append(trade)
    starts = [_period_start(today, unit)]
    while len(starts) < count:
        starts.append(_step_back(starts[-1], unit))
    rows = []
    for start in starts:
        before = sum(t.close_profit_abs or 0.0 for t in closed if t.close_date.date() < start)
        trades = by_period.get(start, [])
        profit = sum(t.close_profit_abs or 0.0 for t in trades)
        balance = start_balance + before
        rows.append(PeriodProfit(start, profit, profit / balance if balance else 0.0, len(trades)))
    return PeriodReport(unit=unit, stake_currency=stake_currency, rows=tuple(rows))


def tag_performance(closed: Iterable[Trade], by: str) -> list[TagPerformance]:
    """Closed trades by "enter_tag", "exit_reason" or "mix" (both, as "tag reason"); a trade
    without one counts as Other, as in Freqtrade. Best total profit first."""
    abs_by: dict[str, float] = defaultdict(float)
    ratio_by: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for trade in closed:
        tag, reason = trade.enter_tag or "Other", trade.exit_reason or "Other"
        key = {"enter_tag": tag, "exit_reason": reason}.get(by, f"{tag} {reason}")
        abs_by[key] += trade.close_profit_abs or 0.0
        ratio_by[key] += trade.close_profit or 0.0
        count[key] += 1
    rows = [TagPerformance(k, abs_by[k], ratio_by[k], count[k]) for k in abs_by]
    return sorted(rows, key=lambda r: r.profit_abs, reverse=True)


def _outcome(trade: Trade) -> str:
    profit = trade.close_profit or 0.0
    return "wins" if profit > 0 else "losses" if profit < 0 else "draws"


def stats(closed: Iterable[Trade]) -> StatsView:
    counts: dict[str, dict[str, int]] = {}
    durations: dict[str, list[timedelta]] = {"wins": [], "draws": [], "losses": []}
    for trade in closed:
        outcome = _outcome(trade)
        tally = counts.setdefault(trade.exit_reason or "Other",
                                  {"wins": 0, "draws": 0, "losses": 0})
        tally[outcome] += 1
        durations[outcome].append(trade.close_date - trade.open_date)

    def mean(kind: str) -> timedelta | None:
        values = durations[kind]
        return sum(values, timedelta()) / len(values) if values else None

    reasons = tuple(ExitReasonCount(r, c["wins"], c["draws"], c["losses"])
                    for r, c in counts.items())
    return StatsView(reasons, mean("wins"), mean("draws"), mean("losses"))


def trade_orders(trade: Trade, orders: Sequence[Order]) -> TradeOrders:
    filled = tuple(
        FilledOrder(is_entry=o.is_entry, amount=o.filled, cost=o.cost,
                    average=o.average if o.average is not None else o.price,
                    filled_date=o.order_filled_date)
        for o in orders if o.filled > 0 and not o.is_open)
    return TradeOrders(trade.id, trade.pair, trade.is_open, trade.stake_currency, filled)
