"""The time-difference solve of one Mode S transmission (compiled, one call per batch).

For a transmission heard by receivers ``0..n`` (counters ``C_k``), the reference receiver
``0`` is the one synchronised with most of the others; every other receiver's counter is
brought onto the reference's clock with the pair filter (:func:`~.clock.pair_offset`), which
gives the range differences

    ρ_k = (C_k − C_0 − offset_0k) / 12e6 · c  =  |x − s_k| − |x − s_0|   (metres)

with a variance from the timestamp noise and the pair's own uncertainty. ``x`` (ECEF) is
found by Gauss-Newton on the weighted least squares of these equations, plus, when the
message (or a fresh one) gave the barometric altitude, the pseudo-measurement
``height(x) = altitude`` (σ ``alt_sigma_m``): with 3 receivers it makes the problem
solvable, with more it pins the vertical that ground receivers see badly. Up to 12
iterations from the aircraft's filtered position (else the receivers' centroid at the
altitude).

A receiver whose range difference exceeds its distance to the reference (plus
``SLACK_M``) cannot have heard the same transmission (the dedup merges identical frames, such
as DF11 squitters, sent up to its window apart): it is left out. A solution is refused
(``status``) with too few synchronised receivers, without
convergence, with residuals beyond ``max_chi2`` per degree of freedom (the worst receiver is
dropped and the solve retried while ≥ 4 remain), with a horizontal error estimate (from the
covariance ``(JᵀWJ)⁻¹``) above ``max_error_m`` or a dilution (error / one range-difference
σ) above ``max_dop``, or when implausible (height outside −300…20,000 m without an altitude
constraint, farther than ``max_range_m`` from the reference receiver).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.mlat.clock import TICKS_PER_M, pair_offset
from tailwatch.mlat.geodesy import ecef_to_lla

__all__ = ["STATUS_NAMES", "solve_batch"]

(ST_OK, ST_TOO_FEW, ST_UNSYNCED, ST_DIVERGED, ST_RESIDUAL, ST_GEOMETRY, ST_IMPLAUSIBLE) = range(7)
STATUS_NAMES = ("solved", "too_few_receivers", "not_synchronised", "diverged",
                "large_residual", "poor_geometry", "implausible")
# Solver parameters (array layout).
(SP_ALT_SIGMA, SP_MAX_ERR, SP_MAX_CHI2, SP_MAX_RANGE, SP_MAX_DOP) = range(5)
MAX_MEMBERS = 32
SLACK_M = 1000.0  # |range difference| may not exceed the baseline by more than this


@nb.njit(cache=True, inline="always")
def _inv3(a: npt.NDArray[np.float64], out: npt.NDArray[np.float64]) -> bool:
    """Inverse of a symmetric 3×3 matrix; False when singular."""
    c00 = a[1, 1] * a[2, 2] - a[1, 2] * a[2, 1]
    c01 = a[1, 2] * a[2, 0] - a[1, 0] * a[2, 2]
    c02 = a[1, 0] * a[2, 1] - a[1, 1] * a[2, 0]
    det = a[0, 0] * c00 + a[0, 1] * c01 + a[0, 2] * c02
    if not abs(det) > 1e-300:
        return False
    inv = 1.0 / det
    out[0, 0] = c00 * inv
    out[0, 1] = (a[0, 2] * a[2, 1] - a[0, 1] * a[2, 2]) * inv
    out[0, 2] = (a[0, 1] * a[1, 2] - a[0, 2] * a[1, 1]) * inv
    out[1, 0] = c01 * inv
    out[1, 1] = (a[0, 0] * a[2, 2] - a[0, 2] * a[2, 0]) * inv
    out[1, 2] = (a[0, 2] * a[1, 0] - a[0, 0] * a[1, 2]) * inv
    out[2, 0] = c02 * inv
    out[2, 1] = (a[0, 1] * a[2, 0] - a[0, 0] * a[2, 1]) * inv
    out[2, 2] = (a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0]) * inv
    return True


@nb.njit(cache=True, inline="always")
def _add_equation(a: npt.NDArray[np.float64], g: npt.NDArray[np.float64], w: float,
                  j0: float, j1: float, j2: float, r: float) -> float:
    """Add one weighted equation (gradient ``j``, residual ``r``) to the normal equations
    (upper triangle of ``a``, and ``g``); returns its χ² term."""
    a[0, 0] += w * j0 * j0
    a[0, 1] += w * j0 * j1
    a[0, 2] += w * j0 * j2
    a[1, 1] += w * j1 * j1
    a[1, 2] += w * j1 * j2
    a[2, 2] += w * j2 * j2
    g[0] += w * j0 * r
    g[1] += w * j1 * r
    g[2] += w * j2 * r
    return w * r * r


@nb.njit(cache=True)
def _gauss_newton(
    s: npt.NDArray[np.float64], rho: npt.NDArray[np.float64], w: npt.NDArray[np.float64],
    use: npt.NDArray[np.bool_], n: int, alt: float, w_alt: float,
    x: npt.NDArray[np.float64], a: npt.NDArray[np.float64], cov: npt.NDArray[np.float64],
    res: npt.NDArray[np.float64],
) -> tuple[bool, float, int]:
    """Solve in place from ``x``: ``s[0]`` the reference, ``s[1..n)`` the others.
    Returns (converged, chi², equations); ``cov`` gets (JᵀWJ)⁻¹, ``res`` the residuals."""
    g = np.zeros(3)
    converged = False
    chi2 = 0.0
    neq = 0
    for _it in range(13):
        for r in range(3):
            g[r] = 0.0
            for c in range(3):
                a[r, c] = 0.0
        d0 = math.sqrt((x[0] - s[0, 0]) ** 2 + (x[1] - s[0, 1]) ** 2 + (x[2] - s[0, 2]) ** 2)
        if not d0 > 1.0:
            return False, 0.0, 0
        chi2 = 0.0
        neq = 0
        for k in range(1, n):
            if not use[k]:
                continue
            dk = math.sqrt((x[0] - s[k, 0]) ** 2 + (x[1] - s[k, 1]) ** 2
                           + (x[2] - s[k, 2]) ** 2)
            if not dk > 1.0:
                return False, 0.0, 0
            rk = dk - d0 - rho[k]
            res[k] = rk
            j0 = (x[0] - s[k, 0]) / dk - (x[0] - s[0, 0]) / d0
            j1 = (x[1] - s[k, 1]) / dk - (x[1] - s[0, 1]) / d0
            j2 = (x[2] - s[k, 2]) / dk - (x[2] - s[0, 2]) / d0
            chi2 += _add_equation(a, g, w[k], j0, j1, j2, rk)
            neq += 1
        if alt == alt:
            lat, lon, h = ecef_to_lla(x[0], x[1], x[2])
            la = math.radians(lat)
            lo = math.radians(lon)
            u0 = math.cos(la) * math.cos(lo)
            u1 = math.cos(la) * math.sin(lo)
            u2 = math.sin(la)
            rh = h - alt
            res[0] = rh
            chi2 += _add_equation(a, g, w_alt, u0, u1, u2, rh)
            neq += 1
        a[1, 0] = a[0, 1]
        a[2, 0] = a[0, 2]
        a[2, 1] = a[1, 2]
        if neq < 3 or not _inv3(a, cov):
            return False, 0.0, neq
        if converged:
            break
        step = 0.0
        for r in range(3):
            dx = -(cov[r, 0] * g[0] + cov[r, 1] * g[1] + cov[r, 2] * g[2])
            x[r] += dx
            step += dx * dx
        if step < 0.01:  # 10 cm: one more pass for the residuals and covariance
            converged = True
        if not step < 1e14:
            return False, 0.0, neq
    return converged, chi2, neq


@nb.njit(cache=True)
def solve_batch(
    site: npt.NDArray[np.int32], ticks: npt.NDArray[np.int64], t: npt.NDArray[np.float64],
    alt_m: npt.NDArray[np.float64], guess: npt.NDArray[np.float64],
    site_xyz: npt.NDArray[np.float64], bad: npt.NDArray[np.bool_],
    pf: npt.NDArray[np.float64], pi: npt.NDArray[np.int64], prm: npt.NDArray[np.float64],
    sp: npt.NDArray[np.float64],
    xyz: npt.NDArray[np.float64], cov6: npt.NDArray[np.float64],
    err_m: npt.NDArray[np.float64], dop: npt.NDArray[np.float64],
    n_used: npt.NDArray[np.int64], status: npt.NDArray[np.int64],
) -> None:
    """Solve every transmission (rows of the (M, K) reception matrices); see the module
    docstring. Outputs per row: ``xyz`` (M, 3) ECEF, ``cov6`` (M, 6: xx, xy, xz, yy, yz,
    zz), horizontal error (1σ radial, m), dilution, receivers used, status."""
    m_n, k_n = site.shape
    s = np.empty((MAX_MEMBERS, 3))
    rho = np.empty(MAX_MEMBERS)
    w = np.empty(MAX_MEMBERS)
    use = np.zeros(MAX_MEMBERS, np.bool_)
    x = np.empty(3)
    a = np.empty((3, 3))
    cov = np.empty((3, 3))
    res = np.zeros(MAX_MEMBERS)
    w_alt = 1.0 / (sp[SP_ALT_SIGMA] * sp[SP_ALT_SIGMA])
    sigma_m = math.sqrt(prm[0]) / TICKS_PER_M
    for m in range(m_n):
        for r in range(3):
            xyz[m, r] = np.nan
        err_m[m] = np.nan
        dop[m] = np.nan
        n_used[m] = 0
        has_alt = alt_m[m] == alt_m[m]
        # members: positioned, not bad receivers
        cand = 0
        for a_ in range(k_n):
            if site[m, a_] >= 0 and not bad[site[m, a_]]:
                cand += 1
        if cand < (3 if has_alt else 4):
            status[m] = ST_TOO_FEW
            continue
        # reference: the member synchronised with most others
        best = -1
        best_n = -1
        for a_ in range(k_n):
            ra = site[m, a_]
            if ra < 0 or bad[ra]:
                continue
            cnt = 0
            for b in range(k_n):
                rb = site[m, b]
                if rb < 0 or rb == ra or bad[rb]:
                    continue
                _, var = pair_offset(pf, pi, ra, rb, ticks[m, a_], ticks[m, b], t[m], prm)
                if var < math.inf:
                    cnt += 1
            if cnt > best_n:
                best_n = cnt
                best = a_
        n = 1 + best_n
        if n < (3 if has_alt else 4):
            status[m] = ST_UNSYNCED
            continue
        r0 = site[m, best]
        c0 = ticks[m, best]
        s[0, 0] = site_xyz[r0, 0]
        s[0, 1] = site_xyz[r0, 1]
        s[0, 2] = site_xyz[r0, 2]
        k = 1
        for b in range(k_n):
            rb = site[m, b]
            if rb < 0 or rb == r0 or bad[rb] or k >= MAX_MEMBERS:
                continue
            off, var = pair_offset(pf, pi, r0, rb, c0, ticks[m, b], t[m], prm)
            if not var < math.inf:
                continue
            rk = (float(ticks[m, b] - c0) - off) / TICKS_PER_M
            base = math.sqrt((site_xyz[rb, 0] - s[0, 0]) ** 2 + (site_xyz[rb, 1] - s[0, 1]) ** 2
                             + (site_xyz[rb, 2] - s[0, 2]) ** 2)
            if abs(rk) > base + SLACK_M:  # not the same transmission (dedup merged repeats)
                continue
            s[k, 0] = site_xyz[rb, 0]
            s[k, 1] = site_xyz[rb, 1]
            s[k, 2] = site_xyz[rb, 2]
            rho[k] = rk
            w[k] = TICKS_PER_M * TICKS_PER_M / (prm[0] + var)
            use[k] = True
            k += 1
        n = k
        alt = alt_m[m] if has_alt else np.nan
        n_use = n
        done = False
        st = ST_DIVERGED
        while not done:
            if guess[m, 0] == guess[m, 0]:
                x[0] = guess[m, 0]
                x[1] = guess[m, 1]
                x[2] = guess[m, 2]
            else:
                cx = 0.0
                cy = 0.0
                cz = 0.0
                for q in range(n):
                    if q == 0 or use[q]:
                        cx += s[q, 0]
                        cy += s[q, 1]
                        cz += s[q, 2]
                norm = math.sqrt(cx * cx + cy * cy + cz * cz)
                lift = (norm / n_use + (alt if has_alt else 9000.0)) / norm
                x[0] = cx * lift
                x[1] = cy * lift
                x[2] = cz * lift
            ok, chi2, neq = _gauss_newton(s, rho, w, use, n, alt, w_alt, x, a, cov, res)
            if not ok:
                st = ST_DIVERGED
                break
            dof = neq - 3
            if dof >= 1 and chi2 / dof > sp[SP_MAX_CHI2]:
                st = ST_RESIDUAL
                if n_use - 1 >= 4:  # drop the receiver with the worst residual, retry
                    worst = -1
                    wv = -1.0
                    for q in range(1, n):
                        if use[q] and res[q] * res[q] * w[q] > wv:
                            wv = res[q] * res[q] * w[q]
                            worst = q
                    use[worst] = False
                    n_use -= 1
                    continue
                break
            st = ST_OK
            done = True
        for q in range(MAX_MEMBERS):
            use[q] = False
        if st != ST_OK:
            status[m] = st
            continue
        lat, lon, h = ecef_to_lla(x[0], x[1], x[2])
        rng = math.sqrt((x[0] - s[0, 0]) ** 2 + (x[1] - s[0, 1]) ** 2 + (x[2] - s[0, 2]) ** 2)
        if (not has_alt and not -300.0 <= h <= 20_000.0) or rng > sp[SP_MAX_RANGE]:
            status[m] = ST_IMPLAUSIBLE
            continue
        la = math.radians(lat)
        lo = math.radians(lon)
        e0, e1 = -math.sin(lo), math.cos(lo)
        n0, n1, n2 = -math.sin(la) * math.cos(lo), -math.sin(la) * math.sin(lo), math.cos(la)
        var_e = (e0 * (cov[0, 0] * e0 + cov[0, 1] * e1) + e1 * (cov[1, 0] * e0 + cov[1, 1] * e1))
        var_n = 0.0
        nv = (n0, n1, n2)
        for r in range(3):
            for c in range(3):
                var_n += nv[r] * cov[r, c] * nv[c]
        eh = math.sqrt(max(var_e, 0.0) + max(var_n, 0.0))
        d = eh / sigma_m
        if not (eh <= sp[SP_MAX_ERR] and d <= sp[SP_MAX_DOP]):
            status[m] = ST_GEOMETRY
            continue
        xyz[m, 0] = x[0]
        xyz[m, 1] = x[1]
        xyz[m, 2] = x[2]
        cov6[m, 0] = cov[0, 0]
        cov6[m, 1] = cov[0, 1]
        cov6[m, 2] = cov[0, 2]
        cov6[m, 3] = cov[1, 1]
        cov6[m, 4] = cov[1, 2]
        cov6[m, 5] = cov[2, 2]
        err_m[m] = eh
        dop[m] = d
        n_used[m] = n_use
        status[m] = ST_OK
