"""The switches the owner flips while the bot runs: the run state (running, paused, stopped)
and the runtime blacklist.

The engine reads them on every iteration; they change only through these methods, each of
which returns what it did. The owner hears of a new state from the reply to the command that
asked for it, once: no notification repeats it.
A /reload keeps both: the state the owner chose and the pairs they blacklisted in chat.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from engine.pairs import is_pattern, matches, pattern_problem
from engine.settings import Settings

logger = logging.getLogger(__name__)


class EngineState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class BlacklistChange:
    """The runtime blacklist after an addition, and the pairs refused as unknown."""

    blacklist: tuple[str, ...]
    refused: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KeptOnReload:
    """What a reload kept of the running bot: its run state and the pairs blacklisted in chat
    (beyond the new config's own blacklist)."""

    state: EngineState
    blacklisted: tuple[str, ...]


class RunState:
    def __init__(self, settings: Settings, markets: Callable[[], Mapping[str, object]]) -> None:
        self._markets = markets  # what the exchange trades, as it reloads them
        self._state = EngineState(settings.initial_state)
        self._added: list[str] = []  # blacklisted in chat, in the order they were added
        # Pair -> blacklisted, until the blacklist changes: each iteration asks of every pair
        # more than once, and a pattern is a regular expression.
        self._verdicts: dict[str, bool] = {}
        self._adopt(settings)

    def _adopt(self, settings: Settings) -> None:
        configured = list(settings.exchange.pair_blacklist)
        self._blacklist = configured + [p for p in self._added if p not in configured]
        self._whitelist = settings.exchange.pair_whitelist
        self._verdicts.clear()

    @property
    def state(self) -> EngineState:
        return self._state

    @property
    def blacklist(self) -> tuple[str, ...]:
        return tuple(self._blacklist)

    def change(self, state: EngineState) -> bool:
        """Switch to `state`; False when it already was."""
        if self._state is state:
            return False
        self._state = state
        logger.info("state -> %s", state.value)
        return True

    def pause_entries(self) -> None:
        """The engine's own pause when the exchange refuses its credentials: the alert that
        comes with it tells the owner, who resumes with /start."""
        self._state = EngineState.PAUSED

    def is_blacklisted(self, pair: str) -> bool:
        """Named by an entry of the blacklist: a pair, or a pattern such as BNB/.*."""
        verdict = self._verdicts.get(pair)
        if verdict is None:
            verdict = self._verdicts[pair] = matches(self._blacklist, pair)
        return verdict

    def add_to_blacklist(self, pairs: list[str]) -> BlacklistChange:
        """Blacklist the pairs that the whitelist or the exchange knows, and valid patterns
        (whatever they match, now or after a markets reload). One refused entry refuses the
        whole change: a command is checked whole before anything changes."""
        known = self._markets()
        refused = [p for p in pairs if pattern_problem(p) is not None or (
            not is_pattern(p) and p not in self._whitelist and p not in known)]
        if refused:
            return BlacklistChange(tuple(self._blacklist), tuple(refused))
        for pair in pairs:
            if pair not in self._blacklist:
                self._blacklist.append(pair)
                self._added.append(pair)
        self._verdicts.clear()
        return BlacklistChange(tuple(self._blacklist), tuple(refused))

    def remove_from_blacklist(self, pairs: list[str]) -> BlacklistChange:
        """Take pairs off the blacklist; those not on it are refused. A pair of the config's
        own blacklist comes back with the next /reload, as in Freqtrade."""
        refused = [p for p in pairs if p not in self._blacklist]
        if refused:
            return BlacklistChange(tuple(self._blacklist), tuple(refused))
        for pair in dict.fromkeys(pairs):
            self._blacklist.remove(pair)
            if pair in self._added:
                self._added.remove(pair)
        self._verdicts.clear()
        return BlacklistChange(tuple(self._blacklist), tuple(refused))

    def reload(self, settings: Settings) -> KeptOnReload:
        """Adopt a reloaded config's whitelist and blacklist, keeping the run state (its
        initial_state is for a start) and the pairs blacklisted in chat."""
        self._adopt(settings)
        kept = tuple(p for p in self._added if p not in settings.exchange.pair_blacklist)
        return KeptOnReload(self._state, kept)
