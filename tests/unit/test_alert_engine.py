"""The alert engine on synthetic scenarios built with numpy: the documented rules fire exactly
the expected alerts (and none of the distractors), cool-downs hold, geofence crossings keep
their state between batches, the result does not depend on how the stream is cut."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from _alert_helpers import (
    ES_7700,
    IL62,
    PARIS,
    RA_CIVIL,
    T0,
    US_MIL,
    concat,
    doc_ruleset,
    events,
    keyset,
    resolver,
    scenario,
    take,
    track,
)

from tailwatch.alert import AlertEngine, load_rules
from tailwatch.alert.model import Alert
from tailwatch.core.schema import POSITION_FIELDS, empty_columns
from tailwatch.reference.airports import airport
from tailwatch.reference.geo import destination_deg
from tailwatch.reference.identity import Annotation, Annotations, identify_many

# --------------------------------------------------------------------------- tests


def test_documented_rules_fire_exactly_the_expected_alerts(tmp_path: Path) -> None:
    rs = doc_ruleset(tmp_path)
    pos, ev = scenario()
    engine = AlertEngine(rs, identify=resolver)
    got = engine.evaluate_positions(pos) + engine.evaluate_events(ev)
    expected = {
        ("ra-86496-seen", "1551e0", "position", T0),
        ("emergency-near-me", "3c6444", "position", T0 + 5.0),
        ("emergency-near-me", "3c6444", "position", T0 + 5.0 + 1800.0),  # cool-down 30 min
        ("ru-mil-latam", "1551e0", "landing", T0 + 3600.0),
        ("ru-mil-latam", "1551e0", "inferred_stop", T0 + 18000.0),
    }
    assert keyset(got) == expected
    assert len(got) == len(expected) == len({a.id for a in got})

    landing = next(a for a in got if a.what == "landing")
    ev_row = landing.evidence["row"]
    assert (ev_row["airport"], ev_row["icao24"], ev_row["details"]) == ("SVMI", "1551e0",
                                                                        {"runway": "10"})
    craft = landing.evidence["aircraft"]
    assert craft["registration"] == "RA-86496" and craft["typecode"] == "IL62"
    assert craft["military"] is True and craft["country_iso2"] == "RU"
    conds = {c["key"]: c for c in landing.evidence["conditions"]}
    assert conds["airport_country"]["value"] == "VE" and all(c["ok"] for c in conds.values())
    assert "RA-86496" in landing.title() and "SVMI" in landing.title()

    sq = next(a for a in got if a.rule_id == "emergency-near-me")
    assert sq.evidence["row"]["squawk"] == "7700"
    within = next(c for c in sq.evidence["conditions"] if c["key"] == "within")
    assert within["value"]["distance_nm"] == pytest.approx(20.0, abs=0.1)


def test_split_and_shuffled_batches_give_the_same_alerts(tmp_path: Path) -> None:
    rs = load_rules("""
geofences:
  paris: {lat: 48.8566, lon: 2.3522, radius_nm: 25}
rules:
  - {id: sq, cooldown: 10m, match: {squawk: "7700"}}
  - {id: in, cooldown: 0, match: {enters: paris}}
  - {id: out, cooldown: 0, match: {leaves: paris}}
""")
    # three aircraft crossing Paris repeatedly (out-and-back legs), interleaved in time
    legs = []
    for k, icao in enumerate((0x3C0001, 0x3C0002, 0x3C0003)):
        start = destination_deg(*PARIS, 90.0 * k, 40 * 1852.0)
        for leg in range(3):
            legs.append(track(icao, T0 + leg * 3600.0 + k, 60, 20.0, start,
                              (90.0 * k + 180.0) % 360.0, 480.0 if leg % 2 == 0 else 250.0,
                              squawk=7700 if k == 1 else 2000))  # fmt: skip
    pos = concat(legs)
    whole = AlertEngine(rs).evaluate_positions(pos)
    assert {a.what for a in whole} == {"position", "enters", "leaves"}
    rng = np.random.default_rng(7)
    cuts = np.sort(rng.choice(np.arange(1, len(pos["t"])), size=25, replace=False))
    engine = AlertEngine(rs)
    pieces: list[Alert] = []
    for part in np.split(np.arange(len(pos["t"])), cuts):
        sub = take(pos, part)
        sub = take(sub, rng.permutation(len(part)))  # rows of a batch in any order
        pieces.extend(engine.evaluate_positions(sub))
    assert sorted(a.id for a in pieces) == sorted(a.id for a in whole)


def test_cooldown_is_per_rule_and_airframe() -> None:
    rs = load_rules("""
