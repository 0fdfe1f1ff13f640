"""Comm-B registers (DF20/21 MB) and ACAS reports (DF16 MV): tailwatch.decode.commb against
pyModeS 3.6.1 on every DF20/21 message of the test data, against ADS-B on a real flight, and
against worked examples of the literature.

Deliberate differences with pyModeS (each counted below with a bound):
- 5,0/6,0 ambiguity: pyModeS returns the first candidate (5,0) with ``bds_candidates`` unless it
  is given the aircraft's state; tailwatch decides from physics inside the message (docs/
  commb.md). On these rows ``bds`` may differ; they are checked instead against pyModeS given
  the state of neighbouring replies, and against the ADS-B velocity of the same aircraft.
- BDS 1,0: pyModeS rejects an overlay-capability/subnetwork-version combination that the
  standard allows; tailwatch does not (no such row in the data; a synthetic case below).
- Callsigns keep leading spaces (pyModeS strips them); no such row in the data.
"""

from __future__ import annotations

import bisect
import csv
import gzip
import json
import math
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyModeS as pms
import pytest
from pyModeS.decoder.bds import bds60

from tailwatch.core.frames import FrameBatch
from tailwatch.core.schema import MESSAGE_FIELD_BY_NAME, MESSAGE_FIELDS, empty_columns, valid_mask
from tailwatch.decode.commb import (
    fill_acas_mv,
    fill_commb,
    is_bds50,
    is_bds60,
    mach_from_cas,
    mb_bds,
    score_bds50,
)
from tailwatch.decode.crc import with_parity

DATA = Path(__file__).parent.parent / "data"
AFR = "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz"

BDS_CODE = {
    "1,0": 0x10,
    "1,7": 0x17,
    "2,0": 0x20,
    "3,0": 0x30,
    "4,0": 0x40,
    "5,0": 0x50,
    "6,0": 0x60,
}

# The columns fill_commb may write; every other column must stay null.
COMMB_FIELDS = (
    "bds",
    "callsign",
    "selected_altitude_ft",
    "selected_altitude_source",
    "baro_setting_hpa",
    "nav_modes",
    "roll_deg",
    "track_deg",
    "gs_kt",
    "track_rate_deg_s",
    "tas_kt",
    "heading_deg",
    "ias_kt",
    "mach",
    "vrate_fpm",
    "vrate_source",
    "acas_ra",
    "acas_ara",
    "acas_rac",
    "acas_rat",
    "acas_mte",
)
# Absolute tolerances: well under each field's LSB, above float32 rounding.
TOL = {
    "roll_deg": 1e-4,
    "track_deg": 1e-4,
    "track_rate_deg_s": 1e-6,
    "heading_deg": 1e-4,
    "mach": 1e-6,
    "baro_setting_hpa": 1e-3,
}


@dataclass(frozen=True)
class Sample:
    t: list[float]
    icao: list[str]
    hexmsg: list[str]
    cols: dict[str, npt.NDArray[Any]]
    theirs: list[dict[str, Any]]


def _decode(rows: list[tuple[float, str, str]]) -> Sample:
    hexmsg = [h for _, _, h in rows]
    fb = FrameBatch.from_hex(hexmsg)
    assert len(fb) == len(rows)
    cols = empty_columns(MESSAGE_FIELDS, len(fb))
    fill_commb(fb.raw, np.ones(len(fb), dtype=bool), cols)
    return Sample(
        t=[t for t, _, _ in rows],
        icao=[i.upper() for _, i, _ in rows],
        hexmsg=hexmsg,
        cols=cols,
        theirs=[dict(pms.decode(h)) for h in hexmsg],
    )


@cache
def sample(name: str) -> Sample:
    if name == "afr":
        with gzip.open(DATA / AFR, "rt") as fh:
            recs = [json.loads(line) for line in fh]
        rows = [
            (r["timestamp"], r["icao24"], r["frame"].upper())
            for r in recs
            if int(r["frame"][:2], 16) >> 3 in (20, 21)
        ]
    else:
        with open(DATA / f"pymodes_sample_data_commb_{name}.csv", encoding="utf-8-sig") as fh:
            rows = [(float(t), icao, h) for t, icao, h in csv.reader(fh)]
    return _decode(rows)


