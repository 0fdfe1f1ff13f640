"""Stale aircraft and stale fields: no client of any format gets an aircraft unheard for more
than 60 s; each readsb field expires on its own clock (readsb TRACK_EXPIRE 60 s, callsign and
air/ground TRACK_EXPIRE_LONG 180 s); OpenSky's 15-second validity rules."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tailwatch.serve import LiveState, create_app
from tailwatch.serve.state import blank_columns
from tailwatch.track.tracker import Snapshot

NOW = 1_720_250_000.0
FRESH, OLD, GONE = 0x393322, 0x3C6444, 0x4CA87C  # heard 1 s, 45 s and 61 s ago


def _world(**clocks: list[float]) -> LiveState:
    """Three aircraft, identical except for when they were last heard; ``clocks`` sets extra
    ``t_*`` columns (seconds before NOW per aircraft)."""
    c = blank_columns(3)
    c["icao24"] = np.array([FRESH, OLD, GONE], np.uint32)
    c["callsign"] = np.array([b"AFR34ZG", b"BAW12", b"DLH4"], "S8")
    ago = np.array([1.0, 45.0, 61.0])
    for k in ("last_seen", "t_position", "t_altitude", "t_velocity"):
        c[k] = NOW - ago
    c["first_seen"] = np.full(3, NOW - 600)
    c["lat"], c["lon"] = np.array([48.0, 48.1, 48.2]), np.array([2.0, 2.1, 2.2])
    c["altitude_ft"] = np.full(3, 22600.0)
    c["gs_kt"], c["track_deg"] = np.full(3, 428.0), np.full(3, 183.9)
    c["vrate_fpm"] = np.full(3, 1024.0)
    c["squawk"] = np.array([1000, 7700, 7700], np.int16)
    c["on_ground"] = np.zeros(3, np.int8)
    c["nic"] = np.full(3, 8, np.int8)
    c["messages"] = np.full(3, 100)
    for name, ages in clocks.items():
        c[name] = NOW - np.asarray(ages, np.float64)
    st = LiveState()
    st.publish(Snapshot(NOW, c, {"messages": 300}))
    return st


def _hexes(objs: list[dict[str, object]], key: str = "hex") -> set[str]:
    return {str(o[key]) for o in objs}


def test_no_client_gets_an_aircraft_unheard_for_60_s() -> None:
    c = TestClient(create_app(_world()))
    want = {f"{FRESH:06x}", f"{OLD:06x}"}
    assert _hexes(c.get("/data/aircraft.json").json()["aircraft"]) == want
    assert _hexes(c.get("/re-api/", params={"all": ""}).json()["aircraft"]) == want
    assert _hexes(c.get("/re-api/", params={"find_hex": f"{GONE:06x}"}).json()["aircraft"]) == set()
    assert c.get(f"/v2/hex/{GONE:06x}").json()["ac"] == []
    assert _hexes(c.get("/v2/sqk/7700").json()["ac"]) == {f"{OLD:06x}"}
    assert _hexes(c.get("/v2/point/48.1/2.1/100").json()["ac"]) == want
    assert c.get("/api/search", params={"q": "DLH4"}).json()["count"] == 0
    assert c.get(f"/api/aircraft/{GONE:06x}").json()["live"] is None
    with c.websocket_connect("/api/live") as ws:
        assert _hexes(ws.receive_json()["aircraft"]) == want
    # OpenSky: 15 s (the 45-s one is obsolete too)
    states = c.get("/api/states/all", params={"time": 0}).json()["states"]
    assert [s[0] for s in states] == [f"{FRESH:06x}"]


def test_fields_expire_on_their_own_clocks() -> None:
    # the tracker's optional clocks: callsign 100 s (kept: 180-s rule), squawk 70 s (gone),
    # nav 61 s (gone)
    st = _world(t_callsign=[100.0, 1, 1], t_squawk=[70.0, 1, 1], t_nav=[61.0, 1, 1],
                t_altitude=[61.0, 1, 1])
    cols = dict(st.view().snapshot.columns)
    cols["selected_altitude_ft"] = np.full(3, 35008.0)
    cols["nav_modes"] = np.full(3, 1, np.int16)
    st.publish(Snapshot(NOW, cols, {}))
    c = TestClient(create_app(st))
    ac = {a["hex"]: a for a in c.get("/data/aircraft.json").json()["aircraft"]}
    fresh, old = ac[f"{FRESH:06x}"], ac[f"{OLD:06x}"]
    assert fresh["flight"] == "AFR34ZG "
    assert "squawk" not in fresh and old["squawk"] == "7700"
    assert "nav_altitude_mcp" not in fresh and "nav_modes" not in fresh
    assert old["nav_altitude_mcp"] == 35008 and old["nav_modes"] == ["autopilot"]
    assert "alt_baro" not in fresh and old["alt_baro"] == 22600
    # a position older than 60 s: lastPosition with nic and rc, no lat/lon
    st2 = _world(t_position=[70.0, 1, 1])
    a = {x["hex"]: x for x in TestClient(create_app(st2)).get(
        "/data/aircraft.json").json()["aircraft"]}[f"{FRESH:06x}"]
    assert "lat" not in a and "rc" not in a
    assert a["lastPosition"] == {"lat": 48.0, "lon": 2.0, "nic": 8, "rc": 185,
                                 "seen_pos": 70.0}


def test_opensky_reuses_positions_and_velocities_for_15_s() -> None:
    st = _world(t_position=[20.0, 1, 1], t_velocity=[5.0, 1, 1])
    c = TestClient(create_app(st))
    states = {s[0]: s for s in c.get("/api/states/all").json()["states"]}
    s = states[f"{FRESH:06x}"]
    assert s[3] is None and s[5] is None and s[6] is None  # position 20 s old: null
    assert s[9] == pytest.approx(428.0 * 1852 / 3600, abs=0.01)  # velocity 5 s old: kept
    assert s[4] == int(NOW - 1)
    # a position update 20 s ago and a velocity 16 s ago: the state vector is obsolete
    st = _world(t_position=[20.0, 45, 61], t_velocity=[16.0, 45, 61])
    body = TestClient(create_app(st)).get("/api/states/all", params={"extended": "true"}).json()
    assert body["states"] is None
