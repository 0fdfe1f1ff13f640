"""The encoder: known frames, real frames re-encoded bit for bit, parity, and round trips
through pyModeS 3.6.1 (the oracle) and through tailwatch.decode, within quantisation."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyModeS as pms
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyModeS.decoder.bds import bds20, bds40, bds50, bds60
from pyModeS.position import airborne_position_pair, surface_position_pair

from tailwatch import encode as enc
from tailwatch.decode import cpr
from tailwatch.decode.crc import crc_remainder, remainders

DATA = Path(__file__).resolve().parents[1] / "data"
FAST = settings(max_examples=40, deadline=None)
ICAOS = st.integers(0, 0xFFFFFF)


def bits(frame_hex: str, first: int, width: int) -> int:
    """Bits ``first`` .. ``first + width - 1`` (1-based, as the standard numbers them)."""
    nbits = 4 * len(frame_hex)
    return (int(frame_hex, 16) >> (nbits - (first + width - 1))) & ((1 << width) - 1)


def assert_parity(frames: enc.Frames, overlay: npt.ArrayLike) -> None:
    """Every frame's CRC remainder is the expected overlay (0, the address, or II)."""
    rem = remainders(frames.raw, frames.nbytes)
    assert np.array_equal(rem, np.broadcast_to(np.asarray(overlay, dtype=np.uint32), rem.shape))


def pms_all(frames: enc.Frames) -> list[dict[str, Any]]:
    return [dict(pms.decode(h)) for h in frames.hex()]


