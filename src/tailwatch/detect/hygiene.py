"""Data hygiene before any decision: positions that carry no new information are marked,
counted per aircraft and kept out of the air/ground and transition decisions.

Real feeds (OpenSky-style state vectors above all) repeat the last known position for seconds
to minutes while time advances, sometimes with absurd altitudes (35,000 ft on a point on
final); a parked "aircraft" moving at 0 kt for a minute at the end of a runway is exactly how
a detector invents a landing, a take-off and a go-around. The rules (docs/events.md, "Data
hygiene"):

* **frozen position**: the same latitude and longitude (to the last bit) as the aircraft's
  previous position while time advanced. A transponder cannot report the same airborne
  position twice (CPR positions are quantised to a few metres; at 60 kt an aircraft moves
  30 m a second), so a repeat is a stale value. Exception: a position reported *on the
  ground* without a speed of ``parked_max_kt`` or more is a parked aircraft, legitimately
  still.
* **altitude jump while frozen**: a frozen position whose altitude differs by more than
  ``altitude_jump_ft`` from the previous one (counted apart: the altitude is not believable
  either).
* **duplicated time / time going backwards**: a position at the same time as, or older than,
  the aircraft's latest one (the detector needs one time line per aircraft).

:func:`mark_positions` gives these flags for every row of a column set (the input is never
modified, nothing is deleted: the store keeps every position); the detector uses the same
rules on each aircraft's new rows (:func:`frozen_rows`), counts them per aircraft
(``FlightDetector.hygiene``) and in its reject counters, and decides on the other rows only.

:func:`time_unit_problem` names times in an implausible unit (milliseconds, or seconds divided
by 1000: everything in January 1970).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

FROZEN = 1
"""Flag: same position as the aircraft's previous one while time advanced."""
ALTITUDE_JUMP_FROZEN = 2
"""Flag: frozen, and the altitude jumped by more than ``altitude_jump_ft``."""
INTERPOLATED = 16
"""Flag: a position made up by resampling: moving on exactly the straight line and at exactly
the pace of the step before (to 1e-6°, 0.1 m: real positions are never that regular) while
the reported speed disagrees with that motion (a resampled file bridging a gap)."""
DUPLICATE_TIME = 4
"""Flag: same time as the aircraft's previous position."""
TIME_BACKWARDS = 8
"""Flag: older than the aircraft's latest position (in arrival order)."""

FLAG_NAMES = {
    FROZEN: "frozen_position",
    ALTITUDE_JUMP_FROZEN: "altitude_jump_frozen",
    DUPLICATE_TIME: "duplicate_time",
    TIME_BACKWARDS: "time_backwards",
    INTERPOLATED: "interpolated",
}

EARLIEST_PLAUSIBLE_T = 86_400.0 * 365 * 3  # 1973-01-01: nothing earlier is an ADS-B time
"""Times before this (Unix seconds) are in an implausible unit (seconds / 1000)."""
LATEST_PLAUSIBLE_T = 1e10  # year 2286
"""Times after this are in an implausible unit (milliseconds or finer)."""


