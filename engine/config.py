"""Parse config.json and the environment into Settings, naming every bad key.

A bad value raises ConfigError with the key's dotted path and the expected form; unknown
keys get a "did you mean" hint; keys of a Freqtrade config that we do not use are accepted
and listed in `Settings.ignored_keys` (bot.py names them in one warning at `run`) so that a
Freqtrade user can bring their file, unless their value would change what is traded
(engine/unsupported.py refuses those). The files are read and merged in
engine/config_files.py.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from core.errors import ConfigError
from engine.config_env import from_env
from engine.config_files import read_config_files
from engine.pairlists.config import check_pairlists, parse_pairlists
from engine.pairs import pattern_problem
from engine.settings import (
    IGNORED_FREQTRADE_KEYS,
    NOTIFICATION_TYPES,
    STATES,
    SUPPORTED_FIAT,
    BacktestSettings,
    ExchangeSettings,
    Internals,
    OfflineSettings,
    OrderTypes,
    Pricing,
    Settings,
    StakeAmount,
    TelegramSettings,
    TimeInForce,
    UnfilledTimeout,
    unused_inside,
)
from engine.unsupported import refuse_unsupported
from marketdata.timeframe import TIMEFRAMES


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false (a JSON boolean), got {value!r}")
    return value


def _number(key: str, value: Any, lo: float | None = None, hi: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f">= {lo}" if hi is None else f"<= {hi}" if lo is None else f"in [{lo}, {hi}]"
        raise ConfigError(f"{key}: expected a number {bounds}, got {value!r}")
    return float(value)


def _int(key: str, value: Any, lo: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: expected a whole number, got {value!r}")
    if lo is not None and value < lo:
        raise ConfigError(f"{key}: expected a whole number >= {lo}, got {value!r}")
    return value


def _str(key: str, value: Any, choices: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key}: expected a non-empty string, got {value!r}")
    if choices is not None and value not in choices:
        raise ConfigError(f"{key}: expected one of {', '.join(choices)}, got {value!r}")
    return value


def _fiat(key: str, value: Any) -> str:
    if not isinstance(value, str) or value not in SUPPORTED_FIAT:
        raise ConfigError(f"{key}: expected one of {', '.join(c for c in SUPPORTED_FIAT if c)}, "
                          f'or "" for none, got {value!r}')
    return value


def _pairs(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise ConfigError(f'{key}: expected a list of pairs like ["ETH/BTC"], got {value!r}')
    for pair in value:
        if pair.count("/") != 1 or pair.startswith("/") or pair.endswith("/"):
            raise ConfigError(f"{key}: expected pairs in the form BASE/QUOTE, got {pair!r}")
    return tuple(value)


def _blacklist(key: str, value: Any) -> tuple[str, ...]:
    """Pairs or regular expressions (`BNB/.*`), matched whole and ignoring case, as
    Freqtrade's pairlists match them."""
    if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
        raise ConfigError(f'{key}: expected a list of pairs or patterns like ["BNB/.*"], got '
                          f"{value!r}")
    for entry in value:
        problem = pattern_problem(entry)
        if problem is not None:
            raise ConfigError(f"{key}: {problem}")
    return tuple(value)


def _stoploss(key: str, value: Any) -> float:
    number = _number(key, value)
    if not -1.0 <= number < 0:
        raise ConfigError(f"{key}: expected a negative ratio such as -0.10, got {value!r}")
    return number


def _roi(key: str, value: Any) -> Mapping[str, float]:
    if not isinstance(value, dict) or not value:
        raise ConfigError(f'{key}: expected a table like {{"0": 0.04, "30": 0.02}}, got {value!r}')
    table: dict[str, float] = {}
    for minutes, ratio in value.items():
        if not str(minutes).isdigit():
            raise ConfigError(f"{key}: keys are whole minutes as strings, got {minutes!r}")
        table[str(int(minutes))] = _number(f"{key}.{minutes}", ratio)
    return MappingProxyType(table)


def _stake(key: str, value: Any) -> StakeAmount:
    if value == "unlimited":
        return "unlimited"
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or value <= 0:
        raise ConfigError(f'{key}: expected a positive number or "unlimited", got {value!r}')
    return float(value)


def _section(key: str, value: Any, allowed: Mapping[str, Callable[[str, Any], Any]]) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected an object {{...}}, got {value!r}")
    out: dict[str, Any] = {}
    for name, raw in value.items():
        parser = allowed.get(name)
        if parser is None:
            raise ConfigError(_unknown(f"{key}.{name}", name, allowed))
        out[name] = parser(f"{key}.{name}", raw)
    return out


def _unknown(path: str, name: str, known: Mapping[str, Any] | frozenset[str]) -> str:
    hint = difflib.get_close_matches(name, list(known), n=1)
    suffix = f' (did you mean "{hint[0]}"?)' if hint else ""
    return f"{path}: unknown key{suffix}"


