"""Flights, take-offs, landings, stopovers, unseen legs and events from tracked positions.

:class:`FlightDetector` keeps a small state per airframe and is fed position batches as they
come (``update``), or a whole history at once; :func:`detect_flights` is the one-shot form.
Both give the same flights and events: every decision is taken from the positions up to a
bounded delay (the hysteresis of the air/ground state, a minute after a take-off or landing
to name its runway), never from wall-clock time.

Per aircraft, each call:

1. derives speed and track from the positions, a spike-free altitude, the nearest airport
   and the *effective* air/ground state (:mod:`tailwatch.detect.kinematics`);
2. decides the state of the positions whose hysteresis is settled (``decide_states``);
3. walks the decided positions run by run: a change of state is a take-off or a landing, a
   silence longer than ``coverage_gap_s`` a coverage gap (handled by the states on both
   sides: unseen legs, probable stops, unseen take-offs and landings);
4. names the airport and runway of each take-off and landing once the minute after it is
   known (:func:`tailwatch.detect.places.attribute_transition`);
5. runs the event kernels (squawk, emergency, GNSS, go-around, orbit, implausible jumps).

Flights are returned when they close (taxi-in over, aircraft lost for ``flight_gap_s``, or
``flush``). A closed flight can be returned again, updated, with the same ``flight_id``: when
the aircraft reappears on a direct course (the flight is re-opened), or when an unseen stop
or landing is inferred after the fact. Stores upsert flights by ``flight_id``.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from tailwatch.core.rejects import Rejects
from tailwatch.detect import ends, gapflow, rowevents
from tailwatch.detect import events as ev
from tailwatch.detect import hygiene as hy
from tailwatch.detect import kinematics as km
from tailwatch.detect import places as pl
from tailwatch.detect.columns import (
    Buffer,
    Columns,
    as_columns,
    concat,
    n_rows,
    sort_by_aircraft,
    take,
)
from tailwatch.detect.itinerary import Fix
from tailwatch.detect.output import (
    _flight_columns,
    _urgent_rows,
    concat_events,
    merge_flights,
    n_rows_flights,
)
from tailwatch.detect.params import DetectParams
from tailwatch.detect.state import (
    AIR,
    F64,
    GROUND,
    AircraftState,
    FlightState,
    PendingTransition,
)
from tailwatch.reference.geo import angle_diff_deg

__all__ = [
    "FlightDetector",
    "concat_events",
    "detect_flights",
    "flight_id_of",
    "merge_flights",
    "n_rows_flights",
]

_LOW_ALT_FT = 15_000.0  # nearest-airport lookups only below this (and on the ground)
_KEEP = ("t", "lat", "lon", "altitude_ft", "gs_kt", "track_deg", "vrate_fpm", "on_ground",
         "callsign", "squawk", "nic", "nacp")


def flight_id_of(icao24: int, first_seen: float) -> str:
    """``"<icao24 hex>-<UTC first-seen time, YYYYMMDDTHHMMSSZ>"``; non-ICAO addresses (bit 24
    set by the tracker) get a ``~`` in front, as at every public edge."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(math.floor(first_seen)))
    other = "~" if (icao24 >> 24) & 1 else ""
    return f"{other}{icao24 & 0xFFFFFF:06x}-{stamp}"


