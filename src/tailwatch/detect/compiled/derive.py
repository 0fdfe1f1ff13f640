"""Pass 1 of the compiled detector: accept, kinematics, airports and the effective state of
every position of a batch, all aircraft at once.

For a batch of positions (any order, any aircraft), :meth:`DerivePass.update` returns, for the
accepted rows sorted by (address, time), the per-position quantities the decisions need —
exactly what :class:`~tailwatch.detect.flights.FlightDetector` derives one aircraft at a time
(docs/events.md, "Air or ground"):

* **accept**: positions without coordinates are dropped; per aircraft, times must increase
  strictly (same time / older rows dropped); the data hygiene of
  :mod:`tailwatch.detect.hygiene` keeps out a position identical to the aircraft's previous
  one (unless parked: on the ground or of unknown state, slower than ``parked_max_kt``) and
  one made up by resampling (on the line and pace of
  the two before, against the reported speed);
* **speed and track** from the positions (the latest earlier position at least
  ``speed_window_s`` old, at most ``speed_max_span_s``), else the reported ones (a reported
  track more than ``track_mismatch_deg`` off the measured one gives way to it); the **step**
  from the previous position (0 across a coverage gap);
* the **spike-free altitude** (:func:`tailwatch.detect.kinematics.clean_altitude`'s rule);
* the **nearest airport** within ``go_around_airport_nm`` and the height above it, for every
  position except fast ones above 15,000 ft, in one call of the airport grid index for the
  whole batch;
* the **effective air/ground state** before hysteresis.

State between batches lives in arrays indexed by slot (:class:`~.slots.Slots`): the last time,
the last two rows in time order (for the hygiene rules), the altitude filter, the last
effective state and a ring of the last ``RING`` accepted positions for the speed look-back.
The loops are numba kernels over the rows, the hygiene rules numpy over the batch; Python
runs once per batch.
"""

# numba kernels compute on np.int64 scalars; mypy sees np.int64 where int is annotated:
# mypy: disable-error-code="arg-type,assignment,return-value,no-any-return"

from __future__ import annotations

import math
from typing import Any

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.core.rejects import Rejects
from tailwatch.detect import kinematics as km
from tailwatch.detect import places as pl
from tailwatch.detect.columns import Columns, as_columns, take
from tailwatch.detect.compiled.slots import Slots, grow
from tailwatch.detect.params import DetectParams
from tailwatch.reference.geo import M_PER_NM, angle_diff_deg

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

RING = 128
"""Accepted positions kept per aircraft for the speed look-back (``speed_window_s`` needs
the positions of the last 10 s: 128 is 12 per second; more is counted as
``compiled_lookback_overflow``)."""
LOW_ALT_FT = 15_000.0  # nearest-airport look-ups only below this (and when slow)

DERIVED = ("_v", "_trk", "_alt", "_eff", "_apt", "_aptd", "_h", "_step")
"""The derived columns, named as the reference detector names them."""

HYGIENE = ("duplicate_time", "time_backwards", "frozen_position", "altitude_jump_frozen",
           "interpolated", "track_mismatch")
"""Per-aircraft data hygiene counts (:meth:`DerivePass.hygiene`), the reference's names."""

# counters of the kernels
_SAME, _OLDER, _OVERFLOW = 0, 1, 3


@nb.njit(cache=True)
def _time_accept(
    slot: I64, t: F64, lat: F64, lon: F64, gs: F64, alt: F64, starts: I64, stops: I64,
    last_t: F64, tail: F64, tail_n: I64, keep: npt.NDArray[np.bool_], prev: F64, counts: I64,
    hyg: I64,
) -> None:
    """Strictly increasing times per aircraft; for each row kept, the two rows kept before it
    (``prev[:, 0:5]``: t, lat, lon, gs, altitude of the previous one, ``prev[:, 5:10]`` of
    the one before; ``NaN`` without), across batches through each slot's ``tail`` (the last
    two rows kept, flagged by the hygiene rules or not)."""
    for g in range(starts.shape[0]):
        s = slot[starts[g]]
        for i in range(starts[g], stops[g]):
            ti = t[i]
            if not ti > last_t[s]:
                if ti == last_t[s]:
                    counts[_SAME] += 1
                    hyg[s, 0] += 1
                else:
                    counts[_OLDER] += 1
                    hyg[s, 1] += 1
                continue
            last_t[s] = ti
            keep[i] = True
            n = tail_n[s]
            if n >= 1:
                for c in range(5):
                    prev[i, c] = tail[s, 1, c]
            if n >= 2:
                for c in range(5):
                    prev[i, 5 + c] = tail[s, 0, c]
            for c in range(5):
                tail[s, 0, c] = tail[s, 1, c]
            tail[s, 1, 0] = ti
            tail[s, 1, 1] = lat[i]
            tail[s, 1, 2] = lon[i]
            tail[s, 1, 3] = gs[i]
            tail[s, 1, 4] = alt[i]
            tail_n[s] = min(n + 1, 2)


