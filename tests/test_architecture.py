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
    "hyperopt": {"core", "store", "marketdata", "venues", "engine", "backtest"},
    "handlers": {"core", "store", "engine"},
    # Only the composition root hands it to the loop; the loop knows it as a callback.
    "service": {"core"},
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
    "optuna": {"hyperopt"},
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


# peewee's query and write methods: outside store/ none may be called on our tables or rows.
QUERIES = frozenset({"select", "create", "get", "get_or_none", "get_by_id", "insert",
                     "insert_many", "update", "delete", "raw", "save", "delete_instance"})
ROW_WRITES = frozenset({"save", "delete_instance"})  # only a row has these: flagged on anything
TABLE_MODULES = ("store.models", "models")


def _table_names(tree: ast.Module) -> set[str]:
    """Names bound in the module to our table classes or to a module holding them."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            if node.module in TABLE_MODULES:
                names.update(a.asname or a.name for a in node.names)
            elif node.module == "store":
                names.update(a.asname or a.name for a in node.names if a.name == "models")
        elif isinstance(node, ast.Import):
            names.update(a.asname or a.name for a in node.names if a.name in TABLE_MODULES)
    return names


def _root(node: ast.expr) -> str | None:
    """The name an attribute chain starts from (`models` in `models.Trade.select`)."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _table_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    tables = _table_names(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method = node.func.attr
        on_table = method in QUERIES and _root(node.func.value) in tables
        if on_table or method in ROW_WRITES:
            found.append((node.lineno, f"{path.name}:{node.lineno} .{method}("))
    return [call for _, call in sorted(found)]


def test_only_the_store_queries_or_writes_our_tables() -> None:
    """Everything else asks the Store (or the paper exchange's PaperOrders)."""
    outside = [p for layer in sorted(set(LAYERS) - {"store"}) for p in _modules(layer)]
    outside += [ROOT / root for root in ROOTS] + [ROOT / "models.py"]
    outside += [p for folder in ("benchmarks", "strategies") for p in _modules(folder)]
    assert {_where(p): calls for p in outside if (calls := _table_calls(p))} == {}


def test_the_table_check_sees_queries_and_row_writes_but_not_dict_updates(
        tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from store import models\n"
        "from store.models import Trade as T\n"
        "T.select().where(T.is_open)\n"
        "models.PairLock.update(active=False).execute()\n"
        "trade.save()\n"
        "{}.update(a=1)\n"
        "settings.select('x')\n", encoding="utf-8")
    calls = [call.rsplit(":", 1)[1] for call in _table_calls(sample)]
    assert calls == ["3 .select(", "4 .update(", "5 .save("]


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
