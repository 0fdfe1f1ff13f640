"""The web map's own endpoints (serve/map_api.py) over HTTP, without a browser.

Data: the real AFR34ZG flight (Paris CDG → Toulouse) in the store, with a 20-minute stretch
of its positions taken out to make an unseen leg, and a stop event placed inside it; the live
picture is empty (the aircraft is only in the store), as after the flight.
"""

from __future__ import annotations

import io
import math
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _serve_replay import AFR, replay, t0

from tailwatch.config import ServeSettings
from tailwatch.reference.aircraft_db import AircraftDB, AircraftRecord
from tailwatch.serve import IdentityResolver, LiveState, ReceiverInfo, create_app
from tailwatch.serve.map_api import coverage_outline, heat_grid, router, split_segments
from tailwatch.serve.state import snapshot_from_positions
from tailwatch.store import open_store

LFPG = (49.0097, 2.5479)
TOKEN = "s3cret-token"
LADD = 0xA1B2C3


def _mounted(app: Any) -> Any:
    """The app with the map's router (mounted by create_app once the lead wires it)."""
    if not any(getattr(r, "path", "") == "/api/map/search" for r in app.routes):
        app.include_router(router)
    return app


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    T = t0() + 3600
    _, pos = replay([T])
    cols = {k: v.copy() for k, v in pos.columns.items()}
    t = cols["t"]
    gap_a, gap_b = t[0] + 1500, t[0] + 2700
    keep = (t < gap_a) | (t >= gap_b)
    cols = {k: v[keep] for k, v in cols.items()}
    _, first = np.unique(cols["t"], return_index=True)  # the store keeps one row per time
    cols = {k: v[first] for k, v in cols.items()}
    store = open_store(":memory:")
    store.write("positions", cols)
    p = {k: v[-50:].copy() for k, v in cols.items()}
    p["icao24"][:] = LADD
    store.write("positions", p)
    fid = f"393322-{int(t0())}"
    store.write("flights", {
        "flight_id": np.array([fid], dtype=object), "icao24": np.array([AFR], np.uint32),
        "callsign": np.array(["AFR34ZG"], dtype=object), "first_seen": np.array([t[0]]),
        "last_seen": np.array([t[-1]]), "origin": np.array(["LFPG"], dtype=object),
        "destination": np.array(["LFBO"], dtype=object),
        "callsigns": np.array(["AFR34ZG"], dtype=object)})
    stop_t = (gap_a + gap_b) / 2
    store.write("events", {
        "t": np.array([stop_t, t[0] + 600]), "icao24": np.array([AFR, LADD], np.uint32),
        "flight_id": np.array([fid, ""], dtype=object),
        "type": np.array(["inferred_stop", "emergency"], dtype=object),
        "airport": np.array(["LFLX", ""], dtype=object),
        "lat": np.array([46.8622, 47.0]), "lon": np.array([1.7306, 2.0])})
    db = AircraftDB.from_records([
        AircraftRecord("393322", "F-GMZC", "A321", "AIRBUS A-321", None, 0, None, "test-db"),
        AircraftRecord("a1b2c3", "N123AB", "C172", "Cessna 172", None, 8, 2001, "test-db"),
    ])
    state = LiveState(store=store, identity=IdentityResolver(db=db),
                      receiver=ReceiverInfo(id="cdg", name="CDG", lat=LFPG[0], lon=LFPG[1]))
    state.publish(snapshot_from_positions(cols, now=float(t[-1]) + 3600))  # nothing live
    app = _mounted(create_app(state, ServeSettings(token=TOKEN)))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield {"client": client, "cols": cols, "gap": (gap_a, gap_b), "stop_t": stop_t}


def test_search_finds_stored_aircraft(world: dict[str, Any]) -> None:
    c = world["client"]
    by_call = c.get("/api/map/search", params={"q": "afr34"}).json()
    assert by_call["live"] == []
    assert [s["icao24"] for s in by_call["stored"]] == ["393322"]
    hit = by_call["stored"][0]
    assert hit["registration"] == "F-GMZC" and hit["typecode"] == "A321"
    # a registration known to the aircraft database, found in the store's positions
    by_reg = c.get("/api/map/search", params={"q": "FGMZC"}).json()
    assert "393322" in [s["icao24"] for s in by_reg["stored"]]
    assert abs(by_reg["stored"][0]["last_seen"] - float(world["cols"]["t"][-1])) < 1
    # the LADD aircraft stays hidden without the token, found with it
    assert c.get("/api/map/search", params={"q": "a1b2c3"}).json()["stored"] == []
    shown = c.get("/api/map/search", params={"q": "a1b2c3"},
                  headers={"Authorization": f"Bearer {TOKEN}"}).json()["stored"]
    assert [s["icao24"] for s in shown] == ["a1b2c3"]
    assert c.get("/api/map/search", params={"q": ""}).status_code == 400


