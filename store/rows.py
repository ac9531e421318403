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
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from operator import attrgetter
from typing import Any, Generic, TypeVar

from peewee import Database, Field, ForeignKeyField, Model, ModelSelect, Query

M = TypeVar("M", bound=Model)
Values = tuple[Any, ...]


def _attribute(field: Field) -> str:
    """The attribute holding the column's value: a foreign key's raw id, not its row."""
    return str(field.object_id_name) if isinstance(field, ForeignKeyField) else str(field.name)


class Table(Generic[M]):
    def __init__(self, database: Database, model: type[M]) -> None:
        meta = model._meta
        self.database = database
        self.model = model
        self._fields: tuple[Field, ...] = tuple(meta.sorted_fields)
        self._names = tuple(_attribute(f) for f in self._fields)
        self._values: Callable[[M], Values] = attrgetter(*self._names)
        key = meta.primary_key
        if not isinstance(key, Field):
            raise TypeError(f"{model.__name__}: a Table needs a one-column primary key")
        self._key = key
        self._key_at = self._fields.index(self._key)
        self._generated = bool(meta.auto_increment)  # the database picks the key
        self._returning = self._generated and bool(database.returning_clause)
        self._columns = tuple(i for i in range(len(self._fields)) if i != self._key_at)
        self._inserted = self._columns if self._generated else tuple(range(len(self._fields)))
        query = model.insert({self._fields[i]: None for i in self._inserted})
        if self._returning:
            query = query.returning(self._key)
        self._insert_sql = self._sql(query)
        self._updates: dict[tuple[int, ...], str] = {}
        self._records: dict[int, tuple[weakref.ref[M], Values]] = {}

    def _sql(self, query: Query) -> str:
        return str(self.database.get_sql_context().sql(query).query()[0])

    # --- reads -----------------------------------------------------------------------------

    def read(self, query: ModelSelect[M]) -> list[M]:
        """The rows of a query over every column of this table, recorded as read."""
        rows: list[M] = list(query.execute(self.database))
        for row in rows:
            self._remember(row, self._values(row))
        return rows

    # --- writes ----------------------------------------------------------------------------

    def insert(self, row: M) -> None:
        values = self._values(row)
        fields = self._fields
        cursor = self.database.execute_sql(
            self._insert_sql, [fields[i].db_value(values[i]) for i in self._inserted])
        if self._generated:
            setattr(row, self._key.name,
                    cursor.fetchone()[0] if self._returning else cursor.lastrowid)
            values = self._values(row)
        self._remember(row, values)

    def update(self, row: M) -> bool:
        """Write the columns that changed since the record; False when none did."""
        values = self._values(row)
        record = self.record(row)
        if record is None:
            changed = self._columns
        elif values == record:
            return False
        else:
            changed = tuple(i for i in self._columns if values[i] != record[i])
            if not changed:
                return False
        sql = self._updates.get(changed)
        if sql is None:
            sql = self._updates[changed] = self._update_sql(changed)
        fields = self._fields
        params = [fields[i].db_value(values[i]) for i in changed]
        params.append(self._key.db_value(values[self._key_at]))
        self.database.execute_sql(sql, params)
        self._remember(row, values)
        return True

    def _update_sql(self, changed: tuple[int, ...]) -> str:
        key = self._key
        return self._sql(self.model.update({self._fields[i]: None for i in changed})
                         .where(key == key.db_value(0)))

    def delete(self, row: M) -> None:
        key = self._key
        self.model.delete().where(key == getattr(row, key.name)).execute(self.database)
        self._records.pop(id(row), None)

    # --- records ---------------------------------------------------------------------------

    def record(self, row: M) -> Values | None:
        """The values last read or written for this object, or None."""
        entry = self._records.get(id(row))
        return entry[1] if entry is not None and entry[0]() is row else None

    def copy(self, row: M) -> M:
        """Another object of the row, to change while `row` stays as it is; saved, it writes
        what differs from `row`'s record."""
        values = self._values(row)
        twin = self.model(**dict(zip(self._names, values, strict=True)))
        record = self.record(row)
        if record is not None:
            self._remember(twin, record)
        return twin

    def as_stored(self, row: M) -> None:
        """Make the row's values what reading it back would give (floats, UTC datetimes)."""
        for field, name in zip(self._fields, self._names, strict=True):
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
