# numba kernels compute on np.int64 scalars so that numba keeps integer types exact (a Python
# int() of a uint8 becomes uint64 in numba, and uint64 mixed with int64 becomes float64);
# mypy sees np.int64 where int is annotated, hence:
# mypy: disable-error-code="arg-type,assignment,return-value"
"""The decoding kernels: one pass that classifies frames and checks parity, one that extracts
the surveillance and ADS-B fields. Pure functions of their input arrays (numba, no Python per
message).

Frame layout (bits numbered from 1, MSB first)::

    DF0/16  DF:5 VS:1 CC:1 -:1 SL:3 -:2 RI:4 -:2 AC:13 (DF16: MV:56) AP:24
    DF4/20  DF:5 FS:3 DR:5 UM:6 AC:13 (DF20: MB:56) AP:24
    DF5/21  DF:5 FS:3 DR:5 UM:6 ID:13 (DF21: MB:56) AP:24
    DF11    DF:5 CA:3 AA:24 PI:24
    DF17    DF:5 CA:3 AA:24 ME:56 PI:24
    DF18    DF:5 CF:3 AA:24 ME:56 PI:24
    DF24    11 -:1 KE:1 ND:4 MD:80 AP:24

ADS-B ME layouts are documented beside each type code below (DO-260B, ICAO Doc 9871).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.decode.crc import remainder_row, syndrome_bit
from tailwatch.decode.fields import (
    ac12_to_ft,
    ac13_to_ft,
    bits,
    id13_to_squawk,
    me_of,
    write_callsign,
)

# Row status of the classification pass (index into REJECT_REASONS; 0 = accepted).
OK = 0
BAD_LENGTH = 1
UNKNOWN_DF = 2
BAD_CRC = 3
MODE_AC = 4
REJECT_REASONS = ("", "bad_length", "unknown_df", "bad_crc", "mode_ac")

# Expected frame length (bytes) by DF 0..24; 0 = not a Mode S downlink format we accept.
_DF_LENGTH = np.array(
    [7, 0, 0, 0, 7, 7, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 14, 14, 14, 0, 14, 14, 0, 0, 14],
    dtype=np.uint8,
)

# Rows of the float32 matrix filled by the field kernel.
F_ALT, F_GS, F_TRACK, F_HEADING, F_IAS, F_TAS, F_VRATE, F_GNSS_DIFF = range(8)
F_SEL_ALT, F_SEL_HDG, F_BARO, F_MACH, F_ROLL, F_TRACK_RATE = 8, 9, 10, 11, 12, 13
N_FLOAT = 14
FLOAT_ROWS = (
    "altitude_ft", "gs_kt", "track_deg", "heading_deg", "ias_kt", "tas_kt", "vrate_fpm",
    "gnss_baro_diff_ft", "selected_altitude_ft", "selected_heading_deg", "baro_setting_hpa",
    "mach", "roll_deg", "track_rate_deg_s",
)

# Rows of the int32 matrix filled by the field kernel (-1 = absent).
(I_ADDR, I_TC, I_GROUND, I_ALERT, I_SPI, I_ALT_SRC, I_SQUAWK, I_CPR_ODD, I_CPR_LAT, I_CPR_LON,
 I_SURFACE, I_NICB, I_NUCP, I_VR_SRC, I_NACP, I_NACV, I_SIL, I_SIL_SUP, I_NIC_BARO, I_NIC_A,
 I_NIC_C, I_GVA, I_SDA, I_VERSION, I_HRD, I_EMERG, I_SEL_SRC, I_NAV, I_RA, I_ARA, I_RAC,
 I_RAT, I_MTE) = range(33)
N_INT = 33
INT_ROWS = (
    "addr_type", "typecode", "on_ground", "alert", "spi", "altitude_source", "squawk",
    "cpr_odd", "cpr_lat", "cpr_lon", "surface", "nic_supplement", "nuc_p", "vrate_source",
    "nacp", "nacv", "sil", "sil_supplement", "nic_baro", "nic_sup_a", "nic_sup_c", "gva", "sda",
    "version", "hrd", "emergency", "selected_altitude_source", "nav_modes", "acas_ra",
    "acas_ara", "acas_rac", "acas_rat", "acas_mte",
)

# NUCp implied by the position type code (surface 5-8, airborne baro 9-18, GNSS 20-22).
_NUCP = np.array(
    [-1, -1, -1, -1, -1, 9, 8, 7, 6, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, -1, 9, 8, 0, -1],
    dtype=np.int8,
)
# BDS equivalent of each ADS-B type code (0 = none).
_TC_BDS = np.array(
    [0, 0x08, 0x08, 0x08, 0x08, 0x06, 0x06, 0x06, 0x06, 0x05, 0x05, 0x05, 0x05, 0x05, 0x05,
     0x05, 0x05, 0x05, 0x05, 0x09, 0x05, 0x05, 0x05, 0, 0, 0, 0, 0, 0x61, 0x62, 0, 0x65],
    dtype=np.uint8,
)
# Surface movement: first code of each quantisation bin, its speed (kt) and step (kt).
_MOV_CODE = np.array([2, 9, 13, 39, 94, 109], dtype=np.int32)
_MOV_KT = np.array([0.125, 1.0, 2.0, 15.0, 70.0, 100.0])
_MOV_STEP = np.array([0.125, 0.25, 0.5, 1.0, 2.0, 5.0])


@nb.njit(cache=True)
def classify(
    raw: npt.NDArray[np.uint8],
    nbytes: npt.NDArray[np.uint8],
    fix_errors: bool,
    status: npt.NDArray[np.int8],
    df_out: npt.NDArray[np.uint8],
    icao_out: npt.NDArray[np.uint32],
    crc_ok: npt.NDArray[np.bool_],
    fixbit: npt.NDArray[np.int16],
) -> None:
    """Pass 1: downlink format, length, parity and address of every frame.

    ``status`` gets OK or the reject reason; ``fixbit`` the bit flipped by single-bit
    correction (-1 when none). The input frames are not modified.
    """
    for r in range(raw.shape[0]):
        fixbit[r] = -1
        crc_ok[r] = False
        k = np.int64(nbytes[r])
        if k == 2:
            status[r] = MODE_AC
            continue
        if k != 7 and k != 14:
            status[r] = BAD_LENGTH
            continue
        df = np.int64(raw[r, 0]) >> 3
        if df > 24:
            df = 24
        df_out[r] = df
        need = int(_DF_LENGTH[df])
        if need == 0:
            status[r] = UNKNOWN_DF
            continue
        if k < need:
            status[r] = BAD_LENGTH
            continue
        msg = raw[r]
        rem = remainder_row(msg, need)
        if df == 17 or df == 18:
            addr = (np.int64(msg[1]) << 16) | (np.int64(msg[2]) << 8) | np.int64(msg[3])
            if rem != 0:
                b = syndrome_bit(rem) if fix_errors else -1
                if b < 0:
                    status[r] = BAD_CRC
                    continue
                fixbit[r] = b
                if 8 <= b < 32:
                    addr ^= 1 << (31 - b)
            crc_ok[r] = True
            icao_out[r] = addr
        elif df == 11:
            if rem & 0xFFFF80:
                status[r] = BAD_CRC
                continue
            crc_ok[r] = True
            icao_out[r] = (np.int64(msg[1]) << 16) | (np.int64(msg[2]) << 8) | np.int64(msg[3])
        else:
            icao_out[r] = rem
        status[r] = OK


@nb.njit(cache=True)
def apply_fixes(raw: npt.NDArray[np.uint8], fixbit: npt.NDArray[np.int16]) -> None:
    """Flip the corrected bits in place (rows aligned with ``fixbit``)."""
    for r in range(raw.shape[0]):
        b = np.int64(fixbit[r])
        if b >= 0:
            raw[r, b >> 3] ^= np.uint8(0x80 >> (b & 7))


@nb.njit(cache=True)
def fill_fields(
    raw: npt.NDArray[np.uint8],
    df: npt.NDArray[np.uint8],
    fm: npt.NDArray[np.float32],
    im: npt.NDArray[np.int32],
    bds: npt.NDArray[np.uint8],
    category: npt.NDArray[np.uint8],
    callsign: npt.NDArray[np.uint8],
) -> None:
    """Pass 2: surveillance replies and ADS-B fields of accepted frames."""
    for r in range(raw.shape[0]):
        msg = raw[r]
        d = np.int64(df[r])
        if d == 17 or d == 18:
            _extended_squitter(r, msg, d, fm, im, bds, category, callsign)
            continue
        im[I_ADDR, r] = 8  # mode_s
        if d == 0 or d == 16:
            im[I_GROUND, r] = (msg[0] >> 2) & 1
            ac = ((np.int64(msg[2]) & 0x1F) << 8) | np.int64(msg[3])
            _set_alt(r, fm, im, ac13_to_ft(ac))
        elif d == 4 or d == 20 or d == 5 or d == 21:
            _flight_status(r, np.int64(msg[0]) & 7, im)
            f13 = ((np.int64(msg[2]) & 0x1F) << 8) | np.int64(msg[3])
            if d == 4 or d == 20:
                _set_alt(r, fm, im, ac13_to_ft(f13))
            else:
                im[I_SQUAWK, r] = id13_to_squawk(f13)
        elif d == 11:
            _capability(r, np.int64(msg[0]) & 7, im)


@nb.njit(cache=True, inline="always")
def _set_alt(r: int, fm: npt.NDArray[np.float32], im: npt.NDArray[np.int32], alt: float) -> None:
    if not math.isnan(alt):
        fm[F_ALT, r] = alt
        im[I_ALT_SRC, r] = 0


@nb.njit(cache=True, inline="always")
def _flight_status(r: int, fs: int, im: npt.NDArray[np.int32]) -> None:
    """FS: 0 air, 1 ground, 2 alert+air, 3 alert+ground, 4 alert+SPI, 5 SPI; 6-7 reserved."""
    if fs == 0 or fs == 2:
        im[I_GROUND, r] = 0
    elif fs == 1 or fs == 3:
        im[I_GROUND, r] = 1
    if fs <= 5:
        im[I_ALERT, r] = 1 if 2 <= fs <= 4 else 0
        im[I_SPI, r] = 1 if fs == 4 or fs == 5 else 0


@nb.njit(cache=True, inline="always")
def _capability(r: int, ca: int, im: npt.NDArray[np.int32]) -> None:
    """CA 4: on the ground, 5: airborne; other values say nothing about it."""
    if ca == 4:
        im[I_GROUND, r] = 1
    elif ca == 5:
        im[I_GROUND, r] = 0


@nb.njit(cache=True)
def _extended_squitter(
    r: int,
    msg: npt.NDArray[np.uint8],
    d: int,
    fm: npt.NDArray[np.float32],
    im: npt.NDArray[np.int32],
    bds: npt.NDArray[np.uint8],
    category: npt.NDArray[np.uint8],
    callsign: npt.NDArray[np.uint8],
) -> None:
    me = me_of(msg)
    tc = bits(me, 1, 5)
    if d == 17:
        im[I_ADDR, r] = 0
        _capability(r, np.int64(msg[0]) & 7, im)
    else:
        cf = np.int64(msg[0]) & 7
        if cf == 0:
            im[I_ADDR, r] = 1
        elif cf == 1:
            im[I_ADDR, r] = 2
        elif cf == 2:
            im[I_ADDR, r] = 3
        elif cf == 3 or cf == 5:
            im[I_ADDR, r] = 4
        elif cf == 4:
            im[I_ADDR, r] = 7
        elif cf == 6:
            im[I_ADDR, r] = 5
        else:
            im[I_ADDR, r] = 9
        if cf == 3 or cf == 4 or cf == 7:
            return  # coarse TIS-B, management and reserved formats: not ADS-B ME layouts
    im[I_TC, r] = tc
    bds[r] = _TC_BDS[tc]
    if 1 <= tc <= 4:
        # TC:5 CA:3 C1..C8:6 each
        category[r] = (5 - tc) * 8 + bits(me, 6, 3)
        write_callsign(me, 9, callsign[r])
    elif 5 <= tc <= 8:
        _surface_position(r, me, tc, fm, im)
    elif 9 <= tc <= 18 or 20 <= tc <= 22:
        _airborne_position(r, me, tc, d, msg, fm, im)
    elif tc == 0:
        # "No position information" (DO-260B 2.2.3.2.3.1): the airborne layout still carries
        # the barometric altitude, which aircraft that lost GNSS keep sending (as readsb reads it).
        alt = ac12_to_ft(bits(me, 9, 12))
        if not math.isnan(alt):
            fm[F_ALT, r] = alt
            im[I_ALT_SRC, r] = 0
    elif tc == 19:
        _velocity(r, me, fm, im)
    elif tc == 28:
        _aircraft_status(r, me, fm, im)
    elif tc == 29:
        _target_state(r, me, fm, im)
    elif tc == 31:
        _operational_status(r, me, im)


@nb.njit(cache=True, inline="always")
def _cpr(r: int, me: int, im: npt.NDArray[np.int32]) -> None:
    im[I_CPR_ODD, r] = bits(me, 22, 1)
    im[I_CPR_LAT, r] = bits(me, 23, 17)
    im[I_CPR_LON, r] = bits(me, 40, 17)


@nb.njit(cache=True)
def _surface_position(
    r: int, me: int, tc: int, fm: npt.NDArray[np.float32], im: npt.NDArray[np.int32]
) -> None:
    """TC:5 MOV:7 S:1 TRK:7 T:1 F:1 LAT:17 LON:17"""
    im[I_SURFACE, r] = 1
    im[I_GROUND, r] = 1
    im[I_NUCP, r] = _NUCP[tc]
    mov = bits(me, 6, 7)
    if mov == 1:
        fm[F_GS, r] = 0.0
    elif 2 <= mov <= 123:
        b = 5
        while _MOV_CODE[b] > mov:
            b -= 1
        fm[F_GS, r] = _MOV_KT[b] + (mov - _MOV_CODE[b]) * _MOV_STEP[b]
    elif mov == 124:
        fm[F_GS, r] = 175.0
    if bits(me, 13, 1):
        fm[F_TRACK, r] = bits(me, 14, 7) * 360.0 / 128.0
    _cpr(r, me, im)


@nb.njit(cache=True)
def _airborne_position(
    r: int,
    me: int,
    tc: int,
    d: int,
    msg: npt.NDArray[np.uint8],
    fm: npt.NDArray[np.float32],
    im: npt.NDArray[np.int32],
) -> None:
    """TC:5 SS:2 NICB:1 ALT:12 T:1 F:1 LAT:17 LON:17 (TIS-B/ADS-R: bit 8 is IMF)"""
    im[I_SURFACE, r] = 0
    im[I_GROUND, r] = 0
    im[I_NUCP, r] = _NUCP[tc]
    ss = bits(me, 6, 2)
    im[I_SPI, r] = 1 if ss == 3 else 0
    im[I_ALERT, r] = 1 if ss == 1 or ss == 2 else 0
    b8 = bits(me, 8, 1)
    cf = np.int64(msg[0]) & 7
    if d == 18 and (cf == 2 or cf == 6):
        if b8:  # IMF: the address is not an ICAO address
            im[I_ADDR, r] = 4 if cf == 2 else 6
    else:
        im[I_NICB, r] = b8
    # TC 9-18: barometric altitude; TC 20-22: GNSS height (HAE), coded the same way in feet
    # (DO-260B; as readsb, dump1090-fa and rs1090 read it).
    alt = ac12_to_ft(bits(me, 9, 12))
    if not math.isnan(alt):
        fm[F_ALT, r] = alt
        im[I_ALT_SRC, r] = 0 if tc <= 18 else 1
    _cpr(r, me, im)


@nb.njit(cache=True)
def _velocity(r: int, me: int, fm: npt.NDArray[np.float32], im: npt.NDArray[np.int32]) -> None:
    """TC:5 ST:3 IC:1 IFR:1 NACv:3 then
    ST1/2: DEW:1 VEW:10 DNS:1 VNS:10 | ST3/4: SH:1 HDG:10 AST:1 AS:10
    then VrSrc:1 Svr:1 VR:9 -:2 SDif:1 dAlt:7"""
    st = bits(me, 6, 3)
    if st < 1 or st > 4:
        return
    im[I_NACV, r] = bits(me, 11, 3)
    scale = 4.0 if st == 2 or st == 4 else 1.0
    if st <= 2:
        vew = bits(me, 15, 10)
        vns = bits(me, 26, 10)
        if vew != 0 and vns != 0:
            vx = (vew - 1) * scale * (-1.0 if bits(me, 14, 1) else 1.0)
            vy = (vns - 1) * scale * (-1.0 if bits(me, 25, 1) else 1.0)
            fm[F_GS, r] = math.sqrt(vx * vx + vy * vy)
            trk = math.degrees(math.atan2(vx, vy))
            fm[F_TRACK, r] = trk + 360.0 if trk < 0 else trk
    else:
        if bits(me, 14, 1):
            fm[F_HEADING, r] = bits(me, 15, 10) * 360.0 / 1024.0
        asp = bits(me, 26, 10)
        if asp != 0:
            if bits(me, 25, 1):
                fm[F_TAS, r] = (asp - 1) * scale
            else:
                fm[F_IAS, r] = (asp - 1) * scale
    vr = bits(me, 38, 9)
    if vr != 0:
        fm[F_VRATE, r] = (vr - 1) * 64.0 * (-1.0 if bits(me, 37, 1) else 1.0)
        im[I_VR_SRC, r] = 0 if bits(me, 36, 1) else 1
    dalt = bits(me, 50, 7)
    if dalt != 0:
        fm[F_GNSS_DIFF, r] = (dalt - 1) * 25.0 * (-1.0 if bits(me, 49, 1) else 1.0)


@nb.njit(cache=True)
def _aircraft_status(
    r: int, me: int, fm: npt.NDArray[np.float32], im: npt.NDArray[np.int32]
) -> None:
    """TC:5 ST:3 then ST1: ES:3 ID:13 | ST2 (ACAS RA): ARA:14 RAC:4 RAT:1 MTE:1 TTI:2 TID:26"""
    st = bits(me, 6, 3)
    if st == 1:
        im[I_EMERG, r] = bits(me, 9, 3)
        im[I_SQUAWK, r] = id13_to_squawk(bits(me, 12, 13))
    elif st == 2:
        ara = bits(me, 9, 14)
        mte = bits(me, 28, 1)
        rat = bits(me, 27, 1)
        # RA active: the ARA's first bit says an RA was generated (or several threats), and
        # it is not terminated (the rule of commb.py for BDS 3,0).
        im[I_RA, r] = 1 if ((ara >> 13) & 1 or mte) and not rat else 0
        im[I_ARA, r] = ara
        im[I_RAC, r] = bits(me, 23, 4)
        im[I_RAT, r] = bits(me, 27, 1)
        im[I_MTE, r] = bits(me, 28, 1)


@nb.njit(cache=True)
def _target_state(
    r: int, me: int, fm: npt.NDArray[np.float32], im: npt.NDArray[np.int32]
) -> None:
    """Target state and status, subtype 1 (DO-260B 2.2.3.2.7.1):
    TC:5 ST:2 SILs:1 SAT:1 ALT:11 QNH:9 HS:1 HDG:9 NACp:4 NICb:1 SIL:2 MS:1 AP:1 VNAV:1 AH:1
    IMF:1 APP:1 TCAS:1 LNAV:1 -:2"""
    if bits(me, 6, 2) != 1:
        return
    im[I_SIL_SUP, r] = bits(me, 8, 1)
    alt = bits(me, 10, 11)
    if alt != 0:
        fm[F_SEL_ALT, r] = (alt - 1) * 32.0
        im[I_SEL_SRC, r] = bits(me, 9, 1)
    qnh = bits(me, 21, 9)
    if qnh != 0:
        fm[F_BARO, r] = 800.0 + (qnh - 1) * 0.8
    if bits(me, 30, 1):
        fm[F_SEL_HDG, r] = bits(me, 31, 9) * 180.0 / 256.0
    im[I_NACP, r] = bits(me, 40, 4)
    im[I_NIC_BARO, r] = bits(me, 44, 1)
    im[I_SIL, r] = bits(me, 45, 2)
    if bits(me, 47, 1):
        modes = 0
        if bits(me, 48, 1):
            modes |= 1
        if bits(me, 49, 1):
            modes |= 2
        if bits(me, 50, 1):
            modes |= 4
        if bits(me, 52, 1):
            modes |= 8
        if bits(me, 54, 1):
            modes |= 16
        if bits(me, 53, 1):
            modes |= 32
        im[I_NAV, r] = modes


@nb.njit(cache=True)
def _operational_status(r: int, me: int, im: npt.NDArray[np.int32]) -> None:
    """TC:5 ST:3 CC:16 (surface CC:12 L/W:4) OM:16 VER:3 NICa:1 NACp:4 GVA:2 (surface: -)
    SIL:2 NICb (surface TRK/HDG):1 HRD:1 SILs:1 -:1"""
    st = bits(me, 6, 3)
    if st > 1:
        return
    ver = bits(me, 41, 3)
    im[I_VERSION, r] = ver
    if ver == 0:
        return  # version 0: the rest of the message is not defined the same way
    im[I_NIC_A, r] = bits(me, 44, 1)
    im[I_NACP, r] = bits(me, 45, 4)
    im[I_SIL, r] = bits(me, 51, 2)
    im[I_HRD, r] = bits(me, 54, 1)
    im[I_SIL_SUP, r] = bits(me, 55, 1)
    if st == 0:
        im[I_GVA, r] = bits(me, 49, 2)
        im[I_NIC_BARO, r] = bits(me, 53, 1)
    else:
        im[I_NIC_C, r] = bits(me, 20, 1)
    if ver == 2:
        im[I_SDA, r] = bits(me, 31, 2)