rules:
  - {id: a, cooldown: 30m, match: {squawk: "7700"}}
  - {id: b, cooldown: 2h, match: {squawk: "7700"}}
""")
    engine = AlertEngine(rs)
    # two aircraft squawking 7700 every 10 s for 2 h 10 min, sent in 1-minute batches
    pos = concat([track(x, T0, 781, 10.0, PARIS, 0.0, 100.0, squawk=7700)
                  for x in (0x3C0001, 0x3C0002)])  # fmt: skip
    got: list[Alert] = []
    for m in range(0, 131):
        sel = (pos["t"] >= T0 + 60 * m) & (pos["t"] < T0 + 60 * (m + 1))
        got.extend(engine.evaluate_positions(take(pos, sel)))
    times: dict[tuple[str, str], list[float]] = {}
    for a in got:
        times.setdefault((a.rule_id, a.icao24), []).append(a.t - T0)
    for i in ("3c0001", "3c0002"):
        assert times[("a", i)] == [0.0, 1800.0, 3600.0, 5400.0, 7200.0]
        assert times[("b", i)] == [0.0, 7200.0]


def test_enter_and_leave_keep_state_between_calls() -> None:
    rs = load_rules("""
rules:
  - {id: in, cooldown: 0, match: {enters: {airport: LFPG, radius_nm: 10}}}
  - {id: out, cooldown: 0, match: {leaves: {airport: LFPG, radius_nm: 10}}}
""")
    lfpg = airport("LFPG")
    engine = AlertEngine(rs)
    dist_nm = [30.0, 20.0, 12.0, np.nan, 8.0, 2.0, 9.0, 11.0, 15.0, 5.0]
    fired: list[tuple[int, str]] = []
    for i, d in enumerate(dist_nm):  # one position per call
        c = track(0x3C0001, T0 + 10.0 * i, 1, 1.0, (lfpg.lat_deg, lfpg.lon_deg), 0.0, 0.0)
        if np.isnan(d):
            c["lat"][:] = np.nan
            c["lon"][:] = np.nan
        else:
            c["lat"][:], c["lon"][:] = destination_deg(lfpg.lat_deg, lfpg.lon_deg, 45.0,
                                                       d * 1852.0)  # fmt: skip
        fired += [(i, a.what) for a in engine.evaluate_positions(c)]
    assert fired == [(4, "enters"), (7, "leaves"), (9, "enters")]

    # the first known position only sets the state: starting inside is not "entering"
    engine2 = AlertEngine(rs)
    c = track(0x3C0002, T0, 5, 10.0, (lfpg.lat_deg, lfpg.lon_deg), 90.0, 0.0)
    assert engine2.evaluate_positions(c) == []


def test_polygons_concave_and_across_the_antimeridian() -> None:
    rs = load_rules("""
geofences:
  pacific: {polygon: [[-10, 170], [-10, -170], [10, -170], [10, 170]]}
  ell: {polygon: [[0, 0], [0, 10], [2, 10], [2, 2], [10, 2], [10, 0]]}
rules:
  - {id: pac, cooldown: 0, match: {within: pacific}}
  - {id: ell, cooldown: 0, match: {within: ell}}
