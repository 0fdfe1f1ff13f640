"""Airports of the world and a vectorised nearest-airport search.

The data is the ``airportsdata`` package (MIT License, a dependency): about 28,000 airports that
have an ICAO location indicator, with IATA code, name, city, country (ISO 3166-1 alpha-2),
elevation (feet, highest point of the landing area), position and time zone. It is read once,
on first use, into numpy columns (:class:`AirportTable`, sorted by ICAO code).

Positions
---------
``airportsdata`` 20260905 has some positions plainly wrong: every Belgian airport and ELLX
(Luxembourg) have their degrees-minutes-seconds digits read as decimal degrees (EBBR at
50.5405, 4.2904 for 50°54'05" N 4°29'04" E, 42 km off), and a few airports moved since (ZPPP,
Kunming). :func:`airports` therefore moves an airport onto its runways (OurAirports, see
:mod:`tailwatch.reference.runways`) when the two disagree by 5 to 100 km and the runways
agree with one another (:func:`fix_positions_from_runways`: about 55 airports);
:func:`airportsdata_airports` gives the data unchanged.

Nearest-airport search
----------------------
:func:`nearest_airports` answers "which airports are within ``max_distance_nm`` of each of
these points, nearest first" for arrays of points at once. The airports are bucketed once into
a 1° × 1° latitude/longitude grid (CSR layout: airports sorted by cell, one offset per cell) and
each stores its Earth-centred unit vector. For each query point a numba kernel visits only the
cells that can hold a point within the search radius (the latitude band ``lat ± r`` and the
longitude band ``lon ± asin(sin r / cos lat)``, wrapping at the antimeridian, every longitude
when the cap reaches a pole), and ranks the airports there by the chord between unit vectors,
which is exact and free of cancellation at short range. No scipy is needed; the cost is about
the number of airports in the visited cells, so keep ``max_distance_nm`` to what the question
needs (tens of nautical miles for take-off and landing detection).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.core.errors import ReferenceDataError
from tailwatch.reference.geo import EARTH_RADIUS_M, M_PER_NM, distance_m, unit_vectors

if TYPE_CHECKING:
    from tailwatch.reference.runways import RunwayTable

__all__ = [
    "POSITION_AIRPORTSDATA",
    "POSITION_RUNWAYS",
    "Airport",
    "AirportTable",
    "airport",
    "airports",
    "airportsdata_airports",
    "fix_positions_from_runways",
    "nearest_airports",
]

CELL_DEG = 1.0
"""Side of the grid cells of the nearest-airport index, degrees."""

_N_LAT = round(180.0 / CELL_DEG)
_N_LON = round(360.0 / CELL_DEG)


POSITION_AIRPORTSDATA = 0
POSITION_RUNWAYS = 1
_POSITION_SOURCES = ("airportsdata", "ourairports-runways")

FIX_MIN_M = 5_000.0
"""Move an airport to its runways when ``airportsdata`` puts it farther than this from them..."""
FIX_MAX_M = 100_000.0
"""... but not this far (then the two sources name different places with the same code)."""
FIX_SPREAD_M = 5_000.0
"""... and only when all its runways are within this distance of their centroid."""


@dataclass(frozen=True, slots=True)
class Airport:
    """One airport (a row of :class:`AirportTable`)."""

    icao: str
    iata: str  #: "" when the airport has none
    name: str
    city: str
    country: str  #: ISO 3166-1 alpha-2 ("XK" for Kosovo)
    elevation_ft: float
    lat_deg: float
    lon_deg: float
    tz: str  #: IANA time zone name ("" in Antarctica)
    position_source: str  #: "airportsdata" or "ourairports-runways" (see :func:`airports`)


@dataclass(frozen=True, slots=True, eq=False)
class AirportTable:
    """Airports as numpy columns, sorted by ICAO code, with a grid index for proximity search.

    Build one with :meth:`from_records` (or use :func:`airports`); the index columns
    (``_cell_start``, ``_order``, ``_xyz``) are derived from ``lat_deg``/``lon_deg``.
    ``position_source`` is :data:`POSITION_AIRPORTSDATA` or :data:`POSITION_RUNWAYS`.
    """

    icao: npt.NDArray[np.str_]
    iata: npt.NDArray[np.str_]
    name: npt.NDArray[np.object_]
    city: npt.NDArray[np.object_]
    country: npt.NDArray[np.str_]
    elevation_ft: npt.NDArray[np.float64]
    lat_deg: npt.NDArray[np.float64]
    lon_deg: npt.NDArray[np.float64]
    tz: npt.NDArray[np.object_]
    position_source: npt.NDArray[np.uint8]
    _cell_start: npt.NDArray[np.int64]
    _order: npt.NDArray[np.int64]
    _xyz: npt.NDArray[np.float64]

    @classmethod
    def from_records(cls, records: Sequence[dict[str, object]]) -> AirportTable:
        """Build the table from ``airportsdata``-style dicts (keys icao, iata, name, city,
        country, elevation, lat, lon, tz). Rows without a valid position are dropped."""
        recs = sorted(records, key=lambda r: str(r["icao"]))
        lat = np.array([_float(r.get("lat")) for r in recs], dtype=np.float64)
        lon = np.array([_float(r.get("lon")) for r in recs], dtype=np.float64)
        ok = (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0)  # NaN fails too
        keep = [r for r, k in zip(recs, ok, strict=True) if k]

        def strings(key: str, width: int) -> npt.NDArray[np.str_]:
            values = [str(r.get(key) or "").strip().upper() for r in keep]
            return np.array(values, dtype=f"U{width}")

        def objects(key: str) -> npt.NDArray[np.object_]:
            out = np.empty(len(keep), dtype=object)
            out[:] = [str(r.get(key) or "") for r in keep]
            return out

        lat, lon = lat[ok], lon[ok]
        cell_start, order, xyz = _build_grid(lat, lon)
        return cls(
            icao=strings("icao", 4),
            iata=strings("iata", 3),
            name=objects("name"),
            city=objects("city"),
            country=strings("country", 2),
            elevation_ft=np.array([_float(r.get("elevation")) for r in keep], dtype=np.float64),
            lat_deg=lat,
            lon_deg=lon,
            tz=objects("tz"),
            position_source=np.full(lat.shape[0], POSITION_AIRPORTSDATA, dtype=np.uint8),
            _cell_start=cell_start,
            _order=order,
            _xyz=xyz,
        )

    def with_positions(
        self,
        lat_deg: npt.NDArray[np.float64],
        lon_deg: npt.NDArray[np.float64],
        position_source: npt.NDArray[np.uint8],
    ) -> AirportTable:
        """A copy with new positions (and the index rebuilt)."""
        cell_start, order, xyz = _build_grid(lat_deg, lon_deg)
        return dataclasses.replace(
            self, lat_deg=lat_deg, lon_deg=lon_deg, position_source=position_source,
            _cell_start=cell_start, _order=order, _xyz=xyz,
        )  # fmt: skip

    def __len__(self) -> int:
        return int(self.icao.shape[0])

    def grid(
        self,
    ) -> tuple[
        npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64],
        npt.NDArray[np.float64],
    ]:
        """The 1°×1° CSR index for compiled callers: (cell_start, order, lat_deg, lon_deg);
        cell = (floor(lat)+90)·360 + floor(lon)+180, and ``order[cell_start[c]:cell_start[c+1]]``
        are the rows in cell ``c``."""
        return self._cell_start, self._order, self.lat_deg, self.lon_deg

    def indices_of(self, icao: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Row index of each ICAO code (case and surrounding spaces ignored), -1 when unknown."""
        codes = np.char.upper(np.char.strip(np.asarray(icao, dtype=np.str_)))
        pos = np.searchsorted(self.icao, codes)
        pos_c = np.minimum(pos, len(self) - 1)
        found = (pos < len(self)) & (self.icao[pos_c] == codes)
        return np.where(found, pos_c, -1).astype(np.int64)

    def record(self, index: int) -> Airport:
        """The airport at row ``index``."""
        i = int(index)
        return Airport(
            icao=str(self.icao[i]),
            iata=str(self.iata[i]),
            name=str(self.name[i]),
            city=str(self.city[i]),
            country=str(self.country[i]),
            elevation_ft=float(self.elevation_ft[i]),
            lat_deg=float(self.lat_deg[i]),
            lon_deg=float(self.lon_deg[i]),
            tz=str(self.tz[i]),
            position_source=_POSITION_SOURCES[int(self.position_source[i])],
        )


