"""Backtests through the live engine on small hand-made candles, the report's statistics on
hand-made trade lists, and the backtest command's options."""

from __future__ import annotations

import argparse
import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backtest import metrics
from backtest import run as backtest_run
from backtest.cli import add_backtest_arguments, parse_timerange, run_backtest
from backtest.download import market_definition
from backtest.metrics import max_drawdown
from backtest.report import chart_figure, equity_curve, render, summarize
from backtest.run import BacktestResult, BacktestTrade
from backtest.ticks import data_ticks
from core.errors import ConfigError
from engine.config import parse_config
from engine.settings import Settings
from engine.strategy import IStrategy
from venues.exchange import MarketRules

T0 = datetime(2024, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)
Row = tuple[float, float, float, float]


def at(index: int) -> datetime:
    return T0 + STEP * index


def candles(rows: Sequence[Row]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"])
    frame.insert(0, "date", pd.date_range(T0, periods=len(rows), freq="5min", tz=UTC))
    frame["volume"] = 10.0
    return frame


def flat(price: float, count: int) -> list[Row]:
    return [(price, price, price, price)] * count


class Scripted(IStrategy):
    """Enters after the candles listed in `enter` (row numbers per pair), nothing else."""

    timeframe = "5m"
    stoploss = -0.10
    minimal_roi = {"0": 10.0}  # noqa: RUF012 - Freqtrade's class-attribute style
    use_exit_signal = False

    def __init__(self, enter: Mapping[str, Iterable[int]], **attributes: Any) -> None:
        super().__init__()
        self.enter_rows = {pair: {at(i) for i in rows} for pair, rows in enter.items()}
        for name, value in attributes.items():
            setattr(self, name, value)

    def populate_indicators(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        wanted = self.enter_rows.get(metadata["pair"], set())
        dataframe["enter_long"] = [int(d.to_pydatetime() in wanted) for d in dataframe["date"]]
        return dataframe

    def populate_exit_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        dataframe["exit_long"] = 0
        return dataframe


def market(pair: str) -> dict[str, Any]:
    base, quote = pair.split("/")
    rules = MarketRules(pair, base, quote, True, 0.001, 0.01, None, None, None, None, 0.0, 0.0)
    return market_definition(rules)


def settings_for(pairs: Sequence[str], **extra: Any) -> Settings:
    raw = {"stake_currency": "BTC", "stake_amount": 100, "dry_run_wallet": 1000,
           "max_open_trades": 3, "tradable_balance_ratio": 1.0,
           "exchange": {"name": "offline", "pair_whitelist": list(pairs)}, **extra}
    return backtest_run.backtest_settings(parse_config(raw, {}))


async def run(strategy: IStrategy, frames: Mapping[str, pd.DataFrame], *,
              protections: bool = True, **extra: Any) -> BacktestResult:
    settings = settings_for(list(frames), **extra)
    strategy.apply_overrides(settings.strategy_overrides())
    markets = [market(pair) for pair in frames]
    return await backtest_run.run(settings, strategy, frames, markets, fee=0.0,
                                  protections=protections)


def summary_of(trade: BacktestTrade) -> tuple[Any, ...]:
    return (trade.pair, trade.open_date, trade.close_date, trade.open_rate, trade.close_rate,
            trade.exit_reason)


# --- trailing stops --------------------------------------------------------------------------


async def test_trailing_stop_moves_up_from_the_high_then_sells_at_the_raised_stop() -> None:
    aaa = candles([
        (100.00, 100.01, 100.00, 100.01),  # the entry signal
        (100.00, 101.00, 99.50, 100.50),  # entry at the open; +1% is below the 3% offset
        (103.10, 105.00, 103.00, 104.00),  # +5% at the high: stop to 105 * 0.98 = 102.90
        (104.00, 104.50, 102.00, 102.50),  # the low reaches the stop
        *flat(102.50, 3),
    ])  # fmt: skip
    # On the entry candle Freqtrade assumes the worst: the price rose just enough to arm the
    # stop, then fell to it, i.e. open * (1 + offset - positive) = 101.00.
    bbb = candles([(50.00, 50.01, 50.00, 50.01), (100.00, 105.00, 99.00, 100.00),
                   *flat(100.00, 5)])
    strategy = Scripted({"AAA/BTC": [0], "BBB/BTC": [0]}, trailing_stop=True,
                        trailing_stop_positive=0.02, trailing_stop_positive_offset=0.03,
                        trailing_only_offset_is_reached=True)

    result = await run(strategy, {"AAA/BTC": aaa, "BBB/BTC": bbb})

    assert [summary_of(t) for t in result.trades] == [
        ("AAA/BTC", at(1), at(3), 100.0, 102.9, "trailing_stop_loss"),
        ("BBB/BTC", at(1), at(1), 100.0, 101.0, "trailing_stop_loss"),
    ]
    aaa_trade = result.trades[0]
    assert aaa_trade.amount == 1.0
    assert math.isclose(aaa_trade.profit_abs, 2.9)
    assert math.isclose(aaa_trade.profit_ratio, 0.029)


async def test_price_tick_is_the_datas_of_the_month_and_a_trade_keeps_its_entry_months() -> None:
    # P1: January's prices show 2 decimals, February's 4. Both trades raise their trailing
    # stop to 10.50 * (1 - 0.0333) = 10.15035 in February and sell there: rounded up on the
    # tick of the month each entered in.
    first = (datetime(2024, 1, 31, 23, 30, tzinfo=UTC) - T0) // STEP
    rows = [
        *[(10.00, 10.01, 10.00, 10.00)] * 6,  # January: the entry signal, the entry, and more
        (10.00, 10.50, 10.30, 10.40),  # February 1st, 00:00: the stop trails up
        (10.20, 10.20, 10.0001, 10.10),  # the low reaches it
        *flat(10.00, 2),  # the entry signal of the February trade
        (10.00, 10.00, 10.00, 10.00),  # its entry
        (10.00, 10.50, 10.30, 10.40),
        (10.20, 10.20, 10.0001, 10.10),
        *flat(10.00, 2),
    ]
    frame = candles(rows)
    frame["date"] = pd.date_range(at(first), periods=len(rows), freq="5min", tz=UTC)
    strategy = Scripted({"AAA/BTC": [first, first + 9]}, stoploss=-0.0333, trailing_stop=True)

    result = await run(strategy, {"AAA/BTC": frame})

    assert [(t.open_date, t.close_rate, t.exit_reason) for t in result.trades] == [
        (at(first + 1), 10.16, "trailing_stop_loss"),
        (at(first + 10), 10.1504, "trailing_stop_loss"),
    ]


def test_data_ticks_count_the_decimals_of_each_calendar_month() -> None:
    frame = candles([(10.0, 10.05, 9.95, 10.0), (0.1, 0.30000000000000004, 0.1, 0.1),
                     (5.004e-05, 5.1e-05, 5.0e-05, 5.004e-05)])
    frame["date"] = [datetime(2024, 1, 31, 23, 55, tzinfo=UTC),
                     datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 5, tzinfo=UTC)]

    assert data_ticks(frame) == [
        (datetime(2024, 1, 1, tzinfo=UTC), 0.01),
        # 14 significant digits: 0.30000000000000004 shows as 0.3
        (datetime(2024, 2, 1, tzinfo=UTC), 0.1),
        (datetime(2024, 3, 1, tzinfo=UTC), 1e-08),
    ]


async def test_trailing_stop_waits_for_the_offset_and_a_fixed_stop_gapped_over_sells_at_open(
) -> None:
    rows = [
        (100.00, 100.01, 100.00, 100.01),
        (100.00, 102.00, 99.00, 101.00),  # +2%: below the offset, the stop stays at 90.00
        (85.00, 86.00, 84.00, 85.50),  # opens below the stop: sold at the open
        *flat(85.50, 2),
    ]  # fmt: skip
    strategy = Scripted({"AAA/BTC": [0]}, trailing_stop=True, trailing_stop_positive=0.02,
                        trailing_stop_positive_offset=0.03,
                        trailing_only_offset_is_reached=True)

    result = await run(strategy, {"AAA/BTC": candles(rows)})

    assert [summary_of(t) for t in result.trades] == [
        ("AAA/BTC", at(1), at(2), 100.0, 85.0, "stop_loss"),
    ]


# --- protections -----------------------------------------------------------------------------


def protection_frames() -> dict[str, pd.DataFrame]:
    aaa = candles([
        (100.00, 100.01, 100.00, 100.01),
        (100.00, 100.50, 99.50, 99.80),  # entry at 100.00, stop at 90.00
        (99.00, 99.20, 89.00, 89.50),  # stop_loss at 90.00
        *flat(89.50, 6),
    ])  # fmt: skip
    bbb = candles([(50.00, 50.01, 50.00, 50.01), *flat(50.00, 8)])
    return {"AAA/BTC": aaa, "BBB/BTC": bbb}


GUARD = [{"method": "StoplossGuard", "trade_limit": 1, "lookback_period_candles": 10,
          "stop_duration_candles": 3}]


@pytest.mark.parametrize(("protections", "enabled", "bbb_entry"), [
    ([], True, 3),
    # One stoploss locks every pair for 3 candles after the close at 2: no entry before 6.
    (GUARD, True, 6),
    # As in Freqtrade's backtest, the strategy's protections apply only when enabled.
    (GUARD, False, 3),
])  # fmt: skip
async def test_stoploss_guard_keeps_every_pair_out_until_the_lock_ends(
    protections: list[dict[str, Any]], enabled: bool, bbb_entry: int
) -> None:
    strategy = Scripted({"AAA/BTC": [0], "BBB/BTC": [2, 3, 4, 5]}, protections=protections)

    result = await run(strategy, protection_frames(), protections=enabled)

    assert [summary_of(t) for t in result.trades] == [
        ("AAA/BTC", at(1), at(2), 100.0, 90.0, "stop_loss"),
        ("BBB/BTC", at(bbb_entry), at(8), 50.0, 50.0, "force_exit"),
    ]


async def test_an_unlimited_stake_counts_open_entry_fees_as_free_as_freqtrades_wallet() -> None:
    # Freqtrade's dry-run wallet (its backtest's) books an entry fee only when the trade
    # closes. With 900 of 1,000 tradable over two slots, the first trade stakes 450 and pays
    # 4.50 in fees; the second still sees 550 free, so it stakes 450 too, not 445.95.
    strategy = Scripted({"AAA/BTC": [0], "BBB/BTC": [1]})
    frames = {"AAA/BTC": candles(flat(100.0, 5)), "BBB/BTC": candles(flat(50.0, 5))}
    settings = settings_for(list(frames), stake_amount="unlimited", max_open_trades=2,
                            tradable_balance_ratio=0.9)
    strategy.apply_overrides(settings.strategy_overrides())

    result = await backtest_run.run(settings, strategy, frames,
                                    [market(pair) for pair in frames], fee=0.01)

    assert [(t.pair, t.stake_amount) for t in result.trades] == [
        ("AAA/BTC", 450.0), ("BBB/BTC", 450.0)]


async def test_a_trade_closing_inside_a_candle_frees_its_slot_for_an_entry_there() -> None:
    strategy = Scripted({"AAA/BTC": [0], "BBB/BTC": [1]})

    result = await run(strategy, protection_frames(), max_open_trades=1)

    # AAA holds the only slot until its stop fills inside candle 2; exits are handled before
    # entries, so BBB enters at that candle's open on its signal of candle 1.
    assert [(t.pair, t.open_date) for t in result.trades] == [
        ("AAA/BTC", at(1)), ("BBB/BTC", at(2))]


# --- the end of the data ---------------------------------------------------------------------


def end_frames() -> dict[str, pd.DataFrame]:
    aaa = candles([(10.00, 10.01, 10.00, 10.01), *flat(10.00, 5), (11.00, 11.50, 10.50, 11.20)])
    bbb = candles([(20.00, 20.01, 20.00, 20.01), *flat(20.00, 4), (21.00, 21.50, 20.50, 21.20)])
    ccc = candles([(30.00, 30.01, 30.00, 30.01), *flat(30.00, 6)])
    return {"AAA/BTC": aaa, "BBB/BTC": bbb, "CCC/BTC": ccc}  # BBB ends at 5, the others at 6


async def test_open_trades_are_sold_at_the_open_of_their_pairs_last_candle() -> None:
    strategy = Scripted({"AAA/BTC": [1], "BBB/BTC": [4], "CCC/BTC": [5]})

    result = await run(strategy, end_frames())

    # CCC's signal would enter on the last candle of the run: Freqtrade's backtest does not.
    # BBB's data ends earlier, so it may still enter on its own last candle.
    assert [summary_of(t) for t in result.trades] == [
        ("AAA/BTC", at(2), at(6), 10.0, 11.0, "force_exit"),
        ("BBB/BTC", at(5), at(5), 21.0, 21.0, "force_exit"),
    ]
    assert (result.start, result.end) == (at(1), at(6))


async def test_without_freqtrade_compat_an_entry_on_the_last_candle_is_made() -> None:
    strategy = Scripted({"CCC/BTC": [5]})

    result = await run(strategy, {"CCC/BTC": end_frames()["CCC/BTC"]},
                       backtest={"freqtrade_compat": False})

    assert [summary_of(t) for t in result.trades] == [
        ("CCC/BTC", at(6), at(6), 30.0, 30.0, "force_exit")]


@pytest.mark.parametrize("compat", [True, False])
async def test_stoploss_on_exchange_is_off_in_a_backtest_as_freqtrade_turns_it_off(
        compat: bool) -> None:
    rows = [
        (100.00, 100.01, 100.00, 100.01),
        (100.00, 102.00, 99.00, 101.00),
        (95.00, 96.00, 84.00, 85.50),  # opens above the 90.00 stop, falls through it
        *flat(85.50, 2),
    ]  # fmt: skip
    strategy = Scripted({"AAA/BTC": [0]}, order_types={
        "entry": "limit", "exit": "limit", "stoploss": "limit", "stoploss_on_exchange": True})

    result = await run(strategy, {"AAA/BTC": candles(rows)},
                       backtest={"freqtrade_compat": compat})

    # The bot-side stop at its price, not a stop order's fill at the open (min(stop, open)).
    assert [summary_of(t) for t in result.trades] == [
        ("AAA/BTC", at(1), at(2), 100.0, 90.0, "stop_loss"),
    ]


async def test_a_detail_timeframe_without_its_candles_is_refused_not_ignored() -> None:
    strategy = Scripted({"CCC/BTC": [2]})

    with pytest.raises(ConfigError, match="timeframe_detail: expected the detail candles"):
        await run(strategy, {"CCC/BTC": end_frames()["CCC/BTC"]}, timeframe_detail="1m")


# --- statistics ------------------------------------------------------------------------------


def trade(profit: float, closed: datetime, pair: str = "AAA/BTC", reason: str = "roi",
          minutes: int = 60) -> BacktestTrade:
    return BacktestTrade(
        trade_id=int(closed.timestamp()), pair=pair, open_date=closed - timedelta(minutes=minutes),
        close_date=closed, open_rate=1.0, close_rate=1.0, amount=1.0, stake_amount=0.1,
        exit_reason=reason, enter_tag=None, profit_ratio=profit / 0.1, profit_abs=profit,
    )  # fmt: skip


DAY1 = datetime(2024, 1, 1, 12, tzinfo=UTC)
FOUR = [trade(0.2, DAY1), trade(-0.1, DAY1 + timedelta(days=1), "BBB/BTC", "stop_loss"),
        trade(0.05, DAY1 + timedelta(days=2)), trade(-0.15, DAY1 + timedelta(days=3),
                                                     reason="stop_loss")]


def result_of(trades: Sequence[BacktestTrade], days: int = 4) -> BacktestResult:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return BacktestResult(
        strategy="Hand", timeframe="5m", pairs=("AAA/BTC", "BBB/BTC"), start=start + STEP,
        end=start + timedelta(days=days), starting_balance=1.0, stake_currency="BTC",
        trades=tuple(trades), candles=days * 288, simulation_seconds=0.1, range_start=start,
        closes={"AAA/BTC": [2.0, 3.0], "BBB/BTC": [4.0, 3.0]},
    )  # fmt: skip


def test_statistics_of_four_hand_made_trades_follow_freqtrades_formulas() -> None:
    s = summarize(result_of(FOUR))

    assert (s.total.trades, s.total.wins, s.total.losses) == (4, 2, 2)
    assert math.isclose(s.total.profit_abs, 0.0, abs_tol=1e-12)
    assert math.isclose(s.final_balance, 1.0)
    assert math.isclose(s.profit_factor, 0.25 / 0.25)
    assert math.isclose(s.expectancy, 0.5 * 0.125 - 0.5 * 0.125, abs_tol=1e-12)
    assert math.isclose(s.expectancy_ratio, (1 + 0.125 / 0.125) * 0.5 - 1)
    assert s.total.avg_duration == timedelta(hours=1)
    # Cumulative profit 0.2, 0.1, 0.15, 0.0: the high 0.2 after the first close, the low last.
    assert s.drawdown is not None
    assert math.isclose(s.drawdown.amount, 0.2)
    assert math.isclose(s.drawdown.account_ratio, 0.2 / 1.2)
    assert (s.drawdown.high_date, s.drawdown.low_date) == (DAY1, DAY1 + timedelta(days=3))
    returns = [0.2, -0.1, 0.05, -0.15]  # profit over the starting balance, per trade
    per_day = sum(returns) / 4  # the range is 4 days
    deviation = math.sqrt(sum((r - sum(returns) / 4) ** 2 for r in returns) / 4)
    assert math.isclose(s.sharpe, per_day / deviation * math.sqrt(365), abs_tol=1e-12)
    assert s.sortino == pytest.approx(per_day / 0.025 * math.sqrt(365), abs=1e-9)
    assert math.isclose(s.calmar, per_day * 100 / (0.2 / 1.2) * math.sqrt(365), abs_tol=1e-9)
    assert s.sqn == round(2 * 0.0 / math.sqrt(sum(r * r for r in returns) / 3), 4)
    assert math.isclose(s.cagr, 0.0, abs_tol=1e-12)
    assert math.isclose(s.market_change, (0.5 - 0.25) / 2)
    assert s.best_pair is not None
    assert s.best_pair.key == "AAA/BTC"
    assert s.worst_trade is not None
    assert s.worst_trade.profit_abs == -0.15


def test_cagr_and_a_run_without_losses() -> None:
    winners = [trade(0.1, DAY1), trade(0.1, DAY1 + timedelta(days=1))]

    s = summarize(result_of(winners, days=73))

    assert math.isclose(s.cagr, 1.2 ** 5 - 1)  # 73 days are a fifth of a year
    assert s.profit_factor == 0.0  # Freqtrade's figure without losses
    assert s.drawdown is not None
    assert s.drawdown.amount == 0.0
    assert s.sortino == -100.0  # no losing trade: Freqtrade's "not optimal"
    assert s.expectancy_ratio == 100.0


def test_report_shows_freqtrades_tables_and_metrics() -> None:
    text = render(result_of(FOUR), ["week"])

    for title in ("BACKTESTING REPORT", "LEFT OPEN TRADES REPORT", "ENTER TAG STATS",
                  "EXIT REASON STATS", "MIXED TAG STATS", "WEEK BREAKDOWN", "SUMMARY METRICS"):
        assert f"\n{title}\n" in text
    assert "DAY BREAKDOWN" not in text
    assert "AAA/BTC |      3 |" in text
    assert "BBB/BTC |      1 |" in text
    assert "stop_loss |     2 |" in text
    assert "    OTHER |       4 |" in text
    assert "Absolute drawdown            0.2 BTC (16.67%)" in text
    assert "Drawdown start               2024-01-01 12:00:00" in text
    assert "Profit factor                1.00" in text
    assert "Market change                12.50%" in text
    assert "Best trade                   AAA/BTC 200.00%" in text


profits = st.lists(st.floats(-0.5, 0.5, allow_nan=False), min_size=1, max_size=30)


@given(profits)
def test_max_drawdown_is_the_largest_fall_below_any_earlier_peak(values: list[float]) -> None:
    trades = [trade(p, DAY1 + timedelta(hours=i)) for i, p in enumerate(values)]
    curve = equity_curve(trades, 10.0)
    assert math.isclose(curve[-1][1], 10.0 + sum(values), abs_tol=1e-9)
    cumulative = [0.0] + [v - 10.0 for _, v in curve]
    falls = [max(cumulative[: j + 1]) - cumulative[j] for j in range(len(cumulative))]
    drawdown = max_drawdown(trades, 10.0)
    assert drawdown is not None
    assert drawdown.amount == pytest.approx(max(falls), abs=1e-9)
    assert drawdown.high_profit - drawdown.low_profit == pytest.approx(drawdown.amount, abs=1e-9)
    assert drawdown.high_date <= drawdown.low_date


@given(profits, st.floats(0.5, 1000.0))
def test_ratios_do_not_change_when_money_is_counted_in_another_unit(values: list[float],
                                                                    scale: float) -> None:
    trades = [trade(p, DAY1 + timedelta(hours=7 * i)) for i, p in enumerate(values)]
    scaled = [replace(t, profit_abs=t.profit_abs * scale) for t in trades]
    end = DAY1 + timedelta(days=9)
    # Calmar is left out: two equal falls are told apart by float rounding, as in Freqtrade.
    for name in ("sharpe", "sortino"):
        formula = getattr(metrics, name)
        ours, theirs = formula(trades, 10.0, DAY1, end), formula(scaled, 10.0 * scale, DAY1, end)
        assert theirs == pytest.approx(ours, rel=1e-6, abs=1e-6), name
    assert metrics.sqn(scaled, 10.0 * scale) == pytest.approx(metrics.sqn(trades, 10.0), abs=2e-4)


@given(profits, st.sampled_from(["day", "week", "month"]))
def test_breakdown_periods_add_up_to_the_whole_backtest(values: list[float], unit: str) -> None:
    trades = [trade(p, DAY1 + timedelta(hours=29 * i)) for i, p in enumerate(values)]
    rows = metrics.breakdown(trades, unit)
    assert sum(r.trades for r in rows) == len(trades)
    assert sum(r.profit_abs for r in rows) == pytest.approx(sum(values), abs=1e-8)
    assert sum(r.wins for r in rows) == sum(1 for v in values if v > 0)
    assert [r.label for r in rows] == sorted(r.label for r in rows)


def test_the_chart_marks_every_entry_and_exit_on_the_balance() -> None:
    figure = chart_figure(result_of(FOUR))

    (axes,) = figure.axes
    legend = axes.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == ["balance", "drawdown", "entries",
                                                           "exits"]
    marks = {c.get_label(): c.get_offsets() for c in axes.collections
             if c.get_label() in ("entries", "exits")}
    assert [len(marks["entries"]), len(marks["exits"])] == [4, 4]
    assert [float(y) for y in marks["exits"][:, 1]] == pytest.approx([1.2, 1.1, 1.15, 1.0])
    assert [float(y) for y in marks["entries"][:, 1]] == pytest.approx([1.0, 1.2, 1.1, 1.15])


# --- the command -----------------------------------------------------------------------------


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)),
       st.integers(1, 4000))
