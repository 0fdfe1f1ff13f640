"""Synthetic position histories for testing the detectors: airport-to-airport flights along
great circles (taxi, take-off roll on the runway, climb, cruise, 3° descent onto the runway,
landing roll, taxi), and free trajectories (racetracks, approaches with a go-around).

Positions are sampled every ``sample_s`` seconds (±20 % jitter) and carry the columns of
``POSITION_FIELDS`` (altitude ``NaN`` and ``on_ground`` 1 on the ground, source ``sim``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tailwatch.core.schema import POSITION_FIELDS, SOURCE_LABELS, empty_columns
from tailwatch.detect.columns import Columns, concat, take
from tailwatch.reference.airports import airport
from tailwatch.reference.geo import (
    EARTH_RADIUS_M,
    M_PER_NM,
    destination_deg,
    distance_m,
    initial_bearing_deg,
    unit_vectors,
)
from tailwatch.reference.runways import default_runways

F64 = npt.NDArray[np.float64]
KT = M_PER_NM / 3600.0  # m/s per knot
#: profile(s_m) -> (altitude_ft, speed_kt, on_ground) along the path
Profile = Callable[[F64], tuple[F64, F64, npt.NDArray[np.bool_]]]


@dataclass(frozen=True, slots=True)
class RunwayEnd:
    airport: str
    ident: str
    lat: float
    lon: float
    bearing_deg: float
    length_m: float
    elevation_ft: float


def runway_end(icao: str, ident: str) -> RunwayEnd:
    """The threshold of runway ``ident`` at ``icao`` (direction of travel of that end)."""
    ends = default_runways().ends
    rows = np.flatnonzero((ends.airport_ident == icao) & (ends.ident == ident))
    if rows.size == 0:
        raise KeyError(f"no runway {ident} at {icao}")
    i = int(rows[0])
    return RunwayEnd(icao, ident, float(ends.lat_deg[i]), float(ends.lon_deg[i]),
                     float(ends.bearing_deg[i]), float(ends.length_m[i]),
                     airport(icao).elevation_ft)


def along(lat: float, lon: float, bearing_deg: float, dist_m: float) -> tuple[float, float]:
    la, lo = destination_deg(lat, lon, bearing_deg, dist_m)
    return float(la), float(lo)


def polyline(lats: Sequence[float], lons: Sequence[float], step_m: float = 100.0
             ) -> tuple[F64, F64, F64]:
    """Points every ``step_m`` along great-circle segments through the vertices:
    (lat, lon, cumulative distance m)."""
    out_lat: list[F64] = []
    out_lon: list[F64] = []
    for k in range(len(lats) - 1):
        a = unit_vectors(lats[k], lons[k])
        b = unit_vectors(lats[k + 1], lons[k + 1])
        ang = float(np.arccos(np.clip(np.dot(a, b), -1.0, 1.0)))
        n = max(int(ang * EARTH_RADIUS_M / step_m), 1)
        f = np.arange(n) / n
        if ang < 1e-12:
            pts = np.repeat(a[None, :], n, axis=0)
        else:
            pts = (np.sin((1 - f) * ang)[:, None] * a + np.sin(f * ang)[:, None] * b) / np.sin(ang)
        out_lat.append(np.degrees(np.arcsin(np.clip(pts[:, 2], -1, 1))))
        out_lon.append(np.degrees(np.arctan2(pts[:, 1], pts[:, 0])))
    out_lat.append(np.array([lats[-1]], dtype=np.float64))
    out_lon.append(np.array([lons[-1]], dtype=np.float64))
    lat = np.concatenate(out_lat)
    lon = np.concatenate(out_lon)
    s = np.r_[0.0, np.cumsum(distance_m(lat[:-1], lon[:-1], lat[1:], lon[1:]))]
    return lat, lon, s


@dataclass(slots=True)
class Dense:
    """A trajectory at a fine time step: t, lat, lon, altitude, speed, ground flag."""

    t: F64
    lat: F64
    lon: F64
    alt_ft: F64
    gs_kt: F64
    ground: npt.NDArray[np.bool_]

    def end_time(self) -> float:
        return float(self.t[-1])


def fly(lats: Sequence[float], lons: Sequence[float], profile: Profile, t0: float) -> Dense:
    """Fly the polyline with the speed/altitude profile (speed must stay > 0)."""
    lat, lon, s = polyline(lats, lons, step_m=50.0)
    alt, v, ground = profile(s)
    v_ms = np.maximum(v, 1.0) * KT
    dt = np.diff(s) / (0.5 * (v_ms[1:] + v_ms[:-1]))
    t = t0 + np.r_[0.0, np.cumsum(dt)]
    return Dense(t, lat, lon, alt, v, ground)


def hold(lat: float, lon: float, t0: float, duration_s: float) -> Dense:
    """Standing on the ground."""
    t = np.array([t0, t0 + duration_s])
    return Dense(t, np.array([lat, lat]), np.array([lon, lon]), np.full(2, np.nan),
                 np.zeros(2), np.ones(2, dtype=bool))


def join(parts: Sequence[Dense]) -> Dense:
    return Dense(*(np.concatenate([getattr(p, k) for p in parts]) for k in
                   ("t", "lat", "lon", "alt_ft", "gs_kt", "ground")))


def sample(
    d: Dense,
    icao24: int,
    callsign: str,
    *,
    sample_s: float = 5.0,
    squawk: int = 1000,
    seed: int = 0,
) -> Columns:
    """Positions every ``sample_s`` (±20 % jitter) along a dense trajectory."""
    rng = np.random.default_rng(seed)
    span = d.t[-1] - d.t[0]
    n = int(span / sample_s) + 1
    ts = d.t[0] + np.cumsum(rng.uniform(0.8, 1.2, n) * sample_s) - sample_s
    ts = ts[ts <= d.t[-1]]
    order = np.argsort(d.t, kind="stable")
    t_d = d.t[order]
    lat = np.interp(ts, t_d, d.lat[order])
    lon = np.interp(ts, t_d, d.lon[order])
    alt = np.interp(ts, t_d, np.where(np.isfinite(d.alt_ft), d.alt_ft, -1e9)[order])
    gs = np.interp(ts, t_d, d.gs_kt[order])
    ground = np.interp(ts, t_d, d.ground[order].astype(np.float64)) > 0.5
    ahead_lat = np.interp(ts + 2.0, t_d, d.lat[order])
    ahead_lon = np.interp(ts + 2.0, t_d, d.lon[order])
    moving = distance_m(lat, lon, ahead_lat, ahead_lon) > 1.0
    trk = np.where(moving, initial_bearing_deg(lat, lon, ahead_lat, ahead_lon), np.nan)
    alt = np.where(ground | (alt < -1e8), np.nan, alt)
    alt_next = np.interp(ts + 2.0, t_d, np.where(np.isfinite(d.alt_ft), d.alt_ft, 0.0)[order])
    alt_prev = np.interp(ts, t_d, np.where(np.isfinite(d.alt_ft), d.alt_ft, 0.0)[order])
    vr = np.where(ground, 0.0, (alt_next - alt_prev) / 2.0 * 60.0)
    m = ts.shape[0]
    cols = empty_columns(POSITION_FIELDS, m)
    cols["t"] = ts
    cols["icao24"] = np.full(m, icao24, np.uint32)
    cols["lat"] = lat
    cols["lon"] = lon
    cols["altitude_ft"] = np.round(alt / 25.0).astype(np.float32) * 25.0
    cols["gs_kt"] = gs.astype(np.float32)
    cols["track_deg"] = trk.astype(np.float32)
    cols["vrate_fpm"] = vr.astype(np.float32)
    cols["on_ground"] = ground.astype(np.int8)
    cols["callsign"] = np.full(m, callsign.encode(), dtype="S8")
    cols["squawk"] = np.full(m, squawk, np.int16)
    cols["nic"] = np.full(m, 8, np.int8)
    cols["nacp"] = np.full(m, 9, np.int8)
    cols["source"] = np.full(m, SOURCE_LABELS.index("sim"), np.int8)
    cols["receivers"] = np.ones(m, np.uint8)
    return cols


def knots_profile(
    s_m: Sequence[float],
    alt_ft: Sequence[float],
    speed_kt: Sequence[float],
    ground: Sequence[tuple[float, float]] = (),
) -> Profile:
    """Altitude and speed interpolated linearly between knots at path distances ``s_m``;
    on the ground (altitude ``NaN``) over the ``ground`` (start, stop) distance ranges."""
    s_k = np.asarray(s_m, dtype=np.float64)
    a_k = np.asarray(alt_ft, dtype=np.float64)
    v_k = np.asarray(speed_kt, dtype=np.float64)

    def profile(s: F64) -> tuple[F64, F64, npt.NDArray[np.bool_]]:
        g = np.zeros(s.shape[0], dtype=bool)
        for a, b in ground:
            g |= (s >= a) & (s <= b)
        alt = np.where(g, np.nan, np.interp(s, s_k, a_k))
        return alt, np.interp(s, s_k, v_k), g

    return profile


def path_length_m(lats: Sequence[float], lons: Sequence[float]) -> F64:
    """Cumulative distance at each vertex of a polyline (great-circle segments), metres."""
    la = np.asarray(lats, dtype=np.float64)
    lo = np.asarray(lons, dtype=np.float64)
    return np.asarray(np.r_[0.0, np.cumsum(distance_m(la[:-1], lo[:-1], la[1:], lo[1:]))])


def airport_to_airport(
    dep: RunwayEnd,
    arr: RunwayEnd,
    t0: float,
    *,
    cruise_ft: float = 35_000.0,
    cruise_kt: float = 450.0,
    taxi_out_s: float = 600.0,
    taxi_in_s: float = 600.0,
    climb_ft_per_nm: float = 400.0,
    descent_ft_per_nm: float = 318.0,
) -> Dense:
    """Taxi (standing at the threshold), roll along ``dep``, climb straight out 8 NM, great
    circle to a point 12 NM before ``arr`` on its centreline, 3° final, landing roll, taxi."""
    accel = 2.0  # m/s², take-off roll
    v_lift = 150.0 * KT
    s_lift = v_lift**2 / (2 * accel)
    climb_lat, climb_lon = along(dep.lat, dep.lon, dep.bearing_deg, 8 * M_PER_NM)
    faf_lat, faf_lon = along(arr.lat, arr.lon, arr.bearing_deg + 180.0, 12 * M_PER_NM)
    decel = 1.5
    v_td = 140.0 * KT
    s_roll = (v_td**2 - (20 * KT) ** 2) / (2 * decel)
    end_lat, end_lon = along(arr.lat, arr.lon, arr.bearing_deg, s_roll)
    lats = [dep.lat, climb_lat, faf_lat, arr.lat, end_lat]
    lons = [dep.lon, climb_lon, faf_lon, arr.lon, end_lon]
    s_thr = float(path_length_m(lats, lons)[3])

    def profile(s: F64) -> tuple[F64, F64, npt.NDArray[np.bool_]]:
        up = dep.elevation_ft + np.maximum(s - s_lift, 0.0) / M_PER_NM * climb_ft_per_nm
        down = arr.elevation_ft + 50.0 + np.maximum(s_thr - s, 0.0) / M_PER_NM * \
            descent_ft_per_nm
        alt = np.minimum(np.minimum(up, down), cruise_ft)
        frac = np.clip((alt - 3000.0) / max(cruise_ft - 3000.0, 1.0), 0.0, 1.0)
        v = 150.0 + (cruise_kt - 150.0) * frac
        roll_out = np.sqrt(np.maximum(2 * accel * s, (5 * KT) ** 2)) / KT
        v = np.where(s < s_lift, np.minimum(roll_out, 150.0), v)
        v = np.where((s > s_thr - 4 * M_PER_NM) & (s <= s_thr), 140.0, v)
        after = np.maximum(s - s_thr, 0.0)
        v_in = np.sqrt(np.maximum(v_td**2 - 2 * decel * after, (20 * KT) ** 2)) / KT
        v = np.where(s > s_thr, v_in, v)
        ground = (s < s_lift) | (s >= s_thr)
        alt = np.where(ground, np.nan, alt)
        return alt, v, ground

    air = fly(lats, lons, profile, t0 + taxi_out_s)
    before = hold(dep.lat, dep.lon, t0, taxi_out_s - 1.0)
    after = hold(end_lat, end_lon, air.end_time() + 1.0, taxi_in_s)
    return join([before, air, after])


def visible(cols: Columns, mask: npt.NDArray[np.bool_]) -> Columns:
    """The rows where ``mask`` holds."""
    return take(cols, mask)


def merge(parts: Sequence[Columns]) -> Columns:
    """Positions of several histories, sorted by time."""
    cols = concat(list(parts))
    return take(cols, np.argsort(cols["t"], kind="stable"))
