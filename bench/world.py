"""World scale: a simulated world-wide feed through every live stage, and a history re-analysis.

The feed is made by the simulator (tailwatch.simulate, real encodings): background traffic
between the hubs of six regions (Europe, North America, East and South Asia with the Gulf,
South America, Africa, Oceania), one receiver at every hub (200 NM, line of sight), the
default message rates (positions and velocities twice a second, identification, status,
all-call replies, Mode S radar sweeps every 4.8 s), 5 % loss, 1 % single-bit errors. Two
variants:

* ``world``: ≥ 12,000 aircraft in the air at once for 3 minutes (about 20 M frames);
* ``hour``: ≥ 2,000 aircraft at once for 1 hour.

Generation is vectorised inside the simulator and runs once: the feed is written as a
tailwatch recording (Beast with arrival times and receiver ids, ``ingest/record.py``) into a
cache directory (``--cache``, default ``$TAILWATCH_BENCH_CACHE`` or ``~/.cache/tailwatch``),
never into the repository, and replayed from there.

Each measured run is a fresh process (so that its peak RSS is its own) replaying the file at
full speed as ``tailwatch replay`` does: file read + Beast framing, dedup of the receptions
of one transmission (``ingest.dedup``), decode + track (``Pipeline``), and the sinks:

* ``base``: + store (DuckDB, ``StoreSink``);
* ``full``: + store + flight/event detection (``DetectionSink``: flights and events into
  the store) + alerts (a watchlist of 100 rules, ``AlertEngine``: event rules on the
  detected events, position rules on every position) + the live API (``LiveState.publish``:
  a tracker snapshot rendered as aircraft.json / states, plain and gzip, once per second of
  data time, i.e. what a live feed at 1x costs).

Each stage's time is measured in the same run (wrapping each sink); decode + track is the
rest. "With detection" is the full run without its alert and API time. Then the history
re-analysis: the positions the full run stored are read back window by window and run
through flight detection (``history.detection.detect_stored``'s path), optionally repeated
with shifted addresses (``--reanalysis-rows``) to reach a given size. Median of ``--runs``
runs each; load average recorded before and after (the machine is shared).

    .venv/bin/python bench/world.py [--variant world|hour|both] [--runs 3]
                                    [--reanalysis-rows 0] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import hashlib
import io
import json
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, ROOT, Timed, console, machine, versions

GEN_VERSION = 1
UTC = dt.UTC
T0 = dt.datetime(2024, 6, 14, 12, 0, tzinfo=UTC)  # a Friday, noon UTC

#: Regions: hubs (a receiver at each) and the share of the traffic.
REGIONS: dict[str, tuple[float, str]] = {
    "europe": (0.32, "EGLL EGKK LFPG LFPO EHAM EDDF EDDM LEMD LEBL LIRF LIMC LSZH LOWW EKCH "
                     "ESSA ENGM EFHK EPWA LKPR LHBP EBBR EIDW LPPT LGAV LTFM EDDB EDDH LEPA "
                     "LFMN"),
    "north_america": (0.32, "KJFK KEWR KBOS KORD KATL KDFW KDEN KLAX KSFO KSEA KMIA KIAH "
                            "KPHX KLAS KMSP KDTW CYYZ CYUL CYVR KCLT KPHL KIAD KMCO KSLC "
                            "KSAN"),
    "asia": (0.24, "RJTT RJAA RKSI ZBAA ZSPD ZGGG VHHH RCTP WSSS VTBS WMKK RPLL VIDP VABB "
                   "OMDB OTHH OERK WIII ZUUU RJBB"),
    "south_america": (0.06, "SBGR SBGL SAEZ SCEL SKBO MMMX"),
    "africa": (0.03, "FAOR FACT HECA DNMM HKJK GMMN"),
    "oceania": (0.03, "YSSY YMML YBBN NZAA YPPH"),
}
TYPES = ["A320", "A321", "B738", "A20N", "B38M", "A333", "B77W", "B789", "E190", "AT76"]
CHUNK_FLIGHTS = 800  # flights simulated per simulate() call
BLOCK = 0x4000  # addresses per chunk (disjoint blocks: unique addresses)


class Variant:
    def __init__(self, name: str, aircraft: int, minutes: float, flights_per_aircraft: float,
                 span_before_h: float, span_after_h: float) -> None:
        self.name = name
        self.aircraft = aircraft
        self.minutes = minutes
        self.flights_per_aircraft = flights_per_aircraft
        self.span_before_h = span_before_h
        self.span_after_h = span_after_h

    def key(self, seed: int) -> str:
        text = json.dumps([GEN_VERSION, self.name, self.aircraft, self.minutes,
                           self.flights_per_aircraft, self.span_before_h, self.span_after_h,
                           seed, REGIONS, TYPES, CHUNK_FLIGHTS])
        return hashlib.sha256(text.encode()).hexdigest()[:12]


VARIANTS = {
    # flights per concurrent aircraft: calibrated on the generated feeds (see "concurrent")
    "world": Variant("world", 12_000, 3.0, 2.45, 1.0, 1.0),
    "hour": Variant("hour", 2_000, 60.0, 3.85, 1.5, 2.0),
    "smoke": Variant("smoke", 300, 1.0, 2.45, 1.0, 1.0),  # a quick check of the script
}


# --- generation ---------------------------------------------------------------------------


def _address_blocks(n: int) -> list[tuple[int, int]]:
    """``n`` disjoint civil address blocks (no address of a military sub-block)."""
    from tailwatch.reference.military import in_military_range

    out: list[tuple[int, int]] = []
    lo = 0x100000
    while len(out) < n and lo + BLOCK < 0xF00000:
        block = np.arange(lo, lo + BLOCK, dtype=np.int64)
        if not bool(in_military_range(block).any()):
            out.append((lo, lo + BLOCK - 1))
        lo += BLOCK
    if len(out) < n:
        raise SystemExit("not enough civil address blocks")
    return out


def _receivers(hubs: list[str]) -> list[dict[str, Any]]:
    from tailwatch.reference.airports import airport

    out = []
    for h in hubs:
        a = airport(h)
        out.append({"name": f"rx-{h.lower()}", "lat": float(a.lat_deg), "lon": float(a.lon_deg),
                    "height_ft": 100.0, "range_nm": 200.0})
    return out


def _chunk_scenario(region: str, hubs: list[str], flights: int, block: tuple[int, int],
                    seed: int, v: Variant, k: int) -> Any:
    from tailwatch.simulate import parse_scenario

    start = T0 - dt.timedelta(hours=v.span_before_h)
    end = T0 + dt.timedelta(hours=v.span_after_h)
    prefix = "".join(chr(65 + (k // 26 ** i) % 26) for i in (2, 1, 0))
    data = {
        "scenario": {"name": f"world-{region}-{k}", "seed": seed,
                     "windows": [{"start": T0, "end": T0 + dt.timedelta(minutes=v.minutes)}]},
        "noise": {"single_bit": 0.01, "loss": 0.05, "edge_loss": 0.2},
        "receivers": _receivers(hubs),
        "traffic": [{
            "name": region, "start": start, "end": end, "flights": flights,
            "airports": hubs, "overflights": 0.25,
            "airlines": [{"prefix": prefix, "blocks": [[f"{block[0]:06x}", f"{block[1]:06x}"]],
                          "types": TYPES, "numbers": [1, 9999]}],
        }],
    }
    return parse_scenario(data, source=f"world-{region}-{k}")


def generate(v: Variant, path: Path, seed: int) -> dict[str, Any]:
    """Simulate the variant chunk by chunk and write it as one time-ordered recording."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from tailwatch.core.frames import FrameBatch
    from tailwatch.ingest.net import Receivers
    from tailwatch.ingest.record import Recorder
    from tailwatch.simulate import simulate

    total = round(v.aircraft * v.flights_per_aircraft)
    plan = []
    for region, (share, hub_text) in REGIONS.items():
        hubs = hub_text.split()
        n = round(total * share)
        while n > 0:
            plan.append((region, hubs, min(n, CHUNK_FLIGHTS)))
            n -= CHUNK_FLIGHTS
    blocks = _address_blocks(len(plan))
    reg = Receivers()
    uid_of: dict[str, int] = {}
    raws, nbs, ts, rxs, sigs = [], [], [], [], []
    heard: list[np.ndarray] = []
    heard_t: list[np.ndarray] = []
    w0 = time.perf_counter()
    cols = [TextColumn("[bold]simulate"), BarColumn(), TextColumn("{task.completed}/"
            "{task.total} chunks, {task.fields[frames]:,} frames"), TimeElapsedColumn()]
    frames = 0
    with Progress(*cols, console=console) as bar:
        task = bar.add_task("sim", total=len(plan), frames=0)
        for k, (region, hubs, n) in enumerate(plan):
            scn = _chunk_scenario(region, hubs, n, blocks[k], seed * 1000 + k, v, k)
            sim = simulate(scn)
            for r in sim.receivers:
                if r.name not in uid_of:
                    uid_of[r.name] = reg.add(r.name, id64=r.id64,
                                             position=(r.spec.lat, r.spec.lon))
            lut = np.zeros(max(r.uid for r in sim.receivers) + 1, np.uint16)
            for r in sim.receivers:
                lut[r.uid] = uid_of[r.name]
            fb = sim.frames
            raws.append(fb.raw)
            nbs.append(fb.nbytes)
            ts.append(fb.t_rx)
            rxs.append(lut[fb.receiver])
            sigs.append(fb.signal_dbfs)
            heard.append(sim.schedule["icao24"].astype(np.uint32))
            heard_t.append(sim.schedule["t"])
            frames += len(fb)
            bar.update(task, advance=1, frames=frames)
    sim_s = time.perf_counter() - w0
    t = np.concatenate(ts)
    order = np.argsort(t, kind="stable")
    raw = np.concatenate(raws)
    nb = np.concatenate(nbs)
    rx = np.concatenate(rxs)
    sig = np.concatenate(sigs)
    del raws, nbs, rxs, sigs, ts
    day0 = float(np.floor(t[order[0]] / 86400.0) * 86400.0)
    rec = Recorder(path, reg, sources=[f"bench/world.py variant {v.name} seed {seed}"])
    step = 1_000_000
    for a in range(0, order.size, step):
        idx = order[a:a + step]
        tt = t[idx]
        ticks = np.rint((tt - day0) * 12e6).astype(np.uint64) & np.uint64(2**48 - 1)
        rec.write(FrameBatch.from_matrix(raw[idx], nb[idx], t_rx=tt, ts_12mhz=ticks,
                                         signal_dbfs=sig[idx], receiver=rx[idx]))
    rec.close()
    a_all = np.concatenate(heard)
    t_all = np.concatenate(heard_t)
    buckets = np.floor((t_all - T0.timestamp()) / 10.0).astype(np.int64)
    keys = np.unique(buckets.astype(np.int64) << 32 | a_all.astype(np.int64))
    per_bucket = np.bincount((keys >> 32) - (keys >> 32).min())
    meta = {
        "variant": v.name, "seed": seed, "frames": int(order.size),
        "aircraft_heard": int(np.unique(a_all).size),
        "concurrent_aircraft_mean": float(per_bucket[per_bucket > 0].mean()),
        "concurrent_aircraft_min": int(per_bucket[per_bucket > 0].min()),
        "transmissions": int(a_all.size), "receivers": len(reg.names),
        "flights_simulated": total, "duration_s": v.minutes * 60.0,
        "generation_s": round(time.perf_counter() - w0, 1), "simulate_s": round(sim_s, 1),
        "recording_bytes": path.stat().st_size,
    }
    (path.parent / (path.name + ".meta.json")).write_text(json.dumps(meta, indent=1))
    return meta


