"""Track exports (GeoJSON, KML, CSV) and OpenSky-style track thinning.

Input is position columns (``tailwatch.serve.history.POSITION_COLUMNS``) of one aircraft,
sorted by time. Exports carry what an analyst needs to cite them: the address, callsign,
registration and type, the time span, and where the data came from.
"""

# mypy: disable-error-code="arg-type,assignment,return-value,no-any-return"

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import numba as nb
import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv

from tailwatch.core.schema import SOURCE_LABELS
from tailwatch.decode.batch import hex6

__all__ = ["EXPORT_FORMATS", "export_track", "opensky_path", "thin_track"]

EXPORT_FORMATS = {
    "geojson": "application/geo+json",
    "kml": "application/vnd.google-earth.kml+xml",
    "csv": "text/csv; charset=utf-8",
}
FT_TO_M = 0.3048
#: OpenSky's rule: a waypoint at least every 15 min, and on any 2.5° track change, any 100 m
#: altitude change or any ground-state change
THIN_MAX_GAP_S = 900.0
THIN_TRACK_DEG = 2.5
THIN_ALTITUDE_M = 100.0


def iso(t: float) -> str:
    return datetime.fromtimestamp(float(t), tz=UTC).isoformat().replace("+00:00", "Z")


@nb.njit(cache=True)
def _thin(t: npt.NDArray[np.float64], alt_m: npt.NDArray[np.float64],
          track: npt.NDArray[np.float64], ground: npt.NDArray[np.int8],
          max_gap: float, step_deg: float, step_m: float) -> npt.NDArray[np.bool_]:
    n = t.shape[0]
    keep = np.zeros(n, dtype=np.bool_)
    if n == 0:
        return keep
    keep[0] = True
    kt, ka, kk, kg = t[0], alt_m[0], track[0], ground[0]
    for i in range(1, n):
        take = t[i] - kt >= max_gap or ground[i] != kg
        if not take and not np.isnan(track[i]):
            if np.isnan(kk):
                take = True
            else:
                d = abs((track[i] - kk + 180.0) % 360.0 - 180.0)
                take = d >= step_deg
        if not take and not np.isnan(alt_m[i]):
            take = np.isnan(ka) or abs(alt_m[i] - ka) >= step_m
        if take or i == n - 1:
            keep[i] = True
            kt, kg = t[i], ground[i]
            if not np.isnan(alt_m[i]):
                ka = alt_m[i]
            if not np.isnan(track[i]):
                kk = track[i]
    return keep


def thin_track(cols: dict[str, np.ndarray]) -> npt.NDArray[np.bool_]:
    """Rows kept by OpenSky's thinning rule (first and last always kept)."""
    return _thin(
        np.asarray(cols["t"], np.float64),
        np.asarray(cols["altitude_ft"], np.float64) * FT_TO_M,
        np.asarray(cols["track_deg"], np.float64),
        np.asarray(cols["on_ground"], np.int8),
        THIN_MAX_GAP_S, THIN_TRACK_DEG, THIN_ALTITUDE_M,
    )


def _none_if_nan(a: np.ndarray, nd: int) -> list[Any]:
    r = np.round(np.asarray(a, np.float64), nd)
    return [None if v != v else v for v in r.tolist()]


def opensky_path(cols: dict[str, np.ndarray]) -> list[list[Any]]:
    """``[[time, latitude, longitude, baro_altitude (m), true_track, on_ground], ...]``."""
    keep = thin_track(cols)
    t = np.floor(np.asarray(cols["t"])[keep]).astype(np.int64).tolist()
    lat = _none_if_nan(cols["lat"][keep], 5)
    lon = _none_if_nan(cols["lon"][keep], 5)
    alt = _none_if_nan(np.asarray(cols["altitude_ft"], np.float64)[keep] * FT_TO_M, 1)
    trk = _none_if_nan(cols["track_deg"][keep], 1)
    gnd = (np.asarray(cols["on_ground"])[keep] == 1).tolist()
    return [list(r) for r in zip(t, lat, lon, alt, trk, gnd, strict=True)]


def _callsigns(cols: dict[str, np.ndarray]) -> list[str]:
    cs = np.char.strip(np.asarray(cols["callsign"], dtype="S8").astype("U8"))
    return [c for c in dict.fromkeys(cs.tolist()) if c]


def export_track(cols: dict[str, np.ndarray], fmt: str, meta: dict[str, Any]) -> bytes:
    """The positions of one aircraft as GeoJSON, KML or CSV. ``meta`` carries icao24,
    registration, typecode, flight_id... (None values are left out)."""
    if fmt == "csv":
        return _csv(cols)
    if fmt == "geojson":
        return _geojson(cols, meta)
    if fmt == "kml":
        return _kml(cols, meta)
    raise ValueError(f"unknown export format {fmt!r}")


def _meta(cols: dict[str, np.ndarray], meta: dict[str, Any]) -> dict[str, Any]:
    t = np.asarray(cols["t"], np.float64)
    out = {k: v for k, v in meta.items() if v is not None}
    out["callsigns"] = _callsigns(cols)
    out["n_positions"] = int(t.shape[0])
    if t.shape[0]:
        out["start"] = iso(t[0])
        out["end"] = iso(t[-1])
    out["generator"] = "tailwatch"
    return out


