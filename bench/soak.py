"""Soak test (not CI): ``tailwatch run`` fed a live Beast stream at 200 k msg/s for an hour
(``--minutes``), with the resident memory (RSS) of the ``tailwatch run`` process sampled
every second. Flat memory is the goal.

The feed: ``--aircraft`` airframes (20,000 by default) each flying a circle of a few
kilometres at cruise level, one lap per ``--lap-s`` seconds, and sending
``rate / aircraft`` messages a second (at 200 k msg/s and 20,000 aircraft: 10 each: 6
airborne positions, even/odd, 2 velocities, 1 identification, 1 identity reply). Because a
lap takes a whole number of seconds, the encoded seconds of one lap are computed once and
sent again and again; the pipeline sees continuous tracks (the frames carry no timestamp:
the receiver stamps them at arrival, as with a real Beast feed without a GPS clock).

The ``tailwatch run`` child listens (``beast+listen://``), stores into a DuckDB file in a
temporary directory (``--no-db`` to skip), detects flights and events, evaluates a
watchlist (a position rule and an event rule) and serves the web map (``--no-web`` to
skip). This process connects and sends one second of frames at each second boundary; a
thread samples ``/proc/PID/status`` (VmRSS) of the child each second. ``sendall`` blocks
when the child falls behind: the rate actually delivered is recorded beside the target.
At the end the child is stopped with SIGINT (a clean stop: queues drained, flights closed,
store flushed) and its final counters are kept.

    .venv/bin/python bench/soak.py --minutes 60            # the full soak
    .venv/bin/python bench/soak.py --minutes 10 --plot docs/screenshots/soak-rss.png

Writes bench/results/soak.json (the RSS curve, rates, the child's final counters, the load
average of the machine before and after).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import machine, versions  # noqa: E402
from tailwatch import encode  # noqa: E402
from tailwatch.core.frames import FrameBatch  # noqa: E402
from tailwatch.ingest.beast import encode_beast  # noqa: E402

RULES = """
[[rules]]
id = "watch-soak"
name = "one airframe of the soak seen"
cooldown = "10m"
[rules.match]
icao24 = "%06x"

