"""Comm-B (DF20/21 MB field) and ACAS (DF16 MV field) registers, decoded into columns.

The downlink never says which register (BDS) a Comm-B reply carries: the interrogator asked
for it and knows. A third party infers it from the 56 bits alone. Bit numbers below are MB
bits, 1 to 56, MSB first (message bits 33-88, frame bytes 4..10), as in ICAO Doc 9871 and
"The 1090 Megahertz Riddle" (J. Sun, 2021), chapters 6, 7 and 9.

Inference rule (first match wins)
---------------------------------
0. An all-zero MB is no register (``bds`` 0).
1. Registers that carry their own number in MB bits 1-8:

   * 1,0 data link capability: bits 1-8 = 0x10 and reserved bits 10-14 zero.
   * 1,7 common-usage GICB capability: bit 7 (register 2,0 available, which any aircraft
     able to report 1,7 has) set and bits 25-56 zero.
   * 2,0 aircraft identification: bits 1-8 = 0x20 and all eight characters in the ICAO
     6-bit set (A-Z, 0-9, space).
   * 3,0 ACAS active resolution advisory: bits 1-8 = 0x30, ACAS III bits 16-22 < 48 and
     threat type indicator (bits 29-30) not 3.

2. Registers recognised by their structure. A register is *valid* when every status bit
   that is 0 has an all-zero field behind it (sign bits included), every reserved bit is 0
   and every field lies in its physical range:

   * 4,0 selected vertical intention: reserved bits 40-47 and 52-53 zero.
   * 5,0 track and turn: |roll| <= 35 deg, ground speed <= 600 kt, true airspeed
     <= 600 kt, |TAS - GS| <= 200 kt.
   * 6,0 heading and speed: IAS <= 500 kt, Mach <= 1, both vertical rates within
     +/- 6000 ft/min.

   4,0 is taken whenever valid (ten reserved bits at zero are a strong signature). Otherwise
   a register valid alone is taken.

3. When both 5,0 and 6,0 are valid (their status bits sit at the same places), each reading
   is checked against physics, and the register whose fields corroborate each other wins:

   * 6,0 reading: barometric and inertial vertical rates agree within 2000 ft/min; the Mach
     number agrees within 0.02 with the one the IAS gives (as calibrated airspeed, ISA) at the
     altitude of the DF20 reply, or, without an altitude (DF21, or no AC code), falls within
     0.02 of the range the IAS gives between -1000 ft and 60 000 ft.
   * 5,0 reading: the track angle rate agrees within 0.5 deg/s with the rate of a
     coordinated turn at the reported roll and TAS (g tan(roll) / TAS).

   A reading fails if any of its applicable checks fails; otherwise it scores the number of
   checks that applied. If one reading fails, the other is taken; if both pass, the higher
   score wins; a tie (or both failing) leaves the row unresolved: ``bds`` 0, no fields.

This follows pyModeS 3.6.1 (``pyModeS/decoder/bds/_infer.py`` and the ``is_bds*``
validators) with three deliberate differences, each measured in tests/unit/test_commb.py:

* pyModeS resolves a 5,0/6,0 ambiguity by list order (5,0 first) unless it is given the
  aircraft's known state; tailwatch uses the physics checks above, which are the book's
  chapter 9 checks (GS/TAS, Mach/IAS at altitude) completed by two within-message
  consistency checks. On the test data every pyModeS-ambiguous row is resolved; 269 of the
  271 that have unambiguous 5,0 and 6,0 replies of the same aircraft within 60 s agree with
  pyModeS given their state, and the ADS-B of the same flight confirms the other two (see
  docs/commb.md).
* pyModeS also rejects a 1,0 whose overlay capability bit and subnetwork version disagree
  (OVC=1 with version < 5, or OVC=0 with version > 4), a heuristic outside the standard that
  rejects legal reports (a version 5 transponder without overlay support); tailwatch does not.
* Callsigns keep leading spaces (pyModeS strips both ends); trailing spaces are NUL padding.

Fields filled (units in the names): 2,0 ``callsign``; 3,0 ``acas_*``; 4,0
``selected_altitude_ft`` (MCP/FCU when its status bit is set, else FMS;
``selected_altitude_source`` 0 / 1), ``baro_setting_hpa``, ``nav_modes`` (vnav 2, althold 4,
approach 8 when the mode status bit is set; register 4,0 has no autopilot bit); 5,0
``roll_deg``, ``track_deg``, ``gs_kt``, ``track_rate_deg_s``, ``tas_kt``; 6,0 ``heading_deg``
(magnetic), ``ias_kt``, ``mach``, ``vrate_fpm`` (barometric rate, ``vrate_source`` 0, or the
inertial vertical velocity when only it is valid, source 2 "inertial"). ``acas_ra`` is 1
when the ARA reports an RA (bit 9, or multiple threats) that is not terminated (RAT 0).
"""

