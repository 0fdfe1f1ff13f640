"""tar1090 in full: receiver.json as tar1090 reads it, per-aircraft traces in readsb's trace
format from the store, db2 look-ups from the local aircraft database, an installed tar1090
html/ folder served beside its data, and identity picked up live from the store's aircraft
database (``tailwatch db update|import`` without a restart).

The world: the real AFR34ZG flight (CDG → Toulouse) replayed to 30 min after its first
message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _serve_replay import AFR, replay, t0
from fastapi.testclient import TestClient

from tailwatch.config import ServeSettings
from tailwatch.history.dbtable import store_aircraft_db
from tailwatch.reference.aircraft_db import AircraftDB, AircraftRecord, read_records_table
from tailwatch.serve import IdentityResolver, LiveState, ReceiverInfo, create_app
from tailwatch.serve import tar1090 as tar
from tailwatch.store import open_store
from tailwatch.track.tracker import Snapshot

TOKEN = "tar-token"
RECORDS = [
    AircraftRecord("393322", "F-GMZC", "A321", "AIRBUS A-321", "Air France", 0, 1994, "t"),
    AircraftRecord("39ab01", "F-HBNA", "A320", "AIRBUS A-320", None, 0, None, "t"),
    AircraftRecord("3c6444", "D-AIBA", "A319", "AIRBUS A-319", None, 4, None, "t"),  # PIA
    AircraftRecord("43c123", "ZZ333", "A400", "AIRBUS A-400M", "RAF", 1, 2015, "t"),
]


@pytest.fixture(scope="module")
def world() -> Any:
    T = t0() + 1800
    snaps, pos = replay([T])
    store = open_store(":memory:")
    store.write("positions", pos.columns)
    state = LiveState(store=store, identity=IdentityResolver(db=AircraftDB.from_records(RECORDS)),
                      receiver=ReceiverInfo(lat=49.0097, lon=2.5479))
    state.publish(snaps[0])
    with TestClient(create_app(state, ServeSettings(token=TOKEN))) as c:
        yield c, T, pos.columns


def test_receiver_json_as_tar1090_reads_it(world: Any) -> None:
    c, _, _ = world
    rx = c.get("/data/receiver.json").json()
    assert rx["lat"] == 49.0097 and rx["lon"] == 2.5479 and rx["refresh"] == 1000
    assert rx["readsb"] is True and rx["dbServer"] is True and rx["haveTraces"] is True
    assert rx["history"] == 20 and not rx["binCraft"] and not rx["zstd"]


def test_history_items_replay_the_last_ten_minutes(world: Any) -> None:
    """tar1090 loads data/history_0..N-1.json on start (aircraft.json of the past, oldest
    first) and draws every aircraft's recent track from them."""
    c, T, _ = world
    n = c.get("/data/receiver.json").json()["history"]
    items = [c.get(f"/data/history_{i}.json").json() for i in range(n + 1)]  # as tar1090
    nows = [d["now"] for d in items]
    assert nows == sorted(nows) and nows[-1] <= T and T - nows[0] <= 30 * (n + 1)
    assert all(nows[i + 1] - nows[i] == 30 for i in range(n))
    tracks = [a for d in items for a in d["aircraft"] if a["hex"] == "393322"]
    assert len(tracks) == n + 1  # the flight was on the air the whole ten minutes
    lats = [a["lat"] for a in tracks]
    assert len(set(lats)) == n + 1 and all(a["t"] == "A321" for a in tracks)
    assert c.get(f"/data/history_{n + 1}.json").status_code == 404


