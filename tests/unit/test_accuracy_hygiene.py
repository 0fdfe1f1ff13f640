"""Data hygiene before any decision (issue 13, item 1): frozen positions, altitude jumps without
a position change, duplicated and backward times are marked, counted per aircraft and never
turned into take-offs, landings or go-arounds; implausible time units are named."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tailwatch.core.errors import FormatError
from tailwatch.detect import FlightDetector, detect_flights, from_traffic_records, merge_flights
from tailwatch.detect import hygiene as hy
from tailwatch.detect import synthetic as sy
from tailwatch.detect.columns import Columns, take
from tailwatch.detect.flights import concat_events
from tailwatch.reference.geo import distance_nm

T0 = 1_573_494_000.0


def _flight() -> Columns:
    d = sy.airport_to_airport(sy.runway_end("LSZH", "16"), sy.runway_end("LSGG", "22"), T0,
                              cruise_ft=24_000, cruise_kt=380, taxi_out_s=300, taxi_in_s=300)
    return sy.sample(d, 0x4B1234, "SWR123", sample_s=5.0)


def _freeze_on_final(cols: Columns, nm_out: float, repeats: int, *,
                     on_ground: int = 0, altitude_ft: float | None = None) -> Columns:
    """Insert ``repeats`` copies of the position ``nm_out`` NM before LSGG 22 (time advancing
    by 10 s, the later real positions shifted by as much): what OpenSky does when a
    receiver keeps the last state vector."""
    thr = sy.runway_end("LSGG", "22")
    d = np.asarray(distance_nm(cols["lat"], cols["lon"], thr.lat, thr.lon))
    air = cols["on_ground"] == 0
    i = int(np.flatnonzero(air & (d <= nm_out))[0])
    rows = np.r_[np.arange(i + 1), np.full(repeats, i), np.arange(i + 1, len(cols["t"]))]
    out = take(cols, rows)
    shift = np.r_[np.zeros(i + 1), np.arange(1, repeats + 1) * 10.0,
                  np.full(len(cols["t"]) - i - 1, repeats * 10.0)]
    out["t"] = out["t"] + shift
    out["gs_kt"][i + 1:i + 1 + repeats] = np.float32(140.0)  # stale reported speed
    out["on_ground"][i + 1:i + 1 + repeats] = on_ground
    if altitude_ft is not None:
        out["altitude_ft"][i + 1:i + 1 + repeats] = np.float32(altitude_ft)
    return out


def _types(events: Columns) -> list[str]:
    return [str(x) for x in events["type"].tolist()]


def test_mark_positions_flags_each_fault_and_spares_parked_aircraft() -> None:
    cols = {
        "t": np.array([10.0, 20.0, 30.0, 30.0, 25.0, 40.0, 10.0, 20.0, 30.0]),
        "icao24": np.array([1, 1, 1, 1, 1, 1, 2, 2, 2], np.uint32),
        "lat": np.array([47.0, 47.01, 47.01, 47.02, 47.03, 47.03, 47.4, 47.4, 47.4]),
        "lon": np.array([8.0, 8.01, 8.01, 8.02, 8.03, 8.03, 8.5, 8.5, 8.5]),
        "altitude_ft": np.array([3000, 3100, 35000, 3200, 3300, 3300, np.nan, np.nan,
                                 np.nan]),
        "on_ground": np.array([0, 0, 0, 0, 0, 0, 1, 1, 1], np.int8),
        "gs_kt": np.array([150, 150, 150, 150, 150, 150, 0, 0, 0], np.float32),
    }
    flags = hy.mark_positions(cols)
    assert flags.tolist() == [
        0, 0,
        hy.FROZEN | hy.ALTITUDE_JUMP_FROZEN,  # same place 10 s later, at "35,000 ft"
        hy.DUPLICATE_TIME,
        hy.TIME_BACKWARDS,
        hy.FROZEN,  # same place as the row before it, time advanced
        0, 0, 0,  # parked on the ground: still, not frozen
    ]
    assert hy.count_flags(flags) == {"frozen_position": 2, "altitude_jump_frozen": 1,
                                     "duplicate_time": 1, "time_backwards": 1}


def test_frozen_positions_on_final_invent_no_landing_or_take_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # 1.2 NM out on final to LSGG 22 (about 400 ft above the field), the last position is
    # repeated for two minutes, "airborne", with a stale 140 kt: by its positions the
    # aircraft stands still within 3 NM of an airport, which alone would read as on the
    # ground. Truth: one flight LSZH 16 -> LSGG 22, one take-off, one landing.
    pos = _freeze_on_final(_flight(), 1.2, 12)
    det = FlightDetector()
    f1, e1 = det.update(pos)
    f2, e2 = det.flush()
    flights, events = merge_flights([f1, f2]), concat_events([e1, e2])
    types = _types(events)
    assert types.count("takeoff") == 1 and types.count("landing") == 1
    assert "go_around" not in types and "touch_and_go" not in types
    assert len(flights["flight_id"]) == 1
    assert (flights["origin"][0], flights["destination"][0]) == ("LSZH", "LSGG")
    assert flights["landing_runway"][0] == "22"
    assert det.hygiene(0x4B1234)["frozen_position"] == 12
    assert det.rejects["detect_frozen_position"] == 12
    # without the hygiene step the same data gives the invented landing and take-off
    monkeypatch.setattr(hy, "frozen_rows", lambda lat, *a, **k: (
        np.zeros(lat.shape[0], bool), np.zeros(lat.shape[0], bool)))
    _, bad = detect_flights(pos)
    assert _types(bad).count("landing") + _types(bad).count("takeoff") > 2


def test_frozen_point_with_absurd_altitude_is_no_go_around() -> None:
    # the repeated point carries 35,000 ft for a minute, then the approach continues
    pos = _freeze_on_final(_flight(), 4.0, 6, on_ground=-1, altitude_ft=35_000.0)
    flights, events = detect_flights(pos)
    types = _types(events)
    assert "go_around" not in types
    assert types.count("landing") == 1 and len(flights["flight_id"]) == 1


def test_duplicated_and_backward_times_are_counted_per_aircraft() -> None:
    pos = _flight()
    n = len(pos["t"])
    late = take(pos, np.arange(n // 2, n))
    det = FlightDetector()
    det.update(take(pos, np.arange(0, n // 2 + 3)))  # 3 rows sent twice
    det.update(late)
    det.flush()
    h = det.hygiene(0x4B1234)
    assert h.get("duplicate_time", 0) + h.get("time_backwards", 0) == 3
    assert det.hygiene()["duplicate_time"] == h["duplicate_time"]


def test_times_in_an_implausible_unit_are_named() -> None:
    recs = [{"timestamp": T0 / 1000 + k * 0.001, "icao24": "3c664e", "latitude": 47.0,
             "longitude": 8.0 + k * 0.01, "altitude": 5000} for k in range(5)]
    with pytest.raises(FormatError, match="1970"):
        from_traffic_records(recs)
    micro = [dict(r, timestamp=(T0 + k) * 1e6) for k, r in enumerate(recs)]
    with pytest.raises(FormatError, match="microseconds"):
        from_traffic_records(micro)
    assert "milliseconds" in hy.time_unit_problem([T0 * 1000.0])
    assert hy.time_unit_problem([T0, T0 + 1]) == ""
    pos = _flight()
    pos["t"] = pos["t"] * 1000.0
    det = FlightDetector()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        det.update(pos)
    assert any(isinstance(w.message, hy.TimeUnitWarning) for w in caught)
    assert det.rejects["detect_time_unit_suspect"] == len(pos["t"])


def test_positions_made_up_by_resampling_are_flagged() -> None:
    # a resampled file bridging a gap: exactly linear steps every 10 s, reported speed
    # stale at 22 kt while the points move at ~290 kt (the TV-relay sample, 2020-09-02)
    t = T0 + np.arange(8) * 10.0
    lat = 44.9188 + np.arange(8) * 0.006707
    lon = 4.9722 + np.arange(8) * 0.012290
    gs = np.full(8, 22.0)
    flagged = hy.interpolated_rows(t, lat, lon, gs, None, 50.0)
    assert flagged.tolist() == [False, False] + [True] * 6
    # the same line with the speed it really has is not flagged (resampled cruise is fine)
    assert not hy.interpolated_rows(t, lat, lon, np.full(8, 290.0), None, 50.0).any()
    # nor real positions, never regular to 0.1 m
    rng = np.random.default_rng(0)
    n_lat, n_lon = lat + rng.normal(0, 2e-5, 8), lon + rng.normal(0, 3e-5, 8)
    assert not hy.interpolated_rows(t, n_lat, n_lon, gs, None, 50.0).any()
    # across calls: the two rows before are given
    prev = {"t": t[:2], "lat": lat[:2], "lon": lon[:2], "gs_kt": gs[:2]}
    assert hy.interpolated_rows(t[2:], lat[2:], lon[2:], gs[2:], prev, 50.0).all()


def test_a_stale_cruise_altitude_on_a_taxiing_aircraft_is_ground() -> None:
    from tailwatch.detect import kinematics as km

    eff = km.effective_rows(
        np.array([-1, -1], np.int8), np.array([22.0, 22.0]), np.array([25_975.0, 3_000.0]),
        np.array([True, True]), np.array([25_500.0, 2_500.0]), km.AIR, 250.0, 40.0, 80.0,
        300.0, 500.0)
    # 22 kt 25,000 ft above an airport cannot be flown: the altitude is stale, on the
    # ground; 22 kt 2,500 ft above it (a helicopter, a glider) stays airborne
    assert eff.tolist() == [km.GROUND, km.AIR]
