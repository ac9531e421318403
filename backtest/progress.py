"""Progress bars for backtests and downloads, on a terminal only: a redirected or captured
stderr (a log file, a pipe, a test) gets no bar and no partial lines."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from tqdm import tqdm

# done, total, what is being worked on
Move = Callable[[int, int, str], None]


@contextmanager
def bar(description: str, unit: str) -> Iterator[Move | None]:
    """A bar to move to `done` of `total` with a note (the candle replayed, the pair fetched),
    drawn from the first move, when the total is known; None when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    shown: list[tqdm] = []

    def move(done: int, total: int, note: str) -> None:
        if not shown:
            shown.append(tqdm(desc=description, total=total, unit=unit, file=sys.stderr,
                              dynamic_ncols=True, leave=True))
        shown[0].set_postfix_str(note, refresh=False)
        shown[0].update(done - shown[0].n)

    try:
        yield move
    finally:
        for drawn in shown:
            drawn.close()


def backtest_progress(move: Move | None) -> Callable[[int, int, datetime], None] | None:
    """The backtest loop's progress callback (done, total, candle time) on a bar."""
    if move is None:
        return None

    def show(done: int, total: int, now: datetime) -> None:
        move(done, total, now.strftime("%Y-%m-%d %H:%M"))

    return show
