"""What a running strategy may read and do: self.config (a copy, Freqtrade's names),
self.wallets (read-only; live from the exchange's last balances), pair locks on the store,
its module's Trade (snapshots), bot_start; and what the loader refuses."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from core.clock import ManualClock
from core.errors import ConfigError, StrategyError
from engine.config import parse_config
from engine.loader import load_strategy
from engine.strategy_runtime import bind_runtime
from store.store import Store
from tests.factories import DATA_START, new_order, new_trade
from venues.exchange import Balance

HEADER = "from freqtrade.strategy import IStrategy\nfrom freqtrade.persistence import Trade\n"
BODY = """
class Probe(IStrategy):
    timeframe = "5m"
    stoploss = -0.1
{extra}
    def populate_indicators(self, dataframe, metadata):
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):
        return dataframe
"""


def probe(tmp_path: Path, extra: str = "") -> Path:
    folder = tmp_path / "strategies"
    folder.mkdir(exist_ok=True)
    (folder / "probe.py").write_text(
        HEADER + BODY.format(extra=textwrap.indent(textwrap.dedent(extra), "    ")),
        encoding="utf-8")
    return folder


def refused(folder: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_strategy("Probe", folder, {})
    return str(caught.value)


def test_config_is_the_effective_config_as_a_copy_with_freqtrades_names(
        tmp_path: Path, store: Store) -> None:
    settings = parse_config({"stake_currency": "BTC", "max_open_trades": 4}, {})
    strategy = load_strategy("Probe", probe(tmp_path))
    bind_runtime(strategy, settings, store, ManualClock(DATA_START))
    config = strategy.config
    assert (config["stake_currency"], config["max_open_trades"], config["trading_mode"],
            config["timeframe"], config["stoploss"]) == ("BTC", 4, "spot", "5m", -0.1)
    assert "secrets" not in config
    config["exchange"]["pair_whitelist"].append("DOGE/BTC")
    config["max_open_trades"] = 99
    assert "DOGE/BTC" not in settings.exchange.pair_whitelist
    assert settings.max_open_trades == 4


def test_pair_locks_go_to_the_store_until_the_next_candle(tmp_path: Path,
                                                          store: Store) -> None:
    clock = ManualClock(DATA_START)
    strategy = load_strategy("Probe", probe(tmp_path))
    with pytest.raises(StrategyError, match="only while the bot runs the strategy"):
        strategy.lock_pair("ETH/BTC", DATA_START)
    bind_runtime(strategy, parse_config({}, {}), store, clock)
    strategy.lock_pair("ETH/BTC", DATA_START + timedelta(minutes=7), reason="cool")
    strategy.lock_pair("ETH/BTC", DATA_START + timedelta(minutes=7), reason="cool")  # kept once
    strategy.lock_pair("LTC/BTC", DATA_START + timedelta(hours=1), side="short")  # no effect
    (lock,) = store.active_locks(DATA_START)
    assert (lock.pair, lock.reason, lock.lock_end_time) == \
        ("ETH/BTC", "cool", DATA_START + timedelta(minutes=10))
    assert strategy.is_pair_locked("ETH/BTC")
    assert not strategy.is_pair_locked("LTC/BTC")
    assert not strategy.is_pair_locked("ETH/BTC", candle_date=DATA_START + timedelta(minutes=5))
    strategy.unlock_reason("cool")
    assert not strategy.is_pair_locked("ETH/BTC")
    strategy.lock_pair("*", DATA_START + timedelta(minutes=5))
    assert strategy.is_pair_locked("LTC/BTC")
    strategy.unlock_pair("*")
    assert not strategy.is_pair_locked("LTC/BTC")


def test_the_modules_trade_gives_snapshots_of_the_bound_engines_trades(
        tmp_path: Path, store: Store) -> None:
    strategy = load_strategy("Probe", probe(tmp_path, "def trades(self, **kw):\n"
                                                      "    return Trade.get_trades_proxy(**kw)\n"
                                                      "def count(self):\n"
                                                      "    return Trade.get_open_trade_count()\n"))
    assert strategy.trades() == []  # type: ignore[attr-defined]  # not bound yet: no trades
    first = new_trade(store, "ETH/BTC", amount=1.0, stake_amount=0.1)
    new_order(store, first, amount=1.0, filled=1.0)
    second = new_trade(store, "LTC/BTC", open_date=DATA_START + timedelta(minutes=5))
    closed = new_trade(store, "ETH/BTC", is_open=False, close_date=DATA_START,
                       close_profit_abs=0.01, open_date=DATA_START - timedelta(hours=1))
    bind_runtime(strategy, parse_config({}, {}), store, ManualClock(DATA_START))
    every = strategy.trades()  # type: ignore[attr-defined]
    assert [t.id for t in every] == [closed.id, first.id, second.id]
    open_eth = strategy.trades(pair="ETH/BTC", is_open=True)  # type: ignore[attr-defined]
    assert [t.id for t in open_eth] == [first.id]
    assert strategy.count() == 2  # type: ignore[attr-defined]
    snapshot = every[1]
    assert (snapshot.nr_of_successful_entries, snapshot.buy_tag, snapshot.is_open) == \
        (1, None, True)
    with pytest.raises(AttributeError):
        snapshot.amount = 5.0  # type: ignore[misc]


def test_live_wallets_are_the_balances_the_engine_last_fetched(
        tmp_path: Path, store: Store) -> None:
    strategy = load_strategy("Probe", probe(tmp_path))
    settings = replace(parse_config({"tradable_balance_ratio": 0.5}, {}), dry_run=False)
    runtime = bind_runtime(strategy, settings, store, ManualClock(DATA_START))
    wallets = strategy.wallets
    assert wallets is not None
    assert wallets.get_free("BTC") == 0
    runtime.saw({"BTC": Balance("BTC", 0.8, 0.2, 1.0), "ETH": Balance("ETH", 3.0, 0.0, 3.0)})
    assert (wallets.get_free("BTC"), wallets.get_used("BTC"), wallets.get_total("ETH")) == \
        (0.8, 0.2, 3.0)
    assert wallets.get_total_stake_amount() == pytest.approx(0.4)


def test_dry_run_wallets_are_the_starting_wallet_plus_profit_less_open_stakes(
        tmp_path: Path, store: Store) -> None:
    strategy = load_strategy("Probe", probe(tmp_path))
    bind_runtime(strategy, parse_config({"dry_run_wallet": 2.0}, {}), store,
                 ManualClock(DATA_START))
    new_trade(store, "ETH/BTC", amount=1.5, stake_amount=0.15)
    new_trade(store, "LTC/BTC", is_open=False, close_date=DATA_START, close_profit_abs=0.05)
    wallets = strategy.wallets
    assert wallets is not None
    assert wallets.get_free("BTC") == pytest.approx(2.0 + 0.05 - 0.15)
    assert wallets.get_total("ETH") == 1.5
    assert wallets.get_available_stake_amount() == pytest.approx(
        min((0.15 + 1.9) * 0.99 - 0.15, 1.9))


def test_a_strategy_that_ignores_expired_entry_signals_loads_with_its_limit(
        tmp_path: Path) -> None:
    """It was refused at load although the engine honours it (engine/analysis.py)."""
    strategy = load_strategy("Probe", probe(tmp_path, "ignore_buying_expired_candle_after = 30"))
    assert strategy.ignore_buying_expired_candle_after == 30


def test_bot_start_runs_once_at_load_with_the_config(tmp_path: Path) -> None:
    folder = probe(tmp_path, "def bot_start(self, **kwargs):\n"
                             "    self.started = self.config['stake_currency']\n")
    strategy = load_strategy("Probe", folder, config={"stake_currency": "USDT"})
    assert strategy.started == "USDT"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("extra", "message"), [
    ("can_short = True", "Probe.can_short: tradepilot trades spot, long only; expected False"),
    ("INTERFACE_VERSION = 4", "Probe.INTERFACE_VERSION: expected 1, 2 or 3, got 4"),
    ("use_custom_roi = True", "Probe.use_custom_roi: custom ROI is not supported"),
    ('order_time_in_force = {"entry": "GTX", "exit": "GTC"}',
     "Probe.order_time_in_force.entry: expected one of GTC, IOC, FOK, PO, got 'GTX'"),
    ("def adjust_entry_price(self, **kwargs):\n    return None\n",
     "Probe.adjust_entry_price: tradepilot would never call it (replacing open entry orders is "
     "not supported)"),
    ("def populate_buy_trend(self, dataframe):\n    return dataframe\n",
     "Probe.populate_buy_trend: interface version 1 (no metadata argument) is not supported"),
    ('order_types = {"buy": "limit", "entry": "market", "exit": "limit", "stoploss": "limit"}',
     "Probe.order_types: both 'entry' and the older 'buy' are set; expected only 'entry'"),
])
def test_what_cannot_work_is_refused_at_load_with_the_attribute_and_why(
        tmp_path: Path, extra: str, message: str) -> None:
    assert message in refused(probe(tmp_path, extra))
