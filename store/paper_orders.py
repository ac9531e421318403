"""The paper exchange's order table (`paper_orders`): what a real exchange would remember.

Only the paper exchange (`venues/paper.py`) writes it; each write is one statement, applied
whole or not at all, so it needs no transaction.
"""

from __future__ import annotations

from peewee import Database

from store.models import PaperOrder
from store.rows import Table
from store.write_behind import WriteBehind


class PaperOrders:
    def __init__(self, database: Database, held: WriteBehind | None = None) -> None:
        self._table = Table(database, PaperOrder, held)

    def all(self) -> list[PaperOrder]:
        """Every row, in the table's order."""
        return self._table.read(PaperOrder.select())

    def find(self, order_id: str) -> PaperOrder | None:
        found = self._table.read(PaperOrder.select().where(PaperOrder.id == order_id))
        return found[0] if found else None

    def add(self, row: PaperOrder) -> None:
        self._table.insert(row)

    def write(self, row: PaperOrder) -> None:
        """Write what changed since the row (or the one it was copied from) was read or
        written."""
        self._table.update(row)

    def copy(self, row: PaperOrder) -> PaperOrder:
        """A row to change while `row` stays what the table holds until the change commits."""
        return self._table.copy(row)

    def as_stored(self, row: PaperOrder) -> None:
        """Make the row what reading it back would give (floats, UTC datetimes from text)."""
        self._table.as_stored(row)
