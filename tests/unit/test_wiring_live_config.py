"""Settings wired in by integrate-live: DuckDB's memory cap and the GNSS thresholds."""

from __future__ import annotations

from pathlib import Path

import pytest

from tailwatch.cli.history_cmd import open_db, store_memory_limit
from tailwatch.config import load_settings
from tailwatch.gnss.params import GnssParams


def _duckdb_memory_limit(path: Path) -> str:
    """DuckDB's own memory_limit in a store opened as run/replay/import open it."""
    store = open_db(str(path), must_exist=False)
    try:
        got: str = store._con.execute(  # type: ignore[attr-defined]
            "SELECT current_setting('memory_limit')").fetchone()[0]
    finally:
        store.close()
    return got


def test_duckdb_memory_limit_reaches_the_store(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[store]\nduckdb_memory_limit = "300MB"\n')
    monkeypatch.setenv("TAILWATCH_CONFIG", str(cfg))
    assert load_settings().store.duckdb_memory_limit == "300MB"
    assert store_memory_limit() == "300MB"
    got = _duckdb_memory_limit(tmp_path / "h.duckdb")
    # DuckDB reports the cap in its own units (300MB -> "286.1 MiB")
    assert "MiB" in got and 280 <= float(got.split()[0]) <= 300


def test_duckdb_memory_is_bounded_by_default(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB's own default (80 % of the RAM) is what a long live run filled: the store is
    capped unless the settings say otherwise (docs/sources.md, the soak)."""
    monkeypatch.setenv("TAILWATCH_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    assert store_memory_limit() == "2GB"
    got = _duckdb_memory_limit(tmp_path / "h.duckdb")
    assert "GiB" in got and 1.8 <= float(got.split()[0]) <= 2.0  # 2GB -> "1.8 GiB"


def test_gnss_section_from_file_and_environment(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("[gnss]\nbad_nic = 4\nresolutions = [4, 5]\n")
    monkeypatch.setenv("TAILWATCH_CONFIG", str(cfg))
    monkeypatch.setenv("TAILWATCH_GNSS__LOST_MIN_S", "90")
    g = load_settings().gnss
    assert isinstance(g, GnssParams)
    assert (g.bad_nic, g.resolutions, g.lost_min_s) == (4, (4, 5), 90.0)
    assert g.good_nic == GnssParams().good_nic
