"""Differential tests: tailwatch's batch decoder against pyModeS 3.6.1 on every real message we
have. Every field both decoders produce must agree; deliberate differences are named here.

Deliberate differences
- Short replies stored in 14-byte containers (the AFR34ZG capture stores every frame as 28 hex
  digits): tailwatch takes the length from the DF, as readsb and rs1090 do; pyModeS is given
  the first 7 bytes here.
- TC29 navigation modes: pyModeS reports ``tcas_operational`` even when the mode-status bit
  says the mode bits are not valid; tailwatch reports no modes then. Compared only when valid.
- TC19 ground speed: pyModeS truncates the vector sum to whole knots; tailwatch keeps the
  fraction (493.6 kt, not 493), so they agree within 1 kt.
- TC20-22 GNSS height: coded like the barometric altitude, in feet (DO-260B, readsb,
  dump1090-fa, rs1090); pyModeS 3.6 reads the field as metres. Not compared.
- Comm-B registers of DF20/21 are compared in test_commb.py; here only the reply header.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyModeS as pms
import pytest

from tailwatch import decode

DATA = Path(__file__).parent.parent / "data"
SHARED = Path(__file__).parents[3] / "shared" / "data" / "raw_modes"


def afr34zg_frames() -> list[str]:
    with gzip.open(DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz", "rt") as fh:
        return [json.loads(line)["frame"] for line in fh]


def pymodes_adsb_frames() -> list[str]:
    with open(DATA / "pymodes_sample_data_adsb.csv") as fh:
        return [row[1] for row in csv.reader(fh)]


def commb_header_frames() -> list[str]:
    out: list[str] = []
    for name in ("pymodes_sample_data_commb_df20.csv", "pymodes_sample_data_commb_df21.csv"):
        with open(DATA / name, encoding="utf-8-sig") as fh:
            out += [row[2] for row in csv.reader(fh)]
    return out


def _nominal(hexmsg: str) -> str:
    df = int(hexmsg[:2], 16) >> 3
    return hexmsg[:14] if df in (0, 4, 5, 11) else hexmsg


_NAV_BITS = {
    "autopilot": 1,
    "vnav_mode": 2,
    "altitude_hold_mode": 4,
    "approach_mode": 8,
    "lnav_mode": 16,
    "tcas_operational": 32,
}


def expected_from_pymodes(d: dict[str, Any]) -> Iterator[tuple[str, Any, float]]:
    """(our field, pyModeS's value in our representation, tolerance)."""
    df = d["df"]
    yield "df", df, 0
    yield "icao24", d["icao"].lower(), 0
    if d.get("altitude") is not None and d.get("typecode") not in (20, 21, 22):
        yield "altitude_ft", d["altitude"], 0
    if d.get("squawk") is not None:
        yield "squawk", d["squawk"], 0
    yield from _on_ground(d)
    if df in (20, 21):
        return  # the MB field is compared in test_commb.py
    for k in ("typecode", "bds", "callsign", "version", "sil"):
        if d.get(k) is not None:
            yield k, d[k], 0
    if d.get("category") is not None and d.get("typecode") in (1, 2, 3, 4):
        yield "category", "DCBA"[d["typecode"] - 1] + str(d["category"]), 0
    for ours, theirs in (
        ("cpr_odd", "cpr_format"), ("cpr_lat", "cpr_lat"), ("cpr_lon", "cpr_lon"),
        ("nic_supplement", "nic_b"), ("nuc_p", "nuc_p"), ("nacv", "nac_v"), ("nacp", "nac_p"),
        ("nic_sup_a", "nic_supplement_a"), ("nic_baro", "nic_baro"),
        ("sil_supplement", "sil_supplement"), ("emergency_code", "emergency_state"),
        ("hrd", "hrd"),
    ):
        if d.get(theirs) is not None:
            yield ours, d[theirs], 0
    if d.get("groundspeed") is not None:
        yield "gs_kt", d["groundspeed"], 0.0 if d.get("typecode") != 19 else 1.0
    for ours, theirs in (("track_deg", "track"), ("heading_deg", "heading"),
                         ("selected_heading_deg", "selected_heading")):
        if d.get(theirs) is not None:
            yield ours, d[theirs], 0.01
    if d.get("airspeed") is not None:
        yield ("ias_kt" if d["airspeed_type"] == "IAS" else "tas_kt"), d["airspeed"], 0
    if d.get("vertical_rate") is not None:
        yield "vrate_fpm", d["vertical_rate"], 0
        yield "vrate_source", "gnss" if d["vr_source"] == "GNSS" else "baro", 0
    if d.get("geo_minus_baro") is not None:
        yield "gnss_baro_diff_ft", d["geo_minus_baro"], 0
    if d.get("selected_altitude") is not None:
        yield "selected_altitude_ft", d["selected_altitude"], 0
        yield "selected_altitude_source", "fms" if d["selected_altitude_source"] == "FMS" else \
            "mcp", 0
    if d.get("baro_pressure_setting") is not None:
        yield "baro_setting_hpa", d["baro_pressure_setting"], 0.01
    if d.get("autopilot") is not None:
        yield "nav_modes", sum(b for k, b in _NAV_BITS.items() if d.get(k)), 0


def _on_ground(d: dict[str, Any]) -> Iterator[tuple[str, Any, float]]:
    df = d["df"]
    fs = d.get("flight_status")
    if fs in (0, 2):
        yield "on_ground", "airborne", 0
    elif fs in (1, 3):
        yield "on_ground", "ground", 0
    if d.get("capability") in (4, 5) and df in (11, 17):
        yield "on_ground", "ground" if d["capability"] == 4 else "airborne", 0
    if d.get("vertical_status") is not None:
        yield "on_ground", "ground" if d["vertical_status"] == "on-ground" else "airborne", 0


def _ours(rec: dict[str, Any], name: str) -> Any:
    if name == "emergency_code":
        labels = ("none", "general", "lifeguard", "minfuel", "nordo", "unlawful", "downed",
                  "reserved")
        return labels.index(rec["emergency"]) if "emergency" in rec else None
    return rec.get(name)


def compare(frames: list[str]) -> tuple[Counter[str], list[str]]:
    """Decode with both; return per-field agreement counts and the disagreements."""
    batch = decode(frames)
    assert batch.n_in == len(frames)
    records = list(batch.records())
    hexes = [batch.frames.hex(i) for i in range(len(batch))]
    agreed: Counter[str] = Counter()
    problems: list[str] = []
    for rec, hx in zip(records, hexes, strict=True):
        d = pms.decode(_nominal(hx))
        for name, want, tol in expected_from_pymodes(d):
            got = _ours(rec, name)
            ok = (
                got is not None and math.isclose(got, want, abs_tol=tol)
                if isinstance(want, float | int) and not isinstance(want, bool)
                else got == want
            )
            if ok:
                agreed[name] += 1
            else:
                problems.append(f"{hx} {name}: tailwatch {got!r} pyModeS {want!r}")
    return agreed, problems


def test_pymodes_adsb_sample_agrees_on_every_field() -> None:
    frames = pymodes_adsb_frames()
    agreed, problems = compare(frames)
    assert problems == []
    assert agreed["icao24"] == len(frames) == 2000
    assert agreed["gs_kt"] > 100 and agreed["cpr_lat"] > 100 and agreed["callsign"] > 10


def test_afr34zg_flight_agrees_on_every_field() -> None:
    frames = afr34zg_frames()
    agreed, problems = compare(frames)
    assert problems == []
    # every frame of this clean capture decodes, and the fields of every family were compared
    assert agreed["icao24"] == len(frames) == 57793
    for name in ("altitude_ft", "squawk", "callsign", "cpr_lat", "gs_kt", "track_deg",
                 "vrate_fpm", "on_ground"):
        assert agreed[name] > 100, name


def test_commb_reply_headers_agree() -> None:
    agreed, problems = compare(commb_header_frames())
    assert problems == []
    assert agreed["altitude_ft"] > 1000 and agreed["squawk"] > 1000


@pytest.mark.skipif(not (SHARED / "rs1090_short_flights.csv").exists(),
                    reason="../shared/data/raw_modes/rs1090_short_flights.csv is not present "
                           "([repository] file, read from ../shared only)")
def test_rs1090_short_flights_agree() -> None:
    with open(SHARED / "rs1090_short_flights.csv") as fh:
        frames = [row[1] for row in csv.reader(fh)]
    agreed, problems = compare(frames)
    assert problems == []
    assert agreed["icao24"] == len(frames)
    for name in ("selected_altitude_ft", "baro_setting_hpa", "version", "nacp", "squawk"):
        assert agreed[name] > 0, name
