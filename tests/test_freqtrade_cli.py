"""bot.py's backtest and download-data with Freqtrade's flags and command names, as a Freqtrade
user types them: the exit status, the one-line failure, the report and the exported trades."""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import pty
import struct
import subprocess
import sys
import termios
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import bot
from backtest.download import Window, download
from backtest.options import parse_timerange
from core.clock import ManualClock
from marketdata.files import load_candles
from tests.fakes import FakeExchangeServer, RecordingSleep
from tests.fakes.binance_book import MarketSpec
from tests.test_backtest import MARKED_STRATEGY, at, candles
from venues.ccxt_exchange import CcxtExchange
from venues.exchange import MarketRules
from venues.precision import market_definition

ROOT = Path(__file__).resolve().parent.parent

# Marked (tests/test_backtest.py) resting 400 candles after each trade, and Marked with a 1%
# ROI, whose trades end sooner; a strategy file imports no other one.
GUARDED_STRATEGY = MARKED_STRATEGY.replace("class Marked(IStrategy):", """class Guarded(IStrategy):
    protections = [{"method": "CooldownPeriod", "stop_duration_candles": 400}]""")
HASTY_STRATEGY = MARKED_STRATEGY.replace("class Marked(IStrategy):", """class Hasty(IStrategy):
    minimal_roi = {"0": 0.001}""").replace('    minimal_roi = {"0": 10}\n', "")


