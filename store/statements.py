"""SQL statements compiled once, for the queries the engine runs on every candle.

peewee builds the SQL text of a query each time it runs it, walking the query's node tree.
For our small tables that costs five to twenty times what SQLite needs to answer: a backtest
spent most of its time there. Here peewee compiles a statement once per model (per set of
changed columns for an update, or per `Prepared` query) and SQLite runs it with new values.
Only SQLite takes these paths; another database goes through peewee as usual.

Saves and deletes of a model are also told to listeners (`on_write`): that is how the book of
open trades (`store/book.py`) and the kept pair locks follow what was written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any, Generic, TypeVar

from peewee import (
    CharField,
    Database,
    DatabaseProxy,
    Field,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    ModelSelect,
    SqliteDatabase,
    TextField,
)

M = TypeVar("M", bound=Model)


def _database(model: type[Model]) -> Database | None:
    """The model's SQLite database, or None when the fast paths must not be used."""
    database = model._meta.database
    if isinstance(database, DatabaseProxy):
        database = database.obj
    return database if isinstance(database, SqliteDatabase) else None


def _key(model: type[Model]) -> Field:
    key = model._meta.primary_key
    if not isinstance(key, Field):
        raise TypeError(f"{model.__name__} has no primary key; expected one for a fast save")
    return key


def _compile(database: Database, query: Any) -> tuple[str, list[Any]]:
    sql, params = database.get_sql_context().sql(query).query()
    return sql, list(params)


_UPDATES: dict[tuple[type[Model], frozenset[str]], tuple[str, tuple[Field, ...]]] = {}
_INSERTS: dict[type[Model], tuple[str, tuple[Field, ...]]] = {}


def _update_statement(model: type[Model], database: Database, names: frozenset[str]
                      ) -> tuple[str, tuple[Field, ...]]:
    """The UPDATE of the columns `names`, compiled once per set."""
    entry = (model, names)
    if entry not in _UPDATES:
        key = _key(model)
        fields = tuple(f for f in model._meta.sorted_fields if f is not key and f.name in names)
        query = model.update({f: None for f in fields}).where(key == key.db_value(0))
        _UPDATES[entry] = (_compile(database, query)[0], fields)
    return _UPDATES[entry]


def _insert_statement(model: type[Model], database: Database) -> tuple[str, tuple[Field, ...]]:
    if model not in _INSERTS:
        meta = model._meta
        fields = tuple(f for f in meta.sorted_fields
                       if not (meta.auto_increment and f is meta.primary_key))
        _INSERTS[model] = (_compile(database, model.insert({f: None for f in fields}))[0],
                           fields)
    return _INSERTS[model]


