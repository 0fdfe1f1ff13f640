"""Writing a rules document back to a file: TOML (a small writer for the document's plain
structure), YAML or JSON, replaced atomically (temporary file, fsync, rename).

``load_rules(dump_rules(rs, fmt), format=fmt) == rs`` for every valid ruleset: values are
written in the form the loader reads (addresses as hex strings, squawks as 4 digits,
durations in seconds, times of day and dates as ISO strings). Comments of a hand-written
file are not kept.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml

from tailwatch.alert.rules import RuleSet
from tailwatch.core.errors import StoreError

__all__ = ["document", "dump_rules", "file_format", "to_toml", "write_atomic"]

Format = Literal["toml", "yaml", "json"]
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def file_format(path: Path) -> Format:
    """The format a rules file is written in, by its extension (TOML when unknown)."""
    ext = path.suffix.lower()
    if ext in (".yaml", ".yml"):
        return "yaml"
    return "json" if ext == ".json" else "toml"


def document(rs: RuleSet) -> dict[str, Any]:
    """The ruleset as plain data, as a rules file holds it (defaults and nulls left out)."""
    d: dict[str, Any] = rs.model_dump(mode="json", by_alias=True, exclude_none=True,
                                      exclude_defaults=True)  # fmt: skip
    # one rule always shows its id and condition, even where they equal a default
    d["rules"] = [
        {"id": r.id, **rd} if "id" not in rd else rd
        for r, rd in zip(rs.rules, d.get("rules", []), strict=True)
    ]
    if not d["rules"]:
        d.pop("rules")
    return d


def dump_rules(rs: RuleSet, fmt: Format = "toml") -> str:
    """The text of a rules file holding ``rs``."""
    data = document(rs)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        out: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
        return out
    return to_toml(data)


# --------------------------------------------------------------------------- TOML


def _toml_string(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif o < 0x20 or o == 0x7F:
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(ch, f"\\u{o:04x}"))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_key(k: str) -> str:
    return k if _BARE_KEY.match(k) else _toml_string(k)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _toml_string(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        items = [f"{_toml_key(str(k))} = {_toml_value(x)}" for k, x in v.items() if x is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)


def _toml_table(d: Mapping[str, Any], path: list[str], out: list[str], depth: int) -> None:
    """Plain values first, then sub-tables (``[a.b]``), then arrays of tables (``[[a]]``,
    at the top level only; deeper lists of mappings are written inline)."""
    tables, arrays = [], []
    for k, v in d.items():
        if v is None:
            continue
        if isinstance(v, Mapping) and v:
            tables.append((k, v))
        elif depth == 0 and _is_table_array(v):
            arrays.append((k, v))
        else:
            out.append(f"{_toml_key(k)} = {_toml_value(v)}")
    for k, v in tables:
        sub = [*path, _toml_key(k)]
        if any(x is not None and not (isinstance(x, Mapping) and x) for x in v.values()):
            out += ["", f"[{'.'.join(sub)}]"]  # else implied by its sub-tables' headers
        _toml_table(v, sub, out, depth + 1)
    for k, items in arrays:
        sub = [*path, _toml_key(k)]
        for item in items:
            out += ["", f"[[{'.'.join(sub)}]]"]
            _toml_table(item, sub, out, depth + 1)


def to_toml(data: Mapping[str, Any]) -> str:
    """TOML text of a mapping of plain values (str, int, float, bool, lists, mappings)."""
    out: list[str] = []
    _toml_table(data, [], out, 0)
    while out and out[0] == "":
        out.pop(0)
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- atomic write


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: a temporary file in the same directory (with the old
    file's permissions, else 0600: rules hold secrets) is written, synced and renamed over
    it, so a reader or a crash sees the old file or the new one, never a part."""
    path = Path(path)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o600
    except OSError as e:
        raise StoreError(f"cannot write the rules file {path}: {e}") from e
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = ""
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as e:
        raise StoreError(f"cannot write the rules file {path}: {e}") from e
    finally:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
