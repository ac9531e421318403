"""The trade database's tables, as the project's layout names them. They live in
`store/models.py`, next to the store that reads and writes them (`store/store.py`)."""

from store.models import (
    ExitReason,
    KeyValue,
    Order,
    OrderSide,
    OrderStatus,
    OutboxMessage,
    PairLock,
    PaperOrder,
    Trade,
)

__all__ = [
    "ExitReason", "KeyValue", "Order", "OrderSide", "OrderStatus", "OutboxMessage", "PairLock",
    "PaperOrder", "Trade",
]