@pytest.fixture(autouse=True)
def process_state_restored() -> Iterator[None]:
    """bot.main configures the root logger, sets environment variables and the umask for the
    process it runs in: here that is the test process, which other tests share."""
    env, root = dict(os.environ), logging.getLogger()
    handlers, level = root.handlers[:], root.level
    umask = os.umask(0o022)
    os.umask(umask)
    yield
    os.umask(umask)
    os.environ.clear()
    os.environ.update(env)
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config, strategies and 3 days of ETH/BTC candles (entry signals at candles 10, 300
    and 600, exit signals at 20 and 320; prices rise 20% from candle 301), as the working
    directory."""
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "marked.py").write_text(MARKED_STRATEGY)
    (tmp_path / "strategies" / "guarded.py").write_text(GUARDED_STRATEGY)
    (tmp_path / "strategies" / "hasty.py").write_text(HASTY_STRATEGY)
    frame = candles([(0.05, 0.0502, 0.0499, 0.0501)] * (3 * 288))
    frame.loc[frame["date"].isin([at(10), at(300), at(600)]), "volume"] = 7.0
    frame.loc[frame["date"].isin([at(20), at(320)]), "volume"] = 9.0
    frame.loc[frame["date"] >= at(301), ["open", "high", "low", "close"]] = 0.06
    (tmp_path / "data").mkdir()
    frame.to_feather(tmp_path / "data" / "ETH_BTC-5m.feather")
    (tmp_path / "data" / "markets.json").write_text(json.dumps({"markets": [
        market_definition(MarketRules("ETH/BTC", "ETH", "BTC", True, 0.001, 1e-6, 0.001, None,
                                      0.0001, None, 0.001, 0.001))]}))
    (tmp_path / "config.json").write_text(json.dumps({
        "stake_amount": 0.05, "strategy": "Marked", "strategy_path": "strategies",
        "exchange": {"name": "binance", "pair_whitelist": ["ETH/BTC"]}}))
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_TOKEN", "TELEGRAM_CHAT_ID", "EXCHANGE_API_KEY",
                 "EXCHANGE_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def backtest(capsys: pytest.CaptureFixture[str], *options: str,
             command: str = "backtest") -> tuple[int, str, str]:
    status = bot.main([command, "--datadir", "data", *options])
    out, err = capsys.readouterr()
    return status, out, err


def exported(path: str | Path) -> list[tuple[str, str, float]]:
    return [(t["open_date"], t["exit_reason"], t["amount"])
            for t in json.loads(Path(path).read_text())]


# 0.05 BTC a trade: 1 ETH at 0.05, 0.833 (the amount step is 0.001) at 0.06.
THREE_TRADES = [("2024-01-01T00:55:00Z", "exit_signal", 1.0),
                ("2024-01-02T01:05:00Z", "exit_signal", 0.833),
                ("2024-01-03T02:05:00Z", "force_exit", 0.833)]


def one_line_failure(status: int, err: str) -> str:
    assert status == 2
    assert "Traceback" not in err
    (line,) = err.splitlines()
    return line


# --- command names and flags -----------------------------------------------------------------


def test_freqtrades_backtesting_command_and_short_data_dir_flag_run_the_backtest(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = bot.main(["backtesting", "-d", "data", "--export", "trades",
                       "--export-filename", "out/trades.json"])
    out = capsys.readouterr().out

    assert status == 0
    assert "Backtest of Marked on 1 pairs, 5m" in out
    assert exported(workspace / "out" / "trades.json") == THREE_TRADES


def test_show_config_trade_and_list_timeframes_are_freqtrades_names(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bot.main(["show-config"]) == 0
    assert json.loads(capsys.readouterr().out)["strategy"] == "Marked"
    # `trade` is `run`: the same settings are read, the same refusal comes back.
    (workspace / "bad.json").write_text('{"stake_amount": "lots"}')
    assert bot.main(["trade", "--config", "bad.json"]) == 2
    assert capsys.readouterr().err.startswith("tradepilot: stake_amount: expected")
    assert bot.main(["list-timeframes"]) == 0
    assert capsys.readouterr().out == "1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d\n"


def test_list_strategies_shows_each_class_of_the_folder_and_the_files_that_do_not_import(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workspace / "strategies" / "broken.py").write_text("import no_such_module\n")

    assert bot.main(["list-strategies"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert bot.main(["list-strategies", "-1"]) == 0

    assert capsys.readouterr().out == "Guarded\nHasty\nMarked\n"
    assert listed[1:] == ["Guarded  guarded.py  OK", "Hasty    hasty.py  OK",
                          "Marked   marked.py  OK"]
    assert listed[0].startswith("broken   broken.py  does not import: strategies/broken.py, "
                                "line 1")


async def test_list_pairs_shows_the_exchanges_active_pairs_by_quote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    markets = [MarketSpec("ETH/BTC", "0.001", "0.000001", "0.001", "0.0001"),
               MarketSpec("BCC/BTC", "0.01", "0.000001", "0.01", "0.0001", active=False),
               MarketSpec("ETH/USDT", "0.0001", "0.01", "0.0001", "5")]
    monkeypatch.chdir(tmp_path)
    async with FakeExchangeServer(ManualClock(NOW), markets=markets) as server:
        (tmp_path / "config.json").write_text(json.dumps({"exchange": {
            "name": "binance", "pair_whitelist": ["ETH/BTC"],
            "ccxt_config": server.ccxt_config()}}))
        shown = [await asyncio.to_thread(bot.main, ["list-pairs", *options])
                 for options in ([], ["--quote", "btc", "-1"], ["--all", "--quote", "BTC"])]

    assert shown == [0, 0, 0]
    assert capsys.readouterr().out.splitlines() == [
        "2 pairs on binance: ETH/BTC, ETH/USDT", "ETH/BTC",
        "2 pairs on binance: BCC/BTC, ETH/BTC"]


def test_export_none_writes_nothing_and_export_signals_adds_the_signal_candles(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, _ = backtest(capsys, "--export", "none")
    assert status == 0
    assert not (workspace / "backtest_results").exists()

    status, _, _ = backtest(capsys, "--export", "signals", "--export-filename", "bt.json")

    assert status == 0
    assert exported(workspace / "bt.json") == THREE_TRADES
    signals = json.loads((workspace / "bt_signals.json").read_text())
    assert [(s["trade_id"], s["date"], s["volume"], s["enter_long"]) for s in signals] == [
        (1, "2024-01-01T00:50:00Z", 7.0, 1), (2, "2024-01-02T01:00:00Z", 7.0, 1),
        (3, "2024-01-03T02:00:00Z", 7.0, 1)]


def test_export_trades_without_a_file_name_goes_to_backtest_results(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, _ = backtest(capsys, "--export", "trades")

    (written,) = (workspace / "backtest_results").iterdir()
    assert status == 0
    assert written.name.startswith("backtest-result-")
    assert exported(written) == THREE_TRADES


def test_the_older_export_to_a_file_still_works_and_names_the_new_form(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = backtest(capsys, "--export", "trades.json")

    assert status == 0
    assert exported(workspace / "trades.json") == THREE_TRADES
    assert ("--export FILE is deprecated; use --export trades --export-filename trades.json"
            in err)


@pytest.mark.parametrize(("options", "message"), [
    (["--export", "trade"], "tradepilot: --export: expected one of trades, signals, none, got "
                            "'trade'"),
    (["--stake-amount", "lots"], 'tradepilot: --stake-amount: expected a positive number or '
                                 '"unlimited", got \'lots\''),
    (["--max-open-trades", "-2"], "tradepilot: --max-open-trades: expected a whole number >= "
                                  "-1, got -2"),
    (["--dry-run-wallet", "-1"], "tradepilot: --dry-run-wallet: expected a number >= 0.0, got "
                                 "-1.0"),
    (["--stake-amount", "unlimited", "--max-open-trades", "0"],
     'tradepilot: max_open_trades: "unlimited" stake needs max_open_trades above 0'),
    (["--timeframe-detail", "5m"], "tradepilot: --timeframe-detail: expected a timeframe "
                                   "shorter than the strategy's 5m that divides it (such as "
                                   "1m), got 5m"),
    (["--timeframe-detail", "2m"], "tradepilot: --timeframe-detail: expected one of 1m, "),
    (["--timeframe-detail", "1m"], "tradepilot: no 1m candles for ETH/BTC in data: expected "
                                   "ETH_BTC-1m.feather"),
    (["--timerange", "2018010-"], "tradepilot: --timerange: expected YYYYMMDD-YYYYMMDD, got "
                                  "'2018010-'"),
    (["--pairs-file", "missing.json"], "tradepilot: missing.json: config file not found"),
])  # fmt: skip
def test_bad_freqtrade_flags_are_one_line_and_exit_2(
    workspace: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    status, out, err = backtest(capsys, *options)

    assert one_line_failure(status, err).startswith(message)
    assert out == ""


def one_minute_candles(folder: Path) -> None:
    """ETH_BTC-1m.feather beside the 5m file: each 5m candle as five 1m ones, flat at its
    open for two minutes, then its high and low in the third, then flat at its close."""
    frame = pd.read_feather(folder / "ETH_BTC-5m.feather")
    rows = []
    for candle in frame.itertuples():
        o, h, low, c = candle.open, candle.high, candle.low, candle.close
        rows += [(o, o, o, o), (o, o, o, o), (o, h, low, c), (c, c, c, c), (c, c, c, c)]
    minutes = pd.DataFrame(rows, columns=["open", "high", "low", "close"])
    minutes.insert(0, "date", pd.date_range(frame["date"].iloc[0], periods=len(rows),
                                            freq="1min", tz=UTC))
    minutes["volume"] = 2.0
    minutes.to_feather(folder / "ETH_BTC-1m.feather")


def closes(path: str) -> list[tuple[str, str, str]]:
    return [(t["open_date"], t["close_date"], t["exit_reason"])
            for t in json.loads(Path(path).read_text())]


def test_timeframe_detail_exits_on_the_shorter_candle_that_reaches_the_price_at_its_time(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one_minute_candles(workspace / "data")
    flag = ["--strategy", "Hasty", "--export", "trades"]

    backtest(capsys, *flag, "--export-filename", "whole.json")
    status, _, _ = backtest(capsys, *flag, "--timeframe-detail", "1m",
                            "--export-filename", "detail.json")

    # The 0.1% ROI is reached by the entry candle's high: without detail at the candle's
    # time, with it at its third minute, where the 1m candles put the high.
    assert status == 0
    assert closes("whole.json")[0] == ("2024-01-01T00:55:00Z", "2024-01-01T00:55:00Z", "roi")
    assert closes("detail.json")[0] == ("2024-01-01T00:55:00Z", "2024-01-01T00:57:00Z", "roi")


def test_the_config_key_timeframe_detail_is_the_flag(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one_minute_candles(workspace / "data")
    config = json.loads((workspace / "config.json").read_text())
    (workspace / "keyed.json").write_text(json.dumps({**config, "timeframe_detail": "1m"}))
    flag = ["--strategy", "Hasty", "--export", "trades"]

    backtest(capsys, *flag, "--timeframe-detail", "1m", "--export-filename", "flag.json")
    backtest(capsys, "--config", "keyed.json", *flag, "--export-filename", "key.json")

    assert closes("key.json") == closes("flag.json")
    assert closes("key.json")[0][1] == "2024-01-01T00:57:00Z"


def test_a_bad_timeframe_detail_in_the_config_names_the_key(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = json.loads((workspace / "config.json").read_text())
    (workspace / "keyed.json").write_text(json.dumps({**config, "timeframe_detail": "7m"}))

    status, _, err = backtest(capsys, "--config", "keyed.json")

    assert one_line_failure(status, err).startswith(
        "tradepilot: timeframe_detail: expected one of 1m, ")


def test_stake_amount_wallet_and_max_open_trades_flags_change_the_trades(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backtest(capsys, "--stake-amount", "0.025", "--export", "trades", "--export-filename",
             "half.json")
    backtest(capsys, "--max-open-trades", "0", "--export", "trades", "--export-filename",
             "none.json")
    backtest(capsys, "--dry-run-wallet", "0.02", "--export", "trades", "--export-filename",
             "poor.json")

    assert [amount for _, _, amount in exported("half.json")] == [0.5, 0.416, 0.416]
    assert exported("none.json") == []
    assert exported("poor.json") == []


def test_the_fee_of_the_config_is_the_backtests_fee_unless_fee_is_given(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workspace / "fee.json").write_text('{"fee": 0.002}')
    config = ["-c", "config.json", "-c", "fee.json"]
    backtest(capsys, *config, "--export-filename", "config_fee.json")
    backtest(capsys, "--fee", "0.002", "--export-filename", "option_fee.json")
    backtest(capsys, *config, "--fee", "0", "--export-filename", "no_fee.json")

    def first_profit(path: str) -> float:
        return float(json.loads(Path(path).read_text())[0]["profit_abs"])

    assert first_profit("config_fee.json") == first_profit("option_fee.json") == pytest.approx(
        0.05 * 0.998 - 0.05 * 1.002)
    assert first_profit("no_fee.json") == 0.0


def test_protections_apply_only_with_enable_protections_as_in_freqtrade(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, err = backtest(capsys, "--strategy", "Guarded", "--export-filename", "all.json")
    backtest(capsys, "--strategy", "Guarded", "--enable-protections", "--export-filename",
             "guarded.json")

    assert exported("all.json") == THREE_TRADES
    # Resting 400 candles after the exit at candle 21, the entry signal of candle 300 is missed.
    assert exported("guarded.json") == [THREE_TRADES[0], THREE_TRADES[2]]
    assert ("Guarded: its 1 protections are left out, as Freqtrade's backtest leaves them out; "
            "--enable-protections applies them") in err


def test_strategy_list_reports_each_strategy_then_compares_them(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = backtest(capsys, "--strategy-list", "Marked", "Hasty",
                              "--export-filename", "trades.json")

    assert status == 0
    assert "Backtest of Marked on 1 pairs" in out
    assert "Backtest of Hasty on 1 pairs" in out
    summary = out[out.index("STRATEGY SUMMARY"):].splitlines()
    assert [row.split(" | ")[0].strip() for row in summary[3:]] == ["Marked", "Hasty"]
    assert exported("trades-Marked.json") == THREE_TRADES
    assert [reason for _, reason, _ in exported("trades-Hasty.json")] == [
        "roi", "exit_signal", "force_exit"]


def test_a_pairs_file_replaces_the_whitelist(workspace: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (workspace / "pairs.json").write_text('["ETH/BTC"]')
    status, _, err = backtest(capsys, "--pairs", "LTC/BTC")
    assert one_line_failure(status, err).startswith("tradepilot: no 5m candles for LTC/BTC")

    status, out, _ = backtest(capsys, "--pairs", "LTC/BTC", "--pairs-file", "pairs.json")

    assert status == 0
    assert "ETH/BTC |      3 |" in out


@pytest.mark.parametrize("timerange", ["20240102-", "1704153600-", "1704153600000-",
                                       "20240102T0000-"])
def test_a_timerange_in_any_freqtrade_form_trims_the_backtest(
    workspace: Path, capsys: pytest.CaptureFixture[str], timerange: str
) -> None:
    backtest(capsys, "--timerange", timerange, "--export-filename", "trades.json")

    assert exported("trades.json") == THREE_TRADES[1:]


# --- the time range parser -------------------------------------------------------------------

# Every second a 10-digit Unix time names (2001-09-09 to 2286-11-20).
MOMENTS = st.integers(10**9, 10**10 - 1).map(lambda s: datetime.fromtimestamp(s, UTC))


@given(MOMENTS, MOMENTS)
def test_each_side_of_a_timerange_may_be_a_date_a_minute_a_second_or_a_unix_time(
    one: datetime, two: datetime
) -> None:
    first, last = sorted((one, two))
    day, minute = first.replace(hour=0, minute=0, second=0), last.replace(second=0)
    forms = {
        f"{first:%Y%m%d}-{last:%Y%m%dT%H%M%S}": (day, last),
        f"{int(first.timestamp())}-{int(last.timestamp() * 1000)}": (first, last),
        f"{first:%Y%m%d}T{first:%H%M}-": (first.replace(second=0), None),
        f"-{last:%Y%m%dT%H%M}": (None, minute),
        f"-{int(last.timestamp())}": (None, last),
    }
    for text, expected in forms.items():
        assert parse_timerange(text) == expected, text


@given(MOMENTS, MOMENTS)
def test_a_timerange_ending_before_it_starts_is_refused(one: datetime, two: datetime) -> None:
    from core.errors import ConfigError

    first, last = sorted((one, two))
    if first == last:
        assert parse_timerange(f"{int(first.timestamp())}-{int(last.timestamp())}") == (
            first, last)
        return
    with pytest.raises(ConfigError, match="--timerange: the end comes before the start"):
        parse_timerange(f"{int(last.timestamp())}-{int(first.timestamp())}")


# --- progress bar ----------------------------------------------------------------------------


def bot_command(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "bot.py"), *args]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "EXCHANGE"))}


def on_a_terminal(cwd: Path, *args: str) -> tuple[int, bytes]:
    """The command with its stderr on a pseudo-terminal of 120 columns: status, screen."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    process = subprocess.Popen(bot_command(*args), cwd=cwd, env=clean_env(),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=follower)
    os.close(follower)
    screen = b""
    try:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed its end
                break
            if not chunk:
                break
            screen += chunk
    finally:
        os.close(leader)
    return process.wait(timeout=120), screen


