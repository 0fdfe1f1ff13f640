"""Synthetic position columns for store tests and the storage measurement (bench/store_bytes.py).

The traffic is plausible enough for compression to behave as on a real receiver's day: each
flight has a constant callsign, squawk and address, reports at irregular ~1 s intervals with
microsecond times, flies straight legs joined by standard-rate turns, climbs, cruises on a flight
level and descends with altitudes in 25 ft steps and vertical rates in 64 ft/min steps.
Columns follow ``tailwatch.core.schema.POSITION_FIELDS``; rows are in time order (as a feed
delivers them), not in the store's (icao24, t) order.
"""

from __future__ import annotations

import numpy as np

from tailwatch.core.schema import POSITION_FIELDS, SOURCE_LABELS, empty_columns

_FT_PER_M = 1.0 / 0.3048
_NM_M = 1852.0
_EARTH_M = 6_371_000.0


def synthetic_positions(
    n_flights: int,
    *,
    seed: int = 0,
    start_t: float = 1_560_000_000.0,
    span_s: float = 86_400.0,
    mean_interval_s: float = 1.0,
    center: tuple[float, float] = (48.35, 11.78),
) -> dict[str, np.ndarray]:
    """``n_flights`` flights spread over ``span_s`` seconds from ``start_t``.

    About ``n_flights * 2400 / mean_interval_s`` rows (flights last 10-70 minutes).
    """
    rng = np.random.default_rng(seed)
    parts: list[dict[str, np.ndarray]] = []
    icaos = rng.choice(np.arange(0x010000, 0xFFFFFF, dtype=np.uint32), n_flights, replace=False)
    for k in range(n_flights):
        parts.append(_one_flight(rng, int(icaos[k]), start_t, span_s, mean_interval_s, center))
    cols = {f.name: np.concatenate([p[f.name] for p in parts]) for f in POSITION_FIELDS}
    order = np.argsort(cols["t"], kind="stable")
    return {k: v[order] for k, v in cols.items()}


def _one_flight(
    rng: np.random.Generator,
    icao: int,
    start_t: float,
    span_s: float,
    mean_interval_s: float,
    center: tuple[float, float],
) -> dict[str, np.ndarray]:
    duration = float(rng.uniform(600.0, 4200.0))
    t0 = start_t + float(rng.uniform(0.0, max(span_s - duration, 1.0)))
    n_est = int(duration / mean_interval_s * 1.2) + 8
    dt = rng.gamma(4.0, mean_interval_s / 4.0, n_est)
    t_rel = np.cumsum(dt)
    t_rel = t_rel[t_rel < duration]
    n = t_rel.size
    # microsecond receiver times
    t = np.round((t0 + t_rel) * 1e6) / 1e6

    # track: straight legs joined by standard-rate (3 deg/s) turns
    rate = np.zeros(n)
    n_turns = int(rng.integers(0, 6))
    for _ in range(n_turns):
        a = float(rng.uniform(0.0, duration))
        sweep = float(rng.uniform(20.0, 120.0)) * (1 if rng.random() < 0.5 else -1)
        b = a + abs(sweep) / 3.0
        rate[(t_rel >= a) & (t_rel < b)] = 3.0 * np.sign(sweep)
    dt_rel = np.diff(t_rel, prepend=0.0)
    track = (float(rng.uniform(0, 360)) + np.cumsum(rate * dt_rel)) % 360.0

    # vertical profile: climb, cruise on a flight level, descent
    cruise_ft = float(rng.integers(10, 41)) * 1000.0
    climb_fpm = float(rng.uniform(1500, 3000))
    start_ft = float(rng.choice([0.0, cruise_ft])) if rng.random() < 0.5 else cruise_ft
    minutes = t_rel / 60.0
    alt = np.minimum(start_ft + climb_fpm * minutes, cruise_ft)
    descent_start = duration / 60.0 - (cruise_ft / climb_fpm if rng.random() < 0.5 else -1.0)
    alt = np.where(
        minutes > descent_start,
        np.maximum(cruise_ft - climb_fpm * (minutes - descent_start), 0.0),
        alt,
    )
    alt_q = np.round(alt / 25.0) * 25.0
    vrate = np.gradient(alt, t_rel) * 60.0 if n > 1 else np.zeros(n)
    vrate = np.round(vrate / 64.0) * 64.0

    gs = np.round(float(rng.uniform(250, 480)) + np.cumsum(rng.normal(0, 0.05, n)))
    # kinematics (flat earth is plenty at this scale)
    speed_ms = gs * _NM_M / 3600.0
    north = np.cumsum(speed_ms * np.cos(np.radians(track)) * dt_rel)
    east = np.cumsum(speed_ms * np.sin(np.radians(track)) * dt_rel)
    lat0 = center[0] + float(rng.uniform(-2.5, 2.5))
    lon0 = center[1] + float(rng.uniform(-3.5, 3.5))
    lat = lat0 + np.degrees(north / _EARTH_M)
    lon = lon0 + np.degrees(east / (_EARTH_M * np.cos(np.radians(lat0))))
    # CPR-like quantisation of decoded positions (~5 m)
    step = 360.0 / 60.0 / 2**17
    lat = np.round(lat / step) * step
    lon = np.round(lon / step) * step

    cols = empty_columns(POSITION_FIELDS, n)
    cols["t"] = t
    cols["icao24"][:] = icao
    cols["lat"] = lat
    cols["lon"] = lon
    on_ground = alt_q <= 0.0
    cols["altitude_ft"] = np.where(on_ground, np.nan, alt_q).astype(np.float32)
    geom = alt_q + np.round(float(rng.uniform(-300, 300)) / 25.0) * 25.0
    has_geom = rng.random(n) < 0.6
    cols["altitude_geom_ft"] = np.where(has_geom & ~on_ground, geom, np.nan).astype(np.float32)
    cols["gs_kt"] = np.where(on_ground, np.minimum(gs, 20.0), gs).astype(np.float32)
    cols["track_deg"] = (np.round(track * 10.0) / 10.0).astype(np.float32)
    cols["vrate_fpm"] = vrate.astype(np.float32)
    cols["on_ground"] = on_ground.astype(np.int8)
    letters = rng.integers(65, 91, 3).astype(np.uint8).tobytes().decode()
    callsign = f"{letters}{int(rng.integers(1, 9999))}".encode()
    cols["callsign"][:] = callsign
    cols["squawk"][:] = int("".join(str(d) for d in rng.integers(0, 8, 4)))
    cols["nic"][:] = 8
    cols["nacp"][:] = 9
    src = SOURCE_LABELS.index("mlat") if rng.random() < 0.05 else SOURCE_LABELS.index("adsb")
    cols["source"][:] = src
    cols["receivers"][:] = 1
    return cols
