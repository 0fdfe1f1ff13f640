"""Pass 5 of the compiled detector, the kernels of the transitions walk: which aircraft of a
batch only extend what they were doing, and the flight sums of those that do.

For each aircraft's decided rows of a batch, :func:`classify` says whether they can take the
fast way (no Python for this aircraft in this batch):

* ``FAST_AIR``: airborne before and in every row, no silence longer than ``coverage_gap_s``,
  an open flight, the same callsign as its last row, and no go-around possible: no row
  ``go_around_climb_ft`` above the lowest position low over an airport (below
  ``go_around_max_height_ft``) reached after a descent of ``go_around_descent_ft`` in the last
  ``low_lookback_s`` (the descent judged against an upper bound of the highest altitude of
  the ``go_around_window_s`` before it: two time buckets) — the go-around scan could not
  confirm a climb in them, so descending on an approach is fast too;
* ``FAST_GROUND``: on the ground before and in every row, no silence, no flight open;
* ``FAST_TAXI``: the same after a landing, within ``taxi_in_s`` of it (the flight takes the
  rows: positions, last seen) and with the same callsign;
* ``SLOW``: anything else (first sight, a change of state, a gap, a take-off or landing
  waiting for its runway, a flight starting): the reference flight logic runs for it.

Every fast way also needs the rows to end before the aircraft's take-off or landing waiting
for its runway is due (``due_t``: it is then resolved by the flight logic). An aircraft the
flight logic last left in the middle of something else is marked ``sticky`` and takes the
slow way until it settles. :func:`fast_air` then adds the rows of ``FAST_AIR`` aircraft to
their flight's sums (positions, distance, highest altitude, cruise speed sums, last fix),
which are folded into the flight when the flight logic next needs it.
"""

# numba kernels compute on np.int64 scalars; mypy sees np.int64 where int is annotated:
# mypy: disable-error-code="arg-type,assignment,return-value,no-any-return"

from __future__ import annotations

import math

import numba as nb
import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]
B = npt.NDArray[np.bool_]
U64 = npt.NDArray[np.uint64]

SLOW, FAST_AIR, FAST_GROUND, FAST_TAXI = 0, 1, 2, 3

# the go-around watch per slot: last low position after a descent, lowest of them, time
# bucket (go_around_window_s) and highest altitude in it and in the one before
GA_T, GA_MIN, GA_BUCKET, GA_CUR, GA_PREV = 0, 1, 2, 3, 4
GA_FIELDS = 5


def new_watch(n: int) -> F64:
    """Empty go-around watches for ``n`` slots."""
    out = np.full((n, GA_FIELDS), -math.inf)
    out[:, GA_MIN] = math.inf
    return out
AIR, GROUND = 0, 1

# flight sums per slot (FlightSums.values columns)
N, DIST, MAX_ALT, HI_SUM, HI_N, MID_SUM, MID_N = 0, 1, 2, 3, 4, 5, 6
LAST_T, LAST_LAT, LAST_LON, LAST_TRK, LAST_ALT, LAST_V = 7, 8, 9, 10, 11, 12
G_N, G_LAST_T = 13, 14  # taxi-in rows
SUMS = 15