@nb.njit(cache=True)
def _motion(
    slot: I64, t: F64, lat: F64, lon: F64, alt_raw: F64, starts: I64, stops: I64,
    ring_t: F64, ring_lat: F64, ring_lon: F64, ring_n: I64, ring_head: I64, alt_state: F64,
    window_s: float, max_span_s: float, gap_s: float, jump_ft: float, rate_fpm: float,
    resync_n: int, v_out: F64, trk_d: F64, step: F64, alt: F64, counts: I64,
) -> None:
    """Measured speed and track, step and spike-free altitude of the accepted rows."""
    rad = math.pi / 180.0
    cap = ring_t.shape[1]
    for g in range(starts.shape[0]):
        s = slot[starts[g]]
        st = alt_state[s]
        for i in range(starts[g], stops[g]):
            ti = t[i]
            # speed and track from the latest earlier position at least window_s old
            n = ring_n[s]
            limit = ti - window_s
            found = False
            for k in range(n):
                q = (ring_head[s] - k) % cap
                if ring_t[s, q] <= limit:
                    found = True
                    tj = ring_t[s, q]
                    if ti - tj <= max_span_s:
                        la = ring_lat[s, q]
                        lo = ring_lon[s, q]
                        d = km._haversine_m(la, lo, lat[i], lon[i])
                        v_out[i] = d / (ti - tj) * 3600.0 / M_PER_NM
                        if d >= 30.0:
                            p1 = la * rad
                            p2 = lat[i] * rad
                            dl = (lon[i] - lo) * rad
                            y = math.sin(dl) * math.cos(p2)
                            x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(
                                p2) * math.cos(dl)
                            trk_d[i] = (math.atan2(y, x) / rad) % 360.0
                    break
            if not found and n == cap and ti - ring_t[s, (ring_head[s] + 1) % cap] <= max_span_s:
                counts[_OVERFLOW] += 1
            # step from the previous position (0 across a coverage gap)
            if n > 0:
                q = ring_head[s]
                if ti - ring_t[s, q] <= gap_s:
                    step[i] = km._haversine_m(ring_lat[s, q], ring_lon[s, q], lat[i],
                                              lon[i]) / M_PER_NM
            # spike-free altitude (kinematics.clean_altitude, one row)
            a = alt_raw[i]
            if not math.isnan(a):
                good = st[0]
                if math.isnan(good) or abs(a - good) <= jump_ft + rate_fpm * (ti - st[1]) / 60.0:
                    alt[i] = a
                    st[0] = a
                    st[1] = ti
                    st[4] = 0.0
                else:
                    if st[4] > 0 and abs(a - st[2]) <= jump_ft + rate_fpm * (ti - st[3]) / 60.0:
                        st[4] += 1.0
                    else:
                        st[4] = 1.0
                    st[2] = a
                    st[3] = ti
                    if st[4] >= resync_n:
                        alt[i] = a
                        st[0] = a
                        st[1] = ti
                        st[4] = 0.0
            # remember the accepted position
            h = (ring_head[s] + 1) % cap
            ring_head[s] = h
            ring_t[s, h] = ti
            ring_lat[s, h] = lat[i]
            ring_lon[s, h] = lon[i]
            if n < cap:
                ring_n[s] = n + 1


