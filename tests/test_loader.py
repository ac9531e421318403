"""Loading a strategy: by class name from the strategy folder or by module path, and every way
it can be refused (the bot then exits with status 2 and this message)."""

from __future__ import annotations

import logging
import sys
import textwrap
from pathlib import Path

import pytest

from core.errors import ConfigError
from engine.loader import load_strategy
from engine.settings import OrderTypes, Settings, UnfilledTimeout
from engine.strategy import IStrategy

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT = Path(__file__).parent.parent

GOOD = """
from engine.strategy import IStrategy


class {name}(IStrategy):
    timeframe = "5m"
    stoploss = -0.10
    minimal_roi = {{"60": 0.01, "0": 0.04, "30": 0.02}}
{extra}
    def populate_indicators(self, dataframe, metadata):
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        dataframe["enter_long"] = 0
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):
        dataframe["exit_long"] = 0
        return dataframe
"""


def write(folder: Path, file: str, name: str = "MyStrategy", extra: str = "") -> Path:
    path = folder / file
    body = textwrap.indent(textwrap.dedent(extra), "    ")
    path.write_text(GOOD.format(name=name, extra=body), encoding="utf-8")
    return path


def refused(folder: Path, name: str = "MyStrategy", overrides: dict | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_strategy(name, folder, overrides or {})
    return str(caught.value)


def test_sample_strategy_loads_by_class_name_from_the_default_folder() -> None:
    strategy = load_strategy("SampleStrategy", PROJECT / "strategies", {})
    assert type(strategy).__name__ == "SampleStrategy"
    assert (strategy.timeframe, strategy.stoploss, strategy.startup_candle_count) == \
        ("5m", -0.05, 30)
    assert strategy.process_only_new_candles is True


def test_roi_table_comes_out_sorted_by_minutes_with_string_keys(tmp_path: Path) -> None:
    write(tmp_path, "mine.py")
    strategy = load_strategy("MyStrategy", tmp_path, {})
    assert list(strategy.minimal_roi.items()) == [("0", 0.04), ("30", 0.02), ("60", 0.01)]


def test_config_values_override_the_loaded_strategy(tmp_path: Path) -> None:
    write(tmp_path, "mine.py")
    settings = Settings(stoploss=-0.03, minimal_roi={"0": 0.1}, timeframe="15m",
                        unfilledtimeout=UnfilledTimeout(entry=2),
                        order_types=OrderTypes(stoploss="limit"))
    strategy = load_strategy("MyStrategy", tmp_path, settings.strategy_overrides())
    assert (strategy.stoploss, strategy.minimal_roi, strategy.timeframe) == \
        (-0.03, {"0": 0.1}, "15m")
    assert strategy.resolved_unfilledtimeout().entry == 2
    assert strategy.resolved_order_types().stoploss == "limit"
    assert strategy.config["stoploss"] == -0.03  # Freqtrade strategies read self.config


def test_strategy_without_stoploss_loads_when_the_config_sets_it(tmp_path: Path) -> None:
    path = write(tmp_path, "mine.py")
    path.write_text(path.read_text().replace("stoploss = -0.10", ""), encoding="utf-8")
    assert "MyStrategy.stoploss: not set" in refused(tmp_path)
    assert load_strategy("MyStrategy", tmp_path, {"stoploss": -0.2}).stoploss == -0.2


def test_a_freqtrade_strategy_loads_unchanged_and_with_the_one_line_port(tmp_path: Path) -> None:
    source = (FIXTURES / "ema_rsi_cross.py.txt").read_text(encoding="utf-8")
    assert "from freqtrade.strategy import IStrategy" in source
    ported = source.replace("from freqtrade.strategy import IStrategy",
                            "from engine.strategy import IStrategy")
    for text in (source, ported):
        (tmp_path / "ema_rsi_cross.py").write_text(text, encoding="utf-8")
        strategy = load_strategy("EmaRsiCross", tmp_path, {})
        assert isinstance(strategy, IStrategy)
        assert (strategy.stoploss, strategy.startup_candle_count) == (-0.05, 30)
        assert strategy.resolved_order_types().stoploss == "limit"


def test_edited_strategy_file_is_read_again_on_the_next_load(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Python writes .pyc files on a user's machine; the edit keeps the size and lands within
    # the same second, so the .pyc written by the first load still matches the file.
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = write(tmp_path, "mine.py")
    assert load_strategy("MyStrategy", tmp_path, {}).stoploss == -0.10
    path.write_text(path.read_text().replace("-0.10", "-0.07"), encoding="utf-8")
    assert load_strategy("MyStrategy", tmp_path, {}).stoploss == -0.07


def test_edited_module_path_strategy_is_read_again_on_the_next_load(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    package = tmp_path / "loader_pkg_edit"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    path = write(package, "mod.py", "Edited")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_strategy("loader_pkg_edit.mod:Edited", "unused", {}).stoploss == -0.10
    path.write_text(path.read_text().replace("-0.10", "-0.07"), encoding="utf-8")
    assert load_strategy("loader_pkg_edit.mod:Edited", "unused", {}).stoploss == -0.07
    path.write_text("raise ValueError('half-saved')\n", encoding="utf-8")
    assert "mod.py, line 1: cannot import the strategy file: ValueError: half-saved" in \
        refused(tmp_path, "loader_pkg_edit.mod:Edited")


def test_strategy_loads_by_module_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "loader_pkg_a"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    write(package, "mod.py", "Dotted")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("loader_pkg_a.mod:Dotted", "loader_pkg_a.mod.Dotted"):
        assert type(load_strategy(name, "unused", {})).__name__ == "Dotted"
    assert "no module named loader_pkg_a.nothere" in refused(tmp_path, "loader_pkg_a.nothere:X")
    message = refused(tmp_path, "loader_pkg_a.mod:Other")
    assert "no strategy class Other in module loader_pkg_a.mod; classes found: Dotted" in message


def test_class_not_found_lists_the_classes_found(tmp_path: Path) -> None:
    write(tmp_path, "one.py", "Alpha")
    write(tmp_path, "two.py", "Beta")
    assert refused(tmp_path, "Gamma") == \
        f"strategy: no strategy class Gamma in {tmp_path}; classes found: Alpha, Beta"


def test_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "mine.py")
    lines = path.read_text().splitlines()
    lines[9] = "    def populate_indicators(self, dataframe, metadata)"  # no colon
    path.write_text("\n".join(lines), encoding="utf-8")
    assert refused(tmp_path) == f"{path}, line 10: syntax error: expected ':'"


def test_import_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "mine.py")
    path.write_text("import math\nimport talib_not_installed\n" + path.read_text(),
                    encoding="utf-8")
    assert refused(tmp_path) == (
        f"{path}, line 2: cannot import the strategy file: ModuleNotFoundError: "
        "No module named 'talib_not_installed'")


def test_a_broken_file_beside_the_wanted_one_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    write(tmp_path, "good.py")
    (tmp_path / "broken.py").write_text("x = 1 / 0\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert type(load_strategy("MyStrategy", tmp_path, {})).__name__ == "MyStrategy"
    assert "broken.py, line 1: cannot import the strategy file: ZeroDivisionError" in caplog.text
    assert "could not import" in refused(tmp_path, "Missing")


def test_same_class_name_in_two_files_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.py")
    write(tmp_path, "b.py")
    assert "MyStrategy is defined in both" in refused(tmp_path)


def test_missing_strategy_folder_is_refused(tmp_path: Path) -> None:
    assert "strategy_path: " in refused(tmp_path / "nope")


def test_class_missing_required_methods_is_refused(tmp_path: Path) -> None:
    (tmp_path / "half.py").write_text(textwrap.dedent("""
        from engine.strategy import IStrategy

        class Half(IStrategy):
            timeframe = "5m"
            stoploss = -0.1

            def populate_indicators(self, dataframe, metadata):
                return dataframe

            def populate_buy_trend(self, dataframe, metadata):
                return dataframe
    """), encoding="utf-8")
    assert refused(tmp_path, "Half") == (
        "strategy: Half does not define populate_exit_trend; expected populate_indicators, "
        "populate_entry_trend, populate_exit_trend(self, dataframe, metadata) (or Freqtrade's "
        "populate_buy_trend / populate_sell_trend)")


@pytest.mark.parametrize(("extra", "message"), [
    ("stoploss = 0.05", "MyStrategy.stoploss: expected a negative ratio between -1 and 0 such "
                        "as -0.10 (exit at a 10% loss), got 0.05"),
    ("stoploss = -1.5", "MyStrategy.stoploss: expected a negative ratio"),
    ('minimal_roi = {"ten": 0.01}', "MyStrategy.minimal_roi: keys are whole minutes as "
                                    "strings, got 'ten'"),
    ('minimal_roi = {"0": "4%"}', "MyStrategy.minimal_roi.0: expected a number, got '4%'"),
    ("minimal_roi = [0.04]", "MyStrategy.minimal_roi: expected a table like"),
    ('timeframe = "7m"', "MyStrategy.timeframe: expected one of 1m, 3m, 5m"),
    ("timeframe = None", 'MyStrategy.timeframe: not set; expected `timeframe = "5m"`'),
    ('order_types = {"entry": "stop"}', "MyStrategy.order_types.entry: expected one of limit, "
                                        "market, got 'stop'"),
    ('order_types = {"buy_now": "limit"}', "MyStrategy.order_types.buy_now: unknown key"),
    ('order_types = {"stoploss_on_exchange": True, "stoploss_price_type": "index"}',
     "MyStrategy.order_types.stoploss_price_type: spot stop orders trigger on the last price"),
    ('unfilledtimeout = {"entry": 10, "unit": "hours"}',
     "MyStrategy.unfilledtimeout.unit: expected one of minutes, seconds, got 'hours'"),
    ("unfilledtimeout = 10", "MyStrategy.unfilledtimeout: expected an object"),
    ('use_exit_signal = "yes"', "MyStrategy.use_exit_signal: expected true or false"),
    ("startup_candle_count = -1", "MyStrategy.startup_candle_count: expected a whole number "
                                  ">= 0"),
    ("can_short = True", "MyStrategy.can_short: tradepilot trades spot, long only"),
    ('protections = "CooldownPeriod"', "MyStrategy.protections: expected a list of objects"),
    ("trailing_stop = True\ntrailing_only_offset_is_reached = True",
     "MyStrategy.trailing_only_offset_is_reached: needs trailing_stop_positive_offset above 0"),
    ("trailing_stop = True\ntrailing_stop_positive = 0.02\n"
     "trailing_stop_positive_offset = 0.01",
     "MyStrategy.trailing_stop_positive_offset: expected a value greater than "
     "trailing_stop_positive (0.02), got 0.01"),
    ("trailing_stop = True\ntrailing_stop_positive = 0.0",
     "MyStrategy.trailing_stop_positive: expected a ratio above 0"),
])
def test_invalid_attribute_values_are_refused_with_the_rule_and_the_value(
    tmp_path: Path, extra: str, message: str,
) -> None:
    write(tmp_path, "mine.py", extra=extra)
    assert message in refused(tmp_path)


def test_strategy_whose_constructor_raises_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "mine.py", extra="""
        def __init__(self, config):
            super().__init__(config)
            raise RuntimeError("needs a data provider")
    """)
    assert refused(tmp_path) == \
        "strategy: MyStrategy(config) raised RuntimeError: needs a data provider"


def test_a_strategy_that_adjusts_positions_loads_with_its_limit(tmp_path: Path) -> None:
    """It was refused: position adjustment was not done (engine/adjust.py does it now)."""
    write(tmp_path, "mine.py", extra="position_adjustment_enable = True\n"
                                      "max_entry_position_adjustment = 3")
    strategy = load_strategy("MyStrategy", tmp_path)
    assert strategy.position_adjustment_enable is True
    assert strategy.max_entry_position_adjustment == 3


def test_a_max_entry_position_adjustment_that_is_not_a_count_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "mine.py", extra="max_entry_position_adjustment = 'many'")
    assert refused(tmp_path) == ("MyStrategy.max_entry_position_adjustment: expected a whole "
                                 "number, got 'many'")