""")
    pts = [(0, 179.5), (0, -179.5), (5, 175), (0, 160), (0, -160), (20, 180),  # pacific
           (1, 5), (5, 1), (5, 5), (11, 1), (1, 11)]  # fmt: skip
    c = empty_columns(POSITION_FIELDS, len(pts))
    c["t"][:] = T0 + np.arange(len(pts))
    c["icao24"][:] = 0x100000 + np.arange(len(pts))
    c["lat"][:] = [p[0] for p in pts]
    c["lon"][:] = [p[1] for p in pts]
    got = AlertEngine(rs).evaluate_positions(c)
    hits = {(a.rule_id, int(a.icao24, 16) - 0x100000) for a in got}
    assert hits == {("pac", 0), ("pac", 1), ("pac", 2), ("ell", 6), ("ell", 7)}


def test_time_windows_follow_local_time_and_dst() -> None:
    rs = load_rules("""
rules:
  - id: night
    cooldown: 0
    match:
      squawk: "7700"
      time: {daily: {start: "22:00", end: "06:00"}, tz: Europe/Paris}
  - id: weekend
    cooldown: 0
    match:
      squawk: "7700"
      time: {weekdays: [sat, sun], tz: Europe/Paris, after: "2025-01-01T00:00:00"}
""")
    utc = dt.UTC
    stamps = [
        dt.datetime(2025, 7, 1, 20, 30, tzinfo=utc),  # 22:30 CEST, Tuesday: night
        dt.datetime(2025, 1, 7, 20, 30, tzinfo=utc),  # 21:30 CET: not night
        dt.datetime(2025, 1, 7, 21, 30, tzinfo=utc),  # 22:30 CET: night
        dt.datetime(2025, 7, 2, 4, 30, tzinfo=utc),  # 06:30 CEST: not night
        dt.datetime(2025, 1, 8, 4, 30, tzinfo=utc),  # 05:30 CET: night
        dt.datetime(2025, 7, 5, 12, 0, tzinfo=utc),  # Saturday noon: weekend
        dt.datetime(2025, 7, 6, 22, 30, tzinfo=utc),  # Monday 00:30 CEST: night, not weekend
        dt.datetime(2024, 12, 28, 12, 0, tzinfo=utc),  # a Saturday before 'after'
    ]
    c = empty_columns(POSITION_FIELDS, len(stamps))
    c["t"][:] = [s.timestamp() for s in stamps]
    c["icao24"][:] = 0x3C0001 + np.arange(len(stamps))
    c["lat"][:], c["lon"][:], c["squawk"][:] = 48.0, 2.0, 7700
    hits = {(a.rule_id, int(a.icao24, 16) - 0x3C0001)
            for a in AlertEngine(rs).evaluate_positions(c)}  # fmt: skip
    assert hits == {("night", 0), ("night", 2), ("night", 4), ("weekend", 5), ("night", 6)}


def test_text_patterns_identity_and_combinators() -> None:
    rs = load_rules(r"""
rules:
  - {id: reg, cooldown: 0, match: {registration: "ra86*"}}
  - {id: op, cooldown: 0, match: {operator: "*air force*", not: {typecode: "C17"}}}
  - {id: cs, cooldown: 0, match: {callsign: {regex: '^RSD\d{3}$'}}}
  - {id: cty, cooldown: 0, match: {country: [Russia], military: false}}
  - {id: iso, cooldown: 0, match: {any: [{country: US}, {icao24: "4ca123"}]}}
  - {id: band, cooldown: 0, match: {altitude_ft: {min: 1000, max: 5000}, on_ground: false}}
