"""Pass 3 of the compiled detector: the per-position event kernels over every aircraft of a
batch of decided positions — first sight, squawk changes and emergency squawks, ADS-B
emergency status, GNSS integrity drops, implausible jumps (rules in docs/events.md).

One numba loop runs the reference detector's kernels
(:func:`tailwatch.detect.events.code_changes`, :func:`~tailwatch.detect.events.gnss_degradations`)
and the jump rule per aircraft segment, with the kernels' state held per slot; it returns the
rows that raise an event. Python then runs once per event (its details), through the same
:class:`~tailwatch.detect.events.EventSink`, so the events are the reference's to the byte.

The events' ``flight_id`` comes from the flight logic: with the rows' ``_fs`` column (flight
serial of each row) and a ``flight_id`` callable (address, serial) → id; without them the
events carry ``""`` except ``first_seen`` of an airborne aircraft (its new flight's id).
``first_seen=False`` leaves first sights to the flight logic (the whole detector emits them
where it starts an aircraft's first run).
"""

# numba kernels compute on np.int64 scalars; mypy sees np.int64 where int is annotated:
# mypy: disable-error-code="arg-type,assignment,return-value,no-any-return"

from __future__ import annotations

import math
from collections.abc import Callable

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.core.schema import EMERGENCY_LABELS
from tailwatch.detect import events as ev
from tailwatch.detect.columns import Columns
from tailwatch.detect.compiled.slots import grow
from tailwatch.detect.params import DetectParams

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

# kinds of the event rows the kernel returns
FIRST, SQUAWK, EMERG_STATUS, GNSS, JUMP = 0, 1, 2, 3, 4


@nb.njit(cache=True)
def _row_events(
    slot: I64, t: F64, squawk: I64, emerg: I64, nic: I64, nacp: I64, air: npt.NDArray[np.bool_],
    step: F64, starts: I64, stops: I64,
    started: npt.NDArray[np.bool_], prev_t: F64, last_jump_t: F64,
    sq_state: F64, em_state: F64, gnss_state: F64,
    confirm_n: int, good_nic: int, bad_nic: int, good_nacp: int, bad_nacp: int, min_n: int,
    jump_max_kt: float, jump_min_nm: float, every_s: float,
    kind: I64, row: I64, t0: F64, a: I64, b: I64, x: F64,
) -> int:
    """Event rows (kind, row, time, two codes, one value) of the decided rows; returns how
    many were written to the output arrays."""
    k = 0
    for g in range(starts.shape[0]):
        lo = starts[g]
        hi = stops[g]
        s = slot[lo]
        if not started[s]:
            started[s] = True
            kind[k] = FIRST
            row[k] = lo
            t0[k] = t[lo]
            k += 1
        rows, tt, old, new = ev.code_changes(t[lo:hi], squawk[lo:hi], confirm_n, sq_state[s])
        for j in range(rows.shape[0]):
            kind[k] = SQUAWK
            row[k] = lo + rows[j]
            t0[k] = tt[j]
            a[k] = old[j]
            b[k] = new[j]
            k += 1
        rows, tt, old, new = ev.code_changes(t[lo:hi], emerg[lo:hi], confirm_n, em_state[s])
        for j in range(rows.shape[0]):
            if new[j] <= 0:
                continue
            kind[k] = EMERG_STATUS
            row[k] = lo + rows[j]
            t0[k] = tt[j] + 1e-3
            b[k] = new[j]
            k += 1
        rows, tt = ev.gnss_degradations(t[lo:hi], nic[lo:hi], nacp[lo:hi], air[lo:hi],
                                        good_nic, bad_nic, good_nacp, bad_nacp, min_n,
                                        gnss_state[s])
        for j in range(rows.shape[0]):
            kind[k] = GNSS
            row[k] = lo + rows[j]
            t0[k] = tt[j]
            k += 1
        for i in range(lo, hi):
            if math.isnan(prev_t[s]):
                prev_t[s] = t[i]
                continue
            dt = t[i] - prev_t[s]
            prev_t[s] = t[i]
            v = step[i] / max(dt, 1e-3) * 3600.0
            if v > jump_max_kt and step[i] >= jump_min_nm:
                if t[i] - last_jump_t[s] < every_s:
                    continue
                last_jump_t[s] = t[i]
                kind[k] = JUMP
                row[k] = i
                t0[k] = t[i]
                x[k] = dt
                k += 1
    return k


