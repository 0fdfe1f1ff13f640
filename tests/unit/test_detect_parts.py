"""Pieces of the detectors: hysteresis, altitude filter, air/ground rules, inputs, live use."""

from __future__ import annotations

import math

import numpy as np

from tailwatch.core.schema import POSITION_FIELDS
from tailwatch.decode.batch import fields_to_arrow
from tailwatch.detect import FlightDetector, as_columns, detect_flights, from_traffic_records
from tailwatch.detect import kinematics as km
from tailwatch.detect import synthetic as sy
from tailwatch.detect.columns import take
from tailwatch.detect.itinerary import Fix, analyse_leg
from tailwatch.detect.params import DetectParams
from tailwatch.reference.geo import distance_nm

P = DetectParams()


def _decide(eff: list[int], prev: int = -1, final: bool = False, dt: float = 1.0,
            ) -> tuple[list[int], int]:
    t = np.arange(len(eff), dtype=np.float64) * dt
    out, n = km.decide_states(t, np.array(eff, np.int8), prev, final, P.coverage_gap_s,
                              P.min_run_n, P.min_run_s, P.long_run_s)
    return out.tolist(), int(n)


def test_hysteresis_absorbs_flicker_and_waits_for_a_real_change() -> None:
    g, a = km.GROUND, km.AIR
    # a one-second "airborne" blip on the ground stays ground
    states, n = _decide([g] * 10 + [a] + [g] * 10, final=True)
    assert n == 21 and set(states) == {g}
    # a real take-off: decided once the airborne run is long enough
    states, n = _decide([g] * 10 + [a] * 3, prev=g)
    assert n == 10  # three rows over two seconds: not yet
    states, n = _decide([g] * 10 + [a] * 8, prev=g)
    assert n == 18 and states[10:] == [a] * 8
    # the same state as before is decided at once
    assert _decide([g, g], prev=g) == ([g, g], 2)
    # a gap ends a run: a lone position before it takes the state before
    t = np.array([0, 1, 2, 3, 4, 5, 6, 7, 700.0])
    eff = np.array([a] * 8 + [g], np.int8)
    _, n = km.decide_states(t, eff, a, False, P.coverage_gap_s, P.min_run_n, P.min_run_s,
                              P.long_run_s)
    assert n == 8  # the lone ground position after the gap waits for more
    # sparse data: two positions a minute apart make a run
    states, n = _decide([g, g, a, a], prev=g, dt=60.0)
    assert n == 4 and states == [g, g, a, a]
    # at the very start a short run takes the state of the first long run
    states, n = _decide([a] + [g] * 10, final=True)
    assert states == [g] * 11


def test_altitude_spikes_are_dropped_and_a_new_level_is_accepted() -> None:
    t = np.arange(10.0)
    alt = np.array([1800, 1800, 36000, 1825, 1850, 30000, 30000, 30000, 30000, 1900.0])
    state = km.new_alt_state()
    out = km.clean_altitude(t, alt, state, P.altitude_jump_ft, P.altitude_rate_fpm,
                            P.altitude_resync_n)
    assert math.isnan(out[2]) and out[3] == 1825
    # three agreeing values: the earlier level was the wrong one
    assert math.isnan(out[5]) and math.isnan(out[6]) and out[7] == 30000
    # state carries over to the next call
    out2 = km.clean_altitude(np.array([10.0]), np.array([30100.0]), state, P.altitude_jump_ft,
                             P.altitude_rate_fpm, P.altitude_resync_n)
    assert out2[0] == 30100


def test_air_ground_rules() -> None:
    og = np.array([1, 1, 1, 0, 0, -1, -1, -1], np.int8)
    speed = np.array([10, 800, 420, 5, 5, 5, 150, 60.0])
    alt = np.array([np.nan, np.nan, 31000, 36000, 5000, np.nan, 2000, np.nan])
    near = np.array([True, True, False, True, False, True, True, True])
    h = np.array([np.nan, np.nan, np.nan, 34600, np.nan, np.nan, 600, np.nan])
    eff = km.effective_rows(og, speed, alt, near, h, -1, P.ground_max_kt, P.parked_max_kt,
                            P.unknown_air_kt, P.unknown_ground_height_ft,
                            P.unknown_air_height_ft)
    assert eff.tolist() == [
        km.GROUND,  # on the ground, taxiing
        km.GROUND,  # a position glitch at the airport ("800 kt") without altitude
        km.AIR,  # ground flag at cruise far from airports
        km.GROUND,  # "airborne" but parked at the airport (altitude garbage)
        km.AIR,  # slow but far from airports (helicopter, balloon)
        km.GROUND,  # unknown flag, parked at the airport
        km.AIR,  # unknown flag, 150 kt
        km.AIR,  # unknown flag, 60 kt, no altitude: the state before
    ]


