"""Output of :class:`~tailwatch.detect.flights.FlightDetector`: flight rows as
``FLIGHT_FIELDS`` columns, merging the versions of a flight returned by several calls, event
columns of several calls in time order, and the rows that must be processed at once."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from tailwatch.core.schema import FLIGHT_FIELDS, empty_columns
from tailwatch.detect import events as ev
from tailwatch.detect.columns import Columns, concat, take
from tailwatch.detect.state import FlightState

__all__ = ["concat_events", "merge_flights", "n_rows_flights"]


def _urgent_rows(cols: Columns) -> npt.NDArray[np.bool_] | None:
    """Rows that must be processed at once (emergency squawk or status): their events are
    what alerts wait for."""
    out = None
    if "squawk" in cols:
        out = np.isin(np.asarray(cols["squawk"]), list(ev.EMERGENCY_SQUAWKS))
    if "emergency" in cols:
        em = np.asarray(cols["emergency"]) > 0
        out = em if out is None else out | em
    return out


def _flight_columns(flights: list[FlightState]) -> Columns:
    cols = empty_columns(FLIGHT_FIELDS, len(flights))
    rows = [f.row() for f in flights]
    for j, fld in enumerate(FLIGHT_FIELDS):
        values = [r[j] for r in rows]
        if fld.dtype == "object":
            arr = np.empty(len(values), dtype=object)
            arr[:] = values
            cols[fld.name] = arr
        else:
            cols[fld.name] = np.array(values, dtype=fld.dtype).reshape(-1)
    return cols


def merge_flights(parts: list[Columns]) -> Columns:
    """Flight columns of several calls, one row per flight_id (the last version)."""
    cols = concat([p for p in parts if n_rows_flights(p)])
    if not cols:
        return empty_columns(FLIGHT_FIELDS, 0) | {
            f.name: np.empty(0, dtype=object) for f in FLIGHT_FIELDS if f.dtype == "object"}
    ids = cols["flight_id"]
    last: dict[str, int] = {}
    for i, fid in enumerate(ids.tolist()):
        last[fid] = i
    idx = np.array(sorted(last.values()), dtype=np.int64)
    out = take(cols, idx)
    order = np.lexsort((out["icao24"], out["first_seen"]))
    return take(out, order)


def n_rows_flights(cols: Mapping[str, np.ndarray]) -> int:
    return int(cols["flight_id"].shape[0]) if cols else 0


def concat_events(parts: list[Columns]) -> Columns:
    cols = concat([p for p in parts if p and p["t"].shape[0]])
    if not cols:
        return ev.event_columns([])
    order = np.lexsort((cols["icao24"], cols["t"]))
    return take(cols, order)