@pytest.mark.heavy
def test_the_progress_bar_shows_on_a_terminal_and_never_in_a_pipe(workspace: Path) -> None:
    piped = subprocess.run(bot_command("backtest", "-d", "data"), cwd=workspace,
                           env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=120, check=False)
    status, screen = on_a_terminal(workspace, "backtest", "-d", "data")

    assert (piped.returncode, status) == (0, 0)
    assert piped.stderr == b""
    assert b"Marked: 100%" in screen
    assert b"861/861" in screen


# --- download-data ---------------------------------------------------------------------------

NOW = datetime(2024, 3, 1, 12, 2, 30, tzinfo=UTC)  # the 12:00 candle is still forming


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
async def exchange(clock: ManualClock) -> AsyncIterator[CcxtExchange]:
    async with FakeExchangeServer(clock, klines_limit=1000) as server:
        yield server.ccxt_exchange(sleep=RecordingSleep(), retries=0)


def stored(folder: Path) -> tuple[int, str, str]:
    frame = load_candles(folder / "ETH_BTC-5m.feather")
    return (len(frame), f"{frame['date'].iloc[0]:%m-%d %H:%M}",
            f"{frame['date'].iloc[-1]:%m-%d %H:%M}")


async def test_new_pairs_days_sets_the_history_of_a_pair_without_a_file(
    exchange: CcxtExchange, clock: ManualClock, tmp_path: Path
) -> None:
    await download(exchange, ["ETH/BTC"], ["5m"], Window(new_pairs_days=0.5), tmp_path, clock)
    assert stored(tmp_path) == (144, "03-01 00:00", "03-01 11:55")

    clock.advance(timedelta(hours=1))
    await download(exchange, ["ETH/BTC"], ["5m"], Window(new_pairs_days=2), tmp_path, clock)

    # A stored pair only gets its new candles: new_pairs_days is for new pairs.
    assert stored(tmp_path) == (156, "03-01 00:00", "03-01 12:55")


