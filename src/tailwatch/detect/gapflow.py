"""Coverage gaps: what an aircraft did while unseen (direct leg, stop at one airport, probable
stop elsewhere, unseen landing or take-off, unseen flight between two airports).

Functions of :class:`~tailwatch.detect.flights.FlightDetector` (bound as its methods); rules
in docs/events.md, "Itineraries and legs out of coverage".
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from tailwatch.detect import places as pl
from tailwatch.detect.gaps import AirportStop, airport_stop, implausibly_slow
from tailwatch.detect.itinerary import Fix, Leg, analyse_leg, unseen_move_confidence
from tailwatch.detect.state import (
    AIR,
    GROUND,
    AircraftState,
    FlightState,
)

if TYPE_CHECKING:
    from tailwatch.detect.flights import FlightDetector


def _gap(det: FlightDetector, ac: AircraftState, a: int, st: int, gap: float) -> None:
    p = det.p
    det._resolve_due(ac, force=True)
    prev_state = ac.state
    last = det._fix(ac, ac.n_done - 1)
    nxt = det._fix(ac, a)
    if prev_state == AIR:
        det._leave(ac, ac.n_done - 1)
        if gap > p.flight_gap_s and ac.flight is not None:
            det._close(ac, ac.flight, AIR)  # as live, where it closes while silent
        f = ac.flight or (ac.closed if ac.reopenable else None)
        if st == AIR:
            det._reappear_airborne(ac, f, last, nxt, a, gap)
        else:
            det._landed_unseen(ac, f, last, a, gap)
            det._ground_start(ac, a)
    else:
        if ac.flight is not None:
            det._resolve_flight(ac, ac.flight)
            det._close(ac, ac.flight, GROUND)
        here = ac.ground_airport
        ground_fix = ac.ground_fix or last
        if st == AIR:
            nf = det._new_flight(ac, nxt.t)
            ac.flight = nf
            if here:
                info = pl.airport_info()
                i = info.index(here)
                d = pl.distance_between_nm(float(info.table.lat_deg[i]),
                                           float(info.table.lon_deg[i]), nxt.lat, nxt.lon)
                conf, how = unseen_move_confidence(gap, d, det._speed_guess(nxt), p)
                nf.origin.link = (here, conf, "unseen_takeoff")
                det._events.add(nxt.t, ac.icao, nf.flight_id, "enter_coverage",
                                 lat=nxt.lat, lon=nxt.lon, details={
                                     "gap_s": gap, "last_seen_on_ground_at": here,
                                     "distance_nm": d, "verdict": how,
                                     "origin_confidence": conf})
            else:
                det._events.add(nxt.t, ac.icao, nf.flight_id, "enter_coverage",
                                 lat=nxt.lat, lon=nxt.lon, details={"gap_s": gap})
            ac.pre_t, ac.pre_cs = np.zeros(0), np.zeros(0, "S8")
        else:
            there = det._airport_at(ac, a)
            if here and there and here != there:
                det._inferred_leg(ac, here, there, last.t, nxt.t, ground_fix, nxt)
            if not (here and there and here == there):
                ac.pre_t, ac.pre_cs = np.zeros(0), np.zeros(0, "S8")
                det._ground_start(ac, a)


def _speed_guess(det: FlightDetector, fx: Fix) -> float:
    if math.isfinite(fx.gs_kt) and fx.gs_kt > 100.0:
        return fx.gs_kt
    return det.p.default_cruise_kt


def _leave(det: FlightDetector, ac: AircraftState, i: int) -> None:
    if ac.left_coverage:
        return
    ac.left_coverage = True
    fx = det._fix(ac, i)
    det._events.add(fx.t, ac.icao, det._fid(ac) or (
        ac.closed.flight_id if ac.closed is not None and ac.reopenable else ""),
        "leave_coverage", lat=fx.lat, lon=fx.lon, details={
            "altitude_ft": fx.alt_ft, "gs_kt": fx.gs_kt, "track_deg": fx.track_deg})


def _reappear_airborne(det: FlightDetector, ac: AircraftState, f: FlightState | None,
                       last: Fix, nxt: Fix, a: int,
                       gap: float) -> None:
    p = det.p
    ac.left_coverage = False
    if f is None:
        nf = det._new_flight(ac, nxt.t)
        ac.flight = nf
        det._events.add(nxt.t, ac.icao, nf.flight_id, "enter_coverage", lat=nxt.lat,
                         lon=nxt.lon, details={"gap_s": gap})
        return
    cruise = f.cruise_kt(p.default_cruise_kt)
    if math.isfinite(nxt.gs_kt) and nxt.alt_ft >= 20_000.0:
        cruise = 0.5 * (cruise + nxt.gs_kt) if f.hi_n else nxt.gs_kt
    prior: dict[str, float] = {}
    for c in f.destination.guess:
        prior[c.airport] = prior.get(c.airport, 0.0) + c.confidence
    b = ac.buf
    climb = det._guess_from(ac, f, b["t"][a:a + 1], b["lat"][a:a + 1], b["lon"][a:a + 1],
                             b["_alt"][a:a + 1], b["_trk"][a:a + 1],
                             b["vrate_fpm"][a:a + 1], b["_apt"][a:a + 1],
                             b["_h"][a:a + 1], ahead=False)
    for c in climb:
        prior[c.airport] = prior.get(c.airport, 0.0) + c.confidence
    need = det._runway_need(ac, f)
    op = det._operator(ac, f)
    if implausibly_slow(last, nxt, cruise, p):
        if not f.destination.guess:  # the approach before the gap, if any
            det._guess_destination(ac, f)
        near = dict(prior)
        for c in f.destination.guess:
            near[c.airport] = near.get(c.airport, 0.0) + c.confidence
        stop = airport_stop(last, nxt, need, op, near, p)
        if stop is not None:
            det._stop_at_airport(ac, f, last, nxt, stop)
            return
    leg = analyse_leg(last, nxt, cruise, need, prior, p, operator=op)
    if gap <= p.flight_gap_s or leg.verdict == "direct":
        if ac.flight is None:
            det._reopen(ac, f)
        details = leg.details()
        det._events.add(nxt.t, ac.icao, f.flight_id, "enter_coverage", lat=nxt.lat,
                         lon=nxt.lon, details={**details, "verdict": "direct"})
        return
    nf = det._new_flight(ac, nxt.t)
    ac.flight = nf
    det._stop_inferred(ac, f, nf, last, leg)
    det._events.add(nxt.t, ac.icao, nf.flight_id, "enter_coverage", lat=nxt.lat,
                     lon=nxt.lon, details=leg.details())


def _stop_at_airport(det: FlightDetector, ac: AircraftState, f: FlightState, last: Fix, nxt: Fix,
                     stop: AirportStop) -> None:
    """A landing and a take-off at one airport inside the gap (detect/gaps.py)."""
    # the landing may have been reported already, when the flight closed while the
    # aircraft was silent (flight_gap_s): then only at another airport again
    reported = f.air_end_reported and bool(f.destination.guess) and (
        f.destination.guess[0].airport == stop.airport)
    f.destination.link = (stop.airport, stop.confidence, "stop_in_gap")
    f.air_end_reported = True
    if not f.closed:
        det._close(ac, f, AIR)
    det._out[f.flight_id] = f
    ac.reopenable = False
    nf = det._new_flight(ac, nxt.t)
    nf.origin.link = (stop.airport, stop.confidence, "stop_in_gap")
    ac.flight = nf
    info = pl.airport_info()
    i = info.index(stop.airport)
    lat, lon = float(info.table.lat_deg[i]), float(info.table.lon_deg[i])
    details = stop.details(nxt.t - last.t)
    rw_in = f.destination.guess[0].evidence.get("runway", "") if (
        f.destination.guess and f.destination.guess[0].airport == stop.airport) else ""
    common = {"seen": False, "inferred_from": "gap", "confidence": round(stop.confidence, 3),
              "landing_after_t": details["landing_after_t"],
              "takeoff_before_t": details["takeoff_before_t"]}
    fit = f.destination.guess[0].evidence if rw_in else {}
    if not reported:
        det._events.add(stop.landing_after_t, ac.icao, f.flight_id, "landing",
                         airport=stop.airport, lat=lat, lon=lon,
                         details={**common, "runway": rw_in, **{
                             k: v for k, v in fit.items() if k.startswith("runway_")}})
    det._events.add(stop.landing_after_t + 1e-3, ac.icao, f.flight_id, "inferred_stop",
                     airport=stop.airport, lat=lat, lon=lon,
                     details={**details, "next_flight_id": nf.flight_id,
                              "last_seen_t": last.t})
    det._events.add(stop.takeoff_before_t, ac.icao, nf.flight_id, "takeoff",
                     airport=stop.airport, lat=lat, lon=lon,
                     details={**common, "runway": ""})
    det._events.add(nxt.t, ac.icao, nf.flight_id, "enter_coverage", lat=nxt.lat,
                     lon=nxt.lon, details=details)
    det._military_visit(ac, stop.airport, stop.landing_after_t, lat, lon, "landing_unseen",
                         f.flight_id)
    ac.visit += 1


def _stop_inferred(det: FlightDetector, ac: AircraftState, f: FlightState, nf: FlightState,
                   last: Fix,
                   leg: Leg) -> None:
    info = pl.airport_info()
    best = leg.candidates[0] if leg.candidates else None
    if best is not None:
        f.destination.link = (best.airport, best.confidence, "inferred_stop")
        nf.origin.link = (best.airport, best.confidence, "inferred_stop")
        i = info.index(best.airport)
        lat, lon = float(info.table.lat_deg[i]), float(info.table.lon_deg[i])
        t_stop = last.t + best.evidence["from_last_seen_nm"] / leg.cruise_kt * 3600.0
    else:
        lat = lon = math.nan
        t_stop = last.t
    det._out[f.flight_id] = f
    ac.reopenable = False
    det._events.add(t_stop, ac.icao, f.flight_id, "inferred_stop",
                     airport=best.airport if best else "", lat=lat, lon=lon,
                     details={**leg.details(), "next_flight_id": nf.flight_id,
                              "last_seen_t": last.t})


def _landed_unseen(det: FlightDetector, ac: AircraftState, f: FlightState | None, last: Fix, a: int,
                   gap: float) -> None:
    there = det._airport_at(ac, a)
    if f is None:
        return
    if there:
        info = pl.airport_info()
        i = info.index(there)
        d = pl.distance_between_nm(last.lat, last.lon, float(info.table.lat_deg[i]),
                                   float(info.table.lon_deg[i]))
        conf, how = unseen_move_confidence(gap, d, f.cruise_kt(det.p.default_cruise_kt),
                                           det.p)
        f.destination.link = (there, conf, "unseen_landing_" + how)
    if not f.closed:
        det._close(ac, f, GROUND)
    else:
        det._out[f.flight_id] = f
    ac.reopenable = False
    ac.left_coverage = False


def _inferred_leg(det: FlightDetector, ac: AircraftState, here: str, there: str, t0: float,
                  t1: float,
                  a: Fix, b: Fix) -> None:
    p = det.p
    d = pl.distance_between_nm(a.lat, a.lon, b.lat, b.lon)
    conf, how = unseen_move_confidence(t1 - t0, d, p.default_cruise_kt * 1.8, p)
    f = det._new_flight(ac, t0)
    f.last_seen = t1
    f.inferred = True
    f.origin.link = (here, 0.9, "last_seen_on_ground")
    f.destination.link = (there, 0.9, "next_seen_on_ground")
    f.closed = True
    ac.closed = f
    det._out[f.flight_id] = f
    det._events.add(t1, ac.icao, f.flight_id, "enter_coverage", airport=there,
                     lat=b.lat, lon=b.lon, details={
                         "gap_s": t1 - t0, "unseen_flight_from": here, "to": there,
                         "distance_nm": d, "verdict": how, "confidence": conf})
