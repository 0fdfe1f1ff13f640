"""ADS-B extended squitter encoders (DF17, or DF18 when ``cf`` is given).

Every function takes columns (arrays or scalars, broadcast against each other) and returns
:class:`~tailwatch.encode.bits.Frames` with a correct parity. The ``me_*`` functions return
the 56-bit ME fields alone (uint64), for callers that build their own frames.

Header: DF17 with the 3-bit capability ``ca`` (5 airborne, 4 on the ground, by default as
fits the message), or DF18 with the control field ``cf`` (0: ADS-B non-transponder with an
ICAO address, 1: other address, 2/3/5: TIS-B, 6: ADS-R) when ``cf`` is not None. The ME
layouts follow DO-260B §2.2.3.2 (version 2); bit numbers below are ME bits 1-56.

Quantisation (what a decoder gets back):

* altitude: see :func:`~tailwatch.encode.bits.altitude_code13` (25 ft, or 100 ft
  Gillham above 50175 ft). GNSS height (TC 20-22) uses the same 12-bit code, in feet, as
  DO-260B, readsb and rs1090 do (pyModeS 3.6 reads it as metres).
* position: CPR, ~5 m airborne and ~1.3 m surface (:mod:`tailwatch.decode.cpr`).
* surface movement: the DO-260B intervals (below 0.125 kt stopped, then 0.125 kt steps to
  1 kt, 0.25 to 2, 0.5 to 15, 1 to 70, 2 to 100, 5 to 175, then "175 kt or more"); the
  code is the interval holding the speed, so a decoder returning the lower bound gets
  ``decoded <= gs < decoded + step``. Surface ground track: 360/128°, rounded.
* velocity: E/W and N/S components and airspeed 1 kt (4 kt supersonic), rounded, code
  saturating at 1021 kt (4084); heading 360/1024°; vertical rate 64 ft/min up to 32608;
  GNSS-baro difference 25 ft up to 3150.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tailwatch.decode import cpr
from tailwatch.encode.bits import (
    U64,
    Frames,
    altitude_code12,
    angle_code,
    as_u64,
    broadcast,
    callsign_code48,
    floats,
    icao_field,
    identity_code13,
    magnitude_code,
    pack_long,
    uint_field,
)

_S = np.uint64


def _es_frames(
    icao24: npt.ArrayLike, me: U64, ca: npt.ArrayLike, cf: npt.ArrayLike | None
) -> Frames:
    """DF17/DF18 frames around ME fields (one per row of ``me``)."""
    n = me.shape[0]
    if cf is None:
        df = np.full(n, 17, dtype=np.uint64)
        field = ca
    else:
        df = np.full(n, 18, dtype=np.uint64)
        field = cf
    aa, f3 = broadcast(icao24, field, np.zeros(n))[:2]
    header = (df << _S(27)) | (uint_field(f3, 3, "ca/cf") << _S(24)) | icao_field(aa)
    return pack_long(header, me, np.zeros(n, dtype=np.uint64))


# ----------------------------------------------------------------------------------------
# Identification (TC 1-4)


def me_identification(callsign: npt.ArrayLike, category: npt.ArrayLike = 0) -> U64:
    """ME of an identification message. ``category`` is the schema code: set letter index
    (A=1 .. D=4) × 8 + number, e.g. A3 = 11; set A is TC 4, B TC 3, C TC 2, D TC 1. Category
    0 (unknown) is sent as A0 (TC 4, number 0), which decodes as 8."""
    cs, cat = broadcast(callsign, category)
    code = uint_field(cat, 6, "category").astype(np.int64)
    code = np.where(code == 0, 8, code)
    letter = code // 8
    if code.size and (int(letter.min()) < 1 or int(letter.max()) > 4):
        raise ValueError("category must be 0 or letter (A=1..D=4) × 8 + number (0-7)")
    tc = (5 - letter).astype(np.uint64)
    number = (code % 8).astype(np.uint64)
    return (tc << _S(51)) | (number << _S(48)) | callsign_code48(cs)


def identification(
    icao24: npt.ArrayLike,
    callsign: npt.ArrayLike,
    category: npt.ArrayLike = 0,
    *,
    ca: npt.ArrayLike = 5,
    cf: npt.ArrayLike | None = None,
) -> Frames:
    """Identification and category (TC 1-4, BDS 0,8)."""
    aa, cs, cat = broadcast(icao24, callsign, category)
    return _es_frames(aa, me_identification(cs, cat), ca, cf)


# ----------------------------------------------------------------------------------------
# Airborne position (TC 9-18 barometric, 20-22 GNSS height)


def me_airborne_position(
    lat_deg: npt.ArrayLike,
    lon_deg: npt.ArrayLike,
    altitude_ft: npt.ArrayLike,
    odd: npt.ArrayLike,
    *,
    tc: npt.ArrayLike = 11,
    surveillance_status: npt.ArrayLike = 0,
    nic_supplement_b: npt.ArrayLike = 0,
    time_flag: npt.ArrayLike = 0,
    gillham: npt.ArrayLike = False,
) -> U64:
    """ME of an airborne position: TC(5) SS(2) NICsb(1) ALT(12) T(1) F(1) LAT(17) LON(17).

    ``tc`` 9-18 sends ``altitude_ft`` as barometric altitude, 20-22 as GNSS height (HAE);
    the type code also states the position's NIC (see DO-260B table 2-14). A NaN
    position is sent as TC 0 ("no position", altitude only)."""
    lat, lon, alt, f, t, ss, nsb, tf, gh = broadcast(
        lat_deg, lon_deg, altitude_ft, odd, tc, surveillance_status, nic_supplement_b,
        time_flag, gillham,
    )  # fmt: skip
    tcu = uint_field(t, 5, "tc")
    if tcu.size and not np.all(((tcu >= 9) & (tcu <= 18)) | ((tcu >= 20) & (tcu <= 22))):
        raise ValueError("tc must be 9-18 (barometric) or 20-22 (GNSS height)")
    fu = uint_field(f, 1, "odd")
    lat, lon = floats(lat), floats(lon)
    yz, xz = cpr.airborne_encode_batch(
        np.ascontiguousarray(lat), np.ascontiguousarray(lon), fu.astype(np.int64)
    )
    has_pos = yz >= 0
    tcu = np.where(has_pos, tcu, 0).astype(np.uint64)
    ac = altitude_code12(floats(alt), np.asarray(gh, dtype=bool))
    return as_u64(
        (tcu << _S(51))
        | (uint_field(ss, 2, "surveillance_status") << _S(49))
        | (uint_field(nsb, 1, "nic_supplement_b") << _S(48))
        | (ac << _S(36))
        | (uint_field(tf, 1, "time_flag") << _S(35))
        | (fu << _S(34))
        | (np.maximum(yz, 0).astype(np.uint64) << _S(17))
        | np.maximum(xz, 0).astype(np.uint64)
    )


def airborne_position(
    icao24: npt.ArrayLike,
    lat_deg: npt.ArrayLike,
    lon_deg: npt.ArrayLike,
    altitude_ft: npt.ArrayLike,
    odd: npt.ArrayLike,
    *,
    tc: npt.ArrayLike = 11,
    surveillance_status: npt.ArrayLike = 0,
    nic_supplement_b: npt.ArrayLike = 0,
    time_flag: npt.ArrayLike = 0,
    gillham: npt.ArrayLike = False,
    ca: npt.ArrayLike = 5,
    cf: npt.ArrayLike | None = None,
) -> Frames:
    """Airborne position (BDS 0,5), even (``odd`` = 0) or odd CPR format."""
    aa, lat, lon, alt, f = broadcast(icao24, lat_deg, lon_deg, altitude_ft, odd)
    me = me_airborne_position(
        lat, lon, alt, f, tc=tc, surveillance_status=surveillance_status,
        nic_supplement_b=nic_supplement_b, time_flag=time_flag, gillham=gillham,
    )  # fmt: skip
    return _es_frames(aa, me, ca, cf)


# ----------------------------------------------------------------------------------------
# Surface position (TC 5-8)

_MOV_LOW_KT = np.array([0.125, 1.0, 2.0, 15.0, 70.0, 100.0])
_MOV_STEP_KT = np.array([0.125, 0.25, 0.5, 1.0, 2.0, 5.0])
_MOV_FIRST = np.array([2, 9, 13, 39, 94, 109])


def movement_code(gs_kt: npt.ArrayLike) -> U64:
    """7-bit surface movement code of ground speeds (0 where NaN or negative)."""
    gs = floats(gs_kt)
    ok = np.isfinite(gs) & (gs >= 0)
    v = np.where(ok, gs, 0.0)
    k = np.clip(np.searchsorted(_MOV_LOW_KT, v, side="right") - 1, 0, 5)
    code = _MOV_FIRST[k] + np.floor((v - _MOV_LOW_KT[k]) / _MOV_STEP_KT[k]).astype(np.int64)
    code = np.where(v < 0.125, 1, np.where(v >= 175.0, 124, code))
    return np.where(ok, code, 0).astype(np.uint64)


def me_surface_position(
    lat_deg: npt.ArrayLike,
    lon_deg: npt.ArrayLike,
    odd: npt.ArrayLike,
    *,
    gs_kt: npt.ArrayLike = np.nan,
    track_deg: npt.ArrayLike = np.nan,
    tc: npt.ArrayLike = 7,
    time_flag: npt.ArrayLike = 0,
) -> U64:
    """ME of a surface position: TC(5) MOV(7) S(1) TRK(7) T(1) F(1) LAT(17) LON(17).
    NaN ground speed: movement 0 (no information); NaN track: status 0."""
    lat, lon, f, gs, trk, t, tf = broadcast(lat_deg, lon_deg, odd, gs_kt, track_deg, tc, time_flag)
    tcu = uint_field(t, 5, "tc")
    if tcu.size and not np.all((tcu >= 5) & (tcu <= 8)):
        raise ValueError("surface position tc must be 5-8")
    fu = uint_field(f, 1, "odd")
    lat, lon = floats(lat), floats(lon)
    if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))):
        raise ValueError("surface position lat/lon must be finite")
    yz, xz = cpr.surface_encode_batch(
        np.ascontiguousarray(lat), np.ascontiguousarray(lon), fu.astype(np.int64)
    )
    trk_ok, trk_code = angle_code(floats(trk), 7)
    return as_u64(
        (tcu << _S(51))
        | (movement_code(gs) << _S(44))
        | (trk_ok << _S(43))
        | (trk_code << _S(36))
        | (uint_field(tf, 1, "time_flag") << _S(35))
        | (fu << _S(34))
        | (yz.astype(np.uint64) << _S(17))
        | xz.astype(np.uint64)
    )


def surface_position(
    icao24: npt.ArrayLike,
    lat_deg: npt.ArrayLike,
    lon_deg: npt.ArrayLike,
    odd: npt.ArrayLike,
    *,
    gs_kt: npt.ArrayLike = np.nan,
    track_deg: npt.ArrayLike = np.nan,
    tc: npt.ArrayLike = 7,
    time_flag: npt.ArrayLike = 0,
    ca: npt.ArrayLike = 4,
    cf: npt.ArrayLike | None = None,
) -> Frames:
    """Surface position (BDS 0,6) with movement and ground track."""
    aa, lat, lon, f = broadcast(icao24, lat_deg, lon_deg, odd)
    me = me_surface_position(lat, lon, f, gs_kt=gs_kt, track_deg=track_deg, tc=tc,
                             time_flag=time_flag)  # fmt: skip
    return _es_frames(aa, me, ca, cf)


# ----------------------------------------------------------------------------------------
# Airborne velocity (TC 19)


def _velocity_trailer(
    vrate_fpm: npt.ArrayLike,
    vrate_source: npt.ArrayLike,
    gnss_baro_diff_ft: npt.ArrayLike,
    nacv: npt.ArrayLike,
    intent_change: npt.ArrayLike,
    ifr: npt.ArrayLike,
) -> tuple[U64, U64]:
    """(ME bits 9-13, ME bits 36-56) shared by every subtype."""
    vr, src, diff, nv, ic, ifr_ = broadcast(
        vrate_fpm, vrate_source, gnss_baro_diff_ft, nacv, intent_change, ifr
    )
    head = (
        (uint_field(ic, 1, "intent_change") << _S(4))
        | (uint_field(ifr_, 1, "ifr") << _S(3))
        | uint_field(nv, 3, "nacv")
    )
    # VrSrc bit: 0 GNSS, 1 baro; the schema code is 0 baro, 1 gnss.
    src_bit = _S(1) - uint_field(src, 1, "vrate_source")
    vr_sign, vr_code = magnitude_code(floats(vr), 64.0, 511)
    d_sign, d_code = magnitude_code(floats(diff), 25.0, 127)
    tail = (
        (src_bit << _S(20)) | (vr_sign << _S(19)) | (vr_code << _S(10)) | (d_sign << _S(7)) | d_code
    )
    return head, tail


def me_velocity_ground(
    gs_kt: npt.ArrayLike,
    track_deg: npt.ArrayLike,
    vrate_fpm: npt.ArrayLike = np.nan,
    *,
    vrate_source: npt.ArrayLike = 0,
    gnss_baro_diff_ft: npt.ArrayLike = np.nan,
    nacv: npt.ArrayLike = 0,
    intent_change: npt.ArrayLike = 0,
    ifr: npt.ArrayLike = 0,
    supersonic: npt.ArrayLike = False,
) -> U64:
    """ME of a velocity over ground (subtype 1, or 2 when ``supersonic``): TC(5) ST(3)
    IC(1) IFR(1) NACv(3) Dew(1) Vew(10) Dns(1) Vns(10) VrSrc(1) Svr(1) VR(9) 00 SDif(1)
    dAlt(7). The E/W and N/S speeds are gs·sin(track) and gs·cos(track), each rounded.
    ``vrate_source`` is the schema code (0 baro, 1 gnss)."""
    gs, trk, vr, src, diff, nv, ic, ifr_, sup = broadcast(
        gs_kt, track_deg, vrate_fpm, vrate_source, gnss_baro_diff_ft, nacv, intent_change,
        ifr, supersonic,
    )  # fmt: skip
    sup_b = np.asarray(sup, dtype=bool)
    g, t = floats(gs), np.radians(floats(trk))
    ok = np.isfinite(g) & np.isfinite(t)
    unit = np.where(sup_b, 4.0, 1.0)
    v_ew = np.where(ok, g * np.sin(t), np.nan) / unit
    v_ns = np.where(ok, g * np.cos(t), np.nan) / unit
    ew_sign, ew_code = magnitude_code(v_ew, 1.0, 1023)
    ns_sign, ns_code = magnitude_code(v_ns, 1.0, 1023)
    head, tail = _velocity_trailer(vr, src, diff, nv, ic, ifr_)
    subtype = np.where(sup_b, 2, 1).astype(np.uint64)
    return as_u64(
        (_S(19) << _S(51))
        | (subtype << _S(48))
        | (head << _S(43))
        | (ew_sign << _S(42))
        | (ew_code << _S(32))
        | (ns_sign << _S(31))
        | (ns_code << _S(21))
        | tail
    )


def me_velocity_air(
    heading_deg: npt.ArrayLike,
    airspeed_kt: npt.ArrayLike,
    vrate_fpm: npt.ArrayLike = np.nan,
    *,
    tas: npt.ArrayLike = False,
    vrate_source: npt.ArrayLike = 0,
    gnss_baro_diff_ft: npt.ArrayLike = np.nan,
    nacv: npt.ArrayLike = 0,
    intent_change: npt.ArrayLike = 0,
    ifr: npt.ArrayLike = 0,
    supersonic: npt.ArrayLike = False,
) -> U64:
    """ME of an airspeed velocity (subtype 3, or 4 when ``supersonic``): ... SH(1) HDG(10)
    T(1) AS(10) ... ; ``tas`` True for true airspeed, False for indicated. NaN heading:
    status 0; NaN airspeed: code 0."""
    hdg, aspd, vr, t_as, src, diff, nv, ic, ifr_, sup = broadcast(
        heading_deg, airspeed_kt, vrate_fpm, tas, vrate_source, gnss_baro_diff_ft, nacv,
        intent_change, ifr, supersonic,
    )  # fmt: skip
    sup_b = np.asarray(sup, dtype=bool)
    hdg_ok, hdg_code = angle_code(floats(hdg), 10)
    _, as_code = magnitude_code(floats(aspd) / np.where(sup_b, 4.0, 1.0), 1.0, 1023)
    head, tail = _velocity_trailer(vr, src, diff, nv, ic, ifr_)
    subtype = np.where(sup_b, 4, 3).astype(np.uint64)
    return as_u64(
        (_S(19) << _S(51))
        | (subtype << _S(48))
        | (head << _S(43))
        | (hdg_ok << _S(42))
        | (hdg_code << _S(32))
        | (uint_field(t_as, 1, "tas") << _S(31))
        | (as_code << _S(21))
        | tail
    )


def velocity_ground(
    icao24: npt.ArrayLike,
    gs_kt: npt.ArrayLike,
    track_deg: npt.ArrayLike,
    vrate_fpm: npt.ArrayLike = np.nan,
    *,
    vrate_source: npt.ArrayLike = 0,
    gnss_baro_diff_ft: npt.ArrayLike = np.nan,
    nacv: npt.ArrayLike = 0,
    intent_change: npt.ArrayLike = 0,
    ifr: npt.ArrayLike = 0,
    supersonic: npt.ArrayLike = False,
    ca: npt.ArrayLike = 5,
    cf: npt.ArrayLike | None = None,
) -> Frames:
    """Airborne velocity over ground (TC 19 subtype 1/2, BDS 0,9)."""
    aa, gs, trk, vr = broadcast(icao24, gs_kt, track_deg, vrate_fpm)
    me = me_velocity_ground(
        gs, trk, vr, vrate_source=vrate_source, gnss_baro_diff_ft=gnss_baro_diff_ft,
        nacv=nacv, intent_change=intent_change, ifr=ifr, supersonic=supersonic,
    )  # fmt: skip
    return _es_frames(aa, me, ca, cf)


def velocity_air(
    icao24: npt.ArrayLike,
    heading_deg: npt.ArrayLike,
    airspeed_kt: npt.ArrayLike,
    vrate_fpm: npt.ArrayLike = np.nan,
    *,
    tas: npt.ArrayLike = False,
    vrate_source: npt.ArrayLike = 0,
    gnss_baro_diff_ft: npt.ArrayLike = np.nan,
    nacv: npt.ArrayLike = 0,
    intent_change: npt.ArrayLike = 0,
    ifr: npt.ArrayLike = 0,
    supersonic: npt.ArrayLike = False,
    ca: npt.ArrayLike = 5,
    cf: npt.ArrayLike | None = None,
) -> Frames:
    """Airborne velocity as heading and airspeed (TC 19 subtype 3/4, BDS 0,9)."""
    aa, hdg, aspd, vr = broadcast(icao24, heading_deg, airspeed_kt, vrate_fpm)
    me = me_velocity_air(
        hdg, aspd, vr, tas=tas, vrate_source=vrate_source, gnss_baro_diff_ft=gnss_baro_diff_ft,
        nacv=nacv, intent_change=intent_change, ifr=ifr, supersonic=supersonic,
    )  # fmt: skip
    return _es_frames(aa, me, ca, cf)


# ----------------------------------------------------------------------------------------
# Aircraft status (TC 28) and operational status (TC 31)


def me_emergency_status(emergency: npt.ArrayLike, squawk: npt.ArrayLike) -> U64:
    """ME of an emergency/priority status (TC 28 subtype 1): TC(5) ST(3) ES(3) ID(13) and
    32 reserved bits. ``emergency`` is the schema code (0 none, 1 general, 2 lifeguard,
    3 minfuel, 4 nordo, 5 unlawful, 6 downed), ``squawk`` the octal digits (7700)."""
    em, sq = broadcast(emergency, squawk)
    return (
        (_S(28) << _S(51))
        | (_S(1) << _S(48))
        | (uint_field(em, 3, "emergency") << _S(45))
        | (identity_code13(sq) << _S(32))
    )


def emergency_status(
    icao24: npt.ArrayLike,
    emergency: npt.ArrayLike,
    squawk: npt.ArrayLike,
    *,
    ca: npt.ArrayLike = 5,
    cf: npt.ArrayLike | None = None,
) -> Frames:
    """Emergency/priority status with Mode A code (TC 28 subtype 1, BDS 6,1)."""
    aa, em, sq = broadcast(icao24, emergency, squawk)
    return _es_frames(aa, me_emergency_status(em, sq), ca, cf)


def me_operational_status(
    *,
    surface: npt.ArrayLike = False,
    version: npt.ArrayLike = 2,
    nic_sup_a: npt.ArrayLike = 0,
    nacp: npt.ArrayLike = 0,
    gva: npt.ArrayLike = 0,
    sil: npt.ArrayLike = 0,
    sil_supplement: npt.ArrayLike = 0,
    nic_baro: npt.ArrayLike = 0,
    hrd: npt.ArrayLike = 0,
    sda: npt.ArrayLike = 0,
    trk_hdg: npt.ArrayLike = 0,
    nic_sup_c: npt.ArrayLike = 0,
    nacv: npt.ArrayLike = 0,
    length_width: npt.ArrayLike = 0,
    gps_antenna_offset: npt.ArrayLike = 0,
    acas_operational: npt.ArrayLike = 0,
    es_in: npt.ArrayLike = 0,
    arv: npt.ArrayLike = 0,
    ts: npt.ArrayLike = 0,
    tc_report: npt.ArrayLike = 0,
    uat_in: npt.ArrayLike = 0,
    poa: npt.ArrayLike = 0,
    b2_low: npt.ArrayLike = 0,
    acas_ra_active: npt.ArrayLike = 0,
    ident_switch: npt.ArrayLike = 0,
    single_antenna: npt.ArrayLike = 0,
) -> U64:
    """ME of an operational status (TC 31), version 2 layout (DO-260B §2.2.3.2.7.2):

    ===== ======================================= ========================================
    bits  airborne (subtype 0)                    surface (subtype 1)
    ===== ======================================= ========================================
    9-24  capability class: 00, ACAS operational   00, POA, 1090ES IN, 00, B2 low, UAT IN,
          (11), 1090ES IN, 00, ARV (15), TS,       NACv (17-19), NIC supplement C (20),
          TC (17-18), UAT IN (19), 00000           length/width code (21-24)
    25-40 operational mode: 00, ACAS RA active (27), IDENT switch (28), 0, single antenna
          (30), SDA (31-32), then 0 (airborne) or the GPS antenna offset (surface, 33-40)
    41-56 version (41-43), NIC supp. A (44), NACp (45-48), GVA (49-50; 0 on the surface),
          SIL (51-52), NIC baro (53; surface: TRK/HDG), HRD (54), SIL supplement (55), 0
    ===== ======================================= ========================================
    """
    cols = broadcast(
        surface, version, nic_sup_a, nacp, gva, sil, sil_supplement, nic_baro, hrd, sda,
        trk_hdg, nic_sup_c, nacv, length_width, gps_antenna_offset, acas_operational, es_in,
        arv, ts, tc_report, uat_in, poa, b2_low, acas_ra_active, ident_switch, single_antenna,
    )  # fmt: skip
    (surf, ver, nsa, nacp_, gva_, sil_, sils, nicb, hrd_, sda_, trkh, nsc, nacv_, lw, gao,
     acas, esin, arv_, ts_, tcr, uat, poa_, b2, ra, ident, sant) = cols  # fmt: skip
    s = uint_field(surf, 1, "surface")
    is_surf = s == 1
    u = uint_field
    cc_air = (
        (u(acas, 1, "acas_operational") << _S(13))
        | (u(esin, 1, "es_in") << _S(12))
        | (u(arv_, 1, "arv") << _S(9))
        | (u(ts_, 1, "ts") << _S(8))
        | (u(tcr, 2, "tc_report") << _S(6))
        | (u(uat, 1, "uat_in") << _S(5))
    )
    cc_surf = (
        (u(poa_, 1, "poa") << _S(13))
        | (u(esin, 1, "es_in") << _S(12))
        | (u(b2, 1, "b2_low") << _S(9))
        | (u(uat, 1, "uat_in") << _S(8))
        | (u(nacv_, 3, "nacv") << _S(5))
        | (u(nsc, 1, "nic_sup_c") << _S(4))
        | u(lw, 4, "length_width")
    )
    om = (
        (u(ra, 1, "acas_ra_active") << _S(13))
        | (u(ident, 1, "ident_switch") << _S(12))
        | (u(sant, 1, "single_antenna") << _S(10))
        | (u(sda_, 2, "sda") << _S(8))
        | np.where(is_surf, u(gao, 8, "gps_antenna_offset"), _S(0)).astype(np.uint64)
    )
    cc = np.where(is_surf, cc_surf, cc_air).astype(np.uint64)
    bit53 = np.where(is_surf, u(trkh, 1, "trk_hdg"), u(nicb, 1, "nic_baro")).astype(np.uint64)
    gva_bits = np.where(is_surf, _S(0), u(gva_, 2, "gva")).astype(np.uint64)
    return as_u64(
        (_S(31) << _S(51))
        | (s << _S(48))
        | (cc << _S(32))
        | (om << _S(16))
        | (u(ver, 3, "version") << _S(13))
        | (u(nsa, 1, "nic_sup_a") << _S(12))
        | (u(nacp_, 4, "nacp") << _S(8))
        | (gva_bits << _S(6))
        | (u(sil_, 2, "sil") << _S(4))
        | (bit53 << _S(3))
        | (u(hrd_, 1, "hrd") << _S(2))
        | (u(sils, 1, "sil_supplement") << _S(1))
    )


def operational_status(
    icao24: npt.ArrayLike,
    *,
    ca: npt.ArrayLike | None = None,
    cf: npt.ArrayLike | None = None,
    **fields: npt.ArrayLike,
) -> Frames:
    """Aircraft operational status (TC 31, BDS 6,5): ``fields`` are the keyword arguments of
    :func:`me_operational_status` (an unknown name is a TypeError there).
    ``ca`` defaults to 4 for surface rows and 5 for airborne ones."""
    aa, surf = broadcast(icao24, fields.get("surface", False))
    me = me_operational_status(**{**fields, "surface": surf})
    if ca is None:
        ca = np.where(np.asarray(surf, dtype=bool), 4, 5)
    return _es_frames(np.broadcast_to(aa, me.shape), me, ca, cf)
