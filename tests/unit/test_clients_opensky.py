"""OpenSky clients against a real tailwatch server (loopback): the official Python bindings
(openskynetwork/opensky-api, not on PyPI) by their exact requests, made as they make them
(``requests``, the same parameters), and parsed as they parse them; pyopensky (PyPI) for real
when it is installed, else by its exact requests.

The world: the real AFR34ZG flight (CDG → Toulouse) replayed to 30 min after its first
message, its positions and its flight in the history store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from _serve_replay import AFR, replay, t0

from tailwatch.config import ServeSettings
from tailwatch.serve import LiveState, ReceiverInfo
from tailwatch.serve.server import ServerThread
from tailwatch.store import open_store

# the bindings' field lists, in the order they map the arrays and objects (read from
# python/opensky_api.py: StateVector.keys, FlightData.keys, Waypoint.keys)
STATE_KEYS = ["icao24", "callsign", "origin_country", "time_position", "last_contact",
              "longitude", "latitude", "baro_altitude", "on_ground", "velocity", "true_track",
              "vertical_rate", "sensors", "geo_altitude", "squawk", "spi", "position_source",
              "category"]
FLIGHT_KEYS = ["icao24", "firstSeen", "estDepartureAirport", "lastSeen", "estArrivalAirport",
               "callsign", "estDepartureAirportHorizDistance",
               "estDepartureAirportVertDistance", "estArrivalAirportHorizDistance",
               "estArrivalAirportVertDistance", "departureAirportCandidatesCount",
               "arrivalAirportCandidatesCount"]
WAYPOINT_KEYS = ["time", "latitude", "longitude", "baro_altitude", "true_track", "on_ground"]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, float]]:
    T = t0() + 1800
    snaps, pos = replay([T])
    store = open_store(":memory:")
    store.write("positions", pos.columns)
    store.write("flights", {
        "flight_id": np.array([f"393322-{int(t0())}"], dtype=object),
        "icao24": np.array([AFR], dtype=np.uint32),
        "callsign": np.array(["AFR34ZG"], dtype=object),
        "first_seen": np.array([t0()]), "last_seen": np.array([T]),
        "origin": np.array(["LFPG"], dtype=object),
        "destination": np.array(["LFBO"], dtype=object),
    })
    state = LiveState(store=store, receiver=ReceiverInfo(lat=49.0097, lon=2.5479))
    state.publish(snaps[0])
    srv = ServerThread(state, ServeSettings(port=0))
    url = srv.start()
    yield url + "/api", T
    srv.stop()


def _bindings_get(session: requests.Session, api: str, path: str, params: dict[str, Any],
                  empty_on_404: bool = False) -> Any:
    """``OpenSkyApi._get_json``: GET with ``params``, timeout 15 s; 200 → JSON, 404 →
    [] where the flight calls allow it, anything else → None."""
    r = session.get(f"{api}{path}", params=params, timeout=15.0)
    if r.status_code == 200:
        return r.json()
    if empty_on_404 and r.status_code == 404:
        return []
    return None


def test_official_bindings_get_states(server: tuple[str, float]) -> None:
    api, T = server
    s = requests.Session()
    for bbox in ((), (45.0, 50.0, 0.0, 5.0)):
        # get_states(): {"time": int(t), "icao24": icao24, "extended": True} + the bbox
        params: dict[str, Any] = {"time": 0, "icao24": None, "extended": True}
        if bbox:
            params.update(lamin=bbox[0], lamax=bbox[1], lomin=bbox[2], lomax=bbox[3])
        doc = _bindings_get(s, api, "/states/all", params)
        assert doc is not None, "the bindings would return None"
        assert doc["time"] == int(T)
        states = [dict(zip(STATE_KEYS, arr, strict=True)) for arr in doc["states"]]
        sv = next(v for v in states if v["icao24"] == "393322")
        assert sv["callsign"] == "AFR34ZG " and sv["origin_country"] == "France"
        assert 45 <= sv["latitude"] <= 50 and sv["category"] in range(0, 21)
        assert sv["on_ground"] is False and sv["velocity"] > 100
    # get_states(icao24=[...]): requests repeats the parameter
    doc = _bindings_get(s, api, "/states/all",
                        {"time": 0, "icao24": ["393322", "3c6444"], "extended": True})
    assert [v[0] for v in doc["states"]] == ["393322"]
    # a bbox elsewhere: no state, still a 200 the bindings accept
    doc = _bindings_get(s, api, "/states/all", {"time": 0, "icao24": None, "extended": True,
                                                "lamin": -10, "lamax": -5, "lomin": 0,
                                                "lomax": 5})
    assert doc is not None and doc["states"] is None


def test_official_bindings_track_and_flights(server: tuple[str, float]) -> None:
    api, T = server
    s = requests.Session()
    # get_track_by_aircraft(icao24, t=0): the live track
    track = _bindings_get(s, api, "/tracks/all", {"icao24": "393322", "time": 0})
    assert track is not None and track["icao24"] == "393322"
    path = [dict(zip(WAYPOINT_KEYS, p, strict=True)) for p in track["path"]]
    assert path[0]["on_ground"] is True and path[-1]["on_ground"] is False
    assert track["startTime"] <= path[0]["time"] and path[-1]["time"] <= track["endTime"]
    # the same flight by a time inside it
    again = _bindings_get(s, api, "/tracks/all", {"icao24": "393322", "time": int(T) - 600})
    assert again is not None and again["startTime"] == track["startTime"]
    b, e = int(t0()) - 600, int(T) + 600
    for path_, params in (
        ("/flights/all", {"begin": b, "end": b + 7200}),
        ("/flights/aircraft", {"icao24": "393322", "begin": b, "end": e}),
        ("/flights/departure", {"airport": "LFPG", "begin": b, "end": e}),
        ("/flights/arrival", {"airport": "LFBO", "begin": b, "end": e}),
    ):
        got = _bindings_get(s, api, path_, params, empty_on_404=True)
        # FlightData(list(entry.values())): the keys must come in this order
        assert got and list(got[0]) == FLIGHT_KEYS, path_
        f = dict(zip(FLIGHT_KEYS, got[0].values(), strict=True))
        assert (f["icao24"], f["estDepartureAirport"], f["estArrivalAirport"]) == (
            "393322", "LFPG", "LFBO")
    none = _bindings_get(s, api, "/flights/arrival", {"airport": "LFPG", "begin": b, "end": e},
                         empty_on_404=True)
    assert none == []


@pytest.mark.parametrize("path", ["/tracks/?icao24=393322&time=0",
                                  "/tracks?icao24=393322&time=0",
                                  "/tracks/all/?icao24=393322&time=0"])
def test_tracks_with_and_without_the_trailing_slash(server: tuple[str, float],
                                                    path: str) -> None:
    api, _ = server
    r = requests.get(api + path, allow_redirects=False, timeout=15)
    assert r.status_code == 200 and r.json()["icao24"] == "393322"


def test_pyopensky_exact_requests(server: tuple[str, float]) -> None:
    """pyopensky's REST calls (pyopensky/rest.py 2.18), as URLs it builds, and the columns
    it reads from the answers."""
    api, T = server
    b, e = int(t0()) - 600, int(T) + 600
    states = requests.get(f"{api}/states/all?lamin=45.0&lamax=50.0&lomin=0.0&lomax=5.0",
                          timeout=15).json()["states"]
    assert len(states[0]) == 17  # its 17 column names
    track = requests.get(f"{api}/tracks/?icao24=393322&time={int(T) - 600}",
                         allow_redirects=False, timeout=15)
    assert track.status_code == 200 and len(track.json()["path"][0]) == 6
    for url in (f"{api}/flights/aircraft?icao24=393322&begin={b}&end={e}",
                f"{api}/flights/arrival?begin={b}&airport=LFBO&end={e}",
                f"{api}/flights/departure?begin={b}&airport=LFPG&end={e}"):
        got = requests.get(url, timeout=15).json()
        assert {"firstSeen", "lastSeen", "icao24", "callsign", "estDepartureAirport",
                "estArrivalAirport"} <= set(got[0])


PYOPENSKY_SCRIPT = textwrap.dedent("""
    import json, sys
    import httpx
    from pyopensky.rest import REST

    base = httpx.URL(sys.argv[1])
    t, b, e = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

    class ToTailwatch(httpx.BaseTransport):
        def __init__(self):
            self.inner = httpx.HTTPTransport()
        def handle_request(self, request):
            request.url = request.url.copy_with(scheme=base.scheme, host=base.host,
                                                port=base.port)
            return self.inner.handle_request(request)

    rest = REST()
    rest.client_id = rest.client_secret = None  # anonymous
    rest.client = httpx.Client(transport=ToTailwatch())
    states = rest.states(bounds=(0.0, 45.0, 5.0, 50.0))
    track = rest.tracks("393322", t)
    flights = rest.aircraft("393322", b, e)
    arr = rest.arrival("LFBO", b, e)
    dep = rest.departure("LFPG", b, e)
    print(json.dumps({
        "states": states.icao24.tolist(), "callsign": states.callsign.tolist(),
        "track": len(track), "track_icao": str(track.icao24.iloc[0]),
        "flights": flights.estArrivalAirport.tolist(),
        "arrival": arr.icao24.tolist(), "departure": dep.icao24.tolist(),
    }))
""")


def test_pyopensky_for_real(server: tuple[str, float], tmp_path: Path) -> None:
    pytest.importorskip("pyopensky", reason="pyopensky is not installed (exact requests "
                        "are checked by test_pyopensky_exact_requests)")
    api, T = server
    b, e = int(t0()) - 600, int(T) + 600
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "OPENSKY_CACHE_NO_EXPIRE": "1"}
    out = subprocess.run([sys.executable, "-c", PYOPENSKY_SCRIPT, api.removesuffix("/api"),
                          str(int(T) - 600), str(b), str(e)], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["states"] == ["393322"] and got["callsign"] == ["AFR34ZG"]
    assert got["track"] > 5 and got["track_icao"] == "393322"
    assert got["flights"] == ["LFBO"]
    assert got["arrival"] == ["393322"] and got["departure"] == ["393322"]
