"""DuckDB's memory can be capped (``open_store(url, memory_limit="300MB")``; ``run`` and
``replay`` take it from ``store.duckdb_memory_limit`` once that setting exists)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tailwatch.core.errors import StoreError
from tailwatch.store import open_store


def _limit(store: object) -> str:
    return str(store.query("SELECT current_setting('memory_limit') AS m")  # type: ignore[attr-defined]
               .to_pylist()[0]["m"])


def test_memory_limit_is_applied(tmp_path: Path) -> None:
    default = open_store(str(tmp_path / "a.duckdb"))
    try:
        unset = _limit(default)
    finally:
        default.close()
    capped = open_store(str(tmp_path / "b.duckdb"), memory_limit="300MB")
    try:
        assert _limit(capped) != unset and "MiB" in _limit(capped)
        assert 250 < float(_limit(capped).split()[0]) < 300
    finally:
        capped.close()


def test_a_bad_memory_limit_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        open_store(str(tmp_path / "c.duckdb"), memory_limit="lots")
