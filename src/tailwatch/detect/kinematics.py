"""Per-position quantities the detectors need, computed causally (from the position and the ones
before it only), so that live batches and whole histories give the same answers.

* speed and track from the positions themselves (``motion_rows``): the reported ground speed of
  imported or noisy data is often stale, and parked aircraft jitter by a few metres only;
* a filtered barometric altitude (``clean_altitude``): isolated spikes (a digit error, another
  aircraft's reply) are dropped;
* the effective air/ground state (``effective_rows``) and its hysteresis (``decide_states``).
"""

# numba kernels compute on np.int64 scalars; mypy sees np.int64 where int is annotated:
# mypy: disable-error-code="arg-type,assignment,return-value,no-any-return"

from __future__ import annotations

import math

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.reference.geo import EARTH_RADIUS_M, M_PER_NM

F64 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int8]

AIR = 0
GROUND = 1
UNKNOWN = -1

STALE_HEIGHT_FT = 10_000.0
"""A position of unknown air/ground state slower than ``parked_max_kt`` near an airport and
more than this above it carries a stale altitude: it is on the ground."""

# altitude filter state: good altitude, its time, candidate altitude, its time, candidate count
ALT_STATE_SIZE = 5


def new_alt_state() -> F64:
    return np.array([np.nan, np.nan, np.nan, np.nan, 0.0])


@nb.njit(cache=True)
def clean_altitude(
    t: F64, alt: F64, state: F64, jump_ft: float, rate_fpm: float, resync_n: int
) -> F64:
    """Altitudes with spikes replaced by ``NaN``; ``state`` (see ``new_alt_state``) carries the
    last accepted value between calls. A value is accepted within ``jump_ft + rate_fpm * dt``
    of the last accepted one, or when ``resync_n`` consecutive rejected values agree with one
    another (then the earlier accepted value was the wrong one)."""
    out = np.full(t.shape[0], np.nan)
    for i in range(t.shape[0]):
        a = alt[i]
        if math.isnan(a):
            continue
        good = state[0]
        if math.isnan(good) or abs(a - good) <= jump_ft + rate_fpm * (t[i] - state[1]) / 60.0:
            out[i] = a
            state[0] = a
            state[1] = t[i]
            state[4] = 0.0
            continue
        if state[4] > 0 and abs(a - state[2]) <= jump_ft + rate_fpm * (t[i] - state[3]) / 60.0:
            state[4] += 1.0
        else:
            state[4] = 1.0
        state[2] = a
        state[3] = t[i]
        if state[4] >= resync_n:
            out[i] = a
            state[0] = a
            state[1] = t[i]
            state[4] = 0.0
    return out


@nb.njit(cache=True)
def motion_rows(
    t: F64, lat: F64, lon: F64, start: int, window_s: float, max_span_s: float,
    gap_s: float,
) -> tuple[F64, F64, F64]:
    """For rows ``start:``: speed (kt) and track (deg) from the last earlier position at least
    ``window_s`` old (at most ``max_span_s``; ``NaN`` without one, track ``NaN`` when the
    aircraft moved less than 30 m), and the distance (NM) from the previous row (0 after a
    silence longer than ``gap_s``)."""
    n = t.shape[0]
    m = n - start
    v = np.full(m, np.nan)
    trk = np.full(m, np.nan)
    step = np.zeros(m)
    rad = math.pi / 180.0
    j = 0
    for i in range(start, n):
        k = i - start
        limit = t[i] - window_s
        while j + 1 < i and t[j + 1] <= limit:
            j += 1
        if j < i and t[j] <= limit and t[i] - t[j] <= max_span_s:
            d = _haversine_m(lat[j], lon[j], lat[i], lon[i])
            v[k] = d / (t[i] - t[j]) * 3600.0 / M_PER_NM
            if d >= 30.0:
                p1 = lat[j] * rad
                p2 = lat[i] * rad
                dl = (lon[i] - lon[j]) * rad
                y = math.sin(dl) * math.cos(p2)
                x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
                trk[k] = (math.atan2(y, x) / rad) % 360.0
        if i >= 1 and t[i] - t[i - 1] <= gap_s:
            step[k] = _haversine_m(lat[i - 1], lon[i - 1], lat[i], lon[i]) / M_PER_NM
    return v, trk, step


