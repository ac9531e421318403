"""The parity rules: what counts as the same trade, and the first difference a list shows."""

from __future__ import annotations

from typing import Any

from tests.parity_rules import differences, first_difference

TRADE: dict[str, Any] = {
    "pair": "ETH/BTC", "open_date": "2018-01-10T08:05:00Z", "close_date": "2018-01-10T08:20:00Z",
    "open_rate": 0.09, "close_rate": 0.0912, "amount": 0.555, "exit_reason": "roi",
    "profit_ratio": 0.0113,
}  # fmt: skip


def test_rates_within_a_relative_billionth_and_profits_within_a_billionth_are_the_same() -> None:
    ours = {**TRADE, "close_rate": 0.0912 * (1 + 0.9e-9), "profit_ratio": 0.0113 + 0.9e-9}

    assert differences(ours, TRADE) == []


def test_each_field_outside_the_rules_is_named() -> None:
    ours = {**TRADE, "exit_reason": "exit_signal", "amount": 0.555 * (1 + 2e-9),
            "profit_ratio": 0.0113 + 2e-9}
    del ours["close_date"]

    assert [line.split(":")[0] for line in differences(ours, TRADE)] == [
        "close_date", "exit_reason", "amount", "profit_ratio"]


def test_the_first_differing_trade_is_reported_with_freqtrades_pair_and_date() -> None:
    later = {**TRADE, "pair": "LTC/BTC", "open_date": "2018-01-11T00:00:00Z"}

    assert first_difference([TRADE, TRADE], [TRADE, later]) == (
        "trade 1 (Freqtrade: LTC/BTC 2018-01-11T00:00:00Z): pair: 'ETH/BTC' != 'LTC/BTC'; "
        "open_date: '2018-01-10T08:05:00Z' != '2018-01-11T00:00:00Z'")


def test_a_missing_trade_at_the_end_is_a_difference_and_equal_lists_have_none() -> None:
    assert first_difference([TRADE], [TRADE, TRADE]) == "1 trades here, 2 in Freqtrade's list"
    assert first_difference([TRADE, TRADE], [TRADE, TRADE]) is None
