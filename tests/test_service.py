"""systemd's notifications and the heartbeat file (service/): the protocol's datagrams on a
socket the test binds as systemd would, in the filesystem and in the abstract namespace, the
file a container's health check reads, and `internals.sd_notify` as the config sets it."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import bot
from core.clock import ManualClock
from engine.config import parse_config
from engine.settings import Settings
from service import heartbeat
from service.heartbeat import Heartbeat
from service.sd_notify import SdNotify, socket_address, watchdog_seconds
from tests.fakes.systemd import FakeSystemd
from tests.fakes.systemd import abstract_systemd as fake_systemd

START = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def bot_settings(argv: list[str]) -> Settings:
    args = bot._parser().parse_args(argv)
    return bot._settings(args)


@pytest.fixture
def abstract_systemd() -> Iterator[tuple[FakeSystemd, str]]:
    with fake_systemd() as made:
        yield made


@pytest.fixture
def path_systemd() -> Iterator[tuple[FakeSystemd, str]]:
    """A socket at a path (short: a unix socket path has at most 107 bytes)."""
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        path = str(Path(folder) / "notify")
        fake = FakeSystemd(path)
        yield fake, path
        fake.sock.close()


def test_notify_socket_names_a_path_or_an_abstract_name() -> None:
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert socket_address("@/org/freedesktop/systemd1/notify/1") == (
        "\0/org/freedesktop/systemd1/notify/1")
    assert socket_address("vsock:2:1234") is None
    assert socket_address("@") is None
    assert socket_address("relative/notify") is None


@given(st.text())
def test_any_notify_socket_value_is_read_without_an_error(value: str) -> None:
    address = socket_address(value)
    assert address is None or address.startswith(("/", "\0"))


@pytest.mark.parametrize("which", ["path_systemd", "abstract_systemd"])
def test_a_notification_is_one_datagram_of_assignments(
        which: str, request: pytest.FixtureRequest) -> None:
    fake, value = request.getfixturevalue(which)
    notify = SdNotify.from_environment({"NOTIFY_SOCKET": value})
    assert notify is not None

    assert notify.send("READY=1", "STATUS=running")

    assert fake.receive() == ["READY=1", "STATUS=running"]


def test_without_notify_socket_there_is_nobody_to_notify() -> None:
    assert SdNotify.from_environment({}) is None


def test_a_socket_that_went_away_is_logged_once_and_never_raised(
        caplog: pytest.LogCaptureFixture) -> None:
    notify = SdNotify("/nonexistent/tradepilot/notify")
    with caplog.at_level(logging.WARNING, logger="service.sd_notify"):
        assert [notify.send("WATCHDOG=1") for _ in range(3)] == [False] * 3
    assert caplog.text.count("could not notify systemd") == 1


def test_the_watchdog_interval_is_ours_only_when_its_pid_is_ours() -> None:
    assert watchdog_seconds({"WATCHDOG_USEC": "300000000"}, 42) == 300
    assert watchdog_seconds({"WATCHDOG_USEC": "300000000", "WATCHDOG_PID": "42"}, 42) == 300
    assert watchdog_seconds({"WATCHDOG_USEC": "300000000", "WATCHDOG_PID": "7"}, 42) is None
    assert watchdog_seconds({"WATCHDOG_USEC": "0"}, 42) is None
    assert watchdog_seconds({}, 42) is None


def beat_on(fake_value: str | None, file: Path | None, clock: ManualClock,
            sd_notify: bool | None = None) -> Heartbeat:
    env = {"NOTIFY_SOCKET": fake_value} if fake_value else {}
    if file is not None:
        env[heartbeat.FILE_VARIABLE] = str(file)
    made = heartbeat.from_environment(env, sd_notify=sd_notify, throttle_secs=5, log_every=0,
                                      state=lambda: "running", version="0.1.0")
    made.clock = clock
    return made


def test_ready_then_a_watchdog_ping_per_beat_then_stopping(
        abstract_systemd: tuple[FakeSystemd, str], tmp_path: Path) -> None:
    fake, value = abstract_systemd
    beat = beat_on(value, None, ManualClock(START))

    beat.ready()
    beat.beat()
    beat.beat()
    beat.stopping()

    assert fake.pending() == [["READY=1", "STATUS=trading loop running, state running"],
                              ["WATCHDOG=1"], ["WATCHDOG=1"],
                              ["STOPPING=1", "STATUS=shutting down"]]


def test_the_heartbeat_file_is_current_until_the_loop_stalls_and_gone_after_the_stop(
        tmp_path: Path) -> None:
    clock = ManualClock(START)
    file = tmp_path / "heartbeat"
    beat = beat_on(None, file, clock)

    assert heartbeat.check(file, clock)[0] is False
    beat.ready()
    clock.advance(timedelta(seconds=30))
    healthy, why = heartbeat.check(file, clock)
    assert (healthy, why) == (True, f"last heartbeat 30 s ago (pid {os.getpid()})")
    clock.advance(timedelta(seconds=heartbeat.STALL_SECONDS))
    healthy, why = heartbeat.check(file, clock)
    assert healthy is False
    assert why.endswith("the loop is stuck")
    beat.beat()
    assert heartbeat.check(file, clock)[0] is True
    beat.stopping()
    assert not file.exists()
    assert heartbeat.check(file, clock) == (
        False, f"no heartbeat at {file}: the bot is not running, or not yet started")


def test_a_slow_loop_gets_three_of_its_intervals_before_it_counts_as_stuck() -> None:
    assert heartbeat.stall_limit(5) == timedelta(seconds=heartbeat.STALL_SECONDS)
    assert heartbeat.stall_limit(600) == timedelta(seconds=1800)


@given(st.binary(max_size=200))
def test_a_damaged_heartbeat_file_is_unhealthy_and_said_so(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "heartbeat"
        file.write_bytes(content)
        healthy, why = heartbeat.check(file, ManualClock(START))
    assert healthy is False
    assert why


def test_sd_notify_false_sends_nothing_and_warns_that_systemd_waits(
        abstract_systemd: tuple[FakeSystemd, str], caplog: pytest.LogCaptureFixture) -> None:
    fake, value = abstract_systemd
    with caplog.at_level(logging.WARNING, logger="service.heartbeat"):
        beat = beat_on(value, None, ManualClock(START), sd_notify=False)
    beat.ready()
    assert fake.pending() == []
    assert "internals.sd_notify is false, but systemd waits" in caplog.text


def test_sd_notify_true_without_systemd_says_nobody_listens(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="service.heartbeat"):
        beat_on(None, None, ManualClock(START), sd_notify=True).ready()
    assert "NOTIFY_SOCKET is not set" in caplog.text


def test_a_watchdog_shorter_than_three_iterations_is_warned_of(
        abstract_systemd: tuple[FakeSystemd, str], caplog: pytest.LogCaptureFixture) -> None:
    _fake, value = abstract_systemd
    with caplog.at_level(logging.WARNING, logger="service.heartbeat"):
        heartbeat.from_environment({"NOTIFY_SOCKET": value, "WATCHDOG_USEC": "10000000"},
                                   sd_notify=None, throttle_secs=5, log_every=0,
                                   state=lambda: "running", version="0.1.0")
    assert "WatchdogSec (10 s) is shorter than three iterations" in caplog.text


def test_freqtrades_heartbeat_line_is_logged_every_heartbeat_interval(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(START)
    beat = heartbeat.from_environment({}, sd_notify=None, throttle_secs=5, log_every=60,
                                      state=lambda: "running", version="0.1.0")
    beat.clock = clock
    with caplog.at_level(logging.INFO, logger="service.heartbeat"):
        for _ in range(25):  # two minutes of 5 s iterations
            beat.beat()
            clock.advance(timedelta(seconds=5))
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [f"heartbeat: pid {os.getpid()}, version 0.1.0, state running"] * 3


def test_internals_sd_notify_is_read_and_no_longer_listed_as_unused() -> None:
    assert parse_config({}, {}).internals.sd_notify is None
    settings = parse_config({"internals": {"sd_notify": True}}, {})
    assert settings.internals.sd_notify is True
    assert settings.ignored_keys == ()
    assert parse_config({"internals": {"sd_notify": False}}, {}).internals.sd_notify is False


def test_freqtrades_sd_notify_flag_of_trade_turns_it_on() -> None:
    """`freqtrade trade --sd-notify` in a Freqtrade user's unit: refused as unknown before."""
    assert bot_settings(["trade", "--sd-notify"]).internals.sd_notify is True
    assert bot_settings(["trade"]).internals.sd_notify is None