def test_trace_full_and_recent_in_readsb_format(world: Any) -> None:
    c, T, pos = world
    full = c.get("/data/traces/22/trace_full_393322.json").json()
    assert full["icao"] == "393322" and full["r"] == "F-GMZC" and full["t"] == "A321"
    assert full["desc"] == "AIRBUS A-321" and full["dbFlags"] == 0 and full["year"] == "1994"
    trace = full["trace"]
    stored = pos["t"][pos["icao24"] == AFR]
    kept = c.get("/api/history", params={"icao24": "393322", "since": int(stored[0]) - 1,
                                         "until": int(T) + 1}).json()["count"]
    assert len(trace) == kept > 1000  # every stored position
    assert full["timestamp"] == pytest.approx(float(stored[0]), abs=1e-3)
    assert all(len(p) == 14 for p in trace)
    offsets = [p[0] for p in trace]
    assert offsets == sorted(offsets) and offsets[-1] <= T - float(stored[0]) + 0.01
    assert trace[0][3] == "ground"  # the take-off roll at CDG
    assert trace[0][8]["flight"] == "AFR34ZG " and trace[0][8]["type"] == "adsb_icao"
    airborne = [p for p in trace if p[3] != "ground"]
    assert airborne and isinstance(airborne[-1][3], int) and airborne[-1][4] > 300
    first_air = next(i for i, p in enumerate(trace) if p[3] != "ground")
    assert trace[first_air][6] & 2  # a new leg starts when it leaves the ground
    recent = c.get("/data/traces/22/trace_recent_393322.json").json()
    assert len(recent["trace"]) == min(tar.RECENT_POINTS, len(trace))
    last_full = full["timestamp"] + trace[-1][0]
    assert recent["timestamp"] + recent["trace"][-1][0] == pytest.approx(last_full, abs=0.02)
    assert recent["trace"][-1][1:3] == trace[-1][1:3]


def test_trace_errors(world: Any) -> None:
    c, _, _ = world
    assert c.get("/data/traces/21/trace_full_393322.json").status_code == 404  # bucket
    assert c.get("/data/traces/44/trace_full_3c6444.json").status_code == 404  # none stored
    assert c.get("/data/traces/22/trace_half_393322.json").status_code == 404
    assert c.get("/data/traces/zz/trace_full_zzzzzz.json").status_code == 404


