"""Decode + track speed: tailwatch against pyModeS's PipeDecoder and dump1090-mutability.

Corpus: the real AFR34ZG gate-to-gate flight replicated ``--replicas`` times, each replica a
different aircraft (its own ICAO address, parity recomputed) flying the same path at the same
times — coherent tracks, so the tracker does its full work (CPR pairs, speed checks).

- tailwatch: ``decode_frames`` + ``Tracker.update`` on the whole corpus, batches of 65,536.
- pyModeS 3: ``PipeDecoder`` (stateful: CPR pairing, state), on the first ``--peer-messages``.
- dump1090-mutability (C, Debian): the same frames pushed as Beast over loopback into its
  Beast input port; its CPU-seconds (utime + stime from /proc) for the stream.

Median of ``--runs``; writes bench/results/track.json.

    .venv/bin/python bench/track.py [--replicas 20] [--runs 5] [--peer-messages 50000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyModeS as pms

from common import Result, afr34zg_hex, console, machine, measure, nominal, versions, write_results
from tailwatch.core.frames import FrameBatch
from tailwatch.decode.api import decode_frames
from tailwatch.encode.bits import set_address
from tailwatch.ingest.beast import encode_beast
from tailwatch.track.tracker import Tracker

BATCH = 65_536


def flight_corpus(replicas: int) -> FrameBatch:
    import gzip
    import json

    from common import DATA

    with gzip.open(DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz", "rt") as fh:
        times = np.array([json.loads(line)["timestamp"] for line in fh])
    base = FrameBatch.from_hex([nominal(f) for f in afr34zg_hex()], t_rx=times)
    n = len(base)
    raw = np.tile(base.raw, (replicas, 1))
    nbytes = np.tile(base.nbytes, replicas)
    addr = np.repeat(0x400000 + np.arange(replicas, dtype=np.uint32) * 977, n)
    set_address(raw, nbytes, addr)
    t = np.tile(times, replicas) + np.repeat(np.arange(replicas) * 1e-4, n)
    order = np.argsort(t, kind="stable")
    return FrameBatch.from_matrix(raw[order], nbytes[order], t_rx=t[order])


def tailwatch_run(fb: FrameBatch) -> None:
    tracker = Tracker()
    for start in range(0, len(fb), BATCH):
        sl = np.arange(start, min(start + BATCH, len(fb)))
        tracker.update(decode_frames(fb.take(sl)))


def pymodes_run(hexes: list[str], times: list[float]) -> None:
    pipe = pms.PipeDecoder()
    for h, t in zip(hexes, times, strict=True):
        pipe.decode(h, timestamp=t)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dump1090_cpu(stream: bytes, runs: int) -> list[float]:
    """CPU-seconds dump1090-mutability spends on ``stream`` pushed to its Beast input."""
    exe = shutil.which("dump1090-mutability")
    if exe is None:
        raise SystemExit("dump1090-mutability is not installed (make peers)")
    out = []
    for _ in range(runs):
        port = _free_port()
        proc = subprocess.Popen(
            [exe, "--net-only", "--quiet", "--net-bind-address", "127.0.0.1",
             "--net-bi-port", str(port), "--net-ri-port", "0", "--net-ro-port", "0",
             "--net-sbs-port", "0", "--net-bo-port", "0", "--net-heartbeat", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    conn = socket.create_connection(("127.0.0.1", port), timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                raise SystemExit("dump1090-mutability did not open its Beast input port")
            before = _cpu_s(proc.pid)
            conn.settimeout(300)
            with conn:
                conn.sendall(stream)
            last, idle = _cpu_s(proc.pid), 0
            while idle < 5:  # wait until it has consumed the stream (CPU stops rising)
                time.sleep(0.2)
                now = _cpu_s(proc.pid)
                idle = idle + 1 if now - last < 0.005 else 0
                last = now
            out.append(last - before)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--replicas", type=int, default=20)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--peer-messages", type=int, default=50_000)
    args = p.parse_args()
    fb = flight_corpus(args.replicas)
    n = len(fb)
    console.print(f"[bold]corpus[/]: {n:,} messages, {args.replicas} aircraft")
    results: list[Result] = [
        measure("tailwatch decode + track", "afr34zg_x", n, lambda: tailwatch_run(fb), args.runs)
    ]
    k = min(args.peer_messages, n)
    hexes = [fb.hex(i) for i in range(k)]
    times = fb.t_rx[:k].tolist()
    results.append(measure("pyModeS 3 PipeDecoder", "afr34zg_x", k,
                           lambda: pymodes_run(hexes, times), args.runs,
                           f"first {k:,} messages"))
    stream = encode_beast(fb)
    cpu = dump1090_cpu(stream, args.runs)
    med = statistics.median(cpu)
    console.print(f"  dump1090-mutability CPU-s {med:.2f} → {n / med / 1e6:.3f} M msg/CPU-s")
    results.append(Result("dump1090-mutability (C), Beast over loopback", "afr34zg_x", n,
                          args.runs, med, float("nan"), n / med,
                          "CPU-seconds of the dump1090 process; wall not comparable"))
    write_results("track", {
        "benchmark": "track",
        "description": __doc__,
        "corpus": {"messages": n, "aircraft": args.replicas, "source": "AFR34ZG x replicas"},
        "machine": machine(),
        "versions": versions("tailwatch", "numpy", "numba", "pyModeS"),
    }, results)


if __name__ == "__main__":
    main()