from __future__ import annotations

import math
from typing import Any

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.decode.fields import ac13_to_ft, bits, me_of, write_callsign

# ---------------------------------------------------------------------------------------------
# Thresholds of the inference rule (see the module docstring and docs/commb.md).
ROLL_MAX_DEG = 35.0
SPEED_MAX_KT = 600
GS_TAS_MAX_DIFF_KT = 200
IAS_MAX_KT = 500
MACH_MAX_RAW = 250  # 250 x 2.048/512 = 1.0
VRATE_MAX_FPM = 6000
VRATE_AGREE_FPM = 2000
MACH_TOL = 0.02
TURN_RATE_TOL_DEG_S = 0.5
ALT_MIN_FT = -1000.0
ALT_MAX_FT = 60000.0

# ISA (ICAO Doc 7488) constants for the Mach / calibrated airspeed relation.
_P0_PA = 101325.0
_A0_MS = 340.294
_KT_MS = 0.514444
_FT_M = 0.3048
_G0 = 9.80665
_P11_PA = 22632.06  # pressure at the tropopause, 11 000 m
_H_SCALE_STRATO_M = 6341.62  # R T11 / g0
_TROPO_K = 2.25577e-5  # lapse rate / T0, per metre
_TROPO_EXP = 5.25588  # g0 / (R lapse rate)


# ---------------------------------------------------------------------------------------------
# Small helpers (1-based MB bit numbers).


@nb.njit(cache=True, inline="always")
def _bit(mb: int, pos: int) -> int:
    return (mb >> (56 - pos)) & 1


@nb.njit(cache=True, inline="always")
def _signed(mb: int, sign_pos: int, width: int) -> int:
    """Sign bit at ``sign_pos`` followed by a ``width``-bit field: two's complement of the
    ``width + 1`` bits (sign 1 with field 0 is -2**width)."""
    v = bits(mb, sign_pos + 1, width)
    if _bit(mb, sign_pos):
        v -= 1 << width
    return v


@nb.njit(cache=True, inline="always")
def _wrong_status(mb: int, status_pos: int, width: int) -> bool:
    """Status bit 0 but a non-zero field of ``width`` bits right after it."""
    return _bit(mb, status_pos) == 0 and bits(mb, status_pos + 1, width) != 0


@nb.njit(cache=True)
def _pressure_pa(alt_ft: float) -> float:
    h = alt_ft * _FT_M
    if h <= 11000.0:
        base: float = (1.0 - _TROPO_K * h) ** _TROPO_EXP
        return _P0_PA * base
    return _P11_PA * math.exp(-(h - 11000.0) / _H_SCALE_STRATO_M)


@nb.njit(cache=True)
def mach_from_cas(cas_kt: float, alt_ft: float) -> float:
    """Mach number of a calibrated airspeed at a pressure altitude (ISA, subsonic)."""
    v = cas_kt * _KT_MS / _A0_MS
    qc = _P0_PA * ((1.0 + 0.2 * v * v) ** 3.5 - 1.0)
    ratio: float = (qc / _pressure_pa(alt_ft) + 1.0) ** (2.0 / 7.0)
    return math.sqrt(5.0 * (ratio - 1.0))


