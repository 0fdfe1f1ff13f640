"""Synthetic flights with known GNSS interference, for tests and the benchmark.

Straight great-circle flights at constant speed, one position per ``step_s``. Inside a
jamming zone the NIC/NACp drop (and a share of positions is lost); inside a spoofing zone the
positions are replaced by a fixed point (or a circle around it) while ground speed and track
stay true, as a spoofed GNSS receiver with independent velocity messages would report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tailwatch.core.schema import POSITION_FIELDS, SOURCE_LABELS, empty_columns

R_EARTH_NM = 6_371_008.8 / 1852.0


@dataclass(frozen=True, slots=True)
class Zone:
    kind: str  # "jamming" or "spoofing"
    lat: float
    lon: float
    radius_nm: float
    start: float = -np.inf
    end: float = np.inf
    spoof_lat: float = np.nan
    spoof_lon: float = np.nan
    circle_nm: float = 0.0


def _dest(lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64],
          trk: float | npt.NDArray[np.float64],
          d_nm: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64],
                                                  npt.NDArray[np.float64]]:
    p1 = np.radians(lat)
    ang = d_nm / R_EARTH_NM
    th = np.radians(trk)
    p2 = np.arcsin(np.sin(p1) * np.cos(ang) + np.cos(p1) * np.sin(ang) * np.cos(th))
    l2 = np.radians(lon) + np.arctan2(np.sin(th) * np.sin(ang) * np.cos(p1),
                                      np.cos(ang) - np.sin(p1) * np.sin(p2))
    return np.degrees(p2), (np.degrees(l2) + 540.0) % 360.0 - 180.0


def _dist(lat1: npt.NDArray[np.float64], lon1: npt.NDArray[np.float64], lat2: float,
          lon2: float) -> npt.NDArray[np.float64]:
    r = np.pi / 180.0
    a = (np.sin((lat2 - lat1) * r / 2) ** 2
         + np.cos(lat1 * r) * np.cos(lat2 * r) * np.sin((lon2 - lon1) * r / 2) ** 2)
    out: npt.NDArray[np.float64] = 2 * R_EARTH_NM * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return out


def flights(
    n_aircraft: int, t0: float, duration_s: float, *, lat0: float, lon0: float,
    spread_deg: float = 3.0, step_s: float = 1.0, gs_kt: float = 450.0,
    altitude_ft: float = 36000.0, zones: tuple[Zone, ...] = (), seed: int = 1,
    lost_share: float = 0.3, first_icao: int = 0x400000,
    track_range_deg: tuple[float, float] = (0.0, 360.0),
) -> tuple[dict[str, np.ndarray], dict[str, npt.NDArray[np.bool_]]]:
    """Positions of ``n_aircraft`` airborne aircraft starting around (lat0, lon0), and the truth
    per position (``jammed``, ``spoofed``, ``lost``: lost positions are not in the columns)."""
    rng = np.random.default_rng(seed)
    m = int(duration_s // step_s)
    t = t0 + np.arange(m) * step_s
    parts: list[dict[str, np.ndarray]] = []
    jam_t: list[np.ndarray] = []
    spoof_t: list[np.ndarray] = []
    for a in range(n_aircraft):
        la = lat0 + rng.uniform(-spread_deg, spread_deg)
        lo = lon0 + rng.uniform(-spread_deg, spread_deg)
        trk = float(rng.uniform(*track_range_deg))
        offs = rng.uniform(0, step_s)
        tt = t + offs
        lat, lon = _dest(np.full(m, la), np.full(m, lo), trk, gs_kt * (tt - tt[0]) / 3600.0)
        nic = np.full(m, 8, np.int8)
        nacp = np.full(m, 9, np.int8)
        rep_lat = lat.copy()
        rep_lon = lon.copy()
        jammed = np.zeros(m, bool)
        spoofed = np.zeros(m, bool)
        for z in zones:
            inside = (_dist(lat, lon, z.lat, z.lon) <= z.radius_nm) & (tt >= z.start) & (
                tt < z.end)
            if z.kind == "jamming":
                jammed |= inside
            else:
                spoofed |= inside
                if z.circle_nm > 0:  # around the circle in four minutes
                    ang = np.asarray(((tt - t0) / 240.0 * 360.0) % 360.0, dtype=np.float64)
                    cl, co = _dest(np.full(m, z.spoof_lat), np.full(m, z.spoof_lon), ang,
                                   np.full(m, z.circle_nm))
                    rep_lat[inside] = cl[inside]
                    rep_lon[inside] = co[inside]
                else:
                    rep_lat[inside] = z.spoof_lat
                    rep_lon[inside] = z.spoof_lon
        nic[jammed] = rng.integers(0, 4, int(jammed.sum()))
        nacp[jammed] = rng.integers(0, 5, int(jammed.sum()))
        keep = ~(jammed & (rng.random(m) < lost_share))
        cols = empty_columns(POSITION_FIELDS, int(keep.sum()))
        cols["t"] = tt[keep]
        cols["icao24"] = np.full(int(keep.sum()), first_icao + a, np.uint32)
        cols["lat"] = rep_lat[keep]
        cols["lon"] = rep_lon[keep]
        cols["altitude_ft"] = np.full(int(keep.sum()), altitude_ft, np.float32)
        cols["altitude_geom_ft"] = np.full(int(keep.sum()), altitude_ft + 300, np.float32)
        cols["gs_kt"] = (gs_kt + rng.normal(0, 0.5, int(keep.sum()))).astype(np.float32)
        cols["track_deg"] = np.full(int(keep.sum()), trk, np.float32)
        cols["vrate_fpm"] = np.zeros(int(keep.sum()), np.float32)
        cols["on_ground"] = np.zeros(int(keep.sum()), np.int8)
        cols["nic"] = nic[keep]
        cols["nacp"] = nacp[keep]
        cols["source"] = np.full(int(keep.sum()), SOURCE_LABELS.index("adsb"), np.int8)
        cols["true_lat"] = lat[keep]
        cols["true_lon"] = lon[keep]
        parts.append(cols)
        jam_t.append(jammed[keep])
        spoof_t.append(spoofed[keep])
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.argsort(out["t"], kind="stable")
    truth = {"jammed": np.concatenate(jam_t)[order], "spoofed": np.concatenate(spoof_t)[order]}
    return {k: v[order] for k, v in out.items()}, truth