Parser = Callable[[str, Any], Any]
_PRICE_SIDES = ("same", "other", "bid", "ask")
_ORDER_KINDS = ("limit", "market")
_TIME_IN_FORCE = ("GTC", "IOC", "FOK", "PO")


def _pricing(key: str, value: Any) -> Pricing:
    depth: dict[str, Parser] = {"enabled": _bool,
                                "bids_to_ask_delta": lambda k, v: _number(k, v, 0.0)}
    data = _section(key, value, {
        "price_side": lambda k, v: _str(k, v, _PRICE_SIDES),
        "use_order_book": _bool,
        "order_book_top": lambda k, v: _int(k, v, 1),
        "price_last_balance": lambda k, v: _number(k, v, 0.0, 1.0),
        "check_depth_of_market": lambda k, v: _section(k, v, depth),
    })  # fmt: skip
    check = data.pop("check_depth_of_market", {})
    if check.get("enabled") and key != "entry_pricing":
        raise ConfigError(f"{key}.check_depth_of_market.enabled: Freqtrade checks the depth "
                          "of the market before entries only (entry_pricing); expected false")
    return Pricing(**data, check_depth_of_market=bool(check.get("enabled")),
                   bids_to_ask_delta=check.get("bids_to_ask_delta", 0.0))


def _time_in_force(key: str, value: Any) -> TimeInForce:
    def choice(k: str, v: Any) -> str:
        return _str(k, v.upper() if isinstance(v, str) else v, _TIME_IN_FORCE)

    return TimeInForce(**_section(key, value, {"entry": choice, "exit": choice}))


def _order_types(key: str, value: Any) -> OrderTypes:
    kind = lambda k, v: _str(k, v, _ORDER_KINDS)  # noqa: E731
    data = _section(key, value, {
        "entry": kind, "exit": kind, "force_entry": kind, "force_exit": kind,
        "emergency_exit": kind, "stoploss": kind, "stoploss_on_exchange": _bool,
        "stoploss_on_exchange_interval": lambda k, v: _number(k, v, 0.0),
        "stoploss_on_exchange_limit_ratio": lambda k, v: _number(k, v, 0.5, 1.0),
        "stoploss_price_type": _str,
    })  # fmt: skip
    if data.get("stoploss_price_type", "last") != "last":
        raise ConfigError(f"{key}.stoploss_price_type: spot stop orders trigger on the last "
                          f"price only; expected \"last\", got {data['stoploss_price_type']!r} "
                          "(mark and index prices are for futures)")
    return OrderTypes(**data)


def _timeout(key: str, value: Any) -> UnfilledTimeout:
    data = _section(key, value, {
        "entry": lambda k, v: _number(k, v, 0.0), "exit": lambda k, v: _number(k, v, 0.0),
        "unit": lambda k, v: _str(k, v, ("minutes", "seconds")),
        "exit_timeout_count": lambda k, v: _int(k, v, 0),
    })  # fmt: skip
    return UnfilledTimeout(**data)


