"""The loop's heartbeat: what the loop calls once the engine runs (`ready`), after every
iteration (`beat`) and at shutdown (`stopping`).

Each is told to systemd when it waits for the bot (`Type=notify`), written to the heartbeat
file when there is one (a container's health check reads it: `bot.py healthcheck`), and logged
every `internals.heartbeat_interval` seconds, as Freqtrade logs its heartbeat. A beat after
every iteration, whatever the iteration met: the watchdog asks whether the loop is alive, not
whether the exchange is; an exchange outage is the owner's news, a hung loop is systemd's.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path

from core.clock import Clock, SystemClock
from service.sd_notify import SdNotify, watchdog_seconds

logger = logging.getLogger(__name__)

# Where the bot writes its heartbeat, for a health check in another process to read (the
# Docker image sets it).
FILE_VARIABLE = "HEARTBEAT_FILE"

# A beat is overdue after this long without one, or three iterations' intervals if longer. An
# iteration through an exchange outage takes a few minutes at worst (each call retried with
# pauses after a timeout), so a hung loop is what this catches.
STALL_SECONDS = 300.0


def stall_limit(throttle_secs: float) -> timedelta:
    return timedelta(seconds=max(STALL_SECONDS, 3 * throttle_secs))


class Heartbeat:
    def __init__(self, *, notify: SdNotify | None, file: Path | None, stall: timedelta,
                 log_every: float, state: Callable[[], str], version: str,
                 clock: Clock | None = None) -> None:
        self.notify = notify
        self.file = file
        self.stall = stall
        self.log_every = timedelta(seconds=log_every)
        self.state = state
        self.version = version
        self.clock = clock or SystemClock()  # wall time, also in the demo's faster replay
        self._logged: datetime | None = None

    def ready(self) -> None:
        if self.notify is not None:
            self.notify.send("READY=1", f"STATUS=trading loop running, state {self.state()}")
        self._write()

    def beat(self) -> None:
        if self.notify is not None:
            self.notify.send("WATCHDOG=1")
        self._write()
        now = self.clock.now()
        if self.log_every and (self._logged is None or now - self._logged >= self.log_every):
            self._logged = now
            logger.info("heartbeat: pid %d, version %s, state %s", os.getpid(), self.version,
                        self.state())

    def stopping(self) -> None:
        if self.notify is not None:
            self.notify.send("STOPPING=1", "STATUS=shutting down")
        if self.file is not None:
            self.file.unlink(missing_ok=True)

    def _write(self) -> None:
        if self.file is None:
            return
        now = self.clock.now()
        beat = {"pid": os.getpid(), "at": now.isoformat(),
                "overdue_at": (now + self.stall).isoformat()}
        partial = self.file.with_name(self.file.name + ".partial")
        try:
            partial.write_text(json.dumps(beat), encoding="utf-8")
            partial.replace(self.file)  # a reader sees the old beat or the new one, whole
        except OSError as exc:
            logger.warning("could not write the heartbeat file %s: %s", self.file, exc)


def from_environment(environ: Mapping[str, str], *, sd_notify: bool | None,
                     throttle_secs: float, log_every: float, state: Callable[[], str],
                     version: str) -> Heartbeat:
    """The heartbeat for this process: systemd told when it started the bot as `Type=notify`
    (`internals.sd_notify` unset) or when the config says so, the file when `HEARTBEAT_FILE`
    names one."""
    socket_set = bool(environ.get("NOTIFY_SOCKET"))
    notify = SdNotify.from_environment(environ) if sd_notify is not False else None
    if sd_notify and not socket_set:
        logger.warning("internals.sd_notify is true, but NOTIFY_SOCKET is not set: the bot "
                       "was not started by systemd as Type=notify, and notifies nobody")
    if sd_notify is False and socket_set:
        logger.warning("internals.sd_notify is false, but systemd waits for the bot to say it "
                       "is ready (NOTIFY_SOCKET is set): the start will time out; remove the "
                       "key or set it to true")
    watchdog = watchdog_seconds(environ, os.getpid())
    if notify is not None and watchdog is not None and watchdog < 3 * throttle_secs:
        logger.warning("systemd's WatchdogSec (%.0f s) is shorter than three iterations "
                       "(internals.process_throttle_secs %.0f s): systemd will kill the bot "
                       "between heartbeats", watchdog, throttle_secs)
    file = environ.get(FILE_VARIABLE)
    return Heartbeat(notify=notify, file=Path(file) if file else None,
                     stall=stall_limit(throttle_secs), log_every=log_every, state=state,
                     version=version)


def check(file: Path, clock: Clock | None = None) -> tuple[bool, str]:
    """Whether the heartbeat in `file` is current, and one line saying why."""
    now = (clock or SystemClock()).now()
    try:
        beat = json.loads(file.read_text(encoding="utf-8"))
        age = (now - datetime.fromisoformat(beat["at"])).total_seconds()
        overdue = now > datetime.fromisoformat(beat["overdue_at"])
    except FileNotFoundError:
        return False, f"no heartbeat at {file}: the bot is not running, or not yet started"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return False, f"unreadable heartbeat {file}: {exc}"
    if overdue:
        return False, f"last heartbeat {age:.0f} s ago (pid {beat.get('pid')}): the loop is stuck"
    return True, f"last heartbeat {age:.0f} s ago (pid {beat.get('pid')})"
