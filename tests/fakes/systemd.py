"""systemd's end of NOTIFY_SOCKET for tests: a bound unix datagram socket that collects what
the bot sends."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager


class FakeSystemd:
    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(30)

    def receive(self) -> list[str]:
        """The next message's assignments (waits for it, 30 s at most)."""
        return self.sock.recv(4096).decode().split("\n")

    def pending(self) -> list[list[str]]:
        """Every message already received, without waiting."""
        self.sock.setblocking(False)
        got = []
        try:
            while True:
                got.append(self.sock.recv(4096).decode().split("\n"))
        except BlockingIOError:
            return got
        finally:
            self.sock.settimeout(30)


@contextmanager
def abstract_systemd() -> Iterator[tuple[FakeSystemd, str]]:
    """A socket in the abstract namespace, and the NOTIFY_SOCKET value naming it ('@...')."""
    name = f"tradepilot-test-{os.getpid()}-{os.urandom(4).hex()}"
    fake = FakeSystemd("\0" + name)
    try:
        yield fake, "@" + name
    finally:
        fake.sock.close()
