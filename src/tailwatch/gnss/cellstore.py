"""The ``gnss_cells`` table in both engines (DuckDB, ClickHouse/chdb), and the range query
behind ``tailwatch gnss`` and ``/api/gnss``.

The table's columns are ``core.schema.GNSS_CELL_FIELDS``; its key is (period, res, start, h3)
and a row written again for a key replaces the stored one (an hour flushed twice). It is
created on first use through the store's SQL interface, so a store that never ran the GNSS
aggregation has no such table. Reads over a range merge the hourly rows of each cell: the
aircraft are counted once (each row lists its aircraft), so a range of any length gives exact
counts.
"""

from __future__ import annotations

import contextlib
import json
import math
from typing import Any

import numpy as np

from tailwatch.core.errors import StoreError
from tailwatch.core.schema import GNSS_CELL_FIELDS, Field
from tailwatch.gnss.cells import LEVELS, empty_cells, level_of
from tailwatch.gnss.params import GnssParams
from tailwatch.store.base import Store

Columns = dict[str, np.ndarray]
TABLE = "gnss_cells"
KEY = ("period", "res", "start", "h3")
_CH = {"float32": "Float32", "float64": "Float64", "int8": "Int8", "int32": "Int32"}
_DUCK = {"float32": "FLOAT", "float64": "DOUBLE", "int8": "TINYINT", "int32": "INTEGER"}


def _is_time(f: Field) -> bool:
    return f.unit == "s" and f.kind == "float"


def _engine(store: Store) -> str:
    return str(getattr(store, "engine", "duckdb"))


def _table(store: Store) -> str:
    if _engine(store) == "clickhouse":
        return f"{store.database}.{TABLE}"  # type: ignore[attr-defined]
    return TABLE


def ddl(store: Store) -> str:
    """CREATE TABLE of gnss_cells for the store's engine."""
    cols = []
    ch = _engine(store) == "clickhouse"
    for f in GNSS_CELL_FIELDS:
        if _is_time(f):
            typ = "DateTime64(6, 'UTC')" if ch else "TIMESTAMP WITH TIME ZONE"
        elif f.dtype == "object":
            typ = "String" if ch else "VARCHAR"
        else:
            typ = _CH[f.dtype] if ch else _DUCK[f.dtype]
        cols.append(f"{f.name} {typ}" + ("" if ch else " NOT NULL"))
    body = ",\n  ".join(cols)
    if ch:
        return (f"CREATE TABLE IF NOT EXISTS {_table(store)} (\n  {body}\n)\n"
                f"ENGINE = ReplacingMergeTree ORDER BY ({', '.join(KEY)})")
    return f"CREATE TABLE IF NOT EXISTS {TABLE} (\n  {body},\n  PRIMARY KEY ({', '.join(KEY)})\n)"


def ensure_table(store: Store) -> None:
    store.query(ddl(store))


def _literal(f: Field, v: Any, ch: bool) -> str:
    if _is_time(f):
        return f"toDateTime64({float(v):.6f}, 6, 'UTC')" if ch else f"to_timestamp({float(v)})"
    if f.dtype == "object":
        return "'" + str(v).replace("\\", "\\\\").replace("'", "''") + "'"
    if f.kind == "float":
        x = float(v)
        return "NULL" if not math.isfinite(x) else repr(x)
    return str(int(v))


def write_cells(store: Store, cells: Columns, *, chunk_rows: int = 2000) -> int:
    """Store cell rows (columns of GNSS_CELL_FIELDS); rows of a stored key replace it."""
    n = len(cells["h3"])
    if not n:
        return 0
    ensure_table(store)
    ch = _engine(store) == "clickhouse"
    names = [f.name for f in GNSS_CELL_FIELDS]
    table = _table(store)
    columns = [cells[f.name].tolist() for f in GNSS_CELL_FIELDS]
    for lo in range(0, n, chunk_rows):
        hi = min(n, lo + chunk_rows)
        values = ",\n".join(
            "(" + ", ".join(_literal(f, columns[j][i], ch)
                            for j, f in enumerate(GNSS_CELL_FIELDS)) + ")"
            for i in range(lo, hi)
        )
        if ch:  # ReplacingMergeTree: the newest row of a key wins (reads use FINAL)
            store.query(f"INSERT INTO {table} ({', '.join(names)}) VALUES {values}")
        else:
            store.query(f"INSERT OR REPLACE INTO {table} ({', '.join(names)}) VALUES {values}")
    return n