@cache
def adsb_velocities() -> tuple[list[float], list[tuple[float, float]]]:
    """(time, (ground speed kt, track deg)) of AFR34ZG from its DF17 airborne velocities and
    surface positions (when moving at 5 kt or more), as decoded by rs1090 in the same file."""
    with gzip.open(DATA / AFR, "rt") as fh:
        recs = [json.loads(line) for line in fh]
    vel = [
        (r["timestamp"], (r["groundspeed"], r["track"]))
        for r in recs
        if r["df"] == "17"
        and r.get("track") is not None
        and (r.get("bds") == "09" or (r.get("bds") == "06" and r["groundspeed"] >= 5))
    ]
    return [t for t, _ in vel], [v for _, v in vel]


DATASETS = ("df20", "df21", "afr")


def _ambiguous(d: dict[str, Any]) -> bool:
    cands = d.get("bds_candidates") or []
    return "5,0" in cands and "6,0" in cands


def _angle_diff(a: float, b: float) -> float:
    d = abs(a - b) % 360.0
    return min(d, 360.0 - d)


def _payload(hexmsg: str) -> int:
    return int(hexmsg[8:22], 16)


# ---------------------------------------------------------------------------------------------
# Register inference against pyModeS.

# Rows per dataset where pyModeS (no known state) says 5,0 among 5,0/6,0 candidates and
# tailwatch's physics says 6,0 (all are checked in the two tests after this one).
RESOLVED_TO_60_MAX = {"df20": 47, "df21": 58, "afr": 22}


@pytest.mark.parametrize("name", DATASETS)
def test_bds_agrees_with_pymodes(name: str) -> None:
    s = sample(name)
    diffs: Counter[str] = Counter()
    unexpected = []
    for i, d in enumerate(s.theirs):
        ours = int(s.cols["bds"][i])
        theirs = BDS_CODE.get(d.get("bds", ""), 0)
        if ours == theirs:
            continue
        if _ambiguous(d) and theirs == 0x50 and ours in (0x60, 0):
            diffs[f"ambiguous->{ours:#x}"] += 1
        else:
            unexpected.append((s.hexmsg[i], theirs, ours))
    assert unexpected == []
    assert diffs["ambiguous->0x0"] == 0  # every ambiguous row of the data is resolved
    assert diffs["ambiguous->0x60"] <= RESOLVED_TO_60_MAX[name]
    # The rule is not vacuous: real rows of each register are found.
    found = Counter(int(b) for b in s.cols["bds"])
    assert found[0x40] > 500 and found[0x50] > 500 and found[0x60] > 500
    assert found[0x20] > 100 and found[0x10] > 40 and found[0x17] > 20


def _nearest(lst: list[tuple[float, dict[str, Any]]], t: float) -> dict[str, Any] | None:
    """Decoded reply of a time-sorted list nearest to ``t``, within 60 s."""
    k = bisect.bisect_left([x[0] for x in lst], t)
    near = [lst[j] for j in (k - 1, k) if 0 <= j < len(lst) and abs(lst[j][0] - t) <= 60.0]
    return min(near, key=lambda x: abs(x[0] - t))[1] if near else None


def test_ambiguity_resolution_matches_pymodes_given_neighbour_state() -> None:
    """pyModeS resolves 5,0/6,0 when told the aircraft's state; give it the state of the
    nearest unambiguous 5,0 and 6,0 replies of the same aircraft (within 60 s)."""
    compared = 0
    disagree: set[str] = set()
    for name in DATASETS:
        s = sample(name)
        refs: dict[tuple[str, str], list[tuple[float, dict[str, Any]]]] = {}
        for t, icao, d in zip(s.t, s.icao, s.theirs, strict=True):
            if d.get("bds") in ("5,0", "6,0") and not d.get("bds_candidates"):
                refs.setdefault((icao, d["bds"]), []).append((t, d))
        for lst in refs.values():
            lst.sort(key=lambda x: x[0])
        for i, d in enumerate(s.theirs):
            if not _ambiguous(d):
                continue
            r50 = _nearest(refs.get((s.icao[i], "5,0"), []), s.t[i])
            r60 = _nearest(refs.get((s.icao[i], "6,0"), []), s.t[i])
            if r50 is None or r60 is None:
                continue
            known = {
                "groundspeed": r50.get("groundspeed"),
                "track": r50.get("true_track"),
                "tas": r50.get("true_airspeed"),
                "heading": r60.get("magnetic_heading"),
                "ias": r60.get("indicated_airspeed"),
                "mach": r60.get("mach"),
            }
            ref = pms.decode(s.hexmsg[i], known={k: v for k, v in known.items() if v is not None})
            compared += 1
            if int(s.cols["bds"][i]) != BDS_CODE[ref["bds"]]:
                disagree.add(s.hexmsg[i])
    assert compared >= 250
    assert disagree <= set(BETTER_THAN_NEIGHBOUR_STATE)


