"""Fixtures of the history tests: OpenSky and traffic files made from the real traffic
trajectories in tests/data, and readsb traces written from the format's description
(/work/shared/reference/formats.md §3.4)."""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

DATA = Path(__file__).parent.parent / "data"
LANDING = DATA / "traffic_noisy_landing.json.gz"
ZURICH = DATA / "traffic_zurich_airport.json.gz"

FT = 0.3048
KT = 1852.0 / 3600.0


@functools.lru_cache(maxsize=4)
def records(path: Path) -> list[dict[str, Any]]:
    """The trajectory's records (cached: do not modify them)."""
    with gzip.open(path, "rt") as fh:
        data = json.load(fh)
    assert isinstance(data, list)
    return data


@functools.lru_cache(maxsize=4)
def traffic_table(path: Path) -> pa.Table:
    """A traffic trajectory as traffic keeps it: timestamp as a UTC datetime column."""
    recs = records(path)
    table = pa.Table.from_pylist(recs)
    ts = pa.array([r["timestamp"] for r in recs], pa.int64()).cast(pa.timestamp("ms", tz="UTC"))
    table = table.set_column(table.column_names.index("timestamp"), "timestamp", ts)
    if "last_position" in table.column_names:
        lp = pa.array([r.get("last_position") for r in recs], pa.int64()).cast(
            pa.timestamp("ms", tz="UTC"))
        table = table.set_column(table.column_names.index("last_position"), "last_position", lp)
    return table


def write_traffic(path: Path, src: Path, limit: int | None = None) -> pa.Table:
    table = traffic_table(src)
    if limit is not None:
        table = table.slice(0, limit)
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    else:
        pacsv.write_csv(table, path)  # timestamps as ISO 8601 with Z
    return table


def opensky_table(src: Path) -> pa.Table:
    """state_vectors_data4 rows (SI units) from a traffic trajectory: the oracle is the
    trajectory itself, in feet and knots."""
    recs = records(src)

    def col(key: str) -> np.ndarray:
        return np.array([np.nan if r.get(key) is None else float(r[key]) for r in recs])

    time_s = (col("timestamp") / 1000.0).astype(np.int64)
    return pa.table({
        "time": time_s,
        "icao24": [r["icao24"] for r in recs],
        "lat": col("latitude"),
        "lon": col("longitude"),
        "velocity": col("groundspeed") * KT,
        "heading": col("track"),
        "vertrate": col("vertical_rate") * FT / 60.0,
        "callsign": [(r.get("callsign") or "").ljust(8) for r in recs],
        "onground": [bool(r.get("onground", False)) for r in recs],
        "alert": [False] * len(recs),
        "spi": [False] * len(recs),
        "squawk": [None] * len(recs),
        "baroaltitude": col("altitude") * FT,
        "geoaltitude": col("geoaltitude") * FT,
        "lastposupdate": col("last_position") / 1000.0,
        "lastcontact": col("timestamp") / 1000.0,
    })


def write_opensky_csv(path: Path, src: Path) -> pa.Table:
    table = opensky_table(src)
    if path.name.endswith(".gz"):
        with gzip.open(path, "wb") as fh:
            pacsv.write_csv(table, fh)
    else:
        pacsv.write_csv(table, path)
    return table


# --- readsb traces -------------------------------------------------------------------------

#: 2019-03-23 00:00:00 UTC
TRACE_BASE = 1553299200.0


def trace_doc(icao: str = "1551e0") -> dict[str, Any]:
    """An Il-62 taxiing out and climbing away, in readsb's trace form: rows of 8 fields (the
    short form) and of 14, a new leg, a geometric altitude, callsign and squawk in detail
    objects."""
    rows: list[list[Any]] = [
        # dt, lat, lon, alt, gs, track, flags, vrate, details, type, alt_geom, geom_rate, ias, roll
        [0.0, 55.8800, 38.0600, "ground", 12.0, 90.0, 0, None,
         {"flight": "RSD090  ", "squawk": "7700", "category": "A5"}, "adsb_icao", None, None,
         None, None],
        [5.5, 55.8801, 38.0610, "ground", 14.0, 90.0, 0, None],
        [20.0, 55.8802, 38.0700, 250, 150.0, 91.0, 0, 1800, None, "adsb_icao", 300, 1850, 145,
         0.0],
        [40.0, 55.8810, 38.0900, 1200, 180.0, 92.0, 4, 2000, None, "adsb_icao", 1300, 2000,
         175, 1.5],
        [60.0, 55.8820, 38.1100, 2400, 200.0, 92.0, 8, 2100],  # a geometric altitude
        [900.0, 55.9500, 39.5000, 30000, 450.0, 100.0, 1, 0, None, "mlat", None, None, None,
         None],  # stale
        [4000.0, 45.0000, 42.0000, 34000, 470.0, 170.0, 2, 0, None, "adsb_icao", 34400, 0,
         None, None],  # a new leg: callsign and squawk not carried over
        [4010.0, 44.9700, 42.0050, 34000, 470.0, 170.0, 0, 0,
         {"flight": "RSD091", "squawk": "2000"}],
        [4020.0, 44.9400, 42.0100, 34000, 470.0, 170.0, 0, 0, None],
        [4030.0, None, None, 34000, 470.0, 170.0, 0, 0, None],  # no position
    ]
    return {"icao": icao, "r": "RA-86496", "t": "IL62", "dbFlags": 1,
            "desc": "ILYUSHIN Il-62", "timestamp": TRACE_BASE, "trace": rows}


def write_trace(path: Path, doc: dict[str, Any], *, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(doc).encode()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


TAR1090_ROWS = (
    "1551e0;RA-86496;IL62;10;ILYUSHIN Il-62;;;\n"
    "154073;RA-82035;A124;11;ANTONOV An-124 Ruslan;;;\n"
)
