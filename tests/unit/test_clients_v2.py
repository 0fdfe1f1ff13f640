"""ADSBx v2 as adsb.lol serves it: every /v2 route, each answer validated against adsb.lol's
own response model (adsblol/api, src/adsb_api/utils/models.py: ``V2Response_Model``). The
model below was written here from reading theirs (same fields, types and required keys), not
copied. Also: registration look-ups with nothing live (issue 16 item 3) answer 200, and a
keep-alive connection survives an error."""

from __future__ import annotations

import http.client
import json
from typing import Any

import numpy as np
import pytest
from _serve_replay import replay, t0
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict

from tailwatch.config import ServeSettings
from tailwatch.reference.aircraft_db import AircraftDB, AircraftRecord
from tailwatch.serve import IdentityResolver, LiveState, ReceiverInfo, create_app
from tailwatch.serve.server import ServerThread
from tailwatch.serve.state import synthetic_snapshot
from tailwatch.track.tracker import Snapshot

TOKEN = "v2-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LFPG = (49.0097, 2.5479)


# --- adsb.lol's response model, as its fields are declared there -----------------------------

class LastPosition(BaseModel):
    lat: float
    lon: float
    nic: int
    rc: int
    seen_pos: float


class AcItem(BaseModel):
    model_config = ConfigDict(extra="allow")  # theirs ignores unknown keys too

    hex: str
    type: str
    messages: int
    mlat: list[str]
    tisb: list[str]
    rssi: float
    seen: float
    alert: int | None = None
    alt_baro: int | str | None = None
    alt_geom: int | None = None
    baro_rate: int | None = None
    category: str | None = None
    emergency: str | None = None
    flight: str | None = None
    gs: float | None = None
    gva: int | None = None
    lat: float | None = None
    lon: float | None = None
    nac_p: int | None = None
    nac_v: int | None = None
    nav_altitude_mcp: int | None = None
    nav_heading: float | None = None
    nav_qnh: float | None = None
    nic: int | None = None
    nic_baro: int | None = None
    r: str | None = None
    rc: int | None = None
    sda: int | None = None
    seen_pos: float | None = None
    sil: int | None = None
    sil_type: str | None = None
    spi: int | None = None
    squawk: str | None = None
    t: str | None = None
    track: float | None = None
    version: int | None = None
    geom_rate: int | None = None
    dbFlags: int | None = None  # noqa: N815 (readsb's name)
    nav_modes: list[str] | None = None
    true_heading: float | None = None
    ias: int | None = None
    mach: float | None = None
    mag_heading: float | None = None
    oat: int | None = None
    roll: float | None = None
    tas: int | None = None
    tat: int | None = None
    track_rate: float | None = None
    wd: int | None = None
    ws: int | None = None
    gpsOkBefore: float | None = None  # noqa: N815 (readsb's name)
    gpsOkLat: float | None = None  # noqa: N815 (readsb's name)
    gpsOkLon: float | None = None  # noqa: N815 (readsb's name)
    lastPosition: LastPosition | None = None  # noqa: N815 (readsb's name)
    rr_lat: float | None = None
    rr_lon: float | None = None
    calc_track: int | None = None
    nav_altitude_fms: int | None = None


class V2Response(BaseModel):
    ac: list[AcItem]
    ctime: int
    msg: str
    now: int
    ptime: int
    total: int


def _valid(body: bytes) -> V2Response:
    doc = json.loads(body)
    out = V2Response.model_validate(doc)
    assert out.total == len(out.ac)
    # readsb writes nic and rc together, wherever a position is
    for a in doc["ac"]:
        assert ("nic" in a) == ("rc" in a) == ("lat" in a)
    return out


# --- worlds ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client() -> Any:
    T = t0() + 1800
    snaps, _ = replay([T])
    snap = snaps[0]
    # a LADD aircraft cloned from the real one, and one whose position went stale (70 s)
    cols = {k: np.concatenate([v, v[:1], v[:1]]) for k, v in snap.columns.items()}
    cols["icao24"][1], cols["callsign"][1] = 0xA1B2C3, b"N123AB"
    cols["icao24"][2], cols["callsign"][2] = 0x43C123, b"RRR1234"
    cols["t_position"][2] = T - 70
    db = AircraftDB.from_records([
        AircraftRecord("393322", "F-GMZC", "A321", "AIRBUS A-321", "Air France", 0, 1994,
                       "test-db"),
        AircraftRecord("a1b2c3", "N123AB", "C172", "Cessna 172", None, 8, 2001, "test-db"),
    ])
    state = LiveState(identity=IdentityResolver(db=db),
                      receiver=ReceiverInfo(lat=LFPG[0], lon=LFPG[1]))
    state.publish(Snapshot(T, cols, snap.counters))
    with TestClient(create_app(state, ServeSettings(token=TOKEN))) as c:
        yield c