# Replies where pyModeS given the neighbours' state is wrong, and why.
BETTER_THAN_NEIGHBOUR_STATE = {
    # AFR34ZG taxiing at Toulouse (the nearest 5,0 is 50 s older, in the air): read as 5,0 it
    # has 31 deg of roll at TAS 0 kt; read as 6,0 (tailwatch) its heading 63 deg matches the
    # ADS-B surface track (67-73 deg) of the same second.
    "A900080096700000200C00D12548": "taxiing, 5,0 reading absurd",
}


def test_ambiguity_resolution_matches_adsb_velocity() -> None:
    """AFR34ZG: for every 5,0/6,0-ambiguous reply with an ADS-B velocity within 5 s, the
    register chosen reads like the aircraft: a 5,0 reading has the ADS-B ground speed (25 kt)
    and track (10 deg); a 6,0 reading has a heading within 20 deg of the ADS-B track."""
    s = sample("afr")
    times, vel = adsb_velocities()
    checked = 0
    wrong = []
    for i, d in enumerate(s.theirs):
        if not _ambiguous(d):
            continue
        k = bisect.bisect_left(times, s.t[i])
        near = [j for j in (k - 1, k) if 0 <= j < len(times) and abs(times[j] - s.t[i]) <= 5]
        if not near:
            continue
        gs_adsb, trk_adsb = vel[min(near, key=lambda j: abs(times[j] - s.t[i]))]
        code = int(s.cols["bds"][i])
        if code == 0x50:
            ok = (
                abs(float(s.cols["gs_kt"][i]) - gs_adsb) <= 25
                and _angle_diff(float(s.cols["track_deg"][i]), trk_adsb) <= 10
            )
        else:
            ok = code == 0x60 and _angle_diff(float(s.cols["heading_deg"][i]), trk_adsb) <= 20
        checked += 1
        if not ok:
            wrong.append(s.hexmsg[i])
    assert checked >= 600  # 599 airborne 5,0, and taxiing 6,0
    assert wrong == []


# ---------------------------------------------------------------------------------------------
# Fields against pyModeS.


def _expected(d: dict[str, Any], code: int, payload: int) -> dict[str, Any]:
    """Our columns as pyModeS decodes the register we chose."""
    if code == 0x60 and d.get("bds") != "6,0":
        d = bds60.decode_bds60(payload)  # ambiguity resolved to 6,0: pyModeS's 6,0 reading
    e: dict[str, Any] = {"bds": code}
    if code == 0x20:
        e["callsign"] = d["callsign"].encode()
    elif code == 0x40:
        if "selected_altitude_mcp" in d:
            e["selected_altitude_ft"], e["selected_altitude_source"] = d["selected_altitude_mcp"], 0
        elif "selected_altitude_fms" in d:
            e["selected_altitude_ft"], e["selected_altitude_source"] = d["selected_altitude_fms"], 1
        if "baro_pressure_setting" in d:
            e["baro_setting_hpa"] = d["baro_pressure_setting"]
        if "vnav_mode" in d:
            e["nav_modes"] = (
                2 * d["vnav_mode"] + 4 * d["altitude_hold_mode"] + 8 * d["approach_mode"]
            )
    elif code == 0x50:
        for ours, theirs in (
            ("roll_deg", "roll"),
            ("track_deg", "true_track"),
            ("gs_kt", "groundspeed"),
            ("track_rate_deg_s", "track_rate"),
            ("tas_kt", "true_airspeed"),
        ):
            if theirs in d:
                e[ours] = d[theirs]
    elif code == 0x60:
        for ours, theirs in (
            ("heading_deg", "magnetic_heading"),
            ("ias_kt", "indicated_airspeed"),
            ("mach", "mach"),
        ):
            if theirs in d:
                e[ours] = d[theirs]
        if "baro_vertical_rate" in d:
            e["vrate_fpm"], e["vrate_source"] = d["baro_vertical_rate"], 0
        elif "inertial_vertical_rate" in d:
            e["vrate_fpm"], e["vrate_source"] = d["inertial_vertical_rate"], 2
    return e