""")
    ann = Annotations([
        Annotation(icao24=IL62, operator="Russian Air Force", typecode="IL62", military=True),
        Annotation(icao24=US_MIL, operator="United States Air Force", typecode="C17"),
    ])  # fmt: skip
    rows = [  # icao24, callsign, altitude
        (IL62, b"RSD321", 30000.0),
        (RA_CIVIL, b"AFL1234", 3000.0),
        (US_MIL, b"RCH123", np.nan),
        (ES_7700, b"RSD3210", 4000.0),
    ]
    c = empty_columns(POSITION_FIELDS, len(rows))
    c["t"][:] = T0
    c["icao24"][:] = [r[0] for r in rows]
    c["callsign"][:] = [r[1] for r in rows]
    c["altitude_ft"][:] = [r[2] for r in rows]
    c["on_ground"][:] = 0
    c["lat"][:], c["lon"][:] = 10.0, 10.0
    engine = AlertEngine(rs, identify=lambda a, cs: identify_many(a, cs, annotations=ann))
    hits = {(a.rule_id, a.icao24) for a in engine.evaluate_positions(c)}
    assert hits == {
        ("reg", "1551e0"), ("reg", "155001"),  # RA-86496 and RA-86017
        ("op", "1551e0"),  # the C-17's operator matches too, but `not typecode C17`
        ("cs", "1551e0"),  # RSD3210 has four digits
        ("cty", "155001"),  # the Il-62 is Russian but military
        ("iso", "ae1234"), ("iso", "4ca123"),
        ("band", "155001"), ("band", "4ca123"),
    }  # fmt: skip


def test_identities_resolved_once_per_batch_for_distinct_airframes() -> None:
    rs = load_rules("rules: [{id: m, cooldown: 1h, match: {military: true}}]")
    calls: list[int] = []

    def counting(addresses: np.ndarray, callsigns: np.ndarray | None) -> pa.Table:
        calls.append(len(addresses))
        return identify_many(addresses, callsigns)

    rng = np.random.default_rng(1)
    n = 200_000
    c = empty_columns(POSITION_FIELDS, n)
    airframes = np.r_[np.arange(0x3C0000, 0x3C0000 + 45), np.arange(0xAE0000, 0xAE0000 + 5)]
    c["t"][:] = T0 + np.sort(rng.uniform(0, 600, n))
    c["icao24"][:] = rng.choice(airframes, n)
    c["lat"][:], c["lon"][:] = 50.0, 5.0
    got = AlertEngine(rs, identify=counting).evaluate_positions(c)
    assert calls == [50]
    assert sorted(a.icao24 for a in got) == [f"{x:06x}" for x in range(0xAE0000, 0xAE0005)]


def test_identities_passed_by_the_caller_and_event_details() -> None:
    rs = load_rules("""
rules:
  - {id: em, cooldown: 0, match: {event: emergency, squawk: ["7500", "7700"]}}
  - {id: alt, cooldown: 0, match: {event: emergency, altitude_ft: {max: 10000}}}
  - {id: op, cooldown: 0, match: {event: landing, operator: "Acme*"}}
""")
    ev = events([
        (T0, 0x3C0001, "emergency", "", {"squawk": "7700", "altitude_ft": 8000}),
        (T0, 0x3C0002, "emergency", "", {"squawk": 7600, "altitude_ft": 35000}),
        (T0, 0x3C0003, "landing", "EDDF", {}),
        (T0, 0x3C0004, "landing", "EDDF", {}),
    ])  # fmt: skip
    identities = {"icao24": ["3c0003", "3c0004"], "operator": ["Acme Air", "Other"]}
    engine = AlertEngine(rs, identify=lambda a, c: pytest.fail("should not resolve"))
    hits = {(a.rule_id, a.icao24) for a in engine.evaluate_events(ev, identities)}
    assert hits == {("em", "3c0001"), ("alt", "3c0001"), ("op", "3c0003")}


def test_alert_ids_are_stable_and_never_repeated(tmp_path: Path) -> None:
    rs = doc_ruleset(tmp_path)
    pos, ev = scenario()
    first = AlertEngine(rs, identify=resolver)
    a1 = first.evaluate_events(ev) + first.evaluate_positions(pos)
    # the same events delivered again (a detector re-emitting, an overlapping replay)
    assert first.evaluate_events(ev) == []
    again = AlertEngine(rs, identify=resolver)
    a2 = again.evaluate_events(ev) + again.evaluate_positions(pos)
    assert [a.id for a in a1] == [a.id for a in a2]
    assert all(a.id.startswith("alert_") and len(a.id) == 30 for a in a1)
    # the JSON form round-trips
    assert Alert.from_dict(json.loads(a1[0].to_json())).to_dict() == a1[0].to_dict()


def test_disabled_rules_and_empty_batches() -> None:
    rs = load_rules("""
