"""Ingest speed: Beast framing from a file and from 10 concurrent loopback TCP feeds, through
decoding, against a pure-Python framing loop and dump1090-mutability (C), in one run.

Corpus: every real frame we have (bench/common.py ``mixed_hex``), replicated to at least
``--messages`` with ``--aircraft`` distinct addresses and recomputed parity, given increasing
12 MHz counters and a signal level, and written as Beast (``0x1a``-escaped) — ~17 bytes a
message.

Contenders (median of ``--runs``, after a warm-up run):

* tailwatch, file → Beast framing (``read_frames``), then framing + decoding, then framing +
  decoding + tracking (the whole ``Pipeline``);
* tailwatch, 10 loopback TCP feeds → framing (``beast+tcp://`` sources, the live path:
  asyncio, bounded queue, arrival stamping) + decoding; the 10 senders run in the same
  process (their share of the CPU is counted against tailwatch);
* a pure-Python framing loop (one tuple per message), the baseline, on the first
  ``--python-messages`` messages;
* dump1090-mutability, the same Beast stream pushed to its Beast input: CPU-seconds of the
  dump1090 process from the first byte to its last message (read from /proc), which covers
  framing, CRC, decoding and tracking in C. Its rate is messages per CPU-second. It finds an
  aircraft by walking a linked list, which dominates with thousands of aircraft, so the
  same frames over a receiver-sized fleet (``--small-fleet``, 200 addresses) are measured
  too, with tailwatch's whole pipeline beside it.

Writes bench/results/ingest.json.

    .venv/bin/python bench/ingest.py [--messages 1000000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import logging
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import itertools

import numpy as np

from common import Result, console, corpus, machine, measure, mixed_hex, versions, write_results
from tailwatch.core.frames import FrameBatch
from tailwatch.decode.api import decode_frames
from tailwatch.ingest.beast import encode_beast
from tailwatch.ingest.files import read_frames
from tailwatch.ingest.sources import Feed, FeedOptions
from tailwatch.ingest.urls import parse_source_url
from tailwatch.pipeline import Pipeline
from tailwatch.track.tracker import Tracker

N_FEEDS = 10


def build_corpus(n: int, n_aircraft: int) -> FrameBatch:
    frames, _ = mixed_hex()
    fb = corpus(frames, n, n_aircraft)
    fb.ts_12mhz[:] = 12_000_000 + np.arange(len(fb), dtype=np.uint64) * 6_000  # 2000 msg/s
    fb.signal_dbfs[:] = -18.0
    fb.t_rx[:] = np.nan
    return fb


# ----------------------------------------------------------------------------- pure Python


def python_framing(data: bytes) -> list[tuple[int, int, bytes]]:
    """The obvious Beast parser: byte by byte, one (counter, signal, frame) tuple a message."""
    out = []
    i, n = 0, len(data)
    lengths = {0x31: 2, 0x32: 7, 0x33: 14}
    while i < n - 1:
        if data[i] != 0x1A:
            i += 1
            continue
        mlen = lengths.get(data[i + 1])
        if mlen is None:
            i += 2
            continue
        need = 7 + mlen
        body = bytearray()
        j = i + 2
        while len(body) < need and j < n:
            b = data[j]
            if b == 0x1A:
                if j + 1 < n and data[j + 1] == 0x1A:
                    body.append(0x1A)
                    j += 2
                    continue
                break
            body.append(b)
            j += 1
        if len(body) < need:
            i = j
            continue
        out.append((int.from_bytes(body[:6], "big"), body[6], bytes(body[7:])))
        i = j
    return out


# ----------------------------------------------------------------------------- TCP feeds


async def tcp_feeds(parts: list[bytes], total: int) -> int:
    """10 loopback servers each send their part once; 10 beast+tcp sources read them; every
    collected batch is decoded. Returns the messages decoded."""
    async def serve(data: bytes) -> tuple[asyncio.Server, int]:
        async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            w.write(data)
            await w.drain()
            w.close()

        srv = await asyncio.start_server(handler, "127.0.0.1", 0)
        return srv, int(srv.sockets[0].getsockname()[1])

    servers = [await serve(p) for p in parts]
    feed = Feed([parse_source_url(f"beast+tcp://127.0.0.1:{port}?rx=feed{k}")
                 for k, (_, port) in enumerate(servers)],
                options=FeedOptions(batch_interval_s=0.05))
    decoded = 0
    await feed.start()
    try:
        while decoded < total:
            c = await feed.collect(0.05)
            if c.frames is not None:
                decoded += len(decode_frames(c.frames))
    finally:
        await feed.stop()
        for srv, _ in servers:
            srv.close()
    return decoded


# ----------------------------------------------------------------------------- dump1090


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [int(s.getsockname()[1]) for s in socks]
    for s in socks:
        s.close()
    return ports


def dump1090_run(exe: str, data: bytes, n: int, timeout_s: float = 120.0) -> tuple[float, int]:
    """Push the stream into dump1090's Beast input; returns (CPU-seconds spent on it, Mode S
    messages it reports received)."""
    ri, ro, sbs, bi, bo = _free_ports(5)
    proc = subprocess.Popen(
        [exe, "--net-only", "--net-bind-address", "127.0.0.1", "--net-ri-port", str(ri),
         "--net-ro-port", str(ro), "--net-sbs-port", str(sbs), "--net-bi-port", str(bi),
         "--net-bo-port", str(bo), "--quiet", "--stats"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        start_new_session=True)
    try:
        end = time.monotonic() + timeout_s
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", bi), timeout=0.5)
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.05)
        sock.settimeout(timeout_s)
        cpu0 = _cpu_seconds(proc.pid)
        with sock:
            sock.sendall(data)
            # done when dump1090 has read every byte (nothing left in our socket's send
            # queue, SIOCOUTQ) and its CPU time has stopped moving (it works every 100 ms)
            while time.monotonic() < end:
                unsent = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ,
                                                        b"\0\0\0\0"))[0]
                if unsent == 0:
                    break
                time.sleep(0.02)
            last, stable_since = -1.0, time.monotonic()
            while time.monotonic() < end:
                time.sleep(0.05)
                cpu = _cpu_seconds(proc.pid)
                if cpu != last:
                    last, stable_since = cpu, time.monotonic()
                elif time.monotonic() - stable_since > 0.5:
                    break
        cpu1 = _cpu_seconds(proc.pid)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    text = out.decode(errors="replace")
    block = text[text.find("Messages from network clients:"):]
    m = re.search(r"(\d+) Mode S messages received", block)
    received = int(m.group(1)) if m else -1
    # idle cost of its 100 ms loop over the quiet wait is part of cpu1 - cpu0: negligible
    # (it is measured as 0 ticks over seconds when idle)
    return cpu1 - cpu0, received


def dump1090_result(exe: str, data: bytes, n: int, corpus_name: str, runs: int) -> Result:
    cpus = []
    for _ in range(runs):
        cpu, received = dump1090_run(exe, data, n)
        if received != n:
            raise SystemExit(f"dump1090 received {received:,} of {n:,} messages")
        cpus.append(cpu)
    cpu = statistics.median(cpus)
    console.print(f"  {'dump1090-mutability':<34} {corpus_name:<10} {n / cpu / 1e6:8.3f} M "
                  "msg/CPU-s")
    return Result("dump1090-mutability (C), Beast in", corpus_name, n, runs, cpu, n / cpu,
                  n / cpu, "msg per CPU-second of the dump1090 process: framing, CRC, decode "
                  "and track (aircraft found by a linked-list walk)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--python-messages", type=int, default=200_000)
    p.add_argument("--aircraft", type=int, default=5_000)
    p.add_argument("--small-fleet", type=int, default=200,
                   help="distinct addresses of the second corpus (dump1090's list walk)")
    args = p.parse_args()
    logging.getLogger("tailwatch").setLevel(logging.ERROR)  # the feeds' reconnect notices
    fb = build_corpus(args.messages, args.aircraft)
    n = len(fb)
    data = encode_beast(fb)
    console.print(f"[bold]corpus[/]: {n:,} messages, {len(data):,} bytes of Beast")
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.beast"
        path.write_bytes(data)

        def frame_file() -> int:
            return sum(len(b) for b in read_frames(path, "beast"))

        def frame_decode_file() -> int:
            return sum(len(decode_frames(b)) for b in read_frames(path, "beast"))

        def pipeline_file() -> int:
            pl = Pipeline(tracker=Tracker(use_airports=False))
            for b in read_frames(path, "beast"):
                pl.process(b, wall_time=1.7e9)
            return pl.stats.messages

        assert frame_file() == n and frame_decode_file() == n
        results.append(measure("tailwatch Beast framing (file)", "mixed", n, frame_file,
                               args.runs))
        results.append(measure("tailwatch framing + decode (file)", "mixed", n,
                               frame_decode_file, args.runs))
        results.append(measure("tailwatch framing + decode + track (file)", "mixed", n,
                               pipeline_file, args.runs, "whole Pipeline, no airports"))
    bounds = np.linspace(0, n, N_FEEDS + 1).astype(int)
    parts = [encode_beast(fb.take(np.arange(a, b))) for a, b in itertools.pairwise(bounds)]
    results.append(measure(f"tailwatch {N_FEEDS} TCP feeds: framing + decode", "mixed", n,
                           lambda: asyncio.run(tcp_feeds(parts, n)), args.runs,
                           "loopback, senders in the same process"))
    k = min(args.python_messages, n)
    sub = encode_beast(fb.take(np.arange(k)))
    assert len(python_framing(sub)) == k
    results.append(measure("pure-Python framing loop", "mixed", k,
                           lambda: python_framing(sub), args.runs,
                           f"first {k:,} messages; the baseline"))
    exe = shutil.which("dump1090-mutability") or "/usr/bin/dump1090-mutability"
    dump_note = ""
    if Path(exe).exists():
        results.append(dump1090_result(exe, data, n, "mixed", args.runs))
        # dump1090 finds an aircraft by walking a linked list: with thousands of aircraft
        # that walk dominates. The same frames over a receiver-sized fleet, for both:
        small = build_corpus(args.messages, args.small_fleet)
        small_data = encode_beast(small)
        name = f"mixed-{args.small_fleet}ac"

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "small.beast"
            path.write_bytes(small_data)

            def pipeline_small_file() -> int:
                pl = Pipeline(tracker=Tracker(use_airports=False))
                for b in read_frames(path, "beast"):
                    pl.process(b, wall_time=1.7e9)
                return pl.stats.messages

            results.append(measure("tailwatch framing + decode + track (file)", name,
                                   len(small), pipeline_small_file, args.runs,
                                   "whole Pipeline, no airports"))
        results.append(dump1090_result(exe, small_data, len(small), name, args.runs))
    else:
        dump_note = f"{exe} not installed: no C reference in this run"
        console.print(f"[yellow]{dump_note}")
    write_results(
        "ingest",
        {
            "benchmark": "ingest",
            "description": __doc__,
            "corpus": {"messages": n, "beast_bytes": len(data),
                       "distinct_addresses": args.aircraft, "feeds": N_FEEDS},
            "machine": machine(),
            "versions": versions("tailwatch", "numpy", "numba"),
            "peer": {"dump1090-mutability": _dump_version(exe), "note": dump_note},
        },
        results,
    )


def _dump_version(exe: str) -> str:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "dump1090-mutability"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or exe
    except (OSError, subprocess.SubprocessError):
        return exe


if __name__ == "__main__":
    main()