# ---------------------------------------------------------------------------------------------
# Validators (the MB as a 56-bit integer).


@nb.njit(cache=True)
def is_bds10(mb: int) -> bool:
    return bits(mb, 1, 8) == 0x10 and bits(mb, 10, 5) == 0


@nb.njit(cache=True)
def is_bds17(mb: int) -> bool:
    return _bit(mb, 7) == 1 and bits(mb, 25, 32) == 0


@nb.njit(cache=True)
def _valid_char(c: int) -> bool:
    return (1 <= c <= 26) or c == 32 or (48 <= c <= 57)


@nb.njit(cache=True)
def is_bds20(mb: int) -> bool:
    if bits(mb, 1, 8) != 0x20:
        return False
    n_valid = 0
    for k in range(8):
        n_valid += _valid_char(bits(mb, 9 + 6 * k, 6))
    return n_valid == 8


@nb.njit(cache=True)
def is_bds30(mb: int) -> bool:
    return bits(mb, 1, 8) == 0x30 and bits(mb, 16, 7) < 48 and bits(mb, 29, 2) != 3


@nb.njit(cache=True)
def is_bds40(mb: int) -> bool:
    if mb == 0:
        return False
    if _wrong_status(mb, 1, 12) or _wrong_status(mb, 14, 12) or _wrong_status(mb, 27, 12):
        return False
    if _wrong_status(mb, 48, 3) or _wrong_status(mb, 54, 2):
        return False
    return bits(mb, 40, 8) == 0 and bits(mb, 52, 2) == 0


@nb.njit(cache=True)
def is_bds50(mb: int) -> bool:
    if mb == 0:
        return False
    if _wrong_status(mb, 1, 10) or _wrong_status(mb, 12, 11) or _wrong_status(mb, 24, 10):
        return False
    if _wrong_status(mb, 35, 10) or _wrong_status(mb, 46, 10):
        return False
    if _bit(mb, 1) and abs(_signed(mb, 2, 9) * 45.0 / 256.0) > ROLL_MAX_DEG:
        return False
    gs_kt = bits(mb, 25, 10) * 2
    tas_kt = bits(mb, 47, 10) * 2
    has_gs = _bit(mb, 24) == 1
    has_tas = _bit(mb, 46) == 1
    if has_gs and gs_kt > SPEED_MAX_KT:
        return False
    if has_tas and tas_kt > SPEED_MAX_KT:
        return False
    return not (has_gs and has_tas and abs(tas_kt - gs_kt) > GS_TAS_MAX_DIFF_KT)


@nb.njit(cache=True)
def is_bds60(mb: int) -> bool:
    if mb == 0:
        return False
    if _wrong_status(mb, 1, 11) or _wrong_status(mb, 13, 10) or _wrong_status(mb, 24, 10):
        return False
    if _wrong_status(mb, 35, 10) or _wrong_status(mb, 46, 10):
        return False
    if _bit(mb, 13) and bits(mb, 14, 10) > IAS_MAX_KT:
        return False
    if _bit(mb, 24) and bits(mb, 25, 10) > MACH_MAX_RAW:
        return False
    if _bit(mb, 35) and abs(_signed(mb, 36, 9) * 32) > VRATE_MAX_FPM:
        return False
    return not (_bit(mb, 46) and abs(_signed(mb, 47, 9) * 32) > VRATE_MAX_FPM)


# ---------------------------------------------------------------------------------------------
# 5,0 / 6,0 disambiguation: -1 when a physics check fails, else the number of checks applied.