def _object(key: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected an object {{...}}, got {value!r}")
    return MappingProxyType(dict(value))


# Credentials ccxt reads from its own config; they would bypass .env and show in /show_config.
_CCXT_SECRETS = frozenset({"apiKey", "secret", "password", "uid", "privateKey", "token", "twofa"})


# Header names that carry credentials (X-MBX-APIKEY, Authorization, ...).
_SECRET_HEADER = re.compile(r"key|auth|token|secret|sign|pass", re.IGNORECASE)


def _ccxt_config(key: str, value: Any) -> Mapping[str, Any]:
    config = _object(key, value)
    headers = config.get("headers")
    secret_headers = [f"headers.{h}" for h in headers if _SECRET_HEADER.search(str(h))] \
        if isinstance(headers, Mapping) else []
    for name in [n for n in config if n in _CCXT_SECRETS] + secret_headers:
        raise ConfigError(f"{key}.{name}: secrets belong in .env (EXCHANGE_API_KEY, "
                          "EXCHANGE_API_SECRET, EXCHANGE_PASSWORD), not in the config file")
    return config


def _db_url(key: str, value: Any) -> str:
    url = _str(key, value)
    if re.search(r"://[^/@]*:[^/@]*@", url):
        raise ConfigError(f"{key}: a database password belongs in .env (DATABASE_URL), not in "
                          "the config file")
    return url


def _secret(env: str) -> Callable[[str, Any], None]:
    """Freqtrade keeps keys in the config; we refuse them there (empty placeholders pass)."""

    def refuse(key: str, value: Any) -> None:
        if value:
            raise ConfigError(f"{key}: secrets belong in .env ({env}), not in the config file")

    return refuse


def _exchange(key: str, value: Any) -> ExchangeSettings:
    data = _section(key, value, {
        "name": _str, "pair_whitelist": _pairs, "pair_blacklist": _blacklist,
        "ccxt_config": _ccxt_config, "ccxt_async_config": _ccxt_config,
        "ccxt_sync_config": _ccxt_config,
        "markets_refresh_interval": lambda k, v: _int(k, v, 1),
        "outdated_offset": lambda k, v: _int(k, v, 0),
        "key": _secret("EXCHANGE_API_KEY"), "secret": _secret("EXCHANGE_API_SECRET"),
        "password": _secret("EXCHANGE_PASSWORD"), "uid": _secret("EXCHANGE_PASSWORD"),
        "skip_open_order_update": _bool, "log_responses": _bool, "enable_ws": _bool,
        "unknown_fee_rate": lambda k, v: _number(k, v, 0.0),
    })  # fmt: skip
    for unused in ("key", "secret", "password", "uid", "skip_open_order_update",
                   "ccxt_sync_config", "enable_ws"):
        data.pop(unused, None)
    if data.get("unknown_fee_rate") == 0:
        raise ConfigError(f"{key}.unknown_fee_rate: expected a positive rate (the price of "
                          "the fee coin in the stake currency), got 0")
    merged = {**data.pop("ccxt_config", {}), **data.pop("ccxt_async_config", {})}
    return ExchangeSettings(**data, ccxt_config=MappingProxyType(merged))


def _notification_settings(key: str, value: Any) -> Mapping[str, str]:
    def level(k: str, v: Any) -> Any:
        if isinstance(v, dict):
            return MappingProxyType({r: _str(f"{k}.{r}", x, ("on", "silent", "off"))
                                     for r, x in v.items()})
        return _str(k, v, ("on", "silent", "off"))

    known: dict[str, Parser] = dict.fromkeys(NOTIFICATION_TYPES, level)
    for alias in ("show_candle", "strategy_msg", "exception", "new_candle", "whitelist"):
        known[alias] = lambda _k, v: v
    return MappingProxyType(_section(key, value, known))


def _telegram(key: str, value: Any) -> TelegramSettings:
    # Telegram user ids are positive; negative ids are chats, and would authorize nobody.
    users = lambda k, v: tuple(_int(k, int(u) if str(u).isdigit() else u, 1) for u in v)  # noqa: E731
    data = _section(key, value, {
        "enabled": _bool, "notification_settings": _notification_settings,
        "authorized_users": lambda k, v: users(k, v if isinstance(v, list) else [v]),
        "reload": _bool, "balance_dust_level": lambda k, v: _number(k, v, 0.0),
        "token": _secret("TELEGRAM_TOKEN"), "chat_id": _secret("TELEGRAM_CHAT_ID"),
        "keyboard": lambda _k, v: v, "topic_id": lambda _k, v: v,
        "allow_custom_messages": _bool,
    })  # fmt: skip
    for unused in ("token", "chat_id", "keyboard", "topic_id", "allow_custom_messages"):
        data.pop(unused, None)
    return TelegramSettings(**data)


def _internals(key: str, value: Any) -> Internals:
    data = _section(key, value, {
        "process_throttle_secs": lambda k, v: _number(k, v, 0.01),
        "heartbeat_interval": lambda k, v: _number(k, v, 0.0),
        "sd_notify": _bool,
    })  # fmt: skip
    return Internals(**data)


def _logfile(key: str, value: Any) -> str:
    path = _str(key, value)
    if path.startswith("syslog") or path == "journald":
        raise ConfigError(f"{key}: logging to {path.split(':')[0]} is not supported; expected "
                          "a file name (the service manager keeps stderr)")
    return path


_TOP: dict[str, Callable[[str, Any], Any]] = {
    "dry_run": _bool,
    "dry_run_wallet": lambda k, v: _number(k, v, 0.0),
    "fee": lambda k, v: _number(k, v, 0.0, 0.1),
    "stake_currency": _str,
    "fiat_display_currency": _fiat,
    "stake_amount": _stake,
    "max_open_trades": lambda k, v: _int(k, v, -1),
    "tradable_balance_ratio": lambda k, v: _number(k, v, 0.0, 1.0),
    "available_capital": lambda k, v: _number(k, v, 0.0),
    "amount_reserve_percent": lambda k, v: _number(k, v, 0.0, 0.5),
    "amend_last_stake_amount": _bool,
    "last_stake_amount_min_ratio": lambda k, v: _number(k, v, 0.0, 1.0),
    "timeframe": lambda k, v: _str(k, v, TIMEFRAMES),
    "strategy": _str,
    "strategy_path": _str,
    "datadir": _str,
    "minimal_roi": _roi,
    "stoploss": _stoploss,
    "trailing_stop": _bool,
    "trailing_stop_positive": lambda k, v: _number(k, v, 0.0, 1.0),
    "trailing_stop_positive_offset": lambda k, v: _number(k, v, 0.0, 1.0),
    "trailing_only_offset_is_reached": _bool,
    "use_custom_stoploss": _bool, "use_exit_signal": _bool,
    "exit_profit_only": _bool,
    "exit_profit_offset": _number,
    "ignore_roi_if_entry_signal": _bool,
    "process_only_new_candles": _bool,
    "unfilledtimeout": _timeout,
    "ignore_buying_expired_candle_after": lambda k, v: _int(k, v, 0),
    "position_adjustment_enable": _bool,
    "max_entry_position_adjustment": lambda k, v: _int(k, v, -1),
    "order_types": _order_types,
    "order_time_in_force": _time_in_force,
    "entry_pricing": _pricing,
    "exit_pricing": _pricing,
    "custom_price_max_distance_ratio": lambda k, v: _number(k, v, 0.0, 1.0),
    "exchange": _exchange,
    "pairlists": parse_pairlists,
    "telegram": _telegram,
    "internals": _internals,
    "enable_protections": _bool,
    "timeframe_detail": lambda k, v: _str(k, v, TIMEFRAMES) if v else None,
    "backtest": lambda k, v: BacktestSettings(**_section(k, v, {"freqtrade_compat": _bool})),
    "offline": lambda k, v: OfflineSettings(**_section(k, v, {
        "speed": lambda k2, v2: _number(k2, v2, 0.001), "datadir": _str})),
    "initial_state": lambda k, v: _str(k, v, STATES),
    "cancel_open_orders_on_exit": _bool,
    "force_entry_enable": _bool,
    "db_url": _db_url,
    "log_file": _logfile,
    "logfile": _logfile,
    "verbosity": lambda k, v: _int(k, v, 0),
}


def parse_config(raw: Any, env: Mapping[str, str], source: str = "built-in defaults") -> Settings:
    """Validate a decoded config object and the environment into Settings."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a JSON object at the top level")
    refuse_unsupported(raw)
    values: dict[str, Any] = {}
    ignored: list[str] = []
    for key, value in raw.items():
        if key.startswith("_") or key in IGNORED_FREQTRADE_KEYS:
            ignored.append(key)
            continue
        parser = _TOP.get(key)
        if parser is None:
            raise ConfigError(_unknown(key, key, _TOP))
        values[key] = parser(key, value)
    if "logfile" in values:
        if "log_file" in values:
            raise ConfigError("logfile: given together with log_file; expected one of them")
        values["log_file"] = values.pop("logfile")
    ignored += unused_inside(raw)
    secrets, chat_id = from_env(env)
    settings = Settings(**values, secrets=secrets, telegram_chat_id=chat_id,
                        ignored_keys=tuple(ignored), source=source)
    _check_consistency(settings)
    return settings


def parse_option(option: str, key: str, value: Any) -> Any:
    """A command-line option that replaces the config key `key`, checked as the key is and
    named as the option."""
    return _TOP[key](option, value)


def check_consistency(settings: Settings) -> Settings:
    """The checks between keys, for settings changed after parsing (command-line options)."""
    _check_consistency(settings)
    return settings


def _check_consistency(s: Settings) -> None:
    check_pairlists(s.pairlists, s.stoploss)
    quote = f"/{s.stake_currency}"
    for pair in s.exchange.pair_whitelist:
        if not pair.endswith(quote):
            raise ConfigError(
                f"exchange.pair_whitelist: {pair} is not quoted in stake_currency "
                f"{s.stake_currency}; expected pairs like BASE{quote}"
            )
    if not s.dry_run:
        if s.is_offline:
            raise ConfigError('dry_run: the offline market cannot trade live; expected '
                              '"dry_run": true or a real exchange.name')
        if not (s.secrets.exchange_api_key and s.secrets.exchange_api_secret):
            raise ConfigError("dry_run: live trading (false) needs EXCHANGE_API_KEY and "
                              "EXCHANGE_API_SECRET in the environment (.env)")
    if s.secrets.telegram_token and s.telegram.enabled and s.telegram_chat_id is None:
        raise ConfigError("TELEGRAM_CHAT_ID: required when TELEGRAM_TOKEN is set; expected the "
                          "numeric id of the owner's chat")
    if s.stake_amount == "unlimited" and s.max_open_trades == 0:
        raise ConfigError('max_open_trades: "unlimited" stake needs max_open_trades above 0')


def load_settings(paths: str | Sequence[str] | None, env: Mapping[str, str]) -> Settings:
    """Read the config files, merged in order (or the built-in defaults when none is given),
    plus the environment."""
    if paths is None:
        return parse_config({}, env)
    files = [paths] if isinstance(paths, str) else list(paths)
    if not files:
        return parse_config({}, env)
    return parse_config(read_config_files(files), env, source=", ".join(files))