@pytest.mark.parametrize("name", DATASETS)
def test_fields_agree_with_pymodes(name: str) -> None:
    s = sample(name)
    valid = {f: valid_mask(MESSAGE_FIELD_BY_NAME[f], s.cols[f]) for f in COMMB_FIELDS}
    compared: Counter[str] = Counter()
    bad = []
    for i, d in enumerate(s.theirs):
        code = int(s.cols["bds"][i])
        if code == 0:
            continue
        e = _expected(d, code, _payload(s.hexmsg[i]))
        for f in COMMB_FIELDS:
            if f not in e:
                if valid[f][i]:
                    bad.append((s.hexmsg[i], f, "should be null", s.cols[f][i]))
                continue
            got = s.cols[f][i]
            if f == "callsign":
                ok = got == e[f] and not got.endswith(b" ")
            elif f in TOL:
                ok = math.isclose(float(got), e[f], abs_tol=TOL[f])
            else:
                ok = got == e[f]
            compared[f] += 1
            if not ok:
                bad.append((s.hexmsg[i], f, e[f], got))
    assert bad == []
    # Every kind of field was exercised on real data.
    for f in (
        "callsign",
        "selected_altitude_ft",
        "baro_setting_hpa",
        "roll_deg",
        "track_deg",
        "gs_kt",
        "track_rate_deg_s",
        "tas_kt",
        "heading_deg",
        "ias_kt",
        "mach",
        "vrate_fpm",
    ):
        assert compared[f] > 50, f
    if name != "afr":  # the AFR34ZG transponder never sets the 4,0 mode status bit
        assert compared["nav_modes"] > 50


def test_other_columns_untouched() -> None:
    s = sample("df20")
    for f in MESSAGE_FIELDS:
        if f.name not in COMMB_FIELDS:
            assert not valid_mask(f, s.cols[f.name]).any() or f.null is None, f.name


# ---------------------------------------------------------------------------------------------
# Worked examples of the literature (values checked against the published text).


def _one(hexmsg: str) -> dict[str, Any]:
    fb = FrameBatch.from_hex([hexmsg])
    cols = empty_columns(MESSAGE_FIELDS, 1)
    fill_commb(fb.raw, np.ones(1, dtype=bool), cols)
    return {k: v[0] for k, v in cols.items()}


def test_book_bds20_identification() -> None:
    # J. Sun, "The 1090 Megahertz Riddle" (2nd ed.), ch. 6, BDS 2,0: chars 11 12 13 49 48 49 55
    # 32 -> "KLM1017 ".
    r = _one("A000083E202CC371C31DE0AA1CCF")
    assert r["bds"] == 0x20 and r["callsign"] == b"KLM1017"


def test_book_bds17_capability() -> None:
    # "The 1090 Megahertz Riddle", ch. 6, BDS 1,7: MB FA81C100000000 (bits 1-5, 7, 9, 16-18, 24).
    assert _one("A0000638FA81C10000000081A92F")["bds"] == 0x17


def test_book_bds40_intention() -> None:
    # "The 1090 Megahertz Riddle", ch. 7 (pyModeS box): MCP 24000 ft, FMS 24000 ft, 1013.2 mb.
    r = _one("A8001EBCAEE57730A80106DE1344")
    assert r["bds"] == 0x40
    assert r["selected_altitude_ft"] == 24000 and r["selected_altitude_source"] == 0
    assert math.isclose(r["baro_setting_hpa"], 1013.2, abs_tol=1e-3)
    # mode-s.org, "Selected intention (BDS 4,0)" example: MCP 188 x 16 = 3008 ft, FMS 3008 ft,
    # baro 2200 x 0.1 + 800 = 1020 mb, mode status 0.
    r = _one("A000029C85E42F313000007047D3")
    assert r["bds"] == 0x40
    assert r["selected_altitude_ft"] == 3008 and r["selected_altitude_source"] == 0
    assert math.isclose(r["baro_setting_hpa"], 1020.0, abs_tol=1e-3)
    assert r["nav_modes"] == -1


