"""The layout's rules: each top-level folder is a layer, and a layer imports only the layers
below it (docs/architecture.md draws the picture). ruff checks the third-party half of the
same rules with one `ruff.toml` per folder."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What each layer may import of ours, lowest first.
LAYERS: dict[str, set[str]] = {
    "core": set(),
    "store": {"core"},
    "marketdata": {"core"},
    "venues": {"core", "store", "marketdata"},
    "engine": {"core", "store", "marketdata", "venues"},
    "backtest": {"core", "store", "marketdata", "venues", "engine"},
    "handlers": {"core", "store", "engine"},
}
# The composition root picks the concrete classes: it alone may import every layer.
ROOTS = ("compose.py", "bot.py")
OURS = set(LAYERS) | {Path(r).stem for r in ROOTS} | {"models", "strategies"}
# Third-party packages that belong to one layer's job.
OWNED = {
    "ccxt": {"venues", "marketdata"},
    "telegram": {"handlers"},
    "peewee": {"store"},
    "playhouse": {"store"},
}
MAX_LINES = 450


def _imports(path: Path) -> set[str]:
    """Dotted names of every absolute import in the file, at any depth of the code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _tops(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _imports(path)}


def _modules(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


def _where(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_a_layer_imports_only_the_layers_below_it(layer: str) -> None:
    forbidden = OURS - LAYERS[layer] - {layer}
    offenders = {_where(p): sorted(_tops(p) & forbidden) for p in _modules(layer)
                 if _tops(p) & forbidden}
    assert offenders == {}


@pytest.mark.parametrize("package", sorted(OWNED))
def test_a_library_is_imported_only_by_the_layer_whose_job_it_is(package: str) -> None:
    allowed = OWNED[package]
    offenders = [_where(p) for layer in sorted(set(LAYERS) - allowed)
                 for p in _modules(layer) if package in _tops(p)]
    assert offenders == []


def test_the_engine_never_imports_its_command_api() -> None:
    """engine/control/ is the engine's face towards the chat; the engine does not know it."""
    inner = [p for p in _modules("engine") if "control" not in p.relative_to(ROOT).parts]
    offenders = [_where(p) for p in inner
                 if any(n == "engine.control" or n.startswith("engine.control.")
                        for n in _imports(p))]
    assert offenders == []


def test_nothing_imports_the_composition_root() -> None:
    roots = {Path(r).stem for r in ROOTS}
    offenders = [_where(p) for layer in LAYERS for p in _modules(layer) if _tops(p) & roots]
    assert offenders == []


def test_models_py_is_only_a_face_of_the_store() -> None:
    assert _tops(ROOT / "models.py") & OURS == {"store"}


def test_layers_hold_no_ccxt_free_helpers_written_twice() -> None:
    """The timeframe arithmetic and the candle frame each live in one module."""
    definitions: dict[str, list[str]] = {}
    for layer in LAYERS:
        for path in _modules(layer):
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                    definitions.setdefault(node.name, []).append(_where(path))
    twice = {name: where for name, where in definitions.items()
             if len(where) > 1 and ("timeframe" in name or "candles" in name)}
    assert twice == {}


def test_timeframe_arithmetic_lives_in_its_own_module() -> None:
    """Every reading of a timeframe string goes through marketdata/timeframe.py."""
    home = ROOT / "marketdata" / "timeframe.py"
    others = [p for layer in LAYERS for p in _modules(layer) if p != home]
    others += [ROOT / root for root in ROOTS]
    helpers = {_where(p): node.name for p in others
               for node in ast.parse(p.read_text(encoding="utf-8")).body
               if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
               and "timeframe" in node.name}
    ccxt_calls = [_where(p) for p in others
                  if any(helper in p.read_text(encoding="utf-8")
                         for helper in ("parse_timeframe", "round_timeframe"))]
    assert (helpers, ccxt_calls) == ({}, [])


def test_modules_stay_small() -> None:
    sizes = {_where(p): len(p.read_text(encoding="utf-8").splitlines())
             for layer in LAYERS for p in _modules(layer)}
    assert {where: n for where, n in sizes.items() if n > MAX_LINES} == {}
