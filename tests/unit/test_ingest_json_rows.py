"""State rows from readsb aircraft.json and OpenSky answers, into the tracker: Mode S only
aircraft (no position) in the live table, readsb's `type` as the source label and rank,
reject counters that add up, repeats dropped without flooding (formats.md §3.1, §5; the
aircraft objects follow readsb's README-json field list)."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import numpy as np

from tailwatch.core.schema import SOURCE_LABELS
from tailwatch.ingest.opensky import parse_states
from tailwatch.ingest.positions import SeenPositions
from tailwatch.ingest.readsb_json import parse_aircraft_json
from tailwatch.track.states import StateBatch
from tailwatch.track.tracker import STATE_POSITION_REJECTS, STATE_REJECTS, Tracker

NOW = 1_711_222_333.5

ADSB = {"hex": "393322", "type": "adsb_icao", "flight": "AFR34ZG ", "alt_baro": 36000,
        "alt_geom": 36475, "gs": 452.3, "ias": 262, "tas": 470, "mach": 0.8, "track": 181.2,
        "baro_rate": -64, "squawk": "1000", "emergency": "none", "category": "A3",
        "nav_qnh": 1013.6, "nav_altitude_mcp": 36000, "lat": 45.112, "lon": 1.902,
        "nic": 8, "rc": 186, "seen_pos": 0.4, "version": 2, "nic_baro": 1, "nac_p": 9,
        "nac_v": 1, "sil": 3, "sil_type": "perhour", "gva": 2, "sda": 2, "alert": 0,
        "spi": 0, "mlat": [], "tisb": [], "messages": 1512, "seen": 0.1, "rssi": -12.3}
MLAT = {"hex": "4ca7b1", "type": "mlat", "flight": "RYR81TK ", "alt_baro": 24975,
        "gs": 421.0, "track": 32.4, "baro_rate": 1152, "squawk": "4655", "lat": 45.61,
        "lon": 2.33, "nic": 0, "rc": 0, "seen_pos": 1.6, "mlat": ["lat", "lon", "track", "gs",
        "baro_rate"], "tisb": [], "messages": 322, "seen": 0.9, "rssi": -20.1}
MODE_S = {"hex": "3c65a1", "type": "mode_s", "flight": "DLH4AX  ", "alt_baro": 31000,
          "squawk": "2154", "mlat": [], "tisb": [], "messages": 87, "seen": 2.3,
          "rssi": -25.4}
MODE_S_BARE = {"hex": "4b1a2c", "alt_baro": 17300, "squawk": "7000", "messages": 5,
               "seen": 11.8, "rssi": -28.0}  # dump1090-mutability: no `type`, no callsign
TISB = {"hex": "~2f04d1", "type": "tisb_other", "alt_baro": 3500, "lat": 45.0, "lon": 1.5,
        "seen_pos": 3.0, "seen": 3.0}
BAD_POSITION = {"hex": "a12345", "type": "adsb_icao", "lat": 95.0, "lon": 1.0, "seen": 1.0}
BAD_HEX = {"hex": "zz0011", "type": "adsb_icao", "alt_baro": 1000, "seen": 1.0}


def aircraft_json(now: float, **changes: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {"now": now, "messages": 9_876_543, "aircraft": copy.deepcopy(
        [ADSB, MLAT, MODE_S, MODE_S_BARE, TISB, BAD_POSITION, BAD_HEX, "junk"])}
    for a in doc["aircraft"]:
        if isinstance(a, dict) and a["hex"] in changes:
            a.update(changes[a["hex"]])
    return doc


def _track(tracker: Tracker, seen: SeenPositions, sb: StateBatch) -> StateBatch:
    fresh = sb.take(seen.new_rows(sb["icao24"], sb["t"], sb["lat"], sb["lon"]))
    tracker.update_states(fresh.columns)
    return fresh


def _row(tracker: Tracker, icao: int) -> dict[str, Any]:
    c = tracker.snapshot().columns
    i = int(np.flatnonzero(c["icao24"] == icao)[0])
    return {k: v[i] for k, v in c.items()}


def test_mode_s_only_aircraft_enter_the_live_table_without_a_position() -> None:
    sb, rej, _ = parse_aircraft_json(json.dumps(aircraft_json(NOW)))
    tracker = Tracker(use_airports=False)
    tracker.update_states(sb.columns)
    a = _row(tracker, 0x3C65A1)
    assert a["callsign"] == b"DLH4AX" and a["altitude_ft"] == 31000 and a["squawk"] == 2154
    assert math.isnan(a["lat"]) and math.isnan(a["lon"]) and a["positions"] == 0
    assert a["last_seen"] == NOW - 2.3 and a["t_altitude"] == NOW - 2.3
    assert SOURCE_LABELS[int(a["source"])] == "mode_s"
    b = _row(tracker, 0x4B1A2C)
    assert b["altitude_ft"] == 17300 and b["squawk"] == 7000 and b["callsign"] == b""
    assert math.isnan(b["lat"]) and SOURCE_LABELS[int(b["source"])] == "json"
    # positioned aircraft: the position at now - seen_pos, the other fields at now - seen
    p = _row(tracker, 0x393322)
    assert p["t_position"] == NOW - 0.4 and p["t_altitude"] == NOW - 0.1
    assert p["lat"] == 45.112 and p["altitude_ft"] == 36000
    # objects in = aircraft kept + rejects
    assert rej == {"bad_object": 1, "non_icao": 1, "bad_position": 1, "bad_hex": 1}
    assert len(np.unique(sb["icao24"])) + sum(rej.values()) == 8
    # tracker: rows in = states + state rejects; states = no position + positions + rejects
    st = tracker.stats()
    assert st["states"] + sum(st[k] for k in STATE_REJECTS) == len(sb)
    assert st["states"] == (st["state_no_position"] + st["state_positions"]
                            + sum(st[k] for k in STATE_POSITION_REJECTS))
    assert st["state_positions"] == 2 and st["state_no_position"] == len(sb) - 2


def test_readsb_type_sets_the_label_and_mlat_ranks_as_mlat() -> None:
    sb, _, _ = parse_aircraft_json(json.dumps(aircraft_json(NOW)))
    labels = {int(a): SOURCE_LABELS[int(s)] for a, s in zip(sb["icao24"], sb["source"],
                                                           strict=True)}
    assert labels == {0x393322: "adsb", 0x4CA7B1: "mlat", 0x3C65A1: "mode_s",
                      0x4B1A2C: "json"}
    agg, _, _ = parse_aircraft_json(json.dumps(aircraft_json(NOW)), source="aggregator")
    assert SOURCE_LABELS[int(agg["source"][agg["icao24"] == 0x4B1A2C][0])] == "aggregator"
    tracker = Tracker(use_airports=False)
    seen = SeenPositions()
    _track(tracker, seen, sb)
    m = _row(tracker, 0x4CA7B1)
    assert SOURCE_LABELS[int(m["position_source"])] == "mlat"
    assert SOURCE_LABELS[int(m["source"])] == "mlat"
    # 4 s later the feed has it without `type` (a decoded feed, rank 5): while the MLAT
    # position is fresh, a worse source may not move it
    moved = {"4ca7b1": {"type": "other", "lat": 45.615, "lon": 2.335, "seen_pos": 0.5}}
    _track(tracker, seen, parse_aircraft_json(json.dumps(aircraft_json(NOW + 4, **moved)))[0])
    assert tracker.stats()["state_outranked"] == 1 and _row(tracker, 0x4CA7B1)["lat"] == 45.61
    # then ADS-B (rank 0) from the same feed: it takes over at once
    adsb = {"4ca7b1": {"type": "adsb_icao", "lat": 45.62, "lon": 2.34, "seen_pos": 0.5}}
    _track(tracker, seen, parse_aircraft_json(json.dumps(aircraft_json(NOW + 8, **adsb)))[0])
    m = _row(tracker, 0x4CA7B1)
    assert m["lat"] == 45.62 and SOURCE_LABELS[int(m["position_source"])] == "adsb"


def _aged(d_s: float) -> dict[str, dict[str, Any]]:
    """Changes making the answer ``d_s`` later with nothing heard: every age grows by d_s."""
    out: dict[str, dict[str, Any]] = {}
    for a in (ADSB, MLAT, MODE_S, MODE_S_BARE):
        ages: dict[str, Any] = a
        out[str(ages["hex"])] = {k: ages[k] + d_s for k in ("seen", "seen_pos") if k in ages}
    return out


def test_repeated_polls_add_no_rows_and_new_messages_do() -> None:
    seen = SeenPositions()
    first = seen.new_rows(*_cols(parse_aircraft_json(json.dumps(aircraft_json(NOW)))[0]))
    assert first.all()
    # one second later nothing was heard: the times are the same, no row is new
    sb = parse_aircraft_json(json.dumps(aircraft_json(NOW + 1, **_aged(1))))[0]
    assert not seen.new_rows(*_cols(sb)).any()
    # a new Mode S reply from 3c65a1 (its `seen` falls): that row only
    heard = {**_aged(2), "3c65a1": {"seen": 0.2, "alt_baro": 31025}}
    sb = parse_aircraft_json(json.dumps(aircraft_json(NOW + 2, **heard)))[0]
    new = seen.new_rows(*_cols(sb))
    assert sb["icao24"][new].tolist() == [0x3C65A1] and sb["altitude_ft"][new][0] == 31025


def _cols(sb: StateBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return sb["icao24"], sb["t"], sb["lat"], sb["lon"]


def test_opensky_vector_without_a_position_updates_the_live_row() -> None:
    t0 = 1_711_222_300

    def vec(t_pos: int | None, contact: int, lat: float | None, lon: float | None,
            alt_m: float, squawk: str) -> list[Any]:
        return ["4b1805", "SWR100  ", "Switzerland", t_pos, contact, lon, lat, alt_m, False,
                120.0, 271.0, 5.2, None, alt_m + 30, squawk, False, 0]

    tracker = Tracker(use_airports=False)
    seen = SeenPositions()
    one, rej1, _ = parse_states({"time": t0, "states": [vec(t0 - 1, t0, 47.45, 8.55, 1000.0,
                                                           "2000")]})
    _track(tracker, seen, one)
    two, rej2, _ = parse_states({"time": t0 + 10, "states": [
        vec(None, t0 + 9, None, None, 1500.0, "7700"),
        ["4b1806", "", "Switzerland", None, None, None, None, None, True, 0, 0, None, None,
         None, None, False, 0]]})  # no time at all
    assert rej1 == {} and rej2 == {"no_time": 1}
    assert len(two) == 1 and not two.has_position()[0] and two["t"][0] == t0 + 9
    _track(tracker, seen, two)
    a = _row(tracker, 0x4B1805)
    assert a["callsign"] == b"SWR100" and a["squawk"] == 7700
    assert np.isclose(a["altitude_ft"], 1500 / 0.3048) and a["t_altitude"] == t0 + 9
    assert a["lat"] == 47.45 and a["t_position"] == t0 - 1
