"""The websocket live feed and snapshot publishing, on the AFR34ZG replay."""

from __future__ import annotations

import asyncio
import json
import threading

import numpy as np
import pytest
from _serve_replay import replay, t0
from fastapi.testclient import TestClient

from tailwatch.serve import LiveState, create_app
from tailwatch.serve.live import LiveHub, changed_rows
from tailwatch.serve.state import blank_columns
from tailwatch.track.tracker import Snapshot


def _empty(now: float) -> Snapshot:
    return Snapshot(now, blank_columns(0), {})


def test_snapshot_then_diffs_then_removal() -> None:
    times = [t0() + 1200, t0() + 1202, t0() + 1204]
    snaps, _ = replay(times)
    state = LiveState()
    state.publish(snaps[0])
    with TestClient(create_app(state)) as c, c.websocket_connect("/api/live") as ws:
        first = json.loads(ws.receive_text())
        assert first["type"] == "snapshot"
        assert first["now"] == pytest.approx(times[0], abs=1e-3)
        assert [a["hex"] for a in first["aircraft"]] == ["393322"]
        lat0 = first["aircraft"][0]["lat"]
        state.publish(snaps[1])
        diff = json.loads(ws.receive_text())
        assert diff["type"] == "diff" and diff["now"] == pytest.approx(times[1], abs=1e-3)
        assert [a["hex"] for a in diff["aircraft"]] == ["393322"]
        assert diff["aircraft"][0]["lat"] != lat0  # it moved
        assert diff["aircraft"][0]["flight"] == "AFR34ZG "
        assert diff["removed"] == []
        # the same snapshot again: nothing changed
        state.publish(Snapshot(times[1] + 0.5, snaps[1].columns, snaps[1].counters))
        same = json.loads(ws.receive_text())
        assert same["aircraft"] == [] and same["removed"] == []
        state.publish(_empty(times[2]))
        gone = json.loads(ws.receive_text())
        assert gone["aircraft"] == [] and gone["removed"] == ["393322"]


def test_changed_rows_matches_addresses_not_positions() -> None:
    state = LiveState(prerender=False)
    a = blank_columns(3)
    a["icao24"] = np.array([1, 2, 3], np.uint32)
    a["last_seen"] = np.array([10.0, 10.0, 10.0])
    v1 = state.publish(Snapshot(10.0, a, {}))
    b = blank_columns(3)
    b["icao24"] = np.array([3, 4, 1], np.uint32)  # 2 gone, 4 new, 3 updated, 1 unchanged
    b["last_seen"] = np.array([11.0, 11.0, 10.0])
    v2 = state.publish(Snapshot(11.0, b, {}))
    changed, gone = changed_rows(v1, v2)
    assert sorted(v2.icao24[changed].tolist()) == [3, 4]
    assert v1.icao24[gone].tolist() == [2]


def test_slow_clients_are_dropped_not_waited_for() -> None:
    state = LiveState(prerender=False)
    snaps, _ = replay([t0() + 100 + i for i in range(6)])
    hub = LiveHub(state, queue_size=2)
    loop = asyncio.new_event_loop()
    try:
        hub.loop = loop
        added = hub.add(allow_hidden=False)
        assert added is not None
        slow, _ = added
        fast_added = hub.add(allow_hidden=False)
        assert fast_added is not None
        fast, _ = fast_added
        for s in snaps:
            hub.dispatch(state.publish(s))
            while not fast.queue.empty():  # the fast client keeps up
                assert fast.queue.get_nowait() is not None
        assert slow.dropped and slow not in hub.clients
        assert slow.queue.get_nowait() is None  # the sender is told to close
        assert fast in hub.clients and not fast.dropped
        assert hub.stats["dropped_slow"] == 1
    finally:
        loop.close()


def test_publish_swaps_atomically_under_concurrent_reads() -> None:
    snaps, _ = replay([t0() + 600, t0() + 601])
    state = LiveState()
    state.publish(snaps[0])
    seen: set[float] = set()
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for _ in range(300):
                v = state.view()
                body = json.loads(v.body(("aircraft.json", False), lambda: b"{}") or b"{}")
                if "now" in body:
                    assert abs(body["now"] - v.now) < 1e-3  # the body belongs to its own snapshot
                    seen.add(v.now)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for i in range(20):
        state.publish(snaps[i % 2])
    for t in threads:
        t.join()
    assert not errors
    assert seen <= {snaps[0].now, snaps[1].now}
