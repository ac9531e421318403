"""What the owner changes while the bot runs goes through the engine's own methods, and each
returns what it did: the run state and the runtime blacklist (RunState), a reload, forced
exits and entries, and cancelling a trade's open orders."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.clock import ManualClock
from engine.events import EntryCancelled, LogNotifier
from engine.runstate import BlacklistChange, EngineState, KeptOnReload, RunState
from store.models import Order, Trade
from tests.engine.scripted import Scripted
from tests.factories import make_engine, make_settings, run_for

PAIR = "ETH/BTC"
SIGNAL = datetime(2018, 1, 11, 6, 0, tzinfo=UTC)
SETTINGS: dict[str, Any] = {"exchange": {"pair_whitelist": [PAIR, "LTC/BTC"]},
                            "stake_amount": 0.05, "max_open_trades": 2}


def run_state(overrides: dict[str, Any] | None = None,
              markets: tuple[str, ...] = ("XLM/BTC",)) -> RunState:
    return RunState(make_settings(overrides or SETTINGS), lambda: dict.fromkeys(markets))


def test_a_state_change_says_whether_anything_changed() -> None:
    state = run_state()

    assert state.change(EngineState.PAUSED) is True
    assert state.change(EngineState.PAUSED) is False

    assert state.state is EngineState.PAUSED


def test_the_engines_own_pause_pauses() -> None:
    state = run_state()

    state.pause_entries()

    assert state.state is EngineState.PAUSED


def test_blacklisting_adds_each_known_pair_once() -> None:
    state = run_state({**SETTINGS, "exchange": {"pair_whitelist": [PAIR, "LTC/BTC"],
                                                   "pair_blacklist": ["LTC/BTC"]}})

    change = state.add_to_blacklist(["XLM/BTC", PAIR, "XLM/BTC", "LTC/BTC"])

    assert change == BlacklistChange(("LTC/BTC", "XLM/BTC", PAIR), ())
    assert state.blacklist == ("LTC/BTC", "XLM/BTC", PAIR)


def test_one_unknown_pair_refuses_the_whole_blacklist_change() -> None:
    state = run_state({**SETTINGS, "exchange": {"pair_whitelist": [PAIR, "LTC/BTC"],
                                                   "pair_blacklist": ["LTC/BTC"]}})

    change = state.add_to_blacklist(["XLM/BTC", "NOPE/BTC", PAIR])

    assert change == BlacklistChange(("LTC/BTC",), ("NOPE/BTC",))
    assert state.blacklist == ("LTC/BTC",)


def test_a_reload_keeps_the_run_state_and_the_pairs_blacklisted_in_chat() -> None:
    state = run_state()
    state.change(EngineState.PAUSED)
    state.add_to_blacklist([PAIR])

    kept = state.reload(make_settings({**SETTINGS, "initial_state": "running",
                                       "exchange": {"pair_whitelist": ["ADA/BTC"],
                                                    "pair_blacklist": ["XLM/BTC"]}}))

    assert kept == KeptOnReload(EngineState.PAUSED, (PAIR,))
    assert state.state is EngineState.PAUSED
    assert state.blacklist == ("XLM/BTC", PAIR)
    # Known pairs are the new whitelist's now.
    assert state.add_to_blacklist(["ADA/BTC", "LTC/BTC"]) == BlacklistChange(
        ("XLM/BTC", PAIR), ("LTC/BTC",))
    assert state.add_to_blacklist(["ADA/BTC"]) == BlacklistChange(
        ("XLM/BTC", PAIR, "ADA/BTC"), ())


def test_a_pair_blacklisted_in_chat_and_then_in_the_config_is_listed_once() -> None:
    state = run_state()
    state.add_to_blacklist([PAIR])

    kept = state.reload(make_settings({**SETTINGS, "exchange": {
        "pair_whitelist": [PAIR], "pair_blacklist": ["XLM/BTC", PAIR]}}))

    assert kept == KeptOnReload(EngineState.RUNNING, ())
    assert state.blacklist == ("XLM/BTC", PAIR)


def test_whether_a_pair_is_blacklisted_follows_every_change_of_the_blacklist() -> None:
    state = run_state()
    assert not state.is_blacklisted(PAIR)

    state.add_to_blacklist(["ETH/.*"])
    assert state.is_blacklisted(PAIR)
    state.remove_from_blacklist(["ETH/.*"])
    assert not state.is_blacklisted(PAIR)
    state.reload(make_settings({**SETTINGS, "exchange": {
        "pair_whitelist": [PAIR], "pair_blacklist": [PAIR]}}))
    assert state.is_blacklisted(PAIR)
    assert not state.is_blacklisted("LTC/BTC")


# --- through a whole engine ------------------------------------------------------------------


class BidsBelowTheMarket(Scripted):
    def custom_entry_price(self, pair, trade, current_time, proposed_rate, entry_tag, side,
                           **kwargs):
        return proposed_rate * 0.98


async def engine_after(strategy: Scripted, iterations: int, **overrides: Any) -> tuple:
    clock = ManualClock(datetime(2018, 1, 11, 5, 0, tzinfo=UTC))
    notifier = LogNotifier()
    commands = make_engine(settings_overrides={**SETTINGS, **overrides}, strategy=strategy,
                           clock=clock, notifier=notifier)
    await commands.startup()
    await run_for(commands, clock, iterations)
    return commands.engine, notifier


async def test_a_reload_adopts_the_new_settings_and_strategy_and_keeps_the_run_state() -> None:
    engine, _ = await engine_after(Scripted(), 0)
    strategy = Scripted()

    kept = engine.reload(make_settings({**SETTINGS, "initial_state": "paused",
                                        "max_open_trades": 5}), strategy)

    # initial_state is the state at a start; the owner's state outlives a reload.
    assert kept == KeptOnReload(EngineState.RUNNING, ())
    assert engine.run_state.state is EngineState.RUNNING
    assert (engine.settings.max_open_trades, engine.strategy) == (5, strategy)


async def test_cancelling_a_trades_open_orders_says_how_many_were_asked_to_cancel() -> None:
    engine, notifier = await engine_after(BidsBelowTheMarket(enter={PAIR: [SIGNAL]}), 13)
    (trade,) = Trade.select()

    count = await engine.cancel_open_orders(trade, "user requested order cancel")

    assert count == 1
    assert Trade.select().count() == 0  # nothing had filled
    cancelled = [e.reason for e in notifier.events if isinstance(e, EntryCancelled)]
    assert cancelled == ["user requested order cancel, fully cancelled"]
    assert await engine.cancel_open_orders(trade, "again") == 0


async def test_a_forced_exit_places_a_force_exit_at_the_bid() -> None:
    engine, _ = await engine_after(Scripted(enter={PAIR: [SIGNAL]}), 14)
    (trade,) = Trade.select()
    bid = engine.exchange.round_price(PAIR, engine.tickers[PAIR].bid)

    assert await engine.force_exit(trade, engine.tickers[PAIR]) == "exiting"

    (sell,) = Order.select().where(Order.side == "sell")
    assert (sell.ft_order_tag, sell.price) == ("force_exit", bid)


async def test_a_forced_exit_without_a_price_places_nothing() -> None:
    engine, _ = await engine_after(Scripted(enter={PAIR: [SIGNAL]}), 14)
    (trade,) = Trade.select()

    assert await engine.force_exit(trade, None) is None
    assert Order.select().where(Order.side == "sell").count() == 0


async def test_a_forced_entry_uses_the_force_entry_order_type_and_tag() -> None:
    strategy = Scripted(order_types={"entry": "limit", "exit": "limit", "stoploss": "limit",
                                     "force_entry": "market", "stoploss_on_exchange": False})
    engine, _ = await engine_after(strategy, 1)

    trade = await engine.force_entry(PAIR, engine.tickers[PAIR], None)

    assert trade is not None
    assert trade.enter_tag == "force_entry"
    assert [o.order_type for o in Order.select()] == ["market"]


async def test_only_the_exchanges_markets_are_markets() -> None:
    engine, _ = await engine_after(Scripted(), 0)

    assert engine.is_market(PAIR)
    assert not engine.is_market("NOPE/BTC")