def feed(v: Variant, cache: Path, seed: int) -> tuple[Path, dict[str, Any]]:
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"world-{v.name}-{v.key(seed)}.beast"
    meta_path = path.parent / (path.name + ".meta.json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        console.print(f"feed from cache: {path} ({meta['frames']:,} frames)")
        return path, meta
    console.print(f"generating the {v.name} feed into {path} (once; cached)")
    meta = generate(v, path, seed)
    console.print(meta)
    return path, meta


# --- one measured run (in a child process) --------------------------------------------------


def watchlist(hubs: list[str]) -> Any:
    """100 rules of the kinds people write: airports' movements, event kinds, watched
    airframes and callsigns, emergencies near places, low flying near hubs."""
    from tailwatch.alert.rules import load_rules

    rules: list[dict[str, Any]] = []
    for h in hubs[:40]:
        rules.append({"id": f"movements-{h.lower()}", "name": f"{h} take-offs and landings",
                      "cooldown": "1h", "match": {"event": ["takeoff", "landing",
                                                            "go_around"], "airport": h}})
    for e in ("emergency", "go_around", "orbit", "gnss_degradation", "implausible_position",
              "inferred_stop", "stopover", "touch_and_go", "military_at_civil_airport",
              "squawk_change"):
        rules.append({"id": f"any-{e}", "name": f"any {e}", "cooldown": "30m",
                      "match": {"event": e}})
    rng = np.random.default_rng(5)
    for i in range(25):
        addrs = [f"{a:06x}" for a in rng.integers(0x100000, 0xE00000, 20).tolist()]
        rules.append({"id": f"watch-{i}", "name": f"watched airframes {i}", "cooldown": "6h",
                      "match": {"icao24": addrs}})
    for i in range(10):
        rules.append({"id": f"callsign-{i}", "name": f"callsigns {i}", "cooldown": "6h",
                      "match": {"callsign": f"{chr(65 + i)}{chr(66 + i)}*1"}})
    for h in hubs[:15]:
        rules.append({"id": f"low-{h.lower()}", "name": f"low near {h}", "cooldown": "2h",
                      "match": {"within": {"airport": h, "radius_nm": 30},
                                "altitude_ft": {"max": 1500}, "on_ground": False}})
    return load_rules(json.dumps({"rules": rules[:100]}), format="json")


def child_run(path: Path, config: str, tmp: Path, profile: Path | None) -> dict[str, Any]:
    from tailwatch.history.detection import detection_sink
    from tailwatch.ingest.aggregator import Aggregator, StoreSink
    from tailwatch.ingest.dedup import Dedup
    from tailwatch.ingest.net import Receivers
    from tailwatch.ingest.record import load_sidecar
    from tailwatch.ingest.replay import file_batches
    from tailwatch.pipeline import Pipeline
    from tailwatch.store import open_store
    from tailwatch.track.tracker import Tracker

    reg = Receivers()
    for r in (load_sidecar(path) or {}).get("receivers", []):
        reg.add(r["name"], id64=int(r["id64"], 16), position=(r["lat"], r["lon"]))
    # warm-up outside the timing: numba's cached kernels load on first use
    warm_store = open_store(str(tmp / f"{config}-warm.duckdb"))
    warm_det = detection_sink(warm_store, aircraft_db=None, aircraft_every_s=1e9)
    warm = Aggregator(Pipeline(tracker=Tracker(receivers=reg.positions),
                               sinks=[StoreSink(warm_store), *([warm_det] if warm_det else [])]),
                      dedup=Dedup(window_s=1.0), live=False)
    for i, wfb in enumerate(file_batches(path, receivers=reg, batch_size=65_536)):
        warm.frames(wfb, 0.0)
        if i >= 3:
            break
    warm.flush()
    if warm_det is not None:
        warm_det.flush()
    warm_store.close()
    (tmp / f"{config}-warm.duckdb").unlink(missing_ok=True)
    db = tmp / f"{config}.duckdb"
    store = open_store(str(db))
    store_sink = Timed(StoreSink(store))
    sinks: list[Any] = [store_sink]
    det = alerts_ev = alerts_pos = publish = None
    n_alerts = [0]
    engine = None
    if config == "full":
        from tailwatch.alert.engine import AlertEngine
        from tailwatch.serve.state import LiveState

        hubs = [h for _, (_, text) in REGIONS.items() for h in text.split()]
        engine = AlertEngine(watchlist(hubs))

        def on_events(events: Any) -> None:
            n_alerts[0] += len(engine.evaluate_events(events))

        def on_positions(positions: Any) -> None:
            n_alerts[0] += len(engine.evaluate_positions(positions))

        alerts_ev = Timed(on_events)
        alerts_pos = Timed(on_positions)
        raw_det = detection_sink(store, aircraft_db=None, aircraft_every_s=1e9,
                                 on_events=alerts_ev)
        if raw_det is None:
            raise SystemExit("tailwatch.detect is not available")
        det = Timed(raw_det)
        sinks += [det, alerts_pos]
        state = LiveState(store=None)
        publish = Timed(state.publish)
    pipe = Pipeline(tracker=Tracker(receivers=reg.positions), sinks=sinks,
                    snapshot_every_s=float("inf"))
    agg = Aggregator(pipe, dedup=Dedup(window_s=1.0), live=False)
    dedup_push = Timed(agg.dedup.push)  # type: ignore[union-attr]
    agg.dedup.push = dedup_push  # type: ignore[method-assign,union-attr]
    next_snap = [float("nan")]
    snaps = [0]

    def snapshot_clock(positions: Any) -> None:
        """The live API's publisher: one snapshot per second of data time."""
        t = np.asarray(positions.columns["t"])
        if not t.size or publish is None:
            return
        t_max = float(t.max())
        if next_snap[0] != next_snap[0]:
            next_snap[0] = np.floor(t_max) + 1.0
        if t_max >= next_snap[0]:
            publish(pipe.tracker.snapshot(t_max))
            snaps[0] += 1
            next_snap[0] = np.floor(t_max) + 1.0

    if publish is not None:
        pipe.sinks.append(snapshot_clock)
    prof = cProfile.Profile() if profile is not None else None
    ingest_s = 0.0
    rss_samples = []
    c0, w0 = time.process_time(), time.perf_counter()
    if prof is not None:
        prof.enable()
    it = iter(file_batches(path, receivers=reg, batch_size=65_536))
    nb = 0
    while True:
        t0 = time.perf_counter()
        fb = next(it, None)
        ingest_s += time.perf_counter() - t0
        if fb is None:
            break
        agg.frames(fb, 0.0)
        nb += 1
        if nb % 50 == 0:
            rss_samples.append(_rss_mb())
    agg.flush()
    store_sink.flush()
    if det is not None:
        det.flush()
    if prof is not None:
        prof.disable()
    wall = time.perf_counter() - w0
    cpu = time.process_time() - c0
    counts = {t: int(store.query(f"SELECT count(*) FROM {t}").column(0)[0].as_py())
              for t in ("positions", "flights", "events")}
    store.close()
    alerts_s = (alerts_ev.s if alerts_ev else 0.0) + (alerts_pos.s if alerts_pos else 0.0)
    det_s = (det.s - (alerts_ev.s if alerts_ev else 0.0)) if det else 0.0
    sinks_s = store_sink.s + (det.s if det else 0.0) + (alerts_pos.s if alerts_pos else 0.0)
    api_s = publish.s if publish else 0.0
    out = {
        "config": config, "wall_s": wall, "cpu_s": cpu, "frames": agg.stats.frames_in,
        "messages": pipe.stats.messages, "positions": pipe.stats.positions,
        "ingest_s": ingest_s, "dedup_s": dedup_push.s,
        "decode_track_s": wall - ingest_s - dedup_push.s - sinks_s - api_s,
        "store_s": store_sink.s, "detect_s": det_s, "alerts_s": alerts_s, "api_s": api_s,
        "snapshots": snaps[0], "alerts": n_alerts[0],
        "peak_rss_mb": _peak_rss_mb(),
        "rss_mb_samples": rss_samples[:: max(1, len(rss_samples) // 20)],
        **{f"stored_{k}": v for k, v in counts.items()},
    }
    if prof is not None and profile is not None:
        prof.dump_stats(str(profile))
    return out


def _peak_rss_mb() -> float:
    """Peak RSS of this process (VmHWM: unlike ``ru_maxrss``, not inherited from the parent
    that forked it, which may have held a whole generated feed)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def child_reanalysis(db: Path, rows: int, profile: Path | None) -> dict[str, Any]:
    """Re-run detection over the positions stored in ``db`` (``rows`` > stored: repeated with
    shifted addresses), window by window as ``detect_stored`` reads them."""
    from tailwatch.detect import FlightDetector, places
    from tailwatch.store import open_store
    from tailwatch.store.base import to_columns

    places.airport_info()  # loaded once per process: not part of the measure
    store = open_store(str(db))
    w0 = time.perf_counter()
    table = store.positions()
    cols = to_columns("positions", table)
    read_s = time.perf_counter() - w0
    stored = int(cols["t"].shape[0])
    store.close()
    order = np.lexsort((cols["icao24"], cols["t"]))
    cols = {k: v[order] for k, v in cols.items()}
    reps = max(1, -(-rows // stored)) if rows else 1
    det = FlightDetector()
    window = 1_000_000
    prof = cProfile.Profile() if profile is not None else None
    n = 0
    flights = events = 0
    c0, d0 = time.process_time(), time.perf_counter()
    if prof is not None:
        prof.enable()
    # replicas interleaved in time (one world of ``reps`` times the aircraft), in windows
    for a in range(0, stored, window // reps or 1):
        part = {k: v[a:a + (window // reps or 1)] for k, v in cols.items()}
        for r in range(reps):
            if r:
                part = dict(part)
                part["icao24"] = part["icao24"] ^ np.uint32((0x5A5A5 * r) & 0xFFFFFF)
            f, e = det.update(part)
            flights += int(f["flight_id"].shape[0])
            events += int(e["t"].shape[0])
            n += int(part["t"].shape[0])
    f, e = det.flush()
    flights += int(f["flight_id"].shape[0])
    events += int(e["t"].shape[0])
    if prof is not None:
        prof.disable()
        prof.dump_stats(str(profile))
    detect_s = time.perf_counter() - d0
    cpu = time.process_time() - c0
    passes = _compiled_passes(cols, reps, window)
    return {"stored_positions": stored, "positions": n, "replicas": reps,
            "compiled_passes_1_3": passes,
            "read_s": read_s, "detect_s": detect_s, "detect_cpu_s": cpu,
            "positions_per_s": n / detect_s, "positions_per_cpu_s": n / cpu if cpu else None,
            "flights": flights, "events": events,
            "peak_rss_mb": _peak_rss_mb()}


def _compiled_passes(cols: dict[str, np.ndarray], reps: int, window: int) -> dict[str, Any]:
    """The compiled detector's passes done so far (accept, kinematics, airports, hysteresis,
    row events, orbits: not the flights) over the same positions, windows and replicas."""
    from tailwatch.detect.compiled import OrbitPass, RowEventsPass, StatePasses

    sp = StatePasses()
    rp = RowEventsPass()
    op = OrbitPass()
    stored = int(cols["t"].shape[0])
    n = events = 0
    c0, d0 = time.process_time(), time.perf_counter()
    step = window // reps or 1
    for a in range(0, stored, step):
        part = {k: v[a:a + step] for k, v in cols.items()}
        for r in range(reps):
            if r:
                part = dict(part)
                part["icao24"] = part["icao24"] ^ np.uint32((0x5A5A5 * r) & 0xFFFFFF)
            rows = sp.update(part)
            rp.update(rows)
            op.update(rows)
            if sp.evicted.size:
                rp.reset(sp.evicted)
                op.reset(sp.evicted)
            events += len(rp.events) + len(op.events)
            rp.events.take()
            op.events.take()
            n += int(part["t"].shape[0])
    rows = sp.flush()
    rp.update(rows)
    op.update(rows)
    events += len(rp.events) + len(op.events)
    wall = time.perf_counter() - d0
    cpu = time.process_time() - c0
    return {"positions": n, "s": wall, "positions_per_s": n / wall,
            "positions_per_cpu_s": n / cpu if cpu else None, "events": events}


def spawn(args: list[str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                          cwd=ROOT)
    if proc.returncode != 0:
        console.print(proc.stderr[-4000:])
        raise SystemExit(f"child {args} failed")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# --- driver ---------------------------------------------------------------------------------


def profile_summary(path: Path, top: int = 25) -> list[dict[str, Any]]:
    st = pstats.Stats(str(path), stream=io.StringIO())
    rows = []
    stats: dict[Any, Any] = st.stats  # type: ignore[attr-defined]
    for (file, line, name), (_cc, nc, tt, ct, _callers) in stats.items():
        rows.append({"function": f"{Path(file).name}:{line}:{name}", "calls": nc,
                     "self_s": round(tt, 3), "cumulative_s": round(ct, 3)})
    rows.sort(key=lambda r: -r["cumulative_s"])
    return rows[:top]


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    med = statistics.median(r["wall_s"] for r in runs)
    return min(runs, key=lambda r: abs(r["wall_s"] - med))


def measure_variant(v: Variant, args: argparse.Namespace, tmp: Path,
                    save: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Runs of the variant; ``save`` is called with the results so far after each run (a
    long benchmark on a shared machine keeps what it measured)."""
    path, meta = feed(v, args.cache, args.seed)
    out: dict[str, Any] = {"feed": meta, "runs": {"base": [], "full": []}}
    for k in range(args.runs):
        for config in ("base", "full"):
            load = os.getloadavg()
            prof = tmp / f"{v.name}-{config}.prof" if (args.profile_full and config == "full"
                                                       and k == 0) else None
            keep = (["--keep-db", str(tmp / "reanalysis-source.duckdb")]
                    if config == "full" and k == args.runs - 1 and args.reanalysis else [])
            r = spawn(["--child", config, "--feed", str(path), "--tmp", str(tmp), *keep,
                       *(["--profile-out", str(prof)] if prof else [])])
            r["loadavg_before"] = load
            r["loadavg_after"] = os.getloadavg()
            r["profiled"] = prof is not None
            out["runs"][config].append(r)
            console.print(
                f"  {v.name} run {k + 1} {config:<4}: {r['frames'] / r['wall_s'] / 1e6:6.3f} "
                f"M frames/s, wall {r['wall_s']:6.1f} s (ingest {r['ingest_s']:.1f}, dedup "
                f"{r['dedup_s']:.1f}, decode+track {r['decode_track_s']:.1f}, store "
                f"{r['store_s']:.1f}, detect {r['detect_s']:.1f}, alerts {r['alerts_s']:.1f}, "
                f"api {r['api_s']:.1f}), RSS {r['peak_rss_mb']:.0f} MB, load "
                f"{load[0]:.1f}" + (" [profiled]" if prof else ""))
            if prof is not None:
                out["profile_full_run"] = profile_summary(prof)
            if out["runs"]["base"] and out["runs"]["full"]:
                out["summary"] = summarize(out, meta)
                save(out)
    if args.reanalysis:
        out["summary"].update(reanalysis(v, path, args, tmp, out))
        save(out)
    return out


def summarize(out: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """Figures of the median runs (over the unprofiled runs when there are any)."""
    def pick(config: str) -> dict[str, Any]:
        rs = [r for r in out["runs"][config] if not r["profiled"]] or out["runs"][config]
        return median_run(rs)

    base, full = pick("base"), pick("full")
    frames = base["frames"]
    span = meta["duration_s"]
    with_det_s = full["wall_s"] - full["alerts_s"] - full["api_s"]
    return {
        "frames": frames,
        "concurrent_aircraft": round(meta["concurrent_aircraft_mean"]),
        "receivers": meta["receivers"],
        "data_span_s": span,
        "stages_s": {k: round(full[k], 2) for k in ("ingest_s", "dedup_s", "decode_track_s",
                                                    "store_s", "detect_s", "alerts_s",
                                                    "api_s", "wall_s")},
        "frames_per_s": {
            "decode_track": frames / (base["wall_s"] - base["store_s"]),
            "plus_store": frames / base["wall_s"],
            "plus_detection": frames / with_det_s,
            "plus_alerts": frames / (full["wall_s"] - full["api_s"]),
            "plus_api_all_stages": frames / full["wall_s"],
        },
        "realtime_factor": {
            "plus_store": span / base["wall_s"],
            "all_stages": span / full["wall_s"],
        },
        "detection_throughput_share": (base["wall_s"]) / with_det_s,
        "peak_rss_mb": {"base": base["peak_rss_mb"], "full": full["peak_rss_mb"]},
        "cpu_s_full": full["cpu_s"],
        "frames_per_cpu_s": {"plus_store": frames / base["cpu_s"],
                             "all_stages": frames / full["cpu_s"]},
        "stored": {k: full[f"stored_{k}"] for k in ("positions", "flights", "events")},
        "alerts": full["alerts"], "snapshots": full["snapshots"],
        "runs_in_median": {"base": len(out["runs"]["base"]), "full": len(out["runs"]["full"])},
    }


def reanalysis(v: Variant, path: Path, args: argparse.Namespace, tmp: Path,
               out: dict[str, Any]) -> dict[str, Any]:
    """History re-analysis runs over the positions the last full run stored."""
    db = tmp / "reanalysis-source.duckdb"
    ra = []
    for k in range(args.runs):
        load = os.getloadavg()
        prof = tmp / f"{v.name}-reanalysis.prof" if args.profile and k == 0 else None
        r = spawn(["--child", "reanalysis", "--db", str(db), "--rows",
                   str(args.reanalysis_rows),
                   *(["--profile-out", str(prof)] if prof else [])])
        r["loadavg_before"] = load
        r["profiled"] = prof is not None
        ra.append(r)
        console.print(f"  {v.name} re-analysis {k + 1}: {r['positions']:,} positions, "
                      f"{r['positions_per_s'] / 1e6:.3f} M positions/s (read "
                      f"{r['read_s']:.1f} s), RSS {r['peak_rss_mb']:.0f} MB")
        if prof is not None:
            out["profile_reanalysis"] = profile_summary(prof)
    out["reanalysis_runs"] = ra
    rs = [r for r in ra if not r["profiled"]] or ra
    med = statistics.median(r["positions_per_s"] for r in rs)
    return {"reanalysis_positions_per_s": med, "reanalysis_positions": ra[0]["positions"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variant", choices=("world", "hour", "both", "smoke"), default="both")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "TAILWATCH_BENCH_CACHE", Path.home() / ".cache" / "tailwatch")))
    p.add_argument("--profile", action="store_true",
                   help="profile the first re-analysis run (cProfile; excluded from the "
                        "median when there are other runs)")
    p.add_argument("--profile-full", action="store_true",
                   help="also profile the first full pipeline run (excluded from the medians)")
    p.add_argument("--no-reanalysis", dest="reanalysis", action="store_false")
    p.add_argument("--reanalysis-rows", type=int, default=0,
                   help="re-analyse this many positions (the stored ones repeated with "
                        "shifted addresses); 0: the stored ones once")
    p.add_argument("--generate-only", action="store_true")
    p.add_argument("--resummarize", action="store_true",
                   help="recompute the summaries of bench/results/world.json from its runs")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--feed", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--rows", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--keep-db", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--profile-out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child == "reanalysis":
        print(json.dumps(child_reanalysis(args.db, args.rows, args.profile_out)))
        return
    if args.child:
        r = child_run(args.feed, args.child, args.tmp, args.profile_out)
        db = args.tmp / f"{args.child}.duckdb"
        if args.keep_db:
            shutil.move(str(db), str(args.keep_db))
        else:
            db.unlink(missing_ok=True)
        print(json.dumps(r))
        return
    if args.resummarize:
        old = json.loads((RESULTS / "world.json").read_text())
        for res in old["variants"].values():
            extra = {k: v for k, v in res["summary"].items() if k.startswith("reanalysis")}
            res["summary"] = {**summarize(res, res["feed"]), **extra}
        write_results(old)
        return
    names = ["world", "hour"] if args.variant == "both" else [args.variant]
    if args.generate_only:
        for name in names:
            feed(VARIANTS[name], args.cache, args.seed)
        return
    tmp = Path(tempfile.mkdtemp(prefix="tailwatch-bench-world-"))
    results: dict[str, Any] = {}
    load_start = os.getloadavg()

    def save(name: str, res: dict[str, Any], complete: bool) -> None:
        results[name] = {**res, "complete": complete}
        write_results(payload(args, results, load_start))

    try:
        for name in names:
            res = measure_variant(VARIANTS[name], args, tmp,
                                  lambda r, n=name: save(n, r, False))  # type: ignore[misc]
            save(name, res, True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def payload(args: argparse.Namespace, results: dict[str, Any],
            load_start: tuple[float, float, float]) -> dict[str, Any]:
    return {
        "benchmark": "world",
        "description": __doc__,
        "command": "bench/world.py " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "shared_machine": "measured on a 2-core machine shared with 7 other engineers' "
                          "processes (tests, builds, benchmarks): see the load averages "
                          "recorded beside every run; figures are lower bounds",
        "loadavg_start": load_start,
        "loadavg_end": os.getloadavg(),
        "git_head": subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True,
                                   text=True, cwd=ROOT).stdout.strip(),
        "versions": versions("tailwatch", "numpy", "numba", "duckdb", "pyarrow"),
        "variants": results,
    }


def write_results(payload: dict[str, Any]) -> None:
    from rich.table import Table

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "world.json"
    old: dict[str, Any] = {}
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except ValueError:
            old = {}
    # a run of one variant keeps the other variant's last result
    variants = {**old.get("variants", {}), **payload["variants"]}
    payload = {**payload, "variants": variants}
    path.write_text(json.dumps(payload, indent=1, default=float) + "\n")
    table = Table(title="world: median of runs")
    for col in ("variant", "aircraft", "frames", "stage", "stage s", "frames/s",
                "× real time"):
        table.add_column(col)
    for name, res in variants.items():
        s = res["summary"]
        fps = s["frames_per_s"]
        for stage, key in (("decode + track", "decode_track"), ("+ store", "plus_store"),
                           ("+ detection", "plus_detection"), ("+ alerts", "plus_alerts"),
                           ("+ live API", "plus_api_all_stages")):
            stage_s = {"decode_track": s["stages_s"]["decode_track_s"],
                       "plus_store": s["stages_s"]["store_s"],
                       "plus_detection": s["stages_s"]["detect_s"],
                       "plus_alerts": s["stages_s"]["alerts_s"],
                       "plus_api_all_stages": s["stages_s"]["api_s"]}[key]
            table.add_row(name, f"{s['concurrent_aircraft']:,}", f"{s['frames']:,}", stage,
                          f"{stage_s:.1f}", f"{fps[key] / 1e6:.3f} M",
                          f"{s['data_span_s'] * fps[key] / s['frames']:.1f}")
        table.add_row(name, "", "", "detection share of throughput",
                      "", f"{s['detection_throughput_share'] * 100:.0f} %", "")
        table.add_row(name, "", "", "peak RSS (full)", "", f"{s['peak_rss_mb']['full']:.0f} MB",
                      "")
        if "reanalysis_positions_per_s" in s:
            table.add_row(name, "", f"{s['reanalysis_positions']:,} pos", "re-analysis", "",
                          f"{s['reanalysis_positions_per_s'] / 1e6:.3f} M pos/s", "")
    console.print(table)
    console.print(f"written {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