@nb.njit(cache=True)
def score_bds50(mb: int) -> int:
    n = 0
    if _bit(mb, 1) and _bit(mb, 35) and _bit(mb, 46) and bits(mb, 47, 10) > 0:
        roll = math.radians(_signed(mb, 2, 9) * 45.0 / 256.0)
        tas_ms = bits(mb, 47, 10) * 2 * _KT_MS
        expected = math.degrees(_G0 * math.tan(roll) / tas_ms)
        rate = _signed(mb, 36, 9) * 8.0 / 256.0
        if abs(rate - expected) > TURN_RATE_TOL_DEG_S:
            return -1
        n += 1
    return n


@nb.njit(cache=True)
def score_bds60(mb: int, alt_ft: float) -> int:
    """``alt_ft`` is the altitude of the reply, NaN when unknown."""
    n = 0
    if _bit(mb, 35) and _bit(mb, 46):
        if abs(_signed(mb, 36, 9) - _signed(mb, 47, 9)) * 32 > VRATE_AGREE_FPM:
            return -1
        n += 1
    if _bit(mb, 13) and _bit(mb, 24):
        ias = float(bits(mb, 14, 10))
        mach = bits(mb, 25, 10) * 2.048 / 512.0
        if math.isnan(alt_ft):
            lo = mach_from_cas(ias, ALT_MIN_FT) - MACH_TOL
            hi = mach_from_cas(ias, ALT_MAX_FT) + MACH_TOL
            if mach < lo or mach > hi:
                return -1
        elif abs(mach - mach_from_cas(ias, alt_ft)) > MACH_TOL:
            return -1
        n += 1
    return n


@nb.njit(cache=True)
def infer_bds(mb: int, alt_ft: float) -> int:
    """Register of an MB field (0x10 … 0x60), 0 when none or unresolved."""
    if mb == 0:
        return 0
    if is_bds10(mb):
        return 0x10
    if is_bds17(mb):
        return 0x17
    if is_bds20(mb):
        return 0x20
    if is_bds30(mb):
        return 0x30
    if is_bds40(mb):
        return 0x40
    v50 = is_bds50(mb)
    v60 = is_bds60(mb)
    if v50 and v60:
        s50 = score_bds50(mb)
        s60 = score_bds60(mb, alt_ft)
        if s50 < 0 and s60 < 0:
            return 0
        if s60 < 0:
            return 0x50
        if s50 < 0:
            return 0x60
        if s50 != s60:
            return 0x50 if s50 > s60 else 0x60
        return 0
    if v50:
        return 0x50
    if v60:
        return 0x60
    return 0


# ---------------------------------------------------------------------------------------------
# Kernels.


@nb.njit(cache=True)
def _fill_acas(
    r: int,
    mb: int,
    acas_ra: npt.NDArray[np.int8],
    acas_ara: npt.NDArray[np.int16],
    acas_rac: npt.NDArray[np.int8],
    acas_rat: npt.NDArray[np.int8],
    acas_mte: npt.NDArray[np.int8],
) -> None:
    rat = _bit(mb, 27)
    mte = _bit(mb, 28)
    acas_ara[r] = bits(mb, 9, 14)
    acas_rac[r] = bits(mb, 23, 4)
    acas_rat[r] = rat
    acas_mte[r] = mte
    acas_ra[r] = 1 if (_bit(mb, 9) or mte) and not rat else 0


@nb.njit(cache=True)
def _fill_bds40(
    r: int,
    mb: int,
    sel_alt: npt.NDArray[np.float32],
    sel_alt_src: npt.NDArray[np.int8],
    baro: npt.NDArray[np.float32],
    nav_modes: npt.NDArray[np.int16],
) -> None:
    if _bit(mb, 1):
        sel_alt[r] = bits(mb, 2, 12) * 16
        sel_alt_src[r] = 0
    elif _bit(mb, 14):
        sel_alt[r] = bits(mb, 15, 12) * 16
        sel_alt_src[r] = 1
    if _bit(mb, 27):
        baro[r] = 800.0 + bits(mb, 28, 12) * 0.1
    if _bit(mb, 48):
        nav_modes[r] = (_bit(mb, 49) << 1) | (_bit(mb, 50) << 2) | (_bit(mb, 51) << 3)