def lon_diff(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def ang_diff(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


# ------------------------------------------------------------------------------------------
# Known frames: worked examples of "The 1090 Megahertz Riddle" (Junzi Sun, mode-s.org/decode)
# and frames from pyModeS's sample data, rebuilt from their decoded values.


def test_riddle_identification() -> None:
    assert enc.identification_hex("4840d6", "KLM1023", 0) == "8d4840d6202cc371c32ce0576098"
    assert enc.identification_hex(0x406B90, "EZY85MH") == "8d406b902015a678d4d220aa4bda"


def test_riddle_airborne_positions() -> None:
    # the even frame is at the pair's decoded position (52.2572, 3.91937), 38000 ft
    assert (
        enc.airborne_position_hex("40621d", 52.2572021484375, 3.91937255859375, 38000, 0)
        == "8d40621d58c382d690c8ac2863a7"
    )
    lat, lon, ok = cpr.airborne_global(93000, 51372, 74158, 50194, True)
    assert ok
    assert enc.airborne_position_hex("40621d", lat, lon, 38000, 1) == "8d40621d58c386435cc412692ad6"


def test_riddle_surface_position() -> None:
    frame = "8c4841753a9a153237aef0f275be"  # CA 4, TC 7, movement 41 (17 kt), track 92.8125°
    lat, lon = cpr.surface_local(bits(frame, 55, 17), bits(frame, 72, 17), 1, 51.990, 4.375)
    got = enc.surface_position_hex(0x484175, lat, lon, 1, gs_kt=17, track_deg=92.8125, ca=4)
    assert got == frame


def test_riddle_velocities() -> None:
    # subtype 1: 8 kt west, 159 kt south, GNSS vertical rate -832 ft/min, GNSS 550 ft above
    gs, trk = math.hypot(8, 159), math.degrees(math.atan2(-8, -159)) % 360
    got = enc.velocity_ground_hex(
        0x485020, gs, trk, -832, vrate_source=1, gnss_baro_diff_ft=550, ifr=1
    )
    assert got == "8d485020994409940838175b284f"
    # subtype 3: heading 243.98°, TAS 375 kt, baro vertical rate -2304 ft/min
    got = enc.velocity_air_hex(0xA05F21, 243.984375, 375, -2304, tas=True, vrate_source=0)
    assert got == "8da05f219b06b6af189400cbc33f"


def test_riddle_all_call_reply() -> None:
    frame = "5d484fdea248f5"  # DF11, CA 5, address 484FDE, parity overlaid with the II code
    iid = crc_remainder(bytes.fromhex(frame))
    assert iid < 0x80
    assert enc.all_call_reply_hex("484fde", ca=5, iid=iid) == frame


def test_surveillance_replies_from_pymodes_decoding() -> None:
    for frame in ["20001838ca3804", "28001a1bbe1d4f"]:
        d = pms.decode(frame)
        addr = int(d["icao"], 16)
        if d["df"] == 4:
            assert enc.altitude_reply_hex(addr, d["altitude"]) == frame
        else:
            assert enc.identity_reply_hex(addr, int(d["squawk"])) == frame


# ------------------------------------------------------------------------------------------
# Real frames (rs1090 decoding of a full flight, LFPG -> LFBO) re-encoded bit for bit from
# their decoded values. Status bits no decoder reports (CA, SS, T, IC, IFR, FS, DR, UM, Q)
# are read from the frame. rs1090 0.7 misreads two fields, taken from pyModeS instead:
# surface movement codes 13-38 (0.25 kt steps instead of 0.5) and the vertical rate source.


@pytest.fixture(scope="module")
def flight() -> list[dict[str, Any]]:
    with gzip.open(DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz", "rt") as f:
        return [json.loads(line) for line in f]


def _col(rows: list[dict[str, Any]], key: str) -> npt.NDArray[np.float64]:
    return np.array([np.nan if r.get(key) is None else float(r[key]) for r in rows])


def _bitcol(rows: list[dict[str, Any]], first: int, width: int, n: int = 28) -> npt.NDArray[Any]:
    return np.array([bits(r["frame"][:n], first, width) for r in rows])


def test_real_extended_squitters_reencode(flight: list[dict[str, Any]]) -> None:
    es = [r for r in flight if r["df"] == "17"]
    ident = [r for r in es if r["bds"] == "08"]
    code = (5 - _bitcol(ident, 33, 5)) * 8 + _bitcol(ident, 38, 3)
    fr = enc.identification([r["icao24"] for r in ident], [r["callsign"] for r in ident], code,
                          ca=_bitcol(ident, 6, 3))  # fmt: skip
    assert fr.hex() == [r["frame"] for r in ident] and len(ident) > 800

    pos = [r for r in es if r["bds"] == "05" and "latitude" in r]
    fr = enc.airborne_position(
        [r["icao24"] for r in pos], _col(pos, "latitude"), _col(pos, "longitude"),
        _col(pos, "altitude"), [r["parity"] == "odd" for r in pos], tc=_bitcol(pos, 33, 5),
        surveillance_status=_bitcol(pos, 38, 2), nic_supplement_b=_bitcol(pos, 40, 1),
        time_flag=_bitcol(pos, 53, 1), ca=_bitcol(pos, 6, 3),
    )  # fmt: skip
    assert fr.hex() == [r["frame"] for r in pos] and len(pos) > 6000

    surf = [r for r in es if r["bds"] == "06" and "latitude" in r]
    gs = np.array([np.nan if (g := pms.decode(r["frame"])["groundspeed"]) is None else g
                   for r in surf])  # fmt: skip
    fr = enc.surface_position(
        [r["icao24"] for r in surf], _col(surf, "latitude"), _col(surf, "longitude"),
        [r["parity"] == "odd" for r in surf], gs_kt=gs, track_deg=_col(surf, "track"),
        tc=_bitcol(surf, 33, 5), time_flag=_bitcol(surf, 53, 1), ca=_bitcol(surf, 6, 3),
    )  # fmt: skip
    assert fr.hex() == [r["frame"] for r in surf] and len(surf) > 1800

    vel = [r for r in es if r["bds"] == "09"]
    dec = [pms.decode(r["frame"]) for r in vel]
    # pyModeS's values (rs1090 reports a negative zero as None), signed by the sign bit
    vrate = np.copysign(_col(dec, "vertical_rate"), 0.5 - _bitcol(vel, 69, 1))
    diff = np.copysign(_col(dec, "geo_minus_baro"), 0.5 - _bitcol(vel, 81, 1))
    fr = enc.velocity_ground(
        [r["icao24"] for r in vel], _col(vel, "groundspeed"), _col(vel, "track"), vrate,
        vrate_source=[d["vr_source"] == "GNSS" for d in dec], gnss_baro_diff_ft=diff,
        nacv=_col(vel, "NACv").astype(int),
        intent_change=_bitcol(vel, 41, 1), ifr=_bitcol(vel, 42, 1), ca=_bitcol(vel, 6, 3),
    )  # fmt: skip
    assert fr.hex() == [r["frame"] for r in vel] and len(vel) > 6000


def test_real_surveillance_replies_reencode(flight: list[dict[str, Any]]) -> None:
    # short replies are stored padded to 14 bytes: the frame is the first 7
    # altitudes as pyModeS reads them (rs1090 0.7 reads a Gillham -100 ft as 0)
    df4 = [r for r in flight if r["df"] == "4"]
    alt = np.array([np.nan if (a := pms.decode(r["frame"][:14])["altitude"]) is None else a
                    for r in df4])  # fmt: skip
    df4 = [r for r, a in zip(df4, alt, strict=True) if not np.isnan(a)]
    fr = enc.altitude_reply(
        [r["icao24"] for r in df4], alt[~np.isnan(alt)], fs=_bitcol(df4, 6, 3, 14),
        dr=_bitcol(df4, 9, 5, 14), um=_bitcol(df4, 14, 6, 14),
        gillham=_bitcol(df4, 28, 1, 14) == 0,
    )  # fmt: skip
    assert fr.hex() == [r["frame"][:14] for r in df4] and len(df4) > 4000
    assert_parity(fr, [int(r["icao24"], 16) for r in df4])

    df5 = [r for r in flight if r["df"] == "5"]
    fr = enc.identity_reply(
        [r["icao24"] for r in df5], [int(r["squawk"]) for r in df5], fs=_bitcol(df5, 6, 3, 14),
        dr=_bitcol(df5, 9, 5, 14), um=_bitcol(df5, 14, 6, 14),
    )  # fmt: skip
    assert fr.hex() == [r["frame"][:14] for r in df5] and len(df5) > 1000


_SOURCES = ["unknown", "aircraft_altitude", "mcp_fcu", "fms"]


def _mb_from_pymodes(bds: str, mb: int) -> tuple[float, ...]:
    """Arguments of our MB builder from pyModeS's reading of a real MB (NaN / -1 where a
    status bit is off)."""
    nan = math.nan
    if bds == "40":
        d = bds40.decode_bds40(mb)
        modes = -1
        if "vnav_mode" in d:
            modes = 2 * d["vnav_mode"] + 4 * d["altitude_hold_mode"] + 8 * d["approach_mode"]
        src = _SOURCES.index(d["target_altitude_source"]) if "target_altitude_source" in d else -1
        return (d.get("selected_altitude_mcp", nan), d.get("selected_altitude_fms", nan),
                d.get("baro_pressure_setting", nan), modes, src)  # fmt: skip
    if bds == "50":
        d = bds50.decode_bds50(mb)
        keys = ("roll", "true_track", "groundspeed", "track_rate", "true_airspeed")
    else:
        d = bds60.decode_bds60(mb)
        keys = ("magnetic_heading", "indicated_airspeed", "mach", "baro_vertical_rate",
                "inertial_vertical_rate")  # fmt: skip
    return tuple(d.get(k, nan) for k in keys)


def test_real_commb_replies_reencode(flight: list[dict[str, Any]]) -> None:
    """DF20/21 replies whose register rs1090 identified, rebuilt from pyModeS's reading of
    the MB (rs1090 0.7 reads some status-valid all-ones rates as 0)."""
    checked = 0
    for df in ("20", "21"):
        for bds in ("20", "40", "50", "60"):
            rows = [r for r in flight if r["df"] == df and r.get("bds") == bds]
            if bds == "20":
                mb = enc.mb_bds20([r["callsign"] for r in rows])
            else:
                args = [_mb_from_pymodes(bds, bits(r["frame"], 33, 56)) for r in rows]
                cols = [np.array(c) for c in zip(*args, strict=True)]
                if bds == "40":
                    mb = enc.mb_bds40(*cols[:3], nav_modes=cols[3], target_altitude_source=cols[4])
                else:
                    mb = (enc.mb_bds50 if bds == "50" else enc.mb_bds60)(*cols)
            head = dict(fs=_bitcol(rows, 6, 3), dr=_bitcol(rows, 9, 5), um=_bitcol(rows, 14, 6))
            addr = [r["icao24"] for r in rows]
            if df == "20":
                alt = [pms.decode(r["frame"])["altitude"] for r in rows]
                fr = enc.commb_altitude_reply(addr, alt, mb, gillham=_bitcol(rows, 28, 1) == 0,
                                            **head)  # fmt: skip
            else:
                fr = enc.commb_identity_reply(addr, [int(r["squawk"]) for r in rows], mb, **head)
            assert fr.hex() == [r["frame"] for r in rows], (df, bds)
            checked += len(rows)
    assert checked > 18000


# ------------------------------------------------------------------------------------------
# Parity tools on real frames


def _real_matrix(flight: list[dict[str, Any]]) -> tuple[enc.Frames, npt.NDArray[np.uint32]]:
    rows = [r for r in flight if r["df"] in ("0", "4", "5", "16", "17", "20", "21")][::7]
    raw = np.frombuffer(b"".join(bytes.fromhex(r["frame"]) for r in rows), np.uint8)
    addr = np.array([int(r["icao24"], 16) for r in rows], dtype=np.uint32)
    return enc.Frames(raw.reshape(-1, 14).copy(), np.full(len(rows), 14, np.uint8)), addr


def test_set_parity_keeps_good_real_frames(flight: list[dict[str, Any]]) -> None:
    frames, addr = _real_matrix(flight)
    before = frames.raw.copy()
    enc.set_parity(frames.raw, frames.nbytes, addr)
    assert np.array_equal(frames.raw, before)  # padded short replies: garbage kept too
    frames.raw[:, 5] ^= 0x55  # change data bits: parity is recomputed to match
    enc.set_parity(frames.raw, frames.nbytes, addr)
    df = frames.raw[:, 0] >> 3
    lengths = np.where(df < 16, 7, 14).astype(np.uint8)
    rem = remainders(frames.raw, lengths)
    assert np.array_equal(rem, np.where(df == 17, 0, addr))
    with pytest.raises(ValueError, match="address"):
        enc.set_parity(frames.raw, frames.nbytes, None)


def test_set_parity_overlays() -> None:
    fr = enc.Frames.concat(
        [enc.identification(1, "A"), enc.all_call_reply(2), enc.altitude_reply(3, 0)]
    )
    fr.raw[:, 4] ^= 0xFF
    enc.set_parity(fr.raw, fr.nbytes, [0, 0, 0xABCDEF], iid=[0, 0x16, 0])
    assert_parity(fr, [0, 0x16, 0xABCDEF])
    es = enc.velocity_ground(0x123456, [100, 200], [10, 20])
    es.raw[:, 8] ^= 1
    enc.set_parity(es.raw, es.nbytes)  # no address needed without address/parity frames
    assert_parity(es, 0)
    short = np.zeros((1, 14), np.uint8)
    short[0, :2] = [0x12, 0x34]  # a Mode A/C reply: left alone
    assert np.array_equal(enc.set_parity(short, np.array([2], np.uint8), 5)[0, :2], [0x12, 0x34])


def test_set_address_moves_real_frames(flight: list[dict[str, Any]]) -> None:
    frames, _ = _real_matrix(flight)
    new = np.arange(len(frames.nbytes), dtype=np.uint32) * 977 + 0x100000
    enc.set_address(frames.raw, frames.nbytes, new)
    for h, a in zip(frames.hex(), new, strict=True):
        df = int(h[:2], 16) >> 3
        d = pms.decode(h if df >= 16 else h[:14])
        assert int(d["icao"], 16) == a
        if df == 17:
            assert d["crc_valid"] is True
    ac = enc.all_call_reply(0x484FDE, iid=0x16)
    enc.set_address(ac.raw, ac.nbytes, 0x3C6586)
    assert ac.hex()[0][2:8] == "3c6586"
    assert_parity(ac, 0x16)  # the interrogator overlay is kept


# ------------------------------------------------------------------------------------------
# Round trips through pyModeS 3.6.1 over the value ranges (hypothesis)

CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "
CATEGORY = st.sampled_from([8 * s + k for s in range(1, 5) for k in range(8)])


@FAST
@given(st.lists(st.tuples(ICAOS, st.text(CHARSET, max_size=8), CATEGORY), min_size=1,
                max_size=20))  # fmt: skip
def test_identification_pymodes(rows: list[tuple[int, str, int]]) -> None:
    icao, cs, cat = zip(*rows, strict=True)
    fr = enc.identification(list(icao), list(cs), list(cat))
    assert_parity(fr, 0)
    for d, a, c, k in zip(pms_all(fr), icao, cs, cat, strict=True):
        assert int(d["icao"], 16) == a and d["crc_valid"]
        assert d["callsign"] == c.rstrip().replace(" ", "_") or d["callsign"] == c.strip()
        assert d["typecode"] == 5 - k // 8 and d["category"] == k % 8


def quantised_altitude(alt: float, gillham: bool) -> float:
    """What the standard keeps of an altitude: 25 ft steps (Q=1) up to 50175 ft, 100 ft
    Gillham steps above or when forced."""
    q25 = 25.0 * math.floor(alt / 25.0 + 0.5)
    if not gillham and -1000 <= q25 <= 50175:
        return q25
    return 100.0 * math.floor(alt / 100.0 + 0.5)


LAT = st.floats(-85, 85)
LON = st.floats(-180, 179.999)
ALT = st.floats(-1000, 126700)


@FAST
@given(st.lists(st.tuples(ICAOS, LAT, LON, ALT, st.booleans(), st.integers(9, 18),
                          st.integers(0, 3)), min_size=1, max_size=20))  # fmt: skip
def test_airborne_position_pymodes(rows: list[tuple[Any, ...]]) -> None:
    icao, lat, lon, alt, gh, tc, ss = (list(c) for c in zip(*rows, strict=True))
    even = enc.airborne_position(icao, lat, lon, alt, 0, tc=tc, surveillance_status=ss, gillham=gh)
    odd = enc.airborne_position(icao, lat, lon, alt, 1, tc=tc, surveillance_status=ss, gillham=gh)
    assert_parity(even, 0)
    assert_parity(odd, 0)
    for i, (de, do) in enumerate(zip(pms_all(even), pms_all(odd), strict=True)):
        assert de["typecode"] == tc[i] and de["surveillance_status"] == ss[i]
        assert de["altitude"] == quantised_altitude(alt[i], gh[i])
        assert (de["cpr_format"], do["cpr_format"]) == (0, 1)
        res = airborne_position_pair(de["cpr_lat"], de["cpr_lon"], do["cpr_lat"], do["cpr_lon"],
                                     even_is_newer=True)  # fmt: skip
        if res is None:  # straddling an NL transition
            assert np.min(np.abs(cpr.NL_TRANSITIONS - abs(lat[i]))) < 1e-4
            continue
        assert abs(res[0] - lat[i]) < 3e-5 and lon_diff(res[1], lon[i]) < 360 / 2**17


@FAST
@given(st.lists(st.tuples(ICAOS, LAT, LON, st.floats(0, 200), st.floats(0, 359.9),
                          st.integers(5, 8)), min_size=1, max_size=20))  # fmt: skip
def test_surface_position_pymodes(rows: list[tuple[Any, ...]]) -> None:
    icao, lat, lon, gs, trk, tc = (list(c) for c in zip(*rows, strict=True))
    even = enc.surface_position(icao, lat, lon, 0, gs_kt=gs, track_deg=trk, tc=tc)
    odd = enc.surface_position(icao, lat, lon, 1, gs_kt=gs, track_deg=trk, tc=tc)
    assert_parity(odd, 0)
    for i, (de, do) in enumerate(zip(pms_all(even), pms_all(odd), strict=True)):
        assert movement_ok(de["groundspeed"], gs[i])
        assert de["track_status"] == 1 and ang_diff(de["track"], trk[i]) <= 360 / 256 + 1e-9
        cpr_fields = (de["cpr_lat"], de["cpr_lon"], do["cpr_lat"], do["cpr_lon"])
        res = surface_position_pair(*cpr_fields, lat_ref=lat[i], lon_ref=lon[i],
                                    even_is_newer=False)  # fmt: skip
        if res is None:
            continue
        assert abs(res[0] - lat[i]) < 1e-5 and lon_diff(res[1], lon[i]) < 90 / 2**17


def movement_ok(decoded: float, gs: float) -> bool:
    """The DO-260B movement intervals: below 0.125 kt "stopped" (0), then steps of 0.125 kt
    to 1 kt, 0.25 to 2, 0.5 to 15, 1 to 70, 2 to 100, 5 to 175, then "175 kt or more"."""
    if gs < 0.125:
        return decoded == 0
    if gs >= 175:
        return decoded == 175
    step = next(s for top, s in [(1, 0.125), (2, 0.25), (15, 0.5), (70, 1), (100, 2), (175, 5)]
                if gs < top)  # fmt: skip
    return bool(decoded <= gs + 1e-4 and gs < decoded + step + 1e-4)


VRATE = st.one_of(st.just(math.nan), st.floats(-32000, 32000))
DIFF = st.one_of(st.just(math.nan), st.floats(-3100, 3100))


@FAST
@given(st.lists(st.tuples(ICAOS, st.floats(2, 1000), st.floats(0, 359.99), VRATE,
                          st.integers(0, 1), DIFF, st.integers(0, 7)),
                min_size=1, max_size=20))  # fmt: skip
def test_velocity_ground_pymodes(rows: list[tuple[Any, ...]]) -> None:
    icao, gs, trk, vr, src, diff, nacv = (list(c) for c in zip(*rows, strict=True))
    fr = enc.velocity_ground(icao, gs, trk, vr, vrate_source=src, gnss_baro_diff_ft=diff, nacv=nacv)
    assert_parity(fr, 0)
    for i, d in enumerate(pms_all(fr)):
        assert d["subtype"] == 1 and d["nac_v"] == nacv[i]
        # each component is rounded to 1 kt: at most 0.71 kt off; pyModeS truncates gs
        assert abs(d["groundspeed"] - gs[i]) < 1.72
        assert ang_diff(d["track"], trk[i]) <= math.degrees(math.asin(0.71 / gs[i])) + 1e-6
        assert d["vr_source"] == ("GNSS" if src[i] else "BARO")
        if math.isnan(vr[i]):
            assert d["vertical_rate"] is None
        else:
            assert abs(d["vertical_rate"] - vr[i]) <= 32
        if math.isnan(diff[i]):
            assert d["geo_minus_baro"] is None
        else:
            assert abs(d["geo_minus_baro"] - diff[i]) <= 12.5


@FAST
@given(st.lists(st.tuples(ICAOS, st.floats(0, 359.99), st.floats(0, 1000), st.booleans(),
                          VRATE), min_size=1, max_size=20))  # fmt: skip
def test_velocity_air_pymodes(rows: list[tuple[Any, ...]]) -> None:
    icao, hdg, spd, tas, vr = (list(c) for c in zip(*rows, strict=True))
    fr = enc.velocity_air(icao, hdg, spd, vr, tas=tas)
    assert_parity(fr, 0)
    for i, d in enumerate(pms_all(fr)):
        assert d["subtype"] == 3 and d["airspeed_type"] == ("TAS" if tas[i] else "IAS")
        assert ang_diff(d["heading"], hdg[i]) <= 360 / 2048 + 1e-9
        assert abs(d["airspeed"] - spd[i]) <= 0.5


# DO-260B version 2 operational status: (ME bit, width) of each capability / mode subfield
AIR_CC = {"acas_operational": (11, 1), "es_in": (12, 1), "arv": (15, 1), "ts": (16, 1),
          "tc_report": (17, 2), "uat_in": (19, 1)}  # fmt: skip
SURF_CC = {"poa": (11, 1), "es_in": (12, 1), "b2_low": (15, 1), "uat_in": (16, 1),
           "nacv": (17, 3), "nic_sup_c": (20, 1), "length_width": (21, 4)}  # fmt: skip
OM = {"acas_ra_active": (27, 1), "ident_switch": (28, 1), "single_antenna": (30, 1),
      "sda": (31, 2)}  # fmt: skip


def _subfields(spec: dict[str, tuple[int, int]]) -> st.SearchStrategy[dict[str, int]]:
    return st.fixed_dictionaries({k: st.integers(0, (1 << w) - 1) for k, (_, w) in spec.items()})


@FAST
@given(ICAOS, st.booleans(), _subfields(AIR_CC), _subfields(SURF_CC), _subfields(OM),
       st.integers(0, 15), st.integers(0, 3), st.integers(0, 1), st.integers(0, 1),
       st.integers(0, 1), st.integers(0, 1), st.integers(0, 255))  # fmt: skip
def test_operational_status_pymodes(
    icao: int, surface: bool, air_cc: dict[str, int], surf_cc: dict[str, int],
    om: dict[str, int], nacp: int, sil: int, nic_a: int, baro_or_trk: int, hrd: int,
    sils: int, offset: int,
) -> None:  # fmt: skip
    cc = surf_cc if surface else air_cc
    fr = enc.operational_status(
        icao, surface=surface, nacp=nacp, sil=sil, nic_sup_a=nic_a, hrd=hrd,
        sil_supplement=sils, nic_baro=baro_or_trk, trk_hdg=baro_or_trk, gva=2,
        gps_antenna_offset=offset, **cc, **om,
    )  # fmt: skip
    assert_parity(fr, 0)
    d = pms_all(fr)[0]
    assert (d["subtype"], d["version"], d["nac_p"], d["sil"]) == (int(surface), 2, nacp, sil)
    assert (d["nic_supplement_a"], d["hrd"], d["sil_supplement"]) == (nic_a, hrd, sils)
    spec = SURF_CC if surface else AIR_CC
    assert d["capability_class"] == sum(cc[k] << (24 - b - w + 1) for k, (b, w) in spec.items())
    mode = sum(om[k] << (40 - b - w + 1) for k, (b, w) in OM.items())
    assert d["operational_mode"] == mode + (offset if surface else 0)
    if not surface:
        assert d["nic_baro"] == baro_or_trk
    assert bits(fr.hex()[0], 32 + 49, 2) == (0 if surface else 2)  # GVA
    assert bits(fr.hex()[0], 32 + 53, 1) == baro_or_trk  # NIC baro / TRK-HDG
    assert fr.hex()[0][:2] == ("8c" if surface else "8d")


@FAST
@given(st.lists(st.tuples(ICAOS, st.integers(0, 6), st.integers(0, 4095)), min_size=1,
                max_size=20))  # fmt: skip
def test_emergency_status_pymodes(rows: list[tuple[int, int, int]]) -> None:
    icao, em, sq_int = zip(*rows, strict=True)
    sq = [int(f"{s:04o}") for s in sq_int]
    fr = enc.emergency_status(list(icao), list(em), sq)
    assert_parity(fr, 0)
    for d, e, s in zip(pms_all(fr), em, sq, strict=True):
        assert (d["typecode"], d["subtype"], d["emergency_state"]) == (28, 1, e)
        assert d["squawk"] == f"{s:04d}"


@FAST
@given(st.lists(st.tuples(ICAOS, ALT, st.booleans(), st.integers(0, 5), st.integers(0, 31),
                          st.integers(0, 63), st.integers(0, 4095)),
                min_size=1, max_size=20))  # fmt: skip
def test_surveillance_pymodes(rows: list[tuple[Any, ...]]) -> None:
    icao, alt, gh, fs, dr, um, sq_int = (list(c) for c in zip(*rows, strict=True))
    sq = [int(f"{s:04o}") for s in sq_int]
    mb = enc.mb_bds20("TEST1234")
    for fr, df in (
        (enc.altitude_reply(icao, alt, fs=fs, dr=dr, um=um, gillham=gh), 4),
        (enc.identity_reply(icao, sq, fs=fs, dr=dr, um=um), 5),
        (enc.commb_altitude_reply(icao, alt, mb, fs=fs, dr=dr, um=um, gillham=gh), 20),
        (enc.commb_identity_reply(icao, sq, mb, fs=fs, dr=dr, um=um), 21),
    ):
        assert_parity(fr, icao)
        for i, d in enumerate(pms_all(fr)):
            assert d["df"] == df and int(d["icao"], 16) == icao[i]
            if df in (4, 20):
                assert d["altitude"] == quantised_altitude(alt[i], gh[i])
            else:
                assert d["squawk"] == f"{sq[i]:04d}"
            if df < 16:
                assert (d["flight_status"], d["downlink_request"], d["utility_message"]) == (
                    fs[i], dr[i], um[i])  # fmt: skip
            else:
                assert d["callsign"] == "TEST1234"
    fr = enc.all_call_reply(icao, ca=fs, iid=um)
    assert_parity(fr, um)
    for d, a, c in zip(pms_all(fr), icao, fs, strict=True):
        assert (d["df"], int(d["icao"], 16), d["capability"]) == (11, a, c)


NAN_OR = st.one_of  # a value, or NaN ("not available")


@FAST
@given(st.lists(st.tuples(
    NAN_OR(st.just(math.nan), st.floats(0, 65520)), NAN_OR(st.just(math.nan), st.floats(0, 65520)),
    NAN_OR(st.just(math.nan), st.floats(800, 1209.5)), st.integers(-1, 15), st.integers(-1, 3),
), min_size=1, max_size=10))  # fmt: skip
def test_mb_bds40_pymodes(rows: list[tuple[Any, ...]]) -> None:
    mcp, fms, baro, modes, src = (list(c) for c in zip(*rows, strict=True))
    mb = enc.mb_bds40(mcp, fms, baro, nav_modes=modes, target_altitude_source=src)
    for i, m in enumerate(mb):
        d = bds40.decode_bds40(int(m))
        for key, v in (("selected_altitude_mcp", mcp[i]), ("selected_altitude_fms", fms[i])):
            assert (key not in d) if math.isnan(v) else abs(d[key] - v) <= 8
        if math.isnan(baro[i]):
            assert "baro_pressure_setting" not in d
        else:
            assert abs(d["baro_pressure_setting"] - baro[i]) <= 0.05 + 1e-9
        if modes[i] < 0:
            assert "vnav_mode" not in d
        else:
            assert (d["vnav_mode"], d["altitude_hold_mode"], d["approach_mode"]) == (
                bool(modes[i] & 2), bool(modes[i] & 4), bool(modes[i] & 8))  # fmt: skip
        sources = ["unknown", "aircraft_altitude", "mcp_fcu", "fms"]
        assert d.get("target_altitude_source") == (sources[src[i]] if src[i] >= 0 else None)


@FAST
@given(st.lists(st.tuples(
    st.floats(-89, 89), st.floats(0, 359.99), st.floats(0, 2046), st.floats(-15.9, 15.9),
    st.floats(0, 2046),
), min_size=1, max_size=10))  # fmt: skip
def test_mb_bds50_pymodes(rows: list[tuple[float, ...]]) -> None:
    roll, trk, gs, rate, tas = (list(c) for c in zip(*rows, strict=True))
    for i, m in enumerate(enc.mb_bds50(roll, trk, gs, rate, tas)):
        d = bds50.decode_bds50(int(m))
        assert abs(d["roll"] - roll[i]) <= 45 / 512 + 1e-9
        assert ang_diff(d["true_track"], trk[i]) <= 90 / 1024 + 1e-9
        assert abs(d["groundspeed"] - gs[i]) <= 1 and abs(d["true_airspeed"] - tas[i]) <= 1
        assert abs(d["track_rate"] - rate[i]) <= 1 / 64 + 1e-9
    assert bds50.decode_bds50(int(enc.mb_bds50()[0])) == {}


@FAST
@given(st.lists(st.tuples(
    st.floats(0, 359.99), st.floats(0, 1023), st.floats(0, 4.09), st.floats(-16000, 16000),
    st.floats(-16000, 16000),
), min_size=1, max_size=10))  # fmt: skip
def test_mb_bds60_pymodes(rows: list[tuple[float, ...]]) -> None:
    hdg, ias, mach, bvr, ivr = (list(c) for c in zip(*rows, strict=True))
    for i, m in enumerate(enc.mb_bds60(hdg, ias, mach, bvr, ivr)):
        d = bds60.decode_bds60(int(m))
        assert ang_diff(d["magnetic_heading"], hdg[i]) <= 90 / 1024 + 1e-9
        assert abs(d["indicated_airspeed"] - ias[i]) <= 0.5
        assert abs(d["mach"] - mach[i]) <= 0.002 + 1e-9
        assert abs(d["baro_vertical_rate"] - bvr[i]) <= 16
        assert abs(d["inertial_vertical_rate"] - ivr[i]) <= 16


def test_mb_bds20_pymodes() -> None:
    mb = enc.mb_bds20(["AFR34ZG", "klm1023", ""])
    assert [bds20.decode_bds20(int(m))["callsign"] for m in mb] == ["AFR34ZG", "KLM1023", ""]
    assert all(bds20.is_bds20(int(m)) for m in mb[:2])


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="callsign"):
        enc.identification(1, "ÄBC")
    with pytest.raises(ValueError, match="callsign"):
        enc.identification(1, "AB-C")
    with pytest.raises(ValueError, match="longer"):
        enc.identification(1, "ABCDEFGHI")
    with pytest.raises(ValueError, match="octal"):
        enc.identity_reply(1, 7780)
    with pytest.raises(ValueError, match="tc"):
        enc.airborne_position(1, 0.0, 0.0, 0.0, 0, tc=19)
    with pytest.raises(ValueError, match="icao24"):
        enc.all_call_reply(1 << 24)
    with pytest.raises(ValueError, match="one message"):
        enc.identification_hex([1, 2], "A")


def test_columns_broadcast_and_nan_means_absent() -> None:
    fr = enc.airborne_position([1, 2, 3], [45.0, np.nan, 46.0], 7.0, np.nan, 0)
    assert fr.raw.shape == (3, 14) and fr.nbytes.tolist() == [14, 14, 14]
    d = pms_all(fr)
    assert [x["typecode"] for x in d] == [11, 0, 11]  # no position: type code 0
    assert all(x.get("altitude") is None for x in d)
    fb = fr.to_frame_batch(t_rx=[1.0, 2.0, 3.0])
    assert len(fb) == 3 and fb.hex(0) == fr.hex()[0]


# ------------------------------------------------------------------------------------------
# Round trips through tailwatch.decode (the lead's decoder), within quantisation


def tw_decode(frames: enc.Frames) -> Any:
    from tailwatch import decode

    batch = decode(frames.to_frame_batch())
    assert len(batch) == len(frames.nbytes), batch.rejects
    return batch


@FAST
@given(st.lists(st.tuples(ICAOS, st.text(CHARSET, max_size=8), CATEGORY, LAT, LON,
                          st.floats(-1000, 50175), st.floats(2, 1000), st.floats(0, 359.99),
                          VRATE, st.integers(0, 1)), min_size=1, max_size=20))  # fmt: skip
def test_tailwatch_decode_adsb_roundtrip(rows: list[tuple[Any, ...]]) -> None:
    icao, cs, cat, lat, lon, alt, gs, trk, vr, src = (np.array(c) for c in zip(*rows, strict=True))
    n = len(icao)
    fr = enc.Frames.concat([
        enc.identification(icao, cs, cat),
        enc.airborne_position(icao, lat, lon, alt, 1),
        enc.velocity_ground(icao, gs, trk, vr, vrate_source=src),
        enc.surface_position(icao, lat, lon, 0, gs_kt=gs / 10, track_deg=trk),
    ])  # fmt: skip
    b = tw_decode(fr)
    ident, pos, vel, surf = (slice(k * n, (k + 1) * n) for k in range(4))
    assert np.array_equal(b["icao24"], np.tile(icao, 4)) and b["crc_ok"].all()
    assert [c.decode() for c in b["callsign"][ident]] == [c.rstrip() for c in cs]
    assert np.array_equal(b["category"][ident], cat)
    q_alt = np.floor(alt / 25 + 0.5) * 25
    assert np.array_equal(b["altitude_ft"][pos], q_alt.astype(np.float32))
    assert np.array_equal(b["cpr_odd"][pos], np.ones(n)) and np.all(b["surface"][pos] == 0)
    yz, xz = cpr.airborne_encode_batch(lat, lon, np.ones(n, np.int64))
    assert np.array_equal(b["cpr_lat"][pos], yz) and np.array_equal(b["cpr_lon"][pos], xz)
    assert np.all(np.abs(b["gs_kt"][vel] - gs) < 0.72)
    err = np.abs((b["track_deg"][vel] - trk + 180) % 360 - 180)
    assert np.all(err <= np.degrees(np.arcsin(0.71 / gs)) + 1e-3)
    vr_ok = ~np.isnan(vr)
    assert np.array_equal(np.isnan(b["vrate_fpm"][vel]), ~vr_ok)
    assert np.all(np.abs(b["vrate_fpm"][vel][vr_ok] - vr[vr_ok]) <= 32)
    assert np.array_equal(b["vrate_source"][vel][vr_ok], src[vr_ok])  # 0 baro, 1 gnss
    yz, xz = cpr.surface_encode_batch(lat, lon, np.zeros(n, np.int64))
    assert np.all(b["surface"][surf] == 1) and np.all(b["on_ground"][surf] == 1)
    assert np.array_equal(b["cpr_lat"][surf], yz) and np.array_equal(b["cpr_lon"][surf], xz)
    assert all(movement_ok(g, v) for g, v in zip(b["gs_kt"][surf], gs / 10, strict=True))


@FAST
@given(ICAOS, st.booleans(), st.integers(0, 15), st.integers(0, 3), st.integers(0, 3),
       st.integers(0, 1), st.integers(0, 3), st.integers(0, 1), st.integers(0, 7),
       st.sampled_from([7700, 7600, 7500, 1200, 17]))  # fmt: skip
def test_tailwatch_decode_status_roundtrip(
    icao: int, surface: bool, nacp: int, sil: int, sda: int, hrd: int, gva: int, nsc: int,
    em: int, squawk: int,
) -> None:  # fmt: skip
    fr = enc.Frames.concat([
        enc.operational_status(icao, surface=surface, nacp=nacp, sil=sil, sda=sda, hrd=hrd,
                             gva=gva, nic_sup_c=nsc, nic_baro=1, sil_supplement=1),
        enc.emergency_status(icao, min(em, 6), squawk),
    ])  # fmt: skip
    b = tw_decode(fr)
    assert (b["nacp"][0], b["sil"][0], b["sda"][0], b["hrd"][0], b["version"][0]) == (
        nacp, sil, sda, hrd, 2)  # fmt: skip
    assert b["sil_supplement"][0] == 1 and b["on_ground"][0] == int(surface)
    if surface:
        assert b["nic_sup_c"][0] == nsc
    else:
        assert b["gva"][0] == gva and b["nic_baro"][0] == 1
    assert b["emergency"][1] == min(em, 6) and b["squawk"][1] == squawk


@FAST
@given(st.lists(st.tuples(ICAOS, ALT, st.booleans(), st.integers(0, 4095), st.integers(0, 5)),
                min_size=1, max_size=20))  # fmt: skip
def test_tailwatch_decode_surveillance_roundtrip(rows: list[tuple[Any, ...]]) -> None:
    icao, alt, gh, sq_int, fs = (list(c) for c in zip(*rows, strict=True))
    sq = [int(f"{s:04o}") for s in sq_int]
    n = len(icao)
    fr = enc.Frames.concat([
        enc.altitude_reply(icao, alt, fs=fs, gillham=gh),
        enc.identity_reply(icao, sq, fs=fs),
        enc.all_call_reply(icao),
        enc.commb_altitude_reply(icao, alt, enc.mb_bds20("AFR34ZG"), gillham=gh),
        enc.commb_identity_reply(icao, sq, enc.mb_bds60(264.2, 250, 0.7, -1000, -1024)),
    ])  # fmt: skip
    b = tw_decode(fr)
    assert np.array_equal(b["icao24"], np.tile(icao, 5))
    assert np.array_equal(b["df"], np.repeat([4, 5, 11, 20, 21], n))
    q = [quantised_altitude(a, g) for a, g in zip(alt, gh, strict=True)]
    assert np.array_equal(b["altitude_ft"][:n], np.array(q, np.float32))
    assert np.array_equal(b["altitude_ft"][3 * n : 4 * n], np.array(q, np.float32))
    assert b["squawk"][n : 2 * n].tolist() == sq and b["squawk"][4 * n :].tolist() == sq
    alert = np.isin(fs, [2, 3, 4])
    assert np.array_equal(b["alert"][:n], alert.astype(np.int8))
    assert all(c == b"AFR34ZG" for c in b["callsign"][3 * n : 4 * n])
    assert np.all(b["bds"][4 * n :] == 0x60) and np.all(b["ias_kt"][4 * n :] == 250)
    assert np.allclose(b["heading_deg"][4 * n :], 264.2, atol=90 / 1024)


def test_tailwatch_decode_commb_roundtrip() -> None:
    mb = np.concatenate([
        enc.mb_bds40(35000, 35008, 1013.25, nav_modes=2 | 4 | 8, target_altitude_source=3),
        enc.mb_bds50(10.0, 100.0, 400.0, 1.0, 420.0),
        enc.mb_bds60(90.0, 250.0, 0.78, -1000.0, -1024.0),
    ])  # fmt: skip
    b = tw_decode(enc.commb_altitude_reply(0x393322, 30000, mb))
    assert b["bds"].tolist() == [0x40, 0x50, 0x60]
    assert b["selected_altitude_ft"][0] == 35008 and b["nav_modes"][0] == 14
    assert b["baro_setting_hpa"][0] == pytest.approx(1013.25, abs=0.0501)
    assert b["roll_deg"][1] == pytest.approx(10.0, abs=45 / 512)
    assert b["track_rate_deg_s"][1] == pytest.approx(1.0, abs=1 / 64)
    assert (b["gs_kt"][1], b["tas_kt"][1]) == (400, 420)
    assert b["mach"][2] == pytest.approx(0.78, abs=0.002)
    assert b["vrate_fpm"][2] == pytest.approx(-1000, abs=16)


def test_tailwatch_decode_gnss_height_in_feet() -> None:
    b = tw_decode(enc.airborne_position(0xABCDEF, 45.0, 7.0, [12500.0, 38000.0], 0, tc=20))
    assert b["altitude_source"].tolist() == [1, 1]
    assert b["altitude_ft"].tolist() == [12500.0, 38000.0]


def test_gnss_height_rs1090() -> None:
    import rs1090

    fr = enc.airborne_position(0xABCDEF, 45.0, 7.0, [12500.0, 38000.0, -975.0], 0, tc=[20, 21, 22])
    got = [rs1090.decode(h) for h in fr.hex()]
    assert [g["altitude"] for g in got] == [12500, 38000, -975]
    assert all(g["source"] == "GNSS" for g in got)