def _geojson(cols: dict[str, np.ndarray], meta: dict[str, Any]) -> bytes:
    lat = np.asarray(cols["lat"], np.float64)
    lon = np.asarray(cols["lon"], np.float64)
    alt = np.asarray(cols["altitude_ft"], np.float64) * FT_TO_M
    ok = np.isfinite(lat) & np.isfinite(lon)
    coords = [
        [x, y] if z != z else [x, y, z]
        for x, y, z in zip(np.round(lon[ok], 6).tolist(), np.round(lat[ok], 6).tolist(),
                           np.round(alt[ok], 1).tolist(), strict=True)
    ]
    props = _meta(cols, meta)
    props["times"] = np.round(np.asarray(cols["t"], np.float64)[ok], 3).tolist()
    props["altitude_ft"] = _none_if_nan(cols["altitude_ft"][ok], 0)
    props["gs_kt"] = _none_if_nan(cols["gs_kt"][ok], 1)
    props["on_ground"] = (np.asarray(cols["on_ground"])[ok] == 1).tolist()
    feature = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": props,
    }
    return orjson.dumps({"type": "FeatureCollection", "features": [feature]})


def _kml(cols: dict[str, np.ndarray], meta: dict[str, Any]) -> bytes:
    info = _meta(cols, meta)
    name = " ".join(str(x) for x in (info.get("registration"), info.get("icao24"),
                                     ", ".join(info["callsigns"])) if x)
    lat = np.asarray(cols["lat"], np.float64)
    lon = np.asarray(cols["lon"], np.float64)
    alt = np.nan_to_num(np.asarray(cols["altitude_ft"], np.float64) * FT_TO_M, nan=0.0)
    t = np.asarray(cols["t"], np.float64)
    ok = np.isfinite(lat) & np.isfinite(lon)
    out = io.StringIO()
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n'
              '<kml xmlns="http://www.opengis.net/kml/2.2" '
              'xmlns:gx="http://www.google.com/kml/ext/2.2">\n<Document>\n')
    out.write(f"<name>{escape(name)}</name>\n")
    desc = "\n".join(f"{k}: {v}" for k, v in info.items() if k != "callsigns")
    out.write(f"<description>{escape(desc)}</description>\n")
    out.write('<Style id="track"><LineStyle><color>ff0000ff</color><width>3</width>'
              "</LineStyle></Style>\n")
    out.write(f"<Placemark>\n<name>{escape(name)}</name>\n<styleUrl>#track</styleUrl>\n"
              "<gx:Track>\n<altitudeMode>absolute</altitudeMode>\n")
    for ti in t[ok].tolist():
        out.write(f"<when>{iso(ti)}</when>\n")
    for x, y, z in zip(lon[ok].tolist(), lat[ok].tolist(), alt[ok].tolist(), strict=True):
        out.write(f"<gx:coord>{x:.6f} {y:.6f} {z:.1f}</gx:coord>\n")
    out.write("</gx:Track>\n</Placemark>\n</Document>\n</kml>\n")
    return out.getvalue().encode()


def _csv(cols: dict[str, np.ndarray]) -> bytes:
    t = np.asarray(cols["t"], np.float64)
    us = np.round(t * 1e6).astype(np.int64)
    source = np.asarray(cols["source"]).astype(np.int64)
    labels = np.array([*SOURCE_LABELS, ""], dtype=object)
    sq = np.asarray(cols["squawk"]).astype(np.int64)
    table = pa.table({
        "time": pa.array(us, pa.timestamp("us", tz="UTC")),
        "t": pa.array(np.round(t, 3)),
        "icao24": pa.array(hex6(np.asarray(cols["icao24"]).astype(np.uint32) & 0xFFFFFF)
                           ).cast(pa.string()),
        "callsign": pa.array(np.char.strip(np.asarray(cols["callsign"], "S8").astype("U8"))),
        "lat": pa.array(np.round(np.asarray(cols["lat"], np.float64), 6), from_pandas=True),
        "lon": pa.array(np.round(np.asarray(cols["lon"], np.float64), 6), from_pandas=True),
        "altitude_ft": pa.array(np.asarray(cols["altitude_ft"], np.float64), from_pandas=True),
        "gs_kt": pa.array(np.round(np.asarray(cols["gs_kt"], np.float64), 1), from_pandas=True),
        "track_deg": pa.array(np.round(np.asarray(cols["track_deg"], np.float64), 1),
                              from_pandas=True),
        "vrate_fpm": pa.array(np.asarray(cols["vrate_fpm"], np.float64), from_pandas=True),
        "on_ground": pa.array(np.asarray(cols["on_ground"]) == 1),
        "squawk": pa.array([f"{v:04d}" if v >= 0 else None for v in sq.tolist()], pa.string()),
        "source": pa.array(labels[np.where((source >= 0) & (source < len(SOURCE_LABELS)),
                                           source, len(SOURCE_LABELS))].tolist()),
    })
    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
    return buf.getvalue()
