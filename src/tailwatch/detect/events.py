"""Event records and the per-aircraft event kernels (squawk, emergency, GNSS, go-around, orbit).

Each kernel runs over one aircraft's positions in time order and carries its state between
calls in a small float64 array, so a stream cut into batches gives the same events as the
whole history. Rules and thresholds: docs/events.md.
"""

# numba kernels compute on np.int64 scalars; mypy sees np.int64 where int is annotated:
# mypy: disable-error-code="arg-type,assignment,return-value,no-any-return"

from __future__ import annotations

import json
import math
from typing import Any

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.core.schema import EVENT_FIELDS, EVENT_TYPES, empty_columns

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

EMERGENCY_SQUAWKS = {7500: "unlawful_interference", 7600: "radio_failure", 7700: "emergency"}


def _clean(v: Any) -> Any:
    """JSON-friendly values: numpy scalars to Python, NaN to None, floats rounded."""
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        if not math.isfinite(v):
            return None
        return round(v, 6)
    if isinstance(v, bytes):
        return v.decode("ascii", "replace")
    return v


class EventSink:
    """Collects events (few: a Python list is fine) and turns them into EVENT_FIELDS columns."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, int, str, str, str, float, float, str]] = []

    def add(
        self,
        t: float,
        icao24: int,
        flight_id: str,
        type_: str,
        *,
        airport: str = "",
        lat: float = math.nan,
        lon: float = math.nan,
        details: dict[str, Any] | None = None,
    ) -> None:
        if type_ not in EVENT_TYPES:
            raise ValueError(f"unknown event type {type_!r}")
        text = json.dumps(_clean(details or {}), sort_keys=True, separators=(",", ":"))
        self.rows.append((float(t), int(icao24), flight_id, type_, airport, float(lat),
                          float(lon), text))

    def __len__(self) -> int:
        return len(self.rows)

    def take(self) -> dict[str, np.ndarray]:
        """The events collected so far (sorted by time, then address and type); clears."""
        rows = sorted(self.rows, key=lambda r: (r[0], r[1], r[3]))
        self.rows = []
        return event_columns(rows)


def event_columns(rows: list[tuple[float, int, str, str, str, float, float, str]]
                  ) -> dict[str, np.ndarray]:
    cols = empty_columns(EVENT_FIELDS, len(rows))
    if rows:
        t, icao, fid, typ, apt, lat, lon, det = zip(*rows, strict=True)
        cols["t"] = np.array(t, dtype=np.float64)
        cols["icao24"] = np.array(icao, dtype=np.uint32)
        for name, values in (("flight_id", fid), ("type", typ), ("airport", apt),
                             ("details", det)):
            arr = np.empty(len(rows), dtype=object)
            arr[:] = list(values)
            cols[name] = arr
        cols["lat"] = np.array(lat, dtype=np.float64)
        cols["lon"] = np.array(lon, dtype=np.float64)
    else:
        for name in ("flight_id", "type", "airport", "details"):
            cols[name] = np.empty(0, dtype=object)
    return cols


# --- debounced code changes (squawk, ADS-B emergency status) ---------------------------------

CODE_STATE_SIZE = 4  # current code, candidate code, candidate count, candidate first time


def new_code_state() -> F64:
    return np.array([-1.0, -1.0, 0.0, np.nan])


@nb.njit(cache=True)
def code_changes(t: F64, codes: I64, confirm_n: int, state: F64) -> tuple[I64, F64, I64, I64]:
    """Changes of a code (``>= 0``; negative = not reported, skipped) confirmed by
    ``confirm_n`` consecutive reports: (row of the confirmation, time the new code was first
    seen, old code (-1 for the first code of the aircraft), new code). ``state`` carries
    (current, candidate, count, candidate time) between calls."""
    n = codes.shape[0]
    rows = np.empty(n, np.int64)
    t0 = np.empty(n)
    old = np.empty(n, np.int64)
    new = np.empty(n, np.int64)
    k = 0
    for i in range(n):
        c = codes[i]
        if c < 0:
            continue
        if c == state[0]:
            state[2] = 0.0
            continue
        if state[2] > 0 and c == state[1]:
            state[2] += 1.0
        else:
            state[1] = c
            state[2] = 1.0
            state[3] = t[i]
        if state[2] >= confirm_n:
            rows[k] = i
            t0[k] = state[3]
            old[k] = int(state[0])
            new[k] = c
            k += 1
            state[0] = c
            state[2] = 0.0
    return rows[:k], t0[:k], old[:k], new[:k]


# --- GNSS integrity ------------------------------------------------------------------------

GNSS_STATE_SIZE = 4  # mode (0 unknown, 1 good, 2 degraded), run count, run start t, unused


def new_gnss_state() -> F64:
    return np.zeros(GNSS_STATE_SIZE)


@nb.njit(cache=True)
def gnss_degradations(
    t: F64, nic: I64, nacp: I64, airborne: npt.NDArray[np.bool_],
    good_nic: int, bad_nic: int, good_nacp: int, bad_nacp: int, min_n: int, state: F64,
) -> tuple[I64, F64]:
    """Integrity drops confirmed by ``min_n`` bad airborne positions in a row after a good
    period: (row of the confirmation, time of the first bad position)."""
    n = t.shape[0]
    out = np.empty(n, np.int64)
    t0 = np.empty(n)
    k = 0
    for i in range(n):
        if not airborne[i]:
            continue
        bad = (0 <= nic[i] <= bad_nic) or (0 <= nacp[i] <= bad_nacp)
        good = (not bad) and (nic[i] >= good_nic or nacp[i] >= good_nacp)
        if not bad and not good:
            continue
        mode = state[0]
        if mode == 2.0:  # degraded: wait for min_n good in a row
            if good:
                state[1] += 1.0
                if state[1] >= min_n:
                    state[0] = 1.0
                    state[1] = 0.0
            else:
                state[1] = 0.0
        elif good:
            state[0] = 1.0
            state[1] = 0.0
        else:  # bad after good or unknown
            if state[1] == 0.0:
                state[2] = t[i]
            state[1] += 1.0
            if state[1] >= min_n:
                if mode == 1.0:
                    out[k] = i
                    t0[k] = state[2]
                    k += 1
                state[0] = 2.0
                state[1] = 0.0
    return out[:k], t0[:k]


# --- go-around -------------------------------------------------------------------------------


@nb.njit(cache=True)
def go_around_scan(
    t: F64, alt: F64, h: F64, ok: npt.NDArray[np.bool_], max_h: float,
    descent_ft: float, climb_ft: float, window_s: float,
) -> tuple[I64, I64]:
    """Lowest points of go-arounds: a row with ``h`` (height above the field) below
    ``max_h`` after a descent of ``descent_ft`` within ``window_s`` before it, then a climb
    of ``climb_ft`` above it within ``window_s`` after, all rows in between airborne
    (``ok``). Returns (lowest row, row where the climb is confirmed)."""
    n = t.shape[0]
    lows = np.empty(n, np.int64)
    confirms = np.empty(n, np.int64)
    k = 0
    i = 0
    while i < n:
        if not (ok[i] and h[i] < max_h and not math.isnan(alt[i])):
            i += 1
            continue
        # lowest point of this low episode, until the climb is confirmed or the episode ends
        lo = i
        j = i + 1
        confirmed = -1
        while j < n and ok[j] and t[j] - t[lo] <= window_s:
            if not math.isnan(alt[j]):
                if alt[j] < alt[lo]:
                    lo = j
                elif alt[j] - alt[lo] >= climb_ft:
                    confirmed = j
                    break
            j += 1
        if confirmed >= 0 and h[lo] < max_h:
            # a descent before the lowest point, airborne all along
            m = lo - 1
            came_down = False
            while m >= 0 and ok[m] and t[lo] - t[m] <= window_s:
                if not math.isnan(alt[m]) and alt[m] - alt[lo] >= descent_ft:
                    came_down = True
                    break
                m -= 1
            if came_down:
                lows[k] = lo
                confirms[k] = confirmed
                k += 1
            i = confirmed + 1
        else:
            i += 1
    return lows[:k], confirms[:k]


# --- orbits ----------------------------------------------------------------------------------

ORBIT_STATE_SIZE = 4  # active (0/1), centre x, y, z (unit vector)


def new_orbit_state() -> F64:
    return np.zeros(ORBIT_STATE_SIZE)


@nb.njit(cache=True)
def orbit_scan(
    t: F64, lat: F64, lon: F64, trk: F64, start: int, window_s: float, turn_deg: float,
    max_step_s: float, max_radius_nm: float, state: F64,
) -> tuple[I64, I64, F64, F64]:
    """Samples ``start:`` where an orbit is found: within ``window_s`` before the sample, the
    track turned by ``turn_deg`` or more in one direction (net) while every sample stayed
    within ``max_radius_nm`` of their centre. One detection per episode; the episode ends
    when the aircraft is farther than twice the radius from the centre or after a break
    (a step longer than ``max_step_s``). Returns (sample, window start sample, net turn,
    radius NM)."""
    n = t.shape[0]
    rad = math.pi / 180.0
    cum = np.zeros(n)
    brk = np.zeros(n, np.bool_)
    for i in range(1, n):
        dt = t[i] - t[i - 1]
        if dt > max_step_s or math.isnan(trk[i]) or math.isnan(trk[i - 1]):
            brk[i] = dt > max_step_s
            cum[i] = cum[i - 1]
            continue
        d = (trk[i] - trk[i - 1] + 180.0) % 360.0 - 180.0
        cum[i] = cum[i - 1] + d
    x = np.cos(lat * rad) * np.cos(lon * rad)
    y = np.cos(lat * rad) * np.sin(lon * rad)
    z = np.sin(lat * rad)
    r_earth_nm = 3440.065
    found = np.empty(n, np.int64)
    froms = np.empty(n, np.int64)
    turns = np.empty(n)
    radii = np.empty(n)
    k = 0
    for i in range(start, n):
        if brk[i]:
            state[0] = 0.0
        if state[0] == 1.0:
            dot = x[i] * state[1] + y[i] * state[2] + z[i] * state[3]
            if math.acos(min(1.0, max(-1.0, dot))) * r_earth_nm > 2.0 * max_radius_nm:
                state[0] = 0.0
            else:
                continue
        # smallest window ending at i with |net turn| >= turn_deg
        m = i - 1
        hit = -1
        while m >= 0 and t[i] - t[m] <= window_s:
            if brk[m + 1]:
                break
            if abs(cum[i] - cum[m]) >= turn_deg:
                hit = m
                break
            m -= 1
        if hit < 0:
            continue
        cx = 0.0
        cy = 0.0
        cz = 0.0
        for q in range(hit, i + 1):
            cx += x[q]
            cy += y[q]
            cz += z[q]
        norm = math.sqrt(cx * cx + cy * cy + cz * cz)
        cx /= norm
        cy /= norm
        cz /= norm
        far = 0.0
        for q in range(hit, i + 1):
            dot = x[q] * cx + y[q] * cy + z[q] * cz
            d = math.acos(min(1.0, max(-1.0, dot))) * r_earth_nm
            if d > far:
                far = d
        if far > max_radius_nm:
            continue
        state[0] = 1.0
        state[1] = cx
        state[2] = cy
        state[3] = cz
        found[k] = i
        froms[k] = hit
        turns[k] = cum[i] - cum[hit]
        radii[k] = far
        k += 1
    return found[:k], froms[:k], turns[:k], radii[:k]
