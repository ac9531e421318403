"""Invalid configs and environment values are refused, each with a message that names the key
and says what was expected; bot.py turns them into one line on stderr and exit status 2.

The rows of tests/test_settings.py are not repeated here: this table adds the cases it lacks
(the dry_run rows live in test_live_gate.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.errors import ConfigError
from engine.config import load_settings, parse_config

ROOT = Path(__file__).resolve().parents[2]
NAN = float("nan")

CONFIG_ROWS: list[tuple[dict[str, Any], str]] = [
    # bad types
    ({"max_open_trades": "3"}, "max_open_trades: expected a whole number, got '3'"),
    ({"stake_currency": 5}, "stake_currency: expected a non-empty string, got 5"),
    ({"exchange": ["binance"]}, "exchange: expected an object {...}, got ['binance']"),
    ({"telegram": {"enabled": "yes"}}, "telegram.enabled: expected true or false"),
    ({"tradable_balance_ratio": 1.5}, "tradable_balance_ratio: expected a number in [0.0, 1.0]"),
    ({"dry_run_wallet": -1}, "dry_run_wallet: expected a number >= 0.0, got -1"),
    ({"stoploss": "-0.1"}, "stoploss: expected a number, got '-0.1'"),
    ({"stoploss": -1.5}, "stoploss: expected a negative ratio such as -0.10, got -1.5"),
    ({"initial_state": "halted"}, "initial_state: expected one of running, paused, stopped"),
    ({"verbosity": -1}, "verbosity: expected a whole number >= 0, got -1"),
    ({"internals": {"process_throttle_secs": "5"}},
     "internals.process_throttle_secs: expected a number, got '5'"),
    ({"exchange": {"markets_refresh_interval": 0}},
     "exchange.markets_refresh_interval: expected a whole number >= 1, got 0"),
    ({"order_types": {"entry": "stop"}}, "order_types.entry: expected one of limit, market"),
    ({"order_types": {"stoploss_on_exchange": True, "stoploss_price_type": "mark"}},
     "order_types.stoploss_price_type: spot stop orders trigger on the last price only"),
    ({"order_types": {"stoploss_on_exchange_limit_ratio": 1.2}},
     "order_types.stoploss_on_exchange_limit_ratio: expected a number in [0.5, 1.0]"),
    ({"order_types": {"stoploss_on_exchange_interval": "60"}},
     "order_types.stoploss_on_exchange_interval: expected a number, got '60'"),
    ({"entry_pricing": {"price_side": "middle"}},
     "entry_pricing.price_side: expected one of same, other, bid, ask"),
    ({"telegram": {"authorized_users": ["bob"]}},
     "telegram.authorized_users: expected a whole number, got 'bob'"),
    ({"telegram": {"authorized_users": [-1001234]}},
     "telegram.authorized_users: expected a whole number >= 1, got -1001234"),
    ({"telegram": {"notification_settings": {"exit": "loud"}}},
     "telegram.notification_settings.exit: expected one of on, silent, off"),
    # unknown keys, with a hint when one is close
    ({"max_open_trade": 3}, 'max_open_trade: unknown key (did you mean "max_open_trades"?)'),
    ({"telegram": {"enabeld": True}}, 'telegram.enabeld: unknown key (did you mean "enabled"?)'),
    ({"unfilledtimeout": {"entyr": 10}},
     'unfilledtimeout.entyr: unknown key (did you mean "entry"?)'),
    ({"exit_pricing": {"price_sid": "same"}},
     'exit_pricing.price_sid: unknown key (did you mean "price_side"?)'),
    ({"zzzzzz": 1}, "zzzzzz: unknown key"),
    # the stake
    ({"stake_amount": 0}, 'stake_amount: expected a positive number or "unlimited", got 0'),
    ({"stake_amount": NAN}, 'stake_amount: expected a positive number or "unlimited", got nan'),
    ({"stake_amount": float("inf")}, "stake_amount: expected a positive number"),
    ({"stake_amount": True}, "stake_amount: expected a positive number"),
    ({"stake_amount": "unlimited "}, "stake_amount: expected a positive number"),
    ({"stake_amount": "unlimited", "max_open_trades": 0},
     'max_open_trades: "unlimited" stake needs max_open_trades above 0'),
    # the timeframe
    ({"timeframe": "5M"}, "timeframe: expected one of 1m, 3m, 5m"),
    ({"timeframe": 5}, "timeframe: expected a non-empty string, got 5"),
    ({"timeframe": ""}, "timeframe: expected a non-empty string, got ''"),
    # pairs
    ({"exchange": {"pair_whitelist": ["ETHBTC"]}},
     "exchange.pair_whitelist: expected pairs in the form BASE/QUOTE, got 'ETHBTC'"),
    ({"exchange": {"pair_whitelist": ["/BTC"]}}, "exchange.pair_whitelist: expected pairs"),
    ({"exchange": {"pair_whitelist": ["ETH/BTC", 5]}},
     'exchange.pair_whitelist: expected a list of pairs like ["ETH/BTC"]'),
    ({"exchange": {"pair_blacklist": "LTC/BTC"}}, "exchange.pair_blacklist: expected a list"),
    ({"exchange": {"pair_whitelist": ["eth/btc"]}},
     "exchange.pair_whitelist: eth/btc is not quoted in stake_currency BTC"),
    # the ROI table
    ({"minimal_roi": {}}, "minimal_roi: expected a table like"),
    ({"minimal_roi": [[0, 0.04]]}, "minimal_roi: expected a table like"),
    ({"minimal_roi": {"0": "4%"}}, "minimal_roi.0: expected a number, got '4%'"),
    ({"minimal_roi": {"-10": 0.1}}, "minimal_roi: keys are whole minutes as strings, got '-10'"),
    ({"minimal_roi": {"0": NAN}}, "minimal_roi.0: expected a number, got nan"),
    # unfilledtimeout
    ({"unfilledtimeout": {"entry": -1}}, "unfilledtimeout.entry: expected a number >= 0.0"),
    ({"unfilledtimeout": {"exit": "10"}}, "unfilledtimeout.exit: expected a number, got '10'"),
    ({"unfilledtimeout": 10}, "unfilledtimeout: expected an object {...}, got 10"),
    ({"unfilledtimeout": {"exit_timeout_count": -1}},
     "unfilledtimeout.exit_timeout_count: expected a whole number >= 0"),
    # secrets belong in .env
    ({"exchange": {"secret": "s3cr3t"}},
     "exchange.secret: secrets belong in .env (EXCHANGE_API_SECRET)"),
    ({"exchange": {"password": "pw"}},
     "exchange.password: secrets belong in .env (EXCHANGE_PASSWORD)"),
    ({"exchange": {"uid": "u1"}}, "exchange.uid: secrets belong in .env (EXCHANGE_PASSWORD)"),
    ({"exchange": {"ccxt_config": {"apiKey": "k"}}},
     "exchange.ccxt_config.apiKey: secrets belong in .env"),
    ({"exchange": {"ccxt_config": {"headers": {"X-MBX-APIKEY": "k"}}}},
     "exchange.ccxt_config.headers.X-MBX-APIKEY: secrets belong in .env"),
    ({"exchange": {"ccxt_async_config": {"headers": {"Authorization": "Bearer k"}}}},
     "exchange.ccxt_async_config.headers.Authorization: secrets belong in .env"),
    ({"exchange": {"ccxt_async_config": {"secret": "s"}}},
     "exchange.ccxt_async_config.secret: secrets belong in .env"),
    ({"telegram": {"chat_id": "123"}},
     "telegram.chat_id: secrets belong in .env (TELEGRAM_CHAT_ID)"),
    ({"db_url": "postgresql://bot:hunter2@db/trades"},
     "db_url: a database password belongs in .env (DATABASE_URL)"),
]

ENV_ROWS: list[tuple[dict[str, str], str]] = [
    ({"TELEGRAM_CHAT_ID": "12.5"}, "TELEGRAM_CHAT_ID: expected a numeric chat id"),
    ({"TELEGRAM_CHAT_ID": "0x1F"}, "TELEGRAM_CHAT_ID: expected a numeric chat id"),
    ({"TELEGRAM_CHAT_ID": "@my_channel"}, "TELEGRAM_CHAT_ID: expected a numeric chat id"),
    ({"TELEGRAM_TOKEN": "1:x", "TELEGRAM_CHAT_ID": " "},
     "TELEGRAM_CHAT_ID: required when TELEGRAM_TOKEN is set"),
    ({"TELEGRAM_API_URL": "ftp://example.org/bot"}, "TELEGRAM_API_URL: expected a base URL"),
]

FILE_ROWS: list[tuple[bytes, str]] = [
    (b'{"stake_amount": 1, "stake_amount": 2}', "stake_amount: given twice in one object"),
    (b'{"exchange": {"name": "binance", "name": "kraken"}}', "name: given twice"),
    (b'{"stake_amount": NaN}', 'stake_amount: expected a positive number or "unlimited"'),
    (b'{"stake_currency": "\xff"}', "cannot read the file"),
    (b"", "not valid JSON (line 1, column 1)"),
]


@pytest.mark.parametrize(("config", "message"), CONFIG_ROWS)
def test_invalid_config_value_is_refused_naming_the_key(config: dict[str, Any],
                                                        message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(config, {})
    text = str(caught.value)
    assert message in text
    assert text.startswith(message.split(":")[0] + ":")
    assert "\n" not in text


@pytest.mark.parametrize(("env", "message"), ENV_ROWS)
def test_invalid_environment_value_is_refused_naming_the_variable(env: dict[str, str],
                                                                  message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({}, env)
    assert message in str(caught.value)


@pytest.mark.parametrize(("content", "message"), FILE_ROWS)
def test_invalid_config_file_is_refused_naming_the_problem(tmp_path: Path, content: bytes,
                                                           message: str) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_settings(str(path), {})
    assert message in str(caught.value)


# A sample through the real process, each start costing about a second of CPU:
# (sub-command, config text or None, env, expected last line).
PROCESS_ROWS: list[tuple[str, str | None, dict[str, str], str]] = [
    ("check-config", '{"max_open_trade": 3}', {},
     'max_open_trade: unknown key (did you mean "max_open_trades"?)'),
    ("check-config", '{"exchange": {"ccxt_config": {"apiKey": "k-123"}}}', {},
     "exchange.ccxt_config.apiKey: secrets belong in .env"),
    ("check-config", None, {"TELEGRAM_CHAT_ID": "@me"},
     "TELEGRAM_CHAT_ID: expected a numeric chat id"),
    ("run", '{"exchange": {"name": "nosuchexchange"}}', {},
     "exchange.name: ccxt does not know an exchange called 'nosuchexchange'"),
    ("check-config", '{"exchange": {"name": "nosuchexchange"}}', {},
     "exchange.name: ccxt does not know an exchange called 'nosuchexchange'"),
]


@pytest.mark.heavy
def test_bot_exits_2_without_a_traceback_for_a_sample_of_bad_configs(tmp_path: Path) -> None:
    running = []
    for index, (command, content, env, _) in enumerate(PROCESS_ROWS):
        folder = tmp_path / str(index)
        folder.mkdir()
        args = [sys.executable, str(ROOT / "bot.py"), command]
        if content is not None:
            (folder / "config.json").write_text(content, encoding="utf-8")
            args += ["--config", str(folder / "config.json")]
        running.append(subprocess.Popen(args, cwd=folder, env={"PATH": "/usr/bin:/bin", **env},
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True))
    for process, (_, _, _, expected) in zip(running, PROCESS_ROWS, strict=True):
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 2, stderr
        assert "Traceback" not in stderr
        last = stderr.strip().splitlines()[-1]
        assert last.startswith("tradepilot: ")
        assert expected in last
