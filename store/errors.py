"""The database refusing work for a while, as the project's StorageError.

The one place that reads the drivers' errors. SQLite's come as messages: a file locked by
another process (after the busy timeout), a full disk, a read-only or vanished file.
PostgreSQL's (psycopg 3, kept by peewee as the error's `orig`) carry an SQLSTATE: none when
the connection failed or was lost (server down, restarted, network cut), and the classes of
a server that cannot serve now (connection, shutdown, statement timeout, resources, locks,
a read-only standby). Any other database error is a bug and passes unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from peewee import InterfaceError, OperationalError, PeeweeException

from core.errors import StorageError

_UNAVAILABLE = ("locked", "busy", "full", "disk i/o", "readonly", "unable to open")
# 08 connection exception, 28 authorization (a password changed under a running bot),
# 40 serialization failure or deadlock, 53 insufficient resources (disk full, too many
# connections), 55 lock not available, 57 operator intervention (admin shutdown, crash
# shutdown, statement timeout, cannot connect now).
_SQLSTATE_CLASSES = ("08", "28", "40", "53", "55", "57")
_READ_ONLY = "25006"  # a standby after a fail-over


def is_outage(exc: PeeweeException) -> bool:
    """Whether the error means "the database cannot serve now" rather than a bug."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    original = getattr(exc, "orig", None)
    while isinstance(original, PeeweeException):  # wrapped again on its way up (connect)
        original = getattr(original, "orig", None)
    if original is not None and hasattr(original, "sqlstate"):
        state = original.sqlstate
        return state is None or state[:2] in _SQLSTATE_CLASSES or state == _READ_ONLY
    return isinstance(exc, OperationalError) \
        and any(marker in str(exc).lower() for marker in _UNAVAILABLE)


@contextmanager
def storage_errors() -> Iterator[None]:
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        if not is_outage(exc):
            raise
        raise StorageError(" ".join(str(exc).split())) from exc