def time_unit_problem(t: npt.ArrayLike) -> str:
    """A sentence naming the problem when the times (Unix seconds expected) are in an
    implausible unit, else ``""``: judged on the median of the finite values."""
    arr = np.asarray(t, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return ""
    med = float(np.median(arr))
    if med > LATEST_PLAUSIBLE_T:
        unit = ("nanoseconds" if med > 1e17 else "microseconds" if med > 1e14
                else "milliseconds")
        return (f"times look like {unit} since 1970, not seconds (median {med:.4g}): "
                "convert them to Unix seconds")
    if med < EARLIEST_PLAUSIBLE_T:
        return (f"times fall in the early 1970s (median {med:.4g} s after 1970-01-01): "
                "they look like seconds divided by 1000, or times of day; give Unix seconds")
    return ""


def frozen_rows(
    lat: F64,
    lon: F64,
    alt_ft: F64,
    on_ground: npt.NDArray[np.int8],
    gs_kt: F64,
    prev: tuple[float, float, float] | None,
    parked_max_kt: float,
    altitude_jump_ft: float,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """(frozen, altitude jumped while frozen) of each row of ONE aircraft, rows in time order
    (strictly increasing times). ``prev``: (lat, lon, altitude) of the aircraft's position
    before these rows, if any."""
    n = lat.shape[0]
    if n == 0:
        return np.zeros(0, bool), np.zeros(0, bool)
    p_lat = np.empty(n)
    p_lon = np.empty(n)
    p_alt = np.empty(n)
    p_lat[1:], p_lon[1:], p_alt[1:] = lat[:-1], lon[:-1], alt_ft[:-1]
    if prev is None:
        p_lat[0] = p_lon[0] = p_alt[0] = np.nan
    else:
        p_lat[0], p_lon[0], p_alt[0] = prev
    same = (lat == p_lat) & (lon == p_lon)
    parked = ((on_ground == 1) & ~(gs_kt >= parked_max_kt)) | (
        (on_ground == -1) & (gs_kt < parked_max_kt))
    frozen = same & ~parked
    jump = frozen & (np.abs(alt_ft - p_alt) > altitude_jump_ft)
    return frozen, jump


def interpolated_rows(
    t: F64,
    lat: F64,
    lon: F64,
    gs_kt: F64,
    prev: dict[str, F64] | None,
    mismatch_kt: float,
) -> npt.NDArray[np.bool_]:
    """Rows of ONE aircraft (time order) made up by resampling (see :data:`INTERPOLATED`).
    ``prev``: the same columns of the aircraft's last two positions before these rows."""
    n = t.shape[0]
    if n == 0:
        return np.zeros(0, bool)
    cols = [t, lat, lon, gs_kt]
    keys = ("t", "lat", "lon", "gs_kt")
    k = 0
    if prev is not None and prev["t"].shape[0]:
        k = int(prev["t"].shape[0])
        cols = [np.concatenate((prev[key], c)) for key, c in zip(keys, cols, strict=True)]
    tt, la, lo, gs = cols
    m = tt.shape[0]
    out = np.zeros(m, bool)
    if m >= 3:
        dt1, dt2 = tt[1:-1] - tt[:-2], tt[2:] - tt[1:-1]
        dla1, dla2 = la[1:-1] - la[:-2], la[2:] - la[1:-1]
        dlo1, dlo2 = lo[1:-1] - lo[:-2], lo[2:] - lo[1:-1]
        linear = (np.abs(dt2 - dt1) < 1e-3) & (np.abs(dla2 - dla1) < 1e-6) & (
            np.abs(dlo2 - dlo1) < 1e-6) & ((dla2 != 0) | (dlo2 != 0))
        step_nm = np.hypot(dla2, dlo2 * np.cos(np.radians(la[2:]))) * 60.0
        moved_kt = step_nm / np.maximum(dt2, 1e-3) * 3600.0
        mismatch = np.abs(moved_kt - gs[2:]) > np.maximum(mismatch_kt, 0.5 * gs[2:])
        out[2:] = linear & mismatch
    return out[k:]


def mark_positions(
    cols: dict[str, np.ndarray],
    parked_max_kt: float = 40.0,
    altitude_jump_ft: float = 1000.0,
    interpolated_mismatch_kt: float = 50.0,
) -> npt.NDArray[np.uint8]:
    """Hygiene flags (bit set of :data:`FROZEN`, :data:`ALTITUDE_JUMP_FROZEN`,
    :data:`INTERPOLATED`, :data:`DUPLICATE_TIME`, :data:`TIME_BACKWARDS`) of every row of a
    position column set, in its row order (the arrival order: rows are grouped per aircraft
    with a stable sort, so that times going backwards are seen)."""
    t = np.asarray(cols["t"], dtype=np.float64)
    n = t.shape[0]
    flags = np.zeros(n, np.uint8)
    if n == 0:
        return flags
    icao = np.asarray(cols["icao24"])
    order = np.argsort(icao, kind="stable")
    a = icao[order]
    ts = t[order]
    new_ac = np.r_[True, a[1:] != a[:-1]]
    # running maximum of time per aircraft (arrival order)
    run_max = np.empty(n)
    starts = np.flatnonzero(new_ac)
    stops = np.r_[starts[1:], n]
    for s, e in zip(starts.tolist(), stops.tolist(), strict=True):
        run_max[s:e] = np.maximum.accumulate(ts[s:e])
    prev_max = np.r_[-np.inf, run_max[:-1]]
    prev_max[new_ac] = -np.inf
    f = np.zeros(n, np.uint8)
    f[ts == prev_max] |= DUPLICATE_TIME
    f[ts < prev_max] |= TIME_BACKWARDS
    lat = np.asarray(cols["lat"], dtype=np.float64)[order]
    lon = np.asarray(cols["lon"], dtype=np.float64)[order]
    alt = np.asarray(cols.get("altitude_ft", np.full(n, np.nan)), dtype=np.float64)[order]
    og = np.asarray(cols.get("on_ground", np.full(n, -1)), dtype=np.int8)[order]
    gs = np.asarray(cols.get("gs_kt", np.full(n, np.nan)), dtype=np.float64)[order]
    fr, jump = frozen_rows(lat, lon, alt, og, gs, None, parked_max_kt, altitude_jump_ft)
    advanced = ts > prev_max
    fr &= advanced & ~new_ac
    jump &= fr
    f[fr] |= FROZEN
    f[jump] |= ALTITUDE_JUMP_FROZEN
    ok = advanced & ~fr  # positions in time order, per aircraft
    for s, e in zip(starts.tolist(), stops.tolist(), strict=True):
        rows = np.flatnonzero(ok[s:e]) + s
        if rows.size >= 3:
            made_up = interpolated_rows(ts[rows], lat[rows], lon[rows], gs[rows], None,
                                        interpolated_mismatch_kt)
            f[rows[made_up]] |= INTERPOLATED
    flags[order] = f
    return flags


def count_flags(flags: npt.NDArray[np.uint8]) -> dict[str, int]:
    """``{flag name: rows}`` of a flag array (names of :data:`FLAG_NAMES`, zeros left out)."""
    out = {}
    for bit, name in FLAG_NAMES.items():
        k = int(np.count_nonzero(flags & bit))
        if k:
            out[name] = k
    return out


class TimeUnitWarning(UserWarning):
    """Positions whose times are in an implausible unit (see :func:`time_unit_problem`)."""
