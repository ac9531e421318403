"""systemd's notification protocol, its few lines written here rather than depended on.

A service of `Type=notify` finds the socket in `NOTIFY_SOCKET`: a unix datagram socket, either
a path or, with a leading '@', a name in the abstract namespace. Each message is one datagram
of newline-separated `KEY=VALUE` assignments. `WATCHDOG_USEC` is the watchdog's interval, and
`WATCHDOG_PID`, when set, the process it watches.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

logger = logging.getLogger(__name__)


def socket_address(value: str) -> str | None:
    """The address `NOTIFY_SOCKET` names, or None for one a unix datagram socket cannot
    reach (such as systemd's `vsock:` form)."""
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None


def watchdog_seconds(environ: Mapping[str, str], pid: int) -> float | None:
    """The watchdog interval systemd set for this process, None when there is none."""
    usec = environ.get("WATCHDOG_USEC", "")
    watched = environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (watched and watched != str(pid)):
        return None
    return int(usec) / 1_000_000


class SdNotify:
    """Sends notifications to one socket; a failed send is logged once and never raised: the
    bot trades on whether or not systemd hears it."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._failed = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> SdNotify | None:
        value = environ.get("NOTIFY_SOCKET", "")
        if not value:
            return None
        address = socket_address(value)
        if address is None:
            logger.warning("NOTIFY_SOCKET=%s is not a unix socket path or @name; systemd "
                           "will not hear from the bot", value)
            return None
        return cls(address)

    def send(self, *assignments: str) -> bool:
        message = "\n".join(assignments).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(message, self.address)
        except OSError as exc:
            if not self._failed:
                self._failed = True
                logger.warning("could not notify systemd (%s): %s", message.decode(), exc)
            return False
        if self._failed:
            self._failed = False
            logger.info("systemd hears the bot again")
        return True
