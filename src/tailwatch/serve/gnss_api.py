"""``/api/gnss``: GNSS interference hexagons as GeoJSON (docs/gnss.md, docs/api.md).

``gnss_router(store_of)`` returns an ``APIRouter``; ``store_of()`` gives the history store (or
None: the answers are then empty). Mount it with ``create_app(..., routers=[gnss_router(...)])``.

* ``GET /api/gnss?since=&until=&res=4&level=``: a FeatureCollection, one hexagon Polygon per
  H3 cell with ``h3``, ``aircraft``, ``degraded``, ``share``, ``spoofed``, ``level``; the range
  merges the stored hours (each aircraft once per cell). ``level=low`` keeps the cells at low
  or high. Times: UNIX seconds or ISO 8601; default the 24 hours before ``until`` (default:
  the end of the stored hexagons).
* ``GET /api/gnss/cells/{h3}?since=&until=``: one cell with its aircraft and their values
  (worst NIC and NACp, degraded, spoofed): what the map lists on a click.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import h3
from fastapi import APIRouter, HTTPException, Query

from tailwatch.core.errors import StoreError
from tailwatch.gnss.cells import LEVELS
from tailwatch.gnss.cellstore import query_cells, stored_span
from tailwatch.gnss.params import GnssParams
from tailwatch.store.base import Store

MAX_WINDOW_S = 31 * 86400.0
DEFAULT_WINDOW_S = 86400.0


def _time(text: str | None, what: str) -> float | None:
    if text is None or text == "":
        return None
    try:
        v = float(text)
    except ValueError:
        try:
            d = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise HTTPException(400, f"{what}: not a time: {text!r} (UNIX seconds or "
                                     "ISO 8601)") from None
        if d.tzinfo is None:
            from datetime import UTC

            d = d.replace(tzinfo=UTC)
        v = d.timestamp()
    if not math.isfinite(v):
        raise HTTPException(400, f"{what}: not a time: {text!r}")
    return v


def _polygon(cell: str) -> list[list[list[float]]]:
    ring = [[round(lon, 6), round(lat, 6)] for lat, lon in h3.cell_to_boundary(cell)]
    # cells across the antimeridian: keep the ring continuous in longitude
    for i in range(1, len(ring)):
        while ring[i][0] - ring[i - 1][0] > 180:
            ring[i][0] -= 360
        while ring[i][0] - ring[i - 1][0] < -180:
            ring[i][0] += 360
    ring.append(list(ring[0]))
    return [ring]


def gnss_router(store_of: Callable[[], Store | None], *, params: GnssParams | None = None,
                lock: threading.Lock | None = None) -> APIRouter:
    """The /api/gnss routes over the store ``store_of()`` returns."""
    router = APIRouter(tags=["gnss"])
    guard = lock or threading.Lock()

    def _range(since: str | None, until: str | None, store: Store) -> tuple[float, float]:
        t1 = _time(until, "until")
        t0 = _time(since, "since")
        if t1 is None:
            with guard:
                span = stored_span(store)
            t1 = span[1] if span else datetime.now().timestamp()
        if t0 is None:
            t0 = t1 - DEFAULT_WINDOW_S
        if not t1 > t0:
            raise HTTPException(400, "until must be after since")
        if t1 - t0 > MAX_WINDOW_S:
            raise HTTPException(400, f"window longer than {MAX_WINDOW_S / 86400:.0f} days")
        return math.floor(t0 / 3600.0) * 3600.0, t1

    def _cells(since: float, until: float, res: int, store: Store, cell: str | None = None
               ) -> list[dict[str, Any]]:
        try:
            with guard:
                return query_cells(store, since=since, until=until, res=res, params=params,
                                   cell=cell)
        except StoreError as exc:
            if "gnss_cells" in str(exc):  # no hexagons computed in this store yet
                return []
            raise HTTPException(503, f"history store: {exc}") from exc

    @router.get("/api/gnss", summary="GNSS interference hexagons (GeoJSON)")
    def gnss(since: str | None = None, until: str | None = None,
             res: int = Query(4, ge=3, le=6, description="H3 resolution (3-6)"),
             level: str = Query("none", description="Lowest level kept: none, low or high"),
             ) -> dict[str, Any]:
        if level not in LEVELS:
            raise HTTPException(400, f"level must be one of {', '.join(LEVELS)}")
        store = store_of()
        features: list[dict[str, Any]] = []
        if store is None:
            return {"type": "FeatureCollection", "features": features}
        t0, t1 = _range(since, until, store)
        floor = LEVELS.index(level)
        for c in _cells(t0, t1, res, store):
            if LEVELS.index(c["level"]) < floor:
                continue
            features.append({
                "type": "Feature",
                "id": c["h3"],
                "geometry": {"type": "Polygon", "coordinates": _polygon(c["h3"])},
                "properties": {k: c[k] for k in ("h3", "aircraft", "degraded", "share",
                                                 "spoofed", "level")},
            })
        return {"type": "FeatureCollection", "since": t0, "until": t1, "res": res,
                "features": features}

    @router.get("/api/gnss/cells/{cell}", summary="One hexagon and its aircraft")
    def gnss_cell(cell: str, since: str | None = None, until: str | None = None
                  ) -> dict[str, Any]:
        if not h3.is_valid_cell(cell):
            raise HTTPException(400, f"not an H3 cell: {cell!r}")
        res = h3.get_resolution(cell)
        if not 3 <= res <= 6:
            raise HTTPException(400, "cells of resolution 3-6 only")
        store = store_of()
        if store is None:
            raise HTTPException(404, "no history store")
        t0, t1 = _range(since, until, store)
        for c in _cells(t0, t1, res, store, cell):
            if c["h3"] == cell:
                return c | {"since": t0, "until": t1}
        raise HTTPException(404, f"no aircraft seen in {cell} in that range")

    return router
