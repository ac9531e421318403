"""Time as an injected dependency: the only place that reads the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)  # noqa: TID251 (the one reading of the wall clock)


class ManualClock:
    """A clock that moves only when told to: tests, backtests and the offline replay."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)


class ScaledClock:
    """Real time sped up by `speed`, starting at `start`: the offline demo replays history."""

    def __init__(self, start: datetime, speed: float, base: Clock | None = None) -> None:
        self._base = base or SystemClock()
        self._origin = self._base.now()
        self._start = start.astimezone(UTC)
        self._speed = speed

    def now(self) -> datetime:
        elapsed = self._base.now() - self._origin
        return self._start + elapsed * self._speed