@nb.njit(cache=True)
def _effective(
    slot: I64, starts: I64, stops: I64, og: npt.NDArray[np.int8], speed: F64, alt: F64,
    near: npt.NDArray[np.bool_], h: F64, last_eff: npt.NDArray[np.int8],
    ground_max_kt: float, parked_max_kt: float, unknown_air_kt: float,
    unknown_ground_height_ft: float, unknown_air_height_ft: float,
    out: npt.NDArray[np.int8],
) -> None:
    for g in range(starts.shape[0]):
        a = starts[g]
        z = stops[g]
        s = slot[a]
        eff = km.effective_rows(og[a:z], speed[a:z], alt[a:z], near[a:z], h[a:z],
                                np.int64(last_eff[s]), ground_max_kt, parked_max_kt,
                                unknown_air_kt, unknown_ground_height_ft,
                                unknown_air_height_ft)
        out[a:z] = eff
        last_eff[s] = eff[z - a - 1]


class DerivePass:
    """Accept, kinematics, airports and the effective state of each batch (module docstring).

    ``params`` as the reference detector's; the data hygiene rules can be left out for a
    reference that has not got them: ``frozen`` (repeated positions), ``interpolated``
    (positions made up by resampling), ``track_mismatch`` (a reported track far off the
    measured one gives way to it). :attr:`rejects` counts the dropped rows under the
    reference detector's names (``detect_no_position``, ``detect_same_time``,
    ``detect_out_of_order``, ``detect_frozen_position``, ``detect_interpolated``) and
    ``compiled_lookback_overflow``.
    """

    def __init__(self, params: DetectParams | None = None, *, frozen: bool = True,
                 interpolated: bool = True, track_mismatch: bool = True) -> None:
        self.p = params or DetectParams()
        self.frozen = frozen
        self.interpolated = interpolated
        self.track_mismatch = track_mismatch
        self.slots = Slots()
        self.rejects = Rejects()
        self._last_t = np.zeros(0)  # latest time of each aircraft (rows kept or flagged)
        self._kept_t = np.zeros(0)  # latest time of the rows kept
        self._tail = np.zeros((0, 2, 5))
        self._tail_n = np.zeros(0, np.int64)
        self._ring_t = np.zeros((0, RING))
        self._ring_lat = np.zeros((0, RING))
        self._ring_lon = np.zeros((0, RING))
        self._ring_n = np.zeros(0, np.int64)
        self._ring_head = np.zeros(0, np.int64)
        self._alt = np.zeros((0, km.ALT_STATE_SIZE))
        self._last_eff = np.zeros(0, np.int8)
        self._hyg = np.zeros((0, len(HYGIENE)), np.int64)
        self._hyg_total = np.zeros(len(HYGIENE), np.int64)
        self.last_input_t = np.zeros(0)  # finite times of the last batch, accepted or not

    def reset(self, slots: npt.NDArray[np.int64]) -> None:
        """Forget these aircraft (evicted): their next position starts afresh."""
        self._last_t[slots] = -math.inf
        self._kept_t[slots] = -math.inf
        self._tail[slots] = math.nan
        self._tail_n[slots] = 0
        self._ring_n[slots] = 0
        self._ring_head[slots] = RING - 1
        self._alt[slots] = math.nan
        self._alt[slots, 4] = 0.0
        self._last_eff[slots] = -1
        self._hyg[slots] = 0

    def hygiene(self, slot: int | None = None) -> dict[str, int]:
        """Rows kept out of the decisions per reason (:data:`HYGIENE`), of one slot or
        (``None``) of all aircraft since the start."""
        if slot is None:
            row = self._hyg_total
        elif 0 <= slot < self._hyg.shape[0]:
            row = self._hyg[slot]
        else:
            return {}
        return {k: int(v) for k, v in zip(HYGIENE, row.tolist(), strict=True) if v}

    def last_position(self, slot: int) -> tuple[float, float, float] | None:
        """(t, lat, lon) of the last row kept for ``slot``, ``None`` without one."""
        if not (0 <= slot < self._ring_n.shape[0]) or self._ring_n[slot] == 0:
            return None
        q = int(self._ring_head[slot])
        return (float(self._ring_t[slot, q]), float(self._ring_lat[slot, q]),
                float(self._ring_lon[slot, q]))

    def _count(self, reason: str, slot: I64, mask: npt.NDArray[np.bool_]) -> None:
        k = HYGIENE.index(reason)
        sel = slot[mask]
        np.add.at(self._hyg[:, k], sel, 1)
        self._hyg_total[k] += int(sel.size)

    def _reserve(self, n: int) -> None:
        if self._last_t.shape[0] >= n:
            return
        self._last_t = grow(self._last_t, n, -math.inf)
        self._kept_t = grow(self._kept_t, n, -math.inf)
        self._tail = grow(self._tail, n, math.nan)
        self._tail_n = grow(self._tail_n, n, 0)
        self._ring_t = grow(self._ring_t, n, math.nan)
        self._ring_lat = grow(self._ring_lat, n, math.nan)
        self._ring_lon = grow(self._ring_lon, n, math.nan)
        self._ring_n = grow(self._ring_n, n, 0)
        self._ring_head = grow(self._ring_head, n, RING - 1)
        fresh = self._alt.shape[0]
        self._alt = grow(self._alt, n, math.nan)
        self._alt[fresh:, 4] = 0.0
        self._last_eff = grow(self._last_eff, n, -1)
        self._hyg = grow(self._hyg, n, 0)

    def _hygiene(self, cols: Columns, prev: F64, slot: I64) -> npt.NDArray[np.bool_]:
        """Rows kept out of the decisions (tailwatch.detect.hygiene's rules, vectorised over
        the batch with each row's two predecessors)."""
        p = self.p
        n = int(cols["t"].shape[0])
        drop = np.zeros(n, bool)
        lat, lon = cols["lat"], cols["lon"]
        gs = cols["gs_kt"].astype(np.float64)
        if self.frozen:
            same = (lat == prev[:, 1]) & (lon == prev[:, 2])
            og = cols["on_ground"]
            parked = ((og == 1) & ~(gs >= p.parked_max_kt)) | ((og == -1) & (gs < p.parked_max_kt))
            frozen = same & ~parked
            if frozen.any():
                self.rejects["detect_frozen_position"] += int(frozen.sum())
                self._count("frozen_position", slot, frozen)
                jump = frozen & (np.abs(cols["altitude_ft"].astype(np.float64) - prev[:, 4])
                                 > p.altitude_jump_ft)
                if jump.any():
                    self.rejects["detect_altitude_jump_frozen"] += int(jump.sum())
                    self._count("altitude_jump_frozen", slot, jump)
            drop |= frozen
        if self.interpolated:
            t = cols["t"]
            dt1, dt2 = prev[:, 0] - prev[:, 5], t - prev[:, 0]
            dla1, dla2 = prev[:, 1] - prev[:, 6], lat - prev[:, 1]
            dlo1, dlo2 = prev[:, 2] - prev[:, 7], lon - prev[:, 2]
            linear = (np.abs(dt2 - dt1) < 1e-3) & (np.abs(dla2 - dla1) < 1e-6) & (
                np.abs(dlo2 - dlo1) < 1e-6) & ((dla2 != 0) | (dlo2 != 0))
            step_nm = np.hypot(dla2, dlo2 * np.cos(np.radians(lat))) * 60.0
            moved_kt = step_nm / np.maximum(dt2, 1e-3) * 3600.0
            mismatch_kt = getattr(p, "interpolated_mismatch_kt", 50.0)
            mismatch = np.abs(moved_kt - gs) > np.maximum(mismatch_kt, 0.5 * gs)
            made_up = linear & mismatch & ~drop
            if made_up.any():
                self.rejects["detect_interpolated"] += int(made_up.sum())
                self._count("interpolated", slot, made_up)
            drop |= made_up
        return drop

    def update(self, positions: Any) -> Columns:
        """The accepted rows of ``positions`` sorted by (icao24, t), with the position
        columns, ``slot`` and the derived columns (:data:`DERIVED`)."""
        p = self.p
        cols = as_columns(positions)
        self.last_input_t = cols["t"][np.isfinite(cols["t"])]
        ok = np.isfinite(cols["t"]) & np.isfinite(cols["lat"]) & np.isfinite(cols["lon"])
        ok &= (np.abs(cols["lat"]) <= 90.0) & (np.abs(cols["lon"]) <= 180.0)
        if not ok.all():
            self.rejects["detect_no_position"] += int((~ok).sum())
            cols = take(cols, ok)
        order = np.lexsort((cols["t"], cols["icao24"]))
        cols = take(cols, order)
        n = int(cols["t"].shape[0])
        slot = self.slots.lookup(cols["icao24"])
        self._reserve(self.slots.n)
        starts, stops = _segments(cols["icao24"])
        keep = np.zeros(n, bool)
        prev = np.full((n, 10), np.nan)
        counts = np.zeros(4, np.int64)
        _time_accept(slot, cols["t"], cols["lat"], cols["lon"], cols["gs_kt"].astype(np.float64),
                     cols["altitude_ft"].astype(np.float64), starts, stops, self._last_t,
                     self._tail, self._tail_n, keep, prev, counts, self._hyg)
        if not keep.all():
            cols, slot, prev = take(cols, keep), slot[keep], prev[keep]
        self._hyg_total[0] += int(counts[_SAME])
        self._hyg_total[1] += int(counts[_OLDER])
        drop = self._hygiene(cols, prev, slot)
        touched = np.unique(slot) if drop.any() else None
        if drop.any():
            cols, slot = take(cols, ~drop), slot[~drop]
        if slot.size:
            np.maximum.at(self._kept_t, slot, cols["t"])
        if touched is not None:  # as the reference: the next batch is compared with the
            self._last_t[touched] = self._kept_t[touched]  # last position kept
        m = int(cols["t"].shape[0])
        starts, stops = _segments(cols["icao24"])
        v = np.full(m, np.nan)
        trk_d = np.full(m, np.nan)
        step = np.zeros(m)
        alt = np.full(m, np.nan)
        _motion(slot, cols["t"], cols["lat"], cols["lon"], cols["altitude_ft"].astype(np.float64),
                starts, stops, self._ring_t, self._ring_lat, self._ring_lon, self._ring_n,
                self._ring_head, self._alt, p.speed_window_s, p.speed_max_span_s,
                p.coverage_gap_s, p.altitude_jump_ft, p.altitude_rate_fpm,
                p.altitude_resync_n, v, trk_d, step, alt, counts)
        for name, k in (("detect_same_time", _SAME), ("detect_out_of_order", _OLDER),
                        ("compiled_lookback_overflow", _OVERFLOW)):
            if counts[k]:
                self.rejects[name] += int(counts[k])
        speed = np.where(np.isnan(v), cols["gs_kt"].astype(np.float64), v)
        trk_r = cols["track_deg"].astype(np.float64)
        if self.track_mismatch:
            off = np.abs(angle_diff_deg(trk_r, trk_d))
            bad = (off > getattr(p, "track_mismatch_deg", 45.0)) & (v >= p.parked_max_kt)
            if bad.any():
                self._count("track_mismatch", slot, bad)
            trk = np.where(np.isnan(trk_r) | bad, trk_d, trk_r)
        else:
            trk = np.where(np.isnan(trk_r), trk_d, trk_r)
        apt = np.full(m, -1, dtype=np.int64)
        aptd = np.full(m, np.nan)
        h = np.full(m, np.nan)
        need = ~((alt >= LOW_ALT_FT) & (speed >= 100.0))
        if need.any():
            idx, d, hh = pl.height_above_nearest(cols["lat"][need], cols["lon"][need],
                                                 alt[need], p.go_around_airport_nm)
            apt[need], aptd[need], h[need] = idx, d, hh
        eff = np.empty(m, np.int8)
        _effective(slot, starts, stops, cols["on_ground"], speed, alt,
                   aptd <= p.airport_near_nm, h, self._last_eff, p.ground_max_kt,
                   p.parked_max_kt, p.unknown_air_kt, p.unknown_ground_height_ft,
                   p.unknown_air_height_ft, eff)
        cols.update({"slot": slot, "_v": speed, "_trk": trk, "_alt": alt, "_eff": eff,
                     "_apt": apt, "_aptd": aptd, "_h": h, "_step": step})
        return cols


def _segments(icao24: npt.NDArray[np.uint32]) -> tuple[I64, I64]:
    """Start and stop rows of each aircraft in rows sorted by address."""
    n = int(icao24.shape[0])
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, icao24[1:] != icao24[:-1]]).astype(np.int64)
    return starts, np.r_[starts[1:], n].astype(np.int64)
