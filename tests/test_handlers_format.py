"""Reply formatting and argument parsing: pure functions checked on hand-made views and with
hypothesis, so no engine is needed."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import CommandError
from engine.control.views import (
    BalanceView,
    CurrencyBalance,
    DrawdownView,
    FilledOrder,
    OrderView,
    PeriodProfit,
    PeriodReport,
    ProfitSummary,
    TradeView,
)
from handlers import args as parse
from handlers.format import MAX_TEXT, duration, esc, split_message, strip_tags, trim
from handlers.format_reports import balance_text, config_text, periods_text, profit_text
from handlers.format_trades import status_table_text, status_text, trade_block
from tests.fakes.telegram import html_problem

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
USAGE = "Usage: /trades [n] — n is a whole number from 1 to 100"


def trade(trade_id: int = 1, pair: str = "ETH/BTC", **changes: object) -> TradeView:
    values: dict[str, object] = dict(
        id=trade_id, pair=pair, base_currency=pair.split("/")[0], stake_currency="BTC",
        is_open=True, amount=12.5, stake_amount=0.05, open_rate=0.004,
        open_date=NOW - timedelta(hours=2, minutes=5), close_rate=None, close_date=None,
        current_rate=0.0041, enter_tag=None, exit_reason=None, profit_ratio=0.0225,
        profit_abs=0.0011, realized_profit=0.0, total_profit_abs=0.0011, stop_loss=0.0036,
        stop_loss_pct=-0.10, initial_stop_loss=0.0036, initial_stop_loss_pct=-0.10,
        stoploss_distance_ratio=-0.122, open_orders=(), entries=1, exits=0,
    )
    values.update(changes)
    return TradeView(**values)  # type: ignore[arg-type]


def test_status_lists_an_adjusted_trades_entries_and_exits_with_the_average() -> None:
    orders = (FilledOrder(True, 6.0, 0.024, 0.004, NOW),
              FilledOrder(True, 6.5, 0.0247, 0.0038, NOW),
              FilledOrder(False, 4.0, 0.0164, 0.0041, NOW))
    text = trade_block(trade(amount=8.5, open_rate=0.003896, entries=2, exits=1,
                             realized_profit=0.0008, filled_orders=orders), NOW)
    plain = strip_tags(text)
    labels = ["Entries / Exits: 2 / 1", "Average Open Rate: 0.003896",
              "Entry #1: 6 @ 0.004 (0.024 BTC)", "Entry #2: 6.5 @ 0.0038 (0.0247 BTC)",
              "Exit #1: 4 @ 0.0041 (0.0164 BTC)"]
    positions = [plain.index(label) for label in labels]
    assert positions == sorted(positions)
    assert html_problem(text) is None


def test_status_of_a_plain_trade_lists_no_orders() -> None:
    plain = strip_tags(trade_block(trade(filled_orders=(FilledOrder(True, 12.5, 0.05, 0.004,
                                                                    NOW),)), NOW))
    assert "Entry #1" not in plain
    assert "Average Open Rate" not in plain


def test_status_shows_the_freqtrade_figures_of_an_open_trade_in_order() -> None:
    text = trade_block(trade(enter_tag="rsi<30 & ema"), NOW)
    plain = strip_tags(text)
    labels = ["Trade ID: 1 (since 2h 5m)", "Pair: ETH/BTC", "Amount: 12.5 ETH (0.05 BTC)",
              "Enter Tag: rsi<30 & ema", "Open Rate: 0.004", "Current Rate: 0.0041",
              "Unrealized Profit: 2.25% (0.0011 BTC)", "Stoploss: 0.0036 (-10.00%)",
              "Stoploss distance: -0.0005 (-12.20%)"]
    positions = [plain.index(label) for label in labels]
    assert positions == sorted(positions)
    assert html_problem(text) is None


def test_status_of_a_closed_trade_shows_close_profit_and_no_stoploss_distance() -> None:
    closed = trade(is_open=False, close_rate=0.0042, close_date=NOW, current_rate=None,
                   exit_reason="roi", stoploss_distance_ratio=None, profit_ratio=0.05)
    plain = strip_tags(trade_block(closed, NOW))
    assert "Close Profit: 5.00%" in plain
    assert "Close Rate: 0.0042" in plain
    assert "Exit Reason: roi" in plain
    assert "since" not in plain
    assert "Stoploss distance" not in plain


def test_status_lists_open_orders_and_marks_them_in_the_table() -> None:
    order = OrderView(7, "c7", "sell", "limit", "open", 12.5, 2.5, 10.0, 0.0045, None, NOW)
    with_exit = trade(2, "LTC/BTC", open_orders=(order,))
    assert "(limit sell rem=10)" in strip_tags(status_text([with_exit], NOW))
    table = strip_tags(status_table_text([trade(), with_exit], NOW))
    assert "LTC/BTC**" in table
    assert "Total" in table
    assert "0.0022" in table


def test_realized_and_total_profit_appear_after_a_partial_exit() -> None:
    partial = trade(exits=1, realized_profit=0.0004, total_profit_abs=0.0015)
    plain = strip_tags(trade_block(partial, NOW))
    assert "Realized Profit: 0.0004 BTC" in plain
    assert "Total Profit: 0.0015 BTC" in plain


def profit(**changes: object) -> ProfitSummary:
    values: dict[str, object] = dict(
        stake_currency="USDT", closed_profit_abs=12.3456, closed_profit_mean_ratio=0.0123,
        closed_profit_ratio_of_start=0.0246, all_profit_abs=15.0, all_profit_mean_ratio=0.015,
        all_profit_ratio_of_start=0.03, trade_count=5, closed_count=4, bot_start=NOW,
        first_trade_date=NOW, latest_trade_date=NOW, since=None, wins=3, losses=1,
        winrate=0.75, expectancy_abs=3.08, expectancy_ratio=0.61, avg_duration=timedelta(hours=3),
        best_pair="ETH/USDT", best_pair_profit_ratio=0.04, trading_volume=1000.0,
        profit_factor=2.5, max_drawdown=DrawdownView(5.0, 0.01, NOW, NOW, 505.0, 500.0),
    )
    values.update(changes)
    return ProfitSummary(**values)  # type: ignore[arg-type]


def test_profit_shows_roi_winrate_expectancy_and_drawdown() -> None:
    plain = strip_tags(profit_text(profit()))
    for expected in ("∙ 12.346 USDT (1.23%) (∑ 2.46%)", "Total Trade Count: 5",
                     "Win / Loss: 3 / 1", "Winrate: 75.00%", "Avg. Duration: 3h 0m",
                     "Best Performing: ETH/USDT: 4.00%", "Profit factor: 2.50",
                     "Max Drawdown: 1.00% (5 USDT)"):
        assert expected in plain


def test_profit_without_trades_says_so() -> None:
    assert strip_tags(profit_text(profit(trade_count=0))).startswith("No trades yet.")


def test_periods_table_has_one_row_per_period() -> None:
    rows = tuple(PeriodProfit(NOW.date() - timedelta(days=i), 0.001 * i, 0.01, i)
                 for i in range(3))
    text = periods_text(PeriodReport("day", "BTC", rows))
    assert "Daily Profit over the last 3 days" in text
    assert strip_tags(text).count("BTC") == 3


def test_balance_hides_dust_and_warns_in_dry_run() -> None:
    view = BalanceView(True, "BTC", 1.0, (
        CurrencyBalance("BTC", 0.9, 0.0, 0.9, 0.9, 0.9),
        CurrencyBalance("ETH", 1.0, 0.0, 1.0, 1.0, 0.05),
        CurrencyBalance("DOGE", 3.0, 0.0, 3.0, 3.0, 0.00001),
    ), 0.95, -0.05)
    plain = strip_tags(balance_text(view, None))
    assert plain.startswith("⚠️ Simulated balances (dry-run)")
    assert "ETH:" in plain
    assert "DOGE:" not in plain
    assert "1 dust balances below 0.0001 BTC" in plain
    assert "Estimated Value (Bot managed assets only): 0.95001 BTC (-5.00% since start)" in plain
    full = strip_tags(balance_text(view, None, full=True))
    assert "Estimated Value: 0.95 BTC (-5.00% since start)" in full


@pytest.mark.parametrize(("dry_run", "banner"), [(True, "DRY-RUN"), (False, "LIVE")])
def test_show_config_leads_with_the_trading_mode(dry_run: bool, banner: str) -> None:
    text = config_text({"exchange": {"name": "binance"}, "strategy": "S"}, dry_run, "running")
    first = strip_tags(text).splitlines()[0]
    assert banner in first
    assert ("LIVE" in first) != ("DRY-RUN" in first)


def test_dynamic_text_is_escaped_so_telegram_accepts_it() -> None:
    nasty = trade(pair="<b>X&Y</b>/BTC", enter_tag="</pre><i>")
    assert html_problem(status_text([nasty], NOW)) is None
    assert html_problem(status_table_text([nasty, trade()], NOW)) is None


def test_numbers_and_durations_read_naturally() -> None:
    assert trim(0.05000000, 8) == "0.05"
    assert trim(-0.0000000001, 8) == "0"
    assert duration(timedelta(days=2, hours=3, minutes=4)) == "2d 3h"
    assert duration(timedelta(seconds=42)) == "42s"
    assert duration(timedelta(seconds=-5)) == "0s"


# --- splitting --------------------------------------------------------------------------------

_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)


@given(st.lists(_text, min_size=1, max_size=120), st.sampled_from([200, 1000, MAX_TEXT]))
def test_split_parts_fit_the_limit_and_each_is_valid_html(lines: list[str], limit: int) -> None:
    blocks = [f"<b>{esc(line)}</b>" if i % 3 == 0 else esc(line) for i, line in enumerate(lines)]
    text = "<pre>" + "\n".join(blocks) + "</pre>"
    parts = split_message(text, limit)
    assert all(len(part) <= limit for part in parts)
    assert all(html_problem(part) is None for part in parts)
    joined = "".join(strip_tags(p) for p in parts)
    assert re.sub(r"\s", "", joined) == re.sub(r"\s", "", strip_tags(text))


@given(st.lists(st.text(alphabet="ab &<>é\n", min_size=1, max_size=60), min_size=1,
                max_size=200))
def test_split_never_breaks_a_line_that_fits(lines: list[str]) -> None:
    escaped = [esc(line.replace("\n", " ")) for line in lines]
    parts = split_message("\n".join(escaped), 500)
    kept = [line for part in parts for line in part.split("\n")]
    assert [x for x in kept if x] == [x for x in escaped if x]


def test_a_line_longer_than_the_limit_is_cut_outside_entities() -> None:
    line = esc("a&b " * 3000)
    parts = split_message(line, MAX_TEXT)
    assert len(parts) > 1
    assert all(html_problem(p) is None and len(p) <= MAX_TEXT for p in parts)
    assert "".join(html.unescape(p) for p in parts) == "a&b " * 3000


# --- argument parsing -------------------------------------------------------------------------


@given(st.integers(1, 100))
def test_whole_numbers_in_range_are_accepted(n: int) -> None:
    assert parse.optional_whole([str(n)], USAGE, 1, 100) == n


@given(st.one_of(st.integers(max_value=0), st.integers(min_value=101)).map(str)
       | st.text(min_size=1).filter(lambda s: not s.isascii() or not s.isdigit()))
def test_anything_else_gets_the_one_line_usage(word: str) -> None:
    with pytest.raises(CommandError) as info:
        parse.optional_whole([word], USAGE, 1, 100)
    assert str(info.value) == USAGE
    assert "\n" not in str(info.value)


def test_two_arguments_where_one_is_expected_get_the_usage() -> None:
    with pytest.raises(CommandError, match=r"^Usage: /trades"):
        parse.optional_whole(["1", "2"], USAGE, 1, 100)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_prices_must_be_positive_finite_numbers_written_plainly(value: float) -> None:
    word = np.format_float_positional(value)
    if value > 0 and value != float("inf"):
        assert parse.price_of(word, USAGE) == value
    else:
        with pytest.raises(CommandError):
            parse.price_of(word, USAGE)


@pytest.mark.parametrize("word", ["1e+16", "1e-5", "+1", "-1", "1_000", "0x1F", "inf", "nan"])
def test_a_price_with_a_sign_an_exponent_or_no_digits_is_refused(word: str) -> None:
    with pytest.raises(CommandError):
        parse.price_of(word, USAGE)


def test_pairs_are_normalised_and_a_bare_base_gets_the_stake_currency() -> None:
    assert parse.entry_args(["eth"], USAGE, "BTC") == ("ETH/BTC", None)
    assert parse.entry_args(["ltc/btc", "0.01"], USAGE, "BTC") == ("LTC/BTC", 0.01)
    assert parse.pair_list([".*/BTC"], USAGE, "BTC") == [".*/BTC"]
    with pytest.raises(CommandError):
        parse.entry_args(["ETH/BTC/X"], USAGE, "BTC")


def test_status_and_exit_targets() -> None:
    assert parse.status_target([], USAGE) is None
    assert parse.status_target(["TABLE"], USAGE) == "table"
    assert parse.status_target(["1", "5"], USAGE) == [1, 5]
    assert parse.exit_target(["all"], USAGE) == "all"
    with pytest.raises(CommandError):
        parse.exit_target(["1", "2"], USAGE)
