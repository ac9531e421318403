"""Settings: config.json (Freqtrade's key names) plus secrets from the environment.

Everything is parsed once (engine/config.py) into one frozen `Settings`; secrets live in
`Secrets`, whose fields are kept out of every repr.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from engine.pairlists.config import STATIC_ONLY, PairlistMethod

# venues.exchange.TimeInForce's values; not imported from there, which would load ccxt (and
# seconds of start-up) for every config read.
TimeInForceValue = Literal["GTC", "IOC", "FOK", "PO"]

OFFLINE_EXCHANGE = "offline"
PROJECT = Path(__file__).resolve().parent.parent
MARKETS_FILE = PROJECT / "data" / "markets.json"
NOTIFICATION_TYPES = (
    "entry", "entry_fill", "entry_cancel", "exit", "exit_fill", "exit_cancel",
    "protection_trigger", "protection_trigger_global", "warning", "error", "status", "startup",
)  # fmt: skip
STATES = ("running", "paused", "stopped")
# Freqtrade 2026.9's fiat_display_currency values (constants.SUPPORTED_FIAT), "" for none.
SUPPORTED_FIAT = (
    "AUD", "BRL", "CAD", "CHF", "CLP", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "IDR",
    "ILS", "INR", "JPY", "KRW", "MXN", "MYR", "NOK", "NZD", "PHP", "PKR", "PLN", "RUB", "UAH",
    "SEK", "SGD", "THB", "TRY", "TWD", "ZAR", "USD", "BTC", "ETH", "XRP", "LTC", "BCH", "BNB", "",
)  # fmt: skip
# Config keys that replace the strategy attribute of the same name, as in Freqtrade.
STRATEGY_KEYS = (
    "timeframe", "minimal_roi", "stoploss", "trailing_stop", "trailing_stop_positive",
    "trailing_stop_positive_offset", "trailing_only_offset_is_reached", "use_custom_stoploss",
    "use_exit_signal", "exit_profit_only", "exit_profit_offset", "ignore_roi_if_entry_signal",
    "process_only_new_candles", "unfilledtimeout", "order_types", "order_time_in_force",
    "ignore_buying_expired_candle_after", "position_adjustment_enable",
    "max_entry_position_adjustment",
)  # fmt: skip

# Keys a Freqtrade config may carry that tradepilot accepts and ignores (logged at start).
IGNORED_FREQTRADE_KEYS = frozenset({
    "trading_mode", "margin_mode", "api_server", "bot_name",
    "dataformat_ohlcv", "dataformat_trades", "edge", "freqai",
    "user_data_dir",
    "add_config_files", "$schema", "webhook", "discord", "producer", "external_message_consumer",
    "reduce_df_footprint",
    "disable_dataframe_checks", "strategy_list",
    # Freqtrade's command-line, analysis and hyperopt defaults, and futures-only settings (the
    # trading mode is refused unless spot): none of them changes what a run here trades.
    "analyze_per_epoch", "backtest_breakdown", "backtest_cache", "coingecko",
    "disableparamexport", "download_trades", "early_stop", "epochs", "experimental", "export",
    "freqaimodel", "freqaimodel_path", "hyperopt_jobs", "hyperopt_loss", "hyperopt_min_trades",
    "hyperopt_path", "hyperopt_random_state", "liquidation_buffer", "liquidation_warn_ratio",
    "log_config", "lookahead_analysis_exportfilename", "minimum_trade_amount", "new_pairs_days",
    "orderflow", "print_all", "proxy_coin", "recursive_strategy_search",
    "skip_wallet_history_migration", "spaces", "startup_candle", "targeted_trade_amount",
})  # fmt: skip

# Keys inside a Freqtrade config's sections that tradepilot accepts and does not use, with
# why where the name alone would mislead.
_UNUSED_INSIDE: dict[str, dict[str, str]] = {
    "exchange": {
        "ccxt_sync_config": "tradepilot has only ccxt's async client; ccxt_config and "
                            "ccxt_async_config reach it",
        "skip_open_order_update": "",
    },
    "telegram": {"keyboard": "", "topic_id": "", "allow_custom_messages": ""},
}  # fmt: skip
_WEBSOCKETS = ("no websockets here: candles, prices and orders are polled over REST each "
               "iteration")


def unused_inside(raw: Mapping[str, Any]) -> list[str]:
    """The section keys of `raw` listed above, as dotted names with their reason."""
    found = []
    for section, names in _UNUSED_INSIDE.items():
        given = raw.get(section)
        if isinstance(given, Mapping):
            found += [f"{section}.{name}" + (f" ({why})" if why else "")
                      for name, why in names.items() if name in given]
    exchange = raw.get("exchange")
    if isinstance(exchange, Mapping) and exchange.get("enable_ws") is True:
        found.append(f"exchange.enable_ws ({_WEBSOCKETS})")
    return found


StakeAmount = float | Literal["unlimited"]


@dataclass(frozen=True, slots=True)
class Secrets:
    telegram_token: str | None = field(default=None, repr=False)
    telegram_api_url: str | None = field(default=None, repr=False)
    exchange_api_key: str | None = field(default=None, repr=False)
    exchange_api_secret: str | None = field(default=None, repr=False)
    exchange_password: str | None = field(default=None, repr=False)
    database_url: str | None = field(default=None, repr=False)

    def values(self) -> list[str]:
        """Every secret that is set, for redaction in logs and messages."""
        found = [getattr(self, f.name) for f in fields(self)]
        return [v for v in found if v]


@dataclass(frozen=True, slots=True)
class UnfilledTimeout:
    entry: float = 10
    exit: float = 10
    unit: Literal["minutes", "seconds"] = "minutes"
    exit_timeout_count: int = 0

    def _delta(self, value: float) -> timedelta:
        return timedelta(minutes=value) if self.unit == "minutes" else timedelta(seconds=value)

    @property
    def entry_delta(self) -> timedelta:
        return self._delta(self.entry)

    @property
    def exit_delta(self) -> timedelta:
        return self._delta(self.exit)


@dataclass(frozen=True, slots=True)
class Pricing:
    """`entry_pricing` / `exit_pricing`, as engine/pricing.py reads them; the depth check
    (`check_depth_of_market`) is Freqtrade's for entries only."""

    price_side: Literal["same", "other", "bid", "ask"] = "same"
    use_order_book: bool = False
    order_book_top: int = 1
    price_last_balance: float = 0.0
    check_depth_of_market: bool = False
    bids_to_ask_delta: float = 0.0


