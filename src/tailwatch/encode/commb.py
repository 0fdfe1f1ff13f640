"""Comm-B MB fields (56 bits, uint64) for DF20/21 replies: BDS 2,0, 4,0, 5,0 and 6,0.

Layouts from ICAO Doc 9871 (tables A-2-32, A-2-64, A-2-80, A-2-96); bit 1 is the MSB of the
MB. Every value has a status bit, set when the value is given (not NaN / not -1).

Quantisation (rounded to nearest, clipped to the field's range):

* BDS 4,0: selected altitudes 16 ft (0-65520 ft); baro setting 0.1 hPa above 800 hPa
  (800-1209.5 hPa).
* BDS 5,0: roll 45/256° (±90°), true track 90/512° (sent as ±180°), ground speed and TAS
  2 kt (0-2046 kt), track angle rate 8/256 °/s (±16 °/s).
* BDS 6,0: magnetic heading 90/512°, IAS 1 kt (0-1023), Mach 2.048/512 = 0.004 (0-4.092),
  barometric and inertial vertical rates 32 ft/min (±16384 ft/min).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tailwatch.core.schema import NAV_MODE_BITS
from tailwatch.encode.bits import (
    U64,
    angle_code,
    as_u64,
    broadcast,
    callsign_code48,
    floats,
    twos_complement,
    unsigned_code,
)

_S = np.uint64


def _place(fields: list[tuple[U64, int, int]]) -> U64:
    """OR together (value, first MB bit (1-based), width) fields of a 56-bit word."""
    out = np.zeros(fields[0][0].shape, dtype=np.uint64)
    for value, first, width in fields:
        out |= value << _S(56 - (first + width - 1))
    return out


def mb_bds20(callsign: npt.ArrayLike) -> U64:
    """BDS 2,0 aircraft identification: 0x20 then the 8-character callsign."""
    (cs,) = broadcast(callsign)
    return (_S(0x20) << _S(48)) | callsign_code48(cs)


def mb_bds40(
    selected_altitude_mcp_ft: npt.ArrayLike = np.nan,
    selected_altitude_fms_ft: npt.ArrayLike = np.nan,
    baro_setting_hpa: npt.ArrayLike = np.nan,
    *,
    nav_modes: npt.ArrayLike = -1,
    target_altitude_source: npt.ArrayLike = -1,
) -> U64:
    """BDS 4,0 selected vertical intention. ``nav_modes`` uses the schema bits (vnav 2,
    althold 4, approach 8; -1 = mode bits not sent); ``target_altitude_source`` 0 unknown,
    1 aircraft altitude, 2 MCP/FCU, 3 FMS (-1 = not sent)."""
    mcp, fms, baro, modes, src = broadcast(
        selected_altitude_mcp_ft, selected_altitude_fms_ft, baro_setting_hpa, nav_modes,
        target_altitude_source,
    )  # fmt: skip
    mcp_ok, mcp_c = unsigned_code(floats(mcp), 16.0, 12)
    fms_ok, fms_c = unsigned_code(floats(fms), 16.0, 12)
    baro_ok, baro_c = unsigned_code(floats(baro), 0.1, 12, offset=800.0)
    m = np.asarray(modes, dtype=np.int64)
    src_i = np.asarray(src, dtype=np.int64)
    if m.size and (int(m.min()) < -1 or int(src_i.min()) < -1 or int(src_i.max()) > 3):
        raise ValueError("nav_modes must be -1 or bits; target_altitude_source -1..3")
    modes_ok = (m >= 0).astype(np.uint64)
    mu = np.maximum(m, 0)

    def flag(name: str) -> U64:
        return as_u64((mu & NAV_MODE_BITS[name]) != 0)

    return _place([
        (mcp_ok, 1, 1), (mcp_c, 2, 12),
        (fms_ok, 14, 1), (fms_c, 15, 12),
        (baro_ok, 27, 1), (baro_c, 28, 12),
        (modes_ok, 48, 1), (flag("vnav"), 49, 1), (flag("althold"), 50, 1),
        (flag("approach"), 51, 1),
        ((src_i >= 0).astype(np.uint64), 54, 1), (np.maximum(src_i, 0).astype(np.uint64), 55, 2),
    ])  # fmt: skip


def mb_bds50(
    roll_deg: npt.ArrayLike = np.nan,
    track_deg: npt.ArrayLike = np.nan,
    gs_kt: npt.ArrayLike = np.nan,
    track_rate_deg_s: npt.ArrayLike = np.nan,
    tas_kt: npt.ArrayLike = np.nan,
) -> U64:
    """BDS 5,0 track and turn report."""
    roll, trk, gs, rate, tas = broadcast(roll_deg, track_deg, gs_kt, track_rate_deg_s, tas_kt)
    roll_ok, roll_c = twos_complement(floats(roll), 45.0 / 256.0, 10)
    trk_ok, trk_c = angle_code(floats(trk), 11)
    gs_ok, gs_c = unsigned_code(floats(gs), 2.0, 10)
    rate_ok, rate_c = twos_complement(floats(rate), 8.0 / 256.0, 10)
    tas_ok, tas_c = unsigned_code(floats(tas), 2.0, 10)
    return _place([
        (roll_ok, 1, 1), (roll_c, 2, 10),
        (trk_ok, 12, 1), (trk_c, 13, 11),
        (gs_ok, 24, 1), (gs_c, 25, 10),
        (rate_ok, 35, 1), (rate_c, 36, 10),
        (tas_ok, 46, 1), (tas_c, 47, 10),
    ])  # fmt: skip


def mb_bds60(
    heading_deg: npt.ArrayLike = np.nan,
    ias_kt: npt.ArrayLike = np.nan,
    mach: npt.ArrayLike = np.nan,
    baro_vrate_fpm: npt.ArrayLike = np.nan,
    inertial_vrate_fpm: npt.ArrayLike = np.nan,
) -> U64:
    """BDS 6,0 heading and speed report."""
    hdg, ias, m, bvr, ivr = broadcast(heading_deg, ias_kt, mach, baro_vrate_fpm,
                                      inertial_vrate_fpm)  # fmt: skip
    hdg_ok, hdg_c = angle_code(floats(hdg), 11)
    ias_ok, ias_c = unsigned_code(floats(ias), 1.0, 10)
    m_ok, m_c = unsigned_code(floats(m), 2.048 / 512.0, 10)
    bvr_ok, bvr_c = twos_complement(floats(bvr), 32.0, 10)
    ivr_ok, ivr_c = twos_complement(floats(ivr), 32.0, 10)
    return _place([
        (hdg_ok, 1, 1), (hdg_c, 2, 11),
        (ias_ok, 13, 1), (ias_c, 14, 10),
        (m_ok, 24, 1), (m_c, 25, 10),
        (bvr_ok, 35, 1), (bvr_c, 36, 10),
        (ivr_ok, 46, 1), (ivr_c, 47, 10),
    ])  # fmt: skip
