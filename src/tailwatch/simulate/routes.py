"""Trajectories: a flight plan of waypoints flown by a compiled 1-second integrator.

A leg becomes a list of waypoints, each with a *kind* that says how it is flown:

=============  ==============================================================================
kind           behaviour
=============  ==============================================================================
``GROUND``     taxi at the type's taxi speed, straight at the waypoint (instant turns); the
               last one (the stand) is reached at walking pace
``ROLL``       take-off roll towards the far end of the runway, accelerating at
               ``v_rotate² / (2 · roll_m)``; lift-off at ``v_rotate``, then climb
``AIR``        airborne: turn towards the waypoint at a bank of 25° (at most 3°/s), start the
               next turn early by ``R · tan(Δψ/2)``; climb or descend towards the waypoint's
               altitude (NaN: keep the altitude) at the profile's rate
``LAND``       touchdown point (300 m past the threshold): the aircraft descends along the
               descent ceiling and lands when it gets there
``LOW``        low approach: the same, but the ceiling stops at 200 ft above the runway; the
               aircraft flies over and goes around (the next waypoints are a circuit)
``ROLLOUT``    landing roll: straight along the runway, braking to 20 kt at the exit point
=============  ==============================================================================

Vertical profile. Climbs follow the climb profile (rate by altitude, interpolated). Descents
are planned backwards from each touchdown: a *ceiling* gives, for every distance still to fly
to the touchdown point, the highest altitude from which the aircraft can still get down at
the descent profile's rates and the scheduled speeds, ending on a 3° glide (318 ft/NM) for
the last 3,000 ft. The aircraft flies ``min(climb or cruise altitude, ceiling)``, which is
the usual top-of-descent behaviour without a separate planning step.

Speed schedule (ground speed = true airspeed: no wind): 250 kt up to 10,000 ft, the cruise
speed from 16,000 ft, linear in between; slowing linearly from 250 kt at 20 NM to the approach
speed at 6 NM before a touchdown; at most 1 kt/s of acceleration (1.5 kt/s of deceleration) in
the air. A waypoint may cap the speed.

Everything is integrated with a step of 1 s on a sphere; positions between samples are
interpolated linearly (less than a metre off the great circle at these speeds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.core.errors import ConfigError
from tailwatch.reference.airports import airport
from tailwatch.reference.geo import M_PER_NM, destination_deg, distance_m, initial_bearing_deg
from tailwatch.reference.runways import default_runways
from tailwatch.simulate.scenario import AircraftSpec, LegSpec, Profile, Window

F64 = npt.NDArray[np.float64]

GROUND, ROLL, AIR, LAND, LOW, ROLLOUT = range(6)
EV_LIFTOFF, EV_TOUCHDOWN, EV_GO_AROUND = 1, 2, 3

GLIDE_FT_PER_NM = 318.0  # 3° glide path
GLIDE_HEIGHT_FT = 3000.0
DECISION_HEIGHT_FT = 200.0
TOUCHDOWN_M = 300.0
EXIT_SPEED_KT = 20.0
PREFLIGHT_S = 120.0  # transponder on at the stand before taxi / after arrival
STAND_OFFSET_M = 300.0
DT_S = 1.0
SLOW_FROM_NM = 20.0  # approach: slow down from 250 kt here ...
SLOW_TO_NM = 6.0  # ... to the approach speed here


# ------------------------------------------------------------------------------------------
# Aircraft performance


@dataclass(frozen=True, slots=True)
class Performance:
    """What the integrator needs to know about a type (documented in docs/simulator.md)."""

    v_rotate_kt: float
    v_approach_kt: float
    cruise_kt: float
    cruise_altitude_ft: float
    roll_m: float
    climb: Profile
    descent: Profile
    taxi_kt: float = 15.0
    accel_kt_s: float = 1.0
    bank_deg: float = 25.0
    brake_m_s2: float = 2.0


_JET_CLIMB: Profile = ((0.0, 2500.0), (10000.0, 2200.0), (20000.0, 1700.0), (30000.0, 1000.0),
                       (39000.0, 400.0))  # fmt: skip
_HEAVY_CLIMB: Profile = ((0.0, 2000.0), (10000.0, 1800.0), (20000.0, 1300.0), (30000.0, 700.0),
                         (40000.0, 300.0))  # fmt: skip
_PROP_CLIMB: Profile = ((0.0, 1500.0), (10000.0, 1200.0), (20000.0, 700.0), (27000.0, 300.0))
_DESCENT: Profile = ((0.0, 1000.0), (3000.0, 1500.0), (10000.0, 2200.0), (40000.0, 2500.0))


def _jet(vr: float, vapp: float, cruise: float, alt: float, roll: float) -> Performance:
    return Performance(vr, vapp, cruise, alt, roll, _JET_CLIMB, _DESCENT)


def _heavy(vr: float, vapp: float, cruise: float, alt: float, roll: float) -> Performance:
    return Performance(vr, vapp, cruise, alt, roll, _HEAVY_CLIMB, _DESCENT)


def _prop(vr: float, vapp: float, cruise: float, alt: float, roll: float) -> Performance:
    return Performance(vr, vapp, cruise, alt, roll, _PROP_CLIMB, _DESCENT, accel_kt_s=0.8)


# Rounded public figures (type certificates, manufacturers' brochures): rotation and approach
# speeds, typical cruise TAS and level, take-off roll at a moderate weight.
PERFORMANCE: dict[str, Performance] = {
    "A124": _heavy(145, 140, 430, 33000, 2200),
    "IL62": _heavy(165, 150, 460, 35000, 2500),
    "IL76": _heavy(150, 140, 430, 33000, 1800),
    "IL96": _heavy(160, 145, 470, 37000, 2300),
    "A332": _heavy(155, 140, 470, 38000, 2300),
    "A333": _heavy(155, 140, 470, 38000, 2400),
    "A359": _heavy(155, 140, 488, 39000, 2400),
    "B744": _heavy(165, 150, 490, 35000, 2800),
    "B763": _heavy(150, 140, 460, 36000, 2100),
    "B772": _heavy(160, 145, 480, 37000, 2500),
    "B77W": _heavy(165, 150, 490, 37000, 2800),
    "B788": _heavy(155, 140, 488, 39000, 2300),
    "B789": _heavy(155, 140, 488, 39000, 2400),
    "A319": _jet(140, 130, 447, 37000, 1600),
    "A320": _jet(145, 135, 450, 37000, 1800),
    "A20N": _jet(145, 135, 450, 37000, 1700),
    "A321": _jet(150, 140, 450, 36000, 2000),
    "A21N": _jet(150, 140, 450, 37000, 1900),
    "B737": _jet(145, 135, 450, 37000, 1700),
    "B738": _jet(150, 145, 453, 37000, 1900),
    "B38M": _jet(150, 140, 453, 37000, 1800),
    "B739": _jet(155, 145, 453, 37000, 2000),
    "SU95": _jet(140, 130, 440, 35000, 1700),
    "E170": _jet(130, 125, 430, 35000, 1500),
    "E190": _jet(135, 130, 440, 37000, 1600),
    "E195": _jet(140, 130, 440, 37000, 1700),
    "CRJ2": _jet(140, 135, 430, 35000, 1600),
    "CRJ9": _jet(145, 135, 450, 36000, 1700),
    "AT72": _prop(110, 110, 275, 23000, 1100),
    "AT76": _prop(110, 110, 275, 23000, 1100),
    "DH8D": _prop(115, 120, 360, 25000, 1200),
}
_BY_CATEGORY = {10: "AT72", 11: "A320", 12: "A320", 13: "A333", 14: "A320", 15: "A320"}


def performance(typecode: str, category: int = 11) -> Performance:
    """The performance of a type (ICAO designator), else a typical one for its category."""
    got = PERFORMANCE.get(typecode.upper())
    if got is not None:
        return got
    return PERFORMANCE[_BY_CATEGORY.get(category, "A320")]


# ------------------------------------------------------------------------------------------
# Runways and stands


@dataclass(frozen=True, slots=True)
class RunwayEnd:
    airport: str
    ident: str
    lat: float
    lon: float
    far_lat: float
    far_lon: float
    bearing_deg: float
    length_m: float
    elevation_ft: float


def runway_ends(icao: str) -> list[RunwayEnd]:
    """Usable, open runway ends of an airport whose threshold lies within 8 km of it (the
    OurAirports file has a few runways filed under the wrong airport)."""
    ap = airport(icao)
    ends = default_runways().ends
    rows = np.flatnonzero((ends.airport_ident == icao) & ~ends.closed)
    if rows.size:
        near = distance_m(ap.lat_deg, ap.lon_deg, ends.lat_deg[rows], ends.lon_deg[rows]) < 8000
        rows = rows[near]
    return [
        RunwayEnd(icao, str(ends.ident[r]), float(ends.lat_deg[r]), float(ends.lon_deg[r]),
                  float(ends.far_lat_deg[r]), float(ends.far_lon_deg[r]),
                  float(ends.bearing_deg[r]), float(ends.length_m[r]), ap.elevation_ft)
        for r in rows
    ]  # fmt: skip


def choose_runway(icao: str, direction_deg: float, ident: str | None, min_m: float) -> RunwayEnd:
    """The runway end named ``ident``, else the one best aligned with ``direction_deg`` among
    those at least ``min_m`` long (the longest when none is)."""
    try:
        ends = runway_ends(icao)
    except Exception as exc:  # unknown airport
        raise ConfigError(f"{icao}: unknown airport ({exc})") from None
    if not ends:
        raise ConfigError(f"{icao}: no usable runway in the runway data")
    if ident is not None:
        for end in ends:
            if end.ident == ident.upper():
                return end
        raise ConfigError(f"{icao}: no runway {ident}; has {[x.ident for x in ends]}")
    long_enough = [e for e in ends if e.length_m >= min_m] or [max(ends, key=lambda e: e.length_m)]
    return min(long_enough, key=lambda e: abs(_wrap(e.bearing_deg - direction_deg)))


def stand(icao: str, slot: int) -> tuple[float, float]:
    """Parking position: 300 m off the middle of the airport's longest runway, on the side of
    the airport reference point, moved 80 m along the runway per ``slot`` (-2..2)."""
    ap = airport(icao)
    ends = runway_ends(icao)
    if not ends:
        raise ConfigError(f"{icao}: no usable runway in the runway data")
    e = max(ends, key=lambda x: x.length_m)
    mid_lat, mid_lon = (
        float(v) for v in destination_deg(e.lat, e.lon, e.bearing_deg, e.length_m / 2 + 80.0 * slot)
    )
    side = _wrap(float(initial_bearing_deg(mid_lat, mid_lon, ap.lat_deg, ap.lon_deg))
                 - e.bearing_deg)  # fmt: skip
    off = e.bearing_deg + (-90.0 if side < 0 else 90.0)
    lat, lon = destination_deg(mid_lat, mid_lon, off, STAND_OFFSET_M)
    return float(lat), float(lon)


def _wrap(a: float) -> float:
    return (a + 180.0) % 360.0 - 180.0


def _along(e: RunwayEnd, along_m: float, left_m: float = 0.0) -> tuple[float, float]:
    """A point in the runway frame: ``along_m`` from the threshold, ``left_m`` to the left."""
    lat, lon = destination_deg(e.lat, e.lon, e.bearing_deg, along_m)
    if left_m:
        lat, lon = destination_deg(lat, lon, e.bearing_deg - 90.0, left_m)
    return float(lat), float(lon)


# ------------------------------------------------------------------------------------------
# Flight plans


@dataclass(slots=True)
class Plan:
    """Waypoints of one leg and what the integrator needs besides."""

    lat: list[float]
    lon: list[float]
    kind: list[int]
    alt: list[float]
    speed: list[float]
    elev: list[float]
    start_airborne: bool
    start_alt_ft: float
    start_gs_kt: float
    origin: str
    destination: str
    takeoff_runway: str
    landing_runway: str

    def add(self, p: tuple[float, float], kind: int, alt: float = math.nan,
            speed: float = math.nan, elev: float = 0.0) -> None:  # fmt: skip
        self.lat.append(p[0])
        self.lon.append(p[1])
        self.kind.append(kind)
        self.alt.append(alt)
        self.speed.append(speed)
        self.elev.append(elev)


def plan_leg(leg: LegSpec, perf: Performance, slot: int) -> Plan:
    """The waypoints of a leg: stand, taxi, runway, climb-out, route, approach (with a circuit
    after a go-around), landing roll and taxi to the stand."""
    cruise = leg.cruise_altitude_ft or perf.cruise_altitude_ft
    first_route = leg.via[0] if leg.via else None
    last_route = leg.via[-1] if leg.via else None
    plan = Plan([], [], [], [], [], [], False, 0.0, 0.0, "", "", "", "")
    if isinstance(leg.origin, str):
        ap = airport(leg.origin)
        toward = first_route or _coords(leg.destination)
        direction = float(initial_bearing_deg(ap.lat_deg, ap.lon_deg, toward[0], toward[1]))
        rwy = choose_runway(leg.origin, direction, leg.takeoff_runway, perf.roll_m / 0.8)
        plan.origin, plan.takeoff_runway = leg.origin, rwy.ident
        elev = ap.elevation_ft
        plan.add(stand(leg.origin, slot), GROUND, elev=elev)
        plan.add((rwy.lat, rwy.lon), GROUND, elev=elev)
        plan.add((rwy.far_lat, rwy.far_lon), ROLL, alt=cruise, elev=elev)
        plan.add(_along(rwy, rwy.length_m + 5 * M_PER_NM), AIR, alt=cruise)
        plan.start_alt_ft = elev
    else:
        plan.add(leg.origin, AIR, alt=cruise)
        plan.start_airborne = True
        plan.start_alt_ft = leg.start_altitude_ft or cruise
        plan.start_gs_kt = leg.cruise_speed_kt or perf.cruise_kt
    for p in leg.via:
        plan.add(p, AIR, alt=cruise)
    if isinstance(leg.destination, str):
        ap = airport(leg.destination)
        come_from = last_route or _coords(leg.origin)
        direction = float(initial_bearing_deg(come_from[0], come_from[1], ap.lat_deg, ap.lon_deg))
        rwy = choose_runway(leg.destination, direction, leg.landing_runway, 1500.0)
        plan.destination, plan.landing_runway = leg.destination, rwy.ident
        elev = ap.elevation_ft
        nm = M_PER_NM
        approach = [(-15 * nm, 0.0), (-8 * nm, 0.0), (-4 * nm, 0.0)]
        if leg.go_around:
            for x, y in approach:
                plan.add(_along(rwy, x, y), AIR)
            plan.add(_along(rwy, TOUCHDOWN_M), LOW, elev=elev)
            circuit_alt = elev + 3000.0
            for x, y in ((rwy.length_m + 4 * nm, 0.0), (rwy.length_m + 3 * nm, 4 * nm),
                         (-6 * nm, 4 * nm), (-12 * nm, 2 * nm)):  # fmt: skip
                plan.add(_along(rwy, x, y), AIR, alt=circuit_alt, speed=200.0)
            approach = approach[1:]
        for x, y in approach:
            plan.add(_along(rwy, x, y), AIR)
        plan.add(_along(rwy, TOUCHDOWN_M), LAND, elev=elev)
        exit_m = min(TOUCHDOWN_M + 2000.0, 0.85 * rwy.length_m)
        plan.add(_along(rwy, exit_m), ROLLOUT, elev=elev)
        plan.add(stand(leg.destination, slot), GROUND, elev=elev)
    else:
        plan.destination = ""
        plan.add(leg.destination, AIR, alt=plan.alt[-1] if plan.kind[-1] == AIR else cruise)
    return plan


def _coords(place: str | tuple[float, float]) -> tuple[float, float]:
    if isinstance(place, str):
        ap = airport(place)
        return ap.lat_deg, ap.lon_deg
    return place


# ------------------------------------------------------------------------------------------
# Descent ceilings


def _profile_arrays(profile: Profile) -> tuple[F64, F64]:
    return (np.array([p[0] for p in profile], dtype=np.float64),
            np.array([p[1] for p in profile], dtype=np.float64))  # fmt: skip


N_CEILING = 96


def ceiling_table(elev_ft: float, perf: Performance, descent: Profile) -> tuple[F64, F64]:
    """(distance to touchdown in NM, highest altitude) from the touchdown up to 50,000 ft:
    the 3° glide for the last 3,000 ft, then the descent profile at the scheduled speeds."""
    h = np.linspace(elev_ft, 50000.0, N_CEILING * 8)
    pa, pr = _profile_arrays(descent)
    rate_fpm = np.interp(h, pa, pr)
    speed_kt = np.array([_scheduled_kt(float(x), perf.cruise_kt) for x in h])
    glide = h - elev_ft <= GLIDE_HEIGHT_FT
    nm_per_ft = np.where(glide, 1.0 / GLIDE_FT_PER_NM, (speed_kt / 60.0) / rate_fpm)
    r = np.concatenate([[0.0], np.cumsum(0.5 * (nm_per_ft[1:] + nm_per_ft[:-1]) * np.diff(h))])
    pick = np.linspace(0, h.size - 1, N_CEILING).astype(np.int64)
    return r[pick], h[pick]


# ------------------------------------------------------------------------------------------
# The integrator


@nb.njit(cache=True)
def _interp1(x: float, xp: F64, fp: F64) -> float:
    """np.interp for one value (xp increasing)."""
    n = xp.shape[0]
    if x <= xp[0]:
        return float(fp[0])
    if x >= xp[n - 1]:
        return float(fp[n - 1])
    j = 1
    while xp[j] < x:
        j += 1
    f = (x - xp[j - 1]) / (xp[j] - xp[j - 1])
    return float(fp[j - 1] + f * (fp[j] - fp[j - 1]))


@nb.njit(cache=True)
def _dist_brg(lat1: float, lon1: float, lat2: float, lon2: float) -> tuple[float, float]:
    """Great-circle distance (NM) and initial bearing (deg) on the IUGG mean sphere."""
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    d = 2.0 * math.asin(min(1.0, math.sqrt(a))) * 6371008.8 / 1852.0
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return d, (math.degrees(math.atan2(y, x)) + 360.0) % 360.0


@nb.njit(cache=True)
def _move(lat: float, lon: float, brg: float, d_nm: float) -> tuple[float, float]:
    p1 = math.radians(lat)
    l1 = math.radians(lon)
    b = math.radians(brg)
    d = d_nm * 1852.0 / 6371008.8
    sp2 = math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b)
    p2 = math.asin(max(-1.0, min(1.0, sp2)))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * sp2)
    return math.degrees(p2), (math.degrees(l2) + 540.0) % 360.0 - 180.0


@nb.njit(cache=True)
def _wrap180(a: float) -> float:
    return (a + 540.0) % 360.0 - 180.0


@nb.njit(cache=True)
def _scheduled_kt(alt_ft: float, cruise_kt: float) -> float:
    """250 kt up to 10,000 ft, the cruise speed from 16,000 ft, linear in between."""
    if alt_ft <= 10000.0:
        v = 250.0
    elif alt_ft >= 16000.0:
        v = cruise_kt
    else:
        v = 250.0 + (cruise_kt - 250.0) * (alt_ft - 10000.0) / 6000.0
    return min(v, cruise_kt)


@nb.njit(cache=True)
def _fly(
    wlat: F64,
    wlon: F64,
    wkind: npt.NDArray[np.int64],
    walt: F64,
    wspeed: F64,
    welev: F64,
    wland: npt.NDArray[np.int64],
    wtoland: F64,
    tab_r: F64,
    tab_h: F64,
    start_airborne: bool,
    start_alt: float,
    start_gs: float,
    perf: F64,
    climb_a: F64,
    climb_r: F64,
    descent_a: F64,
    descent_r: F64,
    dt: float,
    out: F64,
    ev: npt.NDArray[np.int64],
) -> tuple[int, int, int]:
    """Integrate one leg. ``out`` rows: lat, lon, alt_ft, gs_kt, track_deg, vrate_fpm,
    on_ground, waypoint index. Returns (samples, events, status): status 0 done, 1 out of
    room (call again with a bigger ``out``)."""
    v_rot, v_app, v_cruise, roll_m, taxi, accel, bank, brake = (
        perf[0],
        perf[1],
        perf[2],
        perf[3],
        perf[4],
        perf[5],
        perf[6],
        perf[7],
    )
    n_wp = wlat.shape[0]
    cap = out.shape[1]
    lat, lon = wlat[0], wlon[0]
    ground = not start_airborne
    alt = start_alt
    gs = start_gs
    trk = _dist_brg(lat, lon, wlat[1], wlon[1])[1]
    i = 1
    k = 0
    n_ev = 0
    roll_acc = (v_rot * v_rot) / (2.0 * roll_m / 1852.0 * 3600.0)  # kt/s
    g_tan = 9.80665 * math.tan(math.radians(bank))
    while i < n_wp:
        if k >= cap:
            return k, n_ev, 1
        kind = wkind[i]
        d, brg = _dist_brg(lat, lon, wlat[i], wlon[i])
        lr = wland[i]
        r = d + wtoland[i] if lr >= 0 else 1e9
        # --- speed
        a_max = accel
        if ground and (kind == GROUND):
            vt = taxi
            if i == n_wp - 1:
                vt = min(taxi, math.sqrt(2.0 * 1.0 * d * 3600.0))
            a_max = 1.0
        elif ground and kind == ROLL:
            vt = 1000.0
            a_max = roll_acc
        elif ground and kind == ROLLOUT:
            vt = EXIT_SPEED_KT
            need = (gs * gs - vt * vt) / (2.0 * max(d, 1e-3) * 3600.0)
            a_max = max(need, brake * 1.94384 * 0.5)
        else:
            vt = _scheduled_kt(alt, v_cruise)
            if r < SLOW_FROM_NM:
                f = min(1.0, max(0.0, (r - SLOW_TO_NM) / (SLOW_FROM_NM - SLOW_TO_NM)))
                vt = min(vt, v_app + (250.0 - v_app) * f)
            if not math.isnan(wspeed[i]):
                vt = min(vt, wspeed[i])
            vt = max(vt, v_app)
        if gs < vt:
            gs_new = min(vt, gs + a_max * dt)
        else:
            gs_new = max(vt, gs - (a_max if ground else 1.5 * a_max) * dt)
        # --- lateral
        if ground or kind in (ROLL, ROLLOUT):
            trk_new = brg
        else:
            v_ms = max(gs, 60.0) * 0.514444
            rate = min(3.0, math.degrees(g_tan / v_ms))
            diff = _wrap180(brg - trk)
            trk_new = (trk + max(-rate * dt, min(rate * dt, diff)) + 360.0) % 360.0
        # --- vertical
        if ground:
            alt_new = welev[i]
        else:
            tgt = walt[i]
            alt_new = alt
            if not math.isnan(tgt):
                if tgt > alt:
                    alt_new = min(tgt, alt + _interp1(alt, climb_a, climb_r) * dt / 60.0)
                else:
                    alt_new = max(tgt, alt - _interp1(alt, descent_a, descent_r) * dt / 60.0)
            if lr >= 0:
                ceil = _interp1(r, tab_r[lr], tab_h[lr])
                if ceil < alt_new:
                    alt_new = max(ceil, alt - 2.0 * _interp1(alt, descent_a, descent_r) * dt / 60)
        # --- record the state at the start of the step
        out[0, k] = lat
        out[1, k] = lon
        out[2, k] = alt
        out[3, k] = gs
        out[4, k] = trk
        out[5, k] = (alt_new - alt) / dt * 60.0
        out[6, k] = 1.0 if ground else 0.0
        out[7, k] = i
        k += 1
        # --- move
        step = 0.5 * (gs + gs_new) * dt / 3600.0
        gs = gs_new
        advance = False
        if ground and kind != ROLL and step >= d:
            lat, lon = wlat[i], wlon[i]
            advance = True
        elif ground and kind == ROLL and step >= d:
            lat, lon = wlat[i], wlon[i]  # end of runway without lifting off: lift off here
            ground = False
            ev[2 * n_ev] = EV_LIFTOFF
            ev[2 * n_ev + 1] = k
            n_ev += 1
            advance = True
        else:
            lat, lon = _move(lat, lon, trk_new, step)
        trk = trk_new
        alt = alt_new
        if ground and kind == ROLL and gs >= v_rot:
            ground = False
            ev[2 * n_ev] = EV_LIFTOFF
            ev[2 * n_ev + 1] = k
            n_ev += 1
        if not ground and not advance:
            v_ms = max(gs, 60.0) * 0.514444
            radius_nm = v_ms * v_ms / g_tan / 1852.0
            off = abs(_wrap180(brg - trk))
            if kind in (LAND, LOW):
                passed = step >= d or (d < 2.0 * radius_nm and off > 90.0)
                if passed:
                    lat, lon = wlat[i], wlon[i]
                    ev[2 * n_ev] = EV_TOUCHDOWN if kind == LAND else EV_GO_AROUND
                    ev[2 * n_ev + 1] = k
                    n_ev += 1
                    if kind == LAND:
                        ground = True
                        alt = welev[i]
                    advance = True
            elif step >= d or (d < 2.0 * radius_nm and off > 100.0):
                advance = True
            elif i + 1 < n_wp:
                nxt = _dist_brg(wlat[i], wlon[i], wlat[i + 1], wlon[i + 1])[1]
                turn = min(abs(_wrap180(nxt - brg)), 120.0)
                if d <= radius_nm * math.tan(math.radians(turn) / 2.0):
                    advance = True
        if advance:
            i += 1
    if k >= cap:
        return k, n_ev, 1
    out[0, k] = lat
    out[1, k] = lon
    out[2, k] = alt
    out[3, k] = gs if not ground else 0.0
    out[4, k] = trk
    out[5, k] = 0.0
    out[6, k] = 1.0 if ground else 0.0
    out[7, k] = n_wp - 1
    return k + 1, n_ev, 0


@dataclass(slots=True)
class LegTrack:
    """One flown leg, times relative to its first sample."""

    t: F64
    lat: F64
    lon: F64
    alt_ft: F64
    gs_kt: F64
    track_deg: F64
    vrate_fpm: F64
    on_ground: npt.NDArray[np.bool_]
    takeoff_s: float  # NaN when the leg starts airborne
    landing_s: float  # NaN when it ends airborne
    go_around_s: list[float]
    plan: Plan


def fly_leg(leg: LegSpec, perf: Performance, slot: int, *, climb: Profile | None = None,
            descent: Profile | None = None) -> LegTrack:  # fmt: skip
    """Plan and integrate one leg."""
    plan = plan_leg(leg, perf, slot)
    climb = climb or perf.climb
    descent = descent or perf.descent
    if leg.cruise_speed_kt is not None:
        perf = Performance(perf.v_rotate_kt, perf.v_approach_kt, leg.cruise_speed_kt,
                           perf.cruise_altitude_ft, perf.roll_m, climb, descent, perf.taxi_kt,
                           perf.accel_kt_s, perf.bank_deg, perf.brake_m_s2)  # fmt: skip
    n = len(plan.lat)
    kind = np.array(plan.kind, dtype=np.int64)
    wlat, wlon = np.array(plan.lat), np.array(plan.lon)
    seg = np.zeros(n)
    seg[1:] = distance_m(wlat[:-1], wlon[:-1], wlat[1:], wlon[1:]) / M_PER_NM
    # next landing (LAND or LOW) at or after each waypoint, and the distance to it from there
    land_idx = np.flatnonzero((kind == LAND) | (kind == LOW))
    wland = np.full(n, -1, dtype=np.int64)
    wtoland = np.full(n, 1e9)
    tabs_r = np.zeros((max(1, land_idx.size), N_CEILING))
    tabs_h = np.zeros((max(1, land_idx.size), N_CEILING))
    cum = np.cumsum(seg)
    prev = 0
    for row, li in enumerate(land_idx.tolist()):
        wland[prev : li + 1] = row
        wtoland[prev : li + 1] = cum[li] - cum[prev : li + 1]
        elev = plan.elev[li] + (DECISION_HEIGHT_FT if kind[li] == LOW else 0.0)
        tabs_r[row], tabs_h[row] = ceiling_table(elev, perf, descent)
        prev = li + 1
    ca, cr = _profile_arrays(climb)
    da, dr = _profile_arrays(descent)
    pv = np.array([perf.v_rotate_kt, perf.v_approach_kt, perf.cruise_kt, perf.roll_m,
                   perf.taxi_kt, perf.accel_kt_s, perf.bank_deg, perf.brake_m_s2])  # fmt: skip
    total_nm = float(seg.sum())
    cap = int(total_nm / 120.0 * 3600.0 + 4000)
    ev = np.zeros(64, dtype=np.int64)
    for _ in range(6):
        out = np.empty((8, cap))
        k, n_ev, status = _fly(
            wlat, wlon, kind, np.array(plan.alt), np.array(plan.speed), np.array(plan.elev),
            wland, wtoland, tabs_r, tabs_h, plan.start_airborne, plan.start_alt_ft,
            plan.start_gs_kt, pv, ca, cr, da, dr, DT_S, out, ev,
        )  # fmt: skip
        if status == 0:
            break
        cap *= 2
    else:
        raise ConfigError(
            f"leg {leg.origin} -> {leg.destination} does not converge "
            "(a waypoint the aircraft cannot reach?)"
        )
    o = out[:, :k]
    t = np.arange(k, dtype=np.float64) * DT_S
    events = ev[: 2 * n_ev].reshape(-1, 2)
    lift = [int(s) for e, s in events.tolist() if e == EV_LIFTOFF]
    down = [int(s) for e, s in events.tolist() if e == EV_TOUCHDOWN]
    ga = [float(s) * DT_S for e, s in events.tolist() if e == EV_GO_AROUND]
    return LegTrack(
        t=t, lat=o[0].copy(), lon=o[1].copy(), alt_ft=o[2].copy(), gs_kt=o[3].copy(),
        track_deg=o[4].copy(), vrate_fpm=o[5].copy(), on_ground=o[6] > 0.5,
        takeoff_s=float(lift[0]) * DT_S if lift else math.nan,
        landing_s=float(down[-1]) * DT_S if down else math.nan,
        go_around_s=ga, plan=plan,
    )  # fmt: skip


# ------------------------------------------------------------------------------------------
# A whole aircraft


@dataclass(slots=True)
class LegResult:
    origin: str
    destination: str
    callsign: str
    squawk: int
    start_t: float
    end_t: float
    takeoff_t: float
    landing_t: float
    takeoff_runway: str
    landing_runway: str
    go_around_t: list[float]
    distance_nm: float


@dataclass(slots=True)
class AircraftTrack:
    """The whole day of one aircraft: samples (UTC seconds) and its legs; ``active`` are the
    spans with the transponder on."""

    spec: AircraftSpec
    t: F64
    lat: F64
    lon: F64
    alt_ft: F64
    gs_kt: F64
    track_deg: F64
    vrate_fpm: F64
    on_ground: npt.NDArray[np.bool_]
    leg: npt.NDArray[np.int16]
    legs: list[LegResult]
    active: list[tuple[float, float]]


def fly_aircraft(spec: AircraftSpec, *, slot: int = 0, default_squawk: int = 2000
                 ) -> AircraftTrack:  # fmt: skip
    """Fly every leg of an aircraft, anchored at its scheduled times."""
    perf = performance(spec.typecode, spec.category)
    parts: list[tuple[LegTrack, float]] = []
    results: list[LegResult] = []
    for li, leg in enumerate(spec.legs):
        lt = fly_leg(leg, perf, slot, climb=spec.climb_profile, descent=spec.descent_profile)
        rel = {"start": 0.0, "takeoff": lt.takeoff_s, "landing": lt.landing_s}[leg.anchor]
        if math.isnan(rel):
            raise ConfigError(f"{spec.icao24:06x} leg {li + 1}: no {leg.anchor} happened")
        shift = leg.anchor_t - rel
        start, end = shift, shift + float(lt.t[-1])
        if results and start < results[-1].end_t + 60.0:
            raise ConfigError(
                f"{spec.icao24:06x} leg {li + 1} starts at {_iso(start)}, before the previous "
                f"leg is over ({_iso(results[-1].end_t)} at the stand): move its time later"
            )
        parts.append((lt, shift))
        dist = float(np.sum(distance_m(lt.lat[:-1], lt.lon[:-1], lt.lat[1:], lt.lon[1:])))
        results.append(LegResult(
            origin=lt.plan.origin, destination=lt.plan.destination,
            callsign=leg.callsign or spec.callsign,
            squawk=leg.squawk if leg.squawk is not None else (
                spec.squawk if spec.squawk is not None else default_squawk),
            start_t=start, end_t=end, takeoff_t=shift + lt.takeoff_s,
            landing_t=shift + lt.landing_s, takeoff_runway=lt.plan.takeoff_runway,
            landing_runway=lt.plan.landing_runway,
            go_around_t=[shift + g for g in lt.go_around_s], distance_nm=dist / M_PER_NM,
        ))  # fmt: skip
    cols = {name: np.concatenate([getattr(lt, name) for lt, _ in parts])
            for name in ("lat", "lon", "alt_ft", "gs_kt", "track_deg", "vrate_fpm",
                         "on_ground")}  # fmt: skip
    t = np.concatenate([lt.t + shift for lt, shift in parts])
    leg_col = np.concatenate([np.full(lt.t.size, i, np.int16) for i, (lt, _) in enumerate(parts)])
    active: list[tuple[float, float]] = []
    for r, (lt, _) in zip(results, parts, strict=True):
        a = r.start_t - (PREFLIGHT_S if not lt.plan.start_airborne else 0.0)
        b = r.end_t + (PREFLIGHT_S if r.destination else 0.0)
        if active and a <= active[-1][1] + 600.0:
            active[-1] = (active[-1][0], b)
        else:
            active.append((a, b))
    # hold the first and last sample at the stand over the preflight spans
    if t[0] > active[0][0]:
        t = np.concatenate([[active[0][0]], t])
        leg_col = np.concatenate([leg_col[:1], leg_col])
        for name, v in cols.items():
            cols[name] = np.concatenate([v[:1], v])
    if t[-1] < active[-1][1]:
        t = np.concatenate([t, [active[-1][1]]])
        leg_col = np.concatenate([leg_col, leg_col[-1:]])
        for name, v in cols.items():
            cols[name] = np.concatenate([v, v[-1:]])
    active = subtract(active, [(w.start, w.end) for w in spec.transponder_off])
    return AircraftTrack(
        spec=spec, t=t, lat=cols["lat"], lon=cols["lon"], alt_ft=cols["alt_ft"],
        gs_kt=cols["gs_kt"], track_deg=cols["track_deg"], vrate_fpm=cols["vrate_fpm"],
        on_ground=cols["on_ground"].astype(bool), leg=leg_col, legs=results, active=active,
    )  # fmt: skip


def subtract(spans: list[tuple[float, float]], holes: list[tuple[float, float]]
             ) -> list[tuple[float, float]]:  # fmt: skip
    """Spans minus holes (both lists of (start, end))."""
    out = list(spans)
    for h0, h1 in holes:
        nxt: list[tuple[float, float]] = []
        for a, b in out:
            if h1 <= a or h0 >= b:
                nxt.append((a, b))
                continue
            if a < h0:
                nxt.append((a, h0))
            if h1 < b:
                nxt.append((h1, b))
        out = nxt
    return out


def intersect(spans: list[tuple[float, float]], windows: tuple[Window, ...] | list[Window]
              ) -> list[tuple[float, float]]:  # fmt: skip
    """Spans cut to the windows (every span when there are no windows)."""
    if not windows:
        return list(spans)
    out = []
    for a, b in spans:
        for w in windows:
            lo, hi = max(a, w.start), min(b, w.end)
            if hi > lo:
                out.append((lo, hi))
    return sorted(out)


def _iso(t: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
