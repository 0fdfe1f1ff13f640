"""The compiled detector: :class:`CompiledDetector`, the flight and event detector that
``run``, ``replay``, ``import`` and the demo use.

Same constructor, API and results as the reference
:class:`~tailwatch.detect.flights.FlightDetector` (tests/oracle prove it on every corpus), with
the work per position done in passes over the whole batch and Python left for what happens
rarely. Per call of :meth:`~CompiledDetector.update`:

1. passes 1 and 2 (:class:`~.decide.StatePasses`): accept, data hygiene, kinematics, nearest
   airport, effective state, air/ground hysteresis — the decided rows of every aircraft;
2. pass 5, the transitions walk (:mod:`.walk`): the aircraft whose rows only extend what they
   were doing (cruising in an open flight, parked or taxiing with no flight) take the fast
   way: numba adds the rows to their flight's sums, nothing else runs for them. The others
   (first sight, a take-off or landing, a gap, a flight starting, an approach low over an
   airport) go through the reference's flight logic — transitions, runway and airport
   attribution, gap inference, go-arounds, military visits — with their recent rows gathered
   from the row store (:mod:`.store`);
3. passes 3 and 4 (:class:`~.rowevents.RowEventsPass`, :class:`~.orbits.OrbitPass`): squawk,
   emergency, GNSS, implausible jumps and orbits over every row, with the flight each row was
   given by the walk;
4. time-outs found with arrays (aircraft silent for ``coverage_gap_s`` or ``flight_gap_s``);
   the flight logic runs once for each.

Python thus runs per event, flight or transition, and per aircraft only while something
happens to it. Memory: the rows of the last ``coverage_gap_s + descent_window_s`` (plus a
margin) in the row store, the ground rows of the last ``taxi_out_s`` (callsign and time, for
the taxi-out of the next take-off), and a row buffer only for the aircraft in the middle of
something.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from tailwatch.detect.columns import Buffer, Columns, as_columns, concat, n_rows
from tailwatch.detect.compiled import walk as wk
from tailwatch.detect.compiled.decide import StatePasses
from tailwatch.detect.compiled.derive import _segments
from tailwatch.detect.compiled.orbits import OrbitPass
from tailwatch.detect.compiled.rowevents import RowEventsPass
from tailwatch.detect.compiled.slots import grow
from tailwatch.detect.compiled.store import RowStore
from tailwatch.detect.flights import FlightDetector
from tailwatch.detect.itinerary import Fix
from tailwatch.detect.params import DetectParams
from tailwatch.detect.state import AIR, GROUND, AircraftState, FlightState

__all__ = ["CompiledDetector"]

_BUF_KEYS = ("t", "lat", "lon", "altitude_ft", "gs_kt", "track_deg", "vrate_fpm", "on_ground",
             "callsign", "squawk", "nic", "nacp", "_v", "_trk", "_alt", "_eff", "_apt",
             "_aptd", "_h", "_step", "_st", "_fs", "emergency")
_HEAD_KEYS = ("t", "lat", "lon", "_alt", "_trk", "vrate_fpm", "_apt", "_h")
_STORE_MARGIN_S = 180.0  # store retention beyond the look-backs (batching, chunking)
_FLUSH_CHUNK = 1024  # aircraft given their row buffers at once by flush()

# time-out state per slot
_ACTIVE, _LEFT, _CLOSED = 0, 1, 2


class CompiledDetector(FlightDetector):
    """Flight and event detection as passes over whole batches (module docstring); the
    arguments are :class:`~tailwatch.detect.flights.FlightDetector`'s."""

    def __init__(
        self,
        params: DetectParams | None = None,
        *,
        military: Collection[int] | None = None,
        military_airports: Iterable[str] = (),
        min_runway_ft: Mapping[int, float] | None = None,
        types: Mapping[int, str] | None = None,
    ) -> None:
        super().__init__(params, military=military, military_airports=military_airports,
                         min_runway_ft=min_runway_ft, types=types)
        p = self.p
        self._passes = StatePasses(p, auto_evict=False)
        self.rejects = self._passes.derive.rejects
        self._rowev = RowEventsPass(p)
        self._orbit = OrbitPass(p)
        look_back = max(p.transition_pre_s, 2 * p.go_around_window_s, p.descent_window_s,
                        p.speed_max_span_s)
        self._store = RowStore((*_BUF_KEYS, "icao24"),
                               p.coverage_gap_s + look_back + _STORE_MARGIN_S)
        self._pre = RowStore(("icao24", "t", "callsign"), p.taxi_out_s + _STORE_MARGIN_S)
        self._low_lookback_s = 2 * p.go_around_window_s
        self._look_back_s = look_back
        self._reject_only: set[int] = set()
        # per slot
        self._icao = np.zeros(0, np.uint32)
        self._free = np.zeros(0, bool)  # no row buffer held: the rows are in the store
        self._sticky = np.zeros(0, bool)  # the next rows take the slow way
        self._st = np.zeros(0, np.int8)
        self._last_t = np.zeros(0)
        self._head_until = np.zeros(0)  # the first positions kept for the origin: until
        self._head_open = np.zeros(0, bool)  # the fast way's rows may belong to them
        self._ga = wk.new_watch(0)
        self._pre_dirty = np.zeros(0, bool)  # fast ground rows in the taxi-out store
        self._taxi_until = np.zeros(0)  # landed flight open on the ground: taxi-in until
        self._due_t = np.zeros(0)  # the first take-off / landing waiting for its runway due
        self._cs = np.zeros(0, np.uint64)
        self._serial = np.zeros(0, np.int64)
        self._pre_from = np.zeros(0)
        self._tstate = np.zeros(0, np.int8)
        self._seen_t = np.zeros(0)  # last row kept (kept through the passes' eviction)
        self._sums = wk.new_sums(0)
        self.ways = np.zeros(4, np.int64)
        """Aircraft segments of the batches so far by way (:mod:`.walk`: slow, fast air,
        fast ground, fast taxi-in): how much of the work avoided per-aircraft Python."""

    # --- per-slot arrays ------------------------------------------------------------------

    def _reserve(self, n: int) -> None:
        if self._free.shape[0] >= n:
            return
        old = self._free.shape[0]
        self._icao = grow(self._icao, n, 0)
        self._free = grow(self._free, n, True)
        self._sticky = grow(self._sticky, n, True)
        self._st = grow(self._st, n, -1)
        self._last_t = grow(self._last_t, n, math.nan)
        self._head_until = grow(self._head_until, n, math.inf)
        self._head_open = grow(self._head_open, n, False)
        self._pre_dirty = grow(self._pre_dirty, n, False)
        self._taxi_until = grow(self._taxi_until, n, -math.inf)
        self._due_t = grow(self._due_t, n, math.inf)
        self._cs = grow(self._cs, n, 0)
        self._serial = grow(self._serial, n, -1)
        self._pre_from = grow(self._pre_from, n, -math.inf)
        self._tstate = grow(self._tstate, n, _ACTIVE)
        self._seen_t = grow(self._seen_t, n, -math.inf)
        sums = wk.new_sums(self._free.shape[0])
        sums[:old] = self._sums
        self._sums = sums
        ga = wk.new_watch(self._free.shape[0])
        ga[:old] = self._ga
        self._ga = ga

    def _forget(self, slots: npt.NDArray[np.int64]) -> None:
        self._free[slots] = True
        self._sticky[slots] = True
        self._st[slots] = -1
        self._last_t[slots] = math.nan
        self._head_until[slots] = math.inf
        self._head_open[slots] = False
        self._ga[slots] = wk.new_watch(1)[0]
        self._pre_dirty[slots] = False
        self._taxi_until[slots] = -math.inf
        self._due_t[slots] = math.inf
        self._serial[slots] = -1
        self._pre_from[slots] = -math.inf
        self._tstate[slots] = _ACTIVE
        self._seen_t[slots] = -math.inf
        self._sums[slots] = wk.new_sums(1)[0]

    def _slot(self, icao: int) -> int:
        """The slot of an address (a new one is made for an address never seen)."""
        s = self._passes.derive.slots.find(icao)
        if s < 0:
            s = int(self._passes.derive.slots.lookup(np.array([icao], np.uint32))[0])
            n = self._passes.derive.slots.n
            self._passes.derive._reserve(n)
            self._rowev._reserve(n)
            self._reserve(n)
            self._icao[s] = icao
        return s

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
        if n_rows(cols):
            self._check_time_unit(cols["t"])
        rows = self._passes.update(cols, final_silent=False)
        self.now = max(self.now, self._passes.now)
        self._batch(rows)
        for icao, counts in (rejects or {}).items():
            self._implausible_counts(int(icao), counts)
        # time-outs: the last rows of silent aircraft decided (as final), then their flights
        self._batch(self._passes.decide_silent())
        self._timeouts()
        self._store.expire(self.now)
        self._pre.expire(self.now)
        gone = self._passes.evict()  # after the time-outs, as the reference
        if gone.size:
            self._evict(gone)
        return self._take()

    def flush(self) -> tuple[Columns, Columns]:
        """End of the history: decide everything, close every open flight."""
        self._batch(self._passes.flush())
        slots = self._passes.derive.slots
        self._rowev._reserve(slots.n)
        self._reserve(slots.n)
        items = list(self._aircraft.items())
        for k in range(0, len(items), _FLUSH_CHUNK):  # memory: a chunk of buffers at once
            part = items[k:k + _FLUSH_CHUNK]
            found = np.array([slots.find(icao) for icao, _ in part], np.int64)
            held = self._gathered(found[found >= 0])
            for (_, ac), s in zip(part, found.tolist(), strict=True):
                if ac.rejected:  # counts held back by implausible_every_s: the history ends
                    pending, ac.rejected = ac.rejected, {}
                    if s >= 0:
                        self._rowev._last_jump[s] = -math.inf
                    self._implausible_counts(ac.icao, pending)
                if s >= 0:
                    self._hold(ac, s, held.pop(s, None))
                    self._sticky[s] = True
                self._finalize(ac, close=True)
                if s >= 0:  # the rows are in the store if more history follows
                    ac.store = Buffer()
                    ac.n_done = 0
                    self._free[s] = True
        return self._take()

    def hygiene(self, icao24: int | None = None) -> dict[str, int]:
        """Positions kept out of the decisions (see
        :meth:`~tailwatch.detect.flights.FlightDetector.hygiene`)."""
        derive = self._passes.derive
        if icao24 is None:
            return derive.hygiene(None)
        return derive.hygiene(derive.slots.find(int(icao24)))

    def open_flights(self) -> Columns:
        """The flights open now, as FLIGHT_FIELDS columns (not final)."""
        for s in np.flatnonzero((self._sums[:, wk.N] > 0) | (self._sums[:, wk.G_N] > 0)
                                ).tolist():
            ac = self._aircraft.get(int(self._icao[s]))
            if ac is not None:
                self._pull(ac, s)
        return super().open_flights()

    @property
    def held_rows(self) -> int:
        """Rows held for the flight logic (the row store and the buffers of the aircraft in
        the middle of something): memory."""
        return self._store.rows + self._pre.rows + sum(
            n_rows(ac.buf) for ac in self._aircraft.values())

    # --- one batch -------------------------------------------------------------------------

    def _batch(self, rows: Columns) -> None:
        n = n_rows(rows) if rows else 0
        if n == 0:
            return
        self._reserve(self._passes.derive.slots.n)
        slot = rows["slot"].astype(np.int64)
        rows["_st"] = rows["state"].astype(np.int8)
        rows["_fs"] = np.full(n, -1, np.int32)
        if "emergency" not in rows:
            rows["emergency"] = np.full(n, -1, np.int8)
        starts, stops = _segments(rows["icao24"])  # one slot per address
        self._icao[slot[starts]] = rows["icao24"][starts]
        self._walk(rows, slot, starts, stops)
        self._rowev.update(rows, first_seen=False, flight_id=self._flight_id)
        self._orbit.update(rows, flight_id=self._flight_id)
        for sink in (self._rowev.events, self._orbit.events):
            self._events.rows += sink.rows
            sink.rows = []
        self._store.append(rows)
        self._heads_due()

    def _flight_id(self, icao: int, serial: int) -> str:
        ac = self._aircraft.get(icao)
        return ac.serials[serial] if ac is not None and serial < len(ac.serials) else ""

    def _walk(self, rows: Columns, slot: npt.NDArray[np.int64],
              starts: npt.NDArray[np.int64], stops: npt.NDArray[np.int64]) -> None:
        p = self.p
        t = rows["t"]
        cs = np.ascontiguousarray(rows["callsign"].astype("S8")).view(np.uint64)
        kind = np.empty(starts.shape[0], np.int8)
        wk.classify(slot, t, rows["_st"], cs, starts, stops, rows["_h"], rows["_alt"],
                    self._free, self._sticky, self._st, self._last_t, self._cs, self._due_t,
                    self._taxi_until, self._ga, p.coverage_gap_s, p.go_around_max_height_ft,
                    self._low_lookback_s, p.go_around_window_s, p.go_around_descent_ft,
                    p.go_around_climb_ft, kind)
        wk.fast_air(slot, t, rows["lat"], rows["lon"], rows["_trk"], rows["_alt"], rows["_v"],
                    rows["gs_kt"].astype(np.float64), rows["_step"], starts, stops, kind,
                    self._serial, self._sums, self._last_t, rows["_fs"])
        self.ways += np.bincount(kind, minlength=4)[:4]
        ground = kind == wk.FAST_GROUND
        if ground.any():
            last = stops[ground] - 1
            self._last_t[slot[last]] = t[last]
            self._pre_dirty[slot[last]] = True
            seg = np.repeat(ground, stops - starts)
            self._pre.append({"icao24": rows["icao24"][seg], "t": t[seg],
                              "callsign": rows["callsign"][seg]})
        self._tstate[slot[starts]] = _ACTIVE
        slow = np.flatnonzero(kind == wk.SLOW)
        held = self._gathered(slot[starts[slow]])
        for g in slow.tolist():  # Python per aircraft with news
            s = int(slot[starts[g]])
            self._slow(rows, int(starts[g]), int(stops[g]), s, held.get(s))

    def _gathered(self, slots: npt.NDArray[np.int64]) -> dict[int, Columns]:
        """The stored rows of those of ``slots`` without a row buffer (one look-up)."""
        slots = slots[self._free[slots]]
        if slots.size == 0:
            return {}
        icao = self._icao[slots]
        order = np.argsort(icao)
        slots, icao = slots[order], icao[order]
        cols, a, z = self._store.gather(icao)
        return {int(s): {k: v[int(i):int(j)] for k, v in cols.items()}
                for s, i, j in zip(slots.tolist(), a.tolist(), z.tolist(), strict=True)}

    def _slow(self, rows: Columns, a: int, z: int, s: int, got: Columns | None) -> None:
        icao = int(rows["icao24"][a])
        ac = self._aircraft.get(icao)
        if ac is None:
            ac = self._aircraft[icao] = self._new_aircraft(icao)
            self._reject_only.discard(icao)
        self._hold(ac, s, got)
        lo = n_rows(ac.buf)
        ac.store.append({k: rows[k][a:z] for k in _BUF_KEYS})
        ac.finalized = False
        self._consume(ac, lo, lo + z - a, rows["_st"][a:z])
        rows["_fs"][a:z] = ac.buf["_fs"][lo:lo + z - a]
        self._trim(ac)
        self._settle(ac, s)

    def _hold(self, ac: AircraftState, s: int, got: Columns | None = None) -> None:
        """Give ``ac`` its row buffer (from the store: ``got``, else looked up), taxi-out
        rows, flight sums and first positions."""
        if not self._free[s]:
            return
        p = self.p
        if got is None:
            got = self._store.rows_of(ac.icao)
        self._fill_head(ac, s, got)
        m = n_rows(got)
        if m > p.max_rows_per_aircraft:
            got = {k: v[m - p.max_rows_per_aircraft:] for k, v in got.items()}
        ac.store = Buffer(p.max_rows_per_aircraft + 512)
        if m:
            ac.store.append({k: got[k] for k in _BUF_KEYS})
        ac.n_done = n_rows(ac.buf)
        if self._st[s] >= 0:
            ac.state = int(self._st[s])
            ac.last_t = float(self._last_t[s])
        pre = self._pre.rows_of(ac.icao, float(self._pre_from[s])) if (
            self._pre_dirty[s]) else {}
        self._pre_dirty[s] = False
        if pre and n_rows(pre):
            self._keep_taxi_out(ac, pre["t"], pre["callsign"])
        self._pull(ac, s)
        self._free[s] = False

    def _fill_head(self, ac: AircraftState, s: int, got: Columns) -> None:
        """Add the fast way's rows of the flight's first ``descent_window_s`` in the air to
        its first positions (``head``), as ``FlightDetector._add_to_flight`` would have."""
        if not self._head_open[s]:
            return
        self._head_open[s] = False
        f = ac.flight
        if f is None or f.serial != self._serial[s] or f.first_air is None or not n_rows(got):
            return
        p = self.p
        head_n = n_rows(f.head)
        room = p.max_rows_per_aircraft - head_n
        if room <= 0 or (head_n and f.head["t"][-1] - f.head["t"][0] >= p.descent_window_s):
            return
        t = got["t"]
        after = float(f.head["t"][-1]) if head_n else -math.inf
        rows = np.flatnonzero((got["_fs"] == f.serial) & (got["_st"] == AIR) & (t > after)
                              & (t <= f.first_air.t + p.descent_window_s))[:room]
        if rows.size:
            part = {k: got[k][rows] for k in _HEAD_KEYS}
            f.head = concat([f.head, part]) if head_n else part

    def _heads_due(self) -> None:
        """Complete the first positions of the flights whose first ``descent_window_s`` in
        the air have passed on the fast way (once per flight, before the store forgets)."""
        n = self._head_open.shape[0]
        due = np.flatnonzero(self._head_open & self._free[:n]
                             & (self._last_t[:n] > self._head_until[:n]))
        if due.size == 0:
            return
        for s, got in self._gathered(due).items():
            ac = self._aircraft.get(int(self._icao[s]))
            if ac is not None:
                self._fill_head(ac, s, got)
            self._head_open[s] = False

    def _pull(self, ac: AircraftState, s: int) -> None:
        """Fold the fast way's flight sums of slot ``s`` into its flight."""
        row = self._sums[s]
        n, g = int(row[wk.N]), int(row[wk.G_N])
        if n + g == 0:
            return
        f = ac.flight
        if f is not None and g:  # taxi-in rows (never in the same stretch as air rows)
            f.n += g
            f.last_seen = float(row[wk.G_LAST_T])
            self._count_callsign(f, s, g)
        if f is not None and n:
            f.n += n
            f.last_seen = float(row[wk.LAST_T])
            f.dist_nm += float(row[wk.DIST])
            f.max_alt = float(np.fmax(f.max_alt, row[wk.MAX_ALT]))
            f.hi_sum += float(row[wk.HI_SUM])
            f.hi_n += int(row[wk.HI_N])
            f.mid_sum += float(row[wk.MID_SUM])
            f.mid_n += int(row[wk.MID_N])
            t, lat, lon = (float(row[wk.LAST_T]), float(row[wk.LAST_LAT]),
                           float(row[wk.LAST_LON]))
            f.prev_air = (t, lat, lon)
            f.last_air = Fix(t, lat, lon, float(row[wk.LAST_TRK]), float(row[wk.LAST_ALT]),
                             float(row[wk.LAST_V]))
            self._count_callsign(f, s, n)
        self._sums[s] = wk.new_sums(1)[0]

    def _count_callsign(self, f: FlightState, s: int, n: int) -> None:
        """``n`` rows of the fast way, all with slot ``s``'s callsign, for flight ``f``."""
        name = bytes(self._cs[s:s + 1].view("S8")[0]).decode("ascii", "replace").strip()
        if name:
            f.callsigns[name] = f.callsigns.get(name, 0) + n

    def _keep_callsign(self, ac: AircraftState, s: int) -> None:
        """The callsign the fast way expects of slot ``s``: its last row's."""
        self._cs[s] = np.array([ac.buf["callsign"][-1]], "S8").view(np.uint64)[0]

    def _settle(self, ac: AircraftState, s: int) -> None:
        """After the flight logic: can the next rows of ``ac`` take the fast way? If so its
        row buffer is given back (its rows are in the store)."""
        p = self.p
        self._st[s] = ac.state
        self._last_t[s] = ac.last_t
        f = ac.flight
        fast = False
        self._taxi_until[s] = -math.inf
        self._due_t[s] = min((q.horizon(p) for q in ac.pendings), default=math.inf)
        if ac.n_done == n_rows(ac.buf) and n_rows(ac.buf):
            if (ac.state == AIR and f is not None and not f.landed and not f.closed
                    and f.first_air is not None and f.prev_air is not None):
                fast = True
                self._serial[s] = f.serial
                self._keep_callsign(ac, s)
                head_n = n_rows(f.head)
                room = p.max_rows_per_aircraft - head_n
                until = f.first_air.t + p.descent_window_s
                self._head_open[s] = room > 0 and ac.last_t <= until and (
                    head_n == 0 or f.head["t"][-1] - f.head["t"][0] < p.descent_window_s)
                self._head_until[s] = until
            elif ac.state == GROUND and f is None:
                fast = True
                self._pre_from[s] = ac.last_t
            elif (ac.state == GROUND and f is not None and f.landed and not f.closed
                  and math.isfinite(f.landing_t)):
                fast = True  # taxi-in
                self._serial[s] = f.serial
                self._keep_callsign(ac, s)
                self._taxi_until[s] = f.landing_t + p.taxi_in_s
        self._sticky[s] = not fast
        if fast:
            ac.store = Buffer()
            ac.n_done = 0
            self._free[s] = True

    # --- tracker rejects, time-outs, eviction ---------------------------------------------

    def _row_events(self, ac: AircraftState, lo: int, hi: int) -> None:
        """Of the reference's row events only go-arounds run per aircraft (the others are
        passes 3 and 4 over the batch)."""
        if (ac.buf["_st"][lo:hi] == AIR).any():
            self._go_arounds(ac, hi)

    def _implausible_counts(self, icao: int, counts: Mapping[str, int]) -> None:
        if not any(int(v) > 0 for v in counts.values()):
            return
        s = self._slot(icao)
        self._rowev._reserve(self._passes.derive.slots.n)
        ac = self._aircraft.get(icao)
        if ac is None:
            ac = self._aircraft[icao] = self._new_aircraft(icao)
            self._reject_only.add(icao)
        for k, v in counts.items():
            if int(v) > 0:
                ac.rejected[str(k)] = ac.rejected.get(str(k), 0) + int(v)
        if not ac.rejected:
            return
        t, lat, lon = self.now, math.nan, math.nan
        last = self._passes.derive.last_position(s)
        if last is not None:
            t, lat, lon = last
        jumps = self._rowev._last_jump
        if t - jumps[s] < self.p.implausible_every_s:
            return
        jumps[s] = t
        self._events.add(t, icao, self._fid(ac), "implausible_position", lat=lat, lon=lon,
                         details={"reason": "tracker_rejects", **ac.rejected})
        ac.rejected = {}

    def _timeouts(self) -> None:
        p = self.p
        derive = self._passes.derive
        n = derive.slots.n
        self._reserve(n)
        kept = derive._kept_t[:n]
        known = np.isfinite(kept)  # (the passes forget an evicted aircraft's; this does not)
        self._seen_t[:n][known] = kept[known]
        kept = self._seen_t[:n]
        silent = self.now - kept
        ts = self._tstate[:n]
        due = np.flatnonzero(np.isfinite(kept) & (
            ((silent > p.coverage_gap_s) & (ts == _ACTIVE))
            | ((silent > p.flight_gap_s) & (ts == _LEFT))))
        for k in range(0, due.size, _FLUSH_CHUNK):  # Python per aircraft going silent
            part = due[k:k + _FLUSH_CHUNK]
            held = self._gathered(part)
            for s in part.tolist():
                ac = self._aircraft.get(int(self._icao[s]))
                if ac is None:
                    continue
                self._hold(ac, s, held.pop(s, None))
                close = bool(silent[s] > p.flight_gap_s)
                self._finalize(ac, close=close)
                self._sticky[s] = True
                ts[s] = _CLOSED if close or ac.flight is None else _LEFT
                self._compact(ac)
        for icao in list(self._reject_only):  # only tracker rejects, never a position
            ac = self._aircraft.get(icao)
            s = derive.slots.find(icao)
            if ac is None or s < 0 or self._seen_t[s] > -math.inf:
                self._reject_only.discard(icao)
                continue
            if not ac.rejected and not (
                    self.now - self._rowev._last_jump[s] < p.implausible_every_s):
                del self._aircraft[icao]
                self._rowev._last_jump[s] = -math.inf
                self._reject_only.discard(icao)

    def _compact(self, ac: AircraftState) -> None:
        """Memory of an aircraft gone silent (kept until ``evict_after_s`` for the gap
        inference when it comes back): only the rows of the look-backs before its last one
        (those the reference keeps), in a buffer of their size."""
        b = ac.buf
        n = n_rows(b)
        if n == 0 or ac.pendings:
            return
        cut = int(np.searchsorted(b["t"], ac.last_t - self._look_back_s))
        cut = max(0, min(cut, ac.n_done - 1))
        rows = {k: v[cut:].copy() for k, v in b.items()}
        ac.store = Buffer(self.p.max_rows_per_aircraft + 512)
        ac.store.append(rows)
        ac.n_done -= cut

    def _evict(self, slots: npt.NDArray[np.int64]) -> None:
        """Forget aircraft silent for ``evict_after_s`` (the passes already did)."""
        for s in slots.tolist():
            ac = self._aircraft.get(int(self._icao[s]))
            if ac is not None and ac.flight is None:
                del self._aircraft[int(self._icao[s])]
        self._forget(slots)
        self._rowev.reset(slots)
        self._orbit.reset(slots)
