"""State-vector sources: readsb aircraft.json, ADSBx v2 and OpenSky states, parsed and
polled from a loopback HTTP server answering in their documented formats (formats.md §3, §5;
the fixtures are written from those field lists)."""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from tailwatch.core.errors import FormatError
from tailwatch.core.schema import SOURCE_LABELS
from tailwatch.ingest.opensky import credit_cost, min_interval_s, parse_states
from tailwatch.ingest.readsb_json import parse_aircraft_json
from tailwatch.ingest.sources import Feed, FeedOptions
from tailwatch.ingest.urls import parse_source_url
from tailwatch.track.states import STATE_FIELDS

NOW = 1_720_000_000.0


def readsb_doc(now: float, lat: float) -> dict[str, Any]:
    return {"now": now, "messages": 12345, "aircraft": [
        {"hex": "393322", "type": "adsb_icao", "flight": "AFR34ZG ", "alt_baro": 36000,
         "alt_geom": 36500, "gs": 452.3, "track": 181.2, "baro_rate": -64, "squawk": "1000",
         "category": "A3", "lat": lat, "lon": 1.9, "nic": 8, "rc": 186, "seen_pos": 0.4,
         "nac_p": 9, "messages": 512, "seen": 0.1, "rssi": -12.3},
        {"hex": "3c6444", "flight": "DLH9U   ", "alt_baro": "ground", "gs": 3.2,
         "track": 90.0, "lat": 48.35, "lon": 11.78, "seen_pos": 2.0, "seen": 1.0},
        {"hex": "~a1b2c3", "type": "tisb_other", "alt_baro": 2000, "lat": 47.0, "lon": 2.0},
        {"hex": "4ca123", "alt_baro": 12000, "seen": 0.5},  # no position
        {"hex": "406b90", "lastPosition": {"lat": 51.0, "lon": 0.1, "seen_pos": 900}},
    ]}


def v2_doc(now_ms: int) -> dict[str, Any]:
    return {"ac": [{"hex": "ae1234", "type": "adsb_icao", "flight": "RCH123  ",
                    "alt_baro": 28000, "gs": 410, "track": 45.5, "geom_rate": 1024,
                    "squawk": "7700", "lat": 50.1, "lon": 8.6, "seen_pos": 1.0, "dbFlags": 1,
                    "dst": 12.3, "dir": 45.0}],
            "msg": "No error", "now": now_ms, "total": 1, "ctime": now_ms, "ptime": 3}


def opensky_doc(t: int) -> dict[str, Any]:
    return {"time": t, "states": [
        ["4b1805", "SWR100  ", "Switzerland", t - 1, t, 8.55, 47.45, 1000.0, False, 100.0,
         270.0, -5.08, None, 1050.0, "2000", False, 0],
        ["4b1806", "", "Switzerland", None, t, None, None, None, True, 0.0, 0.0, None, None,
         None, None, False, 0],  # no position
        ["4b1807", "SWR2", "Switzerland", t - 3, t, 8.56, 47.46, None, True, 5.0, 10.0,
         None, None, None, "7000", False, 0, 3],  # 18 fields (extended=1)
        "not a state",
    ]}


# ----------------------------------------------------------------------------- parsers


def test_readsb_aircraft_json_to_state_rows() -> None:
    sb, rej, now = parse_aircraft_json(json.dumps(readsb_doc(NOW, 43.5)).encode())
    assert set(sb.columns) == {f.name for f in STATE_FIELDS}
    c = sb.columns
    # 4 aircraft kept (+ 1 non-ICAO rejected = the 5 objects), then one row each for the
    # fields of the 2 whose position is older than their last message
    assert now == NOW and len(sb) == 6 and rej == {"non_icao": 1}
    assert c["icao24"].tolist() == [0x393322, 0x3C6444, 0x4CA123, 0x406B90,
                                    0x393322, 0x3C6444]
    assert sb.has_position().tolist() == [True, True, False, False, False, False]
    assert np.allclose(c["t"], [NOW - 0.4, NOW - 2.0, NOW - 0.5, NOW, NOW - 0.1, NOW - 1.0])
    assert c["callsign"].tolist() == [b"AFR34ZG", b"DLH9U", b"", b"", b"AFR34ZG", b"DLH9U"]
    assert c["altitude_ft"][0] == 36000 and math.isnan(c["altitude_ft"][1])
    assert c["altitude_ft"][2] == 12000 and c["altitude_ft"][4] == 36000
    assert c["on_ground"].tolist() == [0, 1, 0, -1, 0, 1]
    assert c["squawk"].tolist() == [1000, -1, -1, -1, 1000, -1]
    assert c["altitude_geom_ft"][0] == 36500 and c["vrate_fpm"][0] == -64
    assert c["nic"].tolist() == [8, -1, -1, -1, -1, -1]
    assert c["nacp"].tolist() == [9, -1, -1, -1, 9, -1]
    # type adsb_icao → adsb; no type → the feed's label
    assert [SOURCE_LABELS[int(x)] for x in c["source"]] == [
        "adsb", "json", "json", "json", "adsb", "json"]