class RowEventsPass:
    """Pass 3 over the decided rows of :class:`~.decide.StatePasses` (module docstring)."""

    def __init__(self, params: DetectParams | None = None) -> None:
        self.p = params or DetectParams()
        self._started = np.zeros(0, bool)
        self._prev_t = np.zeros(0)
        self._last_jump = np.zeros(0)
        self._sq = np.zeros((0, ev.CODE_STATE_SIZE))
        self._em = np.zeros((0, ev.CODE_STATE_SIZE))
        self._gnss = np.zeros((0, ev.GNSS_STATE_SIZE))
        self.events = ev.EventSink()

    def _reserve(self, n: int) -> None:
        if self._started.shape[0] >= n:
            return
        old = self._started.shape[0]
        self._started = grow(self._started, n, False)
        self._prev_t = grow(self._prev_t, n, math.nan)
        self._last_jump = grow(self._last_jump, n, -math.inf)
        self._sq = grow(self._sq, n, 0.0)
        self._em = grow(self._em, n, 0.0)
        self._gnss = grow(self._gnss, n, 0.0)
        self._fresh(np.arange(old, self._started.shape[0]))

    def _fresh(self, slots: npt.NDArray[np.int64]) -> None:
        self._sq[slots] = ev.new_code_state()
        self._em[slots] = ev.new_code_state()
        self._gnss[slots] = ev.new_gnss_state()

    def reset(self, slots: npt.NDArray[np.int64]) -> None:
        """Forget these aircraft (evicted)."""
        self._started[slots] = False
        self._prev_t[slots] = math.nan
        self._last_jump[slots] = -math.inf
        self._fresh(slots)

    def update(self, rows: Columns, *, first_seen: bool = True,
               flight_id: Callable[[int, int], str] | None = None) -> int:
        """Run the kernels over decided rows sorted by (icao24, t) with ``slot``, ``state``
        and the derived columns; the events go to :attr:`events`. Returns how many."""
        from tailwatch.detect.flights import flight_id_of

        p = self.p
        n = int(rows["t"].shape[0]) if rows else 0
        if n == 0:
            return 0
        slot = rows["slot"].astype(np.int64)
        self._reserve(int(slot.max()) + 1)
        starts = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1]]).astype(np.int64)
        stops = np.r_[starts[1:], n].astype(np.int64)
        cap = n + starts.shape[0]
        kind = np.empty(cap, np.int64)
        row = np.empty(cap, np.int64)
        t0 = np.empty(cap)
        a = np.full(cap, -1, np.int64)
        b = np.full(cap, -1, np.int64)
        x = np.full(cap, np.nan)
        em = rows["emergency"].astype(np.int64) if "emergency" in rows else np.full(n, -1)
        k = _row_events(
            slot, rows["t"], rows["squawk"].astype(np.int64), em,
            rows["nic"].astype(np.int64), rows["nacp"].astype(np.int64), rows["state"] == 0,
            rows["_step"], starts, stops, self._started, self._prev_t, self._last_jump,
            self._sq, self._em, self._gnss, p.squawk_confirm_n, p.gnss_good_nic,
            p.gnss_bad_nic, p.gnss_good_nacp, p.gnss_bad_nacp, p.gnss_min_n, p.jump_max_kt,
            p.jump_min_nm, p.implausible_every_s, kind, row, t0, a, b, x,
        )
        add = self.events.add
        icao = rows["icao24"]
        lat, lon, alt = rows["lat"], rows["lon"], rows["_alt"]
        fs = rows.get("_fs") if flight_id is not None else None
        for j in range(k):  # Python per emitted event
            i = int(row[j])
            ac = int(icao[i])
            kd = int(kind[j])
            if kd == FIRST and not first_seen:
                continue
            fid = ""
            if fs is not None and (serial := int(fs[i])) >= 0:
                fid = flight_id(ac, serial)  # type: ignore[misc]
            tt = float(t0[j])
            la, lo = float(lat[i]), float(lon[i])
            if kd == FIRST:
                airborne = int(rows["state"][i]) == 0
                add(tt, ac, flight_id_of(ac, tt) if airborne else "", "first_seen", lat=la,
                    lon=lo, details={"airborne": airborne, "altitude_ft": float(alt[i]),
                                     "gs_kt": float(rows["_v"][i]),
                                     "callsign": rows["callsign"][i],
                                     "squawk": int(rows["squawk"][i])})
            elif kd == SQUAWK:
                o, nw = int(a[j]), int(b[j])
                if o >= 0:
                    add(tt, ac, fid, "squawk_change", lat=la, lon=lo,
                        details={"from": f"{o:04d}", "to": f"{nw:04d}"})
                if nw in ev.EMERGENCY_SQUAWKS:
                    add(tt, ac, fid, "emergency", lat=la, lon=lo, details={
                        "squawk": f"{nw:04d}", "meaning": ev.EMERGENCY_SQUAWKS[nw],
                        "previous_squawk": f"{o:04d}" if o >= 0 else None,
                        "altitude_ft": float(alt[i]), "source": "squawk"})
            elif kd == EMERG_STATUS:
                nw = int(b[j])
                label = EMERGENCY_LABELS[nw] if nw < len(EMERGENCY_LABELS) else str(nw)
                add(tt, ac, fid, "emergency", lat=la, lon=lo, details={
                    "adsb_emergency": label, "source": "adsb",
                    "squawk": int(rows["squawk"][i])})
            elif kd == GNSS:
                add(tt, ac, fid, "gnss_degradation", lat=la, lon=lo, details={
                    "nic": int(rows["nic"][i]), "nacp": int(rows["nacp"][i]),
                    "altitude_ft": float(alt[i])})
            else:
                d_nm = float(rows["_step"][i])
                dt = float(x[j])
                add(tt, ac, fid, "implausible_position", lat=la, lon=lo, details={
                    "reason": "jump", "distance_nm": d_nm, "dt_s": dt,
                    "implied_kt": d_nm / max(dt, 1e-3) * 3600.0})
        return k