class WriteEvent(Enum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    FAILED = "failed"  # a save or delete raised: the database may not hold what the row does


_LISTENERS: dict[type[Model], list[Callable[[Any, WriteEvent], None]]] = {}


def on_write(model: type[Model], listener: Callable[[Any, WriteEvent], None]) -> None:
    """Call `listener(row, event)` after each save or instance delete of a `model` row."""
    _LISTENERS.setdefault(model, []).append(listener)


def _tell(row: Model, event: WriteEvent) -> None:
    for listener in _LISTENERS.get(type(row), ()):
        listener(row, event)


def assign(row: Model, **values: Any) -> bool:
    """Set the fields whose value differs, so that an unchanged one stays out of the next
    UPDATE (peewee marks a field changed on any assignment). True when one did differ."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


class CompiledModel(Model):
    """A model whose inserts and updates use statements compiled once, and whose saves and
    deletes are told to the listeners registered with `on_write`.

    An update writes the columns that changed (peewee's `only_save_dirty`, inherited by every
    subclass): a trailing stop moves a few columns every candle, and two objects of one row
    cannot undo each other's changes. Any other save (`only=`, a key given to an
    auto-increment table) goes through peewee's own `save`.
    """

    class Meta:
        only_save_dirty = True

    def save(self, force_insert: bool = False, only: Any = None) -> Any:
        created = force_insert or self._pk is None
        try:
            result = self._save(force_insert, only)
        except BaseException:
            _tell(self, WriteEvent.FAILED)
            raise
        _tell(self, WriteEvent.CREATED if created else WriteEvent.UPDATED)
        return result

    def delete_instance(self, recursive: bool = False, delete_nullable: bool = False) -> Any:
        try:
            result = super().delete_instance(recursive, delete_nullable)
        except BaseException:
            _tell(self, WriteEvent.FAILED)
            raise
        _tell(self, WriteEvent.DELETED)
        return result

    def _save(self, force_insert: bool, only: Any) -> Any:
        database = _database(type(self))
        if database is None or only is not None:
            return super().save(force_insert=force_insert, only=only)
        auto = self._meta.auto_increment
        if force_insert or self._pk is None:
            if (self._pk is None) != auto:
                return super().save(force_insert=force_insert, only=only)
            return self._insert(database)
        return self._update(database)

    def _insert(self, database: Database) -> int:
        sql, fields = _insert_statement(type(self), database)
        data = self.__data__
        cursor = database.execute_sql(sql, [f.db_value(data.get(f.name)) for f in fields])
        if self._meta.auto_increment:
            self._pk = cursor.lastrowid
        for field in fields:  # what was left out is NULL in the row now
            data.setdefault(field.name, None)
        self._dirty.clear()  # type: ignore[attr-defined]
        return 1

    def _update(self, database: Database) -> Any:
        dirty: set[str] = self._dirty  # type: ignore[attr-defined]
        key = _key(type(self))
        # peewee's own rule for such models: write what changed, nothing when nothing did.
        names = frozenset(dirty - {key.name})
        if not names:
            dirty.clear()
            return False
        sql, fields = _update_statement(type(self), database, names)
        data = self.__data__
        params = [f.db_value(data[f.name]) for f in fields] + [key.db_value(self._pk)]
        rows = database.execute_sql(sql, params).rowcount
        self._dirty.clear()  # type: ignore[attr-defined]
        return rows


class Prepared(Generic[M]):
    """A model query compiled by peewee once; each call runs it with new values.

    `build(*values)` must take `values` as the last parameters of its query, in order (the
    first call checks that it does). Datetimes are passed as the models store them.
    """

    def __init__(self, build: Callable[..., ModelSelect], to_db: Callable[[datetime], Any]
                 ) -> None:
        self._build = build
        self._to_db = to_db
        self._compiled: tuple[type[Model], str, list[Any]] | None = None
        self._columns: list[tuple[str, Callable[[Any], Any] | None]] | None = None

    def __call__(self, *values: Any) -> list[M]:
        stored = [self._to_db(v) if isinstance(v, datetime) else v for v in values]
        if self._compiled is None:
            query = self._build(*values)
            database = _database(query.model)
            if database is None:
                return list(query)  # type: ignore[arg-type]
            self._compiled = self._prepare(query, database, values, stored)
        model, sql, fixed = self._compiled
        database = _database(model)
        if database is None:
            return list(self._build(*values))  # type: ignore[arg-type]
        cursor = database.execute_sql(sql, [*fixed, *stored])
        if self._columns is None:
            self._columns = [_reader(model._meta.columns[column[0]])
                             for column in cursor.description]
        return [_instance(model, self._columns, row) for row in cursor.fetchall()]

    @staticmethod
    def _prepare(query: ModelSelect, database: Database, values: Sequence[Any],
                 stored: list[Any]) -> tuple[type[Model], str, list[Any]]:
        sql, params = _compile(database, query)
        fixed = params[:len(params) - len(stored)]
        if params[len(fixed):] != stored:
            raise ValueError(f"prepared query: {list(values)!r} are not its last parameters")
        return query.model, sql, fixed


# SQLite already returns these as the Python type the field holds.
_NATIVE = (CharField, TextField, FloatField, IntegerField, ForeignKeyField)


def _reader(field: Field) -> tuple[str, Callable[[Any], Any] | None]:
    return field.name, None if isinstance(field, _NATIVE) else field.python_value


def _instance(model: type[Model], columns: Sequence[tuple[str, Callable[[Any], Any] | None]],
              row: Sequence[Any]) -> Any:
    """The model object of one row, as peewee's cursor wrapper would build it."""
    instance = model(__no_default__=1)
    instance.__data__ = {name: value if read is None or value is None else read(value)
                         for (name, read), value in zip(columns, row, strict=True)}
    return instance
