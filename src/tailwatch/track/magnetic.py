"""Magnetic declination from the World Magnetic Model 2025 (WMM2025, NOAA NCEI and the
British Geological Survey; its coefficients are in the public domain), so that magnetic
headings (Comm-B 6,0, most TC19 airspeed messages) become true headings, as readsb turns them
with its own copy of the model. Compiled: the tracker calls :func:`declination_deg` from its
loop, at most once a minute per aircraft.

Spherical-harmonic synthesis to degree 12 (the WMM technical report, 2025-2030): geodetic to
geocentric coordinates on WGS-84, Schmidt semi-normalised associated Legendre functions by
recursion, the Gauss coefficients moved to the date by their secular variation, the field
rotated back to the geodetic frame; the declination is atan2(east, north).
"""

# mypy: disable-error-code="no-any-return"

from __future__ import annotations

import math

import numba as nb
import numpy as np
import numpy.typing as npt

__all__ = ["EPOCH_YEAR", "decimal_year", "declination_at", "declination_deg"]

EPOCH_YEAR = 2025.0
_EPOCH_UNIX_S = 1_735_689_600.0  # 2025-01-01T00:00:00Z
_YEAR_S = 365.25 * 86_400.0
N_MAX = 12
_A_WGS84_KM = 6378.137
_F_WGS84 = 1.0 / 298.257223563
_E2 = _F_WGS84 * (2.0 - _F_WGS84)
_A_REF_KM = 6371.2

