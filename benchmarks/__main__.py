"""Run every benchmark: each `benchmarks/bench_*.py` module's `main()`, in name order.

`python -m benchmarks` runs them all; `python -m benchmarks data_refresh` only the modules whose
name contains one of the given words.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(filters: list[str]) -> None:
    names = sorted(
        info.name
        for info in pkgutil.iter_modules([str(Path(__file__).parent)])
        if info.name.startswith("bench_")
    )
    for name in names:
        if filters and not any(word in name for word in filters):
            continue
        print(f"== {name}", flush=True)
        importlib.import_module(f"benchmarks.{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
