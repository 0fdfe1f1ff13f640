"""Airports and runways of flights seen only in the air: the airport ahead of a descent or
behind a climb, the runway the track fits (detect/attribution.py), the runway each type needs,
the operator kind, and the unseen take-off and landing events they give.

Functions of :class:`~tailwatch.detect.flights.FlightDetector` (bound as its methods); rules
in docs/events.md, "Flights seen only in the air".
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from tailwatch.detect import attribution as at
from tailwatch.detect import places as pl
from tailwatch.detect.columns import n_rows
from tailwatch.detect.state import (
    AIR,
    F64,
    AircraftState,
    FlightState,
    inferred_details,
    time_to,
)
from tailwatch.reference.types import runway_need_ft

if TYPE_CHECKING:
    from tailwatch.detect.flights import FlightDetector


def _report_air_ends(det: FlightDetector, ac: AircraftState, f: FlightState,
                     end_state: int) -> None:
    """An air start or end whose track fits a runway (detect/attribution.py) is an unseen
    take-off or landing there: an event with ``seen: false``, the estimated time, the
    fit, the candidates and the runner-up."""
    p = det.p
    g = f.destination.guess
    if (end_state == AIR and not f.air_end_reported and f.destination.link is None
            and g and g[0].evidence.get("runway") and f.last_air is not None):
        f.air_end_reported = True
        fx = f.last_air
        t_land = fx.t + time_to(g[0].evidence, fx.gs_kt, p)
        det._events.add(t_land, ac.icao, f.flight_id, "landing", airport=g[0].airport,
                        lat=fx.lat, lon=fx.lon, details=inferred_details(g, "last_seen_t", fx.t))
        det._military_visit(ac, g[0].airport, t_land, fx.lat, fx.lon, "landing_unseen",
                            f.flight_id)
    g = f.origin.guess
    if (not f.air_start_reported and f.origin.seen is None and f.origin.link is None
            and g and g[0].evidence.get("runway") and f.first_air is not None):
        f.air_start_reported = True
        fx = f.first_air
        t_off = fx.t - time_to(g[0].evidence, fx.gs_kt, p)
        det._events.add(t_off, ac.icao, f.flight_id, "takeoff", airport=g[0].airport,
                        lat=fx.lat, lon=fx.lon, details=inferred_details(g, "first_seen_t", fx.t))
        det._military_visit(ac, g[0].airport, t_off, fx.lat, fx.lon, "takeoff_unseen",
                            f.flight_id)


def _runway_need(det: FlightDetector, ac: AircraftState, f: FlightState | None) -> float:
    if ac.icao in det.min_runway:
        return float(det.min_runway[ac.icao])
    if ac.icao in det.types:
        need = runway_need_ft(det.types[ac.icao])
        if math.isfinite(need):
            return need
    v = f.cruise_kt(0.0) if f is not None else 0.0
    if v >= 380.0:
        return det.p.stop_runway_ft
    if v >= 200.0:
        return 4000.0
    return 2000.0


def _operator(det: FlightDetector, ac: AircraftState, f: FlightState | None) -> str:
    names = list(f.callsigns) if f is not None else []
    return at.operator_kind(names, ac.icao in det.military)


def _guess_destination(det: FlightDetector, ac: AircraftState, f: FlightState) -> None:
    p = det.p
    b = ac.buf
    if f.last_air is None:
        return
    rows = det._window(ac, f.last_air.t - p.descent_window_s, f.last_air.t, AIR)
    rows = rows[b["_fs"][rows] == f.serial]
    f.destination.guess = det._guess(ac, f, rows, ahead=True)


def _guess_origin(det: FlightDetector, ac: AircraftState, f: FlightState) -> None:
    if f.first_air is None or not n_rows(f.head) or math.isfinite(f.takeoff_t):
        return
    h = f.head
    f.origin.guess = det._guess_from(ac, f, h["t"], h["lat"], h["lon"], h["_alt"],
                                      h["_trk"], h["vrate_fpm"], h["_apt"], h["_h"],
                                      ahead=False)


def _guess(det: FlightDetector, ac: AircraftState, f: FlightState, rows: npt.NDArray[np.intp],
           ahead: bool) -> list[pl.Candidate]:
    if rows.size == 0:
        return []
    b = ac.buf
    return det._guess_from(ac, f, b["t"][rows], b["lat"][rows], b["lon"][rows],
                            b["_alt"][rows], b["_trk"][rows], b["vrate_fpm"][rows],
                            b["_apt"][rows], b["_h"][rows], ahead=ahead)


def _guess_from(det: FlightDetector, ac: AircraftState, f: FlightState, t: F64, lat: F64,
                lon: F64, alt: F64,
                trk: F64, vrate: npt.NDArray[np.float32], apt: npt.NDArray[np.int64],
                h: F64, ahead: bool) -> list[pl.Candidate]:
    """Airports ahead of the last positions (``ahead``) or behind the first ones."""
    p = det.p
    end = -1 if ahead else 0
    ok_alt = np.isfinite(alt)
    change, slope, a_end = 0.0, 0.0, math.nan
    if ok_alt.any():
        alts, ts = alt[ok_alt], t[ok_alt]
        change = float(alts[-1] - alts[0])
        span = float(ts[-1] - ts[0])
        slope = change / span * 60.0 if span >= 10.0 else 0.0
        a_end = float(alts[end])
    vr = vrate.astype(np.float64)
    vr_end = float(vr[np.isfinite(vr)][end]) if np.isfinite(vr).any() else math.nan
    down = (change <= -p.descent_min_ft or slope <= -p.descent_min_fpm
            or vr_end <= -p.descent_min_fpm)
    up = change >= p.descent_min_ft or slope >= p.descent_min_fpm or vr_end >= p.descent_min_fpm
    low = bool(np.isfinite(h[end]) and h[end] < 3000.0)
    moving = down if ahead else up
    if not (moving or (low and not (up if ahead else down))):
        return []
    # the runway the end positions fit best (detect/attribution.py)
    need = det._runway_need(ac, f)
    op = det._operator(ac, f)
    sel = np.isfinite(h) & (h < p.runway_max_height_ft)
    fits = at.runway_fits(lat[sel], lon[sel], trk[sel], alt[sel], ahead, need, op, p) \
        if int(sel.sum()) >= 2 else []
    rw_airport, rw_ident = "", ""
    if fits and fits[0].score >= p.runway_fit_min_score:
        rw_airport, rw_ident = fits[0].airport, fits[0].runway
    tr = trk[np.isfinite(trk)]
    trk_end = float(tr[end]) if tr.size else math.nan
    cands = pl.candidates_along(
        float(lat[end]), float(lon[end]), trk_end, a_end, ahead, moving, rw_ident,
        rw_airport, min(need, 4000.0), p, operator=op,
    )
    if cands:
        extra = at.fit_evidence(fits)
        if rw_airport and cands[0].airport == rw_airport:
            cands[0].evidence.update(extra)
        elif extra:
            cands[0].evidence["runway_fit_other_airport"] = extra["runway_fit"]
        pl.add_runner_up(cands)
    return cands
