"""Pass 1 of the compiled detector: accept, kinematics, airports and the effective state of
every position of a batch, all aircraft at once.

For a batch of positions (any order, any aircraft), :meth:`DerivePass.update` returns, for the
accepted rows sorted by (address, time), the per-position quantities the decisions need —
exactly what :class:`~tailwatch.detect.flights.FlightDetector` derives one aircraft at a time
(docs/events.md, "Air or ground"):

* **accept**: positions without coordinates are dropped; per aircraft, times must increase
  strictly (same time / older rows dropped); with ``frozen`` (the data hygiene of
  :mod:`tailwatch.detect.hygiene`), a position identical to the aircraft's previous one is
  dropped unless it is a parked aircraft on the ground;
* **speed and track** from the positions (the latest earlier position at least
  ``speed_window_s`` old, at most ``speed_max_span_s``), else the reported ones; the **step**
  from the previous position (0 across a coverage gap);
* the **spike-free altitude** (:func:`tailwatch.detect.kinematics.clean_altitude`'s rule);
* the **nearest airport** within ``go_around_airport_nm`` and the height above it, for every
  position except fast ones above 15,000 ft, in one call of the airport grid index for the
  whole batch;
* the **effective air/ground state** before hysteresis.

State between batches lives in arrays indexed by slot (:class:`~.slots.Slots`): the last time,
the last accepted position, the altitude filter, the last effective state and a ring of the
last ``RING`` accepted positions for the speed look-back. The loops are numba kernels over the
rows; Python runs once per batch.
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
from tailwatch.reference.geo import M_PER_NM

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

RING = 128
"""Accepted positions kept per aircraft for the speed look-back (``speed_window_s`` needs
the positions of the last 10 s: 128 is 12 per second; more is counted as
``compiled_lookback_overflow``)."""
LOW_ALT_FT = 15_000.0  # nearest-airport look-ups only below this (and when slow)

DERIVED = ("_v", "_trk", "_alt", "_eff", "_apt", "_aptd", "_h", "_step")
"""The derived columns, named as the reference detector names them."""

# counters of the accept kernel
_SAME, _OLDER, _FROZEN, _OVERFLOW = 0, 1, 2, 3


@nb.njit(cache=True)
def _accept_motion(
    slot: I64, t: F64, lat: F64, lon: F64, alt_raw: F64, gs: F64, trk_rep: F64,
    og: npt.NDArray[np.int8], starts: I64, stops: I64,
    last_t: F64, prev_lat: F64, prev_lon: F64, has_prev: npt.NDArray[np.bool_],
    ring_t: F64, ring_lat: F64, ring_lon: F64, ring_n: I64, ring_head: I64, alt_state: F64,
    window_s: float, max_span_s: float, gap_s: float, parked_max_kt: float, jump_ft: float,
    rate_fpm: float, resync_n: int, frozen: bool,
    keep: npt.NDArray[np.bool_], speed: F64, trk: F64, step: F64, alt: F64, counts: I64,
) -> None:
    rad = math.pi / 180.0
    cap = ring_t.shape[1]
    for g in range(starts.shape[0]):
        s = slot[starts[g]]
        st = alt_state[s]
        for i in range(starts[g], stops[g]):
            ti = t[i]
            # strictly increasing times
            if not ti > last_t[s]:
                if ti == last_t[s]:
                    counts[_SAME] += 1
                else:
                    counts[_OLDER] += 1
                continue
            last_t[s] = ti
            if frozen and has_prev[s] and lat[i] == prev_lat[s] and lon[i] == prev_lon[s]:
                parked = og[i] == 1 and not (gs[i] >= parked_max_kt)
                if not parked:
                    counts[_FROZEN] += 1
                    continue
            keep[i] = True
            # speed and track from the latest earlier position at least window_s old
            n = ring_n[s]
            limit = ti - window_s
            v = math.nan
            td = math.nan
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
                        v = d / (ti - tj) * 3600.0 / M_PER_NM
                        if d >= 30.0:
                            p1 = la * rad
                            p2 = lat[i] * rad
                            dl = (lon[i] - lo) * rad
                            y = math.sin(dl) * math.cos(p2)
                            x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(
                                p2) * math.cos(dl)
                            td = (math.atan2(y, x) / rad) % 360.0
                    break
            if not found and n == cap and ti - ring_t[s, (ring_head[s] + 1) % cap] <= max_span_s:
                counts[_OVERFLOW] += 1
            # step from the previous position (0 across a coverage gap)
            if n > 0:
                q = ring_head[s]
                if ti - ring_t[s, q] <= gap_s:
                    step[i] = km._haversine_m(ring_lat[s, q], ring_lon[s, q], lat[i],
                                              lon[i]) / M_PER_NM
            speed[i] = gs[i] if math.isnan(v) else v
            trk[i] = td if math.isnan(trk_rep[i]) else trk_rep[i]
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
            prev_lat[s] = lat[i]
            prev_lon[s] = lon[i]
            has_prev[s] = True


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

    ``frozen``: drop frozen positions (the data hygiene rule); ``params`` as the reference
    detector's. :attr:`rejects` counts the dropped rows under the reference detector's names
    (``detect_no_position``, ``detect_same_time``, ``detect_out_of_order``,
    ``detect_frozen_position``) and ``compiled_lookback_overflow``.
    """

    def __init__(self, params: DetectParams | None = None, *, frozen: bool = True) -> None:
        self.p = params or DetectParams()
        self.frozen = frozen
        self.slots = Slots()
        self.rejects = Rejects()
        self._last_t = np.zeros(0)
        self._prev_lat = np.zeros(0)
        self._prev_lon = np.zeros(0)
        self._has_prev = np.zeros(0, bool)
        self._ring_t = np.zeros((0, RING))
        self._ring_lat = np.zeros((0, RING))
        self._ring_lon = np.zeros((0, RING))
        self._ring_n = np.zeros(0, np.int64)
        self._ring_head = np.zeros(0, np.int64)
        self._alt = np.zeros((0, km.ALT_STATE_SIZE))
        self._last_eff = np.zeros(0, np.int8)
        self.last_input_t = np.zeros(0)  # finite times of the last batch, accepted or not

    def reset(self, slots: npt.NDArray[np.int64]) -> None:
        """Forget these aircraft (evicted): their next position starts afresh."""
        self._last_t[slots] = -math.inf
        self._prev_lat[slots] = math.nan
        self._prev_lon[slots] = math.nan
        self._has_prev[slots] = False
        self._ring_n[slots] = 0
        self._ring_head[slots] = RING - 1
        self._alt[slots] = math.nan
        self._alt[slots, 4] = 0.0
        self._last_eff[slots] = -1

    def _reserve(self, n: int) -> None:
        if self._last_t.shape[0] >= n:
            return
        self._last_t = grow(self._last_t, n, -math.inf)
        self._prev_lat = grow(self._prev_lat, n, math.nan)
        self._prev_lon = grow(self._prev_lon, n, math.nan)
        self._has_prev = grow(self._has_prev, n, False)
        self._ring_t = grow(self._ring_t, n, math.nan)
        self._ring_lat = grow(self._ring_lat, n, math.nan)
        self._ring_lon = grow(self._ring_lon, n, math.nan)
        self._ring_n = grow(self._ring_n, n, 0)
        self._ring_head = grow(self._ring_head, n, RING - 1)
        fresh = self._alt.shape[0]
        self._alt = grow(self._alt, n, math.nan)
        self._alt[fresh:, 4] = 0.0
        self._last_eff = grow(self._last_eff, n, -1)

    def update(self, positions: Any) -> Columns:
        """The accepted rows of ``positions`` sorted by (icao24, t), with the position
        columns, ``slot`` and the derived columns (:data:`DERIVED`)."""
        p = self.p
        cols = as_columns(positions)
        finite_t = np.isfinite(cols["t"])
        self.last_input_t = cols["t"][finite_t]
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
        a = cols["icao24"]
        starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]]) if n else np.zeros(0, np.int64)
        stops = np.r_[starts[1:], n].astype(np.int64)
        starts = starts.astype(np.int64)
        keep = np.zeros(n, bool)
        speed = np.full(n, np.nan)
        trk = np.full(n, np.nan)
        step = np.zeros(n)
        alt = np.full(n, np.nan)
        counts = np.zeros(4, np.int64)
        gs = cols["gs_kt"].astype(np.float64)
        _accept_motion(
            slot, cols["t"], cols["lat"], cols["lon"], cols["altitude_ft"].astype(np.float64),
            gs, cols["track_deg"].astype(np.float64), cols["on_ground"], starts, stops,
            self._last_t, self._prev_lat, self._prev_lon, self._has_prev,
            self._ring_t, self._ring_lat, self._ring_lon, self._ring_n, self._ring_head,
            self._alt, p.speed_window_s, p.speed_max_span_s, p.coverage_gap_s,
            p.parked_max_kt, p.altitude_jump_ft, p.altitude_rate_fpm, p.altitude_resync_n,
            self.frozen, keep, speed, trk, step, alt, counts,
        )
        for name, k in (("detect_same_time", _SAME), ("detect_out_of_order", _OLDER),
                        ("detect_frozen_position", _FROZEN),
                        ("compiled_lookback_overflow", _OVERFLOW)):
            if counts[k]:
                self.rejects[name] += int(counts[k])
        if not keep.all():
            cols = take(cols, keep)
            slot, speed, trk, step, alt = (x[keep] for x in (slot, speed, trk, step, alt))
            m = int(keep.sum())
            a = cols["icao24"]
            starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]]).astype(np.int64) if m else \
                np.zeros(0, np.int64)
            stops = np.r_[starts[1:], m].astype(np.int64)
        m = int(cols["t"].shape[0])
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
