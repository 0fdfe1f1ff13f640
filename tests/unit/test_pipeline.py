"""The pipeline: batches in any size give the same result; times from 12 MHz counters."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

from tailwatch import FrameBatch
from tailwatch.ingest.files import read_frames
from tailwatch.pipeline import Pipeline
from tailwatch.track.tracker import PositionBatch, Tracker

DATA = Path(__file__).parent.parent / "data"


def _afr() -> FrameBatch:
    with gzip.open(DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz", "rt") as fh:
        recs = [json.loads(line) for line in fh]
    return FrameBatch.from_hex([r["frame"] for r in recs], t_rx=[r["timestamp"] for r in recs])


def test_batch_size_does_not_change_the_result() -> None:
    fb = _afr()
    whole: list[PositionBatch] = []
    Pipeline(sinks=[whole.append]).process(fb.take(np.arange(len(fb))))
    parts: list[PositionBatch] = []
    p = Pipeline(sinks=[parts.append])
    for start in range(0, len(fb), 1000):
        p.process(fb.take(np.arange(start, min(start + 1000, len(fb)))))
    a = np.concatenate([x["lat"] for x in whole])
    b = np.concatenate([x["lat"] for x in parts])
    assert len(a) == len(b) > 8000 and np.array_equal(a, b)
    assert p.stats.frames == len(fb) == p.stats.messages + p.stats.decode_rejects.total_rejected()
    snap = p.snapshot()
    assert len(snap) == 1 and p.counters()["tracker"]["messages"] == len(fb)


def test_times_from_the_12mhz_counter() -> None:
    fb = FrameBatch.concat(list(read_frames(DATA / "traffic_sample_dump1090.beast", "beast")))
    assert np.isnan(fb.t_rx).all() and (fb.ts_12mhz > 0).all()
    p = Pipeline(tracker=Tracker(use_airports=False))
    p.process(fb, wall_time=1_000_000.0)
    t = fb.t_rx
    assert t[0] == 1_000_000.0
    expected = 1_000_000.0 + (fb.ts_12mhz.astype(np.int64) - int(fb.ts_12mhz[0])) / 12e6
    assert np.allclose(t, expected)
    assert 10.0 < t.max() - t.min() < 60.0  # the sample spans about 24 s
    assert p.tracker.stats()["no_time"] == 0 and len(p.tracker) > 0
