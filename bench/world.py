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

``full`` runs once per detector (``--detector``): the reference ``FlightDetector`` and the
compiled ``CompiledDetector`` (tailwatch.detect.compiled.detector; recorded as unavailable
when it cannot be imported), in the same session, so that the results hold both and the
speed-up. Each stage's time is measured in the same run (wrapping each sink); decode + track
is the rest. "With detection" is the full run without its alert and API time.

Then the history re-analysis, per detector, of the positions the last full run of one
variant stored (``--reanalysis-variant``; by default ``hour``, one flight per ~3,000 stored
positions: the 3-minute world holds one per ~320, some 30 times a real day's ~100,000 flights
in ~1 B positions, and would weigh flight starts and ends accordingly): they are read back
from DuckDB in time windows of about a million rows (as ``history.detection.detect_stored``
does; cut at the positions' own times) and run through the detector. ``--reanalysis-rows``
larger than the stored rows replays the stored history again, every window read back from
the store again (never more than one window of rows in memory), each replica after the one
before it in time, either (``--replicas``)

* ``new-aircraft`` (default): with the addresses permuted per replica, i.e. the world going
  on with new aircraft: the detector keeps every airframe it has seen for its eviction time
  (48 h), as over a real day (~40,000 airframes), so its memory grows per replica; or
* ``same-aircraft``: the same airframes after a silence longer than the flight gap: the
  detector's state is bounded by the airframes, but every replica makes every aircraft
  reappear after a gap (the unseen-leg analysis, per aircraft, far more often than in a
  real day).

Median of ``--runs`` runs each; load average recorded before and after (the machine is
shared).

    .venv/bin/python bench/world.py [--variant world|hour|both|smoke] [--runs 3]
                                    [--detector compiled|reference|both]
                                    [--reanalysis-rows 0] [--reference-reanalysis-rows N]
                                    [--reanalysis-variant hour] [--replicas new-aircraft]
                                    [--profile] [--profile-full] [--cache DIR]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import os
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

from common import (
    RESULTS,
    ROOT,
    TimedCall,
    TimedSink,
    console,
    machine,
    peak_rss_mb,
    profile_summary,
    rss_mb,
    versions,
)
from world_feed import REGIONS, VARIANTS, Variant, feed

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


DETECTORS = ("reference", "compiled")


def detector_class(name: str) -> Any:
    """The detector class called ``name`` (imported on demand: the compiled one may not be
    there yet). Both take ``military=`` and have ``update(cols)`` / ``flush()``."""
    if name == "compiled":
        from tailwatch.detect.compiled.detector import CompiledDetector

        return CompiledDetector
    from tailwatch.detect import FlightDetector

    return FlightDetector


def available_detectors(choice: str) -> tuple[list[str], dict[str, str]]:
    """The detectors of ``--detector`` that import, and why the others do not (the reference
    stands in when none does)."""
    names = list(DETECTORS) if choice == "both" else [choice]
    ok: list[str] = []
    missing: dict[str, str] = {}
    for name in names:
        try:
            detector_class(name)
        except (ImportError, AttributeError) as exc:
            missing[name] = f"{type(exc).__name__}: {exc}"
        else:
            ok.append(name)
    for name, why in missing.items():
        console.print(f"[yellow]detector {name} unavailable ({why})[/]")
    if not ok:
        console.print("[yellow]carrying on with the reference detector[/]")
        ok = ["reference"]
    return ok, missing


def child_run(path: Path, config: str, detector: str, tmp: Path, db: Path,
              profile: Path | None) -> dict[str, Any]:
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
    cls = detector_class(detector)
    warm_db = tmp / f"{db.stem}-warm.duckdb"
    warm_store = open_store(str(warm_db))
    warm_det = (detection_sink(warm_store, detector=cls(), aircraft_db=None,
                               aircraft_every_s=1e9) if config == "full" else None)
    warm = Aggregator(Pipeline(tracker=Tracker(receivers=reg.positions),
                               sinks=[StoreSink(warm_store), *([warm_det] if warm_det else [])]),
                      dedup=Dedup(window_s=1.0), live=False)
    for i, wfb in enumerate(file_batches(path, receivers=reg, batch_size=65_536)):
        warm.frames(wfb, 0.0)
        if i >= 3:
            break
    warm.flush()  # flushes the sinks too
    warm_store.close()
    warm_db.unlink(missing_ok=True)
    store = open_store(str(db))
    store_sink = TimedSink(StoreSink(store))
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

        alerts_ev = TimedCall(on_events)
        alerts_pos = TimedCall(on_positions)
        raw_det = detection_sink(store, detector=cls(), aircraft_db=None,
                                 aircraft_every_s=1e9, on_events=alerts_ev)
        if raw_det is None:
            raise SystemExit("tailwatch.detect is not available")
        det = TimedSink(raw_det)  # takes the reject-only batches too
        sinks += [det, alerts_pos]
        state = LiveState(store=None)
        publish = TimedCall(state.publish)
    pipe = Pipeline(tracker=Tracker(receivers=reg.positions), sinks=sinks,
                    snapshot_every_s=float("inf"))
    agg = Aggregator(pipe, dedup=Dedup(window_s=1.0), live=False)
    dedup_push = TimedCall(agg.dedup.push)  # type: ignore[union-attr]
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
    meta_path = path.parent / (path.name + ".meta.json")
    of = f" of {json.loads(meta_path.read_text())['frames'] / 1e6:.1f}" if (
        meta_path.exists()) else ""
    c0, w0 = time.process_time(), time.perf_counter()
    said = w0
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
            rss_samples.append(rss_mb())
            if time.perf_counter() - said >= 30.0:
                said = time.perf_counter()
                done = agg.stats.frames_in
                print(f"    {config}/{detector}: {done / 1e6:.1f}{of} M frames, "
                      f"{done / (said - w0) / 1e6:.3f} M/s, RSS {rss_samples[-1]:.0f} MB",
                      file=sys.stderr, flush=True)
    agg.flush()  # the dedup's last batch, then each sink's flush (timed): the detector's
    # closes the open flights
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
        "config": config, "detector": detector if config == "full" else None,
        "wall_s": wall, "cpu_s": cpu, "frames": agg.stats.frames_in,
        "messages": pipe.stats.messages, "positions": pipe.stats.positions,
        "ingest_s": ingest_s, "dedup_s": dedup_push.s,
        "decode_track_s": wall - ingest_s - dedup_push.s - sinks_s - api_s,
        "store_s": store_sink.s, "detect_s": det_s, "alerts_s": alerts_s, "api_s": api_s,
        "snapshots": snaps[0], "alerts": n_alerts[0],
        "peak_rss_mb": peak_rss_mb(),
        "rss_mb_samples": rss_samples[:: max(1, len(rss_samples) // 20)],
        **{f"stored_{k}": v for k, v in counts.items()},
    }
    if prof is not None and profile is not None:
        prof.dump_stats(str(profile))
    return out


#: Re-analysis windows hold about this many stored positions (history.detection's default).
WINDOW_ROWS = 1_000_000


def time_windows(store: Any, rows: int = WINDOW_ROWS) -> tuple[list[tuple[Any, Any]], int,
                                                                float]:
    """[since, until) windows of about ``rows`` stored positions each in time order, cut at
    the positions' own times (a 3-minute burst of 4 M positions is cut too), the number of
    stored positions and their time span in seconds (only the time column is read)."""
    us = np.asarray(store.query("SELECT epoch_us(t) AS us FROM positions ORDER BY us")
                    .column(0).to_numpy(), np.int64)
    if us.size == 0:
        raise SystemExit("the source store holds no positions")
    cuts = np.unique(us[rows::rows]).tolist()
    windows = list(zip([None, *[c / 1e6 for c in cuts]], [*[c / 1e6 for c in cuts], None],
                       strict=True))
    return windows, int(us.size), float(us[-1] - us[0]) / 1e6


def child_reanalysis(db: Path, rows: int, detector: str, window_rows: int, replicas: str,
                     profile: Path | None) -> dict[str, Any]:
    """Re-run ``detector`` over the positions stored in ``db``, window by window read back
    from the store; ``rows`` > stored: the stored history replayed again later in time as
    new aircraft or the same ones (``replicas``, see the module docstring), every window read
    from the store again."""
    from tailwatch.detect import DetectParams, places
    from tailwatch.store import open_store
    from tailwatch.store.base import to_columns

    places.airport_info()  # loaded once per process: not part of the measure
    cls = detector_class(detector)
    store = open_store(str(db), read_only=True)
    w0 = time.perf_counter()
    windows, stored, span_s = time_windows(store, window_rows)
    index_s = time.perf_counter() - w0
    same = replicas == "same-aircraft"
    shift_s = float(math.ceil(span_s + (DetectParams().flight_gap_s + 60.0 if same else 1.0)))
    reps = max(1, -(-rows // stored)) if rows else 1
    total = reps * stored
    # warm-up outside the timing (numba's cached kernels load on first use)
    first = to_columns("positions", store.positions(until=windows[0][1]))
    warm = cls()
    warm.update({k: v[:20_000] for k, v in first.items()})
    warm.flush()
    del warm, first
    det = cls()
    prof = cProfile.Profile() if profile is not None else None
    n = events = 0
    flight_ids: set[str] = set()  # distinct flights (an open one is output again)
    read_s = detect_s = cpu_s = 0.0
    rss_windows: list[float] = []
    rss_replicas: list[float] = []
    w0 = said = time.perf_counter()
    if prof is not None:
        prof.enable()
    for r in range(reps):
        for since, until in windows:
            a = time.perf_counter()
            cols = to_columns("positions", store.positions(since=since, until=until))
            b = time.perf_counter()
            read_s += b - a
            if r:
                cols["t"] = cols["t"] + r * shift_s
                if not same:  # a bijection of the addresses per replica (odd multiplier)
                    cols["icao24"] = cols["icao24"] ^ np.uint32((0x5A5A5 * r) & 0xFFFFFF)
            c = time.process_time()
            f, e = det.update(cols)
            cpu_s += time.process_time() - c
            detect_s += time.perf_counter() - b
            flight_ids.update(f["flight_id"].tolist())
            events += int(e["t"].shape[0])
            n += int(cols["t"].shape[0])
            del cols, f, e
            rss_windows.append(rss_mb())
            if time.perf_counter() - said >= 10.0:
                said = time.perf_counter()
                print(f"    re-analysis/{detector}: {n / 1e6:.1f} of {total / 1e6:.1f} M "
                      f"positions ({100 * n / total:.0f} %), replica {r + 1}/{reps}, "
                      f"{n / detect_s / 1e6:.3f} M/s detecting, read {read_s:.0f} s, RSS "
                      f"{rss_windows[-1]:.0f} MB, about {(total - n) * (said - w0) / n:.0f} s "
                      "to go", file=sys.stderr, flush=True)
        rss_replicas.append(rss_windows[-1])
    c = time.process_time()
    b = time.perf_counter()
    f, e = det.flush()
    cpu_s += time.process_time() - c
    detect_s += time.perf_counter() - b
    flight_ids.update(f["flight_id"].tolist())
    events += int(e["t"].shape[0])
    wall = time.perf_counter() - w0
    if prof is not None:
        prof.disable()
        prof.dump_stats(str(profile))
    store.close()
    if n != total:
        raise SystemExit(f"read {n} positions, expected {total} (windows lost rows)")
    return {"detector": detector, "stored_positions": stored, "positions": n,
            "replicas": reps, "replica_mode": replicas, "replica_shift_s": shift_s,
            "windows_per_replica": len(windows),
            "index_s": index_s, "read_s": read_s, "detect_s": detect_s,
            "detect_cpu_s": cpu_s, "wall_s": wall,
            "positions_per_s": n / detect_s, "positions_per_cpu_s": n / cpu_s if cpu_s else None,
            "positions_per_s_with_read": n / (read_s + detect_s),
            "flights": len(flight_ids), "events": events, "peak_rss_mb": peak_rss_mb(),
            "rss_mb_after_each_replica": [round(x) for x in rss_replicas],
            "rss_mb_windows_max": max(rss_windows)}


def spawn(args: list[str], may_fail: bool = False) -> dict[str, Any] | None:
    """Run this script as a child (its progress lines on this terminal's stderr) and return
    the JSON of its last stdout line; a failed child stops the benchmark unless
    ``may_fail`` (then ``None``)."""
    proc = subprocess.run([sys.executable, __file__, *args], stdout=subprocess.PIPE,
                          text=True, cwd=ROOT)
    if proc.returncode != 0:
        if may_fail:
            console.print(f"[red]child {args} failed (exit {proc.returncode}; its error is "
                          "above)[/]")
            return None
        raise SystemExit(f"child {args} failed")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# --- driver ---------------------------------------------------------------------------------


def median_run(runs: list[dict[str, Any]], key: str = "wall_s") -> dict[str, Any]:
    """The run at the median of ``key`` (over the unprofiled runs when there are any)."""
    runs = [r for r in runs if not r.get("profiled")] or runs
    med = statistics.median(r[key] for r in runs)
    return min(runs, key=lambda r: abs(r[key] - med))


def measure_variant(v: Variant, args: argparse.Namespace, tmp: Path, dets: list[str],
                    reanalyse: bool, save: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Runs of the variant; ``save`` is called with the results so far after each run (a
    long benchmark on a shared machine keeps what it measured)."""
    path, meta = feed(v, args.cache, args.seed)
    configs = [("base", "reference"), *(("full", d) for d in dets)]
    out: dict[str, Any] = {"feed": meta, "detectors": dets, "runs": {"base": []}}
    for k in range(args.runs):
        for config, det in configs:
            key = "base" if config == "base" else f"full_{det}"
            load = os.getloadavg()
            prof = tmp / f"{v.name}-{key}.prof" if (args.profile_full and config == "full"
                                                    and k == 0) else None
            db = tmp / f"{key}.duckdb"
            # the re-analysis source: the positions of the last run with the first detector
            # (the reference when it is measured: the one whose failure stops the benchmark)
            keep = reanalyse and config == "full" and k == args.runs - 1 and det == dets[0]
            r = spawn(["--child", config, "--detector", det, "--feed", str(path), "--tmp",
                       str(tmp), "--db", str(db),
                       *(["--profile-out", str(prof)] if prof else [])],
                      may_fail=det != "reference")
            if r is None:
                out.setdefault("failed", {})[key] = f"run {k + 1} failed (see the console)"
                continue
            if keep:
                shutil.move(str(db), str(tmp / "reanalysis-source.duckdb"))
            db.unlink(missing_ok=True)
            r["loadavg_before"] = load
            r["loadavg_after"] = os.getloadavg()
            r["profiled"] = prof is not None
            out["runs"].setdefault(key, []).append(r)
            console.print(
                f"  {v.name} run {k + 1} {key:<14}: {r['frames'] / r['wall_s'] / 1e6:6.3f} "
                f"M frames/s, wall {r['wall_s']:6.1f} s (ingest {r['ingest_s']:.1f}, dedup "
                f"{r['dedup_s']:.1f}, decode+track {r['decode_track_s']:.1f}, store "
                f"{r['store_s']:.1f}, detect {r['detect_s']:.1f}, alerts {r['alerts_s']:.1f}, "
                f"api {r['api_s']:.1f}), RSS {r['peak_rss_mb']:.0f} MB, load "
                f"{load[0]:.1f}" + (" [profiled]" if prof else ""))
            if prof is not None:
                out.setdefault("profile_full_run", {})[det] = profile_summary(prof)
            if len(out["runs"]) > 1:
                out["summary"] = summarize(out, meta)
                save(out)
    if reanalyse and not (tmp / "reanalysis-source.duckdb").exists():
        console.print("[red]no stored positions to re-analyse (the full run failed)[/]")
    elif reanalyse:
        reanalysis(v, args, tmp, out, dets)
        out["summary"] = summarize(out, meta)
        save(out)
    return out


def _full_summary(full: dict[str, Any], base: dict[str, Any], span: float) -> dict[str, Any]:
    frames = full["frames"]
    with_det_s = full["wall_s"] - full["alerts_s"] - full["api_s"]
    return {
        "stages_s": {k: round(full[k], 2) for k in ("ingest_s", "dedup_s", "decode_track_s",
                                                    "store_s", "detect_s", "alerts_s",
                                                    "api_s", "wall_s")},
        "frames_per_s": {"plus_detection": frames / with_det_s,
                         "plus_alerts": frames / (full["wall_s"] - full["api_s"]),
                         "plus_api_all_stages": frames / full["wall_s"]},
        "realtime_factor_all_stages": span / full["wall_s"],
        # the share of the throughput without detection kept with it (target >= 70 %)
        "detection_throughput_share": base["wall_s"] / with_det_s,
        "peak_rss_mb": full["peak_rss_mb"],
        "cpu_s": full["cpu_s"],
        "frames_per_cpu_s_all_stages": frames / full["cpu_s"],
        "stored": {k: full[f"stored_{k}"] for k in ("positions", "flights", "events")},
        "alerts": full["alerts"], "snapshots": full["snapshots"],
    }


def summarize(out: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """Figures of the median runs (over the unprofiled runs when there are any), per
    detector, and the compiled detector's speed-up over the reference."""
    runs = out["runs"]
    base = median_run(runs["base"])
    frames = base["frames"]
    span = meta["duration_s"]
    s: dict[str, Any] = {
        "frames": frames,
        "concurrent_aircraft": round(meta["concurrent_aircraft_mean"]),
        # feeds generated before whole buckets only were counted: a partial edge bucket
        "concurrent_aircraft_min": meta["concurrent_aircraft_min"]
        if "concurrent_aircraft_buckets" in meta else None,
        "receivers": meta["receivers"],
        "data_span_s": span,
        "base": {
            "stages_s": {k: round(base[k], 2) for k in ("ingest_s", "dedup_s",
                                                        "decode_track_s", "store_s",
                                                        "wall_s")},
            "frames_per_s": {"decode_track": frames / (base["wall_s"] - base["store_s"]),
                             "plus_store": frames / base["wall_s"]},
            "realtime_factor_plus_store": span / base["wall_s"],
            "peak_rss_mb": base["peak_rss_mb"],
            "frames_per_cpu_s_plus_store": frames / base["cpu_s"],
        },
        "detectors": {},
        "runs_in_median": {k: len([r for r in v if not r.get("profiled")] or v)
                           for k, v in runs.items()},
    }
    for key, rs in runs.items():
        if key != "base" and rs:  # "full" in results written before the compiled detector
            det = key.removeprefix("full_") if key != "full" else "reference"
            s["detectors"][det] = _full_summary(median_run(rs), base, span)
    ra = out.get("reanalysis_runs") or {}
    if isinstance(ra, list):  # results written before the compiled detector
        ra = {"reference": ra}
    s["reanalysis"] = {det: _reanalysis_summary(rs) for det, rs in ra.items() if rs}
    ref, comp = s["detectors"].get("reference"), s["detectors"].get("compiled")
    if ref and comp:
        s["compiled_vs_reference"] = {
            "detect_s": ref["stages_s"]["detect_s"] / comp["stages_s"]["detect_s"],
            "plus_detection_frames_per_s": comp["frames_per_s"]["plus_detection"]
            / ref["frames_per_s"]["plus_detection"],
            "all_stages_frames_per_s": comp["frames_per_s"]["plus_api_all_stages"]
            / ref["frames_per_s"]["plus_api_all_stages"],
            # a cross-check: the two detectors stored as many flights and events
            "same_stored_counts": comp["stored"] == ref["stored"],
        }
        rr, rc = s["reanalysis"].get("reference"), s["reanalysis"].get("compiled")
        if rr and rc:
            s["compiled_vs_reference"]["reanalysis_positions_per_s"] = (
                rc["positions_per_s"] / rr["positions_per_s"])
            s["compiled_vs_reference"]["reanalysis_same_positions"] = (
                rc["positions"] == rr["positions"])
            if rc["positions"] == rr["positions"]:
                s["compiled_vs_reference"]["reanalysis_same_counts"] = (
                    (rc["flights"], rc["events"]) == (rr["flights"], rr["events"]))
    return s


def _reanalysis_summary(rs: list[dict[str, Any]]) -> dict[str, Any]:
    med = median_run(rs, "positions_per_s")
    used = [r for r in rs if not r.get("profiled")] or rs
    return {"positions": med["positions"], "stored_positions": med["stored_positions"],
            "replicas": med.get("replicas", 1), "replica_mode": med.get("replica_mode"),
            "positions_per_s": med["positions_per_s"],
            "positions_per_cpu_s": med["positions_per_cpu_s"],
            "positions_per_s_with_read": med.get("positions_per_s_with_read"),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in used),
            "flights": med["flights"], "events": med["events"], "runs": len(used)}


def reanalysis(v: Variant, args: argparse.Namespace, tmp: Path, out: dict[str, Any],
               dets: list[str]) -> None:
    """History re-analysis runs, per detector, over the positions the last full run stored."""
    db = tmp / "reanalysis-source.duckdb"
    ra: dict[str, list[dict[str, Any]]] = {d: [] for d in dets}
    for k in range(args.runs):
        for d in dets:
            rows = args.reanalysis_rows
            if d == "reference" and args.reference_reanalysis_rows is not None:
                rows = args.reference_reanalysis_rows
            load = os.getloadavg()
            prof = tmp / f"{v.name}-reanalysis-{d}.prof" if args.profile and k == 0 else None
            r = spawn(["--child", "reanalysis", "--detector", d, "--db", str(db), "--rows",
                       str(rows), "--window-rows", str(args.window_rows), "--replicas",
                       args.replicas,
                       *(["--profile-out", str(prof)] if prof else [])],
                      may_fail=d != "reference")
            if r is None:
                out.setdefault("failed", {})[f"reanalysis_{d}"] = f"run {k + 1} failed"
                continue
            r["loadavg_before"] = load
            r["loadavg_after"] = os.getloadavg()
            r["profiled"] = prof is not None
            ra[d].append(r)
            console.print(
                f"  {v.name} re-analysis {k + 1} {d:<9}: {r['positions']:,} positions "
                f"({r['replicas']} x {r['stored_positions']:,}), "
                f"{r['positions_per_s'] / 1e6:.3f} M positions/s detecting "
                f"({r['positions_per_s_with_read'] / 1e6:.3f} M/s with the reads: "
                f"{r['read_s']:.1f} s), RSS {r['peak_rss_mb']:.0f} MB (after each replica "
                f"{r['rss_mb_after_each_replica'][:3]}..{r['rss_mb_after_each_replica'][-1:]}),"
                f" load {load[0]:.1f}" + (" [profiled]" if prof else ""))
            if prof is not None:
                out.setdefault("profile_reanalysis", {})[d] = profile_summary(prof)
    out["reanalysis_runs"] = ra
    if ra.get("reference") and (not ra.get("compiled")
                                or args.reanalysis_rows > ra["reference"][0]["positions"]):
        rate = statistics.median(r["positions_per_s"] for r in ra["reference"])
        want = max(args.reanalysis_rows, 100_000_000)
        console.print(f"  [dim]console estimate only (not in the results): the reference at "
                      f"{rate / 1e6:.3f} M positions/s would take {want / rate / 60:.0f} min "
                      f"for {want / 1e6:.0f} M positions, {1e9 / rate / 3600:.1f} h for a day "
                      "of the world (~1 B)[/]")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variant", choices=("world", "hour", "both", "smoke"), default="both")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--detector", choices=("compiled", "reference", "both"), default="both",
                   help="the detector(s) of the full runs and the re-analysis (an unavailable "
                        "compiled detector is recorded as such; the reference stands in)")
    p.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "TAILWATCH_BENCH_CACHE", Path.home() / ".cache" / "tailwatch")))
    p.add_argument("--profile", action="store_true",
                   help="profile the first re-analysis run of each detector (cProfile; "
                        "excluded from the median when there are other runs)")
    p.add_argument("--profile-full", action="store_true",
                   help="also profile the first full pipeline run (excluded from the medians)")
    p.add_argument("--no-reanalysis", dest="reanalysis", action="store_false",
                   help="skip the history re-analysis")
    p.add_argument("--reanalysis-variant", choices=tuple(VARIANTS),
                   help="the variant whose stored positions are re-analysed (default: hour "
                        "when it is measured, else the one variant measured)")
    p.add_argument("--reanalysis-rows", type=int, default=0,
                   help="re-analyse this many positions (the stored ones replayed again later "
                        "in time); 0: the stored ones once")
    p.add_argument("--reference-reanalysis-rows", type=int, default=None,
                   help="the reference detector's re-analysis size (default: "
                        "--reanalysis-rows); 0: the stored positions once")
    p.add_argument("--window-rows", type=int, default=WINDOW_ROWS,
                   help="stored positions per re-analysis window (read back from the store)")
    p.add_argument("--replicas", choices=("new-aircraft", "same-aircraft"),
                   default="new-aircraft",
                   help="how the re-analysis replays the stored history beyond its rows: as "
                        "new aircraft right after it, or the same airframes after a flight gap")
    p.add_argument("--generate-only", action="store_true")
    p.add_argument("--resummarize", action="store_true",
                   help="recompute the summaries of bench/results/world.json from its runs")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--feed", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--rows", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--profile-out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child == "reanalysis":
        print(json.dumps(child_reanalysis(args.db, args.rows, args.detector,
                                          args.window_rows, args.replicas,
                                          args.profile_out)))
        return
    if args.child:
        print(json.dumps(child_run(args.feed, args.child, args.detector, args.tmp, args.db,
                                   args.profile_out)))
        return
    if args.resummarize:
        old = json.loads((RESULTS / "world.json").read_text())
        for res in old["variants"].values():
            res["summary"] = summarize(res, res["feed"])
        write_results(old)
        return
    names = ["world", "hour"] if args.variant == "both" else [args.variant]
    if args.generate_only:
        for name in names:
            feed(VARIANTS[name], args.cache, args.seed)
        return
    reanalyse_on = args.reanalysis_variant or ("hour" if "hour" in names else names[0])
    if args.reanalysis and reanalyse_on not in names:
        raise SystemExit(f"--reanalysis-variant {reanalyse_on} is not measured (--variant)")
    dets, missing = available_detectors(args.detector)
    tmp = Path(tempfile.mkdtemp(prefix="tailwatch-bench-world-"))
    results: dict[str, Any] = {}
    load_start = os.getloadavg()

    def save(name: str, res: dict[str, Any], complete: bool) -> None:
        results[name] = {**res, "complete": complete, "detectors_unavailable": missing}
        write_results(payload(args, results, load_start))

    try:
        for name in names:
            res = measure_variant(
                VARIANTS[name], args, tmp, dets,
                args.reanalysis and name == reanalyse_on,
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
    # a run of one variant keeps the other variant's last result (summarised anew: the
    # summaries' layout has changed with the compiled detector)
    variants = {**old.get("variants", {}), **payload["variants"]}
    for res in variants.values():
        if "detectors" not in res.get("summary", {}):
            res["summary"] = summarize(res, res["feed"])
    payload = {**payload, "variants": variants}
    path.write_text(json.dumps(payload, indent=1, default=float) + "\n")
    table = Table(title="world: median of runs")
    for col in ("variant", "aircraft", "frames", "stage", "stage s", "frames/s",
                "× real time"):
        table.add_column(col)
    for name, res in variants.items():
        s = res["summary"]
        b = s["base"]
        span, frames = s["data_span_s"], s["frames"]
        for stage, fps, sec in (
                ("decode + track", b["frames_per_s"]["decode_track"],
                 b["stages_s"]["wall_s"] - b["stages_s"]["store_s"]),
                ("+ store", b["frames_per_s"]["plus_store"], b["stages_s"]["store_s"])):
            table.add_row(name, f"{s['concurrent_aircraft']:,}", f"{frames:,}", stage,
                          f"{sec:.1f}", f"{fps / 1e6:.3f} M", f"{span * fps / frames:.1f}")
        for det, d in s["detectors"].items():
            for stage, key, sec_key in (("+ detection", "plus_detection", "detect_s"),
                                        ("+ alerts", "plus_alerts", "alerts_s"),
                                        ("+ live API", "plus_api_all_stages", "api_s")):
                fps = d["frames_per_s"][key]
                table.add_row(name, "", "", f"{stage} ({det})", f"{d['stages_s'][sec_key]:.1f}",
                              f"{fps / 1e6:.3f} M", f"{span * fps / frames:.1f}")
            table.add_row(name, "", "", f"throughput kept with detection ({det})", "",
                          f"{d['detection_throughput_share'] * 100:.0f} %", "")
            table.add_row(name, "", "", f"peak RSS, full ({det})", "",
                          f"{d['peak_rss_mb']:.0f} MB", "")
        for det, r in s.get("reanalysis", {}).items():
            table.add_row(name, "", f"{r['positions']:,} pos", f"re-analysis ({det})", "",
                          f"{r['positions_per_s'] / 1e6:.3f} M pos/s", "")
        for what, x in s.get("compiled_vs_reference", {}).items():
            if not isinstance(x, bool):
                table.add_row(name, "", "", f"compiled / reference: {what}", "", f"{x:.1f}×",
                              "")
    console.print(table)
    console.print(f"written {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
