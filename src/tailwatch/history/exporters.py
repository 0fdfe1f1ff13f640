"""Stored positions → Parquet (or CSV) files partitioned by day, with traffic's column names.

``export_positions(store, out_dir)`` writes ``out_dir/day=YYYY-MM-DD/part-0.parquet`` (Hive
layout: DuckDB's ``read_parquet('out/**/*.parquet', hive_partitioning = true)`` and
``pyarrow.dataset.dataset(out, partitioning='hive')`` read the day back as a column), one day
at a time, rows ordered by (icao24, timestamp). Columns, as ``traffic`` names them:

=================  ===========================  =========================================
column             type                         from the store
=================  ===========================  =========================================
``timestamp``      timestamp[us, UTC]           ``t``
``icao24``         string (6 lowercase hex)     ``icao24``
``latitude``       float64 (deg)                ``lat``
``longitude``      float64 (deg)                ``lon``
``altitude``       float64 (ft, barometric)     ``altitude_ft``
``geoaltitude``    float64 (ft)                 ``altitude_geom_ft``
``groundspeed``    float64 (kt)                 ``gs_kt``
``track``          float64 (deg)                ``track_deg``
``vertical_rate``  float64 (ft/min)             ``vrate_fpm``
``callsign``       string                       ``callsign``
``squawk``         string (4 digits)            ``squawk``
``onground``       bool (false when unknown)    ``on_ground`` == ground
=================  ===========================  =========================================

Exporting again to the same directory rewrites the days it exports (same file names).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tailwatch.store.base import Store, TimeLike, icao_list, seconds

__all__ = ["EXPORT_SCHEMA", "ExportReport", "export_positions", "to_traffic"]

ExportFormat = Literal["parquet", "csv"]

EXPORT_SCHEMA = pa.schema([
    pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("icao24", pa.string(), nullable=False),
    pa.field("latitude", pa.float64()),
    pa.field("longitude", pa.float64()),
    pa.field("altitude", pa.float64()),
    pa.field("geoaltitude", pa.float64()),
    pa.field("groundspeed", pa.float64()),
    pa.field("track", pa.float64()),
    pa.field("vertical_rate", pa.float64()),
    pa.field("callsign", pa.string()),
    pa.field("squawk", pa.string()),
    pa.field("onground", pa.bool_()),
])

_RENAME = {
    "timestamp": "t", "icao24": "icao24", "latitude": "lat", "longitude": "lon",
    "altitude": "altitude_ft", "geoaltitude": "altitude_geom_ft", "groundspeed": "gs_kt",
    "track": "track_deg", "vertical_rate": "vrate_fpm", "callsign": "callsign",
    "squawk": "squawk",
}
_DAY = 86_400.0


def to_traffic(positions: pa.Table) -> pa.Table:
    """A positions table as the store returns it → :data:`EXPORT_SCHEMA`."""
    arrays = []
    for fld in EXPORT_SCHEMA:
        if fld.name == "onground":
            og = positions.column("on_ground")
            arrays.append(pc.fill_null(pc.equal(og, "ground"), False))
            continue
        col = positions.column(_RENAME[fld.name])
        arrays.append(col.cast(fld.type))
    return pa.Table.from_arrays(arrays, schema=EXPORT_SCHEMA)


@dataclass
class ExportReport:
    days: int = 0
    rows: int = 0
    files: list[Path] = field(default_factory=list)


def _span(store: Store, icao24: list[str] | None) -> tuple[float, float] | None:
    table = "positions"
    if getattr(store, "engine", "duckdb") == "clickhouse":
        table = f"{getattr(store, 'database', 'tailwatch')}.positions"
    where = ""
    if icao24:
        where = " WHERE icao24 IN (" + ", ".join(f"'{a}'" for a in icao24) + ")"
    out = store.query(f"SELECT min(t) AS lo, max(t) AS hi FROM {table}{where}")
    if not out.num_rows:
        return None
    lo, hi = out.column("lo")[0].as_py(), out.column("hi")[0].as_py()
    if lo is None or hi is None:
        return None
    # ClickHouse returns 1970-01-01 for min() over no rows
    if isinstance(lo, datetime) and lo.timestamp() <= 0 and hi.timestamp() <= 0:
        return None
    return seconds(lo), seconds(hi)


def export_positions(
    store: Store,
    out_dir: str | Path,
    *,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    icao24: str | int | Iterable[str | int] | None = None,
    fmt: ExportFormat = "parquet",
    progress: Callable[[str, int], None] | None = None,
) -> ExportReport:
    """Write the positions in [since, until) (of some aircraft) under ``out_dir``, one
    ``day=YYYY-MM-DD`` directory per UTC day that has positions."""
    addresses = icao_list(icao24) if icao24 is not None else None
    span = _span(store, addresses)
    report = ExportReport()
    if span is None:
        return report
    lo = max(span[0], seconds(since)) if since is not None else span[0]
    hi = min(span[1] + 1e-6, seconds(until)) if until is not None else span[1] + 1e-6
    if not lo < hi:
        return report
    out = Path(out_dir)
    day = math.floor(lo / _DAY) * _DAY
    while day < hi:
        start, end = max(day, lo), min(day + _DAY, hi)
        table = store.positions(icao24=addresses, since=start, until=end)
        if table.num_rows:
            data = to_traffic(table)
            stamp = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=day)).strftime(
                "%Y-%m-%d")
            folder = out / f"day={stamp}"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"part-0.{fmt}"
            tmp = folder / f".part-0.{fmt}.tmp"
            if fmt == "parquet":
                pq.write_table(data, tmp, compression="zstd")
            else:
                pacsv.write_csv(data, tmp)
            tmp.replace(path)
            report.days += 1
            report.rows += data.num_rows
            report.files.append(path)
            if progress is not None:
                progress(stamp, data.num_rows)
        day += _DAY
    return report
