"""Flight and event detection on real trajectories (AFR34ZG decoded and tracked, traffic's
noisy Zurich samples) and on synthetic ones (itineraries, emergencies, go-arounds...)."""

from __future__ import annotations

import gzip
import itertools
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tailwatch import decode
from tailwatch.core.schema import EVENT_FIELDS, EVENT_TYPES, FLIGHT_FIELDS
from tailwatch.decode.batch import fields_to_arrow
from tailwatch.detect import FlightDetector, detect_flights, from_traffic_records, merge_flights
from tailwatch.detect import synthetic as sy
from tailwatch.detect.columns import Columns, take
from tailwatch.detect.flights import concat_events
from tailwatch.detect.params import DetectParams
from tailwatch.reference.geo import M_PER_NM, distance_nm
from tailwatch.track.tracker import Tracker

DATA = Path(__file__).parent.parent / "data"


def _utc(text: str) -> float:
    return float(np.datetime64(text, "s").astype("int64"))


def _events(ev: Columns, type_: str, icao24: int | None = None) -> list[dict[str, Any]]:
    out = []
    for i in np.flatnonzero(ev["type"] == type_):
        if icao24 is not None and int(ev["icao24"][i]) != icao24:
            continue
        out.append({"t": float(ev["t"][i]), "icao24": int(ev["icao24"][i]),
                    "flight_id": ev["flight_id"][i], "airport": ev["airport"][i],
                    "lat": float(ev["lat"][i]), "lon": float(ev["lon"][i]),
                    **json.loads(ev["details"][i])})
    return out


def _chunked(pos: Columns, step_s: float) -> tuple[Columns, Columns]:
    """Feed ``pos`` to a FlightDetector in time slices of ``step_s``."""
    order = np.argsort(pos["t"], kind="stable")
    pos = take(pos, order)
    det = FlightDetector()
    edges = np.arange(pos["t"][0], pos["t"][-1] + step_s, step_s)
    idx = np.searchsorted(pos["t"], edges)
    idx[-1] = len(pos["t"])
    flights, events = [], []
    for a, b in itertools.pairwise(idx.tolist()):
        if b > a:
            f, e = det.update(take(pos, slice(a, b)))
            flights.append(f)
            events.append(e)
    f, e = det.flush()
    return merge_flights([*flights, f]), concat_events([*events, e])


def _same(a: Columns, b: Columns) -> bool:
    if a.keys() != b.keys() or len(a["t" if "t" in a else "flight_id"]) != len(
            b["t" if "t" in b else "flight_id"]):
        return False
    for k in a:
        x, y = np.asarray(a[k]), np.asarray(b[k])
        if x.dtype.kind == "f":
            if not np.allclose(x, y, equal_nan=True, rtol=0, atol=1e-6):
                return False
        elif not (x == y).all():
            return False
    return True


