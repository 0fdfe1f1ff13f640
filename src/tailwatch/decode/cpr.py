"""Compact Position Reporting (CPR): the position math of ADS-B, as pure functions.

Every function here is a numba ``@njit(cache=True)`` function, so the tracker can call the
scalar ones from its own compiled loop; the ``*_batch`` functions are compiled loops over
numpy arrays (same length, no broadcasting) that return NaN where a row has no answer.

CPR in brief (DO-260B §A.1.7, ICAO Doc 9871 §C.2.6)
----------------------------------------------------
* ``NZ = 15`` latitude zones per quarter of meridian. The even format (``i = 0``) cuts the
  360° of latitude into ``4·NZ = 60`` zones of ``Dlat0 = 6°``, the odd one (``i = 1``) into
  59 zones of ``Dlat1 = 360/59°``. Surface positions use a quarter of that: 90° instead of
  360°, so zones of 1.5° and 90/59°.
* Inside its zone a latitude is sent as a 17-bit fraction ``YZ`` (0..131071); the longitude
  likewise as ``XZ`` inside one of ``max(NL(lat) - i, 1)`` longitude zones, where ``NL`` is
  the number of longitude zones at that latitude (59 at the equator, 1 above ±87°).
* Resolution: airborne 6°/2¹⁷ ≈ 4.6e-5° of latitude ≈ 5.1 m (so ≤ 2.6 m error after
  rounding); surface 1.5°/2¹⁷ ≈ 1.1e-5° ≈ 1.3 m. Longitude steps are about as long in
  metres except near the poles, where the zones are few and wide.
* Global decoding combines one even and one odd message (received within ~10 s): it is
  unambiguous for airborne messages, and for surface messages up to the choice of 90°
  quadrant in latitude and longitude, resolved with a reference point within 45°.
* Local decoding uses one message and a reference point within half a zone: 180 NM
  airborne, 45 NM surface.

Conventions: latitudes in [-90, 90], longitudes in [-180, 180). Raw CPR values are the
17-bit integers as transmitted; ``odd`` is 0 for even and 1 for odd format.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import numpy.typing as npt

NZ = 15
CPR_BITS = 17
CPR_SCALE = 131072  # 2**17
CPR_MASK = CPR_SCALE - 1
_HALF = CPR_SCALE // 2


def _nl_table() -> npt.NDArray[np.float64]:
    """Transition latitudes of NL, ascending: entry k is the largest |lat| with NL = 59 - k.

    From the closed formula NL(lat) = floor(2π / acos(1 - (1 - cos(π/2NZ)) / cos²(lat))):
    NL reaches ``n`` up to the latitude where the argument of the floor equals ``n``,
    i.e. lat_n = acos(sqrt((1 - cos(π/2NZ)) / (1 - cos(2π/n)))). NL(lat_n) = n, and the
    last transition (n = 2) is exactly 87° (then acos(sin 3°)).
    """
    n = np.arange(59, 1, -1, dtype=np.float64)
    a = 1.0 - np.cos(np.pi / (2 * NZ))
    lat: npt.NDArray[np.float64] = np.degrees(
        np.arccos(np.sqrt(a / (1.0 - np.cos(2.0 * np.pi / n))))
    )
    lat[-1] = 87.0
    return lat


NL_TRANSITIONS: npt.NDArray[np.float64] = _nl_table()  # 58 values, 10.4704713° .. 87°


@nb.njit(cache=True)
def nl(lat_deg: float) -> int:
    """Number of longitude zones at ``lat_deg`` (1..59), exact: a binary search of the
    transition table (NL(lat) = 59 minus the number of transitions strictly below |lat|)."""
    a = abs(lat_deg)
    lo = 0
    hi = NL_TRANSITIONS.shape[0]
    while lo < hi:  # first index whose transition latitude is >= a
        mid = (lo + hi) >> 1
        if NL_TRANSITIONS[mid] < a:
            lo = mid + 1
        else:
            hi = mid
    return 59 - lo


@nb.njit(cache=True, inline="always")
def _fmod_pos(x: float, y: float) -> float:
    """x mod y in [0, y) (the MOD of the standard, for y > 0)."""
    return x - y * math.floor(x / y)


@nb.njit(cache=True, inline="always")
def _wrap_lon(lon: float) -> float:
    """Longitude into [-180, 180)."""
    return _fmod_pos(lon + 180.0, 360.0) - 180.0


@nb.njit(cache=True, inline="always")
def _lat_index(yz_even: int, yz_odd: int) -> int:
    """Latitude zone index j = floor(59·YZ0/2¹⁷ - 60·YZ1/2¹⁷ + 1/2), in exact integers."""
    return int((59 * np.int64(yz_even) - 60 * np.int64(yz_odd) + _HALF) >> CPR_BITS)


@nb.njit(cache=True, inline="always")
def _lon_index(xz_even: int, xz_odd: int, nl_lat: int) -> int:
    """Longitude zone index m = floor(XZ0·(NL-1)/2¹⁷ - XZ1·NL/2¹⁷ + 1/2), exact."""
    return int((np.int64(xz_even) * (nl_lat - 1) - np.int64(xz_odd) * nl_lat + _HALF) >> CPR_BITS)


@nb.njit(cache=True)
def airborne_global(
    cpr_lat_even: int,
    cpr_lon_even: int,
    cpr_lat_odd: int,
    cpr_lon_odd: int,
    odd_is_latest: bool,
) -> tuple[float, float, bool]:
    """Globally unambiguous airborne position from an even and an odd message.

    The position is the one of the latest message (``odd_is_latest``). ``ok`` is False when
    the two latitudes fall in different NL zones (the aircraft crossed a zone boundary
    between the messages, or they are not a pair) or the latitude is outside ±90°.
    """
    j = _lat_index(cpr_lat_even, cpr_lat_odd)
    lat_e = (360.0 / 60.0) * ((j % 60) + cpr_lat_even / CPR_SCALE)
    lat_o = (360.0 / 59.0) * ((j % 59) + cpr_lat_odd / CPR_SCALE)
    if lat_e >= 270.0:
        lat_e -= 360.0
    if lat_o >= 270.0:
        lat_o -= 360.0
    if lat_e > 90.0 or lat_o > 90.0:
        return math.nan, math.nan, False
    nl_e = nl(lat_e)
    if nl_e != nl(lat_o):
        return math.nan, math.nan, False
    m = _lon_index(cpr_lon_even, cpr_lon_odd, nl_e)
    if odd_is_latest:
        lat = lat_o
        ni = max(nl_e - 1, 1)
        frac = cpr_lon_odd / CPR_SCALE
    else:
        lat = lat_e
        ni = max(nl_e, 1)
        frac = cpr_lon_even / CPR_SCALE
    lon = (360.0 / ni) * ((m % ni) + frac)
    return lat, _wrap_lon(lon), True


@nb.njit(cache=True)
def surface_global(
    cpr_lat_even: int,
    cpr_lon_even: int,
    cpr_lat_odd: int,
    cpr_lon_odd: int,
    odd_is_latest: bool,
    ref_lat: float,
    ref_lon: float,
) -> tuple[float, float, bool]:
    """Global surface position from an even and an odd message and a reference point.

    Surface zones span 90°, so the pair gives a latitude in [0, 90) that may lie in either
    hemisphere (lat or lat - 90°) and a longitude known modulo 90°: the solution nearest to
    (``ref_lat``, ``ref_lon``) is chosen, which is right when the reference lies within 45°
    of the aircraft (a receiver or airport position is). ``ok`` is False when the pair
    straddles an NL boundary or the reference is not finite.
    """
    if not (math.isfinite(ref_lat) and math.isfinite(ref_lon)):
        return math.nan, math.nan, False
    j = _lat_index(cpr_lat_even, cpr_lat_odd)
    lat_e = (90.0 / 60.0) * ((j % 60) + cpr_lat_even / CPR_SCALE)
    lat_o = (90.0 / 59.0) * ((j % 59) + cpr_lat_odd / CPR_SCALE)
    # Northern solution in [0, 90) or southern one 90° below: take the nearest to ref.
    if abs(lat_e - 90.0 - ref_lat) < abs(lat_e - ref_lat):
        lat_e -= 90.0
    if abs(lat_o - 90.0 - ref_lat) < abs(lat_o - ref_lat):
        lat_o -= 90.0
    nl_e = nl(lat_e)
    if nl_e != nl(lat_o):
        return math.nan, math.nan, False
    m = _lon_index(cpr_lon_even, cpr_lon_odd, nl_e)
    if odd_is_latest:
        lat = lat_o
        ni = max(nl_e - 1, 1)
        frac = cpr_lon_odd / CPR_SCALE
    else:
        lat = lat_e
        ni = max(nl_e, 1)
        frac = cpr_lon_even / CPR_SCALE
    lon = (90.0 / ni) * ((m % ni) + frac)  # in [0, 90): add the quadrant nearest to ref
    lon += 90.0 * math.floor(_wrap_lon(ref_lon - lon) / 90.0 + 0.5)
    return lat, _wrap_lon(lon), True


@nb.njit(cache=True, inline="always")
def _local(
    cpr_lat: int, cpr_lon: int, odd: int, ref_lat: float, ref_lon: float, span: float
) -> tuple[float, float]:
    """Local decoding for zones spanning ``span`` degrees (360 airborne, 90 surface)."""
    i = 1 if odd else 0
    yz = cpr_lat / CPR_SCALE
    xz = cpr_lon / CPR_SCALE
    dlat = span / (60 - i)
    j = math.floor(ref_lat / dlat) + math.floor(_fmod_pos(ref_lat, dlat) / dlat - yz + 0.5)
    lat = dlat * (j + yz)
    dlon = span / max(nl(lat) - i, 1)
    m = math.floor(ref_lon / dlon) + math.floor(_fmod_pos(ref_lon, dlon) / dlon - xz + 0.5)
    lon = dlon * (m + xz)
    return lat, _wrap_lon(lon)


@nb.njit(cache=True)
def airborne_local(
    cpr_lat: int, cpr_lon: int, odd: int, ref_lat: float, ref_lon: float
) -> tuple[float, float]:
    """Airborne position from one message and a reference within 180 NM of the aircraft
    (half a latitude zone): the CPR cell nearest the reference. The caller checks range."""
    return _local(cpr_lat, cpr_lon, odd, ref_lat, ref_lon, 360.0)


@nb.njit(cache=True)
def surface_local(
    cpr_lat: int, cpr_lon: int, odd: int, ref_lat: float, ref_lon: float
) -> tuple[float, float]:
    """Surface position from one message and a reference within 45 NM of the aircraft."""
    return _local(cpr_lat, cpr_lon, odd, ref_lat, ref_lon, 90.0)


@nb.njit(cache=True, inline="always")
def _encode(lat: float, lon: float, odd: int, span: float) -> tuple[int, int]:
    """CPR encoding (DO-260B §A.1.7.1) for zones spanning ``span`` degrees.

    Surface encoding is specified with 360° zones and 19 bits of which the 17 low ones are
    sent; that is the same number as 90° zones with 17 bits, which is what is done here.
    """
    i = 1 if odd else 0
    dlat = span / (60 - i)
    yz = math.floor(CPR_SCALE * _fmod_pos(lat, dlat) / dlat + 0.5)
    rlat = dlat * (yz / CPR_SCALE + math.floor(lat / dlat))
    dlon = span / max(nl(rlat) - i, 1)
    xz = math.floor(CPR_SCALE * _fmod_pos(lon, dlon) / dlon + 0.5)
    return int(yz) & CPR_MASK, int(xz) & CPR_MASK


@nb.njit(cache=True)
def airborne_encode(lat_deg: float, lon_deg: float, odd: int) -> tuple[int, int]:
    """(cpr_lat, cpr_lon), the 17-bit airborne CPR encoding of a position."""
    return _encode(lat_deg, lon_deg, odd, 360.0)


@nb.njit(cache=True)
def surface_encode(lat_deg: float, lon_deg: float, odd: int) -> tuple[int, int]:
    """(cpr_lat, cpr_lon), the 17-bit surface CPR encoding of a position."""
    return _encode(lat_deg, lon_deg, odd, 90.0)


# ----------------------------------------------------------------------------------------
# Batch versions: compiled loops over equal-length arrays.


@nb.njit(cache=True)
def nl_batch(lat_deg: npt.NDArray[np.float64]) -> npt.NDArray[np.int8]:
    """NL of every latitude (0 where the latitude is NaN)."""
    n = lat_deg.shape[0]
    out = np.zeros(n, dtype=np.int8)
    for r in range(n):
        if not math.isnan(lat_deg[r]):
            out[r] = nl(lat_deg[r])
    return out


@nb.njit(cache=True)
def airborne_global_batch(
    cpr_lat_even: npt.NDArray[np.integer],
    cpr_lon_even: npt.NDArray[np.integer],
    cpr_lat_odd: npt.NDArray[np.integer],
    cpr_lon_odd: npt.NDArray[np.integer],
    odd_is_latest: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """:func:`airborne_global` of every row: (lat, lon), NaN where not ok."""
    n = cpr_lat_even.shape[0]
    lat = np.full(n, np.nan)
    lon = np.full(n, np.nan)
    for r in range(n):
        la, lo, ok = airborne_global(
            cpr_lat_even[r],
            cpr_lon_even[r],
            cpr_lat_odd[r],
            cpr_lon_odd[r],
            bool(odd_is_latest[r]),
        )
        if ok:
            lat[r] = la
            lon[r] = lo
    return lat, lon


@nb.njit(cache=True)
def surface_global_batch(
    cpr_lat_even: npt.NDArray[np.integer],
    cpr_lon_even: npt.NDArray[np.integer],
    cpr_lat_odd: npt.NDArray[np.integer],
    cpr_lon_odd: npt.NDArray[np.integer],
    odd_is_latest: npt.NDArray[np.bool_],
    ref_lat: npt.NDArray[np.float64],
    ref_lon: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """:func:`surface_global` of every row: (lat, lon), NaN where not ok."""
    n = cpr_lat_even.shape[0]
    lat = np.full(n, np.nan)
    lon = np.full(n, np.nan)
    for r in range(n):
        la, lo, ok = surface_global(
            cpr_lat_even[r],
            cpr_lon_even[r],
            cpr_lat_odd[r],
            cpr_lon_odd[r],
            bool(odd_is_latest[r]),
            ref_lat[r],
            ref_lon[r],
        )
        if ok:
            lat[r] = la
            lon[r] = lo
    return lat, lon


@nb.njit(cache=True)
def _local_batch(
    cpr_lat: npt.NDArray[np.integer],
    cpr_lon: npt.NDArray[np.integer],
    odd: npt.NDArray[np.integer],
    ref_lat: npt.NDArray[np.float64],
    ref_lon: npt.NDArray[np.float64],
    span: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """:func:`_local` of every row: (lat, lon), NaN where the reference is NaN."""
    n = cpr_lat.shape[0]
    lat = np.full(n, np.nan)
    lon = np.full(n, np.nan)
    for r in range(n):
        if math.isfinite(ref_lat[r]) and math.isfinite(ref_lon[r]):
            lat[r], lon[r] = _local(cpr_lat[r], cpr_lon[r], odd[r], ref_lat[r], ref_lon[r], span)
    return lat, lon


def airborne_local_batch(
    cpr_lat: npt.NDArray[np.integer],
    cpr_lon: npt.NDArray[np.integer],
    odd: npt.NDArray[np.integer],
    ref_lat: npt.NDArray[np.float64],
    ref_lon: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """:func:`airborne_local` of every row: (lat, lon), NaN where the reference is NaN."""
    return _local_batch(cpr_lat, cpr_lon, odd, ref_lat, ref_lon, 360.0)


def surface_local_batch(
    cpr_lat: npt.NDArray[np.integer],
    cpr_lon: npt.NDArray[np.integer],
    odd: npt.NDArray[np.integer],
    ref_lat: npt.NDArray[np.float64],
    ref_lon: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """:func:`surface_local` of every row: (lat, lon), NaN where the reference is NaN."""
    return _local_batch(cpr_lat, cpr_lon, odd, ref_lat, ref_lon, 90.0)


@nb.njit(cache=True)
def airborne_encode_batch(
    lat_deg: npt.NDArray[np.float64],
    lon_deg: npt.NDArray[np.float64],
    odd: npt.NDArray[np.integer],
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """:func:`airborne_encode` of every row: (cpr_lat, cpr_lon); -1 where lat/lon is NaN."""
    n = lat_deg.shape[0]
    yz = np.full(n, -1, dtype=np.int32)
    xz = np.full(n, -1, dtype=np.int32)
    for r in range(n):
        if math.isfinite(lat_deg[r]) and math.isfinite(lon_deg[r]):
            yz[r], xz[r] = airborne_encode(lat_deg[r], lon_deg[r], odd[r])
    return yz, xz


@nb.njit(cache=True)
def surface_encode_batch(
    lat_deg: npt.NDArray[np.float64],
    lon_deg: npt.NDArray[np.float64],
    odd: npt.NDArray[np.integer],
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """:func:`surface_encode` of every row: (cpr_lat, cpr_lon); -1 where lat/lon is NaN."""
    n = lat_deg.shape[0]
    yz = np.full(n, -1, dtype=np.int32)
    xz = np.full(n, -1, dtype=np.int32)
    for r in range(n):
        if math.isfinite(lat_deg[r]) and math.isfinite(lon_deg[r]):
            yz[r], xz[r] = surface_encode(lat_deg[r], lon_deg[r], odd[r])
    return yz, xz