def test_adsbx_v2_envelope_in_milliseconds() -> None:
    sb, _, now = parse_aircraft_json(json.dumps(v2_doc(1_720_000_000_500)),
                                     source="aggregator")
    assert now == 1_720_000_000.5 and len(sb) == 1  # no `seen`: the fields keep seen_pos
    c = sb.columns
    assert c["t"][0] == 1_720_000_000.5 - 1.0 and c["squawk"][0] == 7700
    assert c["vrate_fpm"][0] == 1024  # geom_rate when there is no baro_rate
    assert c["source"][0] == SOURCE_LABELS.index("adsb")


def test_opensky_states_units_and_rejects() -> None:
    sb, rej, t = parse_states(json.dumps(opensky_doc(1_720_000_000)))
    c = sb.columns
    t0 = 1_720_000_000
    # 3 vectors kept (+ 1 bad_state = the 4 entries); the 2 with a position older than
    # last_contact get a second row at last_contact without it
    assert t == t0 and rej == {"bad_state": 1}
    assert c["icao24"].tolist() == [0x4B1805, 0x4B1806, 0x4B1807, 0x4B1805, 0x4B1807]
    assert sb.has_position().tolist() == [True, False, True, False, False]
    assert c["t"].tolist() == [t0 - 1, t0, t0 - 3, t0, t0]
    assert np.isclose(c["altitude_ft"][0], 3280.84, atol=0.01)
    assert np.isclose(c["altitude_geom_ft"][0], 3444.88, atol=0.01)
    assert np.isclose(c["gs_kt"][0], 194.384, atol=0.001)
    assert np.isclose(c["vrate_fpm"][0], -1000.0, atol=0.1)
    assert c["on_ground"].tolist() == [0, 1, 1, 0, 1]
    assert c["callsign"].tolist() == [b"SWR100", b"", b"SWR2", b"SWR100", b"SWR2"]
    assert c["squawk"].tolist() == [2000, -1, 7000, 2000, 7000]
    assert (c["source"] == SOURCE_LABELS.index("opensky")).all()


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"foo": 1}'])
def test_unreadable_answers_raise_format_errors(body: bytes) -> None:
    with pytest.raises(FormatError):
        parse_aircraft_json(body)
    with pytest.raises(FormatError):
        parse_states(body)


def test_opensky_credit_budget() -> None:
    small = "https://opensky-network.org/api/states/all?lamin=45&lomin=5&lamax=47&lomax=7"
    assert credit_cost(small) == 1 and credit_cost(small.split("?")[0]) == 4
    assert min_interval_s(small, authenticated=False) == 86400 / 400
    assert min_interval_s(small, authenticated=True) == 86400 / 4000
    assert min_interval_s(small.split("?")[0], authenticated=False) == 4 * 86400 / 400


# ----------------------------------------------------------------------------- polling