def test_db2_lookups(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    c, _, _ = world
    got = c.get("/db2/3.js").json()
    assert got["93322"] == ["F-GMZC", "A321", "0000", "AIRBUS A-321"]
    assert "C6444" not in got  # PIA: hidden without the token
    with_token = c.get("/db2/3.js", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert with_token["C6444"] == ["D-AIBA", "A319", "0010", "AIRBUS A-319"]
    assert c.get("/db2/4.js").json()["3C123"][2] == "1000"  # military
    monkeypatch.setattr(tar, "DB2_MAX_ENTRIES", 1)
    assert c.get("/db2/3.js").json() == {"children": ["39", "3C"]}
    assert c.get("/db2/39.js").json() == {"children": ["393", "39A"]}
    assert c.get("/db2/393.js").json() == {"322": ["F-GMZC", "A321", "0000", "AIRBUS A-321"]}
    assert c.get("/db2/ranges.js").status_code == 404  # no tar1090 folder served


def test_tar1090_folder_served_beside_its_data(tmp_path: Path) -> None:
    html = tmp_path / "html"
    (html / "db2").mkdir(parents=True)
    (html / "index.html").write_text('<html><script>let databaseFolder = "db2";</script>'
                                     '<script src="script.js"></script></html>')
    (html / "script.js").write_text("// tar1090")
    (html / "db2" / "ranges.js").write_text('{"military": [["43c000", "43cfff"]]}')
    state = LiveState(identity=IdentityResolver(db=AircraftDB.from_records(RECORDS)))
    state.publish(replay([t0() + 600])[0][0])
    with TestClient(create_app(state, tar1090_dir=html)) as c:
        page = c.get("/tar1090/")
        assert page.status_code == 200 and "databaseFolder" in page.text
        assert "content-security-policy" not in page.headers  # its inline scripts run
        assert "content-security-policy" in c.get("/").headers or c.get("/").status_code == 404
        ac = c.get("/tar1090/data/aircraft.json").json()["aircraft"]
        assert [a["t"] for a in ac if a["hex"] == "393322"] == ["A321"]
        assert c.get("/tar1090/data/receiver.json").json()["readsb"] is True
        assert c.get("/tar1090/db2/ranges.js").json()["military"] == [["43c000", "43cfff"]]
        assert c.get("/tar1090/db2/3.js").json()["93322"][0] == "F-GMZC"
        assert c.get("/tar1090/script.js").text == "// tar1090"
    with pytest.raises(Exception, match="not a tar1090 html folder"):
        create_app(LiveState(), tar1090_dir=tmp_path)


def test_identity_follows_the_stores_aircraft_database(tmp_path: Path) -> None:
    """``tailwatch db import`` while run/replay/serve is up: the type appears without a
    restart (the resolver looks at the store again every refresh_s)."""
    store = open_store(str(tmp_path / "tw.duckdb"))
    identity = IdentityResolver.from_store(store, refresh_s=0.0)
    state = LiveState(store=store, identity=identity)
    snap = replay([t0() + 600])[0][0]
    state.publish(snap)
    c = TestClient(create_app(state))
    a = next(x for x in c.get("/data/aircraft.json").json()["aircraft"] if x["hex"] == "393322")
    assert "t" not in a and "r" not in a
    store_aircraft_db(store, read_records_table(RECORDS[:1]))
    state.publish(Snapshot(snap.now + 1, snap.columns, snap.counters))
    a = next(x for x in c.get("/data/aircraft.json").json()["aircraft"] if x["hex"] == "393322")
    assert (a["r"], a["t"], a["desc"], a["ownOp"], a["year"], a["dbFlags"]) == (
        "F-GMZC", "A321", "AIRBUS A-321", "Air France", "1994", 0)
    assert c.get("/db2/3.js").json()["93322"][0] == "F-GMZC"
    v2 = c.get("/v2/registration/F-GMZC").json()["ac"]
    assert [x["hex"] for x in v2] == ["393322"]
    store.close()


def test_positions_store_layout_is_what_traces_read() -> None:
    from tailwatch.serve.history import POSITION_COLUMNS

    cols = {k: np.zeros(2) for k in POSITION_COLUMNS}
    cols["t"] = np.array([0.0, 100.0])
    cols["on_ground"] = np.array([1, 0])
    cols["squawk"] = np.array([-1, 1000])
    cols["callsign"] = np.array([b"", b"X"], "S8")
    cols["source"] = np.array([0, 99])
    doc = tar.trace_document(cols, "abcdef", {}, recent=False)
    assert doc.startswith(b'{"icao":"abcdef","dbFlags":0,"timestamp":0.0,"trace":[[0.0,')


def test_a_state_over_a_store_uses_its_aircraft_database(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "tw.duckdb"))
    store_aircraft_db(store, read_records_table(RECORDS[:1]))
    state = LiveState(store=store)  # no resolver given: the store's database
    state.publish(replay([t0() + 600])[0][0])
    a = next(x for x in TestClient(create_app(state)).get("/data/aircraft.json").json()[
        "aircraft"] if x["hex"] == "393322")
    assert (a["r"], a["t"]) == ("F-GMZC", "A321")
    store.close()


def test_the_server_updates_the_aircraft_database_it_holds(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            ) -> None:
    """With DuckDB the running server holds the store: ``POST /api/admin/aircraft-db/update``
    does ``tailwatch db update`` in that process (from a loopback HTTP server here)."""
    import gzip
    import http.server
    import threading

    (tmp_path / "aircraft.csv.gz").write_bytes(gzip.compress(
        b"393322;F-GMZC;A321;0000;AIRBUS A-321;1994;Air France;\n"
        b"3c6444;D-AIBA;A319;0000;AIRBUS A-319;;;\n"))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: Any, **k: Any) -> None:
            super().__init__(*a, directory=str(tmp_path), **k)

        def log_message(self, *a: Any) -> None:
            pass

    files = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=files.serve_forever, daemon=True).start()
    monkeypatch.setenv("TAILWATCH_REFERENCE__AIRCRAFT_DB_URL",
                       f"http://127.0.0.1:{files.server_address[1]}/aircraft.csv.gz")
    store = open_store(str(tmp_path / "tw.duckdb"))
    try:
        state = LiveState(store=store)
        state.publish(replay([t0() + 600])[0][0])
        c = TestClient(create_app(state, ServeSettings(token=TOKEN)))
        assert c.post("/api/admin/aircraft-db/update").status_code == 401
        r = c.post("/api/admin/aircraft-db/update", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and r.json()["rows"] == 2
        state.publish(replay([t0() + 600])[0][0])  # the pipeline's next publish
        a = next(x for x in c.get("/data/aircraft.json").json()["aircraft"]
                 if x["hex"] == "393322")
        assert (a["r"], a["t"], a["ownOp"]) == ("F-GMZC", "A321", "Air France")
    finally:
        files.shutdown()
        store.close()
