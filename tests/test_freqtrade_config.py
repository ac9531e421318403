"""A Freqtrade user's config files, unchanged: comments and trailing commas, several files and
add_config_files merged in Freqtrade's order, its key names, blacklist patterns, and the keys we
do not use named once at start-up."""

from __future__ import annotations

import json
import logging
import os
import selectors
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.clock import ManualClock
from core.errors import ConfigError
from engine.config import parse_config
from engine.orders import OrderManager, record_intent
from store.models import Order, Trade
from store.store import Store
from tests.engine.scripted import Scripted
from tests.factories import make_engine, new_trade, run_for
from tests.fakes import FakeExchangeServer
from tests.fakes.telegram import QUIET, open_chat
from venues.exchange import OrderRequest, OrderSnapshot

ROOT = Path(__file__).resolve().parent.parent
SECRETS = ("TELEGRAM_TOKEN", "TELEGRAM_CHAT_ID", "TELEGRAM_API_URL", "EXCHANGE_API_KEY",
           "EXCHANGE_API_SECRET", "EXCHANGE_PASSWORD", "DATABASE_URL")


def bot(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run([sys.executable, str(ROOT / "bot.py"), *args], cwd=cwd, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=60, check=False)


def effective(cwd: Path, *args: str) -> dict:
    run = bot(cwd, "check-config", *args)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def failure(cwd: Path, *args: str) -> str:
    run = bot(cwd, "check-config", *args)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    (line,) = run.stderr.splitlines()
    return line


# --- reading the files -----------------------------------------------------------------------


def test_comments_and_trailing_commas_are_read_as_freqtrade_reads_them(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("""{
    // a Freqtrade config as its users write it
    "stake_amount": 0.02,  /* per trade */
    "max_open_trades": 2,
    "exchange": {
        "pair_whitelist": ["ETH/BTC", "LTC/BTC",],
    },
}
""", encoding="utf-8")

    shown = effective(tmp_path, "--config", "config.json")

    assert (shown["stake_amount"], shown["max_open_trades"]) == (0.02, 2)
    assert shown["exchange"]["pair_whitelist"] == ["ETH/BTC", "LTC/BTC"]


@pytest.mark.heavy
def test_a_syntax_error_names_the_file_its_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        '{\n  // stake\n  "stake_amount": 0.02,\n  "max_open_trades" 2\n}\n', encoding="utf-8")

    assert failure(tmp_path, "--config", "config.json") == (
        "tradepilot: config.json: not valid JSON (line 4, column 21): Missing a colon after a "
        "name of object member")


@pytest.mark.heavy
def test_several_config_files_merge_in_order_later_ones_overriding_key_by_key(
    tmp_path: Path
) -> None:
    (tmp_path / "base.json").write_text(json.dumps({
        "stake_amount": 0.01, "max_open_trades": 5,
        "exchange": {"pair_whitelist": ["ETH/BTC"], "outdated_offset": 9}}), encoding="utf-8")
    (tmp_path / "more.json").write_text(json.dumps({
        "stake_amount": 0.03, "exchange": {"pair_whitelist": ["LTC/BTC", "XLM/BTC"]}}),
        encoding="utf-8")

    shown = effective(tmp_path, "-c", "base.json", "-c", "more.json")

    assert (shown["stake_amount"], shown["max_open_trades"]) == (0.03, 5)
    assert shown["exchange"]["pair_whitelist"] == ["LTC/BTC", "XLM/BTC"]
    assert shown["exchange"]["outdated_offset"] == 9
    assert shown["source"] == "base.json, more.json"


@pytest.mark.heavy
def test_add_config_files_are_read_from_the_files_folder_under_the_files_own_keys(
    tmp_path: Path
) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "main.json").write_text(json.dumps({
        "add_config_files": ["pairs.json", "money.json"], "stake_amount": 0.04}),
        encoding="utf-8")
    (tmp_path / "conf" / "pairs.json").write_text(json.dumps({
        "exchange": {"pair_whitelist": ["XLM/BTC"]}, "stake_amount": 0.01}), encoding="utf-8")
    (tmp_path / "conf" / "money.json").write_text(json.dumps({
        "max_open_trades": 1, "dry_run_wallet": 2.5}), encoding="utf-8")

    shown = effective(tmp_path, "--config", "conf/main.json")

    assert (shown["stake_amount"], shown["max_open_trades"], shown["dry_run_wallet"]) == (
        0.04, 1, 2.5)
    assert shown["exchange"]["pair_whitelist"] == ["XLM/BTC"]
    assert "add_config_files" not in shown["ignored_keys"]


