"""The live gate: real orders only with "dry_run" set to the JSON value false AND exchange keys
in the environment. A missing dry_run is dry-run; a misspelt or non-boolean one, or live
without keys, is refused. The startup message and /show_config say LIVE or DRY-RUN on their
first line, and a dry run with keys present never sends a signed request to the exchange.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compose import build_commands, build_exchange
from core.clock import ManualClock
from core.errors import ConfigError
from engine.config import load_settings, parse_config
from engine.loader import strategy_for
from engine.settings import Settings
from engine.strategy import IStrategy
from handlers.app import build_application
from handlers.auth import owner_chat_id
from handlers.notify import TelegramNotifier
from handlers.sender import OutboxSender
from store import schema
from store.outbox import Outbox
from store.paper_orders import PaperOrders
from store.store import Store
from tests.factories import run_for
from tests.fakes import FakeExchangeServer
from tests.fakes.telegram import (
    OWNER_ENV,
    QUIET,
    Chat,
    FakeTelegram,
    eventually,
    running,
    strip_html,
)

KEYS = {"EXCHANGE_API_KEY": "gate-key-7Qp", "EXCHANGE_API_SECRET": "gate-secret-4Zx"}
BINANCE = '"exchange": {"name": "binance"}'
START = datetime(2018, 1, 20, 12, 0, tzinfo=UTC)
SIGNED = ("/api/v3/order", "/api/v3/account", "/api/v3/openOrders", "/api/v3/allOrders")

# (config file text, environment, outcome: "live", "dry-run" or the refusal's message)
ROWS: list[tuple[str, Mapping[str, str], str]] = [
    (f'{{"dry_run": false, {BINANCE}}}', KEYS, "live"),
    (f"{{{BINANCE}}}", KEYS, "dry-run"),
    (f'{{"dry_run": true, {BINANCE}}}', KEYS, "dry-run"),
    (f'{{"_dry_run": false, {BINANCE}}}', KEYS, "dry-run"),
    (f'{{"dryrun": false, {BINANCE}}}', KEYS, 'dryrun: unknown key (did you mean "dry_run"?)'),
    (f'{{"dry-run": false, {BINANCE}}}', KEYS, 'dry-run: unknown key (did you mean "dry_run"?)'),
    (f'{{"dry_run ": false, {BINANCE}}}', KEYS, 'dry_run : unknown key (did you mean'),
    (f'{{"DRY_RUN": false, {BINANCE}}}', KEYS, "DRY_RUN: unknown key"),
    (f'{{"dry_run": "false", {BINANCE}}}', KEYS,
     "dry_run: expected true or false (a JSON boolean), got 'false'"),
    (f'{{"dry_run": 0, {BINANCE}}}', KEYS, "dry_run: expected true or false (a JSON boolean)"),
    (f'{{"dry_run": 0.0, {BINANCE}}}', KEYS, "dry_run: expected true or false"),
    (f'{{"dry_run": null, {BINANCE}}}', KEYS,
     "dry_run: expected true or false (a JSON boolean), got None"),
    (f'{{"dry_run": "no", {BINANCE}}}', KEYS, "dry_run: expected true or false"),
    (f'{{"dry_run": [false], {BINANCE}}}', KEYS, "dry_run: expected true or false"),
    (f'{{"dry_run": {{}}, {BINANCE}}}', KEYS, "dry_run: expected true or false"),
    (f'{{"dry_run": true, "dry_run": false, {BINANCE}}}', KEYS,
     "dry_run: given twice in one object"),
    (f'{{"dry_run": false, {BINANCE}}}', {}, "dry_run: live trading (false) needs "
     "EXCHANGE_API_KEY and EXCHANGE_API_SECRET"),
    (f'{{"dry_run": false, {BINANCE}}}', {"EXCHANGE_API_KEY": "k"}, "dry_run: live trading"),
    (f'{{"dry_run": false, {BINANCE}}}', {"EXCHANGE_API_SECRET": "s"}, "dry_run: live trading"),
    (f'{{"dry_run": false, {BINANCE}}}', {"EXCHANGE_API_KEY": " ", "EXCHANGE_API_SECRET": " "},
     "dry_run: live trading"),
    ('{"dry_run": false}', KEYS, "dry_run: the offline market cannot trade live"),
]


def outcome(text: str, env: Mapping[str, str], folder: Path) -> str:
    path = folder / "config.json"
    path.write_text(text, encoding="utf-8")
    try:
        loaded = load_settings(str(path), env)
    except ConfigError as exc:
        return str(exc)
    return "dry-run" if loaded.dry_run else "live"


@pytest.mark.parametrize(("text", "env", "expected"), ROWS)
def test_only_the_json_value_false_with_keys_trades_live(tmp_path: Path, text: str,
                                                         env: Mapping[str, str],
                                                         expected: str) -> None:
    found = outcome(text, env, tmp_path)
    if expected in ("live", "dry-run"):
        assert found == expected
    else:
        assert found.startswith(expected)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                    | st.text(max_size=6), lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=5)
NEAR_KEYS = st.sampled_from(["dry_run", "dryrun", "dry-run", "dryRun", "Dry_Run", "dry_run_",
                             "_dry_run", "dry run", "DRY_RUN", "dry_runs", "live"]) | st.text()


@pytest.mark.heavy
@settings(max_examples=300, deadline=None)
@given(key=NEAR_KEYS, value=JSON)
def test_no_other_key_or_value_than_dry_run_false_ever_trades_live(key: str, value: Any) -> None:
    raw = {key: value, "exchange": {"name": "binance"}} if key != "exchange" else {key: value}
    try:
        live = not parse_config(raw, KEYS).dry_run
    except ConfigError:
        live = False
    assert live == (key == "dry_run" and value is False)


def fake_binance_config(server: FakeExchangeServer, dry_run: bool | None) -> dict[str, Any]:
    config: dict[str, Any] = {**QUIET, "exchange": {
        "name": "binance", "pair_whitelist": ["ETH/BTC", "LTC/BTC"],
        "ccxt_config": server.ccxt_config()}}
    if dry_run is not None:
        config["dry_run"] = dry_run
    return config


@asynccontextmanager
async def bot_on_fake_binance(server: FakeExchangeServer, config: dict[str, Any],
                              env: Mapping[str, str], database: str = "sqlite:///:memory:",
                              reload_to: dict[str, Any] | None = None,
                              **build: Any) -> AsyncIterator[Chat]:
    """What bot.py's run wires (runtime.build_exchange, outbox notifier, PTB application),
    with the fake Binance as the venue and a FakeTelegram as the Bot API. /reload reads
    `reload_to` (with the same environment); `build` goes on to build_application."""
    opened = schema.init_db(database)
    clock = server.clock
    assert isinstance(clock, ManualClock)
    loaded = parse_config(config, {**OWNER_ENV, **env})
    strategy = strategy_for(loaded)
    exchange = build_exchange(loaded, strategy.timeframe, clock, PaperOrders(opened))
    sender = OutboxSender(Outbox(), owner_chat_id(loaded), clock=clock)
    notifier = TelegramNotifier(loaded, sender.outbox, sender.wake, clock=clock)
    def reload() -> tuple[Settings, IStrategy]:
        fresh = parse_config(reload_to or config, {**OWNER_ENV, **env})
        return fresh, strategy_for(fresh)

    commands = build_commands(loaded, strategy, exchange, clock, notifier, Store(opened), reload)
    tg = FakeTelegram()
    app = build_application(loaded, commands, request=tg, get_updates_request=tg,
                            notifier=notifier, sender=sender, clock=clock, **build)
    chat = Chat(app, tg, owner_chat_id(loaded))
    chat.commands = commands
    async with running(app):
        yield chat


async def startup_message(chat: Chat) -> str:
    await eventually(lambda: any("Strategy:" in t for t in chat.tg.texts()))
    return next(strip_html(t) for t in chat.tg.texts() if "Strategy:" in t)


async def trade_notice(chat: Chat) -> str:
    await eventually(lambda: any("New Trade" in t for t in chat.tg.texts()))
    return next(strip_html(t) for t in chat.tg.texts() if "New Trade" in t)


async def show_config(chat: Chat) -> str:
    """The /show_config reply, whatever notifications the sender delivers meanwhile."""
    sent = await chat.send("/show_config")
    return next(strip_html(m.text) for m in sent if "Config source:" in m.text)


def signed_requests(server: FakeExchangeServer) -> list[str]:
    return [f"{r.method} {r.path}" for r in server.requests
            if r.path in SIGNED or "signature" in r.params]


@pytest.mark.parametrize("dry_run", [None, True])
async def test_dry_run_with_keys_present_says_dry_run_and_never_signs_a_request(
        dry_run: bool | None) -> None:
    async with FakeExchangeServer(ManualClock(START)) as server, \
            bot_on_fake_binance(server, fake_binance_config(server, dry_run), KEYS) as chat:
        banner = (await startup_message(chat)).splitlines()[0]
        await run_for(chat.commands, server.clock, 1)
        assert "Entering ETH/BTC: trade #1." in await chat.say("/forceenter ETH/BTC")
        await run_for(chat.commands, server.clock, 2)
        shown = await show_config(chat)
        entry = await trade_notice(chat)
        assert server.orders() == []
        assert signed_requests(server) == []
    assert banner == "🧪 DRY-RUN: simulated orders, no real money."
    assert shown.splitlines()[0] == banner
    assert "LIVE" not in shown
    assert entry.startswith("🔵 binance (DRY-RUN): New Trade (#1)")


async def test_live_with_false_and_keys_says_live_and_orders_reach_the_exchange() -> None:
    async with FakeExchangeServer(ManualClock(START)) as server, \
            bot_on_fake_binance(server, fake_binance_config(server, False), KEYS) as chat:
        banner = (await startup_message(chat)).splitlines()[0]
        await run_for(chat.commands, server.clock, 1)
        assert "Entering ETH/BTC: trade #1." in await chat.say("/forceenter ETH/BTC")
        shown = await show_config(chat)
        entry = await trade_notice(chat)
        assert [o.market.pair for o in server.orders()] == ["ETH/BTC"]
    assert banner == "🔴 LIVE: trading with real money on the exchange."
    assert shown.splitlines()[0] == banner
    assert "DRY" not in shown.upper()
    assert entry.startswith("🔵 binance (LIVE): New Trade (#1)")


@pytest.mark.parametrize(("before", "after"), [(True, False), (False, True)],
                         ids=["dry-run to live", "live to dry-run"])
async def test_reload_never_switches_between_dry_run_and_live(before: bool, after: bool) -> None:
    """The venue (paper or the real account) is built once at start: a reloaded config that
    changes dry_run is refused, so /show_config and the orders can never disagree."""
    async with FakeExchangeServer(ManualClock(START)) as server, bot_on_fake_binance(
            server, fake_binance_config(server, before), KEYS,
            reload_to=fake_binance_config(server, after)) as chat:
        banner = (await show_config(chat)).splitlines()[0]
        refused = await chat.say("/reload")
        shown = await show_config(chat)
        await run_for(chat.commands, server.clock, 1)
        assert "Entering ETH/BTC" in await chat.say("/forceenter ETH/BTC")
        orders = server.orders()
    assert refused.startswith("New config refused, the old one keeps running: dry_run")
    assert shown.splitlines()[0] == banner
    assert len(orders) == (0 if before else 1)
