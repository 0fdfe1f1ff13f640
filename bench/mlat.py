"""Multilateration accuracy, coverage and speed against a known truth.

Corpora (each run with its own seed; the median of ``--runs`` is written):

- ``synthetic_free``: :mod:`tailwatch.mlat.synthetic` — 8 receivers (a centre and a ring of
  60–120 km), ``--aircraft`` aircraft (25 % Mode S-only: DF11 and DF4 only) from 3,000 ft to
  FL400 over ``--duration`` seconds; every receiver a free-running 12 MHz counter (offset up
  to 3,000 s, drift ±30 ppm) with 80 ns Gaussian jitter; 10 % of receptions lost.
- ``synthetic_gps``: the same with GPS-true counters (80 ns jitter).
- ``simulator_mlat_benelux``: the simulator's built-in scenario (tailwatch simulate
  mlat_benelux: 8 receivers, 7 free clocks with 80 ns jitter and one GPS clock, a counter
  restart, 44 aircraft of which 4 send no ADS-B position, 15 minutes).

Everything goes through Dedup and Pipeline(receivers=...) in 1 s batches, as a live run does.

Figures:

- horizontal error of every MLAT position the tracker accepted against the truth at its
  time (median, 95th percentile);
- ``placed_share``: for each Mode S-only aircraft, the 1 s steps in which some transmission
  of it reached ≥ 4 receivers, and the share of those steps with an MLAT position of it
  within ±1 s; the median over aircraft and the pooled share are given;
  ``transmissions_placed_share``, stricter: the share of those transmissions (heard by ≥ 4
  receivers) that themselves gave an MLAT position;
- ``solutions_per_cpu_s``: solved transmissions per CPU second of the whole MLAT stage
  (counter checks, clock sync, solve, filter; ``time.process_time`` around
  ``Multilateration.process``, single-threaded, so per core); ``solve_only_per_cpu_s``:
  transmissions attempted per CPU second of the compiled solve alone.

The machine is shared: the load average before and after is recorded.

    .venv/bin/python bench/mlat.py [--runs 3] [--aircraft 240] [--duration 300]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, ROOT, console, machine, versions
from tailwatch.core.frames import FrameBatch
from tailwatch.core.schema import SOURCE_LABELS
from tailwatch.ingest.dedup import Dedup
from tailwatch.mlat import Multilateration, Sites
from tailwatch.mlat import solve as sv
from tailwatch.mlat.synthetic import Scenario, generate
from tailwatch.pipeline import Pipeline
from tailwatch.track.tracker import PositionBatch, Tracker

MLAT = SOURCE_LABELS.index("mlat")
F64 = npt.NDArray[np.float64]


class TimedMlat(Multilateration):
    cpu_s = 0.0
    solve_cpu_s = 0.0

    def process(self, *args: Any, **kwargs: Any) -> Any:
        c0 = time.process_time()
        try:
            return super().process(*args, **kwargs)
        finally:
            self.cpu_s += time.process_time() - c0


_solve_batch = sv.solve_batch


def run(frames: FrameBatch, sites: Sites) -> tuple[PositionBatch, TimedMlat, float]:
    ml = TimedMlat(sites)

    def timed_solve(*a: Any) -> None:
        c0 = time.process_time()
        _solve_batch(*a)
        ml.solve_cpu_s += time.process_time() - c0

    sv.solve_batch = timed_solve  # the engine calls it through the module
    pipe = Pipeline(tracker=Tracker(use_airports=False), receivers=ml)
    dd = Dedup()
    t = frames.t_rx
    edges = np.searchsorted(t, np.arange(t[0], t[-1] + 1.0, 1.0))
    out = []
    w0 = time.perf_counter()
    for a, b in itertools.pairwise(edges):
        db = dd.push(frames.take(np.arange(a, b)))
        out.append(pipe.process(db.frames, wall_time=0.0, receptions=db))
    db = dd.flush()
    out.append(pipe.process(db.frames, wall_time=0.0, receptions=db))
    wall = time.perf_counter() - w0
    cols = {k: np.concatenate([p.columns[k] for p in out]) for k in out[0].columns}
    return PositionBatch(cols), ml, wall


def errors_m(lat: F64, lon: F64, tlat: F64, tlon: F64) -> F64:
    out: F64 = np.hypot((lat - tlat) * 111_195, (lon - tlon) * 111_195 * np.cos(np.radians(tlat)))
    return out


def per_transmission(fix_icao: np.ndarray, fix_t: F64, heard_icao: np.ndarray,
                     heard_t: F64) -> float:
    """Share of the transmissions heard by ≥ 4 receivers that gave an MLAT position (each
    position matched to the transmission of its aircraft nearest in time, within 5 ms)."""
    if heard_t.size == 0:
        return float("nan")
    t0 = float(heard_t.min())
    key = np.sort(heard_icao.astype(np.float64) * 1e4 + (heard_t - t0))
    q = fix_icao.astype(np.float64) * 1e4 + (fix_t - t0)
    i = np.clip(np.searchsorted(key, q), 1, key.size - 1)
    near = np.minimum(np.abs(key[i] - q), np.abs(key[i - 1] - q)) < 0.005
    j = np.where(np.abs(key[i] - q) < np.abs(key[i - 1] - q), i, i - 1)
    return len(np.unique(j[near])) / key.size


def placed(fix_icao: np.ndarray, fix_t: F64, heard_icao: np.ndarray, heard_t: F64,
           ) -> tuple[float, float, int]:  # fmt: skip
    """(median over aircraft, pooled share, aircraft) of 1 s steps heard by ≥ 4 receivers
    that have an MLAT fix within ±1 s."""
    shares = []
    num = den = 0
    for a in np.unique(heard_icao).tolist():
        steps = np.unique(np.floor(heard_t[heard_icao == a]))
        ft = np.sort(fix_t[fix_icao == a])
        if ft.size == 0:
            hit = np.zeros(steps.size, bool)
        else:
            i = np.clip(np.searchsorted(ft, steps + 0.5), 1, ft.size - 1)
            near = np.minimum(np.abs(ft[i] - steps - 0.5), np.abs(ft[i - 1] - steps - 0.5))
            hit = near <= 1.5
        shares.append(float(hit.mean()))
        num += int(hit.sum())
        den += steps.size
    return float(np.median(shares)), num / max(den, 1), len(shares)


def synthetic(clock: str, seed: int, n_aircraft: int, duration_s: float) -> dict[str, Any]:
    sc = Scenario(n_aircraft=n_aircraft, mode_s_only=0.25, duration_s=duration_s,
                  n_receivers=8, clock=clock, jitter_ns=80.0, seed=seed)
    feed = generate(sc)
    pb, ml, wall = run(feed.frames, feed.sites)
    m = pb["source"] == MLAT
    tlat, tlon = feed.truth(pb["icao24"][m], pb["t"][m])
    err = errors_m(pb["lat"][m], pb["lon"][m], tlat, tlon)
    only = feed.mode_s_only[feed.tx_aircraft]
    four = only & (feed.tx_heard >= 4)
    share = placed(pb["icao24"][m], pb["t"][m], feed.icao24[feed.tx_aircraft[four]],
                   feed.tx_t[four])
    # message times are the first reception (the transmission + ≤ 1 ms, to the ms)
    tx_share = per_transmission(pb["icao24"][m], pb["t"][m] - 0.001,
                                feed.icao24[feed.tx_aircraft[four]], feed.tx_t[four])
    return _summary(err, share, tx_share, ml, wall, len(feed.frames), n_aircraft,
                    int(feed.mode_s_only.sum()))


def simulator(seed: int) -> dict[str, Any]:
    from tailwatch.ingest.net import Receivers
    from tailwatch.simulate import load_scenario, sidecar, simulate
    from tailwatch.simulate import transmit as tx

    sim = simulate(load_scenario("mlat_benelux"), seed=seed)
    rx = Receivers()
    for r in sim.receivers:
        rx.add(r.name, id64=r.id64)
    sites = Sites.for_run(rx)
    tmp = RESULTS / f".mlat_sidecar_{os.getpid()}.json"
    try:
        tmp.write_text(json.dumps(sidecar(sim)))
        sites = Sites([*Sites.from_file(tmp).sites], receivers=rx)
    finally:
        tmp.unlink(missing_ok=True)
    pb, ml, wall = run(sim.frames, sites)
    s = sim.schedule
    m = pb["source"] == MLAT
    order = np.lexsort((s["t"], s["icao24"]))
    t0 = float(s["t"].min())
    key = s["icao24"][order].astype(np.float64) * 1e4 + (s["t"][order] - t0)
    q = pb["icao24"][m].astype(np.float64) * 1e4 + (pb["t"][m] - t0)
    i = np.clip(np.searchsorted(key, q), 1, key.size - 1)
    j = np.where(np.abs(key[i] - q) < np.abs(key[i - 1] - q), i, i - 1)
    err = errors_m(pb["lat"][m], pb["lon"][m], s["lat"][order][j], s["lon"][order][j])
    with_pos = np.unique(s["icao24"][s["kind"] == tx.AIR_POS])
    good = (sim.frame_msg >= 0) & (sim.frame_noise == 0)
    n_rx = np.bincount(sim.frame_msg[good], minlength=s["t"].size)
    only = ~np.isin(s["icao24"], with_pos) & (n_rx >= 4)
    share = placed(pb["icao24"][m], pb["t"][m], s["icao24"][only], s["t"][only])
    tx_share = per_transmission(pb["icao24"][m], pb["t"][m] - 0.001, s["icao24"][only],
                                s["t"][only])
    n_ac = len(np.unique(s["icao24"]))
    return _summary(err, share, tx_share, ml, wall, len(sim.frames), n_ac,
                    int((~np.isin(np.unique(s["icao24"]), with_pos)).sum()))


def _summary(err: F64, share: tuple[float, float, int], tx_share: float, ml: TimedMlat,
             wall: float, frames: int, n_aircraft: int, n_only: int) -> dict[str, Any]:
    st = ml.stats()
    return {
        "frames": frames,
        "aircraft": n_aircraft,
        "mode_s_only_aircraft": n_only,
        "mlat_positions": int(err.size),
        "median_error_m": float(np.median(err)) if err.size else None,
        "p95_error_m": float(np.percentile(err, 95)) if err.size else None,
        "placed_share_median": share[0],
        "placed_share_pooled": share[1],
        "placed_aircraft": share[2],
        "transmissions_placed_share": tx_share,
        "targets": st["targets"],
        "solved": st["solved"],
        "mlat_cpu_s": ml.cpu_s,
        "solutions_per_cpu_s": st["solved"] / ml.cpu_s if ml.cpu_s else None,
        "solve_cpu_s": ml.solve_cpu_s,
        "solve_only_per_cpu_s": st["targets"] / ml.solve_cpu_s if ml.solve_cpu_s else None,
        "pipeline_wall_s": wall,
        "counters": {k: v for k, v in st.items() if k != "bad_receivers"},
        "bad_receivers": st["bad_receivers"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--aircraft", type=int, default=240)
    ap.add_argument("--duration", type=float, default=300.0)
    ap.add_argument("--out", default=str(RESULTS / "mlat.json"))
    args = ap.parse_args()
    load_before = os.getloadavg()
    # warm-up: numba compiles (cached after the first run)
    synthetic("free", 99, 20, 20.0)
    corpora: dict[str, list[dict[str, Any]]] = {"synthetic_free": [], "synthetic_gps": [],
                                                "simulator_mlat_benelux": []}
    for k in range(args.runs):
        for clock in ("free", "gps"):
            r = synthetic(clock, 100 + k, args.aircraft, args.duration)
            corpora[f"synthetic_{clock}"].append(r)
            console.print(f"synthetic {clock} run {k + 1}: median {r['median_error_m']:.1f} m, "
                          f"p95 {r['p95_error_m']:.1f} m, placed {r['placed_share_median']:.3f}, "
                          f"{r['solutions_per_cpu_s']:,.0f} solutions/CPU s")
        r = simulator(18 + k)
        corpora["simulator_mlat_benelux"].append(r)
        console.print(f"simulator run {k + 1}: median {r['median_error_m']:.1f} m, "
                      f"p95 {r['p95_error_m']:.1f} m, placed {r['placed_share_median']:.3f}, "
                      f"{r['solutions_per_cpu_s']:,.0f} solutions/CPU s")
    keys = ("median_error_m", "p95_error_m", "placed_share_median", "placed_share_pooled",
            "transmissions_placed_share",
            "solutions_per_cpu_s", "solve_only_per_cpu_s", "mlat_positions")
    summary = {name: {key: statistics.median(r[key] for r in runs) for key in keys}
               for name, runs in corpora.items()}
    targets = {"median_error_m": 50.0, "p95_error_m": 300.0, "placed_share": 0.80,
               "solutions_per_cpu_s": 20_000.0}
    payload = {
        "benchmark": "mlat",
        "description": __doc__,
        "args": vars(args),
        "targets": targets,
        "summary_median_of_runs": summary,
        "runs": corpora,
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "versions": versions("tailwatch", "numpy", "numba"),
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    path = os.path.abspath(args.out)
    with open(path, "w") as fh:
        fh.write(json.dumps(payload, indent=2) + "\n")
    console.print_json(json.dumps(summary))
    console.print(f"written {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