def test_track_of_the_day_in_seen_segments(world: dict[str, Any]) -> None:
    cols = world["cols"]
    t = cols["t"]
    doc = world["client"].get("/api/map/track/393322", params={
        "since": float(t[0]) - 1, "until": float(t[-1]) + 1, "every": 0}).json()
    n = int(np.isfinite(cols["lat"]).sum())
    assert doc["count"] == n
    # the 20-minute hole is the only gap longer than 10 minutes: two segments
    assert len(doc["segments"]) == 2
    (a0, a1), (b0, b1) = doc["segments"]
    ts = doc["columns"]["t"]
    assert a0 == 0 and b1 == n and a1 == b0
    assert ts[a1 - 1] < world["gap"][0] <= world["gap"][1] <= ts[b0] + 0.1
    assert world["client"].get("/api/map/track/zzz").status_code == 400
    assert world["client"].get("/api/map/track/a1b2c3").status_code == 404  # LADD


def test_itinerary_has_the_unseen_leg_through_the_stop(world: dict[str, Any]) -> None:
    t = world["cols"]["t"]
    doc = world["client"].get("/api/map/itinerary/393322",
                              params={"days": 1, "until": float(t[-1]) + 60}).json()
    assert [f["origin"] for f in doc["flights"]] == ["LFPG"]
    assert doc["flights"][0]["destination_airport"]["icao"] == "LFBO"
    assert {a["icao"] for a in doc["airports"]} >= {"LFPG", "LFBO", "LFLX"}
    assert [s["type"] for s in doc["stops"]] == ["inferred_stop"]
    (leg,) = doc["legs"]
    assert leg["from_t"] < world["gap"][0] and leg["to_t"] >= world["gap"][1] - 0.1
    assert leg["coordinates"][1] == [1.7306, 46.8622]  # through the inferred stop
    assert len(leg["coordinates"]) == 3
    assert doc["report"].startswith("/api/map/report/393322.zip?")


def test_report_zip(world: dict[str, Any]) -> None:
    t = world["cols"]["t"]
    r = world["client"].get("/api/map/report/393322.zip",
                            params={"since": float(t[0]) - 1, "until": float(t[-1]) + 1})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(r.content))
    names = {n.split("/", 1)[1] for n in z.namelist()}
    assert {"route.png", "profile.png", "track.geojson", "summary.md"} <= names
    summary = z.read("393322/summary.md").decode()
    assert "F-GMZC" in summary and "not seen for" in summary
    assert world["client"].get("/api/map/report/393322.zip",
                               params={"since": 1, "until": 1000}).status_code == 404


def test_events_feed_classes(world: dict[str, Any]) -> None:
    c = world["client"]
    t = world["cols"]["t"]
    span = {"since": float(t[0]) - 1, "until": float(t[-1]) + 1}
    doc = c.get("/api/map/events", params=span).json()
    assert [e["type"] for e in doc["events"]] == ["inferred_stop"]  # the LADD one hidden
    assert doc["events"][0]["classes"] == ["stop"]
    assert doc["events"][0]["registration"] == "F-GMZC"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    emerg = c.get("/api/map/events", params={**span, "classes": "emergency"}, headers=auth)
    assert [e["icao24"] for e in emerg.json()["events"]] == ["a1b2c3"]
    assert c.get("/api/map/events", params={**span, "classes": "military"}).json()["count"] == 0
    assert c.get("/api/map/events", params={"classes": "bogus"}).status_code == 400


def test_heatmap_counts_positions_in_view(world: dict[str, Any]) -> None:
    cols = world["cols"]
    t = cols["t"]
    box = (47.0, 1.0, 49.5, 3.0)
    doc = world["client"].get("/api/map/heatmap", params={
        "box": ",".join(map(str, box)), "since": float(t[0]) - 1,
        "until": float(t[0]) + 4 * 3600}).json()
    lat, lon = cols["lat"], cols["lon"]
    inside = (lat >= box[0]) & (lat <= box[2]) & (lon >= box[1]) & (lon <= box[3])
    assert doc["count"] == int(inside.sum()) > 100
    assert sum(doc["cells"]["n"]) == doc["count"]
    assert all(box[0] <= la <= box[2] for la in doc["cells"]["lat"])
    bad = world["client"].get("/api/map/heatmap", params={"box": "50,1,49,3"})
    assert bad.status_code == 400


