"""tailwatch.history.exporters: day-partitioned Parquet/CSV with traffic's column names, read
back by DuckDB and pyarrow.dataset, and imported again unchanged."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from _history_data import ZURICH

from tailwatch.history.exporters import EXPORT_SCHEMA, export_positions
from tailwatch.history.importers import import_files
from tailwatch.store import open_store, to_columns
from tailwatch.store.base import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    s = open_store(str(tmp_path_factory.mktemp("export") / "h.duckdb"))
    import_files(s, [ZURICH], detect=False)
    return s


def _day(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d")


def test_hive_days_read_by_duckdb_and_pyarrow(tmp_path: Path, store: Store) -> None:
    out = tmp_path / "out"
    report = export_positions(store, out)
    stored = store.positions()
    days = sorted({_day(t) for t in stored.column("t").to_pylist()})
    assert sorted(p.name for p in out.iterdir()) == [f"day={d}" for d in days]
    assert report.rows == stored.num_rows and report.days == len(days)
    rows = duckdb.sql(
        f"SELECT day::VARCHAR AS day, count(*) AS n, "
        f"count(*) FILTER (WHERE strftime(timestamp AT TIME ZONE 'UTC', '%Y-%m-%d') "
        f"<> day::VARCHAR) AS wrong_day FROM read_parquet('{out}/**/*.parquet', "
        f"hive_partitioning = true) GROUP BY ALL ORDER BY day").fetchall()
    assert [r[0] for r in rows] == days
    assert sum(r[1] for r in rows) == stored.num_rows
    assert all(r[2] == 0 for r in rows)
    table = ds.dataset(out, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == stored.num_rows
    assert table.schema.remove(table.schema.get_field_index("day")) == EXPORT_SCHEMA


def test_values_follow_traffic_names_and_units(tmp_path: Path, store: Store) -> None:
    out = tmp_path / "out"
    export_positions(store, out, icao24="4b18b8")
    table = ds.dataset(out, format="parquet", partitioning="hive").to_table()
    mine = to_columns("positions", store.positions(icao24="4b18b8"))
    order = np.argsort(np.asarray(table.column("timestamp").cast(pa.int64())))
    assert set(table.column("icao24").to_pylist()) == {"4b18b8"}
    t = np.asarray(table.column("timestamp").cast(pa.int64()))[order] / 1e6
    assert np.allclose(t, mine["t"])
    for name, col in (("latitude", "lat"), ("longitude", "lon"), ("altitude", "altitude_ft"),
                      ("groundspeed", "gs_kt"), ("track", "track_deg"),
                      ("vertical_rate", "vrate_fpm")):
        got = np.asarray(table.column(name).to_numpy(zero_copy_only=False))[order]
        np.testing.assert_allclose(got, mine[col].astype(np.float64), equal_nan=True)
    onground = np.asarray(table.column("onground").to_numpy(zero_copy_only=False))[order]
    assert (onground == (mine["on_ground"] == 1)).all()
    assert set(table.column("callsign").to_pylist()) == {"EDW229"}


def test_time_window_and_csv(tmp_path: Path, store: Store) -> None:
    since, until = "2019-11-05T11:30:00Z", datetime(2019, 11, 5, 12, tzinfo=UTC)
    out = tmp_path / "csv"
    lo = datetime.fromisoformat(since).timestamp()
    report = export_positions(store, out, since=lo, until=until, fmt="csv")
    expected = store.positions(since=lo, until=until).num_rows
    assert expected > 0 and report.rows == expected
    assert [p.name for p in out.iterdir()] == ["day=2019-11-05"]
    n, lo_t, hi_t = duckdb.sql(
        f"SELECT count(*), epoch(min(timestamp)), epoch(max(timestamp)) FROM "
        f"read_csv('{out}/*/*.csv', hive_partitioning = true)").fetchall()[0]
    assert n == expected
    assert lo_t >= lo and hi_t < until.timestamp()
    # exporting again rewrites the same files: no duplicates
    export_positions(store, out, since=lo, until=until, fmt="csv")
    assert duckdb.sql(f"SELECT count(*) FROM read_csv('{out}/*/*.csv')").fetchall() == [(n,)]


def test_export_then_import_gives_the_same_positions(tmp_path: Path, store: Store) -> None:
    out = tmp_path / "out"
    export_positions(store, out)
    again = open_store(":memory:")
    report = import_files(again, [out], detect=False)
    assert report.positions_written == store.positions().num_rows
    a = to_columns("positions", store.positions())
    b = to_columns("positions", again.positions())
    for name in ("t", "icao24", "lat", "lon", "altitude_ft", "altitude_geom_ft", "gs_kt",
                 "track_deg", "vrate_fpm", "callsign", "squawk"):
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    # unknown ground state is exported as airborne (traffic's onground is a plain bool)
    assert ((a["on_ground"] == 1) == (b["on_ground"] == 1)).all()


def test_empty_store_exports_nothing(tmp_path: Path) -> None:
    empty = open_store(":memory:")
    report = export_positions(empty, tmp_path / "out")
    assert report.rows == 0 and not (tmp_path / "out").exists()


def test_traffic_reads_the_export(tmp_path: Path, store: Store) -> None:
    traffic_core = pytest.importorskip(
        "traffic.core", reason="traffic is not installed (2.13 needs pandas < 3)",
        exc_type=ImportError)
    out = tmp_path / "out"
    export_positions(store, out)
    import pandas as pd

    t = traffic_core.Traffic(pd.read_parquet(out))
    assert sorted(t.icao24) == sorted(set(store.positions().column("icao24").to_pylist()))
    assert t["4b18b8"].callsign == "EDW229"
