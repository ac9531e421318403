"""Settings: Freqtrade key names, one clear line per bad setting, exit status 2, no secrets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ConfigError
from engine.config import load_settings, parse_config
from engine.settings import OrderTypes

ROOT = Path(__file__).resolve().parent.parent
KEYS = {"EXCHANGE_API_KEY": "key-AAAA1111", "EXCHANGE_API_SECRET": "secret-BBBB2222"}


def run_bot(*args: str, cwd: Path,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {"PATH": "/usr/bin:/bin", **(env or {})}
    return subprocess.run([sys.executable, str(ROOT / "bot.py"), *args], cwd=cwd, env=clean,
                          capture_output=True, text=True, timeout=60, check=False)


def test_no_config_file_gives_offline_dry_run_defaults() -> None:
    settings = load_settings(None, {})
    assert settings.dry_run is True
    assert settings.is_offline
    assert settings.exchange.pair_whitelist


def test_the_parity_freqtrade_config_loads_unchanged() -> None:
    # The parity case may be read from ../shared at run time (issue 7).
    config = ROOT.parent / "shared" / "parity" / "config.json"
    if not config.exists():
        pytest.skip("../shared/parity is not beside this checkout")
    settings = load_settings(str(config), {})
    assert settings.stake_amount == 0.05
    assert settings.max_open_trades == 3
    assert "trading_mode" in settings.ignored_keys


@pytest.mark.parametrize(("config", "message"), [
    ({"stake_ammount": 1}, 'stake_ammount: unknown key (did you mean "stake_amount"?)'),
    ({"dry_run": "false"}, "dry_run: expected true or false (a JSON boolean), got 'false'"),
    ({"max_open_trades": 2.5}, "max_open_trades: expected a whole number"),
    ({"stake_amount": -1}, 'stake_amount: expected a positive number or "unlimited"'),
    ({"stoploss": 0.1}, "stoploss: expected a negative ratio such as -0.10, got 0.1"),
    ({"minimal_roi": {"ten": 0.1}}, "minimal_roi: keys are whole minutes"),
    ({"timeframe": "7m"}, "timeframe: expected one of"),
    ({"exchange": {"pair_whitelist": ["ETH/USDT"]}},
     "exchange.pair_whitelist: ETH/USDT is not quoted in stake_currency BTC"),
    ({"exchange": {"pair_whitelist": "ETH/BTC"}}, "exchange.pair_whitelist: expected a list"),
    ({"exchange": {"key": "abc"}}, "exchange.key: secrets belong in .env (EXCHANGE_API_KEY)"),
    ({"exchange": {"nmae": "binance"}}, 'exchange.nmae: unknown key (did you mean "name"?)'),
    ({"telegram": {"token": "123:abc"}}, "telegram.token: secrets belong in .env"),
    ({"dry_run": False, "exchange": {"name": "binance"}},
     "dry_run: live trading (false) needs EXCHANGE_API_KEY and EXCHANGE_API_SECRET"),
    ({"dry_run": False}, "dry_run: the offline market cannot trade live"),
    ({"unfilledtimeout": {"entry": 10, "unit": "hours"}}, "unfilledtimeout.unit: expected one of"),
    ({"internals": {"process_throttle_secs": 0}}, "internals.process_throttle_secs: expected"),
])
def test_bad_setting_is_named_with_its_expected_form(config: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(config, {})
    assert message in str(caught.value)


def test_bad_env_values_are_named() -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_CHAT_ID: expected a numeric chat id"):
        parse_config({}, {"TELEGRAM_CHAT_ID": "me"})
    with pytest.raises(ConfigError, match="TELEGRAM_CHAT_ID: required when TELEGRAM_TOKEN"):
        parse_config({}, {"TELEGRAM_TOKEN": "1:x"})
    with pytest.raises(ConfigError, match="TELEGRAM_API_URL: expected a base URL"):
        parse_config({}, {"TELEGRAM_API_URL": "localhost:8081"})


def test_live_trading_needs_dry_run_false_and_keys() -> None:
    live = parse_config({"dry_run": False, "exchange": {"name": "binance"}}, KEYS)
    assert live.dry_run is False
    assert parse_config({"exchange": {"name": "binance"}}, KEYS).dry_run is True


def test_secrets_never_appear_in_repr_or_redacted_output() -> None:
    settings = parse_config({"dry_run": False, "exchange": {"name": "binance"}},
                            {**KEYS, "TELEGRAM_TOKEN": "123:tok-CCCC", "TELEGRAM_CHAT_ID": "42",
                             "DATABASE_URL": "postgresql://u:pw-DDDD@h/db"})
    shown = repr(settings) + json.dumps(settings.redacted(), default=str)
    for secret in ("key-AAAA1111", "secret-BBBB2222", "tok-CCCC", "pw-DDDD"):
        assert secret not in shown


@given(st.dictionaries(st.text(max_size=12), st.none() | st.booleans() | st.integers()
                       | st.text(max_size=8), max_size=4))
def test_any_json_object_is_accepted_or_refused_with_a_config_error(raw: dict) -> None:
    message = "accepted"
    try:
        parse_config(raw, {})
    except ConfigError as exc:
        message = str(exc)
    assert message


@pytest.mark.parametrize(("content", "expected"), [
    pytest.param(None, "config file not found", marks=pytest.mark.heavy),
    pytest.param("{not json", "not valid JSON (line 1, column 2)", marks=pytest.mark.heavy),
    pytest.param('{"stake_amount": "lots"}',
                 'stake_amount: expected a positive number or "unlimited"',
                 marks=pytest.mark.heavy),
    ('["a list"]', "expected a JSON object at the top level"),
])
def test_bot_exits_2_with_one_line_and_no_traceback(tmp_path: Path, content: str | None,
                                                    expected: str) -> None:
    config = tmp_path / "config.json"
    if content is not None:
        config.write_text(content, encoding="utf-8")
    result = run_bot("check-config", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.heavy
def test_check_config_prints_effective_settings_with_secrets_hidden(tmp_path: Path) -> None:
    env = {**KEYS, "TELEGRAM_TOKEN": "123:tok-CCCC", "TELEGRAM_CHAT_ID": "42"}
    result = run_bot("check-config", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["mode"] == "DRY-RUN"
    assert shown["secrets"]["telegram_token"] == "***"
    assert "tok-CCCC" not in result.stdout + result.stderr


@pytest.mark.heavy
def test_help_lists_the_sub_commands(tmp_path: Path) -> None:
    result = run_bot("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("run", "check-config", "backtest", "download-data"):
        assert command in result.stdout


def test_the_stoploss_on_exchange_settings_parse_into_the_order_types() -> None:
    settings = parse_config({"order_types": {
        "entry": "limit", "exit": "limit", "stoploss": "limit", "stoploss_on_exchange": True,
        "stoploss_on_exchange_interval": 30, "stoploss_on_exchange_limit_ratio": 0.98,
        "stoploss_price_type": "last"}}, {})
    assert settings.order_types == OrderTypes(
        stoploss="limit", stoploss_on_exchange=True, stoploss_on_exchange_interval=30.0,
        stoploss_on_exchange_limit_ratio=0.98)