ROUTES = [
    ("/v2/hex/393322", {"393322"}), ("/v2/icao/393322,a1b2c3", {"393322"}),
    ("/v2/callsign/AFR34ZG", {"393322"}), ("/v2/registration/F-GMZC", {"393322"}),
    ("/v2/reg/fgmzc", {"393322"}), ("/v2/type/A321", {"393322"}),
    ("/v2/squawk/1000", {"393322", "43c123"}), ("/v2/sqk/1000", {"393322", "43c123"}),
    ("/v2/mil", {"43c123"}),
    ("/v2/point/49.0097/2.5479/250", {"393322"}),
    ("/v2/lat/49.0097/lon/2.5479/dist/9999", {"393322"}),
    ("/v2/closest/49.0097/2.5479/250", {"393322"}),
    ("/v2/closest/0/0/10", set()),
    ("/v2/type/B738", set()),
    ("/re-api/?find_hex=393322,43c123&jv2", {"393322", "43c123"}),
]


@pytest.mark.parametrize(("url", "want"), ROUTES)
def test_every_v2_route_validates_against_adsblol_model(client: TestClient, url: str,
                                                        want: set[str]) -> None:
    r = client.get(url)
    assert r.status_code == 200, r.text
    got = _valid(r.content)
    assert {a.hex for a in got.ac} == want


def test_v2_objects_carry_what_adsblol_clients_read(client: TestClient) -> None:
    a = _valid(client.get("/v2/hex/393322").content).ac[0]
    assert (a.r, a.t, a.flight, a.squawk) == ("F-GMZC", "A321", "AFR34ZG ", "1000")
    assert a.nic is not None and a.rc is not None and a.rc > 0
    assert a.rssi <= 0 and a.mlat == [] and a.tisb == []
    extra = a.model_extra or {}
    assert extra["desc"] == "AIRBUS A-321" and extra["ownOp"] == "Air France"
    assert extra["year"] == "1994"
    stale = _valid(client.get("/v2/mil").content).ac[0]
    assert stale.lat is None and stale.lastPosition is not None
    assert stale.lastPosition.seen_pos == pytest.approx(70, abs=0.01)
    near = json.loads(client.get("/v2/closest/49.0097/2.5479/250").content)["ac"][0]
    assert near["dst"] > 0 and 0 <= near["dir"] < 360


def test_pia_and_ladd_need_the_token(client: TestClient) -> None:
    assert client.get("/v2/ladd").status_code == 403
    assert client.get("/v2/pia").status_code == 403
    got = _valid(client.get("/v2/ladd", headers=AUTH).content)
    assert {a.hex for a in got.ac} == {"a1b2c3"}
    assert _valid(client.get("/v2/pia", headers=AUTH).content).ac == []


def test_bad_v2_parameters_are_400(client: TestClient) -> None:
    for url in ("/v2/sqk/9999", "/v2/hex/xyz", "/v2/point/91/0/10", "/v2/closest/0/0/-1",
                "/v2/reg/" + "A" * 41):
        r = client.get(url)
        assert r.status_code in (400, 422) and r.status_code < 500, url


def test_synthetic_world_validates() -> None:
    state = LiveState()
    state.publish(synthetic_snapshot(300, 1.7e9, 3))
    with TestClient(create_app(state)) as c:
        got = _valid(c.get("/re-api/", params={"all": "", "jv2": ""}).content)
    assert len(got.ac) == 300


def test_registration_lookup_with_nothing_live_keeps_the_connection() -> None:
    """Issue 16 item 3: /v2/reg and find_reg answered 500 (zero-size array) when nothing
    was live, and the next request on that keep-alive connection was dropped."""
    boom = APIRouter()

    @boom.get("/test/boom")
    async def crash() -> None:
        raise RuntimeError("a bug")

    state = LiveState()
    server = ServerThread(state, ServeSettings(port=0), routers=[boom])
    url = server.start()
    try:
        host, port = url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        for path in ("/v2/reg/F-GMZC", "/re-api/?find_reg=F-GMZC", "/v2/registration/G-KELS",
                     "/test/boom", "/v2/reg/F-GMZC"):
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
            if path == "/test/boom":
                assert r.status == 500 and json.loads(body) == {"error": "internal error"}
            else:
                assert r.status == 200, (path, body)
                assert json.loads(body)[("ac" if path.startswith("/v2") else "aircraft")] == []
        conn.close()
    finally:
        server.stop()
