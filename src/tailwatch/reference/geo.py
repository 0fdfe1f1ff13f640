"""Great-circle helpers on a spherical Earth, vectorised over numpy arrays.

All functions broadcast their arguments like numpy ufuncs and return float64 arrays (0-d for
scalar inputs). Angles are in degrees (latitude, longitude, bearing: clockwise from true north),
distances in metres (``_m``) or nautical miles (``_nm``). ``NaN`` in any input gives ``NaN``.

The Earth is the sphere of mean radius :data:`EARTH_RADIUS_M` (IUGG R1). Against the WGS-84
ellipsoid this is off by up to ~0.5 % in distance: ample for finding airports and runways,
not a geodesy library.

Nothing is computed with ``acos`` of a number close to 1: distances use the ``atan2`` form of
the central angle (exact at short range like the haversine, and also near antipodes),
cross- and along-track offsets use 3-D unit vectors (``asin`` of a small dot product and
``atan2``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG R1 = (2a + b) / 3 of WGS-84), metres."""

M_PER_NM = 1852.0
"""Metres in one international nautical mile."""

FT_PER_M = 1.0 / 0.3048

ArrayLike = npt.ArrayLike
Float64Array = npt.NDArray[np.float64]


def _f64(x: ArrayLike) -> Float64Array:
    return np.asarray(x, dtype=np.float64)


def distance_m(
    lat1_deg: ArrayLike, lon1_deg: ArrayLike, lat2_deg: ArrayLike, lon2_deg: ArrayLike
) -> Float64Array:
    """Great-circle distance between two points, metres.

    The ``atan2`` form of the central angle (Vincenty's formula on a sphere): as exact as the
    haversine at short range and, unlike it, also near antipodal points.
    """
    p1 = np.radians(_f64(lat1_deg))
    p2 = np.radians(_f64(lat2_deg))
    dl = np.radians(_f64(lon2_deg) - _f64(lon1_deg))
    c1, s1, c2, s2 = np.cos(p1), np.sin(p1), np.cos(p2), np.sin(p2)
    cdl = np.cos(dl)
    y = np.hypot(c2 * np.sin(dl), c1 * s2 - s1 * c2 * cdl)
    x = s1 * s2 + c1 * c2 * cdl
    return np.asarray(EARTH_RADIUS_M * np.arctan2(y, x))


def distance_nm(
    lat1_deg: ArrayLike, lon1_deg: ArrayLike, lat2_deg: ArrayLike, lon2_deg: ArrayLike
) -> Float64Array:
    """Great-circle distance between two points, nautical miles (see :func:`distance_m`)."""
    return distance_m(lat1_deg, lon1_deg, lat2_deg, lon2_deg) / M_PER_NM


def initial_bearing_deg(
    lat1_deg: ArrayLike, lon1_deg: ArrayLike, lat2_deg: ArrayLike, lon2_deg: ArrayLike
) -> Float64Array:
    """True bearing at point 1 of the great circle towards point 2, in [0, 360) degrees.

    Identical points give 0.
    """
    p1 = np.radians(_f64(lat1_deg))
    p2 = np.radians(_f64(lat2_deg))
    dl = np.radians(_f64(lon2_deg) - _f64(lon1_deg))
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.asarray(np.mod(np.degrees(np.arctan2(y, x)), 360.0))


def destination_deg(
    lat_deg: ArrayLike, lon_deg: ArrayLike, bearing_deg: ArrayLike, distance_m: ArrayLike
) -> tuple[Float64Array, Float64Array]:
    """Point reached from a start point along a great circle: ``(lat_deg, lon_deg)``.

    ``bearing_deg`` is the initial true bearing, ``distance_m`` the distance travelled (negative
    goes backwards). The longitude is normalised to [-180, 180).
    """
    p1 = np.radians(_f64(lat_deg))
    l1 = np.radians(_f64(lon_deg))
    b = np.radians(_f64(bearing_deg))
    d = _f64(distance_m) / EARTH_RADIUS_M
    sin_p2 = np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(b)
    p2 = np.arcsin(np.clip(sin_p2, -1.0, 1.0))
    l2 = l1 + np.arctan2(np.sin(b) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * sin_p2)
    lon2 = np.mod(np.degrees(l2) + 180.0, 360.0) - 180.0
    return np.asarray(np.degrees(p2)), np.asarray(lon2)


def angle_diff_deg(a_deg: ArrayLike, b_deg: ArrayLike) -> Float64Array:
    """Signed difference ``a - b`` of two directions, wrapped to [-180, 180) degrees."""
    return np.asarray(np.mod(_f64(a_deg) - _f64(b_deg) + 180.0, 360.0) - 180.0)


def unit_vectors(lat_deg: ArrayLike, lon_deg: ArrayLike) -> Float64Array:
    """Earth-centred unit vectors of points, shape ``broadcast(lat, lon).shape + (3,)``."""
    p = np.radians(_f64(lat_deg))
    lam = np.radians(_f64(lon_deg))
    cp = np.cos(p)
    return np.stack(np.broadcast_arrays(cp * np.cos(lam), cp * np.sin(lam), np.sin(p)), axis=-1)


def track_offsets_m(
    lat1_deg: ArrayLike,
    lon1_deg: ArrayLike,
    lat2_deg: ArrayLike,
    lon2_deg: ArrayLike,
    lat_deg: ArrayLike,
    lon_deg: ArrayLike,
) -> tuple[Float64Array, Float64Array]:
    """Position of a point relative to the great circle from point 1 towards point 2.

    Returns ``(along_m, cross_m)``: ``along_m`` is the distance from point 1 to the foot of the
    perpendicular, positive towards point 2 (negative behind point 1); ``cross_m`` is the
    distance off the great circle, positive to the **right** of the direction 1 → 2.
    Points 1 and 2 must differ (identical points give ``NaN``).
    """
    a = unit_vectors(lat1_deg, lon1_deg)
    b = unit_vectors(lat2_deg, lon2_deg)
    p = unit_vectors(lat_deg, lon_deg)
    n = np.cross(a, b)
    norm = np.linalg.norm(n, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        n = n / np.where(norm > 0.0, norm, np.nan)
    t = np.cross(n, a)  # unit vector in the plane of the circle, perpendicular to a, towards b
    pn = np.sum(p * n, axis=-1)
    along = np.arctan2(np.sum(p * t, axis=-1), np.sum(p * a, axis=-1)) * EARTH_RADIUS_M
    cross = -np.arcsin(np.clip(pn, -1.0, 1.0)) * EARTH_RADIUS_M
    return np.asarray(along), np.asarray(cross)