def _float(x: object) -> float:
    if x is None or x == "":
        return math.nan
    try:
        return float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _cells(
    lat_deg: npt.NDArray[np.float64], lon_deg: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    i = np.clip(np.floor((lat_deg + 90.0) / CELL_DEG), 0, _N_LAT - 1).astype(np.int64)
    j = np.mod(np.floor((lon_deg + 180.0) / CELL_DEG), _N_LON).astype(np.int64)
    return i * _N_LON + j


def _build_grid(
    lat_deg: npt.NDArray[np.float64], lon_deg: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """CSR grid: ``order`` lists row indices by cell, ``cell_start[c]:cell_start[c+1]`` are the
    slots of cell ``c``; ``xyz`` holds the unit vectors in ``order``."""
    cell = _cells(lat_deg, lon_deg)
    order = np.argsort(cell, kind="stable").astype(np.int64)
    counts = np.bincount(cell, minlength=_N_LAT * _N_LON)
    cell_start = np.zeros(_N_LAT * _N_LON + 1, dtype=np.int64)
    np.cumsum(counts, out=cell_start[1:])
    xyz = np.ascontiguousarray(unit_vectors(lat_deg[order], lon_deg[order]))
    return cell_start, order, xyz


@nb.njit(cache=True)
def _nearest_kernel(
    qlat_deg: npt.NDArray[np.float64],
    qlon_deg: npt.NDArray[np.float64],
    xyz: npt.NDArray[np.float64],
    order: npt.NDArray[np.int64],
    cell_start: npt.NDArray[np.int64],
    allowed: npt.NDArray[np.bool_],
    radius_rad: float,
    cell_deg: float,
    n_lat: int,
    n_lon: int,
    out_idx: npt.NDArray[np.int64],
    out_chord2: npt.NDArray[np.float64],
) -> None:
    """Fill ``out_idx``/``out_chord2`` (n, k), preset to -1/inf, with the k nearest airports
    within ``radius_rad`` of each query point (squared chord between unit vectors)."""
    k = out_idx.shape[1]
    r_deg = math.degrees(radius_rad) + 1e-9
    max_chord2 = (2.0 * math.sin(radius_rad / 2.0)) ** 2 * (1.0 + 1e-12)
    for q in range(qlat_deg.shape[0]):
        lat = qlat_deg[q]
        lon = qlon_deg[q]
        if not (abs(lat) <= 90.0 and abs(lon) <= 360.0):
            continue
        p = math.radians(lat)
        lam = math.radians(lon)
        qx = math.cos(p) * math.cos(lam)
        qy = math.cos(p) * math.sin(lam)
        qz = math.sin(p)
        lat_lo = lat - r_deg
        lat_hi = lat + r_deg
        i0 = max(0, math.floor((lat_lo + 90.0) / cell_deg))
        i1 = min(n_lat - 1, math.floor((lat_hi + 90.0) / cell_deg))
        s = 0.0
        full = lat_hi >= 90.0 or lat_lo <= -90.0 or radius_rad >= math.pi / 2.0
        if not full:
            s = math.sin(radius_rad) / math.cos(p)
            if s >= 1.0:
                full = True
        if full:
            j0 = 0
            j1 = n_lon - 1
        else:
            dlon = math.degrees(math.asin(s)) + 1e-9
            j0 = math.floor((lon - dlon + 180.0) / cell_deg)
            j1 = math.floor((lon + dlon + 180.0) / cell_deg)
            if j1 - j0 + 1 >= n_lon:
                j0 = 0
                j1 = n_lon - 1
        for i in range(i0, i1 + 1):
            for jr in range(j0, j1 + 1):
                c = i * n_lon + (jr % n_lon)
                for slot in range(cell_start[c], cell_start[c + 1]):
                    row = order[slot]
                    if not allowed[row]:
                        continue
                    dx = xyz[slot, 0] - qx
                    dy = xyz[slot, 1] - qy
                    dz = xyz[slot, 2] - qz
                    d2 = dx * dx + dy * dy + dz * dz
                    if d2 > max_chord2 or d2 >= out_chord2[q, k - 1]:
                        continue
                    # insertion into the sorted top-k (ties: lower row first)
                    m = k - 1
                    while m > 0 and (
                        out_chord2[q, m - 1] > d2
                        or (out_chord2[q, m - 1] == d2 and out_idx[q, m - 1] > row)
                    ):
                        out_chord2[q, m] = out_chord2[q, m - 1]
                        out_idx[q, m] = out_idx[q, m - 1]
                        m -= 1
                    out_chord2[q, m] = d2
                    out_idx[q, m] = row


@functools.cache
def airportsdata_airports() -> AirportTable:
    """The airports exactly as the ``airportsdata`` package has them (loaded once, cached)."""
    try:
        import airportsdata
    except ImportError as exc:  # pragma: no cover - it is a declared dependency
        raise ReferenceDataError("the 'airportsdata' package is not installed") from exc
    data = airportsdata.load("ICAO")
    if not data:
        raise ReferenceDataError("the 'airportsdata' package holds no airport")
    return AirportTable.from_records([dict(v) for v in data.values()])


@functools.cache
def airports() -> AirportTable:
    """The airports: ``airportsdata``, positions fixed from the runways (loaded once, cached).

    See :func:`fix_positions_from_runways`; the runways are
    :func:`tailwatch.reference.runways.default_runways`.
    """
    from tailwatch.reference.runways import default_runways

    return fix_positions_from_runways(airportsdata_airports(), default_runways())


def fix_positions_from_runways(table: AirportTable, runways: RunwayTable) -> AirportTable:
    """Move airports whose position disagrees with their runways onto the runways.

    An airport moves to the centroid of its runways' midpoints (OurAirports) when its runways
    agree with one another (all within :data:`FIX_SPREAD_M` of that centroid) and its position
    is more than :data:`FIX_MIN_M` but at most :data:`FIX_MAX_M` from it. Farther than that,
    the two data sets use one code for two places and nothing moves. The moved rows have
    ``position_source == POSITION_RUNWAYS``.
    """
    ident, clat, clon, spread = runways.ends.airport_centroids()
    if ident.size == 0 or len(table) == 0:
        return table
    wanted = runways.resolve(table.icao)
    pos = np.searchsorted(ident, wanted)
    g = np.minimum(pos, ident.size - 1)
    found = (pos < ident.size) & (ident[g] == wanted)
    d = distance_m(table.lat_deg, table.lon_deg, clat[g], clon[g])
    move = found & (spread[g] <= FIX_SPREAD_M) & (d > FIX_MIN_M) & (d <= FIX_MAX_M)
    if not move.any():
        return table
    lat = np.where(move, clat[g], table.lat_deg)
    lon = np.where(move, clon[g], table.lon_deg)
    source = np.where(move, POSITION_RUNWAYS, table.position_source).astype(np.uint8)
    return table.with_positions(lat, lon, source)


def airport(icao: str, *, table: AirportTable | None = None) -> Airport:
    """The airport with this ICAO code (case-insensitive).

    Raises :class:`KeyError` when the code is unknown.
    """
    t = airports() if table is None else table
    i = int(t.indices_of([icao])[0])
    if i < 0:
        raise KeyError(f"unknown airport ICAO code {icao!r}")
    return t.record(i)


def nearest_airports(
    lat_deg: npt.ArrayLike,
    lon_deg: npt.ArrayLike,
    *,
    max_distance_nm: float,
    k: int = 1,
    where: npt.ArrayLike | None = None,
    table: AirportTable | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The ``k`` nearest airports within ``max_distance_nm`` of each point, nearest first.

    ``lat_deg``/``lon_deg`` broadcast to ``n`` points (a scalar is one point). Returns
    ``(indices, distances_nm)``: row indices into the airport table (:func:`airports`, or
    ``table``) and great-circle distances. Both have shape ``(n,)`` when ``k == 1`` and
    ``(n, k)`` otherwise; where fewer than ``k`` airports are in range (or the point is
    ``NaN``), the index is -1 and the distance ``NaN``.

    ``where`` is an optional boolean mask over the table's rows: only airports where it is
    true are candidates (e.g. ``table.iata != ""``).
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if not max_distance_nm >= 0.0:
        raise ValueError(f"max_distance_nm must be >= 0, got {max_distance_nm}")
    t = airports() if table is None else table
    lat_b, lon_b = np.broadcast_arrays(
        np.asarray(lat_deg, dtype=np.float64), np.asarray(lon_deg, dtype=np.float64)
    )
    qlat = np.ascontiguousarray(lat_b.reshape(-1))
    qlon = np.ascontiguousarray(lon_b.reshape(-1))
    if where is None:
        allowed = np.ones(len(t), dtype=np.bool_)
    else:
        allowed = np.ascontiguousarray(np.asarray(where, dtype=np.bool_))
        if allowed.shape != (len(t),):
            raise ValueError(f"where must have shape ({len(t)},), got {allowed.shape}")
    radius_rad = min(float(max_distance_nm) * M_PER_NM / EARTH_RADIUS_M, math.pi)
    n = qlat.shape[0]
    idx = np.full((n, k), -1, dtype=np.int64)
    chord2 = np.full((n, k), np.inf, dtype=np.float64)
    if n and len(t):
        _nearest_kernel(
            qlat, qlon, t._xyz, t._order, t._cell_start, allowed,
            radius_rad, CELL_DEG, _N_LAT, _N_LON, idx, chord2,
        )  # fmt: skip
    found = idx >= 0
    chord = np.sqrt(np.where(found, chord2, np.nan))
    dist_nm = 2.0 * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0)) * EARTH_RADIUS_M / M_PER_NM
    if k == 1:
        return idx[:, 0], dist_nm[:, 0]
    return idx, dist_nm
