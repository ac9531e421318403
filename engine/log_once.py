"""One log line per condition, however often it recurs."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Hashable


class LogOnce:
    """Logs each key once: a broken strategy or a stale pair fails every iteration, and one
    line about it is news while a thousand are noise. `forget(key)` re-arms a key once its
    condition has cleared. The memory is bounded, oldest keys first out."""

    def __init__(self, log: logging.Logger, maxsize: int = 2048) -> None:
        self._log = log
        self._seen: OrderedDict[Hashable, None] = OrderedDict()
        self._maxsize = maxsize

    def log(self, level: int, key: Hashable, msg: str, *args: object,
            exc_info: BaseException | None = None) -> bool:
        """Log `msg % args` at `level` unless `key` was logged already; True when logged."""
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self._maxsize:
            self._seen.popitem(last=False)
        self._log.log(level, msg, *args, exc_info=exc_info)
        return True

    def info(self, key: Hashable, msg: str, *args: object) -> bool:
        return self.log(logging.INFO, key, msg, *args)

    def warning(self, key: Hashable, msg: str, *args: object) -> bool:
        return self.log(logging.WARNING, key, msg, *args)

    def error(self, key: Hashable, msg: str, *args: object) -> bool:
        return self.log(logging.ERROR, key, msg, *args)

    def forget(self, key: Hashable) -> None:
        self._seen.pop(key, None)