@pytest.mark.heavy
def test_config_files_including_each_other_are_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"add_config_files": ["b.json"]}', encoding="utf-8")
    (tmp_path / "b.json").write_text('{"add_config_files": ["a.json"]}', encoding="utf-8")

    line = failure(tmp_path, "--config", "a.json")

    assert line.startswith("tradepilot: add_config_files: the files include each other (")
    assert line.endswith("a.json); expected no loop")


# --- Freqtrade's key names -------------------------------------------------------------------


@pytest.mark.heavy
def test_freqtrade_logfile_key_is_the_log_file_and_saying_both_is_refused(
    tmp_path: Path
) -> None:
    (tmp_path / "config.json").write_text('{"logfile": "bot.log"}', encoding="utf-8")
    (tmp_path / "both.json").write_text('{"logfile": "a.log", "log_file": "b.log"}',
                                        encoding="utf-8")

    assert effective(tmp_path)["log_file"] == "bot.log"
    assert failure(tmp_path, "-c", "both.json") == (
        "tradepilot: logfile: given together with log_file; expected one of them")


def test_neutral_values_of_the_keys_we_do_not_do_pass_and_are_listed() -> None:
    settings = parse_config({
        "trading_mode": "spot",
        "pairlists": [{"method": "StaticPairList"}]}, {})

    assert settings.ignored_keys == ("trading_mode",)


def test_freqtrades_hyperopt_analysis_and_futures_keys_load_and_are_listed_as_unused() -> None:
    """They were refused as unknown keys (exit 2): a Freqtrade config did not load as it is."""
    keys = {"epochs": 500, "spaces": ["buy", "sell"], "hyperopt_loss": "SharpeHyperOptLoss",
            "hyperopt_jobs": 2, "hyperopt_min_trades": 10, "backtest_breakdown": ["day"],
            "backtest_cache": "day", "export": "trades", "coingecko": {"api_key": ""},
            "proxy_coin": "BNFCR", "liquidation_buffer": 0.05, "print_all": False,
            "log_config": {"version": 1}, "recursive_strategy_search": True}

    settings = parse_config(keys, {})

    assert set(settings.ignored_keys) == set(keys)


def test_amend_last_stake_amount_is_read_with_its_ratio() -> None:
    """It was refused; the backtest of tests/freqtrade_parity/configs/TalibBands-amend.json
    shows it shrinking the last stake as Freqtrade does."""
    settings = parse_config({"amend_last_stake_amount": True,
                             "last_stake_amount_min_ratio": 0.4}, {})

    assert (settings.amend_last_stake_amount, settings.last_stake_amount_min_ratio) == (True, 0.4)
    assert "amend_last_stake_amount" not in settings.ignored_keys
    with pytest.raises(ConfigError, match="last_stake_amount_min_ratio"):
        parse_config({"last_stake_amount_min_ratio": 1.5}, {})


def test_freqtrade_exchange_keys_are_accepted_with_their_meaning() -> None:
    settings = parse_config({"exchange": {
        "log_responses": True, "unknown_fee_rate": 0.012, "enable_ws": False,
        "ccxt_sync_config": {"enableRateLimit": True},
        "ccxt_async_config": {"timeout": 30000}}}, {})

    assert settings.exchange.log_responses is True
    assert settings.exchange.unknown_fee_rate == 0.012
    assert settings.exchange.ccxt_config["timeout"] == 30000
    assert settings.ignored_keys == (
        "exchange.ccxt_sync_config (tradepilot has only ccxt's async client; ccxt_config and "
        "ccxt_async_config reach it)",)
    with_ws = parse_config({"exchange": {"enable_ws": True}}, {})
    assert with_ws.ignored_keys == ("exchange.enable_ws (no websockets here: candles, prices "
                                    "and orders are polled over REST each iteration)",)