[[rules]]
id = "any-landing"
cooldown = "1h"
[rules.match]
event = "landing"
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lap_seconds(n_aircraft: int, per_s: int, lap_s: int, seed: int = 1) -> list[bytes]:
    """Beast bytes of every second of one lap (``lap_s`` seconds), ``per_s`` messages per
    aircraft and second, frames of all aircraft interleaved."""
    rng = np.random.default_rng(seed)
    icao = rng.choice(np.arange(0x400000, 0x800000, dtype=np.uint32), n_aircraft, replace=False)
    centre_lat = rng.uniform(35.0, 60.0, n_aircraft)
    centre_lon = rng.uniform(-10.0, 30.0, n_aircraft)
    radius_deg = rng.uniform(0.015, 0.025, n_aircraft)  # ~2-3 km circles: ~450 kt at 60 s a lap
    alt = rng.integers(200, 400, n_aircraft).astype(np.float64) * 100.0
    phase0 = rng.uniform(0.0, 2 * np.pi, n_aircraft)
    callsigns = np.array([f"SOAK{i % 10000:04d}" for i in range(n_aircraft)])
    n_pos = max(1, per_s - 4)
    out = []
    for sec in range(lap_s):
        parts: list[Any] = []
        for k in range(n_pos):
            phase = phase0 + 2 * np.pi * (sec + k / n_pos) / lap_s
            lat = centre_lat + radius_deg * np.sin(phase)
            lon = centre_lon + radius_deg * np.cos(phase) / np.cos(np.radians(centre_lat))
            parts.append(encode.airborne_position(icao, lat, lon, alt, (sec * n_pos + k) % 2))
        track = np.degrees(phase0 + 2 * np.pi * sec / lap_s) % 360.0
        gs = 2 * np.pi * radius_deg * 60.0 / (lap_s / 3600.0)
        for _ in range(2):
            parts.append(encode.velocity_ground(icao, np.minimum(gs, 600.0), track, 0.0))
        parts.append(encode.identification(icao, callsigns))
        parts.append(encode.identity_reply(icao, np.full(n_aircraft, 1000)))
        frames = encode.Frames.concat(parts)
        order = rng.permutation(frames.raw.shape[0])
        fb = FrameBatch.from_matrix(frames.raw[order], frames.nbytes[order])
        out.append(encode_beast(fb))
    return out


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def connect(port: int, timeout_s: float = 60.0) -> socket.socket:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5.0)
            s.settimeout(None)  # sendall blocks while the child falls behind
            return s
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0, help="How long to feed (default 60).")
    ap.add_argument("--rate", type=int, default=200_000, help="Messages per second.")
    ap.add_argument("--aircraft", type=int, default=20_000, help="Airframes in the feed.")
    ap.add_argument("--lap-s", type=int, default=60, help="Seconds per lap (frames repeat).")
    ap.add_argument("--no-db", action="store_true", help="Do not store (no --db).")
    ap.add_argument("--no-web", action="store_true", help="Do not serve the web map.")
    ap.add_argument("--duckdb-memory-limit", default="",
                    help="store.duckdb_memory_limit of the child (e.g. 1GB; default: "
                    "DuckDB's own, up to 80 %% of the RAM).")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "soak.json")
    ap.add_argument("--plot", type=Path, default=None, help="Also plot the RSS curve (PNG).")
    args = ap.parse_args()

    per_s = max(5, args.rate // args.aircraft)
    t0 = time.monotonic()
    seconds = lap_seconds(args.aircraft, per_s, args.lap_s)
    msgs_per_s = args.aircraft * per_s
    print(f"encoded one lap: {args.lap_s} s x {msgs_per_s:,} msg in "
          f"{time.monotonic() - t0:.1f} s ({sum(map(len, seconds)) / 1e6:.0f} MB)", flush=True)

    work = Path(tempfile.mkdtemp(prefix="tailwatch-soak-"))
    rules = work / "rules.toml"
    rules.write_text(RULES % 0x400001)
    port = _free_port()
    duration_s = args.minutes * 60.0
    cmd = [sys.executable, "-m", "tailwatch.cli.main", "run", "--source",
           f"beast+listen://127.0.0.1:{port}", "--duration", f"{duration_s + 3600:.0f}",
           "--rules", str(rules), "--log-level", "WARNING", "--log-every", "60",
           "--stats-json", str(work / "stats.json")]
    if not args.no_db:
        cmd += ["--db", str(work / "soak.duckdb")]
    if not args.no_web:
        cmd += ["--web", f"127.0.0.1:{_free_port()}"]
    env = {**os.environ, "TAILWATCH_DATA_DIR": str(work / "data")}
    if args.duckdb_memory_limit:
        env["TAILWATCH_STORE__DUCKDB_MEMORY_LIMIT"] = args.duckdb_memory_limit
    load_before = os.getloadavg()
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                             stderr=open(work / "run.log", "wb"))  # noqa: SIM115
    sock = connect(port)
    samples: list[dict[str, float]] = []
    sent = [0]
    start = time.monotonic()
    done = threading.Event()

    def sample() -> None:
        tick = start
        while not done.is_set():
            now = time.monotonic()
            samples.append({"t_s": round(now - start, 2), "rss_mb": round(rss_mb(child.pid), 1),
                            "sent_msgs": sent[0]})
            if len(samples) % 60 == 0:
                s = samples[-1]
                print(f"{s['t_s']:7.0f} s  RSS {s['rss_mb']:7.1f} MB  "
                      f"{sent[0] / max(s['t_s'], 1e-9) / 1e3:6.1f} k msg/s delivered  "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)
            tick += 1.0
            done.wait(max(tick - time.monotonic(), 0.0))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    next_tick = start
    i = 0
    stop_reason = "duration"
    try:
        while time.monotonic() - start < duration_s:
            if child.poll() is not None:
                stop_reason = f"child exited ({child.returncode})"
                break
            try:
                sock.sendall(seconds[i % len(seconds)])
            except OSError as exc:
                stop_reason = f"connection lost: {exc}"
                break
            sent[0] += msgs_per_s
            i += 1
            now = time.monotonic()
            next_tick += 1.0
            if next_tick > now:
                time.sleep(next_tick - now)
            else:
                next_tick = now  # behind: the child's socket pushed back
    finally:
        elapsed = time.monotonic() - start
        done.set()
        sampler.join(timeout=5)
        sock.close()
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=600)
        except subprocess.TimeoutExpired:
            child.terminate()
            child.wait(timeout=60)
    sent_msgs = sent[0]
    stats = json.loads((work / "stats.json").read_text()) if (work / "stats.json").exists() else {}
    rss = np.array([s["rss_mb"] for s in samples])
    ts = np.array([s["t_s"] for s in samples])
    half = ts >= ts[-1] / 2 if len(ts) else ts.astype(bool)
    slope = (float(np.polyfit(ts[half] / 60.0, rss[half], 1)[0]) if half.sum() > 10
             else float("nan"))  # fmt: skip
    result = {
        "what": "tailwatch run fed a live Beast stream; RSS of the run process each second",
        "command": " ".join(Path(c).name if c == sys.executable else c for c in cmd),
        "minutes": round(elapsed / 60.0, 2),
        "target_msg_per_s": msgs_per_s,
        "delivered_msg_per_s": round(sent_msgs / elapsed, 1) if elapsed else 0.0,
        "aircraft": args.aircraft,
        "messages_per_aircraft_s": per_s,
        "lap_s": args.lap_s,
        "store": not args.no_db,
        "web": not args.no_web,
        "duckdb_memory_limit": args.duckdb_memory_limit or "DuckDB's default (80 % of RAM)",
        "rss_mb_first_minute_max": float(np.nanmax(rss[ts <= 60])) if len(rss) else None,
        "rss_mb_max": float(np.nanmax(rss)) if len(rss) else None,
        "rss_mb_last": float(rss[-1]) if len(rss) else None,
        "rss_slope_mb_per_min_second_half": round(slope, 3),
        "stopped_by": stop_reason,
        "child_exit_code": child.returncode,
        "child_counters": {k: stats.get(k) for k in ("frames_in", "pipeline", "store_rows")
                           if k in stats},
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "machine": machine(),
        "versions": versions("numpy", "numba", "duckdb"),
        "note": "2 cores shared with 7 other sessions' work while this ran (see loadavg)",
        "samples": samples,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"written {args.out}: RSS max {result['rss_mb_max']} MB, last "
          f"{result['rss_mb_last']} MB, slope {slope:.2f} MB/min over the second half; "
          f"run log in {work / 'run.log'}")
    if args.plot is not None and len(rss):
        plot(ts, rss, sent_msgs / elapsed, args.plot)


def plot(ts: np.ndarray, rss: np.ndarray, rate: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.2), dpi=100)
    ax.plot(ts / 60.0, rss, lw=1.0)
    ax.set_xlabel("minutes")
    ax.set_ylabel("RSS of tailwatch run (MB)")
    ax.set_ylim(0, max(float(np.nanmax(rss)) * 1.15, 1.0))
    ax.set_title(f"tailwatch run soak: {rate / 1e3:.0f} k msg/s delivered, RSS each second")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    print(f"plotted {path}")


if __name__ == "__main__":
    main()
