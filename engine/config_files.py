"""Config files read as Freqtrade reads them.

JSON with `//` and `/* */` comments and trailing commas (rapidjson's parse modes, the ones
Freqtrade uses); several files merged in the order given, a later file's values overriding an
earlier one's and objects merged key by key; each file's `add_config_files` read first
(relative to that file's folder) with the file's own values on top.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import rapidjson

from core.errors import ConfigError

PARSE_MODE = rapidjson.PM_COMMENTS | rapidjson.PM_TRAILING_COMMAS
INCLUDE_KEY = "add_config_files"
_OFFSET = re.compile(r"Parse error at offset (\d+): (.*)", re.DOTALL)


class _DuplicateKey(Exception):
    pass


class _UniqueKeys(dict[str, Any]):
    """JSON keeps the last of two equal keys; a config saying both "dry_run": true and false
    must not quietly pick one."""

    def __setitem__(self, key: str, value: Any) -> None:
        if key in self:
            raise _DuplicateKey(key)
        super().__setitem__(key, value)


class _Decoder(rapidjson.Decoder):
    def start_object(self) -> dict[str, Any]:
        return _UniqueKeys()


def read_json(path: Path) -> Any:
    """One file decoded; a syntax error names the file, line and column."""
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found; expected a JSON file "
                          "(copy config.example.json)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the file: {exc}") from None
    try:
        return _plain(_Decoder(parse_mode=PARSE_MODE)(text))
    except _DuplicateKey as exc:
        raise ConfigError(f"{exc.args[0]}: given twice in one object of {path}; expected "
                          "each key once") from None
    except rapidjson.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON {_where(text, str(exc))}") from None


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _where(text: str, message: str) -> str:
    """rapidjson reports a byte offset into the UTF-8 text; people read lines and columns."""
    found = _OFFSET.match(message)
    if found is None:
        return f"({message})"
    before = text.encode("utf-8")[:int(found[1])].decode("utf-8", errors="ignore")
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    return f"(line {line}, column {column}): {found[2].rstrip('.')}"


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`base` with `over` on top: objects merged key by key, anything else replaced."""
    merged = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def read_config_files(paths: Sequence[str]) -> dict[str, Any]:
    """The files merged in order, each with its included files under it."""
    merged: dict[str, Any] = {}
    for path in paths:
        merged = deep_merge(merged, _with_included(Path(path), ()))
    return merged


def _with_included(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    here = path.resolve()
    if here in chain:
        loop = " -> ".join(str(p) for p in (*chain, here))
        raise ConfigError(f"{INCLUDE_KEY}: the files include each other ({loop}); expected "
                          "no loop")
    raw = read_json(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a JSON object at the top level")
    included = raw.pop(INCLUDE_KEY, None)
    if included is None:
        return raw
    if not isinstance(included, list) or not all(isinstance(n, str) and n for n in included):
        raise ConfigError(f"{path}: {INCLUDE_KEY}: expected a list of file names, got "
                          f"{included!r}")
    base: dict[str, Any] = {}
    for name in included:
        base = deep_merge(base, _with_included(here.parent / name, (*chain, here)))
    return deep_merge(base, raw)