@pytest.mark.parametrize(("config", "message"), [
    ({"exchange": {"unknown_fee_rate": 0}}, "exchange.unknown_fee_rate: expected a positive"),
    ({"exchange": {"unknown_fee_rate": "bnb"}}, "exchange.unknown_fee_rate: expected a number"),
    ({"exchange": {"log_responses": "yes"}}, "exchange.log_responses: expected true or false"),
    ({"logfile": "syslog:/dev/log"}, "logfile: logging to syslog is not supported"),
    ({"exit_pricing": {"check_depth_of_market": {"enabled": True}}},
     "exit_pricing.check_depth_of_market.enabled: Freqtrade checks the depth of the market "
     "before entries only"),
    ({"entry_pricing": {"check_depth_of_market": {"bids_to_ask_delta": -1}}},
     "entry_pricing.check_depth_of_market.bids_to_ask_delta: expected a number >= 0.0"),
    ({"trading_mode": "futures"}, "trading_mode: 'futures' is not supported; expected \"spot\""),
    ({"trading_mode": "spot", "margin_mode": "isolated"},
     "margin_mode: 'isolated' is not supported (spot only, nothing is borrowed)"),
    ({"position_adjustment_enable": "yes"}, "position_adjustment_enable: expected true or"),
    ({"max_entry_position_adjustment": -2},
     "max_entry_position_adjustment: expected a whole number >= -1"),
    ({"pairlists": [{"method": "StaticPairList"}, {"method": "RemotePairList"}]},
     "pairlists[1].method: RemotePairList is not supported"),
    ({"order_time_in_force": {"entry": "GTC", "exit": "GTD"}},
     "order_time_in_force.exit: expected one of GTC, IOC, FOK, PO, got 'GTD'"),
    ({"order_time_in_force": {"entry": "GTC", "stoploss": "IOC"}},
     "order_time_in_force.stoploss: unknown key"),
    ({"freqai": {"enabled": True}}, "freqai.enabled: not supported"),
    ({"exchange": {"pair_blacklist": ["*/BTC"]}},
     "exchange.pair_blacklist: '*/BTC' is not a valid regular expression (nothing to repeat"),
])  # fmt: skip
def test_freqtrade_keys_we_cannot_honour_are_refused_naming_them(config: dict,
                                                                 message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(config, {})
    assert str(caught.value).startswith(message.split(":")[0])
    assert message in str(caught.value)


async def test_log_responses_puts_each_order_answer_in_the_log(
    caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeExchangeServer(ManualClock(datetime(2018, 1, 11, tzinfo=UTC)),
                                  balances={"BTC": 1}) as server:
        quiet = server.ccxt_exchange()
        talkative = server.ccxt_exchange(log_responses=True)
        await quiet.load_markets()
        await talkative.load_markets()
        caplog.set_level(logging.INFO, "venues.ccxt_exchange")

        await quiet.create_order(OrderRequest("ETH/BTC", "buy", "limit", 0.1, 0.05, "tp-1"))
        assert "answer" not in caplog.text
        await talkative.create_order(OrderRequest("ETH/BTC", "buy", "limit", 0.1, 0.05, "tp-2"))

    (line,) = [r.getMessage() for r in caplog.records if "answer" in r.getMessage()]
    assert line.startswith("binance answer order: {")
    assert "'clientOrderId': 'tp-2'" in line


@pytest.mark.parametrize(("unknown_fee_rate", "fee_open"), [(None, 0.001), (0.01, 0.002)])
async def test_a_fee_paid_in_a_third_coin_is_valued_at_unknown_fee_rate(
    store: Store, unknown_fee_rate: float | None, fee_open: float
) -> None:
    when = datetime(2018, 1, 11, 6, 5, tzinfo=UTC)
    with store.transaction():
        trade = new_trade(store, "ETH/BTC", exchange="paper", strategy="S", open_date=when,
                          open_rate=0.05, amount_requested=2.0, fee_open=0.001)
        intent = record_intent(store, trade, "buy", "limit", 2.0, 0.05, None, ManualClock(when))
    answer = OrderSnapshot(
        order_id="x1", client_order_id=intent.client_order_id, pair="ETH/BTC", side="buy",
        order_type="limit", status="closed", amount=2.0, filled=2.0, remaining=0.0, price=0.05,
        average=0.05, cost=0.1, fee_cost=0.02, fee_currency="BNB", timestamp=when)
    orders = OrderManager(None, ManualClock(when), store,  # type: ignore[arg-type]
                          unknown_fee_rate=unknown_fee_rate)

    orders.apply(intent, answer)

    # 0.02 BNB at 0.01 BTC each is 0.0002 BTC on a cost of 0.1 BTC.
    assert Trade.get_by_id(trade.id).fee_open == pytest.approx(fee_open)


# --- blacklist patterns ----------------------------------------------------------------------


async def test_a_blacklist_pattern_in_the_config_keeps_every_pair_it_matches_out() -> None:
    async with open_chat(overrides={"exchange": {
            "pair_whitelist": ["ETH/BTC", "LTC/BTC", "XLM/BTC"],
            "pair_blacklist": ["(ltc|xlm)/.*"]}}) as chat:
        assert await chat.say("/whitelist") == ("Using whitelist StaticPairList with 1 pairs\n"
                                                "ETH/BTC")


async def test_a_blacklist_pattern_added_in_chat_works_and_a_bad_one_gets_a_usage_reply(
) -> None:
    async with open_chat() as chat:
        before = await chat.say("/whitelist")
        assert "LTC/BTC" in before

        added = await chat.say("/blacklist LTC/.*")
        shown = await chat.say("/whitelist")
        refused = await chat.say("/blacklist */BTC")

    assert added == "Blacklist (1 pairs):\nLTC/.*"
    assert "LTC/BTC" not in shown
    assert before.startswith("Using whitelist StaticPairList with 5 pairs\n")
    assert shown.startswith("Using whitelist StaticPairList with 4 pairs\n")
    assert refused.startswith("Not a valid pattern: '*/BTC' is not a valid regular expression")


# --- keys we do not use, named once at start-up ----------------------------------------------


@pytest.mark.heavy
def test_run_names_the_keys_it_ignores_in_one_warning(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({
        "trading_mode": "spot", "bot_name": "ft", "telegram": {"enabled": False},
        "exchange": {"enable_ws": True}, "internals": {"process_throttle_secs": 0.2}}),
        encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    process = subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "run"], cwd=tmp_path,
                               env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        assert process.stderr is not None
        with selectors.DefaultSelector() as waiting:
            waiting.register(process.stderr, selectors.EVENT_READ)
            deadline = time.monotonic() + 30
            # Several iterations after start: a repeated warning would show by then.
            while sum("engine.engine: started" in line for line in lines) == 0 or len(
                    [line for line in lines if " INFO " in line]) < 4:
                assert time.monotonic() < deadline, lines
                if waiting.select(timeout=1):
                    lines.append(process.stderr.readline())
            time.sleep(1)
    finally:
        process.terminate()
        rest = process.communicate(timeout=30)[1]
    lines += rest.splitlines()
    ignored = [line for line in lines if "does not use" in line]
    assert len(ignored) == 1, lines
    assert ignored[0].rstrip().endswith(
        "WARNING tradepilot: config keys tradepilot accepts and does not use: trading_mode, "
        "bot_name, exchange.enable_ws (no websockets here: candles, prices and orders are "
        "polled over REST each iteration)")


@pytest.mark.parametrize(("config", "fee_rate"), [({}, 0.001), ({"fee": 0.004}, 0.004)])
async def test_the_fee_key_is_the_dry_run_fee_as_in_freqtrade(config: dict,
                                                               fee_rate: float) -> None:
    clock = ManualClock(datetime(2018, 1, 11, 5, 0, tzinfo=UTC))
    commands = make_engine(settings_overrides={**QUIET, **config}, clock=clock,
                           strategy=Scripted(order_types={
                               "entry": "limit", "exit": "limit", "stoploss": "limit",
                               "force_entry": "market", "stoploss_on_exchange": False}))
    await commands.startup()
    await run_for(commands, clock, 1)
    engine = commands.engine

    await engine.force_entry("ETH/BTC", engine.tickers["ETH/BTC"], None)

    (order,) = Order.select()
    assert order.fee_cost == pytest.approx(order.cost * fee_rate)


@pytest.mark.parametrize(("config", "entered"), [
    ({}, True), ({"ignore_buying_expired_candle_after": 300}, True),
    ({"ignore_buying_expired_candle_after": 60}, False)])
async def test_an_entry_signal_older_than_ignore_buying_expired_candle_after_is_not_taken(
    config: dict, entered: bool
) -> None:
    signal = datetime(2018, 1, 11, 6, 0, tzinfo=UTC)
    # Two minutes after the signal candle closed.
    clock = ManualClock(datetime(2018, 1, 11, 6, 7, tzinfo=UTC))
    commands = make_engine(settings_overrides={
        **QUIET, **config, "exchange": {"pair_whitelist": ["ETH/BTC"]}}, clock=clock,
        strategy=Scripted(enter={"ETH/BTC": [signal]}))
    await commands.startup()

    await commands.process()

    assert [t.pair for t in Trade.select()] == (["ETH/BTC"] if entered else [])
