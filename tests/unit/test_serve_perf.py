"""aircraft.json for 20,000 aircraft: built column-wise once per snapshot, served fast.

Synthetic aircraft (random addresses, positions and values) stand in for a whole-world feed;
the time is measured inside the server (the ASGI app), without an HTTP client's overhead.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from tailwatch.serve import LiveState, create_app
from tailwatch.serve.formats import aircraft_json
from tailwatch.serve.state import synthetic_snapshot
from tailwatch.track.tracker import Snapshot

N = 20_000


def _snapshot(now: float, seed: int) -> Snapshot:
    snap: Snapshot = synthetic_snapshot(N, now, seed)
    return snap


async def _get(app: Any, path: str) -> tuple[int, bytes]:
    status = 0
    body: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": [(b"host", b"test")], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 80), "scheme": "http", "http_version": "1.1",
             "root_path": ""}
    await app(scope, receive, send)
    return status, b"".join(body)


def test_twenty_thousand_aircraft() -> None:
    state = LiveState()
    state.publish(_snapshot(1.7e9, 0))  # warm-up (compilation, identity cache)
    builds = []
    for i in range(1, 4):
        snap = _snapshot(1.7e9 + i, 0)  # same aircraft, new values: identities are cached
        t = time.perf_counter()
        view = state.publish(snap)  # renders the rows and the public aircraft.json
        builds.append(time.perf_counter() - t)
    body = aircraft_json(view, allow_hidden=False)
    doc = json.loads(body)
    assert len(doc["aircraft"]) == N
    assert doc["now"] == 1.7e9 + 3
    print(f"publish (identity + render + join) of {N} aircraft: "
          f"{min(builds) * 1000:.0f}-{max(builds) * 1000:.0f} ms, {len(body) / 1e6:.1f} MB")
    assert min(builds) < 1.0  # a publish must fit well inside the 1 s cadence

    app = create_app(state)

    async def run() -> list[float]:
        times = []
        for _ in range(100):
            t = time.perf_counter()
            status, got = await _get(app, "/data/aircraft.json")
            times.append(time.perf_counter() - t)
            assert status == 200 and len(got) == len(body)
        return times

    times = sorted(asyncio.run(run()))
    p99 = times[98]
    print(f"aircraft.json served: median {times[50] * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms")
    assert p99 < 0.030
