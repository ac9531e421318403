"""Writes held back for a database nobody else reads: a backtest's own in-memory SQLite.

Live, every write is a statement the database takes before the engine goes on: a crash may
come between any two steps, and the restart must find each order the engine knew of. A
backtest has no restart to survive, and its database is read only by the Store that writes it;
there each write of a row was still one statement, most of them a trade's moving stop, and
they were most of a backtest's database time. With a `WriteBehind`, the `Table`s of one
database hold their inserts and updates in one list, in order, and write them when something
reads the database (any read through the Store, which asks `flush()` first), when the list
is long, or at the end: each row once, with the last value of each column written, in batches.

What the engine sees does not change. Keys of new rows are given here in order, as the
database would give them: the next after the highest, read once and again after a rollback.
(After a rollback that read may give out again the key of a newest row deleted earlier, which
SQLite's AUTOINCREMENT would not: in a backtest only a trade's number can differ, never
what it did.) A transaction that fails takes back its own held writes, and its
flushed ones through the database's own rollback: a flush inside a transaction opens that
transaction (and the inner ones, as savepoints) in the database first, after writing what was
held before it began.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from peewee import Database

if TYPE_CHECKING:
    from store.rows import Table

# Held writes before a flush that nothing asked for: bounds the memory of a long backtest.
FLUSH_AFTER = 20_000


@dataclass(slots=True)
class _Level:
    """One open transaction: where its writes start, and its database transaction once a
    flush needed one."""

    mark: int
    atomic: AbstractContextManager[Any] | None = None


@dataclass(slots=True)
class WriteBehind:
    database: Database
    flush_after: int = FLUSH_AFTER
    # (table, key, changed column indexes or None for an insert, the row's values)
    _held: list[tuple[Table[Any], Any, tuple[int, ...] | None, tuple[Any, ...]]] = \
        field(default_factory=list)
    _tables: list[Table[Any]] = field(default_factory=list)
    _levels: list[_Level] = field(default_factory=list)

    def register(self, table: Table[Any]) -> None:
        """Tables flush in the order they registered: a row's parent table first."""
        self._tables.append(table)

    def hold(self, table: Table[Any], key: Any, changed: tuple[int, ...] | None,
             values: tuple[Any, ...]) -> None:
        self._held.append((table, key, changed, values))
        if len(self._held) >= self.flush_after and not self._levels:
            self.flush()

    def flush(self) -> None:
        """Write everything held, each row once. Inside a transaction, also open it (and
        the ones around it) in the database: whoever flushes is about to touch the database
        directly, and what it does there must roll back with the transaction."""
        if not self._levels:
            if self._held:
                with self.database.atomic():
                    self._write(self._held)
                self._held = []
            return
        # What was held before each transaction began is written outside it, and each
        # transaction's own writes inside it: a failure takes back exactly what it would live.
        start = 0
        for level in self._levels:
            self._write(self._held[start:level.mark])
            start = max(start, level.mark)
            if level.atomic is None:
                level.atomic = self.database.atomic()
                level.atomic.__enter__()
        self._write(self._held[start:])
        self._held = []
        for level in self._levels:
            level.mark = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        level = _Level(len(self._held))
        self._levels.append(level)
        try:
            yield
        except BaseException as exc:
            self._levels.pop()
            del self._held[level.mark:]
            if level.atomic is not None:
                level.atomic.__exit__(type(exc), exc, exc.__traceback__)
            for table in self._tables:
                table.keys_rolled_back()
            raise
        self._levels.pop()
        if level.atomic is not None:
            level.atomic.__exit__(None, None, None)

    def _write(self, held: list[tuple[Table[Any], Any, tuple[int, ...] | None,
                                      tuple[Any, ...]]]) -> None:
        merged: dict[int, dict[Any, tuple[bool, dict[int, Any]]]] = {}
        for table, key, changed, values in held:
            rows = merged.setdefault(id(table), {})
            inserted, columns = rows.get(key, (False, {}))
            if changed is None:
                inserted, columns = True, dict(enumerate(values))
            else:
                for index in changed:
                    columns[index] = values[index]
            rows[key] = (inserted, columns)
        for table in self._tables:
            written = merged.get(id(table))
            if written:
                table.write_held(written)
