"""WGS84 geodetic coordinates ↔ Earth-centred Earth-fixed (ECEF) metres, compiled."""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import numpy.typing as npt

__all__ = ["C_M_S", "ecef_to_lla", "ecef_to_lla_arrays", "lla_to_ecef", "lla_to_ecef_arrays"]

C_M_S = 299_792_458.0  # speed of light (radio waves in air: the 0.03 % slower is ignored)
A_M = 6_378_137.0
F = 1.0 / 298.257223563
B_M = A_M * (1.0 - F)
E2 = F * (2.0 - F)
EP2 = E2 / (1.0 - E2)

F64 = npt.NDArray[np.float64]


@nb.njit(cache=True, inline="always", error_model="numpy")
def lla_to_ecef(lat_deg: float, lon_deg: float, alt_m: float) -> tuple[float, float, float]:
    la = math.radians(lat_deg)
    lo = math.radians(lon_deg)
    s = math.sin(la)
    n = A_M / math.sqrt(1.0 - E2 * s * s)
    r = (n + alt_m) * math.cos(la)
    return r * math.cos(lo), r * math.sin(lo), (n * (1.0 - E2) + alt_m) * s


@nb.njit(cache=True, inline="always", error_model="numpy")
def ecef_to_lla(x: float, y: float, z: float) -> tuple[float, float, float]:
    """Bowring's method with one refinement: sub-millimetre near the Earth's surface."""
    p = math.hypot(x, y)
    lon = math.atan2(y, x)
    th = math.atan2(z * A_M, p * B_M)
    st = math.sin(th)
    ct = math.cos(th)
    lat = math.atan2(z + EP2 * B_M * st * st * st, p - E2 * A_M * ct * ct * ct)
    for _ in range(2):
        s = math.sin(lat)
        n = A_M / math.sqrt(1.0 - E2 * s * s)
        h = p / math.cos(lat) - n if abs(lat) < 1.4 else z / s - n * (1.0 - E2)
        lat = math.atan2(z, p * (1.0 - E2 * n / (n + h)))
    s = math.sin(lat)
    n = A_M / math.sqrt(1.0 - E2 * s * s)
    h = p / math.cos(lat) - n if abs(lat) < 1.4 else z / s - n * (1.0 - E2)
    return math.degrees(lat), math.degrees(lon), h


@nb.njit(cache=True, error_model="numpy")
def _lla_to_ecef_arrays(lat: F64, lon: F64, alt: F64, out: F64) -> None:
    for i in range(lat.shape[0]):
        x, y, z = lla_to_ecef(lat[i], lon[i], alt[i])
        out[i, 0] = x
        out[i, 1] = y
        out[i, 2] = z


@nb.njit(cache=True, error_model="numpy")
def _ecef_to_lla_arrays(xyz: F64, out: F64) -> None:
    for i in range(xyz.shape[0]):
        la, lo, h = ecef_to_lla(xyz[i, 0], xyz[i, 1], xyz[i, 2])
        out[i, 0] = la
        out[i, 1] = lo
        out[i, 2] = h


def lla_to_ecef_arrays(lat: npt.ArrayLike, lon: npt.ArrayLike, alt_m: npt.ArrayLike) -> F64:
    """(N, 3) ECEF metres of points given in degrees and metres above the ellipsoid."""
    la, lo, al = np.broadcast_arrays(np.asarray(lat, np.float64), np.asarray(lon, np.float64),
                                     np.asarray(alt_m, np.float64))
    la, lo, al = (np.ascontiguousarray(v.reshape(-1)) for v in (la, lo, al))
    out = np.empty((la.shape[0], 3))
    _lla_to_ecef_arrays(la, lo, al, out)
    return out


def ecef_to_lla_arrays(xyz: npt.ArrayLike) -> F64:
    """(N, 3) of (lat°, lon°, metres above the ellipsoid) of ECEF points (N, 3)."""
    a = np.ascontiguousarray(np.asarray(xyz, np.float64).reshape(-1, 3))
    out = np.empty_like(a)
    _ecef_to_lla_arrays(a, out)
    return out
