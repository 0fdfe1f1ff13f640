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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tailwatch.core.rejects import Rejects
from tailwatch.core.schema import EMERGENCY_LABELS, FLIGHT_FIELDS, empty_columns
from tailwatch.detect import attribution as at
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
from tailwatch.detect.gaps import AirportStop, airport_stop, implausibly_slow
from tailwatch.detect.itinerary import Fix, Leg, analyse_leg, unseen_move_confidence
from tailwatch.detect.params import DetectParams
from tailwatch.reference.geo import angle_diff_deg
from tailwatch.reference.types import runway_need_ft

F64 = npt.NDArray[np.float64]

AIR = km.AIR
GROUND = km.GROUND
_LOW_ALT_FT = 15_000.0  # nearest-airport lookups only below this (and on the ground)
_KEEP = ("t", "lat", "lon", "altitude_ft", "gs_kt", "track_deg", "vrate_fpm", "on_ground",
         "callsign", "squawk", "nic", "nacp")


def flight_id_of(icao24: int, first_seen: float) -> str:
    """``"<icao24 hex>-<UTC first-seen time, YYYYMMDDTHHMMSSZ>"``; non-ICAO addresses (bit 24
    set by the tracker) get a ``~`` in front, as at every public edge."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(math.floor(first_seen)))
    other = "~" if (icao24 >> 24) & 1 else ""
    return f"{other}{icao24 & 0xFFFFFF:06x}-{stamp}"


@dataclass(slots=True)
class _End:
    """Origin or destination of a flight from each kind of evidence."""

    seen: pl.Attribution | None = None  # take-off / landing observed
    link: tuple[str, float, str] | None = None  # (airport, confidence, how) from a gap
    guess: list[pl.Candidate] = field(default_factory=list)  # climb / descent candidates

    def best(self) -> tuple[str, float, str]:
        if self.seen is not None and self.seen.airport:
            return self.seen.airport, self.seen.confidence, "seen"
        if self.link is not None and self.link[0]:
            return self.link
        if self.guess:
            c = self.guess[0]
            return c.airport, c.confidence, "inferred_from_track"
        return "", 0.0, ""


def _guess_runway(end: _End, airport: str) -> str:
    """The runway the track fitted at the end's airport (air starts and ends)."""
    if end.guess and airport and end.guess[0].airport == airport:
        return str(end.guess[0].evidence.get("runway", ""))
    return ""


@dataclass(slots=True)
class _Flight:
    icao: int
    serial: int
    first_seen: float
    flight_id: str
    itinerary_id: str = ""
    last_seen: float = math.nan
    n: int = 0
    max_alt: float = math.nan
    dist_nm: float = 0.0
    callsigns: dict[str, int] = field(default_factory=dict)
    takeoff_t: float = math.nan
    landing_t: float = math.nan
    origin: _End = field(default_factory=_End)
    destination: _End = field(default_factory=_End)
    landed: bool = False
    closed: bool = False
    inferred: bool = False  # a leg never seen (n == 0)
    prev_air: tuple[float, float, float] | None = None  # t, lat, lon of the last air row
    first_air: Fix | None = None
    last_air: Fix | None = None
    hi_sum: float = 0.0
    hi_n: int = 0
    mid_sum: float = 0.0
    mid_n: int = 0
    head: Columns = field(default_factory=dict)  # first airborne positions
    air_end_reported: bool = False  # inferred landing event of an air end emitted
    air_start_reported: bool = False  # inferred take-off event of an air start emitted

    def cruise_kt(self, default: float) -> float:
        if self.hi_n:
            return self.hi_sum / self.hi_n
        if self.mid_n:
            return self.mid_sum / self.mid_n
        return default

    def row(self) -> tuple[Any, ...]:
        origin, o_conf, _ = self.origin.best()
        dest, d_conf, _ = self.destination.best()
        ordered = sorted(self.callsigns.items(), key=lambda kv: -kv[1])
        main = ordered[0][0] if ordered else ""
        return (
            self.flight_id, self.icao, main, self.first_seen, self.last_seen, origin, dest,
            self.takeoff_t, self.landing_t,
            self.origin.seen.runway if self.origin.seen else _guess_runway(self.origin, origin),
            self.destination.seen.runway if self.destination.seen else _guess_runway(
                self.destination, dest),
            o_conf, d_conf, self.max_alt, self.dist_nm if self.n else math.nan, self.n,
            ",".join(self.callsigns), self.itinerary_id,
        )