def test_book_bds50_track_and_turn() -> None:
    # "The 1090 Megahertz Riddle", ch. 7: roll -9.7 deg, track 140.273 deg, track rate
    # -0.406 deg/s, GS 476 kt, TAS 466 kt.
    r = _one("A80006ACF9363D3BBF9CE98F1E1D")
    assert r["bds"] == 0x50
    assert round(float(r["roll_deg"]), 1) == -9.7
    assert math.isclose(r["track_deg"], 140.273, abs_tol=1e-3)
    assert math.isclose(r["track_rate_deg_s"], -0.406, abs_tol=1e-3)
    assert r["gs_kt"] == 476 and r["tas_kt"] == 466
    # mode-s.org, "Track and turn (BDS 5,0)" example, raw values x LSB: roll 12 x 45/256,
    # track 650 x 90/512, GS 219 x 2, rate 4 x 8/256, TAS 212 x 2.
    r = _one("A000139381951536E024D4CCF6B5")
    assert r["bds"] == 0x50
    assert math.isclose(r["roll_deg"], 12 * 45 / 256, abs_tol=1e-6)
    assert math.isclose(r["track_deg"], 650 * 90 / 512, abs_tol=1e-4)
    assert r["gs_kt"] == 438 and r["tas_kt"] == 424
    assert math.isclose(r["track_rate_deg_s"], 4 * 8 / 256, abs_tol=1e-6)


def test_book_bds60_heading_and_speed() -> None:
    # "The 1090 Megahertz Riddle", ch. 7: heading 110.391 deg, IAS 259 kt, Mach 0.7,
    # baro rate -2144 ft/min, inertial rate -2016 ft/min.
    r = _one("A80004AAA74A072BFDEFC1D5CB4F")
    assert r["bds"] == 0x60
    assert math.isclose(r["heading_deg"], 110.391, abs_tol=1e-3)
    assert r["ias_kt"] == 259 and math.isclose(r["mach"], 0.7, abs_tol=1e-6)
    assert r["vrate_fpm"] == -2144 and r["vrate_source"] == 0
    # pyModeS test suite (J. Sun, tests/test_commb.py, v2): heading 42.715 deg, IAS 252 kt,
    # Mach 0.42, baro and inertial rates -1920 ft/min.
    r = _one("A00004128F39F91A7E27C46ADC21")
    assert r["bds"] == 0x60
    assert math.isclose(r["heading_deg"], 42.715, abs_tol=1e-3)
    assert r["ias_kt"] == 252 and math.isclose(r["mach"], 0.42, abs_tol=1e-6)
    assert r["vrate_fpm"] == -1920


def test_book_inference_examples() -> None:
    # "The 1090 Megahertz Riddle", ch. 9: the first (DF20) is 6,0, its 5,0 reading having a
    # GS/TAS gap too large; the second (DF21) fits both, and the book resolves it to 5,0 with
    # ADS-B (320 kt, track 250 deg). tailwatch resolves it from the message alone.
    assert _one("A0001838E519F33160240142D7FA")["bds"] == 0x60
    r = _one("A8001EBCFFFB23286004A73F6A5B")
    assert r["bds"] == 0x50
    assert abs(r["gs_kt"] - 320) <= 10 and _angle_diff(float(r["track_deg"]), 250) <= 5


# ---------------------------------------------------------------------------------------------
# Rule details (synthetic MB fields built from the register layouts).


def _mb(*fields: tuple[int, int, int]) -> int:
    """MB from (first bit 1-56, width, value) triples."""
    mb = 0
    for pos, width, value in fields:
        mb |= value << (56 - pos - width + 1)
    return mb


def _frame(df: int, mb: int, address: int = 0x4840D6) -> str:
    data = bytes([df << 3, 0, 0, 0]) + mb.to_bytes(7, "big")
    return with_parity(data, address).hex().upper()


