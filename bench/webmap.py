"""The web map with 20,000 aircraft updated every second, in headless Chromium: frame times.

The server (serve.server.ServerThread) and a publisher thread run in this process: a synthetic
whole world of ``--aircraft`` aircraft (serve.state.synthetic_snapshot), every second 80 % of
them heard again and moved on (synthetic_successor), published (the live feed /api/live: JSON
diffs; /api/map/positions.bin: binary columns). Debian's Chromium (Playwright, software WebGL:
SwiftShader, no GPU) opens the map once per feed (``--feeds bin,ws``: the binary columns the
map reads from 2,000 aircraft on, and the JSON websocket) and, in the page, measures:

* ``first_render_s``: from navigation to every aircraft drawn;
* per update: reading it (``update_read_ms``: the binary columns, or JSON parse + merge on
  the websocket) and the redraw that follows
  (``draw_ms``; its parts: collect and filter, fill the WebGL buffer, trails and labels, the
  sorted table);
* frame intervals (requestAnimationFrame) while the updates arrive, idle and while panning
  the map every frame, with the list tab open and closed;
* responsiveness: the lag of a 50 ms timer (how long an input would wait), long tasks.

Results in bench/results/webmap.json with the load average of the machine beside them
(2 cores shared: the figures are an upper bound of what a real GPU and an idle machine give).

    .venv/bin/python bench/webmap.py [--aircraft 20000] [--seconds 8]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, machine, versions
from tailwatch.config import ServeSettings
from tailwatch.serve import LiveState
from tailwatch.serve.map_api import router
from tailwatch.serve.server import ServerThread
from tailwatch.serve.state import synthetic_snapshot, synthetic_successor

CHROMIUM = os.environ.get("TAILWATCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync"]

# in the page: frame intervals, timer lag and long tasks over `ms`, optionally panning
PROBE = """async ([ms, pan]) => {
  const frames = [], lags = [], longs = [];
  const obs = new PerformanceObserver((l) => {
    for (const e of l.getEntries()) longs.push(e.duration);
  });
  try { obs.observe({ entryTypes: ["longtask"] }); } catch (e) { /* not supported */ }
  let last = performance.now(), expect = performance.now() + 50;
  const timer = setInterval(() => {
    const now = performance.now(); lags.push(Math.max(0, now - expect)); expect = now + 50;
  }, 50);
  const end = performance.now() + ms;
  const updates0 = tailwatch.timings().updates;
  await new Promise((done) => {
    const step = (t) => {
      frames.push(t - last); last = t;
      if (pan) tailwatch.map.panBy([4, 1], { duration: 0 });
      if (t < end) requestAnimationFrame(step); else done();
    };
    requestAnimationFrame(step);
  });
  clearInterval(timer); obs.disconnect();
  return { frames: frames.slice(1), lags, longs, updates: tailwatch.timings().updates - updates0 };
}"""


def _stats(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "median": None, "p95": None, "max": None}
    s = sorted(values)
    return {"n": len(s), "median": round(statistics.median(s), 1),
            "p95": round(s[min(len(s) - 1, int(0.95 * (len(s) - 1) + 0.5))], 1),
            "max": round(s[-1], 1)}


def _phase(page: Any, seconds: float, pan: bool) -> dict[str, Any]:
    r = page.evaluate(PROBE, [seconds * 1000, pan])
    fps = len(r["frames"]) / seconds if r["frames"] else 0.0
    return {"seconds": seconds, "fps": round(fps, 1), "frame_ms": _stats(r["frames"]),
            "timer_lag_ms": _stats(r["lags"]), "long_tasks": len(r["longs"]),
            "long_task_ms_total": round(sum(r["longs"]), 1), "live_updates": r["updates"]}


def _run_page(base: str, feed: str, aircraft: int, seconds: float) -> dict[str, Any]:
    """One page on ``/?feed=FEED``: first render, then the four phases."""
    import urllib.request

    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {}
    with urllib.request.urlopen(base + "/api/stats") as r:
        dropped_before = json.loads(r.read())["server"].get("live_dropped_slow") or 0
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1280, "height": 800})
        page = ctx.pages[0] if ctx.pages else ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        t0 = time.monotonic()
        page.goto(f"{base}/?feed={feed}", wait_until="load")
        page.wait_for_function(f"() => window.tailwatch && tailwatch.frames() > 0 && "
                               f"tailwatch.shown() >= {int(aircraft * 0.95)}", timeout=180_000)
        out["first_render_s"] = round(time.monotonic() - t0, 2)
        out["drawn"] = page.evaluate("tailwatch.shown()")
        page.wait_for_timeout(3000)  # the first updates
        page.click("[data-testid=tab-filters]")
        out["list_closed_idle"] = _phase(page, seconds, pan=False)
        out["list_closed_panning"] = _phase(page, seconds, pan=True)
        page.click("[data-testid=tab-list]")
        out["list_open_idle"] = _phase(page, seconds, pan=False)
        out["list_open_panning"] = _phase(page, seconds, pan=True)
        t = page.evaluate("tailwatch.timings()")
        out["update_read_ms"] = _stats(t["messageMs"])
        out["draw_ms"] = _stats(t["drawMs"])
        out["draw_parts_ms"] = {k[:-2]: _stats(t[k]) for k in
                                ("collectMs", "fillMs", "overlaysMs", "tableMs")}
        out["page_errors"] = errors
        out["live_feed_closed"] = page.evaluate("tailwatch.state.stats.wsCloses || 0")
        ctx.close()
    with urllib.request.urlopen(base + "/api/stats") as r:
        dropped = json.loads(r.read())["server"].get("live_dropped_slow") or 0
    out["server_dropped_page_as_slow"] = dropped - dropped_before
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--aircraft", type=int, default=20_000)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--feeds", default="bin,ws",
                   help="bin: /api/map/positions.bin (the map's choice from 2,000 aircraft); "
                        "ws: the JSON websocket (its choice below)")
    p.add_argument("--out", type=Path, default=RESULTS / "webmap.json")
    args = p.parse_args()
    load_before = os.getloadavg()
    state = LiveState()
    state.publish(synthetic_snapshot(args.aircraft, time.time(), 0))
    stop = threading.Event()

    def publisher() -> None:  # the pipeline's side: a new snapshot every second
        k = 1
        due = time.monotonic() + 1.0
        while not stop.wait(max(0.0, due - time.monotonic())):
            due += 1.0
            state.publish(synthetic_successor(state.view().snapshot, time.time(), k))
            k += 1

    settings = ServeSettings(host="127.0.0.1", port=0, rate_per_s=1e6, burst=1_000_000)
    server = ServerThread(state, settings)
    app = server.server.config.app
    if not any(getattr(r, "path", "") == "/api/map/positions.bin" for r in app.routes):
        app.include_router(router)
    base = server.start()
    threading.Thread(target=publisher, daemon=True).start()
    out: dict[str, Any] = {}
    try:
        for feed in args.feeds.split(","):
            out[feed] = _run_page(base, feed, args.aircraft, args.seconds)
    finally:
        stop.set()
        server.stop()
    chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True,
                              check=False).stdout.strip()
    payload = {
        "benchmark": "webmap",
        "what": f"{args.aircraft} aircraft, 80 % updated every second, read from the binary "
                "columns (bin) or the JSON websocket (ws); "
                "headless Chromium with software WebGL (SwiftShader), 1280x800",
        "machine": machine(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "chromium": chromium,
        "versions": versions("playwright"),
        "feeds": out,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