async def test_prepend_fetches_only_older_candles_and_erase_starts_over(
    exchange: CcxtExchange, clock: ManualClock, tmp_path: Path
) -> None:
    await download(exchange, ["ETH/BTC"], ["5m"], 0.5, tmp_path, clock)
    clock.advance(timedelta(hours=1))

    await download(exchange, ["ETH/BTC"], ["5m"], Window(
        first=NOW - timedelta(days=1), prepend=True), tmp_path, clock)
    assert stored(tmp_path) == (288, "02-29 12:00", "03-01 11:55")

    await download(exchange, ["ETH/BTC"], ["5m"], Window(
        first=datetime(2024, 3, 1, 6, tzinfo=UTC), last=datetime(2024, 3, 1, 7, tzinfo=UTC),
        erase=True), tmp_path, clock)
    assert stored(tmp_path) == (13, "03-01 06:00", "03-01 07:00")


def test_download_days_and_timerange_together_are_refused_before_any_request(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = bot.main(["download-data", "--days", "2", "--timerange", "20240101-"])

    assert one_line_failure(status, capsys.readouterr().err) == (
        "tradepilot: --days and --timerange: give one of them, not both")


def test_the_configs_datadir_is_where_a_backtest_reads_its_candles(
        workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Freqtrade's `datadir` key was refused as unknown, so such a config did not load."""
    (workspace / "data").rename(workspace / "candles")
    config = json.loads((workspace / "config.json").read_text())
    (workspace / "config.json").write_text(json.dumps({**config, "datadir": "candles"}))

    status = bot.main(["backtest", "--export", "trades", "--export-filename", "trades.json"])

    _out, err = capsys.readouterr()
    assert status == 0, err
    assert exported("trades.json") == THREE_TRADES
