"""Position columns for the detectors: normalising inputs, slicing, and a loader for imported
trajectories (traffic/OpenSky-style records).

The detectors read the columns of :data:`tailwatch.core.schema.POSITION_FIELDS`; an optional
``emergency`` column (int8 codes of ``EMERGENCY_LABELS``, the ADS-B emergency/priority status)
is used when present.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from tailwatch.core.errors import FormatError
from tailwatch.core.schema import POSITION_FIELDS, SOURCE_LABELS, empty_columns
from tailwatch.detect.hygiene import time_unit_problem

Columns = dict[str, np.ndarray]

REQUIRED = ("t", "icao24", "lat", "lon")
_BY_NAME = {f.name: f for f in POSITION_FIELDS}


def as_columns(positions: Any) -> Columns:
    """Position columns from a ``PositionBatch``, a mapping of arrays or an Arrow table
    (:func:`from_arrow`).

    Missing optional columns are filled with their null value; dtypes follow
    ``POSITION_FIELDS``. Raises ``ValueError`` when t, icao24, lat or lon is missing.
    """
    src: Mapping[str, Any]
    if isinstance(positions, pa.Table):
        src = from_arrow(positions)
    elif hasattr(positions, "columns") and isinstance(positions.columns, Mapping):
        src = positions.columns
    elif isinstance(positions, Mapping):
        src = positions
    else:
        raise TypeError(f"cannot read positions from {type(positions).__name__}")
    missing = [k for k in REQUIRED if k not in src]
    if missing:
        raise ValueError(f"positions lack the columns {missing}")
    n = int(np.asarray(src["t"]).shape[0])
    cols = empty_columns(POSITION_FIELDS, n)
    for name, f in _BY_NAME.items():
        if name in src:
            cols[name] = np.asarray(src[name]).astype(f.dtype, copy=False)
    if "emergency" in src:
        cols["emergency"] = np.asarray(src["emergency"]).astype(np.int8, copy=False)
    return cols


def from_arrow(table: pa.Table) -> Columns:
    """Position columns of an Arrow table, in the storage form (``Store.positions()``: hex
    addresses, 4-digit squawks, labels, timestamps) or the ``to_arrow()`` form."""
    from tailwatch.store.base import to_arrow, to_columns

    return to_columns("positions", to_arrow("positions", table))


def take(cols: Mapping[str, np.ndarray], idx: np.ndarray | slice) -> Columns:
    """Rows ``idx`` of every column."""
    return {k: v[idx] for k, v in cols.items()}


def concat(parts: Sequence[Mapping[str, np.ndarray]]) -> Columns:
    """Rows of several column sets with the same keys, one after the other."""
    parts = [p for p in parts if p and len(next(iter(p.values())))]
    if not parts:
        return {}
    if len(parts) == 1:
        return dict(parts[0])
    keys = parts[0].keys()
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


def n_rows(cols: Mapping[str, np.ndarray]) -> int:
    return int(cols["t"].shape[0]) if cols else 0


def sort_by_aircraft(cols: Columns) -> tuple[Columns, np.ndarray, np.ndarray]:
    """Rows sorted by (icao24, t) (stable) and the start/stop row of each aircraft."""
    n = n_rows(cols)
    if n == 0:
        return cols, np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.lexsort((cols["t"], cols["icao24"]))
    s = take(cols, order)
    a = s["icao24"]
    starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
    stops = np.r_[starts[1:], n]
    return s, starts.astype(np.int64), stops.astype(np.int64)


def from_traffic_records(records: Iterable[Mapping[str, Any]] | Mapping[str, Any]) -> Columns:
    """Position columns from traffic/OpenSky-style trajectories.

    ``records`` is a list of dicts, or pandas' ``to_json(orient="columns")`` form (a dict of
    ``{column: {row: value}}``). Fields: ``timestamp`` (ms or s), ``last_position`` (ms or s,
    the time of the position: used as ``t`` when present), ``icao24`` (hex), ``latitude``,
    ``longitude``, ``altitude`` (baro ft), ``geoaltitude``, ``groundspeed``, ``track``,
    ``vertical_rate``, ``onground``, ``callsign``, ``squawk``. A state vector repeated with an
    unchanged ``last_position`` is one position: the last state of that position is kept.
    Rows without a position are dropped. The result is sorted by (icao24, t). Times in an
    implausible unit (microseconds, or seconds / 1000: everything in January 1970) raise
    :class:`~tailwatch.core.errors.FormatError` naming the problem, instead of most rows being
    merged as repeats.
    """
    if isinstance(records, Mapping):
        keys = list(records.keys())
        rows = sorted({r for k in keys for r in records[k]}, key=_row_key)
        recs: list[Mapping[str, Any]] = [
            {k: records[k].get(r) for k in keys} for r in rows
        ]
    else:
        recs = list(records)
    n = len(recs)

    def num(key: str) -> np.ndarray:
        return np.array([_num(r.get(key)) for r in recs], dtype=np.float64)

    ts = num("timestamp")
    lp = num("last_position")
    t = np.where(np.isfinite(lp), lp, ts)
    t = np.where((t > 1e11) & (t < 1e14), t / 1000.0, t)  # milliseconds
    if problem := time_unit_problem(t):
        raise FormatError(f"trajectory records: {problem}")
    cols = empty_columns(POSITION_FIELDS, n)
    cols["t"] = t
    cols["icao24"] = np.array([int(str(r.get("icao24") or "0"), 16) for r in recs], np.uint32)
    cols["lat"] = num("latitude")
    cols["lon"] = num("longitude")
    cols["altitude_ft"] = num("altitude").astype(np.float32)
    cols["altitude_geom_ft"] = num("geoaltitude").astype(np.float32)
    cols["gs_kt"] = num("groundspeed").astype(np.float32)
    cols["track_deg"] = num("track").astype(np.float32)
    cols["vrate_fpm"] = num("vertical_rate").astype(np.float32)
    og = [r.get("onground") for r in recs]
    cols["on_ground"] = np.array([-1 if v is None else int(bool(v)) for v in og], np.int8)
    cols["callsign"] = np.array(
        [str(r.get("callsign") or "").strip().encode()[:8] for r in recs], dtype="S8"
    )
    cols["squawk"] = np.array([_squawk(r.get("squawk")) for r in recs], np.int16)
    cols["source"] = np.full(n, SOURCE_LABELS.index("import"), np.int8)
    keep = np.isfinite(cols["t"]) & np.isfinite(cols["lat"]) & np.isfinite(cols["lon"])
    cols = take(cols, keep)
    s, _, _ = sort_by_aircraft(cols)
    # one row per (icao24, t): the last state of a repeated position
    if n_rows(s) > 1:
        same = (s["icao24"][1:] == s["icao24"][:-1]) & (s["t"][1:] == s["t"][:-1])
        s = take(s, np.r_[~same, True])
    return s


def _row_key(r: Any) -> Any:
    try:
        return (0, int(r))
    except (TypeError, ValueError):
        return (1, str(r))


def _num(v: Any) -> float:
    if v is None or v == "":
        return float("nan")
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _squawk(v: Any) -> int:
    if v is None or v == "":
        return -1
    try:
        code = int(str(v))
    except ValueError:
        return -1
    return code if 0 <= code <= 7777 else -1


class Buffer:
    """Growable columns: appends are amortised O(1) (capacity doubles), rows are dropped
    from the front by one move. ``cols`` are views of the filled part (writable).

    ``grow_limit_rows`` (0: none): the owner keeps about this many rows at most (it drops
    the front), so the capacity stops doubling there: it grows to the rows needed plus an
    eighth instead, and a buffer whose rows fell far below its capacity is reallocated at
    :meth:`drop_front`. Memory then stays near the rows kept, not twice them."""

    __slots__ = ("_cap", "_cols", "_n", "_view", "grow_limit_rows")

    def __init__(self, grow_limit_rows: int = 0) -> None:
        self._cols: dict[str, np.ndarray] = {}
        self._n = 0
        self._cap = 0
        self._view: Columns = {}
        self.grow_limit_rows = grow_limit_rows

    @property
    def capacity(self) -> int:
        return self._cap

    def __len__(self) -> int:
        return self._n

    @property
    def cols(self) -> Columns:
        return self._view

    def append(self, new: Mapping[str, np.ndarray]) -> None:
        m = n_rows(new)
        if m == 0:
            return
        need = self._n + m
        if need > self._cap or not self._cols:
            cap = max(need, 2 * self._cap, 64)
            if self.grow_limit_rows and cap > self.grow_limit_rows:
                cap = max(self.grow_limit_rows, need + need // 8)
            grown = {}
            for k, v in new.items():
                arr = np.empty(cap, dtype=v.dtype)
                if k in self._cols:
                    arr[: self._n] = self._cols[k][: self._n]
                grown[k] = arr
            self._cols, self._cap = grown, cap
        for k, v in new.items():
            self._cols[k][self._n : need] = v
        self._n = need
        self._view = {k: v[:need] for k, v in self._cols.items()}

    def drop_front(self, k: int) -> None:
        if k <= 0:
            return
        k = min(k, self._n)
        rest = self._n - k
        if self.grow_limit_rows and self._cap > max(2 * rest, self.grow_limit_rows) + 64:
            cap = max(rest + rest // 8, 64)  # far too big now: give the memory back
            self._cols = {key: _moved(v[k : self._n], cap) for key, v in self._cols.items()}
            self._cap = cap
        else:
            for v in self._cols.values():
                v[:rest] = v[k : self._n]
        self._n = rest
        self._view = {key: v[:rest] for key, v in self._cols.items()}


def _moved(rows: np.ndarray, cap: int) -> np.ndarray:
    out = np.empty(cap, dtype=rows.dtype)
    out[: rows.shape[0]] = rows
    return out
