"""The owner's fault alerts: told once per episode, and once more when the episode ends."""

from __future__ import annotations

import logging

from engine import events
from engine.events import Notifier

logger = logging.getLogger(__name__)


class Alerts:
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self.last_error: str | None = None
        self._open: set[str] = set()

    def __contains__(self, key: str) -> bool:
        return key in self._open

    def tell(self, key: str, text: str) -> None:
        """Log `text`; tell the owner unless the episode `key` is already on."""
        self.last_error = text
        logger.warning("%s", text)
        if key not in self._open:
            self._open.add(key)
            self.notifier.notify(events.WarningNotice(text))

    def clear(self, key: str, text: str | None) -> None:
        """End the episode `key`, telling the owner `text` if it was on (None: quietly)."""
        if key not in self._open:
            return
        self._open.discard(key)
        if text is not None:
            logger.info("%s", text)
            self.notifier.notify(events.WarningNotice(text))
