"""Clock synchronisation of receiver pairs from ADS-B position messages (compiled).

Every receiver stamps a reception with its own 12 MHz counter ``C``. For a message whose
transmitter position is known (a DF17/18 airborne position the tracker accepted), the radio
path from the aircraft to receiver ``r`` takes ``d_r / c``; so for two receivers ``i < j``

    z = (C_j − C_i) − 12e6 · (d_j − d_i) / c

is the offset between their counters at that moment, plus noise (timestamp jitter, the
12 MHz rounding, the position's error). Each pair keeps a two-state Kalman filter of that
offset ``o`` (ticks, at the anchor ``C_i`` of its last update) and its drift ``ḋ``
(ticks per second of ``i``'s clock), with covariance ``P``: predict ``o + ḋ·Δt`` (process
noise: offset wander and a random walk of the drift), then update with ``z``.

Counter resets and jumps:

* a receiver whose counter moved more than ``RESET_S`` away from what its arrival times say
  (``C`` against 12 MHz × elapsed ``t_rx``), confirmed by a second reception, has restarted
  or jumped: every pair with it starts afresh (``counter_resets``, :func:`check_counters`);
* a pair whose measurement is an outlier (beyond ``GATE_SIGMA`` of the prediction)
  ``JUMP_AFTER`` times in a row has seen a jump: it starts afresh from the new offset
  (``pair_resets``). Single outliers (a bad position, a wrong reception) are skipped.

Quality: a pair is *synchronised* when it has ``MIN_UPDATES`` updates, its last one is at
most ``STALE_S`` old, and its predicted offset's standard deviation is under the limit.
:meth:`ClockSync.bad_receivers` drops receivers whose pairs disagree with their own filters
(normalised innovations persistently large: a wrong position or a broken clock).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.mlat.geodesy import C_M_S

__all__ = ["ClockSync", "SyncParams", "check_counters", "pair_offset", "sync_update"]

TICKS_PER_S = 12_000_000.0
TICKS_PER_M = TICKS_PER_S / C_M_S
RESET_S = 2.0
GATE_SIGMA = 6.0
JUMP_AFTER = 3
MIN_UPDATES = 4
STALE_S = 60.0

# Pair state columns (float matrix pf[i, j, k] and int matrix pi[i, j, k], i < j).
(PF_OFF, PF_DRIFT, PF_P00, PF_P01, PF_P11, PF_T, PF_NIS) = range(7)
N_PF = 7
(PI_ANCHOR, PI_N, PI_BAD) = range(3)
N_PI = 3
# Counters.
(K_SYNC_MSGS, K_PAIR_UPDATES, K_OUTLIERS, K_PAIR_RESETS, K_COUNTER_RESETS) = range(5)
N_K = 5
COUNTER_NAMES = ("sync_messages", "pair_updates", "sync_outliers", "pair_resets",
                 "counter_resets")


@dataclass(frozen=True, slots=True)
class SyncParams:
    """Noise model of the pair filters."""

    sigma_ns: float = 120.0  # one pair measurement (both receivers' jitter and rounding)
    offset_walk_ns: float = 5.0  # offset wander, per √s
    drift_walk_ppm: float = 0.005  # drift random walk, ppm per √s
    drift_prior_ppm: float = 200.0  # initial drift uncertainty between two free clocks
    max_sigma_ns: float = 300.0  # a pair is usable while its offset is known this well

    def array(self) -> npt.NDArray[np.float64]:
        t = TICKS_PER_S * 1e-9
        return np.array([
            (self.sigma_ns * t) ** 2,
            (self.offset_walk_ns * t) ** 2,
            (self.drift_walk_ppm * 1e-6 * TICKS_PER_S) ** 2,
            (self.drift_prior_ppm * 1e-6 * TICKS_PER_S) ** 2,
            (self.max_sigma_ns * t) ** 2,
        ])


@nb.njit(cache=True)
def _reset_pair(pf: npt.NDArray[np.float64], pi: npt.NDArray[np.int64], i: int, j: int,
                ) -> None:  # fmt: skip
    pi[i, j, PI_N] = 0
    pi[i, j, PI_BAD] = 0
    pf[i, j, PF_NIS] = 1.0


@nb.njit(cache=True)
def _update_pair(pf: npt.NDArray[np.float64], pi: npt.NDArray[np.int64], i: int, j: int,
                 c_i: int, z: float, t: float, prm: npt.NDArray[np.float64],
                 counters: npt.NDArray[np.int64]) -> None:
    r_meas, q_off, q_drift, p_drift0 = prm[0], prm[1], prm[2], prm[3]
    n = pi[i, j, PI_N]
    if n == 0:
        pf[i, j, PF_OFF] = z
        pf[i, j, PF_DRIFT] = 0.0
        pf[i, j, PF_P00] = r_meas
        pf[i, j, PF_P01] = 0.0
        pf[i, j, PF_P11] = p_drift0
        pf[i, j, PF_T] = t
        pf[i, j, PF_NIS] = 1.0
        pi[i, j, PI_ANCHOR] = c_i
        pi[i, j, PI_N] = 1
        pi[i, j, PI_BAD] = 0
        counters[K_PAIR_UPDATES] += 1
        return
    dt = (c_i - pi[i, j, PI_ANCHOR]) / TICKS_PER_S
    adt = abs(dt)
    o = pf[i, j, PF_OFF] + pf[i, j, PF_DRIFT] * dt
    p00 = pf[i, j, PF_P00] + 2.0 * dt * pf[i, j, PF_P01] + dt * dt * pf[i, j, PF_P11] \
        + q_off * adt + q_drift * adt * adt * adt / 3.0
    p01 = pf[i, j, PF_P01] + dt * pf[i, j, PF_P11] + q_drift * adt * adt / 2.0
    p11 = pf[i, j, PF_P11] + q_drift * adt
    y = z - o
    s = p00 + r_meas
    nis = y * y / s
    if n >= MIN_UPDATES and nis > GATE_SIGMA * GATE_SIGMA:
        counters[K_OUTLIERS] += 1
        pi[i, j, PI_BAD] += 1
        pf[i, j, PF_NIS] = 0.9 * pf[i, j, PF_NIS] + 0.1 * min(nis, 100.0)
        if pi[i, j, PI_BAD] >= JUMP_AFTER:
            counters[K_PAIR_RESETS] += 1
            _reset_pair(pf, pi, i, j)
            _update_pair(pf, pi, i, j, c_i, z, t, prm, counters)
        return
    k0 = p00 / s
    k1 = p01 / s
    pf[i, j, PF_OFF] = o + k0 * y
    pf[i, j, PF_DRIFT] += k1 * y
    pf[i, j, PF_P00] = (1.0 - k0) * p00
    pf[i, j, PF_P01] = (1.0 - k0) * p01
    pf[i, j, PF_P11] = p11 - k1 * p01
    pf[i, j, PF_T] = t
    pf[i, j, PF_NIS] = 0.95 * pf[i, j, PF_NIS] + 0.05 * min(nis, 100.0)
    pi[i, j, PI_ANCHOR] = c_i
    pi[i, j, PI_N] = n + 1
    pi[i, j, PI_BAD] = 0
    counters[K_PAIR_UPDATES] += 1


@nb.njit(cache=True)
def check_counters(
    order: npt.NDArray[np.int64], site: npt.NDArray[np.int32], ticks: npt.NDArray[np.int64],
    t_rx: npt.NDArray[np.float64], pf: npt.NDArray[np.float64], pi: npt.NDArray[np.int64],
    rx_c: npt.NDArray[np.int64], rx_t: npt.NDArray[np.float64],
    cand_c: npt.NDArray[np.int64], cand_t: npt.NDArray[np.float64],
    reset_t: npt.NDArray[np.float64], counters: npt.NDArray[np.int64],
) -> None:
    """Counter resets and jumps of each receiver, from its receptions (rows ``order`` of the
    (M, K) matrices, in time order).

    A reception whose counter is more than ``RESET_S`` away from the receiver's previous
    counter plus 12 MHz × the elapsed arrival time is a *candidate*; a second one that agrees
    with the candidate confirms the reset: every pair of that receiver starts afresh
    (``counter_resets``). Unconfirmed receptions, and receptions still on the old counter
    in the half second after a reset (their order around the reset is not certain), are
    dropped (``site`` set to -1)."""
    k_n = site.shape[1]
    lim = RESET_S * TICKS_PER_S
    for q in range(order.shape[0]):
        m = order[q]
        for a in range(k_n):
            r = site[m, a]
            if r < 0:
                continue
            t = t_rx[m, a]
            if t != t:
                continue
            c = ticks[m, a]
            if rx_c[r] == 0 or abs(c - (rx_c[r] + (t - rx_t[r]) * TICKS_PER_S)) <= lim:
                rx_c[r] = c
                rx_t[r] = t
                continue
            if t - reset_t[r] < 0.5:
                site[m, a] = -1
                continue
            if cand_c[r] != 0 and abs(c - (cand_c[r] + (t - cand_t[r]) * TICKS_PER_S)) <= lim:
                counters[K_COUNTER_RESETS] += 1
                for o in range(pf.shape[0]):
                    if o < r:
                        _reset_pair(pf, pi, o, r)
                    elif o > r:
                        _reset_pair(pf, pi, r, o)
                rx_c[r] = c
                rx_t[r] = t
                reset_t[r] = t
                cand_c[r] = 0
                continue
            cand_c[r] = c
            cand_t[r] = t
            site[m, a] = -1


@nb.njit(cache=True)
def sync_update(
    site: npt.NDArray[np.int32], ticks: npt.NDArray[np.int64], t_rx: npt.NDArray[np.float64],
    tx_xyz: npt.NDArray[np.float64], site_xyz: npt.NDArray[np.float64],
    pf: npt.NDArray[np.float64], pi: npt.NDArray[np.int64],
    prm: npt.NDArray[np.float64], counters: npt.NDArray[np.int64],
) -> None:
    """Update the pair filters with messages of known transmitter position.

    ``site``, ``ticks``, ``t_rx``: (M, K) receptions (site index, counter, arrival time;
    ``site < 0`` pads); ``tx_xyz``: (M, 3) transmitter ECEF. Messages in time order."""
    m_n, k_n = site.shape
    for m in range(m_n):
        used = 0
        for a in range(k_n):
            ra = site[m, a]
            if ra < 0:
                continue
            da = math.sqrt((tx_xyz[m, 0] - site_xyz[ra, 0]) ** 2
                           + (tx_xyz[m, 1] - site_xyz[ra, 1]) ** 2
                           + (tx_xyz[m, 2] - site_xyz[ra, 2]) ** 2)
            for b in range(k_n):
                rb = site[m, b]
                if rb <= ra:
                    continue
                db = math.sqrt((tx_xyz[m, 0] - site_xyz[rb, 0]) ** 2
                               + (tx_xyz[m, 1] - site_xyz[rb, 1]) ** 2
                               + (tx_xyz[m, 2] - site_xyz[rb, 2]) ** 2)
                z = float(ticks[m, b] - ticks[m, a]) - (db - da) * TICKS_PER_M
                _update_pair(pf, pi, ra, rb, ticks[m, a], z, t_rx[m, a], prm, counters)
                used += 1
        if used:
            counters[K_SYNC_MSGS] += 1


@nb.njit(cache=True, inline="always")
def pair_offset(pf: npt.NDArray[np.float64], pi: npt.NDArray[np.int64], ra: int, rb: int,
                c_a: int, c_b: int, t: float, prm: npt.NDArray[np.float64],
                ) -> tuple[float, float]:  # fmt: skip
    """Predicted ``(C_b − C_a) − 12e6·(d_b − d_a)/c`` in ticks for receptions ``c_a``,
    ``c_b`` at time ``t``, and its variance; variance ``inf`` when the pair is not usable."""
    i, j, sign, c_i = (ra, rb, 1.0, c_a) if ra < rb else (rb, ra, -1.0, c_b)
    n = pi[i, j, PI_N]
    if n < MIN_UPDATES or pi[i, j, PI_BAD] > 0 or not abs(t - pf[i, j, PF_T]) <= STALE_S:
        return 0.0, math.inf
    dt = (c_i - pi[i, j, PI_ANCHOR]) / TICKS_PER_S
    adt = abs(dt)
    var = pf[i, j, PF_P00] + 2.0 * dt * pf[i, j, PF_P01] + dt * dt * pf[i, j, PF_P11] \
        + prm[1] * adt + prm[2] * adt * adt * adt / 3.0
    if var > prm[4]:
        return 0.0, math.inf
    return sign * (pf[i, j, PF_OFF] + pf[i, j, PF_DRIFT] * dt), var


class ClockSync:
    """Pair filters of ``n_sites`` receivers (grown when sites are added)."""

    def __init__(self, n_sites: int = 0, params: SyncParams | None = None) -> None:
        self.params = params or SyncParams()
        self.prm = self.params.array()
        self.counters = np.zeros(N_K, np.int64)
        self.pf = np.zeros((0, 0, N_PF))
        self.pi = np.zeros((0, 0, N_PI), np.int64)
        self.rx_c = np.zeros(0, np.int64)
        self.rx_t = np.zeros(0)
        self.cand_c = np.zeros(0, np.int64)
        self.cand_t = np.zeros(0)
        self.reset_t = np.zeros(0)
        self.resize(n_sites)

    @property
    def n_sites(self) -> int:
        return int(self.pf.shape[0])

    def resize(self, n: int) -> None:
        old = self.n_sites
        if n <= old:
            return
        pf = np.zeros((n, n, N_PF))
        pf[:, :, PF_NIS] = 1.0
        pi = np.zeros((n, n, N_PI), np.int64)
        pf[:old, :old] = self.pf
        pi[:old, :old] = self.pi
        self.pf, self.pi = pf, pi
        self.rx_c = np.concatenate([self.rx_c, np.zeros(n - old, np.int64)])
        self.rx_t = np.concatenate([self.rx_t, np.full(n - old, np.nan)])
        self.cand_c = np.concatenate([self.cand_c, np.zeros(n - old, np.int64)])
        self.cand_t = np.concatenate([self.cand_t, np.full(n - old, np.nan)])
        self.reset_t = np.concatenate([self.reset_t, np.full(n - old, -np.inf)])

    def update(self, site: npt.NDArray[np.int32], ticks: npt.NDArray[np.int64],
               t_rx: npt.NDArray[np.float64], tx_xyz: npt.NDArray[np.float64],
               site_xyz: npt.NDArray[np.float64]) -> None:
        """See :func:`sync_update` (one compiled call)."""
        self.resize(site_xyz.shape[0])
        sync_update(np.ascontiguousarray(site, np.int32), np.ascontiguousarray(ticks, np.int64),
                    np.ascontiguousarray(t_rx, np.float64),
                    np.ascontiguousarray(tx_xyz, np.float64), site_xyz, self.pf, self.pi,
                    self.prm, self.counters)

    def check_counters(self, order: npt.NDArray[np.int64], site: npt.NDArray[np.int32],
                       ticks: npt.NDArray[np.int64], t_rx: npt.NDArray[np.float64]) -> None:
        """See :func:`check_counters` (every reception of a batch, before anything else;
        ``site`` is changed in place, so it must be C-contiguous int32)."""
        check_counters(np.ascontiguousarray(order, np.int64), site,
                       np.ascontiguousarray(ticks, np.int64),
                       np.ascontiguousarray(t_rx, np.float64), self.pf, self.pi, self.rx_c,
                       self.rx_t, self.cand_c, self.cand_t, self.reset_t, self.counters)

    def synced(self, t: float) -> npt.NDArray[np.bool_]:
        """(S, S) symmetric: which pairs are usable at time ``t``."""
        pf, pi = self.pf, self.pi
        ok = ((pi[:, :, PI_N] >= MIN_UPDATES) & (pi[:, :, PI_BAD] == 0)
              & (np.abs(t - pf[:, :, PF_T]) <= STALE_S) & (pf[:, :, PF_P00] <= self.prm[4]))
        ok = np.triu(ok, 1)
        out: npt.NDArray[np.bool_] = ok | ok.T
        return out

    def bad_receivers(self, t: float, nis_limit: float = 6.0) -> npt.NDArray[np.bool_]:
        """Receivers whose usable pairs mostly disagree with their filters (mean normalised
        innovation above ``nis_limit``, on at least two pairs): excluded from solving."""
        n = self.n_sites
        if n == 0:
            return np.zeros(0, bool)
        pf, pi = self.pf, self.pi
        live = (pi[:, :, PI_N] >= MIN_UPDATES) & (np.abs(t - pf[:, :, PF_T]) <= STALE_S)
        live = np.triu(live, 1)
        live = live | live.T
        nis = np.triu(pf[:, :, PF_NIS], 1)
        nis = nis + nis.T
        high = live & (nis > nis_limit)
        n_live = live.sum(axis=1)
        n_high = high.sum(axis=1)
        out: npt.NDArray[np.bool_] = (n_live >= 2) & (2 * n_high > n_live)
        return out

    def stats(self) -> dict[str, int]:
        return dict(zip(COUNTER_NAMES, self.counters.tolist(), strict=True))
