"""Bodies built once per snapshot (aircraft.json, /api/states/all: plain, gzip, ETag), the
live feed's shared messages (JSON text or gzip binary), limits as settings and the offline API
reference page — on the synthetic whole world of the API benchmark."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tailwatch.config import ServeSettings
from tailwatch.serve import LiveState, create_app
from tailwatch.serve.live import LiveHub
from tailwatch.serve.state import synthetic_snapshot, synthetic_successor

N = 500
PLAIN = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip"}


@pytest.fixture
def state() -> LiveState:
    st = LiveState()
    st.publish(synthetic_snapshot(N, 1.7e9, 0))
    return st


def _raw_get(c: TestClient, url: str, headers: dict[str, str]) -> tuple[int, dict[str, str],
                                                                        bytes]:
    with c.stream("GET", url, headers=headers) as r:
        body = b"".join(r.iter_raw())
        return r.status_code, dict(r.headers), body


@pytest.mark.parametrize("url", ["/data/aircraft.json", "/api/states/all"])
def test_prebuilt_bodies_plain_gzip_and_etag(state: LiveState, url: str) -> None:
    with TestClient(create_app(state)) as c:
        status, h, plain = _raw_get(c, url, PLAIN)
        assert status == 200 and "content-encoding" not in h
        status, hz, packed = _raw_get(c, url, GZIP)
        assert status == 200 and hz["content-encoding"] == "gzip"
        assert gzip.decompress(packed) == plain  # the same document, compressed once
        doc = json.loads(plain)
        assert len(doc["aircraft" if "aircraft" in doc else "states"]) == N
        etag = h["etag"]
        assert hz["etag"] == etag and hz["vary"] == "Accept-Encoding"
        again = c.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        state.publish(synthetic_successor(state.view().snapshot, 1.7e9 + 1, 1))
        fresh = c.get(url, headers={"If-None-Match": etag})
        assert fresh.status_code == 200 and fresh.headers["etag"] != etag


def test_bodies_are_built_at_publish_time() -> None:
    st = LiveState()
    view = st.publish(synthetic_snapshot(50, 1.7e9, 3))
    built = {k for k in view._cache if k[0] == "gzip"}
    assert built == {("gzip", ("aircraft.json", False)), ("gzip", ("states/all", False, False))}


def test_states_all_filters_select_from_the_prerendered_rows(state: LiveState) -> None:
    with TestClient(create_app(state)) as c:
        every = c.get("/api/states/all").json()["states"]
        box = c.get("/api/states/all", params={"lamin": 0, "lomin": 0, "lamax": 40,
                                                "lomax": 90}).json()["states"]
        some = [s[0] for s in every[:3]]
        picked = c.get("/api/states/all", params=[("icao24", h) for h in some]).json()
        ext = c.get("/api/states/all", params={"extended": 1}).json()["states"]
    inside = [s for s in every if s[6] is not None and 0 <= s[6] <= 40 and 0 <= s[5] <= 90]
    assert box == inside and 0 < len(box) < len(every)
    assert [s[0] for s in picked["states"]] == some
    assert [s[:17] for s in ext] == every and len(ext[0]) == 18 and len(every[0]) == 17


def test_live_feed_sends_one_shared_message_per_class(state: LiveState) -> None:
    with TestClient(create_app(state)) as c, \
            c.websocket_connect("/api/live") as text_ws, \
            c.websocket_connect("/api/live?compress=gzip") as gz_ws:
        first_text = json.loads(text_ws.receive_text())
        first_gz = json.loads(gzip.decompress(gz_ws.receive_bytes()))
        assert first_text == first_gz and first_text["type"] == "snapshot"
        assert len(first_text["aircraft"]) == N
        nxt = synthetic_successor(state.view().snapshot, 1.7e9 + 1, 1, updated=0.5, churn=0.1)
        state.publish(nxt)
        diff_text = json.loads(text_ws.receive_text())
        diff_gz = json.loads(gzip.decompress(gz_ws.receive_bytes()))
    assert diff_text == diff_gz and diff_text["type"] == "diff"
    assert 0 < len(diff_text["aircraft"]) < N and diff_text["removed"]
    prev = set(first_text["aircraft"][i]["hex"] for i in range(N))
    assert set(diff_text["removed"]) <= prev


def test_live_feed_refuses_unknown_compression(state: LiveState) -> None:
    from starlette.websockets import WebSocketDisconnect

    with TestClient(create_app(state)) as c, pytest.raises(WebSocketDisconnect) as e, \
            c.websocket_connect("/api/live?compress=brotli") as ws:
        ws.receive_text()
    assert e.value.code == 1008


def test_hub_queues_the_same_object_to_every_client() -> None:
    import asyncio

    st = LiveState(prerender=False)
    st.publish(synthetic_snapshot(200, 1.7e9, 0))
    hub = LiveHub(st, queue_size=4)
    loop = asyncio.new_event_loop()
    try:
        hub.loop = loop
        clients = [hub.add(False, enc) for enc in ("json", "json", "gzip", "gzip")]
        assert all(a is not None for a in clients)
        hub.dispatch(st.publish(synthetic_successor(st.view().snapshot, 1.7e9 + 1, 1)))
        got = [a[0].queue.get_nowait() for a in clients if a is not None]
    finally:
        loop.close()
    assert isinstance(got[0], str) and got[0] is got[1]
    assert isinstance(got[2], bytes) and got[2] is got[3]
    assert gzip.decompress(got[2]).decode() == got[0]


def test_limits_come_from_the_settings(state: LiveState) -> None:
    settings = ServeSettings(rate_per_s=0.01, burst=3, max_query_bytes=100)
    with TestClient(create_app(state, settings)) as c:
        assert c.get("/health?" + "x" * 200).status_code == 414
        codes = [c.get("/health").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_api_reference_page_is_offline_and_complete(state: LiveState) -> None:
    with TestClient(create_app(state)) as c:
        r = c.get("/docs")
        spec = c.get("/openapi.json").json()
        css = c.get("/static/apidocs.css")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    page = r.text
    assert "<script" not in page and "http://" not in page and "https://" not in page
    for path, item in spec["paths"].items():
        for method in item:
            assert f'{method.upper()}</span> <code>{path}</code>' in page
    assert "<code>lamin</code>" in page  # parameters are listed
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


def test_synthetic_successor_keeps_the_world() -> None:
    a = synthetic_snapshot(1000, 1.7e9, 0)
    b = synthetic_successor(a, 1.7e9 + 1, 1, updated=0.5, churn=0.01)
    same = np.isin(b.columns["icao24"], a.columns["icao24"])
    assert 0.97 < same.mean() < 1.0
    assert np.unique(b.columns["icao24"]).size == 1000
    heard = b.columns["last_seen"] == 1.7e9 + 1
    assert 0.4 < heard.mean() < 0.6
