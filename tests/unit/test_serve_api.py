"""The HTTP API on the real AFR34ZG flight (CDG → Toulouse) replayed to 30 min after its
first message, with rs1090's decoding of the same messages as the oracle.

Two made-up aircraft are cloned from its state to exercise policies: a UK military one (an
address in the RAF block) and a LADD-listed one (flagged so in a small test database).
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from _serve_replay import AFR, last_value, records, replay, t0
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tailwatch.config import ServeSettings
from tailwatch.reference.aircraft_db import AircraftDB, AircraftRecord
from tailwatch.serve import IdentityResolver, LiveState, ReceiverInfo, create_app
from tailwatch.store import open_store
from tailwatch.track.tracker import Snapshot

TOKEN = "s3cret-token"
MIL = 0x43C123  # inside the UK military block
LADD = 0xA1B2C3  # a US address, LADD-flagged in the test database
LFPG = (49.0097, 2.5479)


def _clone(snap: Snapshot, extra: list[tuple[int, bytes, float, float]]) -> Snapshot:
    cols = {k: np.concatenate([v] + [v[:1]] * len(extra)) for k, v in snap.columns.items()}
    for j, (addr, cs, dlat, dlon) in enumerate(extra, start=1):
        cols["icao24"][j] = addr
        cols["callsign"][j] = cs
        cols["lat"][j] += dlat
        cols["lon"][j] += dlon
    return Snapshot(snap.now, cols, snap.counters)


@dataclass
class World:
    T: float
    state: LiveState
    client: TestClient
    positions: dict[str, np.ndarray]
    flight_id: str
    takeoff_t: float


def _hav_nm(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(a)) / 1852.0


@pytest.fixture(scope="module")
def world() -> Any:
    T = t0() + 1800
    snaps, pos = replay([T])
    snap = _clone(snaps[0], [(MIL, b"RRR1234 ", 0.5, 0.5), (LADD, b"N123AB  ", -0.5, 0.3)])
    store = open_store(":memory:")
    store.write("positions", pos.columns)
    # three stored positions of the LADD aircraft, to check history hides them
    p = {k: v[-3:].copy() for k, v in pos.columns.items()}
    p["icao24"][:] = LADD
    store.write("positions", p)
    ground = pos.columns["on_ground"]
    takeoff_t = float(pos.columns["t"][int(np.flatnonzero(ground[:-1] > ground[1:])[0]) + 1])
    flight_id = f"393322-{int(t0())}"
    store.write("flights", {
        "flight_id": np.array([flight_id], dtype=object),
        "icao24": np.array([AFR], dtype=np.uint32),
        "callsign": np.array(["AFR34ZG"], dtype=object),
        "first_seen": np.array([t0()]),
        "last_seen": np.array([T]),
        "origin": np.array(["LFPG"], dtype=object),
        "destination": np.array(["LFBO"], dtype=object),
        "takeoff_t": np.array([takeoff_t]),
    })
    store.write("events", {
        "t": np.array([takeoff_t]),
        "icao24": np.array([AFR], dtype=np.uint32),
        "flight_id": np.array([flight_id], dtype=object),
        "type": np.array(["takeoff"], dtype=object),
        "airport": np.array(["LFPG"], dtype=object),
        "lat": np.array([LFPG[0]]),
        "lon": np.array([LFPG[1]]),
    })
    db = AircraftDB.from_records([
        AircraftRecord("393322", "F-GMZC", "A321", "AIRBUS A-321", None, 0, None, "test-db"),
        AircraftRecord("a1b2c3", "N123AB", "C172", "Cessna 172", "Private owner", 8, 2001,
                       "test-db"),
    ])
    state = LiveState(store=store, identity=IdentityResolver(db=db),
                      receiver=ReceiverInfo(id="test", name="CDG", lat=LFPG[0], lon=LFPG[1]))
    state.publish(snap)
    app = create_app(state, ServeSettings(token=TOKEN))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield World(T, state, client, pos.columns, flight_id, takeoff_t)


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _by_hex(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {a["hex"]: a for a in objects}


# --- readsb -----------------------------------------------------------------------------------

def test_aircraft_json_matches_rs1090(world: World) -> None:
    r = world.client.get("/data/aircraft.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert set(doc) == {"now", "messages", "aircraft"}
    assert doc["now"] == pytest.approx(world.T, abs=1e-3)
    a = _by_hex(doc["aircraft"])["393322"]
    T = world.T
    assert a["flight"] == "AFR34ZG "
    assert a["squawk"] == "1000"
    assert a["type"] == "adsb_icao"
    assert a["alt_baro"] in (last_value("altitude", T), last_value("altitude", T, ("17",)))
    assert a["gs"] == pytest.approx(last_value("groundspeed", T), abs=0.051)
    assert a["track"] == pytest.approx(last_value("track", T), abs=0.006)
    # TC19's rate here has VrSrc 0: geometric (readsb and pyModeS; rs1090 labels it
    # barometric), so readsb sends it as geom_rate and baro_rate comes from Comm-B 6,0
    assert a["geom_rate"] == last_value("vertical_rate", T)
    assert a["baro_rate"] == last_value("vrate_barometric", T)
    assert a["lat"] == pytest.approx(last_value("latitude", T), abs=1e-5)
    assert a["lon"] == pytest.approx(last_value("longitude", T), abs=1e-5)
    assert a["ias"] == last_value("IAS", T)
    assert a["mach"] == pytest.approx(last_value("Mach", T), abs=0.0005)
    assert 0 <= a["seen_pos"] < 5 and 0 <= a["seen"] < 5
    assert a["messages"] == sum(1 for x in records() if x["timestamp"] <= T)
    # database fields, the receiver distance and readsb's always-present lists
    assert (a["r"], a["t"], a["desc"], a["dbFlags"]) == ("F-GMZC", "A321", "AIRBUS A-321", 0)
    assert a["r_dst"] == pytest.approx(_hav_nm(*LFPG, a["lat"], a["lon"]), abs=0.01)
    assert a["mlat"] == [] and a["tisb"] == []
    assert a["country"] == "France"
    # readsb: alt_geom is the baro altitude plus the TC19 GNSS-baro difference
    assert a["alt_geom"] == a["alt_baro"] + last_value("geo_minus_baro", T)
    assert doc["messages"] >= a["messages"]


def test_aircraft_json_gzip_is_the_same_document(world: World) -> None:
    plain = world.client.get("/data/aircraft.json", headers={"Accept-Encoding": "identity"})
    with world.client.stream("GET", "/data/aircraft.json",
                             headers={"Accept-Encoding": "gzip"}) as r:
        assert r.headers.get("content-encoding") == "gzip"
        raw = b"".join(r.iter_raw())
    assert raw[:2] == b"\x1f\x8b"
    assert json.loads(gzip.decompress(raw)) == plain.json()


def test_on_ground_is_the_string_ground() -> None:
    snaps, _ = replay([t0() + 60])
    state = LiveState()
    state.publish(snaps[0])
    with TestClient(create_app(state)) as c:
        a = c.get("/data/aircraft.json").json()["aircraft"][0]
    assert a["alt_baro"] == "ground"
    assert a["lat"] == pytest.approx(49.0, abs=0.05)  # on the apron at CDG


def test_receiver_json(world: World) -> None:
    doc = world.client.get("/data/receiver.json").json()
    assert doc["lat"] == LFPG[0] and doc["lon"] == LFPG[1]
    assert doc["refresh"] == 1000 and doc["version"].startswith("tailwatch")


def _reapi(world: World, query: str, **kw: Any) -> dict[str, Any]:
    r = world.client.get(f"/re-api/?{query}", **kw)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_reapi_circle_closest_box(world: World) -> None:
    a = _by_hex(world.client.get("/data/aircraft.json").json()["aircraft"])["393322"]
    doc = _reapi(world, f"circle={LFPG[0]},{LFPG[1]},200")
    assert set(doc) == {"now", "resultCount", "ptime", "aircraft"}
    hexes = [x["hex"] for x in doc["aircraft"]]
    assert set(hexes) == {"393322", "43c123"}  # the LADD one is hidden
    dst = [x["dst"] for x in doc["aircraft"]]
    assert dst == sorted(dst)  # nearest first
    afr = _by_hex(doc["aircraft"])["393322"]
    assert afr["dst"] == pytest.approx(_hav_nm(*LFPG, a["lat"], a["lon"]), abs=0.01)
    assert 180 < afr["dir"] < 270  # the aircraft is south-west of CDG
    small = _reapi(world, f"circle={LFPG[0]},{LFPG[1]},{afr['dst'] - 0.5}")
    assert "393322" not in {x["hex"] for x in small["aircraft"]}
    assert small["resultCount"] == len(small["aircraft"]) == 1
    near = _reapi(world, f"closest={a['lat']},{a['lon']},100")
    assert [x["hex"] for x in near["aircraft"]] == ["393322"]
    assert near["aircraft"][0]["dst"] < 0.01
    box = _reapi(world, f"box={a['lat'] - 0.1},{a['lat'] + 0.1},{a['lon'] - 0.1},"
                        f"{a['lon'] + 0.1}")
    assert [x["hex"] for x in box["aircraft"]] == ["393322"]
    # a box crossing the antimeridian (west > east) does not contain France
    assert _reapi(world, "box=-90,90,170,-170")["resultCount"] == 0
    assert _reapi(world, "box=-90,90,-170,170")["resultCount"] == 2


def test_reapi_finds_and_filters(world: World) -> None:
    def hexes(q: str) -> set[str]:
        return {x["hex"] for x in _reapi(world, q)["aircraft"]}

    assert hexes("find_hex=393322,43C123") == {"393322", "43c123"}
    assert hexes("hexList=393322") == {"393322"}
    assert hexes("find_callsign=afr34zg") == {"393322"}
    assert hexes("find_reg=F-GMZC") == hexes("find_reg=fgmzc") == {"393322"}
    assert hexes("find_type=A321") == {"393322"}
    assert hexes("all") == {"393322", "43c123"}
    assert hexes("all_with_pos&filter_squawk=1000") == {"393322", "43c123"}
    assert hexes("all&filter_squawk=7700") == set()
    assert hexes("all&filter_callsign_prefix=RRR") == {"43c123"}
    assert hexes("all&filter_callsign_exact=AFR34ZG") == {"393322"}
    assert hexes("all&filter_mil") == {"43c123"}
    assert hexes("all&filter_type=A321,B738") == {"393322"}
    alt = last_value("altitude", world.T)
    assert hexes(f"all&above_alt_baro={alt - 1}&below_alt_baro={alt + 1}") == {
        "393322", "43c123"}
    assert hexes(f"all&above_alt_baro={alt + 1}") == set()
    jv2 = _reapi(world, "find_hex=393322&jv2")
    assert set(jv2) == {"ac", "msg", "now", "total", "ctime", "ptime"}
    assert jv2["msg"] == "No error" and jv2["total"] == 1
    assert jv2["now"] == round(world.T * 1000)
    assert jv2["ac"][0]["flight"] == "AFR34ZG "
    assert world.client.get("/re-api/?status").status_code == 200


def test_military_verdict_in_dbflags(world: World) -> None:
    objs = _by_hex(world.client.get("/data/aircraft.json").json()["aircraft"])
    assert objs["43c123"]["dbFlags"] & 1
    assert objs["43c123"].get("ownOp") == "Royal Air Force"  # from the callsign designator
    assert objs["43c123"]["country"] == "United Kingdom"
    assert not objs["393322"]["dbFlags"] & 1


# --- ADSBx v2 ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "expected"), [
    ("/v2/hex/393322", {"393322"}),
    ("/v2/icao/393322,43c123", {"393322", "43c123"}),
    ("/v2/callsign/AFR34ZG", {"393322"}),
    ("/v2/reg/F-GMZC", {"393322"}),
    ("/v2/type/A321", {"393322"}),
    ("/v2/sqk/1000", {"393322", "43c123"}),
    ("/v2/sqk/7700", set()),
    ("/v2/mil", {"43c123"}),
    (f"/v2/point/{LFPG[0]}/{LFPG[1]}/250", {"393322", "43c123"}),
    (f"/v2/point/{LFPG[0]}/{LFPG[1]}/1", set()),
    ("/v2/hex/a1b2c3", set()),  # LADD: hidden
])
def test_v2_endpoints(world: World, path: str, expected: set[str]) -> None:
    r = world.client.get(path)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert set(doc) == {"ac", "msg", "now", "total", "ctime", "ptime"}
    assert {a["hex"] for a in doc["ac"]} == expected
    assert doc["total"] == len(expected)
    if "/point/" in path and expected:
        assert all("dst" in a and "dir" in a for a in doc["ac"])


# --- PIA / LADD -------------------------------------------------------------------------------

def test_ladd_hidden_from_public_views_shown_to_token_holders(world: World) -> None:
    c = world.client
    public = {a["hex"] for a in c.get("/data/aircraft.json").json()["aircraft"]}
    assert public == {"393322", "43c123"}
    full = {a["hex"] for a in c.get("/data/aircraft.json", headers=AUTH).json()["aircraft"]}
    assert full == {"393322", "43c123", "a1b2c3"}
    assert c.get("/v2/ladd").status_code == 403
    assert c.get("/v2/pia").status_code == 403
    assert c.get("/re-api/?all&filter_ladd").status_code == 403
    assert {a["hex"] for a in c.get("/v2/ladd", headers=AUTH).json()["ac"]} == {"a1b2c3"}
    assert c.get("/api/aircraft/a1b2c3").status_code == 404
    detail = c.get("/api/aircraft/a1b2c3", headers=AUTH).json()
    assert detail["identity"]["ladd"] and detail["identity"]["registration"] == "N123AB"
    states = c.get("/api/states/all").json()["states"]
    assert {s[0] for s in states} == {"393322", "43c123"}
    assert c.get("/api/search?q=N123AB").json()["count"] == 0
    assert c.get("/api/history?icao24=a1b2c3").json()["count"] == 0
    assert c.get("/api/history?icao24=a1b2c3", headers=AUTH).json()["count"] == 3
    everything = c.get("/api/history?every=0").json()["columns"]["icao24"]
    assert "a1b2c3" not in everything and "393322" in everything
    wrong = {"Authorization": "Bearer nope"}
    assert {a["hex"] for a in c.get("/data/aircraft.json", headers=wrong).json()[
        "aircraft"]} == public


def test_show_pia_ladd_setting_shows_them(world: World) -> None:
    app = create_app(world.state, ServeSettings(show_pia_ladd=True))
    with TestClient(app) as c:
        hexes = {a["hex"] for a in c.get("/data/aircraft.json").json()["aircraft"]}
        assert "a1b2c3" in hexes
        assert c.get("/v2/ladd").json()["total"] == 1


# --- OpenSky ----------------------------------------------------------------------------------

def test_states_all_fields(world: World) -> None:
    doc = world.client.get("/api/states/all").json()
    assert set(doc) == {"time", "states"} and doc["time"] == math.floor(world.T)
    s = {v[0]: v for v in doc["states"]}["393322"]
    assert len(s) == 17
    T = world.T
    assert s[1] == "AFR34ZG " and s[2] == "France"
    last_msg = max(r["timestamp"] for r in records() if r["timestamp"] <= T)
    assert s[4] == math.floor(last_msg)
    assert s[5] == pytest.approx(last_value("longitude", T), abs=1e-4)
    assert s[6] == pytest.approx(last_value("latitude", T), abs=1e-4)
    alt_ft = last_value("altitude", T)
    assert s[7] == pytest.approx(alt_ft * 0.3048, abs=8)  # ±25 ft
    assert s[8] is False
    assert s[9] == pytest.approx(last_value("groundspeed", T) * 1852 / 3600, abs=0.01)
    assert s[10] == pytest.approx(last_value("track", T), abs=0.01)
    assert s[11] == pytest.approx(last_value("vertical_rate", T) * 0.00508, abs=0.01)
    assert s[12] is None and s[14] == "1000" and s[15] is False and s[16] == 0
    ext = world.client.get("/api/states/all?extended=1&icao24=393322").json()["states"]
    assert len(ext) == 1 and len(ext[0]) == 18 and ext[0][17] == 1  # A0: no category info


def test_states_all_filters_and_past_time(world: World) -> None:
    c = world.client
    a = {v[0]: v for v in c.get("/api/states/all").json()["states"]}["393322"]
    lon, lat = a[5], a[6]
    box = c.get(f"/api/states/all?lamin={lat - .1}&lomin={lon - .1}&lamax={lat + .1}"
                f"&lomax={lon + .1}").json()
    assert [s[0] for s in box["states"]] == ["393322"]
    none = c.get("/api/states/all?lamin=0&lomin=0&lamax=1&lomax=1").json()
    assert none["states"] is None
    two = c.get("/api/states/all?icao24=393322&icao24=43c123").json()["states"]
    assert {s[0] for s in two} == {"393322", "43c123"}
    past = world.T - 600
    old = c.get(f"/api/states/all?time={int(past)}").json()
    assert old["time"] == int(past)
    s = old["states"][0]
    assert s[0] == "393322"
    assert s[6] == pytest.approx(last_value("latitude", int(past)), abs=1e-3)
    assert s[5] == pytest.approx(last_value("longitude", int(past)), abs=1e-3)


def test_tracks_all(world: World) -> None:
    doc = world.client.get("/api/tracks/all?icao24=393322&time=0").json()
    assert set(doc) == {"icao24", "startTime", "endTime", "callsign", "path"}
    assert doc["icao24"] == "393322" and doc["callsign"] == "AFR34ZG "
    path = doc["path"]
    assert all(len(p) == 6 for p in path)
    times = [p[0] for p in path]
    assert times == sorted(times)
    assert 10 < len(path) < len(world.positions["t"]) // 2  # thinned
    assert path[0][5] is True and abs(path[0][1] - 49.0) < 0.05  # starts on the ground at CDG
    assert path[-1][5] is False and path[-1][3] == pytest.approx(
        last_value("altitude", world.T) * 0.3048, abs=20)
    assert max(b[0] - a[0] for a, b in itertools.pairwise(path)) <= 900
    mid = world.client.get(f"/api/tracks/all?icao24=393322&time={int(world.T - 900)}").json()
    assert mid["startTime"] == doc["startTime"]  # the same flight
    assert world.client.get("/api/tracks/all?icao24=abcdef&time=0").status_code == 404


def test_opensky_flights(world: World) -> None:
    c = world.client
    b, e = int(t0()) - 3600, int(world.T) + 3600
    got = c.get(f"/api/flights/aircraft?icao24=393322&begin={b}&end={e}").json()
    assert len(got) == 1
    f = got[0]
    assert set(f) == {
        "icao24", "firstSeen", "estDepartureAirport", "lastSeen", "estArrivalAirport",
        "callsign", "estDepartureAirportHorizDistance", "estDepartureAirportVertDistance",
        "estArrivalAirportHorizDistance", "estArrivalAirportVertDistance",
        "departureAirportCandidatesCount", "arrivalAirportCandidatesCount"}
    assert (f["icao24"], f["estDepartureAirport"], f["estArrivalAirport"]) == (
        "393322", "LFPG", "LFBO")
    assert f["callsign"] == "AFR34ZG " and f["firstSeen"] == int(t0())
    assert len(c.get(f"/api/flights/departure?airport=LFPG&begin={b}&end={e}").json()) == 1
    assert len(c.get(f"/api/flights/arrival?airport=lfbo&begin={b}&end={e}").json()) == 1
    none = c.get(f"/api/flights/departure?airport=LFBO&begin={b}&end={e}")
    assert none.status_code == 404 and none.content == b""  # OpenSky: 404, empty body
    too_long = c.get(f"/api/flights/aircraft?icao24=393322&begin={b}&end={b + 2 * 86400 + 1}")
    assert too_long.status_code == 400 and "2 days" in too_long.json()["detail"]
    assert len(c.get(f"/api/flights/all?begin={b}&end={b + 7200}").json()) == 1


# --- native -----------------------------------------------------------------------------------

def test_aircraft_detail(world: World) -> None:
    doc = world.client.get("/api/aircraft/393322").json()
    assert doc["icao24"] == "393322"
    live = doc["live"]
    assert live["callsign"] == "AFR34ZG" and live["squawk"] == "1000"
    assert live["altitude_ft"] == last_value("altitude", world.T)
    ident = doc["identity"]
    assert (ident["registration"], ident["typecode"], ident["country"]) == (
        "F-GMZC", "A321", "France")
    db = world.state.identity.db
    assert ident["sources"]["registration"] == db.record(AFR).source  # the database row
    assert ident["sources"]["country"] == "icao_allocation"
    assert [f["flight_id"] for f in doc["flights"]] == [world.flight_id]
    assert doc["flights"][0]["exports"]["kml"] == f"/api/flights/{world.flight_id}.kml"
    assert [e["type"] for e in doc["events"]] == ["takeoff"]
    assert set(doc["exports"]) == {"geojson", "kml", "csv"}
    unknown = world.client.get("/api/aircraft/3c6444").json()
    assert unknown["live"] is None and unknown["identity"]["country"] == "Germany"


@pytest.mark.parametrize(("q", "hexa"), [
    ("393322", "393322"), ("F-GMZC", "393322"), ("fgmzc", "393322"), ("A321", "393322"),
    ("afr34", "393322"), ("royal air", "43c123"), ("RRR1234", "43c123"),
])
def test_search(world: World, q: str, hexa: str) -> None:
    doc = world.client.get("/api/search", params={"q": q}).json()
    assert doc["count"] >= 1 and doc["aircraft"][0]["icao24"] == hexa


def test_flights_events_and_exports(world: World) -> None:
    c = world.client
    since = int(t0()) - 60
    flights = c.get(f"/api/flights?since={since}").json()
    assert flights["count"] == 1 and flights["flights"][0]["origin"] == "LFPG"
    assert c.get(f"/api/flights?since={since}&airport=LFBO").json()["count"] == 1
    assert c.get(f"/api/flights?since={since}&airport=EGLL").json()["count"] == 0
    events = c.get(f"/api/events?since={since}&type=takeoff").json()
    assert events["count"] == 1 and events["events"][0]["airport"] == "LFPG"
    assert events["events"][0]["t"] == pytest.approx(world.takeoff_t, abs=1e-3)
    assert c.get(f"/api/events?since={since}&type=landing").json()["count"] == 0

    # the store keeps one position per (address, time)
    n_stored = len(np.unique(world.positions["t"][world.positions["t"] <= world.T]))
    geo = c.get(f"/api/flights/{world.flight_id}.geojson")
    assert geo.status_code == 200 and geo.headers["content-type"].startswith(
        "application/geo+json")
    fc = geo.json()
    feat = fc["features"][0]
    assert feat["geometry"]["type"] == "LineString"
    coords = feat["geometry"]["coordinates"]
    assert len(coords) == len(feat["properties"]["times"]) == n_stored
    assert feat["properties"]["registration"] == "F-GMZC"
    assert feat["properties"]["callsigns"] == ["AFR34ZG"]
    assert coords[0][1] == pytest.approx(49.0, abs=0.05)

    kml = c.get(f"/api/flights/{world.flight_id}.kml")
    root = ET.fromstring(kml.content)
    ns = {"k": "http://www.opengis.net/kml/2.2", "gx": "http://www.google.com/kml/ext/2.2"}
    whens = root.findall(".//k:when", ns)
    coords_kml = root.findall(".//gx:coord", ns)
    assert len(whens) == len(coords_kml) == len(coords)

    text = c.get(f"/api/flights/{world.flight_id}.csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(coords)
    assert rows[0]["icao24"] == "393322" and rows[0]["callsign"] == "AFR34ZG"
    assert float(rows[0]["lat"]) == pytest.approx(coords[0][1], abs=1e-6)

    assert c.get("/api/flights/nope-1.geojson").status_code == 404
    assert c.get(f"/api/flights/{world.flight_id}.shp").status_code == 400


def test_history_columns(world: World) -> None:
    c = world.client
    doc = c.get(f"/api/history?icao24=393322&since={int(t0()) - 10}&until={int(world.T) + 1}"
                ).json()
    cols = doc["columns"]
    n = doc["count"]
    assert n == len(np.unique(world.positions["t"])) and not doc["truncated"]
    assert all(len(v) == n for v in cols.values())
    assert cols["t"] == sorted(cols["t"])
    assert set(cols["icao24"]) == {"393322"}
    thin = c.get(f"/api/history?icao24=393322&since={int(t0()) - 10}&every=60").json()
    assert thin["count"] < n / 5
    assert np.all(np.diff(thin["columns"]["t"]) > 0)
    capped = c.get(f"/api/history?icao24=393322&since={int(t0()) - 10}&limit=10").json()
    assert capped["count"] == 10 and capped["truncated"]
    iso = c.get("/api/history", params={"icao24": "393322", "since": "2024-07-06T06:40:00Z",
                                        "until": "2024-07-06T06:50:00Z"}).json()
    assert 0 < iso["count"] < n


def test_stats_health_config_airports(world: World) -> None:
    c = world.client
    stats = c.get("/api/stats").json()
    assert stats["aircraft"] == 3 and stats["with_position"] == 3
    assert stats["military"] == 1 and stats["hidden_pia_ladd"] == 1
    assert stats["history"]["available"] and stats["history"]["first"] <= world.T
    assert stats["tracker"]["messages"] == sum(1 for r in records() if r["timestamp"] <= world.T)
    health = c.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    cfg = c.get("/api/config").json()
    assert cfg["receiver"]["lat"] == LFPG[0] and cfg["tile_url"] is None
    ap = c.get("/api/airports").json()
    i = ap["icao"].index("LFBO")
    assert ap["lat"][i] == pytest.approx(43.63, abs=0.02)
    assert len(ap["icao"]) == len(ap["lat"]) > 5000
    spec = c.get("/openapi.json").json()
    for path in ("/data/aircraft.json", "/re-api/", "/v2/hex/{icao_hex}", "/api/states/all",
                 "/api/tracks/all", "/api/flights/{flight_id}.{export}", "/api/history",
                 "/health"):
        assert path in spec["paths"], path


# --- bad requests: always 4xx with a message, never 500 ---------------------------------------

BAD = [
    "/re-api/", "/re-api/?circle=abc", "/re-api/?circle=1,2", "/re-api/?circle=91,0,10",
    "/re-api/?circle=0,0,-1", "/re-api/?circle=nan,0,1", "/re-api/?box=10,0,0,1",
    "/re-api/?all&circle=1,2,3", "/re-api/?find_hex=xyz", "/re-api/?find_hex=",
    "/re-api/?all&filter_squawk=7777x", "/re-api/?all&filter_squawk=8000",
    "/re-api/?all&above_alt_baro=high", "/re-api/?all&zstd", "/re-api/?all&bogus=1",
    "/re-api/?find_callsign=%00%01", "/re-api/?all&all", "/re-api/?all=5",
    "/v2/hex/12", "/v2/sqk/12345", "/v2/point/95/0/10", "/v2/point/0/200/10",
    "/v2/point/x/0/10", "/v2/point/0/0/-5", "/v2/callsign/" + "A" * 50,
    "/api/states/all?lamin=1", "/api/states/all?time=-1", "/api/states/all?icao24=zz",
    "/api/states/all?extended=2", "/api/states/all?lamin=5&lomin=0&lamax=4&lomax=1",
    "/api/flights/aircraft?icao24=393322&begin=10&end=5",
    "/api/flights/aircraft?icao24=393322&begin=0&end=99999999",
    "/api/flights/aircraft?icao24=393322", "/api/flights/arrival?airport=L!&begin=0&end=1",
    "/api/tracks/all?icao24=zzzzzz", "/api/tracks/all",
    "/api/aircraft/12345g", "/api/search?q=", "/api/search?q=" + "x" * 41,
    "/api/flights?since=yesterday", "/api/flights?since=100&until=50",
    "/api/events?type=crash", "/api/events?airport=!!!!",
    "/api/history?icao24=393322&format=shp", "/api/history?format=kml",
    "/api/history?box=1,2,3", "/api/history?since=0&until=86400",
    "/api/history?every=-1", "/api/history?limit=0",
]


@pytest.mark.parametrize("url", BAD)
def test_bad_requests_are_4xx_with_a_message(world: World, url: str) -> None:
    r = world.client.get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code, r.text)
    body = r.json()
    assert body.get("error"), body
    if r.status_code == 400:
        assert body.get("detail"), body


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.sampled_from(["/re-api/", "/api/states/all", "/api/history", "/api/flights",
                     "/api/events", "/api/search", "/api/tracks/all", "/api/flights/arrival"]),
    st.lists(st.tuples(
        st.sampled_from(["circle", "box", "find_hex", "all", "jv2", "time", "icao24",
                         "lamin", "lomin", "lamax", "lomax", "since", "until", "q", "limit",
                         "every", "format", "filter_squawk", "above_alt_baro", "begin", "end",
                         "airport", "type", "extended"]),
        st.text(max_size=12)), max_size=4),
)
def test_fuzzed_queries_never_fail_the_server(world: World, path: str,
                                              params: list[tuple[str, str]]) -> None:
    r = world.client.get(path, params=params)
    assert r.status_code < 500, (path, params, r.text)
    json.loads(r.content)


def test_docs_describe_every_route() -> None:
    from pathlib import Path

    from starlette.routing import Mount

    text = (Path(__file__).parents[2] / "docs" / "api.md").read_text()
    app = create_app(LiveState())
    for route in app.routes:
        path = getattr(route, "path", "")
        if isinstance(route, Mount) or path in ("/", "/openapi.json", "/re-api"):
            continue
        if path.startswith(("/docs", "/redoc")):
            continue
        stem = path.split("{")[0].rstrip("/") or path
        assert stem in text, f"docs/api.md does not mention {path}"