@nb.njit(cache=True, inline="always")
def _haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    rad = math.pi / 180.0
    p1 = lat1 * rad
    p2 = lat2 * rad
    a = math.sin((p2 - p1) / 2.0) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(
        (lon2 - lon1) * rad / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@nb.njit(cache=True)
def effective_rows(
    on_ground: npt.NDArray[np.int8],
    speed_kt: F64,
    alt_ft: F64,
    near_airport: npt.NDArray[np.bool_],
    height_ft: F64,
    prev: int,
    ground_max_kt: float,
    parked_max_kt: float,
    unknown_air_kt: float,
    unknown_ground_height_ft: float,
    unknown_air_height_ft: float,
) -> I8:
    """Air (0) or ground (1) of each position before hysteresis (rules in docs/events.md);
    a position that tells neither takes the state of the one before (``prev`` at the start,
    air when unknown)."""
    n = on_ground.shape[0]
    out = np.empty(n, np.int8)
    last = AIR if prev < 0 else prev
    for i in range(n):
        v = speed_kt[i]
        fast = v > ground_max_kt
        slow = v < parked_max_kt
        h = height_ft[i]
        known_alt = not math.isnan(alt_ft[i])
        near = near_airport[i]
        og = on_ground[i]
        st = -1
        if og == 1:
            # a parked aircraft whose position glitches moves at "800 kt": stays on the ground
            # near an airport unless its altitude says otherwise
            lifted = fast and ((not near) or (known_alt and h >= unknown_air_height_ft))
            st = AIR if lifted else GROUND
        elif og == 0:
            st = GROUND if (slow and near) else AIR
        else:
            # nothing flies slower than parked_max_kt 10,000 ft above an airport: a stale
            # altitude on a taxiing aircraft (resampled files carry the cruise level down)
            low = (not known_alt) or h < unknown_ground_height_ft or h > STALE_HEIGHT_FT
            high = known_alt and ((not near) or h >= unknown_air_height_ft)
            if slow and near and low:
                st = GROUND
            elif v >= unknown_air_kt or high:
                st = AIR
        if st < 0:
            st = last
        out[i] = st
        last = st
    return out


@nb.njit(cache=True)
def decide_states(
    t: F64,
    eff: I8,
    prev_state: int,
    final: bool,
    gap_s: float,
    min_n: int,
    min_s: float,
    long_s: float,
) -> tuple[I8, int]:
    """Hysteresis over runs of one effective state (a gap longer than ``gap_s`` ends a run).

    A run is real ("long") with ``min_n`` positions over ``min_s`` seconds or two positions
    ``long_s`` apart; a short run takes the state of the last long run before it (at the very
    start, of the first long run after it; with none, its own). The last run is undecided
    while it is short, differs from the state before it and is not ended by a change, a gap
    or ``final``. Returns the decided
    state of each row and how many leading rows are decided.
    """
    n = t.shape[0]
    out = np.full(n, -1, dtype=np.int8)
    prev = prev_state
    lead_from = -1  # first row of leading short runs waiting for a state (prev unknown)
    s = 0
    decided = 0
    while s < n:
        e = s + 1
        while e < n and eff[e] == eff[s] and t[e] - t[e - 1] <= gap_s:
            e += 1
        cnt = e - s
        dur = t[e - 1] - t[s]
        is_long = (cnt >= min_n and dur >= min_s) or (cnt >= 2 and dur >= long_s)
        terminated = e < n or final
        if not is_long and not terminated and not (prev >= 0 and eff[s] == prev):
            break
        if is_long:
            st = eff[s]
            if lead_from >= 0:
                for i in range(lead_from, s):
                    out[i] = st
                lead_from = -1
            for i in range(s, e):
                out[i] = st
            prev = st
            decided = e
        elif prev >= 0:
            for i in range(s, e):
                out[i] = prev
            decided = e
        else:
            if lead_from < 0:
                lead_from = s
        s = e
    if lead_from >= 0:
        if final and s >= n:
            for i in range(lead_from, n):
                out[i] = eff[i]
            decided = n
        else:
            decided = lead_from
    return out[:decided], decided
