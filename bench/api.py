"""API latency with 20,000 live aircraft, over real HTTP on loopback, and 200 websocket clients.

The server side runs as tailwatch does: a real uvicorn server
(tailwatch.serve.server.ServerThread) on 127.0.0.1 and, in the same process, a publisher
thread standing in for the pipeline. It publishes a synthetic whole world of ``--aircraft``
aircraft once a second; the world keeps its aircraft from one second to the next (80 % heard
again and moved on, 0.5 % replaced by new ones: serve.state.synthetic_successor), so the
identity cache and the live diff behave as with real traffic. Publishing builds the public
``aircraft.json`` and ``/api/states/all`` bodies (plain and gzip) once per snapshot.

The clients run in a separate process (spawned), so that they do not compete with the server
for its GIL:

- ``/data/aircraft.json`` and ``/api/states/all``: ``--requests`` sequential requests each
  (after a warm-up), ``Accept-Encoding: gzip`` as browsers send it; the latency is the time
  to the last byte of the body as sent (the client does not decompress or parse it); p50 and
  p99, and the body size;
- ``--ws-clients`` websocket clients on ``/api/live?compress=gzip`` (one gzip-compressed
  binary frame per publish, compressed once for every client) for ``--ws-seconds``: messages
  received per client once all are connected (one diff per second; the snapshot each gets on
  connecting is not counted), clients dropped.

The rate limit is raised for the run (``serve.rate_per_s``, ``serve.burst``): every client is
127.0.0.1. Writes bench/results/api.json (``--out`` to write elsewhere).

    .venv/bin/python bench/api.py [--aircraft 20000] [--requests 300] [--ws-clients 200]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import statistics
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, console, machine, versions
from tailwatch.config import ServeSettings
from tailwatch.serve import LiveState
from tailwatch.serve.server import ServerThread
from tailwatch.serve.state import synthetic_snapshot, synthetic_successor

PATHS = ("/data/aircraft.json", "/api/states/all")


# --- the client process ---------------------------------------------------------------------

def latencies(url: str, n: int) -> tuple[list[float], int]:
    """Milliseconds to the last byte of each of ``n`` responses, and the body size."""
    out = []
    size = 0
    with httpx.Client(timeout=30, headers={"Accept-Encoding": "gzip"}) as client:
        for i in range(20 + n):
            t0 = time.perf_counter()
            with client.stream("GET", url) as r:
                size = sum(len(chunk) for chunk in r.iter_raw())
                r.raise_for_status()
            if i >= 20:
                out.append((time.perf_counter() - t0) * 1000)
    return out, size


async def websocket_clients(url: str, clients: int, seconds: float,
                            ) -> tuple[list[int], int, list[float]]:
    counts = [0] * clients
    dropped = 0
    ready = 0
    start = asyncio.Event()
    window: list[float] = []

    def arrived() -> None:
        nonlocal ready
        ready += 1
        if ready == clients:
            window.append(time.time())
            start.set()  # every client counts from the same moment, once all are connected

    async def one(i: int) -> None:
        nonlocal dropped
        try:
            async with websockets.connect(url, max_size=None, open_timeout=60,
                                          compression=None) as ws:
                await ws.recv(decode=False)  # the snapshot
                arrived()
                await start.wait()
                end = time.monotonic() + seconds
                while (left := end - time.monotonic()) > 0:
                    try:
                        await asyncio.wait_for(ws.recv(decode=False), timeout=left)
                    except TimeoutError:
                        break
                    counts[i] += 1
        except (OSError, websockets.exceptions.WebSocketException):
            dropped += 1
            if not start.is_set():
                arrived()

    await asyncio.gather(*(one(i) for i in range(clients)))
    window.append(window[0] + seconds if window else time.time())
    return counts, dropped, window


def client_run(base: str, requests: int, ws_clients: int, ws_seconds: float,
               ) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for path in PATHS:
        lat, size = latencies(base + path, requests)
        a = np.asarray(lat)
        results[path] = {"requests": len(lat), "p50_ms": round(float(np.percentile(a, 50)), 2),
                         "p99_ms": round(float(np.percentile(a, 99)), 2),
                         "max_ms": round(float(a.max()), 2), "body_bytes_gzip": size}
    ws_url = base.replace("http://", "ws://") + "/api/live?compress=gzip"
    counts, dropped, window = asyncio.run(websocket_clients(ws_url, ws_clients, ws_seconds))
    results["/api/live"] = {
        "clients": ws_clients, "seconds": ws_seconds, "encoding": "gzip",
        "messages_per_client_median": statistics.median(counts),
        "messages_per_client_min": min(counts),
        "clients_with_no_message": sum(c == 0 for c in counts),
        "clients_dropped": dropped, "window": window}
    return results


# --- the server process ---------------------------------------------------------------------

class GcPauses:
    """Longest garbage-collector pause in the server process during the run."""

    def __init__(self) -> None:
        self.t0 = 0.0
        self.max_ms = 0.0
        self.count = 0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.t0 = time.perf_counter()
        else:
            self.max_ms = max(self.max_ms, (time.perf_counter() - self.t0) * 1000)
            self.count += 1


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--aircraft", type=int, default=20_000)
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--ws-clients", type=int, default=200)
    p.add_argument("--ws-seconds", type=float, default=10.0)
    p.add_argument("--out", type=Path, default=RESULTS / "api.json")
    args = p.parse_args()
    state = LiveState()
    state.publish(synthetic_snapshot(args.aircraft, time.time(), 0))
    stop = threading.Event()
    publish_ms: list[float] = []
    published_at: list[float] = []

    def publisher() -> None:  # the pipeline's side: a new snapshot every second, on the second
        k = 1
        due = time.monotonic() + 1.0
        while not stop.wait(max(0.0, due - time.monotonic())):
            due += 1.0
            snap = synthetic_successor(state.view().snapshot, time.time(), k)
            t0 = time.perf_counter()
            state.publish(snap)
            publish_ms.append((time.perf_counter() - t0) * 1000)
            published_at.append(time.time())
            k += 1

    pauses = GcPauses()
    settings = ServeSettings(host="127.0.0.1", port=0, rate_per_s=1e6, burst=1_000_000,
                             max_ws_clients=max(256, args.ws_clients))
    server = ServerThread(state, settings)
    base = server.start()  # then the long-lived objects are frozen out of the collector
    gc.callbacks.append(pauses)
    threading.Thread(target=publisher, daemon=True).start()
    try:
        with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
            results = pool.submit(client_run, base, args.requests, args.ws_clients,
                                  args.ws_seconds).result()
    finally:
        stop.set()
        server.stop()
        gc.callbacks.remove(pauses)
    live = results["/api/live"]
    a, b = live.pop("window")
    live["publishes_in_window"] = sum(a <= t < b for t in published_at)
    results["server"] = {
        "publish_ms_median": round(statistics.median(publish_ms), 1) if publish_ms else None,
        "publish_ms_max": round(max(publish_ms), 1) if publish_ms else None,
        "gc_collections": pauses.count, "gc_pause_max_ms": round(pauses.max_ms, 2)}
    for path in PATHS:
        r = results[path]
        console.print(f"  {path:<22} p50 {r['p50_ms']:7.2f} ms   p99 {r['p99_ms']:7.2f} ms   "
                      f"({r['body_bytes_gzip'] / 1e6:.2f} MB gzip)")
    console.print(f"  /api/live {args.ws_clients} clients: median "
                  f"{live['messages_per_client_median']} messages in {args.ws_seconds:.0f} s "
                  f"(min {live['messages_per_client_min']}; {live['publishes_in_window']} "
                  f"publishes), {live['clients_dropped']} dropped")
    console.print(f"  server: publish {results['server']['publish_ms_median']} ms median, "
                  f"longest GC pause {results['server']['gc_pause_max_ms']} ms")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "api", "description": __doc__, "aircraft": args.aircraft,
        "machine": machine(), "versions": versions("tailwatch", "fastapi", "uvicorn"),
        "results": results,
    }, indent=2) + "\n")
    console.print(f"written {args.out}")


if __name__ == "__main__":
    main()