# --- real data -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def afr() -> Columns:
    with gzip.open(DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz", "rt") as fh:
        recs = [json.loads(line) for line in fh]
    pos = Tracker().update(decode([r["frame"] for r in recs], times=[r["timestamp"] for r in recs]))
    return pos.columns


def test_afr34zg_lfpg_26r_to_lfbo_32r(afr: Columns) -> None:
    # the transitions as the data shows them: the first airborne position, and the first
    # ground position after the last airborne one
    og, t = afr["on_ground"], afr["t"]
    air = np.flatnonzero(og == 0)
    t_takeoff, t_landing = t[air[0]], t[air[-1] + 1]
    assert og[air[-1] + 1] == 1 and (og[: air[0]] == 1).all()

    flights, events = detect_flights(afr)
    assert len(flights["flight_id"]) == 1
    f = {k: v[0] for k, v in flights.items()}
    assert f["callsign"] == "AFR34ZG" and f["callsigns"] == "AFR34ZG"
    assert (f["origin"], f["takeoff_runway"]) == ("LFPG", "26R")
    assert (f["destination"], f["landing_runway"]) == ("LFBO", "32R")
    assert abs(f["takeoff_t"] - t_takeoff) < 60 and abs(f["landing_t"] - t_landing) < 60
    assert f["origin_confidence"] > 0.8 and f["destination_confidence"] > 0.8
    assert f["flight_id"] == "393322-" + time.strftime("%Y%m%dT%H%M%SZ",
                                                       time.gmtime(int(f["first_seen"])))
    assert f["first_seen"] == t[0] and f["last_seen"] == t[-1]  # taxi out and in included
    assert 30_000 < f["max_altitude_ft"] <= np.nanmax(afr["altitude_ft"])
    direct = float(distance_nm(afr["lat"][air[0]], afr["lon"][air[0]], afr["lat"][air[-1]],
                               afr["lon"][air[-1]]))
    assert direct < f["distance_nm"] < 1.3 * direct
    assert f["itinerary_id"] == f["flight_id"]
    takeoff = _events(events, "takeoff")
    landing = _events(events, "landing")
    assert [(e["airport"], e["runway"]) for e in takeoff] == [("LFPG", "26R")]
    assert [(e["airport"], e["runway"]) for e in landing] == [("LFBO", "32R")]
    assert takeoff[0]["t"] == f["takeoff_t"] and landing[0]["flight_id"] == f["flight_id"]
    types = set(events["type"].tolist())
    assert not types & {"go_around", "touch_and_go", "orbit", "emergency", "inferred_stop",
                        "gnss_degradation", "squawk_change", "implausible_position"}


def _traffic(name: str) -> tuple[list[dict[str, Any]], Columns]:
    with gzip.open(DATA / f"{name}.json.gz") as fh:
        raw = json.load(fh)
    if isinstance(raw, dict):  # pandas "columns" orientation
        rows = sorted(next(iter(raw.values())).keys(), key=int)
        recs = [{k: raw[k][r] for k in raw} for r in rows]
    else:
        recs = raw
    return recs, from_traffic_records(raw)


def test_noisy_landing_is_lszh_runway_14() -> None:
    # DLH4TR: the data ends on short final, ~260 ft above the field: the landing itself is
    # not seen, the destination and the runway are inferred from the approach
    _, pos = _traffic("traffic_noisy_landing")
    flights, events = detect_flights(pos)
    assert len(flights["flight_id"]) == 1
    assert flights["callsign"][0] == "DLH4TR"
    assert flights["destination"][0] == "LSZH" and flights["landing_runway"][0] == "14"
    assert flights["destination_confidence"][0] > 0.8
    assert math.isnan(flights["landing_t"][0]) and math.isnan(flights["takeoff_t"][0])
    assert flights["origin"][0] == ""  # first seen descending at 14,000 ft: no origin
    assert not _events(events, "takeoff")
    # the landing is reported as not seen, with the geometry that names the runway
    (landing,) = _events(events, "landing")
    assert landing["seen"] is False and (landing["airport"], landing["runway"]) == ("LSZH", "14")
    fit = landing["runway_fit"]
    assert fit["centreline_offset_m"] < 60 and fit["along_m"] < 0  # on final, before 14
    assert abs(fit["height_above_field_ft"] - fit["expected_height_ft"]) < 300  # on a 3° path
    assert 0 < landing["t"] - landing["last_seen_t"] < 60


def test_noisy_takeoff_is_lszh_runway_28() -> None:
    recs, pos = _traffic("traffic_noisy_takeoff")
    recs.sort(key=lambda r: r["timestamp"])
    og = np.array([bool(r["onground"]) for r in recs])
    last_ground = int(np.flatnonzero(og)[-1])
    t_data = recs[last_ground + 1]["last_position"] / 1000.0
    flights, events = detect_flights(pos)
    assert len(flights["flight_id"]) == 1
    assert flights["origin"][0] == "LSZH" and flights["takeoff_runway"][0] == "28"
    assert abs(flights["takeoff_t"][0] - t_data) < 60
    assert [(e["airport"], e["runway"]) for e in _events(events, "takeoff")] == [("LSZH", "28")]
    assert not _events(events, "landing")
    # the ground positions are full of 36,000 ft altitudes and 1-second "airborne" flags
    assert flights["max_altitude_ft"][0] < 25_000


# Counted by hand in traffic_zurich_airport.json.gz (runs of the onground flag, positions
# and tracks): 4 landings and 5 take-offs, all at LSZH, UTC times to the second. Everything
# else in the file is noise: ~40 one-to-twenty-second "airborne" flickers of parked or taxiing
# aircraft at 20,000-36,000 ft without moving, one 11-second position jump of 2.9 km
# (SWR75C), and two aircraft (SWISS, SWR75C) that never leave the ground.
ZURICH_LANDINGS = {
    ("CAI3208", "14", "2019-10-05T07:34:09"),
    ("VJT796", "28", "2019-10-05T19:09:19"),
    ("EDW229", "28", "2019-10-24T20:21:44"),
    ("SWR5220", "14", "2019-11-05T16:36:52"),
}
ZURICH_TAKEOFFS = {
    ("ACA879", "16", "2019-11-05T08:40:40"),
    ("SWR137H", "28", "2019-11-05T11:33:59"),
    ("SWR5220", "28", "2019-11-05T13:05:25"),
    ("AEE5ZH", "28", "2019-11-24T10:07:32"),
    ("ENT57BW", "28", "2019-11-29T10:25:43"),
}


@pytest.fixture(scope="module")
def zurich() -> tuple[Columns, Columns, Columns]:
    _, pos = _traffic("traffic_zurich_airport")
    flights, events = detect_flights(pos)
    return pos, flights, events


def _match(expected: set[tuple[str, str, str]], found: list[tuple[str, str, float]]) -> None:
    assert len(found) == len(expected), found
    for cs, rwy, when in expected:
        hits = [f for f in found if f[0] == cs and f[1] == rwy and abs(f[2] - _utc(when)) < 60]
        assert len(hits) == 1, (cs, rwy, when, found)


def test_zurich_takeoffs_and_landings_and_no_false_ones(
    zurich: tuple[Columns, Columns, Columns],
) -> None:
    pos, flights, events = zurich
    callsign = {int(a): c.decode() for a, c in zip(pos["icao24"], pos["callsign"], strict=True)}
    for kind, expected in (("landing", ZURICH_LANDINGS), ("takeoff", ZURICH_TAKEOFFS)):
        evs = _events(events, kind)
        assert all(e["airport"] == "LSZH" for e in evs)
        _match(expected, [(callsign[e["icao24"]], e["runway"], e["t"]) for e in evs])
    assert not _events(events, "touch_and_go") and not _events(events, "go_around")
    assert not _events(events, "stopover")
    # one flight per airborne aircraft (SWR5220 flew LSZH → LSZH); none for SWISS, SWR75C
    assert sorted(flights["callsign"].tolist()) == sorted(
        ["CAI3208", "VJT796", "EDW229", "ACA879", "SWR137H", "SWR5220", "AEE5ZH", "ENT57BW"])
    i = flights["callsign"].tolist().index("SWR5220")
    assert (flights["origin"][i], flights["destination"][i]) == ("LSZH", "LSZH")
    assert flights["max_altitude_ft"][i] < 32_000  # 35,000 ft spikes in the data ignored
    for cs in ("ACA879", "SWR137H", "AEE5ZH", "ENT57BW"):  # lost climbing: no destination
        assert flights["destination"][flights["callsign"].tolist().index(cs)] == ""


def test_live_batches_give_the_same_flights_and_events(
    zurich: tuple[Columns, Columns, Columns],
) -> None:
    pos, flights, events = zurich
    for step in (7.0, 60.0):
        f2, e2 = _chunked(pos, step)
        assert _same(flights, f2) and _same(events, e2)


def test_output_columns_follow_the_schema(zurich: tuple[Columns, Columns, Columns]) -> None:
    _, flights, events = zurich
    assert list(flights) == [f.name for f in FLIGHT_FIELDS]
    assert list(events) == [f.name for f in EVENT_FIELDS]
    for fields, cols in ((FLIGHT_FIELDS, flights), (EVENT_FIELDS, events)):
        for f in fields:
            assert cols[f.name].dtype == np.dtype(f.dtype), f.name
        assert fields_to_arrow(fields, cols).num_rows == len(cols[fields[0].name])
    assert set(events["type"].tolist()) <= set(EVENT_TYPES)
    for d in events["details"].tolist():
        assert isinstance(json.loads(d), dict)
    assert (np.diff(events["t"]) >= 0).all()


# --- synthetic itineraries ---------------------------------------------------------------------

# The Russian Air Force Il-62M RA-86496 (1551E0) flew Chkalovsky → Latakia/Hmeimim → Caracas on
# 22-23 March 2019 (departure 16:05 Moscow time, possibly via Dakar; no recording is public:
# /work/shared/data/events/2019-03-23_russian_af_caracas.md). The positions here are synthetic.
T0 = _utc("2019-03-22T12:55:00")
RA = 0x1551E0


def _leg(dep: tuple[str, str], arr: tuple[str, str], t0: float, callsign: str, seed: int,
         **kw: Any) -> tuple[sy.Dense, Columns]:
    d = sy.airport_to_airport(sy.runway_end(*dep), sy.runway_end(*arr), t0, **kw)
    return d, sy.sample(d, RA, callsign, sample_s=5.0, seed=seed)


def _hidden_middle(pos: Columns, a: sy.RunwayEnd, b: sy.RunwayEnd, frac: float) -> Columns:
    """Only the positions within ``frac`` of the a→b distance of either end are seen."""
    total = float(distance_nm(a.lat, a.lon, b.lat, b.lon))
    near_a = distance_nm(a.lat, a.lon, pos["lat"], pos["lon"]) < frac * total
    near_b = distance_nm(b.lat, b.lon, pos["lat"], pos["lon"]) < frac * total
    return sy.visible(pos, near_a | near_b)


def _ground_transitions(pos: Columns) -> tuple[list[float], list[float]]:
    og = pos["on_ground"].astype(int)
    d = np.diff(og)
    return pos["t"][np.flatnonzero(d == -1) + 1].tolist(), pos["t"][np.flatnonzero(d == 1) + 1
                                                                    ].tolist()


@pytest.fixture(scope="module")
def moscow_latakia() -> tuple[sy.Dense, Columns]:
    return _leg(("UUMU", "30R"), ("OSLK", "17"), T0, "RFF7001", 1)


def _itinerary(moscow_latakia: tuple[sy.Dense, Columns], extra_stop: bool
               ) -> tuple[Columns, Columns, Columns]:
    d1, p1 = moscow_latakia
    t2 = d1.end_time() + 3 * 3600.0  # three hours on the ground at Hmeimim/Latakia
    oslk, svmi = sy.runway_end("OSLK", "35"), sy.runway_end("SVMI", "09")
    if extra_stop:  # an unseen stop at Dakar (Blaise Diagne), four hours on the ground
        d2a, p2a = _leg(("OSLK", "35"), ("GOBD", "19"), t2, "RFF7002", 2)
        _, p2b = _leg(("GOBD", "01"), ("SVMI", "09"), d2a.end_time() + 4 * 3600.0, "RFF7002", 3)
        p2 = sy.merge([p2a, p2b])
    else:
        _, p2 = _leg(("OSLK", "35"), ("SVMI", "09"), t2, "RFF7002", 2)
    p2 = _hidden_middle(p2, oslk, svmi, 0.1)  # the Atlantic crossing is out of coverage
    pos = sy.merge([p1, p2])
    flights, events = detect_flights(pos)
    return pos, flights, events


def test_itinerary_moscow_latakia_caracas_direct(
    moscow_latakia: tuple[sy.Dense, Columns],
) -> None:
    pos, flights, events = _itinerary(moscow_latakia, extra_stop=False)
    takeoffs, landings = _ground_transitions(pos)
    assert len(flights["flight_id"]) == 2
    f1, f2 = ({k: v[i] for k, v in flights.items()} for i in (0, 1))
    assert (f1["origin"], f1["takeoff_runway"], f1["destination"], f1["landing_runway"]) == (
        "UUMU", "30R", "OSLK", "17")
    assert (f2["origin"], f2["takeoff_runway"], f2["destination"], f2["landing_runway"]) == (
        "OSLK", "35", "SVMI", "09")
    assert f2["destination_confidence"] > 0.8  # the landing at Maiquetía is seen
    for want, got in zip(takeoffs, [f1["takeoff_t"], f2["takeoff_t"]], strict=True):
        assert abs(want - got) < 60
    for want, got in zip(landings, [f1["landing_t"], f2["landing_t"]], strict=True):
        assert abs(want - got) < 60
    assert f1["itinerary_id"] == f2["itinerary_id"] == f1["flight_id"]
    stop = _events(events, "stopover")
    assert [s["airport"] for s in stop] == ["OSLK"]
    assert abs(stop[0]["duration_s"] - (f2["takeoff_t"] - f1["landing_t"])) < 1
    assert 3 * 3600 < stop[0]["duration_s"] < 3.5 * 3600
    assert stop[0]["previous_flight_id"] == f1["flight_id"]
    assert stop[0]["next_flight_id"] == f2["flight_id"]
    # the unseen Atlantic leg: one gap, explained by a direct flight
    assert not _events(events, "inferred_stop")
    enter = _events(events, "enter_coverage")
    assert len(enter) == 1 and enter[0]["verdict"] == "direct"
    assert enter[0]["flight_id"] == f2["flight_id"]
    assert enter[0]["gap_s"] > 8 * 3600 and enter[0]["distance_nm"] > 4000
    assert enter[0]["gap_s"] <= enter[0]["allowance_s"]
    assert len(_events(events, "leave_coverage")) == 1


def test_itinerary_with_an_unseen_stop_on_the_way(
    moscow_latakia: tuple[sy.Dense, Columns],
) -> None:
    _, flights, events = _itinerary(moscow_latakia, extra_stop=True)
    stops = _events(events, "inferred_stop")
    assert len(stops) == 1
    s = stops[0]
    assert s["verdict"] == "probable_stop" and s["gap_s"] > s["allowance_s"]
    assert 0.5 <= s["stop_confidence"] <= 0.95
    cands = s["candidates"]
    # Dakar, where it did stop: the new airport (GOBD) or the old one (GOOY), 25 NM apart
    assert cands[0]["airport"] == s["airport"] and s["airport"] in ("GOBD", "GOOY")
    assert {"GOBD", "GOOY"} <= {c["airport"] for c in cands}
    stop = sy.runway_end("GOBD", "01")
    assert float(distance_nm(s["lat"], s["lon"], stop.lat, stop.lon)) < 30
    assert all(c["max_runway_ft"] >= DetectParams().stop_runway_ft for c in cands)
    conf = [c["confidence"] for c in cands]
    assert conf == sorted(conf, reverse=True) and sum(conf) <= s["stop_confidence"] + 1e-6
    budget = s["cruise_kt"] * 1.2 * (s["gap_s"] - 1800.0) / 3600.0
    assert all(c["from_last_seen_nm"] + c["to_next_seen_nm"] <= budget + 1 for c in cands)
    # Latakia → (Dakar) and (Dakar) → Maiquetía: two flights joined by the inferred stop
    assert len(flights["flight_id"]) == 3
    assert flights["origin"].tolist()[1:] == ["OSLK", s["airport"]]
    assert flights["destination"].tolist()[1:] == [s["airport"], "SVMI"]
    assert flights["destination_confidence"][1] == pytest.approx(cands[0]["confidence"])
    assert len(set(flights["itinerary_id"].tolist())) == 1
    assert s["flight_id"] == flights["flight_id"][1]
    assert s["next_flight_id"] == flights["flight_id"][2]


def test_military_aircraft_at_a_civil_airport(moscow_latakia: tuple[sy.Dense, Columns]) -> None:
    _, p1 = moscow_latakia
    _, ev = detect_flights(p1, military={RA})
    mil = _events(ev, "military_at_civil_airport")
    assert [(m["airport"], m["evidence"]) for m in mil] == [("OSLK", "landing")]  # not UUMU
    _, ev = detect_flights(p1)
    assert not _events(ev, "military_at_civil_airport")


# --- synthetic events --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zurich_paris() -> tuple[sy.Dense, Columns]:
    d = sy.airport_to_airport(sy.runway_end("LSZH", "28"), sy.runway_end("LFPG", "27R"), T0,
                              cruise_ft=33_000, taxi_out_s=300, taxi_in_s=300)
    return d, sy.sample(d, 0x4B1F00, "SWR1234", sample_s=2.0, squawk=2341)


def test_squawk_7700_emergency(zurich_paris: tuple[sy.Dense, Columns]) -> None:
    _, pos = zurich_paris
    pos = {k: v.copy() for k, v in pos.items()}
    t_a, t_b = pos["t"][0] + 1800, pos["t"][0] + 2400
    pos["squawk"][(pos["t"] >= t_a) & (pos["t"] < t_b)] = 7700
    flights, events = detect_flights(pos)
    em = _events(events, "emergency")
    assert len(em) == 1 and em[0]["squawk"] == "7700" and em[0]["meaning"] == "emergency"
    assert abs(em[0]["t"] - t_a) < 3 and em[0]["previous_squawk"] == "2341"
    assert em[0]["flight_id"] == flights["flight_id"][0]
    sq = [(e["from"], e["to"]) for e in _events(events, "squawk_change")]
    assert sq == [("2341", "7700"), ("7700", "2341")]
    # a single garbled reply is not a change
    pos["squawk"][100] = 1200
    _, events = detect_flights(pos)
    assert len(_events(events, "squawk_change")) == 2


def test_adsb_emergency_status_column(zurich_paris: tuple[sy.Dense, Columns]) -> None:
    _, pos = zurich_paris
    pos = {k: v.copy() for k, v in pos.items()}
    pos["emergency"] = np.zeros(len(pos["t"]), np.int8)
    pos["emergency"][(pos["t"] > pos["t"][0] + 2000) & (pos["t"] < pos["t"][0] + 2100)] = 3
    _, events = detect_flights(pos)
    em = _events(events, "emergency")
    assert [(e["source"], e["adsb_emergency"]) for e in em] == [("adsb", "minfuel")]


def test_gnss_degradation(zurich_paris: tuple[sy.Dense, Columns]) -> None:
    _, pos = zurich_paris
    pos = {k: v.copy() for k, v in pos.items()}
    jam = (pos["t"] > pos["t"][0] + 1500) & (pos["t"] < pos["t"][0] + 1700)
    pos["nic"][jam] = 0
    pos["nacp"][jam] = 0
    _, events = detect_flights(pos)
    g = _events(events, "gnss_degradation")
    assert len(g) == 1 and g[0]["nic"] == 0
    assert abs(g[0]["t"] - pos["t"][jam][0]) < 1


def test_coverage_gap_in_flight(zurich_paris: tuple[sy.Dense, Columns]) -> None:
    _, pos = zurich_paris
    gap = (pos["t"] > pos["t"][0] + 1500) & (pos["t"] < pos["t"][0] + 2100)
    flights, events = detect_flights(sy.visible(pos, ~gap))
    assert len(flights["flight_id"]) == 1
    assert (flights["origin"][0], flights["destination"][0]) == ("LSZH", "LFPG")
    leave, enter = _events(events, "leave_coverage"), _events(events, "enter_coverage")
    assert len(leave) == len(enter) == 1
    assert enter[0]["verdict"] == "direct" and 590 < enter[0]["gap_s"] < 610
    # the distance flown counts the seen positions only
    full, _ = detect_flights(pos)
    assert flights["distance_nm"][0] < full["distance_nm"][0] - 50


def test_position_jumps_and_tracker_rejects(zurich_paris: tuple[sy.Dense, Columns]) -> None:
    _, pos = zurich_paris
    pos = {k: v.copy() for k, v in pos.items()}
    i = int(np.searchsorted(pos["t"], pos["t"][0] + 2000))
    pos["lat"][i] += 1.0  # 60 NM off for one position
    det = FlightDetector()
    _, ev = det.update(pos, rejects={0x4B1F00: {"speed": 3}, 0xABCDEF: {"range": 0}})
    bad = _events(ev, "implausible_position")
    reasons = sorted(e["reason"] for e in bad)
    assert reasons == ["jump", "tracker_rejects"]
    assert [e["speed"] for e in bad if e["reason"] == "tracker_rejects"] == [3]
    assert any(abs(e["t"] - pos["t"][i]) < 1e-6 for e in bad if e["reason"] == "jump")


def _approach_path(rw: sy.RunwayEnd) -> tuple[list[float], list[float], np.ndarray]:
    """20 NM final, the runway, 8 NM climb-out, a right-hand circuit back to the 20 NM point,
    final again and a landing roll."""
    nm = M_PER_NM
    p20 = sy.along(rw.lat, rw.lon, rw.bearing_deg + 180, 20 * nm)
    m8 = sy.along(rw.lat, rw.lon, rw.bearing_deg, 8 * nm)
    w1 = sy.along(m8[0], m8[1], rw.bearing_deg + 90, 5 * nm)
    w2 = sy.along(p20[0], p20[1], rw.bearing_deg + 90, 5 * nm)
    end = sy.along(rw.lat, rw.lon, rw.bearing_deg, 1500)
    pts = [p20, (rw.lat, rw.lon), m8, w1, w2, p20, (rw.lat, rw.lon), end]
    lats, lons = [p[0] for p in pts], [p[1] for p in pts]
    return lats, lons, sy.path_length_m(lats, lons)


def test_go_around_then_landing() -> None:
    rw = sy.runway_end("LSZH", "14")
    e = rw.elevation_ft
    lats, lons, s = _approach_path(rw)
    low = s[1] - 2 * M_PER_NM  # lowest point 2 NM before the threshold, 550 ft above it
    prof = sy.knots_profile(
        [0, low, s[1] + 6 * M_PER_NM, s[5], s[6] - 0.1, s[6], s[7]],
        [e + 6000, e + 550, e + 4000, e + 4000, e + 50, e, e],
        [200, 150, 180, 200, 140, 135, 20],
        ground=[(s[6], s[7])],
    )
    d = sy.fly(lats, lons, prof, T0)
    d = sy.join([d, sy.hold(d.lat[-1], d.lon[-1], d.end_time() + 1, 300)])
    pos = sy.sample(d, 0x4B1234, "SWR99", sample_s=2.0)
    flights, events = detect_flights(pos)
    ga = _events(events, "go_around")
    assert len(ga) == 1
    assert (ga[0]["airport"], ga[0]["runway"]) == ("LSZH", "14")
    assert 450 < ga[0]["lowest_height_ft"] < 650
    i_low = int(np.argmin(np.where(pos["t"] < ga[0]["t"] + 200, pos["altitude_ft"], np.inf)))
    assert abs(ga[0]["t"] - pos["t"][i_low]) < 5
    assert not _events(events, "touch_and_go")
    landing = _events(events, "landing")
    assert [(x["airport"], x["runway"]) for x in landing] == [("LSZH", "14")]
    assert landing[0]["t"] > ga[0]["t"] + 600
    assert len(flights["flight_id"]) == 1 and flights["destination"][0] == "LSZH"


def test_touch_and_go() -> None:
    rw = sy.runway_end("LSZH", "14")
    e = rw.elevation_ft
    lats, lons, s = _approach_path(rw)
    td = s[1] + 300.0
    prof = sy.knots_profile(
        [0, s[1] - 0.1, td, td + 1500, s[1] + 6 * M_PER_NM, s[5], s[6] - 0.1, s[6], s[7]],
        [e + 6000, e + 50, e, e, e + 3000, e + 3000, e + 50, e, e],
        [200, 135, 130, 125, 180, 200, 140, 135, 20],
        ground=[(td, td + 1500), (s[6], s[7])],
    )
    d = sy.fly(lats, lons, prof, T0)
    d = sy.join([d, sy.hold(d.lat[-1], d.lon[-1], d.end_time() + 1, 300)])
    pos = sy.sample(d, 0x4B1235, "SWR98", sample_s=1.0)
    flights, events = detect_flights(pos)
    tg = _events(events, "touch_and_go")
    assert [(x["airport"], x["runway"]) for x in tg] == [("LSZH", "14")]
    assert 5 < tg[0]["ground_s"] < 60
    assert len(_events(events, "landing")) == 1 and not _events(events, "takeoff")
    assert not _events(events, "go_around")
    assert len(flights["flight_id"]) == 1


def test_orbit_of_a_racetrack_and_none_on_a_straight_flight(
    zurich_paris: tuple[sy.Dense, Columns],
) -> None:
    # a tanker racetrack: 40 NM legs, 10 NM turn radius, three laps at FL280
    c_lat, c_lon, brg = 50.5, 10.0, 30.0
    lats, lons = [], []
    for _lap in range(3):
        for k in range(2):
            leg_brg = brg + 180 * k
            a = sy.along(c_lat, c_lon, leg_brg + 90, 10 * M_PER_NM)
            start = sy.along(a[0], a[1], leg_brg + 180, 20 * M_PER_NM)
            for j in range(13):  # the leg, then a half circle
                if j == 0:
                    lats.append(start[0])
                    lons.append(start[1])
                    continue
                ang = leg_brg + 90 - 180 * (j - 1) / 11
                end = sy.along(c_lat, c_lon, leg_brg, 20 * M_PER_NM)
                pt = sy.along(end[0], end[1], ang, 10 * M_PER_NM)
                lats.append(pt[0])
                lons.append(pt[1])
    prof = sy.knots_profile([0, 1e9], [28_000, 28_000], [420, 420])
    pos = sy.sample(sy.fly(lats, lons, prof, T0), 0xAE1234, "QID11", sample_s=5.0)
    _, events = detect_flights(pos)
    orbits = _events(events, "orbit")
    assert len(orbits) == 1
    o = orbits[0]
    # flying up the east side and back down the west side: left turns
    assert o["turn_deg"] <= -720 and o["direction"] == "left" and o["radius_nm"] < 40
    assert 0 < o["duration_s"] <= 7200
    i = int(np.flatnonzero(events["type"] == "orbit")[0])
    assert float(distance_nm(events["lat"][i], events["lon"][i], c_lat, c_lon)) < 15
    _, pos2 = zurich_paris
    _, ev2 = detect_flights(pos2)
    assert not _events(ev2, "orbit")