def read_cells(store: Store, *, since: float, until: float, res: int,
               period: str = "hour", cell: str | None = None) -> Columns:
    """Stored rows of one resolution and period whose start is in [since, until) (of one
    cell when ``cell`` is given)."""
    if period not in ("hour", "day"):
        raise ValueError(f"period must be hour or day, not {period!r}")
    ch = _engine(store) == "clickhouse"
    with contextlib.suppress(StoreError):  # read-only without the table: the query says so
        ensure_table(store)
    start = "toUnixTimestamp64Micro(start) / 1e6" if ch else "epoch(start)"
    lo = f"toDateTime64({since:.6f}, 6, 'UTC')" if ch else f"to_timestamp({since})"
    hi = f"toDateTime64({until:.6f}, 6, 'UTC')" if ch else f"to_timestamp({until})"
    cols = ", ".join(f.name if f.name != "start" else f"{start} AS start"
                     for f in GNSS_CELL_FIELDS)
    final = " FINAL" if ch else ""
    sql = (f"SELECT {cols} FROM {_table(store)}{final} WHERE res = {int(res)} "
           f"AND period = '{period}' AND start >= {lo} AND start < {hi}"
           + (f" AND h3 = '{_hex(cell)}'" if cell is not None else "") + " ORDER BY h3, start")
    tab = store.query(sql)
    if not tab.num_rows:
        return empty_cells()
    out: Columns = {}
    for f in GNSS_CELL_FIELDS:
        arr = tab.column(f.name).to_numpy(zero_copy_only=False)
        out[f.name] = arr.astype(object) if f.dtype == "object" else arr.astype(f.dtype)
    return out


def merge_range(rows: Columns, params: GnssParams | None = None) -> list[dict[str, Any]]:
    """One record per cell over all the rows given (periods of one resolution): aircraft
    counted once, an aircraft degraded (spoofed) if it was in any period, worst values kept."""
    p = params or GnssParams()
    by_cell: dict[str, dict[str, Any]] = {}
    for i in range(len(rows["h3"])):
        h = str(rows["h3"][i])
        cell = by_cell.get(h)
        if cell is None:
            cell = by_cell[h] = {"h3": h, "lat": float(rows["lat"][i]),
                                 "lon": float(rows["lon"][i]), "res": int(rows["res"][i]),
                                 "aircraft_values": {}}
        known: dict[str, list[Any]] = cell["aircraft_values"]
        for icao, nic, nacp, deg, spf in json.loads(str(rows["details"][i])):
            old = known.get(icao)
            if old is None:
                known[icao] = [icao, nic, nacp, deg, spf]
            else:
                old[1] = _worst(old[1], nic)
                old[2] = _worst(old[2], nacp)
                old[3] = max(old[3], deg)
                old[4] = max(old[4], spf)
    out = []
    for cell in by_cell.values():
        values = sorted(cell.pop("aircraft_values").values(),
                        key=lambda r: (-r[4], -r[3], 99 if r[1] is None else r[1], r[0]))
        n = len(values)
        degraded = sum(r[3] for r in values)
        spoofed = sum(r[4] for r in values)
        level = level_of(np.array([n]), np.array([degraded]), np.array([spoofed]), p)[0]
        cell.update(aircraft=n, degraded=degraded, share=degraded / n if n else 0.0,
                    spoofed=spoofed, level=LEVELS[int(level)],
                    aircraft_list=[{"icao24": r[0], "worst_nic": r[1], "worst_nacp": r[2],
                                    "degraded": bool(r[3]), "spoofed": bool(r[4])}
                                   for r in values])
        out.append(cell)
    out.sort(key=lambda c: (-LEVELS.index(c["level"]), -c["share"], c["h3"]))
    return out


def _worst(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _hex(cell: str) -> str:
    if not all(c in "0123456789abcdef" for c in cell) or not 0 < len(cell) <= 16:
        raise ValueError(f"not an H3 cell: {cell!r}")
    return cell


def query_cells(store: Store, *, since: float, until: float, res: int = 4,
                params: GnssParams | None = None, cell: str | None = None
                ) -> list[dict[str, Any]]:
    """The cells of a time range at one resolution (3-6), merged over the hours."""
    if not 0 <= res <= 15:
        raise ValueError(f"res must be an H3 resolution, not {res}")
    if not until > since:
        raise ValueError("until must be after since")
    return merge_range(read_cells(store, since=since, until=until, res=res, cell=cell), params)


def stored_span(store: Store) -> tuple[float, float] | None:
    """(first start, last start + 1 h) of the stored hourly rows; None when there are none or
    the store has no gnss_cells table."""
    ch = _engine(store) == "clickhouse"
    start = "toUnixTimestamp64Micro(start) / 1e6" if ch else "epoch(start)"
    try:
        tab = store.query(f"SELECT min({start}) AS lo, max({start}) AS hi, count(*) AS n "
                          f"FROM {_table(store)} WHERE period = 'hour'")
    except StoreError:
        return None
    if not tab.num_rows or not int(tab.column("n")[0].as_py() or 0):
        return None
    return float(tab.column("lo")[0].as_py()), float(tab.column("hi")[0].as_py()) + 3600.0


def positions_span(store: Store) -> tuple[float, float] | None:
    """(first, last) position time in the store, None when it holds none."""
    ch = _engine(store) == "clickhouse"
    t = "toUnixTimestamp64Micro(t) / 1e6" if ch else "epoch(t)"
    table = f"{store.database}.positions" if ch else "positions"  # type: ignore[attr-defined]
    tab = store.query(f"SELECT min({t}) AS lo, max({t}) AS hi, count(*) AS n FROM {table}")
    if not tab.num_rows or not int(tab.column("n")[0].as_py() or 0):
        return None
    return float(tab.column("lo")[0].as_py()), float(tab.column("hi")[0].as_py())