# n, m, g (nT), h (nT), g per year, h per year (WMM_2025.COF)
_WMM2025 = """
       1        0 -29351.8      0.0     12.0      0.0
       1        1  -1410.8   4545.4      9.7    -21.5
       2        0  -2556.6      0.0    -11.6      0.0
       2        1   2951.1  -3133.6     -5.2    -27.7
       2        2   1649.3   -815.1     -8.0    -12.1
       3        0   1361.0      0.0     -1.3      0.0
       3        1  -2404.1    -56.6     -4.2      4.0
       3        2   1243.8    237.5      0.4     -0.3
       3        3    453.6   -549.5    -15.6     -4.1
       4        0    895.0      0.0     -1.6      0.0
       4        1    799.5    278.6     -2.4     -1.1
       4        2     55.7   -133.9     -6.0      4.1
       4        3   -281.1    212.0      5.6      1.6
       4        4     12.1   -375.6     -7.0     -4.4
       5        0   -233.2      0.0      0.6      0.0
       5        1    368.9     45.4      1.4     -0.5
       5        2    187.2    220.2      0.0      2.2
       5        3   -138.7   -122.9      0.6      0.4
       5        4   -142.0     43.0      2.2      1.7
       5        5     20.9    106.1      0.9      1.9
       6        0     64.4      0.0     -0.2      0.0
       6        1     63.8    -18.4     -0.4      0.3
       6        2     76.9     16.8      0.9     -1.6
       6        3   -115.7     48.8      1.2     -0.4
       6        4    -40.9    -59.8     -0.9      0.9
       6        5     14.9     10.9      0.3      0.7
       6        6    -60.7     72.7      0.9      0.9
       7        0     79.5      0.0     -0.0      0.0
       7        1    -77.0    -48.9     -0.1      0.6
       7        2     -8.8    -14.4     -0.1      0.5
       7        3     59.3     -1.0      0.5     -0.8
       7        4     15.8     23.4     -0.1      0.0
       7        5      2.5     -7.4     -0.8     -1.0
       7        6    -11.1    -25.1     -0.8      0.6
       7        7     14.2     -2.3      0.8     -0.2
       8        0     23.2      0.0     -0.1      0.0
       8        1     10.8      7.1      0.2     -0.2
       8        2    -17.5    -12.6      0.0      0.5
       8        3      2.0     11.4      0.5     -0.4
       8        4    -21.7     -9.7     -0.1      0.4
       8        5     16.9     12.7      0.3     -0.5
       8        6     15.0      0.7      0.2     -0.6
       8        7    -16.8     -5.2     -0.0      0.3
       8        8      0.9      3.9      0.2      0.2
       9        0      4.6      0.0     -0.0      0.0
       9        1      7.8    -24.8     -0.1     -0.3
       9        2      3.0     12.2      0.1      0.3
       9        3     -0.2      8.3      0.3     -0.3
       9        4     -2.5     -3.3     -0.3      0.3
       9        5    -13.1     -5.2      0.0      0.2
       9        6      2.4      7.2      0.3     -0.1
       9        7      8.6     -0.6     -0.1     -0.2
       9        8     -8.7      0.8      0.1      0.4
       9        9    -12.9     10.0     -0.1      0.1
      10        0     -1.3      0.0      0.1      0.0
      10        1     -6.4      3.3      0.0      0.0
      10        2      0.2      0.0      0.1     -0.0
      10        3      2.0      2.4      0.1     -0.2
      10        4     -1.0      5.3     -0.0      0.1
      10        5     -0.6     -9.1     -0.3     -0.1
      10        6     -0.9      0.4      0.0      0.1
      10        7      1.5     -4.2     -0.1      0.0
      10        8      0.9     -3.8     -0.1     -0.1
      10        9     -2.7      0.9     -0.0      0.2
      10       10     -3.9     -9.1     -0.0     -0.0
      11        0      2.9      0.0      0.0      0.0
      11        1     -1.5      0.0     -0.0     -0.0
      11        2     -2.5      2.9      0.0      0.1
      11        3      2.4     -0.6      0.0     -0.0
      11        4     -0.6      0.2      0.0      0.1
      11        5     -0.1      0.5     -0.1     -0.0
      11        6     -0.6     -0.3      0.0     -0.0
      11        7     -0.1     -1.2     -0.0      0.1
      11        8      1.1     -1.7     -0.1     -0.0
      11        9     -1.0     -2.9     -0.1      0.0
      11       10     -0.2     -1.8     -0.1      0.0
      11       11      2.6     -2.3     -0.1      0.0
      12        0     -2.0      0.0      0.0      0.0
      12        1     -0.2     -1.3      0.0     -0.0
      12        2      0.3      0.7     -0.0      0.0
      12        3      1.2      1.0     -0.0     -0.1
      12        4     -1.3     -1.4     -0.0      0.1
      12        5      0.6     -0.0     -0.0     -0.0
      12        6      0.6      0.6      0.1     -0.0
      12        7      0.5     -0.1     -0.0     -0.0
      12        8     -0.1      0.8      0.0      0.0
      12        9     -0.4      0.1      0.0     -0.0
      12       10     -0.2     -1.0     -0.1     -0.0
      12       11     -1.3      0.1     -0.0      0.0
      12       12     -0.7      0.2     -0.1     -0.1
"""


def _tables() -> tuple[npt.NDArray[np.float64], ...]:
    size = N_MAX + 1
    g = np.zeros((size, size))
    h = np.zeros((size, size))
    gd = np.zeros((size, size))
    hd = np.zeros((size, size))
    for line in _WMM2025.strip().splitlines():
        n_s, m_s, *vals = line.split()
        n, m = int(n_s), int(m_s)
        g[n, m], h[n, m], gd[n, m], hd[n, m] = (float(v) for v in vals)
    # Schmidt semi-normalisation factors for the Gauss-normalised recursion below
    s = np.zeros((size, size))
    s[0, 0] = 1.0
    for n in range(1, size):
        s[n, 0] = s[n - 1, 0] * (2 * n - 1) / n
        for m in range(1, n + 1):
            s[n, m] = s[n, m - 1] * math.sqrt((n - m + 1) * (2 if m == 1 else 1) / (n + m))
    return g, h, gd, hd, s


_G, _H, _GDOT, _HDOT, _SCHMIDT = _tables()