rules:
  - {id: off, enabled: false, match: {squawk: "7700"}}
  - {id: on, match: {squawk: "7700"}}
""")
    engine = AlertEngine(rs)
    assert [r.id for r in engine.rules] == ["on"]
    assert engine.evaluate_positions(empty_columns(POSITION_FIELDS, 0)) == []
    assert engine.evaluate_events(events([])) == []


def test_events_from_the_flight_detector_fire_the_documented_rule(tmp_path: Path) -> None:
    """Integration with tailwatch.detect: a synthetic Havana → Caracas flight of the Il-62
    and of a civil Russian aircraft, fed in 10-minute batches; only the Il-62's landing at
    SVMI fires."""
    detect = pytest.importorskip("tailwatch.detect")
    synthetic = pytest.importorskip("tailwatch.detect.synthetic")
    if not hasattr(detect, "FlightDetector"):
        pytest.skip("no FlightDetector yet")
    dep, arr = synthetic.runway_end("MUHA", "06"), synthetic.runway_end("SVMI", "09")
    flights = [
        synthetic.sample(synthetic.airport_to_airport(dep, arr, T0 + k * 600.0), icao, cs,
                         sample_s=10.0, seed=k)
        for k, (icao, cs) in enumerate(((IL62, "RFF7010"), (RA_CIVIL, "AFL110")))
    ]  # fmt: skip
    pos = concat(flights)
    rs = doc_ruleset(tmp_path)
    engine = AlertEngine(rs, identify=resolver)
    det = detect.FlightDetector()
    got: list[Alert] = []
    seen: list[tuple[int, str, str]] = []
    edges = np.arange(pos["t"].min(), pos["t"].max() + 600.0, 600.0)
    for lo in edges:
        batch = take(pos, (pos["t"] >= lo) & (pos["t"] < lo + 600.0))
        _, ev = det.update(batch)
        seen += list(zip(ev["icao24"].tolist(), ev["type"].tolist(), ev["airport"].tolist(),
                         strict=True))  # fmt: skip
        got += engine.evaluate_events(ev)
    _, ev = det.flush()
    got += engine.evaluate_events(ev)
    assert (IL62, "landing", "SVMI") in seen and (RA_CIVIL, "landing", "SVMI") in seen
    assert [(a.rule_id, a.icao24, a.what, a.evidence["row"]["airport"]) for a in got] == [
        ("ru-mil-latam", "1551e0", "landing", "SVMI")
    ]


def test_events_as_an_arrow_table_in_storage_form() -> None:
    """Events read back from the store: UTC timestamps and hex addresses."""
    rs = load_rules("rules: [{id: l, cooldown: 0, match: {event: landing, airport: 'SV*'}}]")
    ev = events([(T0, IL62, "landing", "SVMI", {}), (T0 + 60, RA_CIVIL, "landing", "UUEE", {})])
    table = pa.table({
        "t": pa.array((ev["t"] * 1e6).astype("int64"), pa.timestamp("us", tz="UTC")),
        "icao24": pa.array([f"{x:06x}" for x in ev["icao24"].tolist()]),
        **{k: pa.array(list(ev[k])) for k in ("flight_id", "type", "airport", "details")},
        "lat": pa.array(ev["lat"]), "lon": pa.array(ev["lon"]),
    })  # fmt: skip
    (a,) = AlertEngine(rs).evaluate_events(table)
    assert (a.icao24, a.t, a.evidence["row"]["airport"]) == ("1551e0", T0, "SVMI")
