"""Strategy parameters (IntParameter, DecimalParameter, ...) filled with Freqtrade 2026.9's
precedence: class default < buy_params/sell_params < the parameter file beside the strategy
file, whose roi/stoploss/trailing the config overrides in turn; per instance; shown to the
owner; a bad value refused naming the file, the key and the expected form."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ConfigError
from engine.events import Startup
from engine.parameters import DecimalParameter, IntParameter
from handlers.notify import format_event
from tests.fakes.telegram import open_chat, strip_html
from tests.ft_support import STRATEGIES, backtest, differences, exported, load, reference


def copy_of_the_strategy(tmp_path: Path, params: dict[str, Any] | None) -> Path:
    """ft_parameters.py in a folder of its own, with `params` as its parameter file (none
    when None)."""
    folder = tmp_path / "strategies"
    folder.mkdir()
    shutil.copy(STRATEGIES / "ft_parameters.py", folder)
    if params is not None:
        (folder / "ft_parameters.json").write_text(json.dumps(
            {"strategy_name": "FtParameters", "params": params}), encoding="utf-8")
    return folder


def values(strategy: object) -> dict[str, Any]:
    names = ("buy_rsi", "buy_ema", "buy_volume_factor", "buy_trend", "sell_rsi", "sell_enabled",
             "sell_margin", "protection_cooldown")
    return {name: getattr(strategy, name).value for name in names}


def refused(folder: Path, **extra: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        load("FtParameters", folder, **extra)
    return str(caught.value)


def test_each_value_comes_from_the_highest_of_default_params_dicts_and_file(
        tmp_path: Path) -> None:
    without_file = load("FtParameters", copy_of_the_strategy(tmp_path, None))
    assert values(without_file) == {
        "buy_rsi": 40,  # buy_params over the default 30
        "buy_ema": 12,  # buy_params over the default 9
        "buy_volume_factor": 0.5, "buy_trend": "none", "sell_rsi": 70, "sell_enabled": True,
        "sell_margin": 0.25, "protection_cooldown": 2,
    }
    assert (without_file.stoploss, dict(without_file.minimal_roi)) == (-0.30, {"0": 0.5})
    with_file = load("FtParameters")  # tests/strategies_ft/ft_parameters.json
    assert values(with_file) == {
        "buy_rsi": 35,  # the file over buy_params
        "buy_ema": 12, "buy_volume_factor": 0.5,
        "buy_trend": "ema",  # the file over the default
        "sell_rsi": 70, "sell_enabled": True, "sell_margin": 0.25,
        "protection_cooldown": 2,  # load=False: the file's 7 is not taken
    }
    assert (with_file.stoploss, dict(with_file.minimal_roi)) == \
        (-0.04, {"0": 0.03, "30": 0.01, "120": 0.0})
    assert with_file.parameter_values["buy"]["buy_rsi"] == 35
    assert with_file.parameter_values["sell"] == \
        {"sell_enabled": True, "sell_margin": 0.25, "sell_rsi": 70}


def test_the_config_overrides_the_files_stoploss_and_roi_but_not_its_parameters() -> None:
    strategy = load("FtParameters", stoploss=-0.07, minimal_roi={"0": 0.05})
    assert (strategy.stoploss, dict(strategy.minimal_roi)) == (-0.07, {"0": 0.05})
    assert strategy.buy_rsi.value == 35  # type: ignore[attr-defined]


async def test_the_parameter_strategy_trades_as_freqtrade_with_the_same_file() -> None:
    trades = exported(await backtest(load("FtParameters")))
    assert len(trades) == 16
    assert differences(trades, reference("FtParameters")) == []


def test_values_belong_to_the_instance_so_a_reload_starts_from_the_file(tmp_path: Path) -> None:
    folder = copy_of_the_strategy(tmp_path, {"buy": {"buy_rsi": 33}})
    first = load("FtParameters", folder)
    first.buy_rsi.value = 11  # type: ignore[attr-defined]
    (folder / "ft_parameters.json").write_text(json.dumps(
        {"strategy_name": "FtParameters", "params": {"buy": {"buy_rsi": 44}}}), encoding="utf-8")
    second = load("FtParameters", folder)
    assert (first.buy_rsi.value, second.buy_rsi.value) == (11, 44)  # type: ignore[attr-defined]
    assert type(second).buy_rsi.value == 30  # type: ignore[attr-defined]  # the class default


@pytest.mark.parametrize(("params", "message"), [
    ({"buy": {"buy_rsi": "thirty"}}, "ft_parameters.json: params.buy.buy_rsi: expected a whole "
                                     "number for IntParameter buy_rsi, got 'thirty'"),
    ({"buy": {"buy_rsi": 30.5}}, "params.buy.buy_rsi: expected a whole number"),
    ({"buy": {"buy_volume_factor": True}}, "params.buy.buy_volume_factor: expected a number "
                                           "for DecimalParameter"),
    ({"buy": {"buy_trend": "sma"}}, "params.buy.buy_trend: expected one of ['ema', 'none'] "
                                    "for CategoricalParameter buy_trend, got 'sma'"),
    ({"sell": {"sell_enabled": "yes"}}, "params.sell.sell_enabled: expected true or false"),
    ({"stoploss": {"stoploss": 0.1}}, "ft_parameters.json: params.stoploss.stoploss: expected "
                                      "a negative ratio"),
    ({"roi": {"ten": 0.1}}, "params.roi: keys are whole minutes"),
    ({"trailing": {"trailing_stop": 1}}, "params.trailing.trailing_stop: expected true or "
                                         "false"),
    ({"trailing": {"trail": True}}, "params.trailing.trail: not a trailing setting"),
    ({"buy": [1, 2]}, 'params: expected an object of spaces, like {"buy"'),
])
def test_a_bad_value_in_the_parameter_file_is_refused_naming_file_key_and_form(
        tmp_path: Path, params: dict[str, Any], message: str) -> None:
    assert message in refused(copy_of_the_strategy(tmp_path, params))


def test_a_parameter_file_of_another_strategy_or_not_json_is_refused(tmp_path: Path) -> None:
    folder = copy_of_the_strategy(tmp_path, {})
    file = folder / "ft_parameters.json"
    file.write_text(json.dumps({"strategy_name": "Other", "params": {}}), encoding="utf-8")
    assert f"{file}: strategy_name: expected 'FtParameters'" in refused(folder)
    file.write_text("{ not json", encoding="utf-8")
    assert f"{file}: not valid JSON (line 1, column 3)" in refused(folder)


def test_a_parameter_without_a_space_is_refused_with_the_attribute(tmp_path: Path) -> None:
    folder = copy_of_the_strategy(tmp_path, None)
    source = folder / "ft_parameters.py"
    source.write_text(source.read_text().replace(
        "    sell_margin = RealParameter", "    margin = RealParameter"), encoding="utf-8")
    assert "FtParameters.margin: cannot tell the parameter's space; expected space=\"buy\"" \
        in refused(folder)


def test_the_parameter_classes_take_freqtrades_arguments() -> None:
    ranged = IntParameter([3, 9], default=5, space="buy")
    assert (ranged.low, ranged.high, ranged.value, list(ranged.range)) == (3, 9, 5, [5])
    with pytest.raises(ValueError, match="low and high, or"):
        IntParameter([3, 9], 10, default=5)
    with pytest.raises(ValueError, match="name is the attribute"):
        IntParameter(1, 2, default=1, name="x")


@given(value=st.floats(-1e6, 1e6), decimals=st.integers(0, 6))
def test_a_decimal_parameter_keeps_its_decimals_whatever_it_is_set_to(
        value: float, decimals: int) -> None:
    param = DecimalParameter(-1e6, 1e6, default=0.0, decimals=decimals)
    param.value = value
    assert param.value == round(value, decimals)


async def test_show_config_and_the_startup_message_show_the_parameter_values() -> None:
    overrides = {"strategy": "FtParameters", "strategy_path": str(STRATEGIES)}
    async with open_chat(overrides=overrides) as chat:
        (event,) = [e for e in chat.commands.engine.notifier.events  # type: ignore[attr-defined]
                    if isinstance(e, Startup)]
        startup = strip_html(format_event(event, "offline"))
        text = await chat.say("/show_config")
    assert "Parameters: buy: buy_ema=12, buy_rsi=35, buy_trend=ema, buy_volume_factor=0.5" \
        in startup
    assert 'Strategy parameters: {"buy": {"buy_ema": 12, "buy_rsi": 35, "buy_trend": "ema", ' \
           '"buy_volume_factor": 0.5}' in text
    assert '"sell": {"sell_enabled": true, "sell_margin": 0.25, "sell_rsi": 70}' in text
