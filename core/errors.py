"""The one exception hierarchy of tradepilot.

Each branch tells the caller what to do, not what went wrong:
a ConfigError stops start-up, a CommandError is replied verbatim, a StrategyError skips
one pair for one iteration, and the ExchangeError branches say whether to retry,
reconcile, give up on one order, or call a human.
"""

from __future__ import annotations


class TradepilotError(Exception):
    """Base of every error the bot raises on purpose."""


class ConfigError(TradepilotError):
    """A bad setting. The message names the key and the expected form."""


class CommandError(TradepilotError):
    """A refusal a user should read ("no open trade with id 7"); replied verbatim."""


class StrategyError(TradepilotError):
    """User strategy code raised or returned something unusable."""


class StorageError(TradepilotError):
    """The database cannot be written (or read) right now: the file locked by another process,
    the disk full. Nothing is sent without its row, so the work waits for the next iteration."""


class InvalidTransition(TradepilotError):
    """An order status change that the transition table does not allow."""


class ExchangeError(TradepilotError):
    """Anything the exchange (or the network to it) refused or failed to do."""


class TemporaryError(ExchangeError):
    """Network trouble, rate limits, maintenance: try again later."""


class OrderStateUnknown(ExchangeError):
    """A create or cancel whose outcome is unknown; resolve by looking the order up."""


class OrderNotPlaced(ExchangeError):
    """A create that failed in transit and that the exchange confirms it never received:
    nothing is on the exchange, so placing it again is safe."""


class OrderRejected(ExchangeError):
    """The exchange refused this order (invalid, too small, not enough funds)."""


class InsufficientFunds(OrderRejected):
    """The exchange refused the order for lack of balance."""


class OrderNotFound(ExchangeError):
    """The exchange does not know the order (it may never have arrived)."""


class FatalExchangeError(ExchangeError):
    """Authentication or permission failures: a human is needed."""
