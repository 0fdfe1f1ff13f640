"""Events read from the decided rows of one aircraft: squawk changes and emergencies, GNSS
degradation, implausible jumps, go-arounds (with their approach), orbits.

Functions of :class:`~tailwatch.detect.flights.FlightDetector` (bound as its methods); rules
in docs/events.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from tailwatch.core.schema import EMERGENCY_LABELS
from tailwatch.detect import events as ev
from tailwatch.detect import places as pl
from tailwatch.detect.columns import concat, n_rows, take
from tailwatch.detect.state import (
    AIR,
    AircraftState,
)

if TYPE_CHECKING:
    from tailwatch.detect.flights import FlightDetector


def _row_events(det: FlightDetector, ac: AircraftState, lo: int, hi: int) -> None:
    p = det.p
    b = ac.buf
    t = b["t"][lo:hi]
    fs = b["_fs"][lo:hi]

    def fid(i: int) -> str:
        s = int(fs[i])
        return ac.serials[s] if s >= 0 else ""

    sq = b["squawk"][lo:hi].astype(np.int64)
    rows, t0, old, new = ev.code_changes(t, sq, p.squawk_confirm_n, ac.squawk_state)
    for r, tt, o, nw in zip(rows.tolist(), t0.tolist(), old.tolist(), new.tolist(),
                            strict=True):
        i = lo + r
        lat, lon = float(b["lat"][i]), float(b["lon"][i])
        if o >= 0:
            det._events.add(tt, ac.icao, fid(r), "squawk_change", lat=lat, lon=lon,
                             details={"from": f"{o:04d}", "to": f"{nw:04d}"})
        if nw in ev.EMERGENCY_SQUAWKS:
            det._events.add(tt, ac.icao, fid(r), "emergency", lat=lat, lon=lon, details={
                "squawk": f"{nw:04d}", "meaning": ev.EMERGENCY_SQUAWKS[nw],
                "previous_squawk": f"{o:04d}" if o >= 0 else None,
                "altitude_ft": float(b["_alt"][i]), "source": "squawk"})
    em = b["emergency"][lo:hi].astype(np.int64)
    if (em >= 0).any():
        rows, t0, old, new = ev.code_changes(t, em, p.squawk_confirm_n, ac.emerg_state)
        for r, tt, _o, nw in zip(rows.tolist(), t0.tolist(), old.tolist(), new.tolist(),
                                 strict=True):
            if nw <= 0:
                continue
            i = lo + r
            label = EMERGENCY_LABELS[nw] if nw < len(EMERGENCY_LABELS) else str(nw)
            det._events.add(tt + 1e-3, ac.icao, fid(r), "emergency",
                             lat=float(b["lat"][i]), lon=float(b["lon"][i]),
                             details={"adsb_emergency": label, "source": "adsb",
                                      "squawk": int(b["squawk"][i])})
    airborne = b["_st"][lo:hi] == AIR
    if airborne.any():
        rows, t0 = ev.gnss_degradations(
            t, b["nic"][lo:hi].astype(np.int64), b["nacp"][lo:hi].astype(np.int64),
            airborne, p.gnss_good_nic, p.gnss_bad_nic, p.gnss_good_nacp, p.gnss_bad_nacp,
            p.gnss_min_n, ac.gnss_state,
        )
        for r, tt in zip(rows.tolist(), t0.tolist(), strict=True):
            i = lo + r
            det._events.add(tt, ac.icao, fid(r), "gnss_degradation",
                             lat=float(b["lat"][i]), lon=float(b["lon"][i]), details={
                                 "nic": int(b["nic"][i]), "nacp": int(b["nacp"][i]),
                                 "altitude_ft": float(b["_alt"][i])})
    det._jumps(ac, lo, hi)
    if airborne.any():
        det._go_arounds(ac, hi)
        det._orbits(ac, lo, hi)


def _jumps(det: FlightDetector, ac: AircraftState, lo: int, hi: int) -> None:
    p = det.p
    b = ac.buf
    a = max(lo, 1)
    if hi <= a:
        return
    dt = b["t"][a:hi] - b["t"][a - 1:hi - 1]
    d_nm = b["_step"][a:hi]
    v = d_nm / np.maximum(dt, 1e-3) * 3600.0
    bad = np.flatnonzero((v > p.jump_max_kt) & (d_nm >= p.jump_min_nm))
    for k in bad.tolist():
        i = a + k
        ti = float(b["t"][i])
        if ti - ac.last_jump_t < p.implausible_every_s:
            continue
        ac.last_jump_t = ti
        s = int(b["_fs"][i])
        det._events.add(ti, ac.icao, ac.serials[s] if s >= 0 else "",
                         "implausible_position", lat=float(b["lat"][i]),
                         lon=float(b["lon"][i]), details={
                             "reason": "jump", "distance_nm": float(d_nm[k]),
                             "dt_s": float(dt[k]), "implied_kt": float(v[k])})


def _implausible_counts(det: FlightDetector, icao: int, counts: Mapping[str, int]) -> None:
    """Positions the tracker rejected: one event per ``implausible_every_s`` at most per
    aircraft (counts in between are added to the next one)."""
    if not any(int(v) > 0 for v in counts.values()):
        return
    ac = det._aircraft.get(icao)
    if ac is None:
        ac = det._aircraft[icao] = det._new_aircraft(icao)
    for k, v in counts.items():
        if int(v) > 0:
            ac.rejected[str(k)] = ac.rejected.get(str(k), 0) + int(v)
    if not ac.rejected:
        return
    t, lat, lon = det.now, math.nan, math.nan
    if n_rows(ac.buf):
        b = ac.buf
        t, lat, lon = float(b["t"][-1]), float(b["lat"][-1]), float(b["lon"][-1])
    if t - ac.last_jump_t < det.p.implausible_every_s:
        return
    ac.last_jump_t = t
    det._events.add(t, icao, det._fid(ac), "implausible_position", lat=lat, lon=lon,
                     details={"reason": "tracker_rejects", **ac.rejected})
    ac.rejected = {}


def _go_arounds(det: FlightDetector, ac: AircraftState, hi: int) -> None:
    p = det.p
    b = ac.buf
    h = b["_h"][:hi]
    low = (b["_st"][:hi] == AIR) & (h < p.go_around_max_height_ft)
    if not low.any():
        return
    ok = (b["_st"][:hi] == AIR) & (b["on_ground"][:hi] != 1)
    ok &= ~(b["_aptd"][:hi] > p.go_around_airport_nm)
    lows, confirms = ev.go_around_scan(
        b["t"][:hi], b["_alt"][:hi], np.where(np.isfinite(h), h, np.inf), ok,
        p.go_around_max_height_ft, p.go_around_descent_ft, p.go_around_climb_ft,
        p.go_around_window_s,
    )
    info = pl.airport_info()
    for lo_i, c_i in zip(lows.tolist(), confirms.tolist(), strict=True):
        tc = float(b["t"][c_i])
        if tc <= ac.ga_watermark:
            continue
        ac.ga_watermark = tc
        apt = int(b["_apt"][lo_i])
        code = info.icao(apt)
        t_lo = float(b["t"][lo_i])
        approach = det._go_around_approach(ac, code, lo_i, ok[:hi], hi)
        if approach is None:
            continue
        runway, n_app, offset_m, along_m = approach
        s = int(b["_fs"][lo_i])
        fid = ac.serials[s] if s >= 0 else ""
        det._events.add(t_lo, ac.icao, fid, "go_around", airport=code,
                         lat=float(b["lat"][lo_i]), lon=float(b["lon"][lo_i]), details={
                             "runway": runway, "lowest_height_ft": float(b["_h"][lo_i]),
                             "lowest_altitude_ft": float(b["_alt"][lo_i]),
                             "climb_confirmed_t": tc,
                             "climb_ft": float(b["_alt"][c_i] - b["_alt"][lo_i]),
                             "airport_distance_nm": float(b["_aptd"][lo_i]),
                             "approach_points": n_app,
                             "centreline_offset_m": round(offset_m, 1),
                             "lowest_along_m": round(along_m, 1)})
        det._military_visit(ac, code, t_lo, float(b["lat"][lo_i]), float(b["lon"][lo_i]),
                             "go_around", fid)


def _go_around_approach(det: FlightDetector, ac: AircraftState, code: str, lo_i: int,
                        ok: npt.NDArray[np.bool_], hi: int,
                        ) -> tuple[str, int, float, float] | None:
    """The runway a go-around's approach came down on, or ``None`` without a real
    approach: the lowest point on a runway end's axis before its far end (not on the
    climb-out), with at least ``go_around_min_approach_n`` airborne positions of the
    ``go_around_approach_s`` before it on the same axis, further back on it and higher.
    Returns (runway, approach positions, median |offset| m, along m of the lowest)."""
    p = det.p
    b = ac.buf
    t_lo = float(b["t"][lo_i])
    rows = np.flatnonzero((b["t"][:hi] >= t_lo - p.go_around_approach_s)
                          & (b["t"][:hi] <= t_lo) & ok)
    if rows.size == 0 or rows[-1] != lo_i:
        return None
    m = pl.match_runway_ends(code, b["lat"][rows], b["lon"][rows], b["_trk"][rows])
    e_lo = int(m.end_index[-1])
    if e_lo < 0:
        return None
    length = float(pl.default_runways().ends.length_m[e_lo])
    along_lo = float(m.along_m[-1])
    if along_lo > length:
        return None  # past the far end: a dip on the climb-out, not an approach
    alt = b["_alt"][rows]
    app = (m.end_index[:-1] == e_lo) & (m.along_m[:-1] < along_lo) & (
        alt[:-1] > alt[-1])
    n_app = int(app.sum())
    if n_app < p.go_around_min_approach_n:
        return None
    offs = np.abs(m.offset_m[:-1][app])
    return str(m.runway_ident[-1]), n_app, float(np.median(offs)), along_lo


def _orbits(det: FlightDetector, ac: AircraftState, lo: int, hi: int) -> None:
    p = det.p
    b = ac.buf
    if n_rows(ac.orbit) and math.floor(b["t"][hi - 1] / p.orbit_sample_s) <= math.floor(
            ac.orbit["t"][-1] / p.orbit_sample_s):
        return  # no new sample yet
    air = np.flatnonzero(b["_st"][lo:hi] == AIR) + lo
    if air.size == 0:
        return
    t = b["t"][air]
    # one sample per orbit_sample_s: the first row of each time bucket after the last one
    bucket = np.floor(t / p.orbit_sample_s)
    first = np.r_[True, bucket[1:] != bucket[:-1]]
    if n_rows(ac.orbit):
        first &= bucket > math.floor(float(ac.orbit["t"][-1]) / p.orbit_sample_s)
    rows = air[first]
    if rows.size == 0:
        return
    part = {"t": b["t"][rows], "lat": b["lat"][rows], "lon": b["lon"][rows],
            "trk": b["_trk"][rows], "fs": b["_fs"][rows].astype(np.int64)}
    start = n_rows(ac.orbit)
    ac.orbit = concat([ac.orbit, part]) if start else part
    o = ac.orbit
    found, froms, turns, radii = ev.orbit_scan(
        o["t"], o["lat"], o["lon"], o["trk"], start, p.orbit_window_s, p.orbit_turn_deg,
        p.orbit_max_step_s, p.orbit_max_radius_nm, ac.orbit_state,
    )
    for i, j, turn, r in zip(found.tolist(), froms.tolist(), turns.tolist(), radii.tolist(),
                             strict=True):
        s = int(o["fs"][i])
        la = float(np.degrees(np.arcsin(np.clip(ac.orbit_state[3], -1, 1))))
        lo_ = float(np.degrees(np.arctan2(ac.orbit_state[2], ac.orbit_state[1])))
        near, dist = pl.nearest(la, lo_, 30.0)
        k0 = int(near.reshape(-1)[0])
        code = pl.airport_info().icao(k0) if k0 >= 0 else ""
        det._events.add(float(o["t"][i]), ac.icao, ac.serials[s] if s >= 0 else "",
                         "orbit", lat=la, lon=lo_, details={
                             "turn_deg": turn, "direction": "right" if turn > 0 else "left",
                             "start_t": float(o["t"][j]),
                             "duration_s": float(o["t"][i] - o["t"][j]),
                             "radius_nm": r, "nearest_airport": code,
                             "nearest_airport_nm": float(dist.reshape(-1)[0]) if code
                             else None})
    # keep the samples of the last window
    keep = o["t"] >= o["t"][-1] - p.orbit_window_s
    if not keep[0]:
        ac.orbit = take(o, keep)
