"""Orbit pass of the compiled detector: racetracks, surveillance circles and holds of every
aircraft of a batch of decided positions (rule in docs/events.md, ``orbit``).

Airborne positions are sampled once per ``orbit_sample_s`` (the first of each time bucket);
each aircraft's samples of the last ``orbit_window_s`` are carried between batches in one
table sorted by slot (memory: the samples of the aircraft in the air in the last two hours,
as the reference keeps them). One numba loop runs the reference's scan
(:func:`tailwatch.detect.events.orbit_scan`) per aircraft with new samples and trims its
samples as the reference does; Python runs once per orbit found (its nearest airport and
details, through the same :class:`~tailwatch.detect.events.EventSink`).

The events carry the flight of the sample (``flight_id``: a callable (address, flight serial)
→ id, with the rows' ``_fs`` column), else ``""``.
"""

# numba kernels compute on np.int64 scalars; mypy sees np.int64 where int is annotated:
# mypy: disable-error-code="arg-type,assignment,return-value,no-any-return"

from __future__ import annotations

import math
from collections.abc import Callable

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.detect import events as ev
from tailwatch.detect import places as pl
from tailwatch.detect.columns import Columns, take
from tailwatch.detect.compiled.slots import grow
from tailwatch.detect.params import DetectParams

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@nb.njit(cache=True)
def _scan(
    slot: I64, t: F64, lat: F64, lon: F64, trk: F64, is_new: npt.NDArray[np.bool_],
    starts: I64, stops: I64, state: F64, window_s: float, turn_deg: float, max_step_s: float,
    max_radius_nm: float, keep: npt.NDArray[np.bool_],
    found: I64, froms: I64, turns: F64, radii: F64, centre: F64,
) -> int:
    k = 0
    for g in range(starts.shape[0]):
        a = starts[g]
        z = stops[g]
        start = -1
        for i in range(a, z):
            if is_new[i]:
                start = i - a
                break
        if start < 0:
            continue  # no new sample: the reference does not scan (nor trim)
        s = slot[a]
        f, fr, tu, ra = ev.orbit_scan(t[a:z], lat[a:z], lon[a:z], trk[a:z], start, window_s,
                                      turn_deg, max_step_s, max_radius_nm, state[s])
        for j in range(f.shape[0]):
            found[k] = a + f[j]
            froms[k] = a + fr[j]
            turns[k] = tu[j]
            radii[k] = ra[j]
            centre[k, 0] = state[s, 1]  # the centre after the scan, as the reference
            centre[k, 1] = state[s, 2]  # reports it
            centre[k, 2] = state[s, 3]
            k += 1
        # keep the samples of the last window
        last = t[z - 1]
        if t[a] < last - window_s:
            for i in range(a, z):
                keep[i] = t[i] >= last - window_s
    return k


