"""The real AFR34ZG flight (Paris CDG → Toulouse, 2024-07-06) replayed for the serve tests.

Decoded once per test session; snapshots at chosen times come from a Tracker fed up to that
time; rs1090's own decoding (fields of the same JSON lines) is the independent oracle.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from tailwatch import decode
from tailwatch.track.tracker import PositionBatch, Snapshot, Tracker

DATA = Path(__file__).parent.parent / "data"
AFR_FILE = DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz"
AFR = 0x393322


@lru_cache(maxsize=1)
def records() -> tuple[dict[str, Any], ...]:
    with gzip.open(AFR_FILE, "rt") as fh:
        return tuple(json.loads(line) for line in fh)


@lru_cache(maxsize=1)
def _batch() -> Any:
    recs = records()
    return decode([r["frame"] for r in recs], times=[r["timestamp"] for r in recs])


def t0() -> float:
    return float(records()[0]["timestamp"])


def replay(times: list[float]) -> tuple[list[Snapshot], PositionBatch]:
    """Snapshots at each of ``times`` (ascending) and every position up to the last one."""
    batch = _batch()
    t = batch.columns["t"]
    tracker = Tracker()
    snaps: list[Snapshot] = []
    parts: list[PositionBatch] = []
    start = 0
    for when in times:
        stop = int(np.searchsorted(t, when, side="right"))
        if stop > start:
            parts.append(tracker.update(batch.take(np.arange(start, stop))))
        start = stop
        snaps.append(tracker.snapshot(when))
    cols = {k: np.concatenate([p.columns[k] for p in parts]) for k in parts[0].columns}
    return snaps, PositionBatch(cols)


def last_value(key: str, before: float, dfs: tuple[str, ...] | None = None) -> Any:
    """rs1090's last decoded ``key`` at or before ``before`` (optionally from these DFs)."""
    value = None
    for r in records():
        if r["timestamp"] > before:
            break
        if key in r and (dfs is None or r["df"] in dfs):
            value = r[key]
    return value
