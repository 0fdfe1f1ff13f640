"""Decoding speed: tailwatch's batch decoder against pyModeS and rs1090, in one run.

Corpora are built from real frames (tests/data, and ../shared where present), replicated to
at least a million messages with varied ICAO addresses and recomputed parity:
- ``afr34zg``: the frames of the AFR34ZG gate-to-gate flight (DF0/4/5/16/17/20/21);
- ``mixed``: every real frame we have (pyModeS ADS-B and Comm-B samples, AFR34ZG, the traffic
  Beast sample, rs1090's short flights when ../shared is present).

tailwatch is measured on the whole corpus, from the (N, 14) frame matrix the ingest stage
hands over and from hex strings (the peers' input). The peers decode one Python object per
message, so they are measured on the first ``--peer-messages`` messages of the same corpus.
Single process; wall and CPU time, median of ``--runs``. Writes bench/results/decode.json.

    .venv/bin/python bench/decode.py [--messages 1000000] [--runs 5] [--peer-messages 50000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyModeS as pms
import rs1090

from common import (
    Result,
    afr34zg_hex,
    console,
    corpus,
    machine,
    measure,
    mixed_hex,
    versions,
    write_results,
)
from tailwatch import decode, decode_frames
from tailwatch.core.frames import FrameBatch


def run_corpus(name: str, fb: FrameBatch, args: argparse.Namespace) -> list[Result]:
    n = len(fb)
    hexes = [fb.hex(i) for i in range(n)]
    times = fb.t_rx.tolist()
    k = min(args.peer_messages, n)
    console.print(f"[bold]{name}[/]: {n:,} messages")
    out = [
        measure("tailwatch decode (frame matrix)", name, n, lambda: decode_frames(fb), args.runs),
        measure("tailwatch decode (hex strings)", name, n, lambda: decode(hexes, times=times),
                args.runs),
    ]
    sub, subt = hexes[:k], times[:k]
    note = f"first {k:,} messages"
    out.append(measure("pyModeS 3 decode, per message", name, k,
                       lambda: [pms.decode(h) for h in sub], args.runs, note))
    out.append(measure("pyModeS 3 decode, batch (list)", name, k,
                       lambda: pms.decode(sub, timestamps=subt), args.runs, note))
    out.append(measure("rs1090 decode, batch (list)", name, k,
                       lambda: rs1090.decode(sub, subt), args.runs, note))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--peer-messages", type=int, default=50_000)
    p.add_argument("--aircraft", type=int, default=5_000, help="distinct addresses in a corpus")
    args = p.parse_args()
    mixed, parts = mixed_hex()
    corpora = {
        "afr34zg": corpus(afr34zg_hex(), args.messages, args.aircraft),
        "mixed": corpus(mixed, args.messages, args.aircraft),
    }
    results: list[Result] = []
    for name, fb in corpora.items():
        accepted = len(decode_frames(fb))
        assert accepted == len(fb), f"{name}: {len(fb) - accepted} frames rejected"
        results += run_corpus(name, fb, args)
    write_results(
        "decode",
        {
            "benchmark": "decode",
            "description": __doc__,
            "corpora": {
                "afr34zg": {"messages": len(corpora["afr34zg"]), "source_frames": 57793},
                "mixed": {"messages": len(corpora["mixed"]), "source_frames": parts},
                "distinct_addresses": args.aircraft,
            },
            "machine": machine(),
            "versions": versions("tailwatch", "numpy", "numba", "pyModeS", "rs1090"),
        },
        results,
    )


if __name__ == "__main__":
    main()
