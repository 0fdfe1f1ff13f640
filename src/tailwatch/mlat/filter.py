"""Per-aircraft filter of multilateration fixes (compiled): constant velocity in ECEF.

State per aircraft (rows indexed by the tracker's slot): position and velocity (6), their
covariance (6×6), the time of the last accepted fix, how many fixes were accepted and how many
were refused in a row. A fix (position and its 3×3 covariance from the solve) is

* taken as the new start when the aircraft has no state, the last fix is older than
  ``RESTART_S``, or ``REFUSE_MAX`` fixes in a row were refused (the track was wrong);
* refused (``outlier``) when its normalised innovation exceeds ``GATE`` (χ², 3 degrees of
  freedom) once the filter has ``MIN_FOR_GATE`` fixes (the second fix is checked against
  the first with a velocity of up to 300 m/s);
* else merged (Kalman update after predicting with white acceleration noise
  ``accel_sigma``).

The output per fix is the filtered position, velocity (valid from the third fix) and the
horizontal 1σ radial error of the filtered position. The first fix of a track is not output
(``accepted`` false) until a second agrees with it (``EMIT_AFTER``; one that does not
becomes the new start): a lone wrong fix (a mirror solution, a bad reception) never reaches
the tracker as the start of a track.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.mlat.solve import _inv3

__all__ = ["AircraftFilter"]

RESTART_S = 30.0
REFUSE_MAX = 3
GATE = 25.0  # χ²(3): p ≈ 1e-5
MIN_FOR_GATE = 1
EMIT_AFTER = 2  # a track's first fix is held until a second one agrees with it
(FS_T, FS_N, FS_REFUSED) = range(3)


@nb.njit(cache=True)
def _start(x: npt.NDArray[np.float64], p: npt.NDArray[np.float64],
           meta: npt.NDArray[np.float64], s: int, t: float, z: npt.NDArray[np.float64],
           r: npt.NDArray[np.float64]) -> None:
    for i in range(6):
        for j in range(6):
            p[s, i, j] = 0.0
    for i in range(3):
        x[s, i] = z[i]
        x[s, 3 + i] = 0.0
        p[s, 3 + i, 3 + i] = 300.0 * 300.0
        for j in range(3):
            p[s, i, j] = r[i, j]
    meta[s, FS_T] = t
    meta[s, FS_N] = 1.0
    meta[s, FS_REFUSED] = 0.0


@nb.njit(cache=True)
def filter_fixes(
    slot: npt.NDArray[np.int64], t: npt.NDArray[np.float64], xyz: npt.NDArray[np.float64],
    cov6: npt.NDArray[np.float64], accel_sigma: float,
    x: npt.NDArray[np.float64], p: npt.NDArray[np.float64], meta: npt.NDArray[np.float64],
    out_xyz: npt.NDArray[np.float64], out_vel: npt.NDArray[np.float64],
    out_err: npt.NDArray[np.float64], accepted: npt.NDArray[np.bool_],
) -> int:
    """Filter fixes (in time order) into the per-slot state; returns the outliers refused."""
    z = np.empty(3)
    r = np.empty((3, 3))
    sm = np.empty((3, 3))
    si = np.empty((3, 3))
    kg = np.empty((6, 3))
    pp = np.empty((6, 6))
    q = accel_sigma * accel_sigma
    refused = 0
    for m in range(slot.shape[0]):
        s = slot[m]
        accepted[m] = False
        for i in range(3):
            z[i] = xyz[m, i]
            out_xyz[m, i] = np.nan
            out_vel[m, i] = np.nan
        out_err[m] = np.nan
        r[0, 0] = cov6[m, 0]
        r[0, 1] = r[1, 0] = cov6[m, 1]
        r[0, 2] = r[2, 0] = cov6[m, 2]
        r[1, 1] = cov6[m, 3]
        r[1, 2] = r[2, 1] = cov6[m, 4]
        r[2, 2] = cov6[m, 5]
        dt = t[m] - meta[s, FS_T]
        if meta[s, FS_N] == 0 or not dt <= RESTART_S or meta[s, FS_REFUSED] >= REFUSE_MAX:
            _start(x, p, meta, s, t[m], z, r)
        else:
            dt = max(dt, 0.0)
            # predict: x += v dt; P = F P Fᵀ + Q
            for i in range(3):
                x[s, i] += x[s, 3 + i] * dt
            for i in range(6):
                for j in range(6):
                    pp[i, j] = p[s, i, j]
            for i in range(3):
                for j in range(6):
                    pp[i, j] += dt * p[s, 3 + i, j]
            for i in range(6):
                for j in range(3):
                    pp[i, j] += dt * pp[i, 3 + j]
            for i in range(3):
                pp[i, i] += q * dt * dt * dt / 3.0
                pp[i, 3 + i] += q * dt * dt / 2.0
                pp[3 + i, i] += q * dt * dt / 2.0
                pp[3 + i, 3 + i] += q * dt
            for i in range(3):
                for j in range(3):
                    sm[i, j] = pp[i, j] + r[i, j]
            if not _inv3(sm, si):
                continue
            y0 = z[0] - x[s, 0]
            y1 = z[1] - x[s, 1]
            y2 = z[2] - x[s, 2]
            nis = 0.0
            yv = (y0, y1, y2)
            for i in range(3):
                for j in range(3):
                    nis += yv[i] * si[i, j] * yv[j]
            if meta[s, FS_N] >= MIN_FOR_GATE and nis > GATE:
                refused += 1
                if meta[s, FS_N] < EMIT_AFTER:  # an unconfirmed start: start again here
                    _start(x, p, meta, s, t[m], z, r)
                    continue
                meta[s, FS_REFUSED] += 1.0
                for i in range(3):
                    x[s, i] -= x[s, 3 + i] * dt  # the state stays at its last fix
                continue
            for i in range(6):
                for j in range(3):
                    kg[i, j] = pp[i, 0] * si[0, j] + pp[i, 1] * si[1, j] + pp[i, 2] * si[2, j]
            for i in range(6):
                x[s, i] += kg[i, 0] * y0 + kg[i, 1] * y1 + kg[i, 2] * y2
            for i in range(6):
                for j in range(6):
                    p[s, i, j] = pp[i, j] - (kg[i, 0] * pp[0, j] + kg[i, 1] * pp[1, j]
                                             + kg[i, 2] * pp[2, j])
            meta[s, FS_T] = t[m]
            meta[s, FS_N] += 1.0
            meta[s, FS_REFUSED] = 0.0
        if meta[s, FS_N] < EMIT_AFTER:
            continue
        accepted[m] = True
        for i in range(3):
            out_xyz[m, i] = x[s, i]
            if meta[s, FS_N] >= 3:
                out_vel[m, i] = x[s, 3 + i]
        # horizontal error: the position covariance projected on east and north
        px, py, pz = x[s, 0], x[s, 1], x[s, 2]
        lon = math.atan2(py, px)
        lat = math.atan2(pz, math.hypot(px, py))
        e = (-math.sin(lon), math.cos(lon), 0.0)
        nn = (-math.sin(lat) * math.cos(lon), -math.sin(lat) * math.sin(lon), math.cos(lat))
        ve = 0.0
        vn = 0.0
        for i in range(3):
            for j in range(3):
                ve += e[i] * p[s, i, j] * e[j]
                vn += nn[i] * p[s, i, j] * nn[j]
        out_err[m] = math.sqrt(max(ve, 0.0) + max(vn, 0.0))
    return refused


class AircraftFilter:
    """Filter state for aircraft rows (the tracker's slots), grown on demand."""

    def __init__(self, accel_sigma_m_s2: float = 3.0) -> None:
        self.accel_sigma_m_s2 = accel_sigma_m_s2
        self.x = np.zeros((0, 6))
        self.p = np.zeros((0, 6, 6))
        self.meta = np.zeros((0, 3))
        self.outliers = 0

    def _grow(self, n: int) -> None:
        cap = self.x.shape[0]
        if n <= cap:
            return
        new = max(n, 2 * cap, 256)
        x = np.zeros((new, 6))
        p = np.zeros((new, 6, 6))
        meta = np.zeros((new, 3))
        x[:cap], p[:cap], meta[:cap] = self.x, self.p, self.meta
        self.x, self.p, self.meta = x, p, meta

    def state(self, slot: npt.NDArray[np.int64], t: npt.NDArray[np.float64],
              max_age_s: float = RESTART_S) -> npt.NDArray[np.float64]:
        """(N, 3) ECEF position predicted at ``t`` for each slot (NaN without a fresh one)."""
        self._grow(int(slot.max()) + 1 if slot.size else 0)
        dt = t - self.meta[slot, FS_T]
        fresh = (self.meta[slot, FS_N] > 0) & (np.abs(dt) <= max_age_s)
        pos = self.x[slot, :3] + self.x[slot, 3:] * dt[:, None]
        out: npt.NDArray[np.float64] = np.where(fresh[:, None], pos, np.nan)
        return out

    def update(self, slot: npt.NDArray[np.int64], t: npt.NDArray[np.float64],
               xyz: npt.NDArray[np.float64], cov6: npt.NDArray[np.float64],
               ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64],
                          npt.NDArray[np.float64], npt.NDArray[np.bool_]]:  # fmt: skip
        """Filter fixes (sorted by time here); returns (position, velocity, horizontal
        error, accepted) per fix in the order given."""
        n = slot.shape[0]
        self._grow(int(slot.max()) + 1 if n else 0)
        order = np.argsort(t, kind="stable")
        pos = np.empty((n, 3))
        vel = np.empty((n, 3))
        err = np.empty(n)
        ok = np.zeros(n, bool)
        self.outliers += filter_fixes(
            np.ascontiguousarray(slot[order], np.int64), np.ascontiguousarray(t[order]),
            np.ascontiguousarray(xyz[order]), np.ascontiguousarray(cov6[order]),
            self.accel_sigma_m_s2, self.x, self.p, self.meta, pos, vel, err, ok)
        inv = np.empty(n, np.int64)
        inv[order] = np.arange(n)
        return pos[inv], vel[inv], err[inv], ok[inv]