@nb.njit(cache=True)
def _fill_bds50(
    r: int,
    mb: int,
    roll: npt.NDArray[np.float32],
    track: npt.NDArray[np.float32],
    gs: npt.NDArray[np.float32],
    track_rate: npt.NDArray[np.float32],
    tas: npt.NDArray[np.float32],
) -> None:
    if _bit(mb, 1):
        roll[r] = _signed(mb, 2, 9) * 45.0 / 256.0
    if _bit(mb, 12):
        track[r] = (_signed(mb, 13, 10) * 90.0 / 512.0) % 360.0
    if _bit(mb, 24):
        gs[r] = bits(mb, 25, 10) * 2
    if _bit(mb, 35):
        track_rate[r] = _signed(mb, 36, 9) * 8.0 / 256.0
    if _bit(mb, 46):
        tas[r] = bits(mb, 47, 10) * 2


@nb.njit(cache=True)
def _fill_bds60(
    r: int,
    mb: int,
    heading: npt.NDArray[np.float32],
    ias: npt.NDArray[np.float32],
    mach: npt.NDArray[np.float32],
    vrate: npt.NDArray[np.float32],
    vrate_src: npt.NDArray[np.int8],
) -> None:
    if _bit(mb, 1):
        heading[r] = (_signed(mb, 2, 10) * 90.0 / 512.0) % 360.0
    if _bit(mb, 13):
        ias[r] = bits(mb, 14, 10)
    if _bit(mb, 24):
        mach[r] = bits(mb, 25, 10) * 2.048 / 512.0
    if _bit(mb, 35):
        vrate[r] = _signed(mb, 36, 9) * 32
        vrate_src[r] = 0
    elif _bit(mb, 46):
        vrate[r] = _signed(mb, 47, 9) * 32
        vrate_src[r] = 2  # inertial


@nb.njit(cache=True)
def _altitude_ft(msg: npt.NDArray[np.uint8]) -> float:
    """Altitude of a DF20 reply from its AC field, NaN otherwise or when not decodable."""
    if (msg[0] >> 3) != 20:
        return np.nan
    return ac13_to_ft(((int(msg[2]) << 8) | int(msg[3])) & 0x1FFF)


@nb.njit(cache=True)
def _commb_kernel(
    raw: npt.NDArray[np.uint8],
    sel: npt.NDArray[np.bool_],
    bds: npt.NDArray[np.uint8],
    callsign: npt.NDArray[np.uint8],
    sel_alt: npt.NDArray[np.float32],
    sel_alt_src: npt.NDArray[np.int8],
    baro: npt.NDArray[np.float32],
    nav_modes: npt.NDArray[np.int16],
    roll: npt.NDArray[np.float32],
    track: npt.NDArray[np.float32],
    gs: npt.NDArray[np.float32],
    track_rate: npt.NDArray[np.float32],
    tas: npt.NDArray[np.float32],
    heading: npt.NDArray[np.float32],
    ias: npt.NDArray[np.float32],
    mach: npt.NDArray[np.float32],
    vrate: npt.NDArray[np.float32],
    vrate_src: npt.NDArray[np.int8],
    acas_ra: npt.NDArray[np.int8],
    acas_ara: npt.NDArray[np.int16],
    acas_rac: npt.NDArray[np.int8],
    acas_rat: npt.NDArray[np.int8],
    acas_mte: npt.NDArray[np.int8],
) -> None:
    for r in range(raw.shape[0]):
        if not sel[r]:
            continue
        mb = me_of(raw[r])
        code = infer_bds(mb, _altitude_ft(raw[r]))
        bds[r] = code
        if code == 0x20:
            write_callsign(mb, 9, callsign[r])
        elif code == 0x30:
            _fill_acas(r, mb, acas_ra, acas_ara, acas_rac, acas_rat, acas_mte)
        elif code == 0x40:
            _fill_bds40(r, mb, sel_alt, sel_alt_src, baro, nav_modes)
        elif code == 0x50:
            _fill_bds50(r, mb, roll, track, gs, track_rate, tas)
        elif code == 0x60:
            _fill_bds60(r, mb, heading, ias, mach, vrate, vrate_src)