def test_timeranges_parse_to_utc_midnights(first: date, days: int) -> None:
    last = first + timedelta(days=days)
    text = f"{first:%Y%m%d}-{last:%Y%m%d}"
    start, end = parse_timerange(text) or (None, None)
    assert start == datetime(first.year, first.month, first.day, tzinfo=UTC)
    assert end == datetime(last.year, last.month, last.day, tzinfo=UTC)
    assert parse_timerange(f"{first:%Y%m%d}-") == (start, None)
    assert parse_timerange(f"-{last:%Y%m%d}") == (None, end)


MARKED_STRATEGY = '''
from engine.strategy import IStrategy


class Marked(IStrategy):
    """Enters after a candle of volume 7, exits after one of volume 9."""

    timeframe = "5m"
    stoploss = -0.5
    minimal_roi = {"0": 10}
    startup_candle_count = 2

    def populate_indicators(self, dataframe, metadata):
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        dataframe["enter_long"] = (dataframe["volume"] == 7).astype(int)
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):
        dataframe["exit_long"] = (dataframe["volume"] == 9).astype(int)
        return dataframe
'''


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A config, a strategy folder and 3 days of ETH/BTC candles, signals marked by volume."""
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "marked.py").write_text(MARKED_STRATEGY)
    rows = 3 * 288
    frame = candles([(0.05, 0.0502, 0.0499, 0.0501)] * rows)
    frame.loc[frame["date"].isin([at(10), at(300), at(600)]), "volume"] = 7.0
    frame.loc[frame["date"].isin([at(20), at(320)]), "volume"] = 9.0
    frame.loc[frame["date"] >= at(301), ["open", "high", "low", "close"]] = 0.06
    (tmp_path / "data").mkdir()
    frame.to_feather(tmp_path / "data" / "ETH_BTC-5m.feather")
    (tmp_path / "data" / "markets.json").write_text(json.dumps({"markets": [
        market_definition(MarketRules("ETH/BTC", "ETH", "BTC", True, 0.001, 1e-6, 0.001, None,
                                      0.0001, None, 0.001, 0.001))]}))
    return tmp_path


def invoke(workspace: Path, *options: str) -> int:
    parser = argparse.ArgumentParser()
    add_backtest_arguments(parser)
    parser.add_argument("-v", "--verbose", action="count", default=0)
    args = parser.parse_args(["--strategy", "Marked", "--strategy-path",
                              str(workspace / "strategies"), "--datadir",
                              str(workspace / "data"), *options])
    settings = parse_config({"stake_amount": 0.05, "exchange": {
        "name": "binance", "pair_whitelist": ["ETH/BTC"]}}, {})
    return run_backtest(settings, args)


def test_backtest_command_exports_trades_writes_a_chart_and_prints_the_report(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export, chart = workspace / "trades.json", workspace / "equity.png"

    status = invoke(workspace, "--fee", "0.001", "--export", str(export), "--chart", str(chart))

    assert status == 0
    trades = json.loads(export.read_text())
    assert [(t["pair"], t["open_date"], t["close_date"], t["exit_reason"]) for t in trades] == [
        ("ETH/BTC", "2024-01-01T00:55:00Z", "2024-01-01T01:45:00Z", "exit_signal"),
        ("ETH/BTC", "2024-01-02T01:05:00Z", "2024-01-02T02:45:00Z", "exit_signal"),
        ("ETH/BTC", "2024-01-03T02:05:00Z", "2024-01-03T23:55:00Z", "force_exit"),
    ]
    first = trades[0]
    assert (first["open_rate"], first["close_rate"], first["amount"]) == (0.05, 0.05, 1.0)
    assert math.isclose(first["profit_abs"], round(0.05 * 0.999 - 0.05 * 1.001, 8))
    assert math.isclose(first["profit_ratio"], first["profit_abs"] / (0.05 * 1.001))
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    assert "Backtest of Marked on 1 pairs, 5m" in out
    assert "ETH/BTC |      3 |" in out


def test_timerange_keeps_the_startup_candles_before_its_start(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = workspace / "trades.json"

    invoke(workspace, "--timerange", "20240102-20240103", "--export", str(export))

    trades = json.loads(export.read_text())
    # The two startup candles come from before the range, so trading starts at its first
    # candle + 5 minutes; the range ends at 2024-01-03 00:00 included.
    assert [(t["open_date"], t["close_date"]) for t in trades] == [
        ("2024-01-02T01:05:00Z", "2024-01-02T02:45:00Z")]
    out = capsys.readouterr().out
    assert "Backtesting from             2024-01-02 00:00:00" in out
    assert "Backtesting to               2024-01-03 00:00:00" in out


@pytest.mark.parametrize(("options", "opened"), [
    ([], ["2024-01-01T00:55:00Z", "2024-01-02T01:05:00Z", "2024-01-03T02:05:00Z"]),
    # The cooldown after the first close (01:45) lasts 290 candles: past the second signal.
    (["--enable-protections"], ["2024-01-01T00:55:00Z", "2024-01-03T02:05:00Z"]),
])  # fmt: skip
def test_the_strategys_protections_apply_only_with_enable_protections(
    workspace: Path, options: list[str], opened: list[str]
) -> None:
    guarded = MARKED_STRATEGY.replace("startup_candle_count = 2", "startup_candle_count = 2\n"
                                      "    protections = [{'method': 'CooldownPeriod', "
                                      "'stop_duration_candles': 290}]")
    (workspace / "strategies" / "marked.py").write_text(guarded)
    export = workspace / "trades.json"

    invoke(workspace, "--export", str(export), *options)

    assert [t["open_date"] for t in json.loads(export.read_text())] == opened


@pytest.mark.parametrize(("options", "message"), [
    (["--timerange", "2024-01-02"], "--timerange: expected YYYYMMDD-YYYYMMDD"),
    (["--timerange", "20240103-20240102"], "--timerange: the end comes before the start"),
    (["--fee", "0.5"], "--fee: expected a ratio per side"),
    (["--pairs", "ETH/USDT"], "--pairs: ETH/USDT: expected pairs like ETH/BTC"),
    (["--pairs", "LTC/BTC"], "no 5m candles for LTC/BTC"),
    (["--timeframe", "7m"], "--timeframe: expected one of"),
    (["--timerange", "20300101-"], "has no candles in the requested time range"),
])  # fmt: skip
def test_bad_backtest_options_are_refused_naming_the_option(
    workspace: Path, options: list[str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        invoke(workspace, *options)



def test_a_backtest_logs_no_order_lines_unless_verbose(
        workspace: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Each order is an INFO line of the engine and of the paper exchange: a thousand trades
    would bury the report, and making the lines costs a backtest time."""
    def order_lines() -> set[str]:
        return {r.name.split(".")[0] for r in caplog.records
                if r.levelno == logging.INFO and "client_id=" in r.getMessage()}

    caplog.set_level(logging.INFO)
    assert invoke(workspace) == 0
    assert order_lines() == set()
    caplog.clear()
    assert invoke(workspace, "-v") == 0
    assert order_lines() == {"engine", "venues"}
