"""One table's rows on one database: statements compiled once, and what each row last held.

peewee builds a query's SQL text each time it runs it, walking the query's node tree; for our
small rows that costs several times what the database needs to run the statement, and a
backtest writes rows on most candles. A `Table` compiles its INSERT, and one UPDATE per set of
changed columns, once, with the database's own SQL context (so the placeholders are that
database's, and where the database has RETURNING the INSERT returns the new key), then runs
them with new values.

It also records, for each row object it read or wrote, the column values it last read or
wrote for that object. An update sends only the columns that differ from the record: a moving
stop writes a few columns, not forty, and two objects of one row cannot undo each other's
changes. An object it holds no record of (built elsewhere, or from before `forget()`) is
written whole.

Given a `WriteBehind` (store/write_behind.py), it holds its writes there instead of running
them, gives new rows their keys itself, and flushes before it reads.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from itertools import compress
from operator import attrgetter, ne
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from peewee import Database, Field, ForeignKeyField, Model, ModelSelect, Query, fn

if TYPE_CHECKING:
    from store.write_behind import WriteBehind

M = TypeVar("M", bound=Model)
Values = tuple[Any, ...]


def _attribute(field: Field) -> str:
    """The attribute holding the column's value: a foreign key's raw id, not its row."""
    return str(field.object_id_name) if isinstance(field, ForeignKeyField) else str(field.name)


class Table(Generic[M]):
    def __init__(self, database: Database, model: type[M],
                 held: WriteBehind | None = None) -> None:
        meta = model._meta
        self.database = database
        self._held = held
        self._last_key: int | None = None  # the last key given, when writes are held
        self.model = model
        key = meta.primary_key
        if not isinstance(key, Field):
            raise TypeError(f"{model.__name__}: a Table needs a one-column primary key")
        self._key = key
        # Every column but the key, in the table's order: what a record holds.
        self._fields: tuple[Field, ...] = tuple(f for f in meta.sorted_fields if f is not key)
        self._names = tuple(_attribute(f) for f in self._fields)
        self._values: Callable[[M], Values] = attrgetter(*self._names)
        self._to_db = tuple(f.db_value for f in self._fields)
        self._indexes = range(len(self._fields))
        self._every = ((key, str(key.name)), *zip(self._fields, self._names, strict=True))
        self._generated = bool(meta.auto_increment)  # the database picks the key
        self._returning = self._generated and bool(database.returning_clause)
        columns = dict.fromkeys(self._fields)
        query = model.insert(columns if self._generated else {key: None, **columns})
        if self._returning:
            query = query.returning(key)
        self._insert_sql = self._sql(query)
        self._insert_keyed_sql = self._sql(model.insert({key: None, **columns}))
        self._updates: dict[tuple[int, ...], str] = {}
        self._records: dict[int, tuple[weakref.ref[M], Values]] = {}
        if held is not None:
            held.register(self)

    def _sql(self, query: Query) -> str:
        return str(self.database.get_sql_context().sql(query).query()[0])

    # --- reads -----------------------------------------------------------------------------

    def read(self, query: ModelSelect[M]) -> list[M]:
        """The rows of a query over every column of this table, recorded as read."""
        self.flush()
        rows: list[M] = list(query.execute(self.database))
        for row in rows:
            self._remember(row, self._values(row))
        return rows

    # --- writes ----------------------------------------------------------------------------

    def insert(self, row: M) -> None:
        values = self._values(row)
        if self._held is not None:
            self._hold_insert(self._held, row, values)
        else:
            params = [to_db(value) for to_db, value in zip(self._to_db, values, strict=True)]
            if not self._generated:
                params.insert(0, self._key.db_value(getattr(row, self._key.name)))
            cursor = self.database.execute_sql(self._insert_sql, params)
            if self._generated:
                setattr(row, self._key.name,
                        cursor.fetchone()[0] if self._returning else cursor.lastrowid)
        for name, value in zip(self._names, values, strict=True):
            if value is None:
                # NULL in the row now; set, it reads without the miss peewee's accessor makes
                # for a value never given (a backtest reads each trade's columns on each write).
                setattr(row, name, None)
        self._remember(row, values)

    def update(self, row: M) -> bool:
        """Write the columns that changed since the record; False when none did."""
        values = self._values(row)
        record = self.record(row)
        if record is None:
            changed = tuple(self._indexes)
        else:
            changed = tuple(compress(self._indexes, map(ne, values, record)))
            if not changed:
                return False
        if self._held is not None:
            self._held.hold(self, getattr(row, self._key.name), changed, values)
            self._remember(row, values)
            return True
        sql = self._update_sql(changed)
        to_db = self._to_db
        params = [to_db[i](values[i]) for i in changed]
        params.append(self._key.db_value(getattr(row, self._key.name)))
        self.database.execute_sql(sql, params)
        self._remember(row, values)
        return True

    def _update_sql(self, changed: tuple[int, ...]) -> str:
        """The UPDATE of these columns, compiled on first use."""
        sql = self._updates.get(changed)
        if sql is None:
            key = self._key
            sql = self._updates[changed] = self._sql(
                self.model.update({self._fields[i]: None for i in changed})
                .where(key == key.db_value(0)))
        return sql

    def delete(self, row: M) -> None:
        self.flush()
        key = self._key
        self.model.delete().where(key == getattr(row, key.name)).execute(self.database)
        self._records.pop(id(row), None)

    # --- held writes (store/write_behind.py) ------------------------------------------------

    def flush(self) -> None:
        """Write what is held (of every table sharing the WriteBehind): before a statement
        that reads or changes rows some other way."""
        if self._held is not None:
            self._held.flush()

    def _hold_insert(self, held: WriteBehind, row: M, values: Values) -> None:
        if self._generated:
            if self._last_key is None:
                held.flush()
                self._last_key = int(self.model.select(fn.MAX(self._key))
                                     .scalar(self.database) or 0)
            self._last_key += 1
            setattr(row, self._key.name, self._last_key)
        held.hold(self, getattr(row, self._key.name), None, values)

    def keys_rolled_back(self) -> None:
        """A transaction failed: the next key is the database's next one again, as live a
        rolled-back insert's key is given out again."""
        self._last_key = None

    def write_held(self, rows: dict[Any, tuple[bool, dict[int, Any]]]) -> None:
        """Write held rows: key -> (inserted since the last flush, column index -> value)."""
        to_db, key_to_db = self._to_db, self._key.db_value
        inserts = [[key_to_db(key), *(to_db[i](columns[i]) for i in self._indexes)]
                   for key, (inserted, columns) in rows.items() if inserted]
        updates: dict[tuple[int, ...], list[list[Any]]] = {}
        for key, (inserted, columns) in rows.items():
            if not inserted:
                changed = tuple(sorted(columns))
                updates.setdefault(changed, []).append(
                    [*(to_db[i](columns[i]) for i in changed), key_to_db(key)])
        cursor = self.database.cursor()
        if inserts:
            cursor.executemany(self._insert_keyed_sql, inserts)
        for changed, params in updates.items():
            cursor.executemany(self._update_sql(changed), params)

    # --- records ---------------------------------------------------------------------------

    def record(self, row: M) -> Values | None:
        """The values last read or written for this object, or None."""
        entry = self._records.get(id(row))
        return entry[1] if entry is not None and entry[0]() is row else None

    def copy(self, row: M) -> M:
        """Another object of the row, to change while `row` stays as it is; saved, it writes
        what differs from `row`'s record."""
        twin = self.model(**{name: getattr(row, name) for _, name in self._every})
        record = self.record(row)
        if record is not None:
            self._remember(twin, record)
        return twin

    def as_stored(self, row: M) -> None:
        """Make the row's values what reading it back would give (floats, UTC datetimes)."""
        for field, name in self._every:
            setattr(row, name, field.python_value(field.db_value(getattr(row, name))))

    def forget(self) -> None:
        """Drop every record: after a rollback they may name values the database lost."""
        self._records.clear()

    def _remember(self, row: M, values: Values) -> None:
        key = id(row)
        entry = self._records.get(key)
        if entry is not None and entry[0]() is row:
            self._records[key] = (entry[0], values)
            return
        records = self._records

        def drop(ref: weakref.ref[M]) -> None:
            # The object is gone; a new one may come to use its id.
            found = records.get(key)
            if found is not None and found[0] is ref:
                del records[key]

        records[key] = (weakref.ref(row, drop), values)