@nb.njit(cache=True)
def _acas_mv_kernel(
    raw: npt.NDArray[np.uint8],
    sel: npt.NDArray[np.bool_],
    bds: npt.NDArray[np.uint8],
    acas_ra: npt.NDArray[np.int8],
    acas_ara: npt.NDArray[np.int16],
    acas_rac: npt.NDArray[np.int8],
    acas_rat: npt.NDArray[np.int8],
    acas_mte: npt.NDArray[np.int8],
) -> None:
    for r in range(raw.shape[0]):
        if not sel[r] or raw[r, 4] != 0x30:
            continue
        bds[r] = 0x30
        _fill_acas(r, me_of(raw[r]), acas_ra, acas_ara, acas_rac, acas_rat, acas_mte)


# ---------------------------------------------------------------------------------------------
# Public wrappers.


def _check(raw: npt.NDArray[np.uint8], sel: npt.NDArray[np.bool_]) -> None:
    if raw.ndim != 2 or raw.shape[1] != 14 or raw.dtype != np.uint8:
        raise ValueError(f"raw must be an (N, 14) uint8 array, got {raw.shape} {raw.dtype}")
    if sel.shape != (raw.shape[0],) or sel.dtype != np.bool_:
        raise ValueError(f"sel must be a ({raw.shape[0]},) bool array, got {sel.shape}")


def _acas_cols(cols: dict[str, npt.NDArray[Any]]) -> tuple[npt.NDArray[Any], ...]:
    return (
        cols["acas_ra"],
        cols["acas_ara"],
        cols["acas_rac"],
        cols["acas_rat"],
        cols["acas_mte"],
    )


def fill_commb(
    raw: npt.NDArray[np.uint8], sel: npt.NDArray[np.bool_], cols: dict[str, npt.NDArray[Any]]
) -> None:
    """Infer the register of the MB field of every DF20/21 row where ``sel`` is True and fill
    its fields into ``cols`` (columns of :data:`tailwatch.core.schema.MESSAGE_FIELDS`,
    allocated with their null values), in place. ``bds`` is set on every selected row (0 when
    no register is recognised or 5,0/6,0 stays unresolved)."""
    _check(raw, sel)
    _commb_kernel(
        raw,
        sel,
        cols["bds"],
        cols["callsign"].view(np.uint8).reshape(-1, 8),
        cols["selected_altitude_ft"],
        cols["selected_altitude_source"],
        cols["baro_setting_hpa"],
        cols["nav_modes"],
        cols["roll_deg"],
        cols["track_deg"],
        cols["gs_kt"],
        cols["track_rate_deg_s"],
        cols["tas_kt"],
        cols["heading_deg"],
        cols["ias_kt"],
        cols["mach"],
        cols["vrate_fpm"],
        cols["vrate_source"],
        *_acas_cols(cols),
    )


def fill_acas_mv(
    raw: npt.NDArray[np.uint8], sel: npt.NDArray[np.bool_], cols: dict[str, npt.NDArray[Any]]
) -> None:
    """For the DF16 rows where ``sel`` is True and the MV field starts with 0x30 (ACAS
    resolution advisory report, VDS 3,0), set ``bds`` to 0x30 and fill the ``acas_*``
    columns, in place. Other rows are left untouched."""
    _check(raw, sel)
    _acas_mv_kernel(raw, sel, cols["bds"], *_acas_cols(cols))


def mb_bds(hex_mb: str, alt_ft: float = math.nan) -> int:
    """Register inferred for one MB field given as 14 hex digits (for users and tests)."""
    return int(infer_bds(int(hex_mb, 16), alt_ft))
