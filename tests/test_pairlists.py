"""Each pairlist method and filter on a crafted market set, as Freqtrade's documentation and
code describe them: what each keeps, drops and sorts, the order of the chain, and when each
asks the exchange again (engine/pairlists/)."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import TemporaryError
from engine.config import parse_config
from engine.pairlists.manager import Pairlists
from engine.pairs import matches
from store import schema
from store.store import Store
from tests.factories import new_trade
from venues.exchange import MarketRules, Rounding, Ticker

NOW = datetime(2024, 3, 10, 12, 2, tzinfo=UTC)


def rules(pair: str, *, tick: float = 0.0001, active: bool = True, step: float = 0.01,
          min_amount: float = 0.01) -> MarketRules:
    base, quote = pair.split("/")
    return MarketRules(pair, base, quote, active, step, tick, min_amount, None, None, None,
                       0.001, 0.001)


def daily(days: int, *, close: float = 1.0, swing: float = 0.0, volume: float = 100.0,
          end: datetime = NOW) -> pd.DataFrame:
    """`days` closed daily candles up to yesterday; closes alternate by `swing`."""
    last = end.replace(hour=0, minute=0) - timedelta(days=1)
    dates = pd.date_range(end=last, periods=days, freq="1D", tz=UTC)
    closes = [close * (1 + swing * (i % 2)) for i in range(days)]
    return pd.DataFrame({"date": dates, "open": closes, "high": [c * 1.01 for c in closes],
                         "low": [c * 0.99 for c in closes], "close": closes,
                         "volume": [volume] * days})


class CraftedMarket:
    """Markets, tickers and daily candles as a test lays them out; counts every request."""

    def __init__(self, markets: list[MarketRules], tickers: Mapping[str, Ticker] | None = None,
                 candles: Mapping[str, pd.DataFrame] | None = None) -> None:
        self._markets = {m.pair: m for m in markets}
        self.tickers = dict(tickers or {})
        self.candles = dict(candles or {})
        self.ticker_calls: list[list[str]] = []
        self.ohlcv_calls: list[tuple[str, str]] = []

    def markets(self) -> Mapping[str, MarketRules]:
        return self._markets

    def round_price(self, pair: str, price: float, rounding: Rounding = Rounding.ROUND) -> float:
        tick = self._markets[pair].price_tick or 1e-8
        steps = price / tick
        steps = math.ceil(steps - 1e-9) if rounding is Rounding.ROUND_UP else round(steps)
        return steps * tick

    async def fetch_tickers(self, pairs: list[str]) -> dict[str, Ticker]:
        self.ticker_calls.append(list(pairs))
        return {p: self.tickers[p] for p in pairs if p in self.tickers}

    async def fetch_ohlcv(self, pair: str, timeframe: str, since: datetime | None = None,
                          limit: int | None = None) -> pd.DataFrame:
        self.ohlcv_calls.append((pair, timeframe))
        frame = self.candles.get(pair)
        return frame.copy() if frame is not None else daily(0)


def ticker(pair: str, last: float = 1.0, volume: float | None = 1000.0, *,
           spread: float = 0.0) -> Ticker:
    return Ticker(pair, NOW, last * (1 - spread), last, last, last, last, last, volume)


def pairlist(market: CraftedMarket, store: Store, methods: list[dict[str, Any]], *,
             whitelist: list[str] | None = None, backtest: bool = False,
             **config: Any) -> Pairlists:
    settings = parse_config({"stake_currency": "USDT", "exchange": {
        "pair_whitelist": whitelist or []}, "pairlists": methods, **config}, {})
    return Pairlists(settings, market, market, store, "5m",  # type: ignore[arg-type]
                     backtest=backtest)


async def built(lists: Pairlists, when: datetime = NOW, blacklist: tuple[str, ...] = ()
                ) -> list[str]:
    return await lists.refresh(when, lambda pair: matches(blacklist, pair))


VOLUMES = {"AAA/USDT": 500.0, "BBB/USDT": 3000.0, "CCC/USDT": 2000.0, "DDD/USDT": 100.0,
           "EEE/USDT": 4000.0}


def volume_market(**candles: pd.DataFrame) -> CraftedMarket:
    pairs = [*VOLUMES, "EEE/BTC", "OFF/USDT", "NOV/USDT"]
    markets = [rules(p, active=p != "OFF/USDT") for p in pairs]
    tickers = {p: ticker(p, volume=v) for p, v in VOLUMES.items()}
    tickers |= {"EEE/BTC": ticker("EEE/BTC", volume=9e9),
                "OFF/USDT": ticker("OFF/USDT", volume=9e9),
                "NOV/USDT": ticker("NOV/USDT", volume=None)}
    return CraftedMarket(markets, tickers, candles)


# --- generators ----------------------------------------------------------------------------


async def test_static_pairlist_keeps_the_configured_tradable_pairs_in_order(store: Store) -> None:
    market = volume_market()
    static = pairlist(market, store, [{"method": "StaticPairList"}],
                      whitelist=["CCC/USDT", "OFF/USDT", "NOPE/USDT", "AAA/USDT"])
    lenient = pairlist(market, store, [{"method": "StaticPairList", "allow_inactive": True}],
                       whitelist=["CCC/USDT", "OFF/USDT"])
    patterns = pairlist(market, store, [{"method": "StaticPairList"}], whitelist=["[AB].*/USDT"])

    assert await built(static) == ["CCC/USDT", "AAA/USDT"]
    assert await built(lenient) == ["CCC/USDT", "OFF/USDT"]
    assert await built(patterns) == ["AAA/USDT", "BBB/USDT"]
    assert market.ticker_calls == []  # nothing of the chain needs tickers


async def test_volume_pairlist_ranks_the_stake_markets_by_24h_quote_volume(store: Store) -> None:
    market = volume_market()
    top3 = pairlist(market, store, [{"method": "VolumePairList", "number_assets": 3}])
    bounded = pairlist(market, store, [{"method": "VolumePairList", "number_assets": 10,
                                        "min_value": 500, "max_value": 4000}])

    assert await built(top3) == ["EEE/USDT", "BBB/USDT", "CCC/USDT"]
    # Freqtrade's bounds are strict: 500 and 4000 themselves are out.
    assert await built(bounded) == ["BBB/USDT", "CCC/USDT"]
    again = pairlist(market, store, [{"method": "VolumePairList", "number_assets": 3}])
    assert await built(again, blacklist=("E.*/.*",)) == ["BBB/USDT", "CCC/USDT", "AAA/USDT"]
    # One batched request, for the active stake-currency markets only.
    assert sorted(market.ticker_calls[0]) == sorted([*VOLUMES, "NOV/USDT"])


async def test_volume_pairlist_is_rebuilt_only_after_its_refresh_period(store: Store) -> None:
    market = volume_market()
    lists = pairlist(market, store, [{"method": "VolumePairList", "number_assets": 2,
                                      "refresh_period": 600}])
    assert await built(lists) == ["EEE/USDT", "BBB/USDT"]
    market.tickers["AAA/USDT"] = ticker("AAA/USDT", volume=10_000.0)

    assert await built(lists, NOW + timedelta(seconds=599)) == ["EEE/USDT", "BBB/USDT"]
    assert len(market.ticker_calls) == 1
    assert await built(lists, NOW + timedelta(seconds=600)) == ["AAA/USDT", "EEE/USDT"]
    assert len(market.ticker_calls) == 2


async def test_volume_pairlist_lookback_sums_candle_volume_at_the_typical_price(
    store: Store
) -> None:
    # 3 days of 100 coins at about 1.0, against 3 days of 10 coins at 50.
    market = volume_market(**{"AAA/USDT": daily(4), "BBB/USDT": daily(4, close=50, volume=10),
                              "CCC/USDT": daily(1, close=1000)})
    lists = pairlist(market, store, [{"method": "VolumePairList", "number_assets": 5,
                                      "lookback_days": 3, "refresh_period": 86400}])

    pairs = await built(lists)

    # 1500 against 300; CCC has one candle of the four asked for: 0, as Freqtrade's rolling
    # sum over too few, like the pairs without candles (in the markets' order).
    assert pairs == ["BBB/USDT", "AAA/USDT", "CCC/USDT", "DDD/USDT", "EEE/USDT"]
    assert market.ticker_calls == []
    asked = len(market.ohlcv_calls)
    await built(lists, NOW + timedelta(hours=1))
    assert len(market.ohlcv_calls) == asked  # cached for its refresh period


# --- filters -------------------------------------------------------------------------------


async def test_age_filter_drops_young_pairs_and_rechecks_them_a_day_later(store: Store) -> None:
    market = CraftedMarket([rules("OLD/USDT"), rules("NEW/USDT")],
                           candles={"OLD/USDT": daily(30), "NEW/USDT": daily(3)})
    lists = pairlist(market, store, [{"method": "StaticPairList"},
                                     {"method": "AgeFilter", "min_days_listed": 5}],
                     whitelist=["OLD/USDT", "NEW/USDT"])

    assert await built(lists) == ["OLD/USDT"]
    asked = len(market.ohlcv_calls)
    assert await built(lists, NOW + timedelta(hours=3)) == ["OLD/USDT"]
    assert len(market.ohlcv_calls) == asked  # passed: never again; failed: not before a day
    market.candles["NEW/USDT"] = daily(6, end=NOW + timedelta(days=3))
    assert await built(lists, NOW + timedelta(days=3)) == ["OLD/USDT", "NEW/USDT"]
    assert [p for p, _ in market.ohlcv_calls[asked:]] == ["NEW/USDT"]


async def test_age_filter_max_days_listed_drops_old_pairs(store: Store) -> None:
    market = CraftedMarket([rules("OLD/USDT"), rules("MID/USDT")],
                           candles={"OLD/USDT": daily(30), "MID/USDT": daily(8)})
    lists = pairlist(market, store, [{"method": "StaticPairList"}, {
        "method": "AgeFilter", "min_days_listed": 5, "max_days_listed": 10}],
        whitelist=["OLD/USDT", "MID/USDT"])
    assert await built(lists) == ["MID/USDT"]


async def test_precision_filter_drops_pairs_whose_stop_cannot_sit_below_the_price(
    store: Store
) -> None:
    # At 0.0005 with a tick of 0.0001, 5% below and 1% further round to the same tick.
    market = CraftedMarket([rules("FINE/USDT", tick=0.00000001), rules("COARSE/USDT")],
                           {"FINE/USDT": ticker("FINE/USDT", 0.0005),
                            "COARSE/USDT": ticker("COARSE/USDT", 0.0005)})
    lists = pairlist(market, store, [{"method": "StaticPairList"}, {"method": "PrecisionFilter"}],
                     whitelist=["FINE/USDT", "COARSE/USDT"], stoploss=-0.05)
    assert await built(lists) == ["FINE/USDT"]


@pytest.mark.parametrize(("options", "kept"), [
    ({"low_price_ratio": 0.01}, ["MID/USDT", "HIGH/USDT"]),  # LOW: one tick is 2% of 0.005
    ({"min_price": 0.1}, ["MID/USDT", "HIGH/USDT"]),
    ({"max_price": 10}, ["LOW/USDT", "MID/USDT"]),
    ({"max_value": 1}, ["LOW/USDT", "MID/USDT"]),  # HIGH: one amount step is worth 5 USDT
    ({}, ["LOW/USDT", "MID/USDT", "HIGH/USDT"]),
])  # fmt: skip
async def test_price_filter_bounds(store: Store, options: dict[str, float],
                                   kept: list[str]) -> None:
    market = CraftedMarket([rules("LOW/USDT"), rules("MID/USDT"), rules("HIGH/USDT")],
                           {"LOW/USDT": ticker("LOW/USDT", 0.005),
                            "MID/USDT": ticker("MID/USDT", 1.0),
                            "HIGH/USDT": ticker("HIGH/USDT", 500.0)})
    lists = pairlist(market, store, [{"method": "StaticPairList"},
                                     {"method": "PriceFilter", **options}],
                     whitelist=["LOW/USDT", "MID/USDT", "HIGH/USDT"])
    assert await built(lists) == kept


async def test_spread_filter_drops_wide_and_missing_books(store: Store) -> None:
    market = CraftedMarket([rules(p) for p in ("TIGHT/USDT", "WIDE/USDT", "NONE/USDT")],
                           {"TIGHT/USDT": ticker("TIGHT/USDT", spread=0.001),
                            "WIDE/USDT": ticker("WIDE/USDT", spread=0.02)})
    lists = pairlist(market, store, [{"method": "StaticPairList"},
                                     {"method": "SpreadFilter", "max_spread_ratio": 0.01}],
                     whitelist=["TIGHT/USDT", "WIDE/USDT", "NONE/USDT"])
    assert await built(lists) == ["TIGHT/USDT"]


async def test_range_stability_filter_bounds_sorts_and_caches(store: Store) -> None:
    candles = {"FLAT/USDT": daily(11), "MOVE/USDT": daily(11, swing=0.1),
               "WILD/USDT": daily(11, swing=0.5)}
    market = CraftedMarket([rules(p) for p in candles], candles=candles)
    lists = pairlist(market, store, [{"method": "StaticPairList"}, {
        "method": "RangeStabilityFilter", "lookback_days": 10, "min_rate_of_change": 0.05,
        "max_rate_of_change": 0.4, "sort_direction": "desc"}],
        whitelist=["FLAT/USDT", "WILD/USDT", "MOVE/USDT"])
    wide = pairlist(market, store, [{"method": "StaticPairList"}, {
        "method": "RangeStabilityFilter", "lookback_days": 10, "min_rate_of_change": 0.0,
        "sort_direction": "asc"}], whitelist=["WILD/USDT", "MOVE/USDT", "FLAT/USDT"])

    assert await built(lists) == ["MOVE/USDT"]
    assert await built(wide) == ["FLAT/USDT", "MOVE/USDT", "WILD/USDT"]
    asked = len(market.ohlcv_calls)
    await built(lists, NOW + timedelta(hours=23))
    assert len(market.ohlcv_calls) == asked  # kept a day (refresh_period 86400)
    await built(lists, NOW + timedelta(days=1))
    assert len(market.ohlcv_calls) == asked + 3


async def test_volatility_filter_keeps_the_range(store: Store) -> None:
    candles = {"FLAT/USDT": daily(11), "MOVE/USDT": daily(11, swing=0.05),
               "WILD/USDT": daily(11, swing=0.5)}
    market = CraftedMarket([rules(p) for p in candles], candles=candles)
    lists = pairlist(market, store, [{"method": "StaticPairList"}, {
        "method": "VolatilityFilter", "lookback_days": 10, "min_volatility": 0.05,
        "max_volatility": 0.5}], whitelist=["FLAT/USDT", "WILD/USDT", "MOVE/USDT"])
    assert await built(lists) == ["MOVE/USDT"]


PAIRS10 = [f"P{i}/USDT" for i in range(10)]


async def test_shuffle_filter_is_seeded_in_backtests_only(store: Store) -> None:
    market = CraftedMarket([rules(p) for p in PAIRS10])
    methods = [{"method": "StaticPairList"}, {"method": "ShuffleFilter", "seed": 42}]
    expected = list(PAIRS10)
    random.Random(42).shuffle(expected)

    backtest = pairlist(market, store, methods, whitelist=PAIRS10, backtest=True)
    live = pairlist(market, store, methods, whitelist=PAIRS10)

    assert await built(backtest) == expected
    first = await built(live)
    assert sorted(first) == sorted(PAIRS10)
    assert await built(live, NOW + timedelta(minutes=2)) == first  # same 5m candle
    orders = {tuple(await built(live, NOW + timedelta(minutes=5 * k))) for k in range(1, 6)}
    assert len(orders) > 1


async def test_shuffle_filter_every_iteration(store: Store) -> None:
    market = CraftedMarket([rules(p) for p in PAIRS10])
    lists = pairlist(market, store, [{"method": "StaticPairList"},
                                     {"method": "ShuffleFilter", "shuffle_frequency": "iteration"}],
                     whitelist=PAIRS10)
    orders = {tuple(await built(lists)) for _ in range(5)}
    assert len(orders) > 1


def closed(store: Store, pair: str, profit: float, stake: float = 100.0,
           closed_at: datetime = NOW - timedelta(hours=1)) -> None:
    new_trade(store, pair, is_open=False, close_profit_abs=profit, max_stake_amount=stake,
              stake_amount=stake, close_date=closed_at, close_rate=1.0, amount=1.0)


async def test_performance_filter_sorts_by_profit_then_fewer_trades(store: Store) -> None:
    pairs = ["A/USDT", "B/USDT", "C/USDT", "D/USDT", "E/USDT"]
    market = CraftedMarket([rules(p) for p in pairs])
    closed(store, "B/USDT", 5.0)
    closed(store, "C/USDT", 2.5)
    closed(store, "C/USDT", 2.5)  # the same 2.5% as D, with two trades
    closed(store, "D/USDT", 2.5)
    closed(store, "E/USDT", -3.0)
    closed(store, "A/USDT", 50.0, closed_at=NOW - timedelta(days=2))
    plain = pairlist(market, store, [{"method": "StaticPairList"}, {"method": "PerformanceFilter"}],
                     whitelist=pairs)
    recent = pairlist(market, store, [{"method": "StaticPairList"}, {
        "method": "PerformanceFilter", "minutes": 600, "min_profit": 0.0}], whitelist=pairs)

    assert await built(plain) == ["A/USDT", "B/USDT", "D/USDT", "C/USDT", "E/USDT"]
    # A's trade is older than 600 minutes (0 for it, kept at min_profit 0); E is below.
    assert await built(recent) == ["B/USDT", "D/USDT", "C/USDT", "A/USDT"]


async def test_full_trades_filter_empties_the_list_while_every_slot_is_taken(
    store: Store
) -> None:
    market = CraftedMarket([rules(p) for p in PAIRS10])
    lists = pairlist(market, store, [{"method": "StaticPairList"}, {"method": "FullTradesFilter"}],
                     whitelist=PAIRS10, max_open_trades=2)
    new_trade(store, "P1/USDT")
    assert await built(lists) == PAIRS10
    new_trade(store, "P2/USDT")
    assert await built(lists) == []


async def test_the_chain_runs_in_the_configured_order(store: Store) -> None:
    market = volume_market()
    market.tickers["EEE/USDT"] = ticker("EEE/USDT", 50.0, 4000.0)
    price_then_top = pairlist(market, store, [
        {"method": "VolumePairList", "number_assets": 10}, {"method": "PriceFilter",
                                                             "max_price": 10},
        {"method": "VolumePairList", "number_assets": 2}])
    top_then_price = pairlist(market, store, [
        {"method": "VolumePairList", "number_assets": 2},
        {"method": "PriceFilter", "max_price": 10}])

    assert await built(price_then_top) == ["BBB/USDT", "CCC/USDT"]
    assert await built(top_then_price) == ["BBB/USDT"]


async def test_an_exchange_outage_keeps_the_last_list_and_asks_again_next_time(
    store: Store
) -> None:
    class Flaky(CraftedMarket):
        down = False

        async def fetch_tickers(self, pairs: list[str]) -> dict[str, Ticker]:
            if self.down:
                raise TemporaryError("503")
            return await super().fetch_tickers(pairs)

    market = Flaky(volume_market().markets().values(), volume_market().tickers)
    lists = pairlist(market, store, [{"method": "VolumePairList", "number_assets": 2,
                                      "refresh_period": 60}])
    assert await built(lists) == ["EEE/USDT", "BBB/USDT"]
    market.down = True
    assert await built(lists, NOW + timedelta(minutes=5)) == ["EEE/USDT", "BBB/USDT"]
    market.down = False
    market.tickers["AAA/USDT"] = ticker("AAA/USDT", volume=10_000.0)
    assert await built(lists, NOW + timedelta(minutes=6)) == ["AAA/USDT", "EEE/USDT"]


async def test_filters_see_the_tickers_of_pairs_a_whitelist_pattern_names(store: Store) -> None:
    market = volume_market()
    market.tickers["BBB/USDT"] = ticker("BBB/USDT", 50.0)
    lists = pairlist(market, store, [{"method": "StaticPairList"},
                                     {"method": "PriceFilter", "max_price": 10}],
                     whitelist=["[ABC].*/USDT"])
    assert await built(lists) == ["AAA/USDT", "CCC/USDT"]
    assert len(market.ticker_calls) == 1


@pytest.mark.heavy
@given(volumes=st.lists(st.one_of(st.none(), st.floats(0, 1e9)), min_size=1, max_size=30),
       number=st.integers(1, 40), low=st.one_of(st.none(), st.floats(0, 1e9)),
       high=st.one_of(st.none(), st.floats(0, 1e9)))
def test_volume_ranking_matches_an_independent_one(volumes: list[float | None], number: int,
                                                   low: float | None,
                                                   high: float | None) -> None:
    pairs = [f"X{i:02d}/USDT" for i in range(len(volumes))]
    market = CraftedMarket([rules(p) for p in pairs],
                           {p: ticker(p, volume=v) for p, v in zip(pairs, volumes, strict=True)})
    options: dict[str, Any] = {"method": "VolumePairList", "number_assets": number}
    if low is not None:
        options["min_value"] = low
    if high is not None:
        options["max_value"] = high
    database = schema.init_db("sqlite:///:memory:")
    try:
        got = asyncio.run(built(pairlist(market, Store(database), [options])))
    finally:
        schema.close_db()

    ranked = sorted((i for i, v in enumerate(volumes) if v is not None
                     and (not low or v > low) and (high is None or v < high)),
                    key=lambda i: (-(volumes[i] or 0.0), i))
    assert got == [pairs[i] for i in ranked][:number]
