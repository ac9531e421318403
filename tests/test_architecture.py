"""Layering rules that keep the engine testable and the chat layer thin."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_engine_never_imports_telegram() -> None:
    offenders = [p.name for p in _modules("engine") if "telegram" in _imports(p)]
    assert offenders == []


def test_handlers_never_import_models_ccxt_or_peewee() -> None:
    offenders = [
        (p.name, sorted(_imports(p) & {"models", "ccxt", "peewee", "playhouse"}))
        for p in _modules("handlers")
        if _imports(p) & {"models", "ccxt", "peewee", "playhouse"}
    ]
    assert offenders == []


def test_only_the_exchange_adapters_import_ccxt() -> None:
    allowed = {"exchange.py", "ccxt_exchange.py", "paper.py", "precision.py", "offline.py",
               "candles.py", "download.py", "market_data.py"}
    offenders = [p.name for p in _modules("engine") if "ccxt" in _imports(p)
                 and p.name not in allowed]
    assert offenders == []


def test_models_import_only_the_error_hierarchy_and_the_compiled_statements() -> None:
    project = {"engine", "handlers", "bot", "strategies"}
    lines = (ROOT / "models.py").read_text(encoding="utf-8").splitlines()
    assert _imports(ROOT / "models.py") & project == {"engine"}
    assert {line.split()[1] for line in lines if line.startswith("from engine")} == {
        "engine.errors", "engine.statements"}
    assert _imports(ROOT / "engine" / "statements.py") & project == set()


def test_engine_package_stays_small() -> None:
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in _modules("engine")}
    too_big = {name: n for name, n in sizes.items() if n > 450}
    assert too_big == {}
