"""GNSS monitoring and hexagon aggregation at world scale, as a share of the pipeline.

World: ``--aircraft`` (12,000) airborne aircraft, each reporting a position every 0.5 s
(ADS-B's airborne position rate), flying straight at 250-500 kt in random directions over a
land-sized area; two jamming zones degrade the NIC/NACp of the aircraft inside them (about a
tenth of the world), one spoofing zone reports a frozen point. Positions are generated batch by
batch (one batch per ``--batch-s`` of data time, as the live pipeline hands them over) for
``--minutes`` of data time, and fed to:

- the monitor (``GnssMonitor.update``: quality counter, spoofing tests, events);
- the aggregation (``CellAggregator.update`` per batch, ``flush`` at each hour: H3 cells at
  resolutions 3-6, aircraft lists).

The share compares the CPU time per position with the whole pipeline's (ingest, decode, track,
detect, store) in bench/results/pipeline.json. The flush (the cell rows of the simulated
minutes, as an hour's flush makes them) is charged to the positions of those minutes. Two
configurations: the H3 resolutions 3-6 kept (the default) and 3-5.
Times are CPU seconds of the benchmark thread (time.thread_time), so that a shared machine
slows them less than wall time; the load average is recorded beside the figures.

Each configuration is run ``--repeat`` times (3); the run of median aggregation share is
reported, every run's shares and load average beside it.

    .venv/bin/python bench/gnss.py [--aircraft 12000] [--minutes 10] [--batch-s 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from tailwatch.core.schema import POSITION_FIELDS, SOURCE_LABELS, empty_columns
from tailwatch.gnss.cells import CellAggregator
from tailwatch.gnss.monitor import GnssMonitor
from tailwatch.gnss.params import GnssParams

ROOT = Path(__file__).resolve().parent
T0 = 1_700_006_400.0
ZONES = ((54.5, 20.0, 150.0, "jamming"), (35.0, 35.0, 120.0, "jamming"),
         (59.8, 29.0, 60.0, "spoofing"))


class World:
    """Straight flights, positions computed for any time (flat-earth steps, fine here)."""

    def __init__(self, n: int, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.n = n
        self.icao = (0x100000 + np.arange(n)).astype(np.uint32)
        self.lat0 = rng.uniform(25.0, 62.0, n)
        self.lon0 = rng.uniform(-10.0, 45.0, n)
        self.trk = rng.uniform(0.0, 360.0, n)
        self.gs = rng.uniform(250.0, 500.0, n)
        self.alt = rng.choice([24000.0, 30000.0, 36000.0, 38000.0], n)
        self.offset = rng.uniform(0.0, 0.5, n)
        self.rng = rng
        self.rng_state = rng.bit_generator.state  # every run draws the same noise

    def restart(self) -> None:
        self.rng.bit_generator.state = self.rng_state

    def batch(self, t_lo: float, t_hi: float, step_s: float) -> dict[str, np.ndarray]:
        k0 = np.ceil((t_lo - T0 - self.offset) / step_s)
        k1 = np.ceil((t_hi - T0 - self.offset) / step_s)
        reps = np.maximum(0, (k1 - k0)).astype(np.int64)
        idx = np.repeat(np.arange(self.n), reps)
        k = k0[idx] + (np.arange(len(idx)) - np.repeat(np.cumsum(reps) - reps, reps))
        t = T0 + self.offset[idx] + k * step_s
        d_nm = self.gs[idx] * (t - T0) / 3600.0
        th = np.radians(self.trk[idx])
        lat = self.lat0[idx] + d_nm * np.cos(th) / 60.0
        lon = self.lon0[idx] + d_nm * np.sin(th) / (60.0 * np.cos(np.radians(self.lat0[idx])))
        m = len(t)
        cols = empty_columns(POSITION_FIELDS, m)
        cols["t"] = t
        cols["icao24"] = self.icao[idx]
        cols["altitude_ft"] = self.alt[idx].astype(np.float32)
        cols["gs_kt"] = (self.gs[idx] + self.rng.normal(0, 0.5, m)).astype(np.float32)
        cols["track_deg"] = self.trk[idx].astype(np.float32)
        cols["on_ground"] = np.zeros(m, np.int8)
        cols["nic"] = np.full(m, 8, np.int8)
        cols["nacp"] = np.full(m, 9, np.int8)
        cols["source"] = np.full(m, SOURCE_LABELS.index("adsb"), np.int8)
        for zlat, zlon, r_nm, kind in ZONES:
            dy = (lat - zlat) * 60.0
            dx = (lon - zlon) * 60.0 * math.cos(math.radians(zlat))
            inside = dx * dx + dy * dy < r_nm * r_nm
            if kind == "jamming":
                cols["nic"][inside] = 2
                cols["nacp"][inside] = 3
            else:
                lat[inside] = 59.8
                lon[inside] = 29.0
        cols["lat"] = lat
        cols["lon"] = lon
        return cols


def measure(world: World, res: tuple[int, ...], minutes: float, batch_s: float,
            step_s: float, pipe_s_per_pos: float) -> dict[str, object]:
    world.restart()
    params = GnssParams(resolutions=res)
    mon = GnssMonitor(params)
    agg = CellAggregator(params)
    # warm-up (numba compilation) on a state that is thrown away
    CellAggregator(params).update(GnssMonitor(params).update(world.batch(T0, T0 + 2.0,
                                                                         step_s)))
    n_pos = 0
    t_mon = t_agg = t_gen = 0.0
    events = 0
    cpu0 = time.process_time()
    for b in range(int(minutes * 60.0 / batch_s)):
        lo = T0 + b * batch_s
        g0 = time.thread_time()
        cols = world.batch(lo, lo + batch_s, step_s)
        g1 = time.thread_time()
        step = mon.update(cols)
        g2 = time.thread_time()
        agg.update(step)
        g3 = time.thread_time()
        n_pos += len(cols["t"])
        events += len(step.events["t"])
        t_gen += g1 - g0
        t_mon += g2 - g1
        t_agg += g3 - g2
    pending = sum(len(p) for p in agg._pending)
    f0 = time.thread_time()
    cells = agg.flush()
    t_flush = time.thread_time() - f0
    data_s = minutes * 60.0
    flush_per_hour_s = t_flush * 3600.0 / data_s  # rows grow with time: linear estimate
    agg_s = t_agg + t_flush
    per_pos = {"monitor_us": t_mon / n_pos * 1e6, "aggregation_us": agg_s / n_pos * 1e6}
    share = {"aggregation": per_pos["aggregation_us"] / (pipe_s_per_pos * 1e6),
             "monitor": per_pos["monitor_us"] / (pipe_s_per_pos * 1e6)}
    share["monitor_and_aggregation"] = share["aggregation"] + share["monitor"]
    return {
        "resolutions": list(res),
        "positions": n_pos,
        "seconds": {"monitor": t_mon, "aggregation_update": t_agg,
                    "aggregation_flush": t_flush, "generation_not_counted": t_gen,
                    "process_cpu_total": time.process_time() - cpu0},
        "per_second_of_data_ms": {"monitor": t_mon / data_s * 1e3,
                                  "aggregation": (t_agg / data_s
                                                  + flush_per_hour_s / 3600.0) * 1e3},
        "per_position_us": per_pos,
        "share_of_pipeline": share,
        "aggregation_within_target": share["aggregation"] <= 0.05,
        "loadavg": os.getloadavg(),
        "cells": {"rows": len(cells["h3"]), "pending_rows_before_flush": pending,
                  "h3_lookups": agg.lookups, "flagged": int((cells["level"] != "none").sum()),
                  "events": events},
    }


def median_run(tries: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median aggregation share, with every run's shares and load beside it."""
    ranked = sorted(tries, key=lambda r: r["share_of_pipeline"]["aggregation"])
    med = dict(ranked[len(ranked) // 2])
    med["repeats"] = len(tries)
    med["all_runs"] = [{"share_of_pipeline": r["share_of_pipeline"],
                        "per_position_us": r["per_position_us"], "loadavg": r["loadavg"]}
                       for r in tries]
    return med


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--aircraft", type=int, default=12_000)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--batch-s", type=float, default=1.0)
    ap.add_argument("--step-s", type=float, default=0.5)
    ap.add_argument("--resolutions", default="3,4,5,6;3,4,5",
                    help="H3 resolution sets to measure, ';'-separated")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per resolution set; the median (by aggregation share) is kept")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "gnss.json")
    args = ap.parse_args()

    pipe = json.loads((ROOT / "results" / "pipeline.json").read_text())
    run = pipe["median_run"]
    pipe_s_per_pos = run["cpu_s"] / run["positions"]
    load_before = os.getloadavg()
    world = World(args.aircraft)
    runs = []
    for rs in args.resolutions.split(";"):
        tries = [measure(world, tuple(int(x) for x in rs.split(",")), args.minutes,
                         args.batch_s, args.step_s, pipe_s_per_pos)
                 for _ in range(args.repeat)]
        runs.append(median_run(tries))
    result = {
        "benchmark": "gnss",
        "description": __doc__,
        "world": {"aircraft": args.aircraft, "position_every_s": args.step_s,
                  "batch_s": args.batch_s, "data_minutes": args.minutes,
                  "positions_per_s": args.aircraft / args.step_s},
        "pipeline_reference": {
            "file": "bench/results/pipeline.json",
            "us_per_position": pipe_s_per_pos * 1e6,
            "note": "CPU of ingest, decode, track, detect and store of the AFR34ZG replicas, "
                    "per position",
        },
        "target_share": 0.05,
        "runs": runs,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "when_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for r in runs:
        print(r["resolutions"], json.dumps(r["per_position_us"]),
              json.dumps(r["share_of_pipeline"]))
    print("load average", result["loadavg_before"], result["loadavg_after"])


if __name__ == "__main__":
    main()