class _Handler(BaseHTTPRequestHandler):
    state: dict[str, Any]

    def log_message(self, *args: Any) -> None:
        pass

    def _json(self, doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        st = self.state
        length = int(self.headers.get("Content-Length", 0))
        form = self.rfile.read(length).decode()
        st["token_forms"].append(form)
        self._json({"access_token": "tok-1", "expires_in": 1800, "token_type": "Bearer"})

    def do_GET(self) -> None:
        st = self.state
        st["hits"][self.path.split("?")[0]] = st["hits"].get(self.path.split("?")[0], 0) + 1
        n = st["hits"][self.path.split("?")[0]]
        if self.path.startswith("/data/aircraft.json"):
            # polls 1 and 2 repeat the same positions; poll 3+ moves the aircraft
            self._json(readsb_doc(NOW + n, 43.5 if n < 3 else 43.6))
        elif self.path.startswith("/v2/point"):
            st.setdefault("v2_keys", []).append(self.headers.get("x-api-key"))
            self._json(v2_doc(int((NOW + n) * 1000)))
        elif self.path.startswith("/api/states/all"):
            st["auth"].append(self.headers.get("Authorization"))
            st["queries"].append(self.path)
            self._json(opensky_doc(int(NOW) + 10 * n))
        elif self.path.startswith("/limited"):
            if n == 1:
                self._json({"error": "slow down"}, 429, {"Retry-After": "0.5"})
            else:
                self._json(readsb_doc(NOW, 43.5))
        else:
            self._json({"error": "boom"}, 500)


@pytest.fixture
def http_server() -> Iterator[tuple[str, dict[str, Any]]]:
    state: dict[str, Any] = {"hits": {}, "auth": [], "queries": [], "token_forms": []}
    handler = type("H", (_Handler,), {"state": state})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        yield f"127.0.0.1:{srv.server_address[1]}", state
    finally:
        srv.shutdown()
        srv.server_close()


def _poll(urls: list[str], seconds: float, **opts: Any) -> tuple[Feed, list[Any]]:
    async def main() -> tuple[Feed, list[Any]]:
        feed = Feed([parse_source_url(u) for u in urls], options=FeedOptions(**opts))
        await feed.start()
        got: list[Any] = []
        t_end = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < t_end:
            c = await feed.collect(0.05)
            got.extend(c.states)
        await feed.stop()
        return feed, got

    return asyncio.run(main())


def test_readsb_polls_deliver_each_position_once(http_server: tuple[str, dict[str, Any]]) -> None:
    host, state = http_server
    feed, got = _poll([f"readsb+http://{host}/data/aircraft.json?rx=pi&interval=0.2"], 0.8)
    polls = state["hits"]["/data/aircraft.json"]
    c = feed.counters["pi"]
    assert polls >= 4 and c.polls == polls
    lat_393322 = np.concatenate([sb["lat"][sb["icao24"] == 0x393322] for sb, _ in got])
    # the same position on polls 1 and 2 is one position; the move on poll 3 a second
    assert lat_393322[~np.isnan(lat_393322)].tolist() == [43.5, 43.6]
    # its other fields (seen 0.1 s, newer than the position) come on a row of their own on
    # every poll, as `now` advances; so do the Mode S only aircraft's
    assert int(np.isnan(lat_393322).sum()) == polls
    mode_s = np.concatenate([sb["t"][sb["icao24"] == 0x4CA123] for sb, _ in got])
    assert np.allclose(mode_s, NOW + np.arange(1, polls + 1) - 0.5)
    assert c.positions == sum(int(sb.has_position().sum()) for sb, _ in got)
    assert all(redistribute for _, redistribute in got)  # your own receiver
    assert c.rejects["repeated_position"] > 0 and c.rejects["non_icao"] == polls


def test_aggregator_and_opensky_are_attributed_and_flagged(
        http_server: tuple[str, dict[str, Any]]) -> None:
    host, state = http_server
    feed, got = _poll([
        f"adsbx+http://{host}/v2/point/50.1/8.6/50?interval=0.2&rx=lol",
        f"opensky+http://{host}/api/states/all?lamin=45&lomin=5&lamax=48&lomax=9&interval=0.2"
        f"&token_url=http://{host}/token",
    ], 0.5, opensky_client_id="me", opensky_client_secret="s3cret")
    name = {uid: n for n, uid in feed.uids.items()}
    flags = {name[int(sb["receiver"][0])]: flag for sb, flag in got}
    labels = {SOURCE_LABELS[int(x)] for sb, _ in got for x in sb["source"]}
    # an unknown aggregator host and OpenSky: never re-served by default
    assert len(flags) == 2 and "lol" in flags and set(flags.values()) == {False}
    # the aggregator's aircraft is `type: adsb_icao`: labelled (and ranked) as ADS-B
    assert labels == {"adsb", "opensky"}
    # OAuth2 client credentials: a token first, then Bearer on every states request
    assert state["token_forms"] and "grant_type=client_credentials" in state["token_forms"][0]
    assert set(state["auth"]) == {"Bearer tok-1"}
    # tailwatch's own parameters never reach the API
    assert all("interval" not in q and "token_url" not in q for q in state["queries"])
    assert all("lamin=45" in q for q in state["queries"])


def test_rate_limit_and_errors_back_off(http_server: tuple[str, dict[str, Any]]) -> None:
    host, state = http_server
    feed, got = _poll([f"readsb+http://{host}/limited?interval=0.2&rx=l",
                       f"readsb+http://{host}/broken?interval=0.2&rx=b"], 1.2)
    lim, brk = feed.counters["l"], feed.counters["b"]
    assert lim.closes["http_429"] == 1 and state["hits"]["/limited"] >= 2
    assert len(got) >= 1  # after the wait the poll succeeds
    # errors back off (1 s, doubling) instead of polling every 0.2 s: 2 requests in 1.2 s
    assert brk.closes["http_500"] == state["hits"]["/broken"] <= 2
    assert "500" in brk.last_error