class FlightDetector:
    """Incremental flight and event detection (see the module docstring).

    ``military``: addresses of military/state airframes (for ``military_at_civil_airport``);
    ``military_airports``: extra ICAO codes of military airfields; ``min_runway_ft``: runway
    length each airframe needs (for unseen-stop candidates and runway fits); ``types``: ICAO
    type designator of each airframe (the need then follows
    ``reference.types.runway_need_ft``; default from its cruise speed).
    """

    def __init__(
        self,
        params: DetectParams | None = None,
        *,
        military: Collection[int] | None = None,
        military_airports: Iterable[str] = (),
        min_runway_ft: Mapping[int, float] | None = None,
        types: Mapping[int, str] | None = None,
    ) -> None:
        self.p = params or DetectParams()
        self.military = frozenset(int(a) for a in (military or ()))
        self.military_airports = frozenset(str(a).upper() for a in military_airports)
        self.min_runway = dict(min_runway_ft or {})
        self.types = {int(k): str(v) for k, v in (types or {}).items()}
        self.rejects = Rejects()
        self.now = -math.inf
        self._aircraft: dict[int, AircraftState] = {}
        self._events = ev.EventSink()
        self._out: dict[str, FlightState] = {}
        self._hygiene_total: dict[str, int] = {}
        self._time_warned = False

    # --- public API ------------------------------------------------------------------------

    def update(
        self,
        positions: Any,
        *,
        rejects: Mapping[int, Mapping[str, int]] | None = None,
    ) -> tuple[Columns, Columns]:
        """Feed a batch of positions (any order); returns (flights closed or updated by it,
        events). ``rejects``: positions the tracker rejected since the last call, per
        address and reason (``implausible_position`` events)."""
        cols = as_columns(positions)
        cols, starts, stops = sort_by_aircraft(cols)
        if n_rows(cols):
            finite = np.isfinite(cols["t"])
            self._check_time_unit(cols["t"])
            if finite.any():
                self.now = max(self.now, float(cols["t"][finite].max()))
        urgent = _urgent_rows(cols)
        for s, e in zip(starts.tolist(), stops.tolist(), strict=True):
            icao = int(cols["icao24"][s])
            ac = self._aircraft.get(icao)
            if ac is None:
                ac = self._aircraft[icao] = self._new_aircraft(icao)
            ac.inbox.append(take(cols, slice(s, e)))
            if math.isnan(ac.inbox_t):
                ac.inbox_t = float(np.nanmin(cols["t"][s:e])) if e > s else self.now
            if urgent is not None and urgent[s:e].any():
                self._drain(ac)
        for ac in self._aircraft.values():  # each aircraft at most every process_every_s
            if ac.inbox and self.now - ac.inbox_t >= self.p.process_every_s:
                self._drain(ac)
        for icao, counts in (rejects or {}).items():
            if (ac := self._aircraft.get(int(icao))) is not None:
                self._drain(ac)
            self._implausible_counts(int(icao), counts)
        self._timeouts()
        return self._take()

    def _check_time_unit(self, t: F64) -> None:
        """Warn once (and count) when the times look like another unit than seconds."""
        if not self._time_warned and (problem := hy.time_unit_problem(t)):
            self._time_warned = True
            self.rejects["detect_time_unit_suspect"] += int(np.isfinite(t).sum())
            warnings.warn(hy.TimeUnitWarning(problem), stacklevel=3)

    def _new_aircraft(self, icao: int) -> AircraftState:  # buffer growth held near the cap
        return AircraftState(icao, store=Buffer(self.p.max_rows_per_aircraft + 512))

    def _drain(self, ac: AircraftState) -> None:
        """Process the positions waiting for ``ac`` (in one call: the detector's cost is
        mostly per call and aircraft, and its results do not depend on the batching)."""
        if not ac.inbox:
            return
        new = ac.inbox[0] if len(ac.inbox) == 1 else {
            k: np.concatenate([b[k] for b in ac.inbox]) for k in ac.inbox[0]}
        ac.inbox = []
        ac.inbox_t = math.nan
        self._process(ac, new, final=False)

    def flush(self) -> tuple[Columns, Columns]:
        """End of the history: decide everything, close every open flight."""
        for ac in list(self._aircraft.values()):
            self._drain(ac)
            if ac.rejected:  # counts held back by implausible_every_s: the history ends
                pending, ac.rejected = ac.rejected, {}
                ac.last_jump_t = -math.inf
                self._implausible_counts(ac.icao, pending)
            self._finalize(ac, close=True)
        return self._take()

    def hygiene(self, icao24: int | None = None) -> dict[str, int]:
        """Positions kept out of the decisions (:mod:`tailwatch.detect.hygiene`): per reason
        (``frozen_position``, ``altitude_jump_frozen``, ``duplicate_time``,
        ``time_backwards``), for one aircraft or (``None``) all of them since the start."""
        if icao24 is None:
            return dict(self._hygiene_total)
        ac = self._aircraft.get(int(icao24))
        return dict(ac.hygiene) if ac is not None else {}

    def open_flights(self) -> Columns:
        """The flights open now, as FLIGHT_FIELDS columns (not final)."""
        return _flight_columns([ac.flight for ac in self._aircraft.values() if ac.flight])

    # --- per aircraft ------------------------------------------------------------------------

    def _process(self, ac: AircraftState, new: Columns, final: bool) -> None:
        p = self.p
        if n_rows(new):
            new = self._accept(ac, new)
        if n_rows(new):
            self._derive(ac, new)
            ac.finalized = False
        lo = ac.n_done
        n = n_rows(ac.buf)
        if n > lo:
            b = ac.buf
            states, nd = km.decide_states(
                b["t"][lo:], b["_eff"][lo:], ac.state, final, p.coverage_gap_s,
                p.min_run_n, p.min_run_s, p.long_run_s,
            )
            if nd:
                self._consume(ac, lo, lo + int(nd), states)
        if final:
            self._resolve_due(ac, force=True)
        self._trim(ac)

    def _accept(self, ac: AircraftState, new: Columns) -> Columns:
        t = new["t"]
        ok = np.isfinite(t) & np.isfinite(new["lat"]) & np.isfinite(new["lon"])
        ok &= (np.abs(new["lat"]) <= 90.0) & (np.abs(new["lon"]) <= 180.0)
        if not ok.all():
            self.rejects["detect_no_position"] += int((~ok).sum())
            new = take(new, ok)
            t = new["t"]
        last = float(ac.buf["t"][-1]) if n_rows(ac.buf) else -math.inf
        if t.shape[0] and not (t[0] > last and bool(np.all(t[1:] > t[:-1]))):
            # strictly increasing times (duplicates and rows older than the last one dropped)
            run_max = np.maximum.accumulate(np.concatenate(([last], t)))
            keep = t > run_max[:-1]
            if not keep.all():
                same = int((~keep & (t == run_max[:-1])).sum())
                older = int((~keep).sum()) - same
                self.rejects["detect_same_time"] += same
                self.rejects["detect_out_of_order"] += older
                self._count_hygiene(ac, {"duplicate_time": same, "time_backwards": older})
                new = take(new, keep)
        return self._drop_frozen(ac, new)

    def _drop_frozen(self, ac: AircraftState, new: Columns) -> Columns:
        """Frozen positions (:mod:`tailwatch.detect.hygiene`): counted, kept out of every
        decision."""
        if not n_rows(new):
            return new
        tail = ac.raw_tail  # the last input rows, flagged or not (same answers per batch)
        prev = None
        if tail:
            prev = (float(tail["lat"][-1]), float(tail["lon"][-1]),
                    float(tail["altitude_ft"][-1]))
        ac.raw_tail = {k: np.concatenate((tail[k], new[k].astype(np.float64)))[-2:]
                       if tail else new[k].astype(np.float64)[-2:]
                       for k in ("t", "lat", "lon", "gs_kt", "altitude_ft")}
        frozen, jump = hy.frozen_rows(
            new["lat"], new["lon"], new["altitude_ft"].astype(np.float64), new["on_ground"],
            new["gs_kt"].astype(np.float64), prev, self.p.parked_max_kt,
            self.p.altitude_jump_ft)
        keys = ("t", "lat", "lon", "gs_kt")
        before = {k: tail[k] for k in keys} if tail else None
        f64 = [new[k].astype(np.float64) for k in keys]
        made_up = hy.interpolated_rows(f64[0], f64[1], f64[2], f64[3], before,
                                       self.p.interpolated_mismatch_kt)
        made_up &= ~frozen
        if not (frozen.any() or made_up.any()):
            return new
        n_frozen, n_jump, n_made = int(frozen.sum()), int(jump.sum()), int(made_up.sum())
        self.rejects["detect_frozen_position"] += n_frozen
        if n_jump:
            self.rejects["detect_altitude_jump_frozen"] += n_jump
        if n_made:
            self.rejects["detect_interpolated"] += n_made
        self._count_hygiene(ac, {"frozen_position": n_frozen, "altitude_jump_frozen": n_jump,
                                 "interpolated": n_made})
        return take(new, ~(frozen | made_up))

    def _count_hygiene(self, ac: AircraftState, counts: Mapping[str, int]) -> None:
        for k, v in counts.items():
            if v:
                ac.hygiene[k] = ac.hygiene.get(k, 0) + int(v)
                self._hygiene_total[k] = self._hygiene_total.get(k, 0) + int(v)

    def _derive(self, ac: AircraftState, new: Columns) -> None:
        p = self.p
        b = ac.buf
        nb = n_rows(b)
        t_new = new["t"]
        if nb:
            c0 = int(np.searchsorted(b["t"], t_new[0] - p.speed_max_span_s))
            c0 = min(c0, nb - 1)  # the previous row, for the step distance
            t_all = np.concatenate((b["t"][c0:], t_new))
            lat_all = np.concatenate((b["lat"][c0:], new["lat"]))
            lon_all = np.concatenate((b["lon"][c0:], new["lon"]))
            start = nb - c0
        else:
            t_all, lat_all, lon_all, start = t_new, new["lat"], new["lon"], 0
        v, trk_d, step = km.motion_rows(t_all, lat_all, lon_all, start, p.speed_window_s,
                                        p.speed_max_span_s, p.coverage_gap_s)
        gs = new["gs_kt"].astype(np.float64)
        speed = np.where(np.isnan(v), gs, v)
        alt = km.clean_altitude(t_new, new["altitude_ft"].astype(np.float64), ac.alt_state,
                                p.altitude_jump_ft, p.altitude_rate_fpm, p.altitude_resync_n)
        trk_r = new["track_deg"].astype(np.float64)
        # a reported track that disagrees with the positions' own (stale or broken values)
        # gives way to the measured one
        off = np.abs(angle_diff_deg(trk_r, trk_d))
        bad_trk = (off > p.track_mismatch_deg) & (v >= p.parked_max_kt)
        if bad_trk.any():
            self._count_hygiene(ac, {"track_mismatch": int(bad_trk.sum())})
        trk = np.where(np.isnan(trk_r) | bad_trk, trk_d, trk_r)
        m = t_new.shape[0]
        apt = np.full(m, -1, dtype=np.int64)
        aptd = np.full(m, np.nan)
        h = np.full(m, np.nan)
        need = ~((alt >= _LOW_ALT_FT) & (speed >= 100.0))  # all but fast and high
        if need.all():
            apt, aptd, h = pl.height_above_nearest(new["lat"], new["lon"], alt,
                                                   p.go_around_airport_nm)
        elif need.any():
            idx, d, hh = pl.height_above_nearest(new["lat"][need], new["lon"][need], alt[need],
                                                 p.go_around_airport_nm)
            apt[need], aptd[need], h[need] = idx, d, hh
        near = aptd <= p.airport_near_nm
        eff = km.effective_rows(new["on_ground"], speed, alt, near, h, ac.last_eff,
                                p.ground_max_kt, p.parked_max_kt, p.unknown_air_kt,
                                p.unknown_ground_height_ft, p.unknown_air_height_ft)
        ac.last_eff = int(eff[-1])
        row = {k: new[k] for k in _KEEP}
        row.update({
            "_v": speed, "_trk": trk, "_alt": alt, "_eff": eff, "_apt": apt, "_aptd": aptd,
            "_h": h, "_step": step, "_st": np.full(m, -1, np.int8),
            "_fs": np.full(m, -1, np.int32),
            "emergency": new["emergency"] if "emergency" in new else np.full(m, -1, np.int8),
        })
        ac.store.append(row)

    def _trim(self, ac: AircraftState) -> None:
        p = self.p
        b = ac.buf
        n = n_rows(b)
        if not n or ac.n_done == 0:
            return
        keep_from = ac.last_t - max(p.transition_pre_s, 2 * p.go_around_window_s,
                                    p.descent_window_s, p.speed_max_span_s)
        for pend in ac.pendings:
            keep_from = min(keep_from, pend.t - p.transition_pre_s)
        cut = int(np.searchsorted(b["t"], keep_from))
        cut = max(cut, n - p.max_rows_per_aircraft)  # memory bound, by rows as well as time
        cut = min(cut, ac.n_done - 1)  # keep the last decided row
        if cut > 256 or (cut > 0 and cut * 2 > n):
            ac.store.drop_front(cut)
            ac.n_done -= cut

    # --- walking the decided rows -------------------------------------------------------------

    def _consume(self, ac: AircraftState, lo: int, hi: int, states: npt.NDArray[np.int8]) -> None:
        p = self.p
        b = ac.buf
        b["_st"][lo:hi] = states
        t = b["t"][lo:hi]
        brk = (states[1:] != states[:-1]) | (np.diff(t) > p.coverage_gap_s)
        starts = np.concatenate(([0], np.flatnonzero(brk) + 1))
        stops = np.concatenate((starts[1:], [hi - lo]))
        for s, e in zip(starts.tolist(), stops.tolist(), strict=True):
            a, z = lo + s, lo + e
            st = int(states[s])
            ta = float(b["t"][a])
            if ac.state < 0:
                self._start(ac, a, st)
            elif ta - ac.last_t > p.coverage_gap_s:
                self._gap(ac, a, st, ta - ac.last_t)
            elif st != ac.state:
                if st == AIR:
                    self._takeoff(ac, a)
                else:
                    self._landing(ac, a)
            self._add_rows(ac, a, z, st)
            ac.state = st
            ac.last_t = float(b["t"][z - 1])
            ac.n_done = z
            self._resolve_due(ac, force=False)
        self._row_events(ac, lo, hi)

    def _fix(self, ac: AircraftState, i: int) -> Fix:
        b = ac.buf
        return Fix(float(b["t"][i]), float(b["lat"][i]), float(b["lon"][i]),
                   float(b["_trk"][i]), float(b["_alt"][i]), float(b["_v"][i]))

    def _airport_at(self, ac: AircraftState, i: int) -> str:
        b = ac.buf
        a = int(b["_apt"][i])
        if a < 0 or not (b["_aptd"][i] <= self.p.airport_near_nm):
            return ""
        return pl.airport_info().icao(a)

    def _new_flight(self, ac: AircraftState, first_seen: float) -> FlightState:
        serial = len(ac.serials)
        f = FlightState(ac.icao, serial, first_seen, flight_id_of(ac.icao, first_seen))
        prev = ac.latest
        if prev is not None and first_seen - prev.last_seen <= self.p.itinerary_break_s:
            f.itinerary_id = prev.itinerary_id
        else:
            f.itinerary_id = f.flight_id
        ac.serials.append(f.flight_id)
        ac.latest = f
        return f

    def _fid(self, ac: AircraftState) -> str:
        return ac.flight.flight_id if ac.flight is not None else ""

    def _start(self, ac: AircraftState, a: int, st: int) -> None:
        fx = self._fix(ac, a)
        b = ac.buf
        if st == AIR:
            ac.flight = self._new_flight(ac, fx.t)
        self._events.add(fx.t, ac.icao, self._fid(ac), "first_seen", lat=fx.lat, lon=fx.lon,
                         details={"airborne": st == AIR, "altitude_ft": fx.alt_ft,
                                  "gs_kt": fx.gs_kt, "callsign": b["callsign"][a],
                                  "squawk": int(b["squawk"][a])})
        if st != AIR:
            self._ground_start(ac, a)

    def _ground_start(self, ac: AircraftState, a: int, report: bool = True) -> None:
        ac.ground_airport = self._airport_at(ac, a)
        ac.ground_t = float(ac.buf["t"][a])
        ac.ground_fix = self._fix(ac, a)
        if ac.ground_airport and report:
            fx = ac.ground_fix
            self._military_visit(ac, ac.ground_airport, fx.t, fx.lat, fx.lon, "on_ground", "")

    # --- take-off, landing -----------------------------------------------------------------

    def _takeoff(self, ac: AircraftState, a: int) -> None:
        p = self.p
        b = ac.buf
        t2 = float(b["t"][a])
        f = ac.flight
        if f is not None and f.landed and not f.closed:
            t1 = f.landing_t
            rows = (b["t"] >= t1) & (b["t"] < t2)
            v = b["_v"][rows]
            v = v[np.isfinite(v)]
            if t2 - t1 <= p.touch_and_go_max_s and v.size and v.min() >= p.touch_and_go_min_kt:
                ac.pendings = [q for q in ac.pendings
                               if not (q.kind == "landing" and q.flight is f)]
                f.landed = False
                f.landing_t = math.nan
                f.destination.seen = None
                ac.pendings.append(PendingTransition("touch_and_go", t1, f, t2))
                ac.ground_airport = ""
                return
            self._resolve_flight(ac, f)
            self._close(ac, f, GROUND)
        elif f is not None:  # defensive: a flight open on the ground without a landing
            self._close(ac, f, GROUND)
        # taxi-out: ground positions since the previous flight, at most taxi_out_s
        keep = ac.pre_t >= t2 - p.taxi_out_s
        pre_t, pre_cs = ac.pre_t[keep], ac.pre_cs[keep]
        first = float(pre_t[0]) if pre_t.size else t2
        nf = self._new_flight(ac, first)
        nf.n += int(pre_t.size)
        self._add_callsigns(nf, pre_cs)
        nf.takeoff_t = t2
        ac.pre_t, ac.pre_cs = np.zeros(0), np.zeros(0, "S8")
        ac.flight = nf
        ac.pendings.append(PendingTransition("takeoff", t2, nf))

    def _landing(self, ac: AircraftState, a: int) -> None:
        b = ac.buf
        t1 = float(b["t"][a])
        f = ac.flight
        if f is None:  # airborne without a flight cannot happen; keep going safely
            f = ac.flight = self._new_flight(ac, t1)
        f.landed = True
        f.landing_t = t1
        ac.pendings.append(PendingTransition("landing", t1, f))
        self._ground_start(ac, a, report=False)

    def _add_rows(self, ac: AircraftState, a: int, z: int, st: int) -> None:
        p = self.p
        b = ac.buf
        if st == AIR:
            f = ac.flight
            if f is None:
                f = ac.flight = self._new_flight(ac, float(b["t"][a]))
            self._add_to_flight(ac, f, a, z, air=True)
            return
        f = ac.flight
        cut = a
        if f is not None and f.landed:
            cut = a + int(np.searchsorted(b["t"][a:z], f.landing_t + p.taxi_in_s))
            if cut > a:
                self._add_to_flight(ac, f, a, cut, air=False)
            if cut < z:
                self._resolve_flight(ac, f)
                self._close(ac, f, GROUND)
        elif f is not None:
            self._close(ac, f, GROUND)
            cut = a
        if cut < z:
            self._keep_taxi_out(ac, b["t"][cut:z], b["callsign"][cut:z])

    def _keep_taxi_out(self, ac: AircraftState, t: F64, cs: npt.NDArray[np.bytes_]) -> None:
        """Ground rows kept for the taxi-out of the next take-off: the last
        ``taxi_out_s``."""
        t_keep = np.concatenate((ac.pre_t, t))
        cs_keep = np.concatenate((ac.pre_cs, cs))
        k = t_keep >= t_keep[-1] - self.p.taxi_out_s
        ac.pre_t, ac.pre_cs = t_keep[k], cs_keep[k]

    def _add_to_flight(self, ac: AircraftState, f: FlightState, a: int, z: int, air: bool) -> None:
        p = self.p
        b = ac.buf
        b["_fs"][a:z] = f.serial
        f.n += z - a
        f.last_seen = float(b["t"][z - 1])
        self._add_callsigns(f, b["callsign"][a:z])
        if not air:
            return
        alt = b["_alt"][a:z]
        top = float(np.nanmax(alt)) if not np.isnan(alt).all() else math.nan
        f.max_alt = float(np.fmax(f.max_alt, top))
        # distance flown: steps between consecutive positions (0 across coverage gaps)
        f.dist_nm += float(b["_step"][a:z].sum())
        if f.prev_air is None:  # the step from the last ground position is not flown
            f.dist_nm -= float(b["_step"][a])
        f.prev_air = (float(b["t"][z - 1]), float(b["lat"][z - 1]), float(b["lon"][z - 1]))
        gs = b["gs_kt"][a:z].astype(np.float64)
        gs = np.where(np.isnan(gs), b["_v"][a:z], gs)
        ok = ~np.isnan(gs)
        hi = (alt >= 20_000.0) & ok
        mid = (alt >= 5_000.0) & ok
        if hi.any():
            f.hi_sum += float(gs[hi].sum())
            f.hi_n += int(hi.sum())
        if mid.any():
            f.mid_sum += float(gs[mid].sum())
            f.mid_n += int(mid.sum())
        if f.first_air is None:
            f.first_air = self._fix(ac, a)
        f.last_air = self._fix(ac, z - 1)
        head_n = n_rows(f.head)
        room = p.max_rows_per_aircraft - head_n  # memory bound, by rows as well as time
        if room > 0 and (head_n == 0 or f.head["t"][-1] - f.head["t"][0] < p.descent_window_s):
            keys = ("t", "lat", "lon", "_alt", "_trk", "vrate_fpm", "_apt", "_h")
            keep = np.flatnonzero(b["t"][a:z] <= f.first_air.t + p.descent_window_s)[:room]
            part = {k: b[k][a:z][keep] for k in keys}
            f.head = concat([f.head, part]) if head_n else part

    @staticmethod
    def _add_callsigns(f: FlightState, cs: npt.NDArray[np.bytes_]) -> None:
        if not cs.size:
            return
        if cs[0] == cs[-1] and bool(np.all(cs == cs[0])):
            name = bytes(cs[0]).decode("ascii", "replace").strip()
            if name:
                f.callsigns[name] = f.callsigns.get(name, 0) + int(cs.size)
            return
        names, first, counts = np.unique(cs, return_index=True, return_counts=True)
        for i in np.argsort(first):
            name = names[i].decode("ascii", "replace").strip()
            if name:
                f.callsigns[name] = f.callsigns.get(name, 0) + int(counts[i])

    # --- pending take-offs and landings --------------------------------------------------------

    def _resolve_due(self, ac: AircraftState, force: bool) -> None:
        if not ac.pendings:
            return
        due = [q for q in ac.pendings if force or ac.last_t >= q.horizon(self.p)]
        for q in due:
            ac.pendings.remove(q)
            self._resolve(ac, q)

    def _resolve_flight(self, ac: AircraftState, f: FlightState) -> None:
        due = [q for q in ac.pendings if q.flight is f]
        for q in due:
            ac.pendings.remove(q)
            self._resolve(ac, q)

    def _window(self, ac: AircraftState, t0: float, t1: float, st: int) -> npt.NDArray[np.intp]:
        b = ac.buf
        i0 = int(np.searchsorted(b["t"], t0, side="left"))
        i1 = int(np.searchsorted(b["t"], t1, side="right"))
        rows = np.arange(i0, i1)
        return np.asarray(rows[b["_st"][i0:i1] == st])

    def _runway_points(self, ac: AircraftState, rows_air: npt.NDArray[np.intp],
                       rows_roll: npt.NDArray[np.intp]) -> tuple[F64, F64, F64, float]:
        p = self.p
        b = ac.buf
        h = b["_h"][rows_air]
        low = rows_air[~(h > p.runway_max_height_ft)]
        roll = rows_roll[b["_v"][rows_roll] >= p.roll_min_kt]
        rows = np.r_[roll, low]
        alt = b["_alt"][low]
        min_alt = float(np.nanmin(alt)) if np.isfinite(alt).any() else math.nan
        return b["lat"][rows], b["lon"][rows], b["_trk"][rows], min_alt

    def _resolve(self, ac: AircraftState, q: PendingTransition) -> None:
        p = self.p
        b = ac.buf
        f = q.flight
        i = int(np.searchsorted(b["t"], q.t))
        i = min(i, n_rows(b) - 1)
        lat0, lon0 = float(b["lat"][i]), float(b["lon"][i])
        if q.kind == "takeoff":
            air = self._window(ac, q.t, q.t + p.transition_post_s, AIR)
            roll = self._window(ac, q.t - p.transition_pre_s, q.t - 1e-6, GROUND)
            roll = roll[b["t"][roll] >= q.t - 90.0]
        elif q.kind == "landing":
            air = self._window(ac, q.t - p.transition_pre_s, q.t - 1e-6, AIR)
            roll = self._window(ac, q.t, q.t + p.transition_post_s, GROUND)
        else:
            air = np.r_[self._window(ac, q.t - p.transition_pre_s, q.t - 1e-6, AIR),
                        self._window(ac, q.t2, q.t2 + p.transition_post_s, AIR)]
            roll = self._window(ac, q.t, q.t2 - 1e-6, GROUND)
        lat, lon, trk, min_alt = self._runway_points(ac, air, roll)
        att = pl.attribute_transition(lat0, lon0, lat, lon, trk, min_alt, p)
        gs = float(b["_v"][i])
        details: dict[str, Any] = {"runway": att.runway, "confidence": att.confidence,
                                   "gs_kt": gs, **att.details}
        if q.kind == "takeoff":
            f.origin.seen = att
            self._events.add(q.t, ac.icao, f.flight_id, "takeoff", airport=att.airport,
                             lat=lat0, lon=lon0, details=details)
            self._stopover(ac, f, att.airport, q.t)
            kind = "takeoff"
        elif q.kind == "landing":
            f.destination.seen = att
            self._events.add(q.t, ac.icao, f.flight_id, "landing", airport=att.airport,
                             lat=lat0, lon=lon0, details=details)
            if att.airport:
                ac.ground_airport = att.airport
            kind = "landing"
        else:
            details["ground_s"] = round(q.t2 - q.t, 1)
            self._events.add(q.t, ac.icao, f.flight_id, "touch_and_go", airport=att.airport,
                             lat=lat0, lon=lon0, details=details)
            kind = "touch_and_go"
        if att.airport:
            self._military_visit(ac, att.airport, q.t, lat0, lon0, kind, f.flight_id)
        if q.kind == "takeoff":
            ac.visit += 1

    def _stopover(self, ac: AircraftState, f: FlightState, airport: str, t_off: float) -> None:
        prev = ac.closed
        if prev is None or prev is f or not airport:
            return
        dest, _, how = prev.destination.best()
        if dest != airport:
            return
        arrived = prev.landing_t if math.isfinite(prev.landing_t) else prev.last_seen
        if not math.isfinite(arrived) or arrived > t_off:
            return
        info = pl.airport_info()
        i = info.index(airport)
        self._events.add(arrived, ac.icao, f.flight_id, "stopover", airport=airport,
                         lat=float(info.table.lat_deg[i]) if i >= 0 else math.nan,
                         lon=float(info.table.lon_deg[i]) if i >= 0 else math.nan,
                         details={
                             "duration_s": round(t_off - arrived, 1),
                             "arrival_t": arrived, "departure_t": t_off,
                             "landing_seen": math.isfinite(prev.landing_t),
                             "arrival_evidence": how,
                             "previous_flight_id": prev.flight_id,
                             "next_flight_id": f.flight_id,
                         })

    def _military_visit(self, ac: AircraftState, airport: str, t: float, lat: float, lon: float,
                        kind: str, flight_id: str) -> None:
        if ac.icao not in self.military or not airport:
            return
        if pl.is_military_airport(airport, self.military_airports):
            return
        key = (airport, ac.visit)
        if key in ac.mil_reported:
            return
        ac.mil_reported.add(key)
        self._events.add(t, ac.icao, flight_id, "military_at_civil_airport", airport=airport,
                         lat=lat, lon=lon, details={"evidence": kind})

    # --- closing, gaps, itineraries --------------------------------------------------------------

    def _close(self, ac: AircraftState, f: FlightState, end_state: int,
               report: bool = True) -> None:
        f.closed = True
        if end_state == AIR:
            self._guess_destination(ac, f)
        if f.origin.seen is None and not f.origin.guess:
            self._guess_origin(ac, f)
        if report:
            self._report_air_ends(ac, f, end_state)
        ac.flight = None
        ac.closed = f
        ac.reopenable = end_state == AIR
        self._out[f.flight_id] = f

    _report_air_ends = ends._report_air_ends

    _runway_need = ends._runway_need

    _operator = ends._operator

    _guess_destination = ends._guess_destination

    _guess_origin = ends._guess_origin

    _guess = ends._guess

    _guess_from = ends._guess_from

    def _reopen(self, ac: AircraftState, f: FlightState) -> None:
        f.closed = False
        f.destination.guess = []
        ac.flight = f
        ac.reopenable = False
        ac.latest = f

    _gap = gapflow._gap

    _speed_guess = gapflow._speed_guess

    _leave = gapflow._leave

    _reappear_airborne = gapflow._reappear_airborne

    _stop_at_airport = gapflow._stop_at_airport

    _stop_inferred = gapflow._stop_inferred

    _landed_unseen = gapflow._landed_unseen

    _inferred_leg = gapflow._inferred_leg

    # --- row events ------------------------------------------------------------------------------

    _row_events = rowevents._row_events

    _jumps = rowevents._jumps

    _implausible_counts = rowevents._implausible_counts

    _go_arounds = rowevents._go_arounds

    _go_around_approach = rowevents._go_around_approach

    _orbits = rowevents._orbits

    # --- time-outs and output ---------------------------------------------------------------

    def _finalize(self, ac: AircraftState, close: bool) -> None:
        """Decide all rows (nothing will follow them soon), resolve what waits, and with
        ``close`` close the open flight (end of history or lost for ``flight_gap_s``)."""
        if not ac.finalized:
            self._process(ac, {}, final=True)
            ac.finalized = True
        if n_rows(ac.buf) and ac.state == AIR and self.now - ac.last_t > self.p.coverage_gap_s:
            self._leave(ac, ac.n_done - 1)
        if close and ac.flight is not None:
            f = ac.flight
            self._resolve_flight(ac, f)
            self._close(ac, f, ac.state)

    def _timeouts(self) -> None:
        p = self.p
        gone = []
        for icao, ac in self._aircraft.items():
            last = float(ac.buf["t"][-1]) if n_rows(ac.buf) else -math.inf
            if ac.inbox and self.now - last > p.coverage_gap_s:
                self._drain(ac)  # about to time out: its waiting positions first
            if not n_rows(ac.buf):
                if not ac.inbox and not ac.rejected and not (
                        self.now - ac.last_jump_t < p.implausible_every_s):
                    gone.append(icao)  # only tracker rejects, never a position (kept while
                    # its rate limit runs, so that it is not reported at every call)
                continue
            silent = self.now - float(ac.buf["t"][-1])
            if silent > p.coverage_gap_s:
                self._finalize(ac, close=silent > p.flight_gap_s)
            if silent > p.evict_after_s and ac.flight is None:
                gone.append(icao)
        for icao in gone:
            del self._aircraft[icao]

    def _take(self) -> tuple[Columns, Columns]:
        flights = sorted(self._out.values(), key=lambda f: (f.first_seen, f.icao))
        self._out = {}
        return _flight_columns(flights), self._events.take()


def detect_flights(positions: Any, **kwargs: Any) -> tuple[Columns, Columns]:
    """Flights and events of a whole history (same results as feeding
    :class:`FlightDetector` batch by batch). ``kwargs`` go to :class:`FlightDetector`."""
    det = FlightDetector(**kwargs)
    f1, e1 = det.update(positions)
    f2, e2 = det.flush()
    return merge_flights([f1, f2]), concat_events([e1, e2])
