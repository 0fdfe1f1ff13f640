"""GNSS interference: jamming and spoofing zones acting on what aircraft report.

A ``[[interference]]`` zone (docs/simulator.md) is a circle (``lat``, ``lon``,
``radius_nm``) active from ``start`` to ``end``. A transmission is *affected* when the
aircraft's true position is inside an active zone, or was less than ``recovery_s`` earlier
(receivers take time to recover). Each aircraft draws its response once per zone (random
stream ``[seed, icao24, 8, zone]``, so other aircraft do not change it):

jamming
    the aircraft loses GNSS. A share ``lose_positions`` of the aircraft lose their position
    altogether: their airborne position messages carry no position (TC 0, altitude only) and
    their surface position messages stop. The others keep reporting their (true, inertial)
    position with a degraded NIC (the position messages' type code: NIC 0 is TC 18) and a
    degraded NACp in their operational status messages, drawn per aircraft from the zone's
    ``nic`` / ``nacp`` (default 0).
spoofing
    the aircraft's GNSS is captured: its position messages report ``spoof_lat``/``spoof_lon``
    (every affected aircraft at the same point, a frozen position), or, with
    ``spoof_radius_nm`` > 0, a point on the circle of that radius around it, starting at the
    bearing of the aircraft's true position and moving along the circle at its true ground
    speed. NIC and NACp stay as they were unless the zone gives ``nic`` / ``nacp``. Velocity
    messages, barometric altitudes and the Mode S replies stay true (inertial and air data).
    With ``spoof_alt_ft``, the GNSS height in the velocity messages is that value.

GNSS height: in a scenario with zones, every ADS-B aircraft's velocity messages carry the
GNSS − barometric altitude difference (a constant per aircraft, −200..200 ft in 25 ft
steps); jamming makes it unavailable, spoofing with ``spoof_alt_ft`` makes it
``spoof_alt_ft − altitude``. Scenarios without zones send it as unavailable, as before.

Where zones overlap, the first one listed wins: a transmission is affected by one zone at
most, so the truth says exactly what each message carries. Aircraft without ADS-B
(``adsb = false``) send nothing GNSS-derived and are never affected.

:func:`apply` changes a schedule's ``rep_lat``, ``rep_lon``, ``nic``, ``nacp``,
``gnss_diff_ft`` columns and returns the episodes for the truth
(``interference.parquet``): per aircraft and zone, contiguous affected spans (a gap of more
than ``EPISODE_GAP_S`` between affected transmissions starts a new one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tailwatch.reference.geo import (
    EARTH_RADIUS_M,
    M_PER_NM,
    destination_deg,
    distance_m,
    initial_bearing_deg,
)
from tailwatch.simulate import transmit as tx
from tailwatch.simulate.scenario import InterferenceSpec

F64 = npt.NDArray[np.float64]
EPISODE_GAP_S = 30.0
DEGRADED, POSITIONS_LOST, SPOOFED = "degraded", "positions_lost", "spoofed"


@dataclass(frozen=True, slots=True)
class Episode:
    """One aircraft affected by one zone for a while (times: first and last affected
    transmission)."""

    icao24: int
    zone: str
    kind: str  # jamming / spoofing
    effect: str  # degraded / positions_lost / spoofed
    start_t: float
    end_t: float
    nic: int  # NIC of the position messages (-1: no position sent)
    nacp: int
    lat: float  # true position at the start
    lon: float
    reported_lat: float  # reported position at the start (NaN: none)
    reported_lon: float
    messages: int  # transmissions affected (any kind)


def affected(z: InterferenceSpec, t: F64, lat: F64, lon: F64) -> npt.NDArray[np.bool_]:
    """Transmissions (time-ordered) affected by zone ``z``: inside while it is active, or
    within ``recovery_s`` after the last time inside."""
    active = (t >= z.start) & (t <= z.end)
    inside = np.zeros(t.shape, dtype=bool)
    near = active & (np.abs(lat - z.lat) <= z.radius_nm / 60.0 + 0.01)
    if near.any():
        idx = np.flatnonzero(near)
        inside[idx] = distance_m(z.lat, z.lon, lat[idx], lon[idx]) <= z.radius_nm * M_PER_NM
    if z.recovery_s <= 0 or not inside.any():
        return inside
    last = np.maximum.accumulate(np.where(inside, t, -np.inf))
    return np.asarray(inside | (t - last <= z.recovery_s), dtype=bool)


def _draw(r: tuple[int, int] | None, rng: np.random.Generator, default: int) -> int:
    if r is None:
        return default
    return int(rng.integers(r[0], r[1] + 1))


def apply(s: tx.Schedule, zones: tuple[InterferenceSpec, ...], seed: int, part: int
          ) -> tuple[tx.Schedule, list[Episode]]:  # fmt: skip
    """Apply the zones to one aircraft's time-ordered schedule (``part``: its stream id);
    returns the schedule (rows may be dropped: lost surface positions) and the episodes."""
    if not zones or not np.isin(s["kind"], tx.ADSB_KINDS).any():
        return s, []  # nothing GNSS-derived is sent (Mode S only): nothing to affect
    t = s["t"]
    icao = int(s["icao24"][0])
    # with zones in the scenario, velocity messages state the GNSS height: true, a constant
    # per-aircraft difference from the barometric altitude (no weather model)
    base_rng = np.random.default_rng([seed, icao, part, 1_000_000])
    s["gnss_diff_ft"][:] = 25.0 * np.round(base_rng.uniform(-200.0, 200.0) / 25.0)
    is_air = s["kind"] == tx.AIR_POS
    is_pos = is_air | (s["kind"] == tx.SURF_POS)
    drop = np.zeros(t.size, dtype=bool)
    taken = np.zeros(t.size, dtype=bool)
    episodes: list[Episode] = []
    for zi, z in enumerate(zones):
        hit = affected(z, t, s["lat"], s["lon"]) & ~taken
        taken |= hit
        if not hit.any():
            continue
        rng = np.random.default_rng([seed, icao, part, zi])
        nic = _draw(z.nic, rng, tx.NIC_DEFAULT)
        nacp = _draw(z.nacp, rng, tx.NACP_DEFAULT)
        effect = SPOOFED
        if z.kind == "jamming":
            lost = rng.random() < z.lose_positions
            effect = POSITIONS_LOST if lost else DEGRADED
            s["nic"][hit] = nic
            s["nacp"][hit] = nacp
            s["gnss_diff_ft"][hit] = np.nan  # no GNSS height
            if lost:
                s["rep_lat"][hit & is_air] = np.nan
                s["rep_lon"][hit & is_air] = np.nan
                drop |= hit & ~is_air & is_pos
        else:
            s["nic"][hit] = nic
            s["nacp"][hit] = nacp
            _spoof(s, hit, z)
            if not np.isnan(z.spoof_alt_ft):
                s["gnss_diff_ft"][hit] = z.spoof_alt_ft - s["alt_ft"][hit]
        for a, b in _runs(t, hit):
            ok = is_pos[a:b] & ~drop[a:b]
            first = a + int(np.argmax(ok)) if ok.any() else a
            episodes.append(Episode(
                icao24=icao, zone=z.name, kind=z.kind, effect=effect,
                start_t=float(t[a]), end_t=float(t[b - 1]),
                nic=-1 if effect == POSITIONS_LOST else nic, nacp=nacp,
                lat=float(s["lat"][a]), lon=float(s["lon"][a]),
                reported_lat=float(s["rep_lat"][first]) if ok.any() else np.nan,
                reported_lon=float(s["rep_lon"][first]) if ok.any() else np.nan,
                messages=int(hit[a:b].sum()),
            ))  # fmt: skip
    if drop.any():
        s = tx.take(s, ~drop)
    return s, episodes


def _spoof(s: tx.Schedule, hit: npt.NDArray[np.bool_], z: InterferenceSpec) -> None:
    """Reported positions of the affected rows: the spoofed point, or moving on a circle."""
    idx = np.flatnonzero(hit)
    if z.spoof_radius_nm <= 0:
        s["rep_lat"][idx] = z.spoof_lat
        s["rep_lon"][idx] = z.spoof_lon
        return
    for a, b in _runs(s["t"][idx], np.ones(idx.size, dtype=bool)):
        rows = idx[a:b]
        r0 = rows[0]
        b0 = float(initial_bearing_deg(z.spoof_lat, z.spoof_lon, s["lat"][r0], s["lon"][r0]))
        t = s["t"][rows]
        dt = np.diff(t, prepend=t[0])
        travelled_m = np.cumsum(s["gs_kt"][rows] * dt) * M_PER_NM / 3600.0
        radius_m = z.spoof_radius_nm * M_PER_NM
        # angle along the circle (small-circle radius on the sphere: R sin(r/R))
        angle = np.degrees(travelled_m / (EARTH_RADIUS_M * np.sin(radius_m / EARTH_RADIUS_M)))
        lat, lon = destination_deg(z.spoof_lat, z.spoof_lon, b0 + angle, radius_m)
        s["rep_lat"][rows] = lat
        s["rep_lon"][rows] = lon


def _runs(t: F64, mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """[a, b) index runs of ``mask`` rows, split where affected rows are more than
    ``EPISODE_GAP_S`` apart."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    cut = np.flatnonzero(np.diff(t[idx]) > EPISODE_GAP_S) + 1
    starts = np.concatenate([[0], cut])
    ends = np.concatenate([cut, [idx.size]])
    return [(int(idx[a]), int(idx[b - 1]) + 1) for a, b in zip(starts, ends, strict=True)]
