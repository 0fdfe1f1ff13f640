"""End to end: a recording replayed at full speed through ingest, decode, track, detect and store.

The recording is a tailwatch Beast recording (ingest/record.py: Beast frames with arrival
times) of the real AFR34ZG gate-to-gate flight replicated ``--replicas`` times, each replica
its own aircraft (own ICAO address, parity recomputed) flying the same path at the same times.
It is read back with ``ingest.replay.file_batches`` (file read + Beast framing), handed to
``Pipeline.process`` (decode + track) in batches of ``--batch`` frames, and the positions go to
two sinks: the store (DuckDB file or ``--engine chdb``) and flight/event detection
(``history.detection.DetectionSink``: FlightDetector, flights and events into the store). The
store sink is ``ingest.aggregator.StoreSink`` (``--sink plain``, the default and what
``tailwatch`` runs: 200,000-row writes in the pipeline's thread) or ``store.writer.WriterSink``
(``--sink thread``: 100,000-row writes on a writer thread, overlapping the decoding on the
second core). Messages per second end to end (every frame of the file over the wall time, sinks
flushed, everything stored), and the time spent in each stage (for the threaded sink,
``store_s`` is the time the pipeline waited for it, ``writer_s`` the writer thread's time in
``Store.write``). Median of ``--runs`` runs, a fresh store each. Writes
bench/results/pipeline.json.

    .venv/bin/python bench/pipeline.py [--replicas 20] [--runs 3] [--engine duckdb]
                                       [--sink plain|thread]
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DATA, Result, Timed, console, machine, nominal, versions, write_results
from tailwatch.core.frames import FrameBatch
from tailwatch.encode.bits import set_address
from tailwatch.history.detection import detection_sink
from tailwatch.ingest.aggregator import StoreSink
from tailwatch.ingest.record import encode_recording
from tailwatch.ingest.replay import file_batches
from tailwatch.pipeline import Pipeline
from tailwatch.store import WriterSink, open_store
from tailwatch.track.tracker import Tracker


def recording(path: Path, replicas: int) -> int:
    """Write the replicated AFR34ZG flight as a tailwatch recording; returns the frame count."""
    with gzip.open(DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz", "rt") as fh:
        rows = [json.loads(line) for line in fh]
    times = np.array([r["timestamp"] for r in rows], dtype=np.float64)
    base = FrameBatch.from_hex([nominal(r["frame"]) for r in rows], t_rx=times)
    n = len(base)
    raw = np.tile(base.raw, (replicas, 1))
    nbytes = np.tile(base.nbytes, replicas)
    set_address(raw, nbytes, np.repeat(0x400000 + np.arange(replicas, dtype=np.uint32) * 977, n))
    t = np.tile(times, replicas) + np.repeat(np.arange(replicas) * 1e-4, n)
    order = np.argsort(t, kind="stable")
    fb = FrameBatch.from_matrix(raw[order], nbytes[order], t_rx=t[order])
    data, _, _ = encode_recording(fb, {0: 0x7A11_3A7C_0000_0001})
    path.write_bytes(data)
    return len(fb)


def run_once(path: Path, url: str, batch: int, detect: bool, sink: str = "plain"
             ) -> dict[str, float]:
    store = open_store(url)
    store_sink = Timed(WriterSink(store) if sink == "thread" else StoreSink(store))
    sinks: list[Any] = [store_sink]
    det = None
    if detect:
        det_raw = detection_sink(store, aircraft_db=None, aircraft_every_s=1e9)
        if det_raw is None:
            raise SystemExit("tailwatch.detect is not available (run with --no-detect)")
        det = Timed(det_raw)
        sinks.append(det)
    pipe = Pipeline(tracker=Tracker(), sinks=sinks)
    ingest_s = 0.0
    c0, w0 = time.process_time(), time.perf_counter()
    it = iter(file_batches(path, batch_size=batch))
    while True:
        t0 = time.perf_counter()
        fb = next(it, None)
        ingest_s += time.perf_counter() - t0
        if fb is None:
            break
        pipe.process(fb)
    store_sink.flush()
    if det is not None:
        det.flush()
    wall = time.perf_counter() - w0
    cpu = time.process_time() - c0
    counts = {t: int(store.query(f"SELECT count(*) FROM {t}").column(0)[0].as_py())
              for t in ("positions", "flights", "events")} if url.endswith(".duckdb") else {}
    writer_s = float(getattr(store_sink.sink, "write_s", store_sink.s))
    if isinstance(store_sink.sink, WriterSink):
        store_sink.sink.close()  # stops the thread, closes the store
    else:
        store.close()
    sink_s = store_sink.s + (det.s if det else 0.0)
    return {"wall_s": wall, "cpu_s": cpu, "ingest_s": ingest_s,
            "decode_track_s": wall - ingest_s - sink_s, "store_s": store_sink.s,
            "detect_s": det.s if det else 0.0, "writer_s": writer_s, "frames": pipe.stats.frames,
            "positions": pipe.stats.positions, **{f"stored_{k}": v for k, v in counts.items()}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--replicas", type=int, default=20)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--batch", type=int, default=65_536)
    p.add_argument("--engine", choices=("duckdb", "chdb"), default="duckdb")
    p.add_argument("--no-detect", action="store_true")
    p.add_argument("--sink", choices=("plain", "thread"), default="plain")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tailwatch-bench-pipeline-"))
    try:
        rec = tmp / "afr34zg.beast"
        n = recording(rec, args.replicas)
        console.print(f"[bold]pipeline[/]: {n:,} frames ({rec.stat().st_size / 1e6:.1f} MB "
                      f"recording), {args.replicas} aircraft, store {args.engine}")
        runs = []
        for k in range(args.runs + 1):  # the first run warms up (numba caches, imports)
            url = (str(tmp / f"run{k}.duckdb") if args.engine == "duckdb"
                   else f"clickhouse+chdb://{tmp / f'run{k}'}")
            r = run_once(rec, url, args.batch, not args.no_detect, args.sink)
            if k:
                runs.append(r)
            console.print(f"  {'warm-up' if not k else f'run {k}'}: {n / r['wall_s']:,.0f} "
                          f"msg/s; ingest {r['ingest_s']:.2f} s, decode+track "
                          f"{r['decode_track_s']:.2f} s, store {r['store_s']:.2f} s, detect "
                          f"{r['detect_s']:.2f} s (writer thread {r['writer_s']:.2f} s)")
        med = min(runs, key=lambda r: abs(r["wall_s"] - statistics.median(
            x["wall_s"] for x in runs)))
        stages = "ingest → decode → track → " + ("detect → " if not args.no_detect else "")
        results = [Result(f"tailwatch {stages}store ({args.engine}, {args.sink} sink)",
                          f"afr34zg_x{args.replicas}", n, len(runs), med["wall_s"],
                          n / med["wall_s"], n / med["cpu_s"],
                          f"{med['positions']:,} positions")]
        write_results("pipeline", {
            "benchmark": "pipeline",
            "description": __doc__,
            "corpus": {"frames": n, "aircraft": args.replicas, "source": "AFR34ZG x replicas",
                       "recording_bytes": rec.stat().st_size},
            "engine": args.engine,
            "batch_frames": args.batch,
            "store_sink": args.sink,
            "stages_s_of_median_run": {k: med[k] for k in ("ingest_s", "decode_track_s",
                                                           "store_s", "detect_s", "writer_s",
                                                           "wall_s")},
            "median_run": med,
            "runs": runs,
            "machine": machine(),
            "versions": versions("tailwatch", "numpy", "numba", "duckdb", "chdb", "pyarrow"),
        }, results)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