def test_tie_between_50_and_60_is_unresolved() -> None:
    # Roll/heading and track-rate/baro-rate only: both readings valid, no check applies.
    mb = _mb((1, 1, 1), (3, 9, 10), (35, 1, 1), (37, 9, 1))
    hexmsg = _frame(21, mb)
    assert pms.decode(hexmsg)["bds_candidates"] == ["5,0", "6,0"]
    r = _one(hexmsg)
    assert r["bds"] == 0
    assert np.isnan(r["roll_deg"]) and np.isnan(r["heading_deg"])


def test_roll_and_turn_rate_check() -> None:
    # 20 deg of bank (114 x 45/256) at TAS 300 kt turns at g tan(20)/V = 1.30 deg/s
    # (42 x 8/256 = 1.3125): consistent. Three times that rate is not.
    good = _mb((1, 1, 1), (3, 9, 114), (35, 1, 1), (37, 9, 42), (46, 1, 1), (47, 10, 150))
    bad = _mb((1, 1, 1), (3, 9, 114), (35, 1, 1), (37, 9, 126), (46, 1, 1), (47, 10, 150))
    assert score_bds50(good) == 1
    assert score_bds50(bad) == -1
    assert score_bds50(_mb((1, 1, 1), (3, 9, 114))) == 0  # no rate, no TAS: no check


def test_mach_and_ias_at_altitude_decide() -> None:
    # Valid as 5,0 and 6,0: roll/heading status with a small value, 5,0 track status = heading
    # LSB, IAS 250 kt = track bits, Mach = ground-speed bits. Only the 6,0 reading has a check:
    # IAS 250 kt is Mach 0.60 at 25 000 ft (ISA), Mach 0.80 at 39 000 ft, Mach 0.37 at
    # -1000 ft.
    def mb(mach: float) -> str:
        m = _mb(
            (1, 1, 1),
            (12, 1, 1),
            (13, 1, 1),
            (14, 10, 250),
            (24, 1, 1),
            (25, 10, round(mach / 0.004)),
        )
        assert is_bds50(m) and is_bds60(m)
        return f"{m:014X}"

    assert mb_bds(mb(0.6), 25000.0) == 0x60
    assert mb_bds(mb(0.8), 25000.0) == 0x50  # the 6,0 reading fails, 5,0 is left
    assert mb_bds(mb(0.8), 39000.0) == 0x60
    assert mb_bds(mb(0.8)) == 0x60  # no altitude: within the -1000..60 000 ft range
    assert mb_bds(mb(0.3)) == 0x50  # too slow for 250 kt IAS at any altitude
    assert math.isclose(mach_from_cas(250.0, 25000.0), 0.60, abs_tol=0.01)
    assert math.isclose(mach_from_cas(661.47, 0.0), 1.0, abs_tol=1e-3)  # sea-level a0


def test_bds10_without_the_overlay_heuristic() -> None:
    # Subnetwork version 5 without overlay capability is legal; pyModeS rejects it.
    mb = _mb((1, 8, 0x10), (17, 7, 5), (25, 1, 1))
    hexmsg = _frame(20, mb)
    assert pms.decode(hexmsg).get("bds") != "1,0"
    assert _one(hexmsg)["bds"] == 0x10
    assert mb_bds(f"{_mb((1, 8, 0x10), (10, 1, 1)):014X}") != 0x10  # reserved bit set


def test_selected_rows_only() -> None:
    hexmsg = ["A000029C85E42F313000007047D3", "A000083E202CC371C31DE0AA1CCF"]
    fb = FrameBatch.from_hex(hexmsg)
    cols = empty_columns(MESSAGE_FIELDS, 2)
    fill_commb(fb.raw, np.array([False, True]), cols)
    assert list(cols["bds"]) == [0, 0x20]
    assert np.isnan(cols["selected_altitude_ft"][0])
    empty = empty_columns(MESSAGE_FIELDS, 0)
    fill_commb(np.zeros((0, 14), np.uint8), np.zeros(0, bool), empty)
    fill_acas_mv(np.zeros((0, 14), np.uint8), np.zeros(0, bool), empty)
    with pytest.raises(ValueError):
        fill_commb(fb.raw[:, :7], np.array([True, True]), cols)
    with pytest.raises(ValueError):
        fill_commb(fb.raw, np.array([1, 1]), cols)