@dataclass(frozen=True, slots=True)
class TimeInForce:
    """`order_time_in_force`: how long an entry or exit order may rest (ccxt's values)."""

    entry: TimeInForceValue = "GTC"
    exit: TimeInForceValue = "GTC"


@dataclass(frozen=True, slots=True)
class OrderTypes:
    entry: Literal["limit", "market"] = "limit"
    exit: Literal["limit", "market"] = "limit"
    force_entry: Literal["limit", "market"] | None = None
    force_exit: Literal["limit", "market"] | None = None
    emergency_exit: Literal["limit", "market"] = "market"
    stoploss: Literal["limit", "market"] = "market"
    stoploss_on_exchange: bool = False
    # Seconds between two moves of the exchange's stop order, and its limit below the stop.
    stoploss_on_exchange_interval: float = 60.0
    stoploss_on_exchange_limit_ratio: float = 0.99
    # Spot stops trigger on the last traded price; mark and index prices are futures'.
    stoploss_price_type: Literal["last"] = "last"


@dataclass(frozen=True, slots=True)
class ExchangeSettings:
    name: str = OFFLINE_EXCHANGE
    pair_whitelist: tuple[str, ...] = ("ETH/BTC", "LTC/BTC", "XLM/BTC", "NXT/BTC", "ADA/BTC")
    pair_blacklist: tuple[str, ...] = ()
    ccxt_config: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    markets_refresh_interval: int = 60
    outdated_offset: int = 5
    log_responses: bool = False  # every order and balance answer logged, as Freqtrade does
    # The stake-currency price of a fee coin that is neither the pair's base nor its quote
    # (BNB fees on ETH/BTC), as in Freqtrade; without it such a fee is left out of the trade.
    unknown_fee_rate: float | None = None


@dataclass(frozen=True, slots=True)
class TelegramSettings:
    enabled: bool = True
    notification_settings: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({"entry_fill": "off"})
    )
    authorized_users: tuple[int, ...] = ()
    reload: bool = True
    balance_dust_level: float | None = None


@dataclass(frozen=True, slots=True)
class Internals:
    process_throttle_secs: float = 5
    heartbeat_interval: float = 60
    # systemd's notifications (service/): None sends them when systemd waits for them
    # (NOTIFY_SOCKET set), False never, True always (with a warning when nobody listens).
    sd_notify: bool | None = None


@dataclass(frozen=True, slots=True)
class BacktestSettings:
    freqtrade_compat: bool = True


@dataclass(frozen=True, slots=True)
class OfflineSettings:
    """The built-in offline market: replays shipped candles faster than real time."""

    speed: float = 300.0
    datadir: str = "data/ohlcv"