@dataclass(slots=True)
class _Pending:
    kind: str  # "takeoff", "landing", "touch_and_go"
    t: float
    flight: _Flight
    t2: float = math.nan  # touch-and-go: lift-off time

    def horizon(self, p: DetectParams) -> float:
        if self.kind == "takeoff":
            return self.t + p.transition_post_s
        if self.kind == "landing":
            return self.t + max(p.transition_post_s, p.touch_and_go_max_s)
        return self.t2 + p.transition_post_s


@dataclass(slots=True)
class _Aircraft:
    icao: int
    store: Buffer = field(default_factory=Buffer)
    n_done: int = 0
    state: int = -1
    last_t: float = math.nan
    last_eff: int = -1
    alt_state: F64 = field(default_factory=km.new_alt_state)
    squawk_state: F64 = field(default_factory=ev.new_code_state)
    emerg_state: F64 = field(default_factory=ev.new_code_state)
    gnss_state: F64 = field(default_factory=ev.new_gnss_state)
    orbit_state: F64 = field(default_factory=ev.new_orbit_state)
    orbit: Columns = field(default_factory=dict)
    flight: _Flight | None = None
    closed: _Flight | None = None
    latest: _Flight | None = None  # most recent flight (itinerary chaining)
    reopenable: bool = False
    serials: list[str] = field(default_factory=list)
    pre_t: F64 = field(default_factory=lambda: np.zeros(0))
    pre_cs: npt.NDArray[np.bytes_] = field(default_factory=lambda: np.zeros(0, "S8"))
    ground_airport: str = ""
    ground_t: float = math.nan
    ground_fix: Fix | None = None
    pendings: list[_Pending] = field(default_factory=list)
    left_coverage: bool = False
    finalized: bool = False
    visit: int = 0
    mil_reported: set[tuple[str, int]] = field(default_factory=set)
    ga_watermark: float = -math.inf
    last_jump_t: float = -math.inf
    rejected: dict[str, int] = field(default_factory=dict)
    hygiene: dict[str, int] = field(default_factory=dict)  # rows kept out of decisions
    raw_tail: dict[str, F64] = field(default_factory=dict)  # last 2 input rows (hygiene)
    inbox: list[Columns] = field(default_factory=list)  # positions not processed yet
    inbox_t: float = math.nan  # time of the oldest of them

    @property
    def buf(self) -> Columns:
        return self.store.cols


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
        self._aircraft: dict[int, _Aircraft] = {}
        self._events = ev.EventSink()
        self._out: dict[str, _Flight] = {}
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
            if not self._time_warned and (problem := hy.time_unit_problem(cols["t"])):
                self._time_warned = True
                self.rejects["detect_time_unit_suspect"] += int(finite.sum())
                warnings.warn(hy.TimeUnitWarning(problem), stacklevel=2)
            if finite.any():
                self.now = max(self.now, float(cols["t"][finite].max()))
        urgent = _urgent_rows(cols)
        for s, e in zip(starts.tolist(), stops.tolist(), strict=True):
            icao = int(cols["icao24"][s])
            ac = self._aircraft.get(icao)
            if ac is None:
                ac = self._aircraft[icao] = _Aircraft(icao)
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

    def _drain(self, ac: _Aircraft) -> None:
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

    def _process(self, ac: _Aircraft, new: Columns, final: bool) -> None:
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

    def _accept(self, ac: _Aircraft, new: Columns) -> Columns:
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

    def _drop_frozen(self, ac: _Aircraft, new: Columns) -> Columns:
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

    def _count_hygiene(self, ac: _Aircraft, counts: Mapping[str, int]) -> None:
        for k, v in counts.items():
            if v:
                ac.hygiene[k] = ac.hygiene.get(k, 0) + int(v)
                self._hygiene_total[k] = self._hygiene_total.get(k, 0) + int(v)

    def _derive(self, ac: _Aircraft, new: Columns) -> None:
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

    def _trim(self, ac: _Aircraft) -> None:
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
        cut = min(cut, ac.n_done - 1)  # keep the last decided row
        if cut > 256 or (cut > 0 and cut * 2 > n):
            ac.store.drop_front(cut)
            ac.n_done -= cut

    # --- walking the decided rows -------------------------------------------------------------

    def _consume(self, ac: _Aircraft, lo: int, hi: int, states: npt.NDArray[np.int8]) -> None:
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

    def _fix(self, ac: _Aircraft, i: int) -> Fix:
        b = ac.buf
        return Fix(float(b["t"][i]), float(b["lat"][i]), float(b["lon"][i]),
                   float(b["_trk"][i]), float(b["_alt"][i]), float(b["_v"][i]))

    def _airport_at(self, ac: _Aircraft, i: int) -> str:
        b = ac.buf
        a = int(b["_apt"][i])
        if a < 0 or not (b["_aptd"][i] <= self.p.airport_near_nm):
            return ""
        return pl.airport_info().icao(a)

    def _new_flight(self, ac: _Aircraft, first_seen: float) -> _Flight:
        serial = len(ac.serials)
        f = _Flight(ac.icao, serial, first_seen, flight_id_of(ac.icao, first_seen))
        prev = ac.latest
        if prev is not None and first_seen - prev.last_seen <= self.p.itinerary_break_s:
            f.itinerary_id = prev.itinerary_id
        else:
            f.itinerary_id = f.flight_id
        ac.serials.append(f.flight_id)
        ac.latest = f
        return f

    def _fid(self, ac: _Aircraft) -> str:
        return ac.flight.flight_id if ac.flight is not None else ""

    def _start(self, ac: _Aircraft, a: int, st: int) -> None:
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

    def _ground_start(self, ac: _Aircraft, a: int, report: bool = True) -> None:
        ac.ground_airport = self._airport_at(ac, a)
        ac.ground_t = float(ac.buf["t"][a])
        ac.ground_fix = self._fix(ac, a)
        if ac.ground_airport and report:
            fx = ac.ground_fix
            self._military_visit(ac, ac.ground_airport, fx.t, fx.lat, fx.lon, "on_ground", "")

    # --- take-off, landing -----------------------------------------------------------------

    def _takeoff(self, ac: _Aircraft, a: int) -> None:
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
                ac.pendings.append(_Pending("touch_and_go", t1, f, t2))
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
        ac.pendings.append(_Pending("takeoff", t2, nf))

    def _landing(self, ac: _Aircraft, a: int) -> None:
        b = ac.buf
        t1 = float(b["t"][a])
        f = ac.flight
        if f is None:  # airborne without a flight cannot happen; keep going safely
            f = ac.flight = self._new_flight(ac, t1)
        f.landed = True
        f.landing_t = t1
        ac.pendings.append(_Pending("landing", t1, f))
        self._ground_start(ac, a, report=False)

    def _add_rows(self, ac: _Aircraft, a: int, z: int, st: int) -> None:
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
            t_keep = np.concatenate((ac.pre_t, b["t"][cut:z]))
            cs_keep = np.concatenate((ac.pre_cs, b["callsign"][cut:z]))
            k = t_keep >= t_keep[-1] - p.taxi_out_s
            ac.pre_t, ac.pre_cs = t_keep[k], cs_keep[k]

    def _add_to_flight(self, ac: _Aircraft, f: _Flight, a: int, z: int, air: bool) -> None:
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
        if head_n == 0 or f.head["t"][-1] - f.head["t"][0] < p.descent_window_s:
            keys = ("t", "lat", "lon", "_alt", "_trk", "vrate_fpm", "_apt", "_h")
            keep = b["t"][a:z] <= f.first_air.t + p.descent_window_s
            part = {k: b[k][a:z][keep] for k in keys}
            f.head = concat([f.head, part]) if head_n else part

    @staticmethod
    def _add_callsigns(f: _Flight, cs: npt.NDArray[np.bytes_]) -> None:
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

    def _resolve_due(self, ac: _Aircraft, force: bool) -> None:
        if not ac.pendings:
            return
        due = [q for q in ac.pendings if force or ac.last_t >= q.horizon(self.p)]
        for q in due:
            ac.pendings.remove(q)
            self._resolve(ac, q)

    def _resolve_flight(self, ac: _Aircraft, f: _Flight) -> None:
        due = [q for q in ac.pendings if q.flight is f]
        for q in due:
            ac.pendings.remove(q)
            self._resolve(ac, q)

    def _window(self, ac: _Aircraft, t0: float, t1: float, st: int) -> npt.NDArray[np.intp]:
        b = ac.buf
        i0 = int(np.searchsorted(b["t"], t0, side="left"))
        i1 = int(np.searchsorted(b["t"], t1, side="right"))
        rows = np.arange(i0, i1)
        return np.asarray(rows[b["_st"][i0:i1] == st])

    def _runway_points(self, ac: _Aircraft, rows_air: npt.NDArray[np.intp],
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

    def _resolve(self, ac: _Aircraft, q: _Pending) -> None:
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

    def _stopover(self, ac: _Aircraft, f: _Flight, airport: str, t_off: float) -> None:
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

    def _military_visit(self, ac: _Aircraft, airport: str, t: float, lat: float, lon: float,
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

    def _close(self, ac: _Aircraft, f: _Flight, end_state: int, report: bool = True) -> None:
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

    def _report_air_ends(self, ac: _Aircraft, f: _Flight, end_state: int) -> None:
        """An air start or end whose track fits a runway (detect/attribution.py) is an unseen
        take-off or landing there: an event with ``seen: false``, the estimated time, the
        fit, the candidates and the runner-up."""
        p = self.p
        g = f.destination.guess
        if (end_state == AIR and not f.air_end_reported and f.destination.link is None
                and g and g[0].evidence.get("runway") and f.last_air is not None):
            f.air_end_reported = True
            fx = f.last_air
            self._events.add(fx.t + _time_to(g[0].evidence, fx.gs_kt, p), ac.icao,
                             f.flight_id, "landing", airport=g[0].airport, lat=fx.lat,
                             lon=fx.lon, details=_inferred_details(g, "last_seen_t", fx.t))
        g = f.origin.guess
        if (not f.air_start_reported and f.origin.seen is None and f.origin.link is None
                and g and g[0].evidence.get("runway") and f.first_air is not None):
            f.air_start_reported = True
            fx = f.first_air
            self._events.add(fx.t - _time_to(g[0].evidence, fx.gs_kt, p), ac.icao,
                             f.flight_id, "takeoff", airport=g[0].airport, lat=fx.lat,
                             lon=fx.lon, details=_inferred_details(g, "first_seen_t", fx.t))

    def _runway_need(self, ac: _Aircraft, f: _Flight | None) -> float:
        if ac.icao in self.min_runway:
            return float(self.min_runway[ac.icao])
        if ac.icao in self.types:
            need = runway_need_ft(self.types[ac.icao])
            if math.isfinite(need):
                return need
        v = f.cruise_kt(0.0) if f is not None else 0.0
        if v >= 380.0:
            return self.p.stop_runway_ft
        if v >= 200.0:
            return 4000.0
        return 2000.0

    def _operator(self, ac: _Aircraft, f: _Flight | None) -> str:
        names = list(f.callsigns) if f is not None else []
        return at.operator_kind(names, ac.icao in self.military)

    def _guess_destination(self, ac: _Aircraft, f: _Flight) -> None:
        p = self.p
        b = ac.buf
        if f.last_air is None:
            return
        rows = self._window(ac, f.last_air.t - p.descent_window_s, f.last_air.t, AIR)
        rows = rows[b["_fs"][rows] == f.serial]
        f.destination.guess = self._guess(ac, f, rows, ahead=True)

    def _guess_origin(self, ac: _Aircraft, f: _Flight) -> None:
        if f.first_air is None or not n_rows(f.head) or math.isfinite(f.takeoff_t):
            return
        h = f.head
        f.origin.guess = self._guess_from(ac, f, h["t"], h["lat"], h["lon"], h["_alt"],
                                          h["_trk"], h["vrate_fpm"], h["_apt"], h["_h"],
                                          ahead=False)

    def _guess(self, ac: _Aircraft, f: _Flight, rows: npt.NDArray[np.intp],
               ahead: bool) -> list[pl.Candidate]:
        if rows.size == 0:
            return []
        b = ac.buf
        return self._guess_from(ac, f, b["t"][rows], b["lat"][rows], b["lon"][rows],
                                b["_alt"][rows], b["_trk"][rows], b["vrate_fpm"][rows],
                                b["_apt"][rows], b["_h"][rows], ahead=ahead)

    def _guess_from(self, ac: _Aircraft, f: _Flight, t: F64, lat: F64, lon: F64, alt: F64,
                    trk: F64, vrate: npt.NDArray[np.float32], apt: npt.NDArray[np.int64],
                    h: F64, ahead: bool) -> list[pl.Candidate]:
        """Airports ahead of the last positions (``ahead``) or behind the first ones."""
        p = self.p
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
        need = self._runway_need(ac, f)
        op = self._operator(ac, f)
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

    def _reopen(self, ac: _Aircraft, f: _Flight) -> None:
        f.closed = False
        f.destination.guess = []
        ac.flight = f
        ac.reopenable = False
        ac.latest = f

    def _gap(self, ac: _Aircraft, a: int, st: int, gap: float) -> None:
        p = self.p
        self._resolve_due(ac, force=True)
        prev_state = ac.state
        last = self._fix(ac, ac.n_done - 1)
        nxt = self._fix(ac, a)
        if prev_state == AIR:
            self._leave(ac, ac.n_done - 1)
            if gap > p.flight_gap_s and ac.flight is not None:
                self._close(ac, ac.flight, AIR)  # as live, where it closes while silent
            f = ac.flight or (ac.closed if ac.reopenable else None)
            if st == AIR:
                self._reappear_airborne(ac, f, last, nxt, a, gap)
            else:
                self._landed_unseen(ac, f, last, a, gap)
                self._ground_start(ac, a)
        else:
            if ac.flight is not None:
                self._resolve_flight(ac, ac.flight)
                self._close(ac, ac.flight, GROUND)
            here = ac.ground_airport
            ground_fix = ac.ground_fix or last
            if st == AIR:
                nf = self._new_flight(ac, nxt.t)
                ac.flight = nf
                if here:
                    info = pl.airport_info()
                    i = info.index(here)
                    d = pl.distance_between_nm(float(info.table.lat_deg[i]),
                                               float(info.table.lon_deg[i]), nxt.lat, nxt.lon)
                    conf, how = unseen_move_confidence(gap, d, self._speed_guess(nxt), p)
                    nf.origin.link = (here, conf, "unseen_takeoff")
                    self._events.add(nxt.t, ac.icao, nf.flight_id, "enter_coverage",
                                     lat=nxt.lat, lon=nxt.lon, details={
                                         "gap_s": gap, "last_seen_on_ground_at": here,
                                         "distance_nm": d, "verdict": how,
                                         "origin_confidence": conf})
                else:
                    self._events.add(nxt.t, ac.icao, nf.flight_id, "enter_coverage",
                                     lat=nxt.lat, lon=nxt.lon, details={"gap_s": gap})
                ac.pre_t, ac.pre_cs = np.zeros(0), np.zeros(0, "S8")
            else:
                there = self._airport_at(ac, a)
                if here and there and here != there:
                    self._inferred_leg(ac, here, there, last.t, nxt.t, ground_fix, nxt)
                if not (here and there and here == there):
                    ac.pre_t, ac.pre_cs = np.zeros(0), np.zeros(0, "S8")
                    self._ground_start(ac, a)

    def _speed_guess(self, fx: Fix) -> float:
        if math.isfinite(fx.gs_kt) and fx.gs_kt > 100.0:
            return fx.gs_kt
        return self.p.default_cruise_kt

    def _leave(self, ac: _Aircraft, i: int) -> None:
        if ac.left_coverage:
            return
        ac.left_coverage = True
        fx = self._fix(ac, i)
        self._events.add(fx.t, ac.icao, self._fid(ac) or (
            ac.closed.flight_id if ac.closed is not None and ac.reopenable else ""),
            "leave_coverage", lat=fx.lat, lon=fx.lon, details={
                "altitude_ft": fx.alt_ft, "gs_kt": fx.gs_kt, "track_deg": fx.track_deg})

    def _reappear_airborne(self, ac: _Aircraft, f: _Flight | None, last: Fix, nxt: Fix, a: int,
                           gap: float) -> None:
        p = self.p
        ac.left_coverage = False
        if f is None:
            nf = self._new_flight(ac, nxt.t)
            ac.flight = nf
            self._events.add(nxt.t, ac.icao, nf.flight_id, "enter_coverage", lat=nxt.lat,
                             lon=nxt.lon, details={"gap_s": gap})
            return
        cruise = f.cruise_kt(p.default_cruise_kt)
        if math.isfinite(nxt.gs_kt) and nxt.alt_ft >= 20_000.0:
            cruise = 0.5 * (cruise + nxt.gs_kt) if f.hi_n else nxt.gs_kt
        prior: dict[str, float] = {}
        for c in f.destination.guess:
            prior[c.airport] = prior.get(c.airport, 0.0) + c.confidence
        b = ac.buf
        climb = self._guess_from(ac, f, b["t"][a:a + 1], b["lat"][a:a + 1], b["lon"][a:a + 1],
                                 b["_alt"][a:a + 1], b["_trk"][a:a + 1],
                                 b["vrate_fpm"][a:a + 1], b["_apt"][a:a + 1],
                                 b["_h"][a:a + 1], ahead=False)
        for c in climb:
            prior[c.airport] = prior.get(c.airport, 0.0) + c.confidence
        need = self._runway_need(ac, f)
        op = self._operator(ac, f)
        if implausibly_slow(last, nxt, cruise, p):
            if not f.destination.guess:  # the approach before the gap, if any
                self._guess_destination(ac, f)
            near = dict(prior)
            for c in f.destination.guess:
                near[c.airport] = near.get(c.airport, 0.0) + c.confidence
            stop = airport_stop(last, nxt, need, op, near, p)
            if stop is not None:
                self._stop_at_airport(ac, f, last, nxt, stop)
                return
        leg = analyse_leg(last, nxt, cruise, need, prior, p, operator=op)
        if gap <= p.flight_gap_s or leg.verdict == "direct":
            if ac.flight is None:
                self._reopen(ac, f)
            details = leg.details()
            self._events.add(nxt.t, ac.icao, f.flight_id, "enter_coverage", lat=nxt.lat,
                             lon=nxt.lon, details={**details, "verdict": "direct"})
            return
        nf = self._new_flight(ac, nxt.t)
        ac.flight = nf
        self._stop_inferred(ac, f, nf, last, leg)
        self._events.add(nxt.t, ac.icao, nf.flight_id, "enter_coverage", lat=nxt.lat,
                         lon=nxt.lon, details=leg.details())

    def _stop_at_airport(self, ac: _Aircraft, f: _Flight, last: Fix, nxt: Fix,
                         stop: AirportStop) -> None:
        """A landing and a take-off at one airport inside the gap (detect/gaps.py)."""
        # the landing may have been reported already, when the flight closed while the
        # aircraft was silent (flight_gap_s): then only at another airport again
        reported = f.air_end_reported and bool(f.destination.guess) and (
            f.destination.guess[0].airport == stop.airport)
        f.destination.link = (stop.airport, stop.confidence, "stop_in_gap")
        f.air_end_reported = True
        if not f.closed:
            self._close(ac, f, AIR)
        self._out[f.flight_id] = f
        ac.reopenable = False
        nf = self._new_flight(ac, nxt.t)
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
            self._events.add(stop.landing_after_t, ac.icao, f.flight_id, "landing",
                             airport=stop.airport, lat=lat, lon=lon,
                             details={**common, "runway": rw_in, **{
                                 k: v for k, v in fit.items() if k.startswith("runway_")}})
        self._events.add(stop.landing_after_t + 1e-3, ac.icao, f.flight_id, "inferred_stop",
                         airport=stop.airport, lat=lat, lon=lon,
                         details={**details, "next_flight_id": nf.flight_id,
                                  "last_seen_t": last.t})
        self._events.add(stop.takeoff_before_t, ac.icao, nf.flight_id, "takeoff",
                         airport=stop.airport, lat=lat, lon=lon,
                         details={**common, "runway": ""})
        self._events.add(nxt.t, ac.icao, nf.flight_id, "enter_coverage", lat=nxt.lat,
                         lon=nxt.lon, details=details)
        self._military_visit(ac, stop.airport, stop.landing_after_t, lat, lon, "landing",
                             f.flight_id)
        ac.visit += 1

    def _stop_inferred(self, ac: _Aircraft, f: _Flight, nf: _Flight, last: Fix,
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
        self._out[f.flight_id] = f
        ac.reopenable = False
        self._events.add(t_stop, ac.icao, f.flight_id, "inferred_stop",
                         airport=best.airport if best else "", lat=lat, lon=lon,
                         details={**leg.details(), "next_flight_id": nf.flight_id,
                                  "last_seen_t": last.t})

    def _landed_unseen(self, ac: _Aircraft, f: _Flight | None, last: Fix, a: int,
                       gap: float) -> None:
        there = self._airport_at(ac, a)
        if f is None:
            return
        if there:
            info = pl.airport_info()
            i = info.index(there)
            d = pl.distance_between_nm(last.lat, last.lon, float(info.table.lat_deg[i]),
                                       float(info.table.lon_deg[i]))
            conf, how = unseen_move_confidence(gap, d, f.cruise_kt(self.p.default_cruise_kt),
                                               self.p)
            f.destination.link = (there, conf, "unseen_landing_" + how)
        if not f.closed:
            self._close(ac, f, GROUND)
        else:
            self._out[f.flight_id] = f
        ac.reopenable = False
        ac.left_coverage = False

    def _inferred_leg(self, ac: _Aircraft, here: str, there: str, t0: float, t1: float,
                      a: Fix, b: Fix) -> None:
        p = self.p
        d = pl.distance_between_nm(a.lat, a.lon, b.lat, b.lon)
        conf, how = unseen_move_confidence(t1 - t0, d, p.default_cruise_kt * 1.8, p)
        f = self._new_flight(ac, t0)
        f.last_seen = t1
        f.inferred = True
        f.origin.link = (here, 0.9, "last_seen_on_ground")
        f.destination.link = (there, 0.9, "next_seen_on_ground")
        f.closed = True
        ac.closed = f
        self._out[f.flight_id] = f
        self._events.add(t1, ac.icao, f.flight_id, "enter_coverage", airport=there,
                         lat=b.lat, lon=b.lon, details={
                             "gap_s": t1 - t0, "unseen_flight_from": here, "to": there,
                             "distance_nm": d, "verdict": how, "confidence": conf})

    # --- row events ------------------------------------------------------------------------------

    def _row_events(self, ac: _Aircraft, lo: int, hi: int) -> None:
        p = self.p
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
                self._events.add(tt, ac.icao, fid(r), "squawk_change", lat=lat, lon=lon,
                                 details={"from": f"{o:04d}", "to": f"{nw:04d}"})
            if nw in ev.EMERGENCY_SQUAWKS:
                self._events.add(tt, ac.icao, fid(r), "emergency", lat=lat, lon=lon, details={
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
                self._events.add(tt + 1e-3, ac.icao, fid(r), "emergency",
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
                self._events.add(tt, ac.icao, fid(r), "gnss_degradation",
                                 lat=float(b["lat"][i]), lon=float(b["lon"][i]), details={
                                     "nic": int(b["nic"][i]), "nacp": int(b["nacp"][i]),
                                     "altitude_ft": float(b["_alt"][i])})
        self._jumps(ac, lo, hi)
        if airborne.any():
            self._go_arounds(ac, hi)
            self._orbits(ac, lo, hi)

    def _jumps(self, ac: _Aircraft, lo: int, hi: int) -> None:
        p = self.p
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
            self._events.add(ti, ac.icao, ac.serials[s] if s >= 0 else "",
                             "implausible_position", lat=float(b["lat"][i]),
                             lon=float(b["lon"][i]), details={
                                 "reason": "jump", "distance_nm": float(d_nm[k]),
                                 "dt_s": float(dt[k]), "implied_kt": float(v[k])})

    def _implausible_counts(self, icao: int, counts: Mapping[str, int]) -> None:
        """Positions the tracker rejected: one event per ``implausible_every_s`` at most per
        aircraft (counts in between are added to the next one)."""
        if not any(int(v) > 0 for v in counts.values()):
            return
        ac = self._aircraft.get(icao)
        if ac is None:
            ac = self._aircraft[icao] = _Aircraft(icao)
        for k, v in counts.items():
            if int(v) > 0:
                ac.rejected[str(k)] = ac.rejected.get(str(k), 0) + int(v)
        if not ac.rejected:
            return
        t, lat, lon = self.now, math.nan, math.nan
        if n_rows(ac.buf):
            b = ac.buf
            t, lat, lon = float(b["t"][-1]), float(b["lat"][-1]), float(b["lon"][-1])
        if t - ac.last_jump_t < self.p.implausible_every_s:
            return
        ac.last_jump_t = t
        self._events.add(t, icao, self._fid(ac), "implausible_position", lat=lat, lon=lon,
                         details={"reason": "tracker_rejects", **ac.rejected})
        ac.rejected = {}

    def _go_arounds(self, ac: _Aircraft, hi: int) -> None:
        p = self.p
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
            approach = self._go_around_approach(ac, code, lo_i, ok[:hi], hi)
            if approach is None:
                continue
            runway, n_app, offset_m, along_m = approach
            s = int(b["_fs"][lo_i])
            fid = ac.serials[s] if s >= 0 else ""
            self._events.add(t_lo, ac.icao, fid, "go_around", airport=code,
                             lat=float(b["lat"][lo_i]), lon=float(b["lon"][lo_i]), details={
                                 "runway": runway, "lowest_height_ft": float(b["_h"][lo_i]),
                                 "lowest_altitude_ft": float(b["_alt"][lo_i]),
                                 "climb_confirmed_t": tc,
                                 "climb_ft": float(b["_alt"][c_i] - b["_alt"][lo_i]),
                                 "airport_distance_nm": float(b["_aptd"][lo_i]),
                                 "approach_points": n_app,
                                 "centreline_offset_m": round(offset_m, 1),
                                 "lowest_along_m": round(along_m, 1)})
            self._military_visit(ac, code, t_lo, float(b["lat"][lo_i]), float(b["lon"][lo_i]),
                                 "go_around", fid)

    def _go_around_approach(self, ac: _Aircraft, code: str, lo_i: int,
                            ok: npt.NDArray[np.bool_], hi: int,
                            ) -> tuple[str, int, float, float] | None:
        """The runway a go-around's approach came down on, or ``None`` without a real
        approach: the lowest point on a runway end's axis before its far end (not on the
        climb-out), with at least ``go_around_min_approach_n`` airborne positions of the
        ``go_around_approach_s`` before it on the same axis, further back on it and higher.
        Returns (runway, approach positions, median |offset| m, along m of the lowest)."""
        p = self.p
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

    def _orbits(self, ac: _Aircraft, lo: int, hi: int) -> None:
        p = self.p
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
            self._events.add(float(o["t"][i]), ac.icao, ac.serials[s] if s >= 0 else "",
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

    # --- time-outs and output ---------------------------------------------------------------

    def _finalize(self, ac: _Aircraft, close: bool) -> None:
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
            if ac.inbox and self.now - float(ac.inbox[-1]["t"][-1]) > p.coverage_gap_s:
                self._drain(ac)  # the last news of it are old: decide them now
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


def _time_to(evidence: Mapping[str, Any], gs_kt: float, p: DetectParams) -> float:
    """Seconds between the threshold (or lift-off) and the first/last position of a runway
    fit, at the position's ground speed (``default`` 140 kt when unknown)."""
    fit = evidence.get("runway_fit") or {}
    along = fit.get("along_m")
    v = gs_kt if math.isfinite(gs_kt) and gs_kt > 30.0 else 140.0
    if along is None:
        return 0.0
    return abs(float(along)) / (v * 1852.0 / 3600.0)


def _inferred_details(cands: list[pl.Candidate], key: str, t: float) -> dict[str, Any]:
    best = cands[0]
    return {
        "seen": False, "inferred_from": "track", key: t,
        "runway": best.evidence.get("runway", ""), "confidence": best.confidence,
        **{k: v for k, v in best.evidence.items() if k != "runway"},
        "candidates": [{"airport": c.airport, "confidence": c.confidence} for c in cands],
    }


def _urgent_rows(cols: Columns) -> npt.NDArray[np.bool_] | None:
    """Rows that must be processed at once (emergency squawk or status): their events are
    what alerts wait for."""
    out = None
    if "squawk" in cols:
        out = np.isin(np.asarray(cols["squawk"]), list(ev.EMERGENCY_SQUAWKS))
    if "emergency" in cols:
        em = np.asarray(cols["emergency"]) > 0
        out = em if out is None else out | em
    return out


def _flight_columns(flights: list[_Flight]) -> Columns:
    cols = empty_columns(FLIGHT_FIELDS, len(flights))
    rows = [f.row() for f in flights]
    for j, fld in enumerate(FLIGHT_FIELDS):
        values = [r[j] for r in rows]
        if fld.dtype == "object":
            arr = np.empty(len(values), dtype=object)
            arr[:] = values
            cols[fld.name] = arr
        else:
            cols[fld.name] = np.array(values, dtype=fld.dtype).reshape(-1)
    return cols


def detect_flights(positions: Any, **kwargs: Any) -> tuple[Columns, Columns]:
    """Flights and events of a whole history (same results as feeding
    :class:`FlightDetector` batch by batch). ``kwargs`` go to :class:`FlightDetector`."""
    det = FlightDetector(**kwargs)
    f1, e1 = det.update(positions)
    f2, e2 = det.flush()
    return merge_flights([f1, f2]), concat_events([e1, e2])


def merge_flights(parts: list[Columns]) -> Columns:
    """Flight columns of several calls, one row per flight_id (the last version)."""
    cols = concat([p for p in parts if n_rows_flights(p)])
    if not cols:
        return empty_columns(FLIGHT_FIELDS, 0) | {
            f.name: np.empty(0, dtype=object) for f in FLIGHT_FIELDS if f.dtype == "object"}
    ids = cols["flight_id"]
    last: dict[str, int] = {}
    for i, fid in enumerate(ids.tolist()):
        last[fid] = i
    idx = np.array(sorted(last.values()), dtype=np.int64)
    out = take(cols, idx)
    order = np.lexsort((out["icao24"], out["first_seen"]))
    return take(out, order)


def n_rows_flights(cols: Mapping[str, np.ndarray]) -> int:
    return int(cols["flight_id"].shape[0]) if cols else 0


def concat_events(parts: list[Columns]) -> Columns:
    cols = concat([p for p in parts if p and p["t"].shape[0]])
    if not cols:
        return ev.event_columns([])
    order = np.lexsort((cols["icao24"], cols["t"]))
    return take(cols, order)
