"""Shared helpers of the benchmarks: corpora from real frames, timing, machine facts, results."""

from __future__ import annotations

import csv
import gzip
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from tailwatch.core.frames import FrameBatch
from tailwatch.encode.bits import set_address

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared" / "data" / "raw_modes"
RESULTS = ROOT / "bench" / "results"
console = Console(width=150)


def afr34zg_hex() -> list[str]:
    with gzip.open(DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz", "rt") as fh:
        return [json.loads(line)["frame"] for line in fh]


def mixed_hex() -> tuple[list[str], dict[str, int]]:
    """Every real frame we have: ADS-B, Comm-B, the AFR34ZG flight, Beast and rs1090 samples."""
    parts: dict[str, list[str]] = {}
    with open(DATA / "pymodes_sample_data_adsb.csv") as fh:
        parts["pymodes_adsb"] = [r[1] for r in csv.reader(fh)]
    for name in ("df20", "df21"):
        with open(DATA / f"pymodes_sample_data_commb_{name}.csv", encoding="utf-8-sig") as fh:
            parts[f"pymodes_commb_{name}"] = [r[2] for r in csv.reader(fh)]
    parts["afr34zg"] = afr34zg_hex()
    from tailwatch.ingest.files import read_frames

    beast = FrameBatch.concat(list(read_frames(DATA / "traffic_sample_dump1090.beast", "beast")))
    parts["traffic_beast"] = [beast.hex(i) for i in range(len(beast)) if beast.nbytes[i] >= 7]
    rs = SHARED / "rs1090_short_flights.csv"
    if rs.exists():
        with open(rs) as fh:
            parts["rs1090_short_flights"] = [r[1] for r in csv.reader(fh)]
    frames = [f for p in parts.values() for f in p]
    return frames, {k: len(v) for k, v in parts.items()}


def nominal(hexmsg: str) -> str:
    """The frame at its DF's length (short replies stored in 14-byte containers)."""
    return hexmsg[:14] if (int(hexmsg[:2], 16) >> 3) in (0, 4, 5, 11) else hexmsg


def corpus(frames: list[str], n_min: int, n_aircraft: int, seed: int = 1) -> FrameBatch:
    """Replicate real frames to at least ``n_min`` rows, giving each row one of ``n_aircraft``
    addresses and recomputing its parity (so that address/parity replies stay consistent)."""
    base = FrameBatch.from_hex([nominal(f) for f in frames])
    reps = -(-n_min // len(base))
    raw = np.tile(base.raw, (reps, 1))
    nbytes = np.tile(base.nbytes, reps)
    rng = np.random.default_rng(seed)
    pool = rng.choice(np.arange(0x100000, 0xF00000, dtype=np.uint32), n_aircraft, replace=False)
    set_address(raw, nbytes, pool[rng.integers(0, n_aircraft, raw.shape[0])])
    t = 1.7e9 + np.arange(raw.shape[0], dtype=np.float64) * 1e-3
    return FrameBatch.from_matrix(raw, nbytes, t_rx=t)


class Timed:
    """A sink wrapper adding up the time spent in it (its flush included)."""

    def __init__(self, sink: Callable[..., Any]) -> None:
        self.sink = sink
        self.s = 0.0

    def __call__(self, *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self.sink(*args)
        finally:
            self.s += time.perf_counter() - t0

    def flush(self) -> None:
        t0 = time.perf_counter()
        self.sink.flush()  # type: ignore[attr-defined]
        self.s += time.perf_counter() - t0


@dataclass
class Result:
    contender: str
    corpus: str
    messages: int
    runs: int
    median_s: float
    msg_per_s: float
    cpu_msg_per_s: float
    note: str = ""


def measure(
    name: str, corpus_name: str, n: int, fn: Callable[[], Any], runs: int, note: str = ""
) -> Result:
    fn()  # warm-up (JIT compilation, caches)
    walls, cpus = [], []
    for _ in range(runs):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    wall = statistics.median(walls)
    cpu = statistics.median(cpus)
    r = Result(name, corpus_name, n, runs, wall, n / wall, n / cpu if cpu else float("nan"), note)
    console.print(f"  {name:<34} {corpus_name:<10} {r.msg_per_s / 1e6:8.3f} M msg/s")
    return r


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def versions(*packages: str) -> dict[str, str]:
    out = {}
    for p in packages:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def write_results(name: str, payload: dict[str, Any], results: list[Result]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {**payload, "results": [asdict(r) for r in results]}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    table = Table(title=f"{name}: median of runs, messages per second")
    for col in ("contender", "corpus", "messages", "runs", "M msg/s (wall)", "M msg/s (CPU)",
                "note"):
        table.add_column(col)
    for r in results:
        table.add_row(r.contender, r.corpus, f"{r.messages:,}", str(r.runs),
                      f"{r.msg_per_s / 1e6:.3f}", f"{r.cpu_msg_per_s / 1e6:.3f}", r.note)
    console.print(table)
    console.print(f"written {path.relative_to(ROOT)}")
    return path


def peak_rss_mb() -> float:
    """Peak RSS of this process (VmHWM: unlike ``ru_maxrss``, not inherited from the parent
    that forked it, which may have held a whole generated feed)."""
    import resource

    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rss_mb() -> float:
    """Current RSS of this process (NaN where /proc is absent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def profile_summary(path: Path, top: int = 25) -> list[dict[str, Any]]:
    """The ``top`` functions of a cProfile dump by cumulative time."""
    import io
    import pstats

    st = pstats.Stats(str(path), stream=io.StringIO())
    rows = []
    stats: dict[Any, Any] = st.stats  # type: ignore[attr-defined]
    for (file, line, name), (_cc, nc, tt, ct, _callers) in stats.items():
        rows.append({"function": f"{Path(file).name}:{line}:{name}", "calls": nc,
                     "self_s": round(tt, 3), "cumulative_s": round(ct, 3)})
    rows.sort(key=lambda r: -r["cumulative_s"])
    return rows[:top]


class TimedSink(Timed):
    """:class:`Timed` for a pipeline sink that takes the batches holding only tracker rejects
    (``takes_rejects``, the flight detector's): the wrapper says so too, or the pipeline would
    pass it by on those batches."""

    def __init__(self, sink: Callable[..., Any]) -> None:
        super().__init__(sink)
        self.takes_rejects = bool(getattr(sink, "takes_rejects", False))


class TimedCall:
    """The time spent in a plain callable (alert rules, a publisher, a dedup push): unlike
    :class:`Timed` it has no ``flush``, so an aggregator flushing its sinks passes it by."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.s = 0.0

    def __call__(self, *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self.fn(*args)
        finally:
            self.s += time.perf_counter() - t0