def test_coverage_outline_reaches_the_farthest_positions(world: dict[str, Any]) -> None:
    doc = world["client"].get("/api/map/coverage", params={"hours": 48}).json()
    (rx,) = doc["receivers"]
    cols = world["cols"]
    ok = np.isfinite(cols["lat"])
    p1, p2 = math.radians(LFPG[0]), np.radians(cols["lat"][ok])
    dl = np.radians(cols["lon"][ok] - LFPG[1])
    a = np.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    far = float((2 * 3440.065 * np.arcsin(np.sqrt(a))).max())
    assert rx["positions"] == int(ok.sum())
    assert far * 0.9 <= rx["max_nm"] <= far + 0.1  # Toulouse, about 300 NM away
    assert rx["outline"][0] == rx["outline"][-1] and len(rx["outline"]) >= 3


def test_pure_helpers() -> None:
    assert split_segments(np.array([0.0, 10, 20, 1000, 1010])) == [(0, 3), (3, 5)]
    assert split_segments(np.array([])) == []
    # 100 points at 50 NM due north and one at 120 NM due east, seen from (0, 0)
    lat = np.concatenate([np.full(100, 50 / 60.0), [0.0]])
    lon = np.concatenate([np.zeros(100), [120 / 60.0]])
    _brg, rng = coverage_outline(0.0, 0.0, lat, lon, sectors=36)
    assert abs(rng[0] - 50) < 0.2 and abs(rng[9] - 120) < 0.5
    assert int(np.isfinite(rng).sum()) == 2
    la, lo, n, size = heat_grid(np.array([1.1, 1.15, 3.9]), np.array([1.1, 1.12, 3.9]),
                                (0.0, 0.0, 4.0, 4.0), 4)
    assert size == 1.0 and sorted(n.tolist()) == [1, 2]
    assert set(zip(la.tolist(), lo.tolist(), strict=True)) == {(1.5, 1.5), (3.5, 3.5)}


def test_positions_bin_columns() -> None:
    T = t0() + 1800
    _, pos = replay([T])
    military = AircraftRecord("3b7b5e", "F-RAJA", "A400", "AIRBUS A-400M", None, 1, None, "t")
    state = LiveState(identity=IdentityResolver(db=AircraftDB.from_records([military])))
    cols = {k: np.asarray(v) for k, v in pos.columns.items()}
    extra = {k: v[-1:].copy() for k, v in cols.items()}
    extra["icao24"][:] = 0x3B7B5E
    extra["lat"][:] = 47.0
    cols = {k: np.concatenate([cols[k], extra[k]]) for k in cols}
    order = np.lexsort((cols["t"], cols["icao24"]))
    state.publish(snapshot_from_positions({k: v[order] for k, v in cols.items()}, now=T))
    view = state.view()
    with TestClient(create_app(state, ServeSettings())) as client:
        r = client.get("/api/map/positions.bin")
        assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
        again = client.get("/api/map/positions.bin", headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304
    b = r.content
    assert b[:4] == b"TWP1"
    n = int(np.frombuffer(b, "<u4", 1, 4)[0])
    assert n == int(view.has_position.sum()) == 2
    assert float(np.frombuffer(b, "<f8", 1, 8)[0]) == view.now
    o = 24
    icao = np.frombuffer(b, "<u4", n, o)
    lat = np.frombuffer(b, "<f4", n, o + 4 * n)
    lon = np.frombuffer(b, "<f4", n, o + 8 * n)
    alt = np.frombuffer(b, "<f4", n, o + 12 * n)
    typ = np.frombuffer(b, "S4", n, o + 20 * n)
    flags = np.frombuffer(b, "u1", n, o + 24 * n)
    call = np.frombuffer(b, "S8", n, o + 26 * n)
    assert len(b) == o + 34 * n
    k = {int(a): i for i, a in enumerate(icao.tolist())}
    i = int(np.flatnonzero(view.icao24 == AFR)[0])
    assert abs(lat[k[AFR]] - view.lat[i]) < 1e-4 and abs(lon[k[AFR]] - view.lon[i]) < 1e-4
    assert alt[k[AFR]] == np.float32(view.alt_baro[i]) and call[k[AFR]] == b"AFR34ZG"
    assert flags[k[AFR]] & 1 == 0 and flags[k[0x3B7B5E]] & 1 == 1  # the A400M: military
    assert typ[k[0x3B7B5E]] == b"A400" and abs(lat[k[0x3B7B5E]] - 47.0) < 1e-6