def test_traffic_loader_keeps_one_row_per_position() -> None:
    T = 1_573_494_000.0
    recs = [
        {"timestamp": T + 1000, "last_position": T + 999.5, "icao24": "3c664e", "latitude": 47.0,
         "longitude": 8.0, "altitude": 5000, "onground": False, "callsign": "DLH4TR",
         "squawk": "7700"},
        {"timestamp": T + 1001, "last_position": T + 999.5, "icao24": "3c664e", "latitude": 47.0,
         "longitude": 8.0, "altitude": 5100, "onground": False, "callsign": "DLH4TR"},
        {"timestamp": T + 1002, "icao24": "3c664e", "latitude": None, "longitude": 8.0},
    ]
    cols = from_traffic_records(recs)
    assert cols["t"].tolist() == [T + 999.5]
    assert cols["altitude_ft"].tolist() == [5100.0]  # the last state of that position
    assert cols["squawk"].tolist() == [-1] and cols["icao24"].tolist() == [0x3C664E]
    assert from_traffic_records([recs[0]])["squawk"].tolist() == [7700]


def _short_flight() -> dict[str, np.ndarray]:
    d = sy.airport_to_airport(sy.runway_end("LSZH", "16"), sy.runway_end("LSGG", "22"),
                              1_700_000_000.0, cruise_ft=24_000, cruise_kt=380,
                              taxi_out_s=300, taxi_in_s=300)
    return sy.sample(d, 0x4B1A2B, "SWR280", sample_s=2.0)


def test_arrow_input_gives_the_same_flights() -> None:
    pos = _short_flight()
    f1, e1 = detect_flights(pos)
    f2, e2 = detect_flights(fields_to_arrow(POSITION_FIELDS, pos))
    assert f1["flight_id"].tolist() == f2["flight_id"].tolist()
    assert (f1["origin"][0], f1["destination"][0]) == ("LSZH", "LSGG")
    assert (f1["takeoff_runway"][0], f1["landing_runway"][0]) == ("16", "22")
    assert e1["type"].tolist() == e2["type"].tolist()
    assert as_columns(pos)["t"] is pos["t"]  # no copy of columns already in shape


def test_positions_in_any_order_and_duplicates() -> None:
    pos = _short_flight()
    rng = np.random.default_rng(3)
    shuffled = take(pos, rng.permutation(len(pos["t"])))
    f1, _ = detect_flights(pos)
    f2, _ = detect_flights(shuffled)
    assert f1["flight_id"].tolist() == f2["flight_id"].tolist()
    det = FlightDetector()
    det.update(pos)
    det.update(take(pos, slice(100, 200)))  # replayed positions
    assert det.rejects["detect_out_of_order"] + det.rejects["detect_same_time"] == 100


def test_live_flight_closed_on_timeout_is_reopened_and_updated() -> None:
    """A flight lost over the ocean is returned when it times out (no destination), and
    again with the same id when the aircraft reappears on a direct course and lands."""
    oslk, svmi = sy.runway_end("OSLK", "35"), sy.runway_end("SVMI", "09")
    d = sy.airport_to_airport(oslk, svmi, 1_709_300_000.0)
    pos = sy.sample(d, 0x15A123, "RFF7002", sample_s=10.0)
    total = 5655.0
    seen = (distance_nm(oslk.lat, oslk.lon, pos["lat"], pos["lon"]) < 0.1 * total) | (
        distance_nm(svmi.lat, svmi.lon, pos["lat"], pos["lon"]) < 0.1 * total)
    pos = sy.visible(pos, seen)
    other = sy.sample(sy.hold(47.45, 8.55, d.t[0], d.end_time() - d.t[0]), 0x4B0001, "CLOCK",
                      sample_s=60.0)  # keeps the detector's clock moving during the gap
    both = sy.merge([pos, other])
    det = FlightDetector()
    versions = []
    edges = np.searchsorted(both["t"], np.arange(both["t"][0], both["t"][-1] + 600, 600.0))
    edges[-1] = len(both["t"])
    for a, b in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        f, _ = det.update(take(both, slice(a, b)))
        versions += [(fid, dest) for fid, dest in zip(f["flight_id"], f["destination"],
                                                      strict=True)]
    f, _ = det.flush()
    versions += list(zip(f["flight_id"], f["destination"], strict=True))
    ids = {fid for fid, _ in versions}
    assert len(ids) == 1  # one flight, returned twice
    assert [dest for _, dest in versions] == ["", "SVMI"]


def test_leg_verdicts() -> None:
    a = Fix(0.0, 35.0, 20.0, 270.0, 35000.0, 450.0)
    b_direct = Fix(3600.0 * 5, 35.0, -20.0, 270.0, 35000.0, 450.0)
    leg = analyse_leg(a, b_direct, 450.0, 8000.0, {}, P)
    assert leg.verdict == "direct" and not leg.candidates
    b_late = Fix(3600.0 * 12, 35.0, -20.0, 270.0, 35000.0, 450.0)
    leg = analyse_leg(a, b_late, 450.0, 8000.0, {}, P)
    assert leg.verdict == "probable_stop" and leg.candidates
    assert leg.stop_confidence > 0.9
