"""`self.dp` in a backtest: the whole history while the strategy analyses, then only what had
closed at each candle inside callbacks, as Freqtrade's backtest answers; and a missing
informative file is one line naming it (exit 2)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from backtest import run as backtest_run
from backtest.history import BacktestHistory
from core.errors import StrategyError
from engine.dataprovider import EPOCH, RunMode
from engine.strategy import IStrategy
from tests.test_backtest import market, settings_for

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "freqtrade_parity"
T0 = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)
FIVE = timedelta(minutes=5)
HOUR = timedelta(hours=1)


def frame(start: datetime, count: int, step: timedelta, first: float) -> pd.DataFrame:
    dates = pd.date_range(start, periods=count, freq=step)
    close = [first + i for i in range(count)]
    return pd.DataFrame({"date": dates, "open": close, "high": close, "low": close,
                         "close": close, "volume": 10.0})


class Recorder(IStrategy):
    """Enters on every candle, refuses every entry, and writes down what `self.dp` said."""

    timeframe = "5m"
    stoploss = -0.10
    minimal_roi = {"0": 10.0}  # noqa: RUF012 - Freqtrade's class-attribute style

    def __init__(self) -> None:
        super().__init__()
        self.analysis: dict[str, Any] = {}
        self.callbacks: list[dict[str, Any]] = []

    def informative_pairs(self) -> list[tuple[str, ...]]:
        return [("ETH/BTC", "1h")]

    def populate_indicators(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        dp = self.dp
        analysed, when = dp.get_analyzed_dataframe(metadata["pair"], self.timeframe)
        self.analysis = {
            "runmode": dp.runmode, "config_runmode": self.config.get("runmode"),
            "hourly": len(dp.get_pair_dataframe("ETH/BTC", "1h")),
            "historic": len(dp.historic_ohlcv("ETH/BTC", "1h")),
            "analysed": (len(analysed), when), "ohlcv": len(dp.ohlcv(metadata["pair"])),
            "ticker": dp.ticker(metadata["pair"]), "whitelist": dp.current_whitelist(),
            "market": (dp.market("ETH/BTC") or {}).get("base"),
            "available": set(dp.available_pairs),
        }  # fmt: skip
        return dataframe

    def populate_entry_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        dataframe["enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: pd.DataFrame, metadata: dict) -> pd.DataFrame:
        dataframe["exit_long"] = 0
        return dataframe

    def confirm_trade_entry(self, pair: str, order_type: str, amount: float, rate: float,
                            time_in_force: str, current_time: datetime, entry_tag: str | None,
                            side: str, **kwargs: Any) -> bool:
        hourly = self.dp.get_pair_dataframe("ETH/BTC", "1h")
        analysed, when = self.dp.get_analyzed_dataframe(pair, self.timeframe)
        try:
            self.dp.orderbook(pair, 5)
            book = "given"
        except StrategyError:
            book = "refused"
        self.callbacks.append({
            "now": current_time, "last_hour": hourly["date"].iloc[-1].to_pydatetime(),
            "last_analysed": analysed["date"].iloc[-1].to_pydatetime(), "rows": len(analysed),
            "when": when, "ticker": self.dp.ticker(pair), "book": book,
        })  # fmt: skip
        return False


@pytest.fixture
def datadir(tmp_path: Path) -> Path:
    frame(T0 - HOUR * 3, 10, HOUR, 50.0).to_feather(tmp_path / "ETH_BTC-1h.feather")
    return tmp_path


async def test_a_backtest_strategy_sees_whole_history_when_analysing_and_the_past_in_callbacks(
    datadir: Path,
) -> None:
    candles = {"AAA/BTC": frame(T0, 48, FIVE, 100.0)}  # 08:00 .. 11:55
    strategy = Recorder()
    settings = settings_for(["AAA/BTC"])
    history = BacktestHistory(candles, "5m", datadir=datadir)

    result = await backtest_run.run(settings, strategy, candles,
                                    [market("AAA/BTC"), market("ETH/BTC")], fee=0.0,
                                    history=history)

    assert result.trades == ()
    assert strategy.analysis == {
        "runmode": RunMode.BACKTEST, "config_runmode": RunMode.BACKTEST, "hourly": 10,
        "historic": 10, "analysed": (0, EPOCH),
        "ohlcv": 0, "ticker": {}, "whitelist": ["AAA/BTC"], "market": "ETH",
        "available": {("AAA/BTC", "5m", "spot"), ("ETH/BTC", "1h", "spot")},
    }  # fmt: skip
    seen = strategy.callbacks
    assert len(seen) == 46  # every candle but the first (its signal) and the last (L4)
    for record in seen:
        now = record["now"]
        assert record["last_hour"] + HOUR <= now  # closed at the current candle's open
        assert record["last_hour"] + 2 * HOUR > now  # and the newest that has
        assert record["last_analysed"] == now - FIVE  # the last closed 5m candle
        assert record["rows"] == (now - T0) // FIVE
        assert record["when"] == now
        assert record["ticker"] == {}
        assert record["book"] == "refused"
    assert any(r["now"] == T0 + 3 * HOUR and r["last_hour"] == T0 + 2 * HOUR for r in seen)


def run_backtest(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    folder = tmp_path / "strategy"
    folder.mkdir()
    (folder / "reader.py").write_text(source, encoding="utf-8")
    command = [
        sys.executable, "bot.py", "backtest", "--config",
        str(FIXTURES / "configs" / "EthTrendFilter.json"), "--strategy", "Reader",
        "--strategy-path", str(folder), "--datadir", str(FIXTURES / "data"),
        "--markets", str(FIXTURES.parents[1].parent / "shared" / "parity" / "markets.json"),
        "--fee", "0.001",
    ]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)


READER = '''
from engine.strategy import IStrategy


class Reader(IStrategy):
    timeframe = "5m"
    stoploss = -0.1
    minimal_roi = {{"0": 1}}

    def informative_pairs(self):
        return {declared}

    def populate_indicators(self, dataframe, metadata):
        {reads}
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):
        return dataframe
'''


@pytest.mark.parametrize(("declared", "reads", "missing"), [
    pytest.param('[("ETH/BTC", "4h")]', "pass", "ETH_BTC-4h.feather", marks=pytest.mark.heavy),
    ("[]", 'self.dp.get_pair_dataframe("LTC/BTC", "15m")', "LTC_BTC-15m.feather"),
])
def test_a_missing_informative_file_is_one_line_naming_it_and_exit_2(
    tmp_path: Path, declared: str, reads: str, missing: str
) -> None:
    run = run_backtest(tmp_path, READER.format(declared=declared, reads=reads))

    assert run.returncode == 2, run.stderr[-2000:]
    assert missing in run.stderr
    assert "Traceback" not in run.stderr


def test_an_informative_file_keeps_its_own_timeframes_startup_candles_before_the_range(
    datadir: Path,
) -> None:
    # ETH_BTC-1h holds 05:00 .. 14:00; the range starts at 10:00 with 3 startup candles.
    history = BacktestHistory({}, "5m", datadir=datadir,
                              timerange=(T0 + 2 * HOUR, T0 + 4 * HOUR), startup_candles=3)

    hourly = history.candles("ETH/BTC", "1h")

    assert hourly["date"].iloc[0].to_pydatetime() == T0 - HOUR  # 10:00 - 3 x 1h
    assert hourly["date"].iloc[-1].to_pydatetime() == T0 + 4 * HOUR
    assert history.available() == [("ETH/BTC", "1h")]


async def test_a_failing_informative_pairs_does_not_stop_a_backtest(datadir: Path) -> None:
    class Failing(Recorder):
        def informative_pairs(self) -> list[tuple[str, ...]]:
            raise RuntimeError("no pairs today")

    candles = {"AAA/BTC": frame(T0, 24, FIVE, 100.0)}
    strategy = Failing()

    await backtest_run.run(settings_for(["AAA/BTC"]), strategy, candles,
                           [market("AAA/BTC"), market("ETH/BTC")], fee=0.0,
                           history=BacktestHistory(candles, "5m", datadir=datadir))

    assert strategy.analysis["hourly"] == 10  # read when populate_indicators asked
    assert strategy.callbacks
