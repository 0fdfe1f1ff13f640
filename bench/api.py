"""API latency with 20,000 live aircraft, over real HTTP on loopback, and 200 websocket clients.

A synthetic whole-world snapshot (20,000 aircraft, random addresses and values) is published
once a second into a real uvicorn server (tailwatch.serve.server.ServerThread) on 127.0.0.1.
Measured from a client process over loopback: latency of ``/data/aircraft.json`` and
``/api/states/all`` (``--requests`` sequential requests each, after a warm-up; p50 and p99),
and 200 websocket clients on ``/api/live`` receiving the pushed changes for ``--ws-seconds``
(messages received per client, clients dropped). Writes bench/results/api.json.

    .venv/bin/python bench/api.py [--aircraft 20000] [--requests 300] [--ws-clients 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, console, machine, versions
from tailwatch.config import ServeSettings
from tailwatch.serve import LiveState
from tailwatch.serve.server import ServerThread
from tailwatch.serve.state import synthetic_snapshot


def latencies(url: str, n: int) -> list[float]:
    out = []
    with httpx.Client(timeout=30) as client:
        for _ in range(20):
            client.get(url).raise_for_status()
        for _ in range(n):
            t0 = time.perf_counter()
            r = client.get(url)
            out.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
    return out


async def websocket_clients(url: str, clients: int, seconds: float) -> tuple[list[int], int]:
    counts = [0] * clients
    dropped = 0

    async def one(i: int) -> None:
        nonlocal dropped
        try:
            async with websockets.connect(url, max_size=None, open_timeout=30) as ws:
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    try:
                        await asyncio.wait_for(ws.recv(), timeout=max(0.1, end - time.monotonic()))
                        counts[i] += 1
                    except TimeoutError:
                        break
        except (OSError, websockets.exceptions.WebSocketException):
            dropped += 1

    await asyncio.gather(*(one(i) for i in range(clients)))
    return counts, dropped


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--aircraft", type=int, default=20_000)
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--ws-clients", type=int, default=200)
    p.add_argument("--ws-seconds", type=float, default=10.0)
    args = p.parse_args()
    state = LiveState()
    now = time.time()
    state.publish(synthetic_snapshot(args.aircraft, now, 0))
    stop = threading.Event()

    def publisher() -> None:  # the pipeline's side: a new snapshot every second
        k = 1
        while not stop.wait(1.0):
            state.publish(synthetic_snapshot(args.aircraft, time.time(), k))
            k += 1

    threading.Thread(target=publisher, daemon=True).start()
    server = ServerThread(state, ServeSettings(host="127.0.0.1", port=0))
    base = server.start()
    results = {}
    try:
        for path in ("/data/aircraft.json", "/api/states/all"):
            lat = latencies(base + path, args.requests)
            results[path] = {"requests": len(lat), "p50_ms": round(pct(lat, 50), 2),
                             "p99_ms": round(pct(lat, 99), 2),
                             "median_ms": round(statistics.median(lat), 2)}
            console.print(f"  {path:<22} p50 {results[path]['p50_ms']:7.2f} ms   "
                          f"p99 {results[path]['p99_ms']:7.2f} ms")
        ws_url = base.replace("http://", "ws://") + "/api/live"
        counts, dropped = asyncio.run(websocket_clients(ws_url, args.ws_clients,
                                                        args.ws_seconds))
        results["/api/live"] = {"clients": args.ws_clients, "seconds": args.ws_seconds,
                                "messages_per_client_median": statistics.median(counts),
                                "clients_with_no_message": sum(c == 0 for c in counts),
                                "clients_dropped": dropped}
        console.print(f"  /api/live {args.ws_clients} clients: median "
                      f"{statistics.median(counts)} messages in {args.ws_seconds:.0f} s, "
                      f"{dropped} dropped")
    finally:
        stop.set()
        server.stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "api.json"
    out.write_text(json.dumps({
        "benchmark": "api", "description": __doc__, "aircraft": args.aircraft,
        "machine": machine(), "versions": versions("tailwatch", "fastapi", "uvicorn"),
        "results": results,
    }, indent=2) + "\n")
    console.print(f"written {out.relative_to(RESULTS.parent.parent)}")


if __name__ == "__main__":
    main()