# ---------------------------------------------------------------------------------------------
# BDS 3,0 (DF20/21) and VDS 3,0 (DF16).


def _acas_expected(d: dict[str, Any]) -> dict[str, int]:
    ara_names = (
        "issued_ra",
        "corrective",
        "downward_sense",
        "increased_rate",
        "sense_reversal",
        "altitude_crossing",
        "positive",
    )
    rac_names = ("no_below", "no_above", "no_left", "no_right")
    ara7 = sum(int(d[k]) << (6 - j) for j, k in enumerate(ara_names))
    return {
        "ara_acas2": ara7,  # ARA bits 9-15 (the 7 bits above ACAS III's)
        "acas_rac": sum(int(d[k]) << (3 - j) for j, k in enumerate(rac_names)),
        "acas_rat": int(d["ra_terminated"]),
        "acas_mte": int(d["multiple_threat"]),
        "acas_ra": int((d["issued_ra"] or d["multiple_threat"]) and not d["ra_terminated"]),
    }


def test_bds30_against_pymodes() -> None:
    rng = np.random.default_rng(20240706)
    mbs = []
    while len(mbs) < 200:
        mb = (0x30 << 48) | int(rng.integers(0, 1 << 48))
        mb &= ~(((1 << 7) - 1) << (56 - 22))  # ACAS III bits 16-22: 0 (< 48)
        if (mb >> (56 - 30)) & 3 != 3:
            mbs.append(mb)
    df20 = [_frame(20, mb) for mb in mbs]
    df16 = [_frame(16, mb) for mb in mbs]
    fb = FrameBatch.from_hex(df20 + df16)
    cols = empty_columns(MESSAGE_FIELDS, len(fb))
    n = len(mbs)
    fill_commb(fb.raw, np.arange(2 * n) < n, cols)
    fill_acas_mv(fb.raw, np.arange(2 * n) >= n, cols)
    assert (cols["bds"] == 0x30).all()
    for i, h in enumerate(df20):
        d = pms.decode(h)
        assert d["bds"] == "3,0"
        e = _acas_expected(d)
        for row in (i, n + i):  # the DF20 MB and the DF16 MV carry the same report
            assert int(cols["acas_ara"][row]) >> 7 == e["ara_acas2"]
            assert int(cols["acas_ara"][row]) & 0x7F == 0
            for f in ("acas_rac", "acas_rat", "acas_mte", "acas_ra"):
                assert int(cols[f][row]) == e[f], (h, f)


def test_bds30_table_vectors() -> None:
    # "The 1090 Megahertz Riddle", ch. 4/6 tables: MB bit 9 = 1 (one threat), bit 10 = 1
    # (corrective), bit 11 = 0 (upward sense): ARA 11000000000000b; RAT (bit 27) then MTE
    # (bit 28) set in the next two.
    r = _one(_frame(20, 0x30C00000000000))
    assert (r["bds"], r["acas_ara"], r["acas_ra"], r["acas_rat"], r["acas_mte"]) == (
        0x30,
        0x3000,
        1,
        0,
        0,
    )
    r = _one(_frame(20, 0x30C00020000000))
    assert (r["acas_ra"], r["acas_rat"]) == (0, 1)  # terminated: no longer active
    r = _one(_frame(20, 0x30000010000000))  # bit 9 = 0 with MTE: RAs against several threats
    assert (r["acas_ara"], r["acas_ra"], r["acas_mte"]) == (0, 1, 1)


def test_df16_without_vds30_is_left_alone() -> None:
    with gzip.open(DATA / AFR, "rt") as fh:
        frames = [json.loads(line)["frame"] for line in fh]
    df16 = [f for f in frames if int(f[:2], 16) >> 3 == 16]
    assert len(df16) > 500
    fb = FrameBatch.from_hex(df16)
    cols = empty_columns(MESSAGE_FIELDS, len(fb))
    fill_acas_mv(fb.raw, np.ones(len(fb), dtype=bool), cols)
    assert (fb.raw[:, 4] != 0x30).all()  # this flight had no RA
    assert (cols["bds"] == 0).all() and (cols["acas_ra"] == -1).all()