@nb.njit(cache=True)
def classify(
    slot: I64, t: F64, state: I8, cs: U64, starts: I64, stops: I64, h: F64, alt: F64,
    free: B, sticky: B, st_s: I8, last_t: F64, cs_s: U64, due_t: F64, taxi_until: F64,
    ga: F64, gap_s: float, low_ft: float, low_lookback_s: float, window_s: float,
    descent_ft: float, climb_ft: float, kind: I8,
) -> None:
    """The way of each aircraft segment (module docstring); updates each slot's go-around
    watch ``ga`` (:data:`GA_FIELDS`) with every row, fast or not."""
    for g in range(starts.shape[0]):
        a = starts[g]
        z = stops[g]
        s = slot[a]
        st = st_s[s]
        taxi = taxi_until[s] != -math.inf
        ok = (free[s] and not sticky[s] and st >= 0 and t[a] - last_t[s] <= gap_s
              and t[z - 1] < due_t[s])
        for i in range(a, z):
            al = alt[i]
            if ok:
                if state[i] != st or (i > a and t[i] - t[i - 1] > gap_s):
                    ok = False
                elif st == AIR:
                    # a climb that could confirm a go-around after a low position
                    if cs[i] != cs_s[s] or (
                            not math.isnan(al) and t[i] - ga[s, GA_T] <= low_lookback_s
                            and al >= ga[s, GA_MIN] + climb_ft):
                        ok = False
                elif taxi and cs[i] != cs_s[s]:
                    ok = False
            # the go-around watch
            if math.isnan(al):
                continue
            b = math.floor(t[i] / window_s)
            if b != ga[s, GA_BUCKET]:
                ga[s, GA_PREV] = ga[s, GA_CUR] if b == ga[s, GA_BUCKET] + 1 else -math.inf
                ga[s, GA_CUR] = -math.inf
                ga[s, GA_BUCKET] = b
            top = max(ga[s, GA_PREV], ga[s, GA_CUR])  # >= the highest of the window before
            if state[i] == AIR and h[i] < low_ft and top - al >= descent_ft:
                if t[i] - ga[s, GA_T] > low_lookback_s:
                    ga[s, GA_MIN] = al
                else:
                    ga[s, GA_MIN] = min(al, ga[s, GA_MIN])
                ga[s, GA_T] = t[i]
            if al > ga[s, GA_CUR]:
                ga[s, GA_CUR] = al
        k = SLOW
        if ok:
            if st == AIR:
                k = FAST_AIR
            elif not taxi:
                k = FAST_GROUND
            elif t[z - 1] < taxi_until[s]:
                k = FAST_TAXI
        kind[g] = k


@nb.njit(cache=True)
def fast_air(
    slot: I64, t: F64, lat: F64, lon: F64, trk: F64, alt: F64, v: F64, gs: F64, step: F64,
    starts: I64, stops: I64, kind: I8, serial: I64, sums: F64, last_t: F64,
    fs: npt.NDArray[np.int32],
) -> None:
    """Flight sums of the ``FAST_AIR`` and ``FAST_TAXI`` segments (as
    ``FlightDetector._add_to_flight`` adds them), each row marked with its flight's
    serial."""
    for g in range(starts.shape[0]):
        if kind[g] == FAST_TAXI:
            a = starts[g]
            z = stops[g]
            s = slot[a]
            for i in range(a, z):
                fs[i] = serial[s]
            sums[s, G_N] += z - a
            sums[s, G_LAST_T] = t[z - 1]
            last_t[s] = t[z - 1]
            continue
        if kind[g] != FAST_AIR:
            continue
        a = starts[g]
        z = stops[g]
        s = slot[a]
        row = sums[s]
        for i in range(a, z):
            fs[i] = serial[s]
            row[DIST] += step[i]
            al = alt[i]
            if not math.isnan(al) and (math.isnan(row[MAX_ALT]) or al > row[MAX_ALT]):
                row[MAX_ALT] = al
            sp = gs[i]
            if math.isnan(sp):
                sp = v[i]
            if not math.isnan(sp):
                if al >= 20_000.0:
                    row[HI_SUM] += sp
                    row[HI_N] += 1.0
                if al >= 5_000.0:
                    row[MID_SUM] += sp
                    row[MID_N] += 1.0
        row[N] += z - a
        j = z - 1
        row[LAST_T] = t[j]
        row[LAST_LAT] = lat[j]
        row[LAST_LON] = lon[j]
        row[LAST_TRK] = trk[j]
        row[LAST_ALT] = alt[j]
        row[LAST_V] = v[j]
        last_t[s] = t[j]


def new_sums(n: int) -> F64:
    """Empty flight sums for ``n`` slots."""
    out = np.zeros((n, SUMS))
    out[:, MAX_ALT] = math.nan
    return out
