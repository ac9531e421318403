"""The database refusing work for a while, as the project's StorageError.

The one place that reads SQLite's error messages: a file locked by another process (after the
busy timeout), a full disk, a read-only or vanished file. Any other database error is a bug and
passes unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from peewee import OperationalError

from core.errors import StorageError

_UNAVAILABLE = ("locked", "busy", "full", "disk i/o", "readonly", "unable to open")


@contextmanager
def storage_errors() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        if not any(marker in str(exc).lower() for marker in _UNAVAILABLE):
            raise
        raise StorageError(str(exc)) from exc
