"""Issue 16 item 2: idle connections cannot deny service (loopback only, bounded, fast).

Before: uvicorn's hard-coded ``limit_concurrency=1000`` answered 503 to every request while a
thousand idle connections were held, idle connections never timed out and 100 KB headers were
accepted."""

from __future__ import annotations

import http.client
import json
import socket
import time

import pytest

from tailwatch.config import ServeSettings
from tailwatch.serve import LiveState
from tailwatch.serve.server import ServerThread
from tailwatch.serve.state import synthetic_snapshot


def _get(port: int, path: str = "/health", headers: dict[str, str] | None = None,
         ) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def _server(**settings: object) -> tuple[ServerThread, int, LiveState]:
    state = LiveState()
    state.publish(synthetic_snapshot(50, time.time(), 1))
    server = ServerThread(state, ServeSettings(port=0, **settings))  # type: ignore[arg-type]
    url = server.start()
    return server, int(url.rsplit(":", 1)[1]), state


def _open_idle(port: int, n: int) -> list[socket.socket]:
    out = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        out.append(s)
    return out


def test_a_thousand_idle_connections_leave_the_server_answering() -> None:
    # the shipped settings: 128 connections per client address, 2048 in all
    server, port, _ = _server()
    per_client = ServeSettings().max_connections_per_client
    idle: list[socket.socket] = []
    try:
        idle = _open_idle(port, 1000)
        time.sleep(0.3)
        t0 = time.monotonic()
        for path in ("/health", "/data/aircraft.json", "/api/states/all", "/v2/mil"):
            status, _ = _get(port, path)
            assert status == 200, path
        assert time.monotonic() - t0 < 5
        stats = json.loads(_get(port, "/api/stats")[1])["server"]
        # the oldest idle connections made room; none was refused
        assert stats["connections_evicted_idle"] >= 1000 - per_client
        assert stats["connections_refused"] == 0
    finally:
        for s in idle:
            s.close()
        server.stop()


def test_connections_stuck_in_their_headers_are_closed() -> None:
    server, port, _ = _server(header_timeout_s=0.5)
    try:
        silent = socket.create_connection(("127.0.0.1", port), timeout=5)
        slow = socket.create_connection(("127.0.0.1", port), timeout=5)
        slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
        time.sleep(1.5)
        for s in (silent, slow):
            assert s.recv(1024) == b""  # closed by the server
            s.close()
        stats = json.loads(_get(port, "/api/stats")[1])["server"]
        assert stats["header_timeouts"] >= 2
    finally:
        server.stop()


def test_keep_alive_connections_answer_several_requests() -> None:
    server, port, _ = _server(header_timeout_s=0.5)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        for _ in range(3):
            conn.request("GET", "/health")
            r = conn.getresponse()
            assert r.status == 200
            r.read()
            time.sleep(0.7)  # longer than the header timeout, shorter than the idle one
        conn.close()
    finally:
        server.stop()


def test_huge_request_headers_are_refused() -> None:
    server, port, _ = _server(max_header_bytes=16 * 1024)
    try:
        status, _ = _get(port, "/health", {"X-Big": "a" * 100_000})
        assert status == 431
        stats = json.loads(_get(port, "/api/stats")[1])["server"]
        assert stats["headers_too_large"] == 1
        assert _get(port, "/health", {"X-Small": "a" * 1000})[0] == 200
    finally:
        server.stop()


@pytest.mark.parametrize("per_client", [4])
def test_per_client_cap_closes_the_oldest_idle_connection(per_client: int) -> None:
    server, port, _ = _server(max_connections_per_client=per_client)
    try:
        idle = _open_idle(port, per_client)
        time.sleep(0.2)
        assert _get(port)[0] == 200  # room made by closing the oldest idle one
        assert idle[0].recv(16) == b""
        for s in idle:
            s.close()
    finally:
        server.stop()


def test_map_csp_allows_websockets_to_its_own_origin_only() -> None:
    """Issue 16 item 9: the map's CSP allowed websockets to any host (``ws: wss:``)."""
    from fastapi.testclient import TestClient

    from tailwatch.serve import create_app
    from tailwatch.serve.app import csp_header

    csp = csp_header("https://tiles.example.org/{z}/{x}/{y}.png")
    connect = next(d for d in csp.split("; ") if d.startswith("connect-src"))
    assert connect == "connect-src 'self' https://tiles.example.org"
    assert "ws:" not in csp and "wss:" not in csp and "*" not in csp
    page = TestClient(create_app(LiveState())).get("/docs")
    assert "connect-src 'self';" in page.headers["content-security-policy"]


def test_a_websocket_outlives_the_header_timeout() -> None:
    import asyncio

    import websockets

    server, port, state = _server(header_timeout_s=0.3)

    async def talk() -> list[str]:
        async with websockets.connect(f"ws://127.0.0.1:{port}/api/live") as ws:
            kinds = [json.loads(await ws.recv())["type"]]
            await asyncio.sleep(0.8)  # past the header timeout: an upgraded connection is busy
            state.publish(synthetic_snapshot(50, time.time() + 1, 1))
            kinds.append(json.loads(await asyncio.wait_for(ws.recv(), 5))["type"])
            return kinds

    try:
        assert asyncio.run(talk()) == ["snapshot", "diff"]
    finally:
        server.stop()