class OrbitPass:
    """Orbits over the decided rows of :class:`~.decide.StatePasses` (module docstring)."""

    def __init__(self, params: DetectParams | None = None) -> None:
        self.p = params or DetectParams()
        self._state = np.zeros((0, ev.ORBIT_STATE_SIZE))
        self._last_bucket = np.zeros(0)
        self._samples: Columns = {k: np.zeros(0) for k in ("t", "lat", "lon", "trk")}
        self._samples["slot"] = np.zeros(0, np.int64)
        self._samples["fs"] = np.zeros(0, np.int64)
        self._samples["icao24"] = np.zeros(0, np.uint32)
        self.events = ev.EventSink()

    def reset(self, slots: npt.NDArray[np.int64]) -> None:
        """Forget these aircraft (evicted)."""
        n = self._state.shape[0]
        slots = slots[slots < n]
        self._state[slots] = 0.0
        self._last_bucket[slots] = -math.inf
        s = self._samples
        if s["t"].shape[0]:
            self._samples = take(s, ~np.isin(s["slot"], slots))

    @property
    def samples(self) -> int:
        """Samples carried (memory)."""
        return int(self._samples["t"].shape[0])

    def update(self, rows: Columns,
               flight_id: Callable[[int, int], str] | None = None) -> int:
        """Sample and scan decided rows sorted by (icao24, t) with ``slot``, ``state`` and
        ``_trk`` (and ``_fs``, the flight serial of each row, with ``flight_id``); the orbits
        go to :attr:`events`. Returns how many."""
        p = self.p
        if not rows or not rows["t"].shape[0]:
            return 0
        slot_all = rows["slot"].astype(np.int64)
        n_slots = int(slot_all.max()) + 1
        if self._state.shape[0] < n_slots:
            self._state = grow(self._state, n_slots, 0.0)
            self._last_bucket = grow(self._last_bucket, n_slots, -math.inf)
        air = np.flatnonzero(rows["state"] == 0)
        if air.size == 0:
            return 0
        slot = slot_all[air]
        bucket = np.floor(rows["t"][air] / p.orbit_sample_s)
        first = np.r_[True, (bucket[1:] != bucket[:-1]) | (slot[1:] != slot[:-1])]
        first &= bucket > self._last_bucket[slot]
        pick = air[first]
        if pick.size == 0:
            return 0
        new = {"t": rows["t"][pick], "lat": rows["lat"][pick], "lon": rows["lon"][pick],
               "trk": rows["_trk"][pick], "slot": slot_all[pick],
               "icao24": rows["icao24"][pick],
               "fs": (rows["_fs"][pick].astype(np.int64) if "_fs" in rows
                      else np.full(pick.size, -1, np.int64))}
        np.maximum.at(self._last_bucket, new["slot"], bucket[first])
        old = self._samples
        cols = {k: np.concatenate((old[k], new[k])) for k in new}
        is_new = np.r_[np.zeros(old["t"].shape[0], bool), np.ones(pick.size, bool)]
        order = np.argsort(cols["slot"], kind="stable")
        cols = take(cols, order)
        is_new = is_new[order]
        n = int(cols["t"].shape[0])
        sl = cols["slot"]
        starts = np.flatnonzero(np.r_[True, sl[1:] != sl[:-1]]).astype(np.int64)
        stops = np.r_[starts[1:], n].astype(np.int64)
        keep = np.ones(n, bool)
        found = np.empty(n, np.int64)
        froms = np.empty(n, np.int64)
        turns = np.empty(n)
        radii = np.empty(n)
        centre = np.empty((n, 3))
        k = _scan(sl, cols["t"], cols["lat"], cols["lon"], cols["trk"], is_new, starts, stops,
                  self._state, p.orbit_window_s, p.orbit_turn_deg, p.orbit_max_step_s,
                  p.orbit_max_radius_nm, keep, found, froms, turns, radii, centre)
        for j in range(k):  # Python per orbit found
            i, h = int(found[j]), int(froms[j])
            c = centre[j]
            la = float(np.degrees(np.arcsin(np.clip(c[2], -1, 1))))
            lo_ = float(np.degrees(np.arctan2(c[1], c[0])))
            near, dist = pl.nearest(la, lo_, 30.0)
            k0 = int(near.reshape(-1)[0])
            code = pl.airport_info().icao(k0) if k0 >= 0 else ""
            turn = float(turns[j])
            icao, fs = int(cols["icao24"][i]), int(cols["fs"][i])
            fid = flight_id(icao, fs) if flight_id is not None and fs >= 0 else ""
            self.events.add(float(cols["t"][i]), icao, fid, "orbit", lat=la,
                            lon=lo_, details={
                                "turn_deg": turn, "direction": "right" if turn > 0 else "left",
                                "start_t": float(cols["t"][h]),
                                "duration_s": float(cols["t"][i] - cols["t"][h]),
                                "radius_nm": float(radii[j]), "nearest_airport": code,
                                "nearest_airport_nm": float(dist.reshape(-1)[0]) if code
                                else None})
        self._samples = take(cols, keep) if not keep.all() else cols
        return k