def decimal_year(t_unix_s: float) -> float:
    """The date as a decimal year (Julian years from the model's epoch)."""
    return EPOCH_YEAR + (t_unix_s - _EPOCH_UNIX_S) / _YEAR_S


@nb.njit(cache=True)
def _declination(lat_deg: float, lon_deg: float, height_km: float, year: float,
                 g0: npt.NDArray[np.float64], h0: npt.NDArray[np.float64],
                 gdot: npt.NDArray[np.float64], hdot: npt.NDArray[np.float64],
                 schmidt: npt.NDArray[np.float64]) -> float:
    phi = math.radians(lat_deg)
    lam = math.radians(lon_deg)
    sin_phi = math.sin(phi)
    rc = _A_WGS84_KM / math.sqrt(1.0 - _E2 * sin_phi * sin_phi)
    p = (rc + height_km) * math.cos(phi)
    z = (rc * (1.0 - _E2) + height_km) * sin_phi
    r = math.sqrt(p * p + z * z)
    phi_c = math.asin(z / r)  # geocentric latitude
    ct = math.sin(phi_c)  # cos of the colatitude
    st = math.cos(phi_c)  # sin of the colatitude
    if st < 1e-9:
        st = 1e-9  # at a pole the declination is not defined; keep the sums finite
    dt = year - EPOCH_YEAR
    size = N_MAX + 1
    pn = np.zeros((size, size))
    dp = np.zeros((size, size))
    pn[0, 0] = 1.0
    x = 0.0  # north, y east, zc down (geocentric)
    y = 0.0
    zc = 0.0
    ar = _A_REF_KM / r
    arn = ar * ar
    for n in range(1, size):
        arn *= ar  # (a/r)^(n+2)
        for m in range(n + 1):
            if n == m:
                pn[n, m] = st * pn[n - 1, m - 1]
                dp[n, m] = st * dp[n - 1, m - 1] + ct * pn[n - 1, m - 1]
            elif n == 1:
                pn[n, m] = ct * pn[n - 1, m]
                dp[n, m] = ct * dp[n - 1, m] - st * pn[n - 1, m]
            else:
                k = ((n - 1) * (n - 1) - m * m) / ((2 * n - 1) * (2 * n - 3))
                pn[n, m] = ct * pn[n - 1, m] - k * pn[n - 2, m]
                dp[n, m] = ct * dp[n - 1, m] - st * pn[n - 1, m] - k * dp[n - 2, m]
            ps = schmidt[n, m] * pn[n, m]
            dps = schmidt[n, m] * dp[n, m]
            g = g0[n, m] + dt * gdot[n, m]
            h = h0[n, m] + dt * hdot[n, m]
            cm = math.cos(m * lam)
            sm = math.sin(m * lam)
            x += arn * (g * cm + h * sm) * dps
            y += arn * m * (g * sm - h * cm) * ps / st
            zc -= arn * (n + 1) * (g * cm + h * sm) * ps
    psi = phi_c - phi
    north = x * math.cos(psi) - zc * math.sin(psi)
    return math.degrees(math.atan2(y, north))


@nb.njit(cache=True)
def declination_deg(lat_deg: float, lon_deg: float, height_km: float, year: float) -> float:
    """Magnetic declination (degrees, east positive: true = magnetic + declination) at a
    geodetic position and height above the WGS-84 ellipsoid on a decimal year."""
    return _declination(lat_deg, lon_deg, height_km, year, _G, _H, _GDOT, _HDOT, _SCHMIDT)


@nb.njit(cache=True)
def declination_at(lat_deg: float, lon_deg: float, height_km: float, t_unix_s: float) -> float:
    """:func:`declination_deg` at a UNIX time."""
    year = EPOCH_YEAR + (t_unix_s - _EPOCH_UNIX_S) / _YEAR_S
    return _declination(lat_deg, lon_deg, height_km, year, _G, _H, _GDOT, _HDOT, _SCHMIDT)
