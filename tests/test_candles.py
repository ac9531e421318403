"""Candle files: formats, cleaning, Freqtrade's gap fill, and load speed."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ConfigError
from marketdata.candles import CANDLE_COLUMNS
from marketdata.files import (
    candle_file,
    fill_gaps,
    load_candles,
    load_pair_data,
    ohlcv_to_frame,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "ohlcv"
SHIPPED = ["ETH/BTC", "LTC/BTC", "XLM/BTC", "NXT/BTC", "ADA/BTC"]
FIVE_MIN_MS = 300_000
EPOCH_2018 = 1_514_764_800_000  # 2018-01-01, a multiple of every timeframe up to 1d

prices = st.floats(min_value=1e-8, max_value=1e5, allow_nan=False)
volumes = st.floats(min_value=0, max_value=1e9, allow_nan=False)


def as_rows(frame: pd.DataFrame) -> list[list[float]]:
    millis = frame["date"].dt.as_unit("ms").astype("int64").tolist()
    values = frame[list(CANDLE_COLUMNS[1:])].to_numpy().tolist()
    return [[ms, *row] for ms, row in zip(millis, values, strict=True)]


@st.composite
def candle_rows(draw: st.DrawFn) -> list[list[float]]:
    slots = draw(st.lists(st.integers(0, 500), min_size=1, max_size=40))
    rows = []
    for slot in slots:
        low, high = sorted(draw(st.lists(prices, min_size=2, max_size=2)))
        o, c = draw(st.floats(low, high)), draw(st.floats(low, high))
        rows.append([EPOCH_2018 + slot * FIVE_MIN_MS, o, high, low, c, draw(volumes)])
    return rows


def test_candle_file_uses_freqtrade_naming_and_prefers_existing_formats(tmp_path: Path) -> None:
    assert candle_file(tmp_path, "ETH/BTC", "5m") == tmp_path / "ETH_BTC-5m.feather"
    (tmp_path / "XRP_USDT_USDT-1h.json.gz").write_bytes(b"")
    assert candle_file(tmp_path, "XRP/USDT:USDT", "1h").name == "XRP_USDT_USDT-1h.json.gz"
    assert candle_file(DATA, "ETH/BTC", "5m") == DATA / "ETH_BTC-5m.feather"


def test_shipped_feather_file_loads_as_sorted_utc_candles() -> None:
    frame = load_candles(DATA / "ETH_BTC-5m.feather")
    assert list(frame.columns) == list(CANDLE_COLUMNS)
    assert str(frame["date"].dtype) == "datetime64[ns, UTC]"
    assert len(frame) == 5760
    assert frame["date"].iloc[0] == pd.Timestamp("2018-01-10 04:55", tz=UTC)
    assert frame["date"].is_monotonic_increasing
    assert frame["date"].is_unique


def test_json_and_gzipped_json_give_the_same_candles_as_feather(tmp_path: Path) -> None:
    feather = load_candles(DATA / "LTC_BTC-5m.feather")
    rows = as_rows(feather)
    (tmp_path / "LTC_BTC-5m.json").write_text(json.dumps(rows))
    with gzip.open(tmp_path / "LTC_BTC-5m.json.gz", "wt") as handle:
        json.dump(rows, handle)
    pd.testing.assert_frame_equal(load_candles(tmp_path / "LTC_BTC-5m.json"), feather)
    pd.testing.assert_frame_equal(load_candles(tmp_path / "LTC_BTC-5m.json.gz"), feather)


@pytest.mark.heavy
@given(candle_rows())
def test_json_rows_parse_sorted_unique_with_duplicates_merged_as_freqtrade_does(
    rows: list[list[float]],
) -> None:
    frame = ohlcv_to_frame(rows)
    assert list(frame.columns) == list(CANDLE_COLUMNS)
    assert frame["date"].is_monotonic_increasing
    assert frame["date"].is_unique
    assert str(frame["date"].dtype) == "datetime64[ns, UTC]"
    by_time: dict[int, list[list[float]]] = {}
    for row in rows:
        by_time.setdefault(int(row[0]), []).append(row)
    assert len(frame) == len(by_time)
    for candle in frame.itertuples():
        group = by_time[int(candle.date.timestamp() * 1000)]
        assert candle.open == group[0][1]
        assert candle.high == max(r[2] for r in group)
        assert candle.low == min(r[3] for r in group)
        assert candle.close == group[-1][4]
        assert candle.volume == max(r[5] for r in group)


def test_empty_json_file_gives_an_empty_frame_with_the_candle_columns(tmp_path: Path) -> None:
    (tmp_path / "ETH_BTC-5m.json").write_text("[]")
    frame = load_candles(tmp_path / "ETH_BTC-5m.json")
    assert frame.empty
    assert list(frame.columns) == list(CANDLE_COLUMNS)


@pytest.mark.parametrize("content", ["{not json", "[[1, 2, 3]]", '{"a": 1}', '[["x"]]'])
def test_unreadable_candle_file_is_a_config_error_naming_the_file(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "ETH_BTC-5m.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=r"ETH_BTC-5m\.json"):
        load_candles(path)


@pytest.mark.heavy
@settings(max_examples=60)
@given(candle_rows(), st.sets(st.integers(1, 500), max_size=200))
def test_gap_fill_inserts_flat_candles_at_the_previous_close_with_zero_volume(
    rows: list[list[float]], holes: set[int]
) -> None:
    candles = ohlcv_to_frame(rows)
    first = candles["date"].iloc[0]
    dropped = candles["date"].isin({first + pd.Timedelta(minutes=5 * h) for h in holes})
    gapped = candles[~dropped].reset_index(drop=True)
    filled = fill_gaps(gapped, "5m")

    steps = filled["date"].diff().iloc[1:]
    assert (steps == pd.Timedelta(minutes=5)).all()
    assert filled["date"].iloc[0] == gapped["date"].iloc[0]
    assert filled["date"].iloc[-1] == gapped["date"].iloc[-1]
    original = filled[filled["date"].isin(set(gapped["date"]))].reset_index(drop=True)
    pd.testing.assert_frame_equal(original, gapped)
    inserted = ~filled["date"].isin(set(gapped["date"]))
    previous_close = filled["close"].shift(1)
    for column in ("open", "high", "low", "close"):
        assert (filled.loc[inserted, column] == previous_close[inserted]).all()
    assert (filled.loc[inserted, "volume"] == 0).all()
    pd.testing.assert_frame_equal(fill_gaps(filled, "5m"), filled)


def test_gap_fill_completes_the_real_ada_file_to_the_eth_grid() -> None:
    ada = load_candles(DATA / "ADA_BTC-5m.feather")
    filled = fill_gaps(ada, "5m")
    assert len(ada) == 5720
    assert len(filled) == 5760
    assert int((filled["volume"] == 0).sum()) == 40
    pd.testing.assert_series_equal(
        filled["date"], load_candles(DATA / "ETH_BTC-5m.feather")["date"]
    )


def test_load_pair_data_trims_to_the_time_range_inclusively_then_fills() -> None:
    start = datetime(2018, 1, 12, tzinfo=UTC)
    end = datetime(2018, 1, 13, tzinfo=UTC)
    frames = load_pair_data(DATA, ["ETH/BTC", "ADA/BTC"], "5m", (start, end))
    for frame in frames.values():
        assert frame["date"].iloc[0] == start
        assert frame["date"].iloc[-1] == end
        assert len(frame) == 24 * 12 + 1


def test_missing_candle_file_is_a_config_error_naming_pair_and_expected_file() -> None:
    with pytest.raises(ConfigError, match=r"DOGE/BTC.*DOGE_BTC-5m\.feather"):
        load_pair_data(DATA, ["ETH/BTC", "DOGE/BTC"], "5m")


def test_time_range_outside_the_data_is_a_config_error() -> None:
    later = datetime(2019, 1, 1, tzinfo=UTC)
    with pytest.raises(ConfigError, match="no candles in the requested time range"):
        load_pair_data(DATA, ["ETH/BTC"], "5m", (later, None))