@dataclass(frozen=True, slots=True)
class Settings:
    dry_run: bool = True
    dry_run_wallet: float = 1.0
    fee: float | None = None  # a backtest's fee per side, as Freqtrade's; --fee replaces it
    stake_currency: str = "BTC"
    fiat_display_currency: str = ""  # shown beside stake amounts in the chat (engine/fiat.py)
    stake_amount: StakeAmount = 0.05
    max_open_trades: int = 3
    tradable_balance_ratio: float = 0.99
    available_capital: float | None = None
    amount_reserve_percent: float = 0.05
    # Freqtrade's: a stake the balance cannot cover shrinks to what is left, if that is at
    # least this share of it.
    amend_last_stake_amount: bool = False
    last_stake_amount_min_ratio: float = 0.5
    timeframe: str | None = None
    strategy: str = "SampleStrategy"
    strategy_path: str = "strategies"
    datadir: str | None = None  # Freqtrade's key: where backtests read candles (-d wins)
    minimal_roi: Mapping[str, float] | None = None
    stoploss: float | None = None
    trailing_stop: bool | None = None
    trailing_stop_positive: float | None = None
    trailing_stop_positive_offset: float | None = None
    trailing_only_offset_is_reached: bool | None = None
    use_custom_stoploss: bool | None = None
    use_exit_signal: bool | None = None
    exit_profit_only: bool | None = None
    exit_profit_offset: float | None = None
    ignore_roi_if_entry_signal: bool | None = None
    process_only_new_candles: bool | None = None
    unfilledtimeout: UnfilledTimeout | None = None
    ignore_buying_expired_candle_after: int | None = None
    position_adjustment_enable: bool | None = None
    max_entry_position_adjustment: int | None = None
    order_types: OrderTypes | None = None
    order_time_in_force: TimeInForce | None = None
    entry_pricing: Pricing = field(default_factory=Pricing)
    exit_pricing: Pricing = field(default_factory=Pricing)
    custom_price_max_distance_ratio: float = 0.02
    exchange: ExchangeSettings = field(default_factory=ExchangeSettings)
    # Freqtrade's `pairlists`, checked (engine/pairlists/config.py); the whitelist's source.
    pairlists: tuple[PairlistMethod, ...] = STATIC_ONLY
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    internals: Internals = field(default_factory=Internals)
    backtest: BacktestSettings = field(default_factory=BacktestSettings)
    # Freqtrade's key (what --enable-protections sets): a backtest applies the strategy's
    # protections only with it; live and dry-run always apply them.
    enable_protections: bool = False
    # Freqtrade's key (what --timeframe-detail sets): a backtest steps each candle through
    # these shorter candles of the same pair; live and dry-run never read it.
    timeframe_detail: str | None = None
    offline: OfflineSettings = field(default_factory=OfflineSettings)
    initial_state: Literal["running", "paused", "stopped"] = "running"
    cancel_open_orders_on_exit: bool = False
    force_entry_enable: bool = True
    db_url: str | None = None
    log_file: str | None = None
    verbosity: int = 0
    telegram_chat_id: int | None = None
    secrets: Secrets = field(default_factory=Secrets, repr=False)
    ignored_keys: tuple[str, ...] = ()
    source: str = "built-in defaults"

    @property
    def is_offline(self) -> bool:
        return self.exchange.name == OFFLINE_EXCHANGE

    @property
    def database_url(self) -> str:
        if self.secrets.database_url:
            return self.secrets.database_url
        if self.db_url:
            return self.db_url
        return "sqlite:///tradepilot.dryrun.sqlite" if self.dry_run else "sqlite:///tradepilot.sqlite"

    @property
    def database_key(self) -> str:
        """Where `database_url` came from, for a message about it."""
        return "DATABASE_URL" if self.secrets.database_url else "db_url"

    def strategy_overrides(self) -> dict[str, Any]:
        """Config values that replace the strategy's own, as Freqtrade's config does."""
        return {k: getattr(self, k) for k in STRATEGY_KEYS if getattr(self, k) is not None}

    def redacted(self) -> dict[str, Any]:
        """The effective settings as plain data, secrets replaced by a marker."""
        data = _plain(self)
        data["secrets"] = {f.name: ("***" if getattr(self.secrets, f.name) else None)
                           for f in fields(self.secrets)}
        data["database_url"] = redact(self.database_url, self.secrets.values())
        return _plain(data)


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def project_path(path: str | Path) -> Path:
    """`path` as given, or, when relative and not found from the working directory, the
    project's own file of that name (the shipped strategies and candles)."""
    given = Path(path)
    return given if given.is_absolute() or given.exists() else PROJECT / given


def offline_datadir(settings: Settings) -> Path:
    return project_path(settings.offline.datadir)
