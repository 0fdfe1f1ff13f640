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


def test_receivers_file_turns_on_multilateration(tmp_path: Path) -> None:
    """Pipeline(receivers=FILE) multilaterates batches that come with their receptions
    (uids of the file = FrameBatch.receiver); MLAT positions reach the sinks, the result and
    the counters; without receptions or without receivers nothing is multilaterated."""
    from dataclasses import replace

    from tailwatch.core.schema import SOURCE_LABELS
    from tailwatch.ingest.dedup import Dedup
    from tailwatch.mlat.synthetic import Scenario, generate

    feed = generate(replace(Scenario(), n_aircraft=8, mode_s_only=0.5, duration_s=40.0))
    path = tmp_path / "receivers.json"
    path.write_text(json.dumps([{"uid": s.uid, "name": s.name, "lat": s.lat, "lon": s.lon,
                                 "alt_m": s.alt_m} for s in feed.sites.sites]))
    mlat = SOURCE_LABELS.index("mlat")
    db = Dedup(window_s=0.5).push(feed.frames)
    sunk: list[PositionBatch] = []
    with_rx = Pipeline(tracker=Tracker(use_airports=False), receivers=path, sinks=[sunk.append])
    out = with_rx.process(db.frames, wall_time=0.0, receptions=db)
    n = int((out["source"] == mlat).sum())
    assert n > 20
    assert sum(int((p["source"] == mlat).sum()) for p in sunk) == n
    assert with_rx.counters()["mlat_positions"] == n
    assert with_rx.counters()["mlat"]["solved"] >= n
    plain = Pipeline(tracker=Tracker(use_airports=False))
    assert not (plain.process(db.frames, wall_time=0.0, receptions=db)["source"] == mlat).any()
    assert "mlat" not in plain.counters()
    again = Pipeline(tracker=Tracker(use_airports=False), receivers=path)
    assert not (again.process(db.frames, wall_time=0.0)["source"] == mlat).any()
