"""Implausible positions the tracker rejects, per aircraft: Tracker.take_position_rejects, the
pipeline's PositionBatch.rejects, and the implausible_position events they become in the store
(through DetectionSink → FlightDetector.update(..., rejects=...))."""

from __future__ import annotations

import csv
import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tailwatch import FrameBatch
from tailwatch.encode.bits import set_address
from tailwatch.history.detection import DetectionSink
from tailwatch.pipeline import Pipeline
from tailwatch.store import open_store
from tailwatch.store.base import to_columns
from tailwatch.track.tracker import IMPLAUSIBLE_REJECTS, PositionBatch, Tracker

DATA = Path(__file__).parent.parent / "data"
AFR = 0x393322
CHUNK = 2_000  # frames per pipeline batch

Recording = tuple[list[str], list[float]]


@pytest.fixture(scope="module")
def clean() -> Recording:
    with gzip.open(DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz", "rt") as fh:
        recs = [json.loads(line) for line in fh]
    return [r["frame"] for r in recs], [r["timestamp"] for r in recs]


def _foreign() -> list[str]:
    """Airborne position frames of aircraft over the Netherlands (the pyModeS sample, 2016),
    readdressed to AFR34ZG."""
    with open(DATA / "pymodes_sample_data_adsb.csv") as fh:
        frames = [r[1] for r in csv.reader(fh) if r[3] in ("11", "12", "13")]
    fb = FrameBatch.from_hex(frames)
    set_address(fb.raw, fb.nbytes, np.full(len(fb), AFR, np.uint32))
    return [fb.hex(i) for i in range(len(fb))]


@pytest.fixture(scope="module")
def injected(clean: Recording) -> Recording:
    """The AFR34ZG flight with a foreign position injected after every 50th message (as in
    tests/unit/test_track.py)."""
    foreign = _foreign()
    frames: list[str] = []
    times: list[float] = []
    k = 0
    for i, (f, t) in enumerate(zip(*clean, strict=True)):
        frames.append(f)
        times.append(t)
        if i % 50 == 25 and k < len(foreign):
            frames.append(foreign[k])
            times.append(t + 0.01)
            k += 1
    assert k > 500
    return frames, times


def _run(rec: Recording, sinks: list[Any]) -> tuple[Pipeline, list[PositionBatch]]:
    pipeline = Pipeline(tracker=Tracker(), sinks=sinks)
    frames, times = rec
    out = []
    for a in range(0, len(frames), CHUNK):
        fb = FrameBatch.from_hex(frames[a:a + CHUNK], t_rx=times[a:a + CHUNK])
        out.append(pipeline.process(fb))
    return pipeline, out


def _stored_implausible(
    rec: Recording, max_delay_s: float = 0.0  # 0: detect at every pipeline batch
) -> tuple[Pipeline, DetectionSink, list[dict[str, Any]], np.ndarray, np.ndarray]:
    store = open_store(":memory:")
    sink = DetectionSink(store, max_delay_s=max_delay_s)
    pipeline, _ = _run(rec, [sink])
    sink.flush()
    ev = to_columns("events", store.events(type="implausible_position"))
    store.close()
    details = [json.loads(d) for d in ev["details"].tolist()]
    return pipeline, sink, details, ev["icao24"], ev["lat"]


def _sum(details: list[dict[str, Any]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for d in details:
        total.update({k: v for k, v in d.items() if k in IMPLAUSIBLE_REJECTS})
    return total


def test_take_position_rejects_counts_since_the_last_call() -> None:
    tr = Tracker(use_airports=False)
    # 0x111111 jumps 600 NM in 10 s; 0x222222 sends a latitude out of range
    tr.update_states({"t": [0.0, 0.0, 10.0, 10.0], "icao24": [0x111111, 0x222222] * 2,
                      "lat": [48.0, 45.0, 58.0, 95.0], "lon": [2.0, 1.0, 2.0, 1.0]},
                     source="sbs")
    assert tr.take_position_rejects() == {
        0x111111: {"state_speed": 1}, 0x222222: {"state_bad_position": 1}}
    assert tr.take_position_rejects() == {}  # taken: counted again from zero
    # a vector not newer is a normal reject (not counted per aircraft); two new jumps are
    tr.update_states({"t": [0.0, 20.0, 30.0], "icao24": [0x111111] * 3,
                      "lat": [48.0, 58.0, 38.0], "lon": [2.0] * 3}, source="sbs")
    st = tr.stats()
    assert st["state_not_newer"] == 1 and st["state_speed"] == 3
    assert tr.take_position_rejects() == {0x111111: {"state_speed": 2}}
    assert tr.take_position_rejects() == {}


def test_pipeline_batches_carry_every_reject_of_the_aircraft(injected: Recording) -> None:
    pipeline, batches = _run(injected, [])
    total: Counter[str] = Counter()
    for b in batches:
        for icao, counts in (b.rejects or {}).items():
            assert icao == AFR
            total.update(counts)
    st = pipeline.tracker.stats()
    assert total["speed"] > 500  # most injected frames (others fail CPR: cpr_no_pair)
    assert total == Counter({r: st[r] for r in IMPLAUSIBLE_REJECTS if st[r]})
    assert pipeline.tracker.take_position_rejects() == {}


def test_a_batch_of_rejects_only_reaches_the_sinks_that_take_them(clean: Recording) -> None:
    class Takes(list[PositionBatch]):
        takes_rejects = True

        def __call__(self, positions: PositionBatch) -> None:
            self.append(positions)

    plain: list[PositionBatch] = []
    takes = Takes()
    pipeline, _ = _run(clean, [plain.append, takes])
    n_plain = len(plain)
    assert n_plain == len(takes) and all(b.rejects is None for b in takes)  # clean flight
    t_end = clean[1][-1]
    foreign = _foreign()[:10]
    pos = pipeline.process(FrameBatch.from_hex(
        foreign, t_rx=t_end + 0.1 * np.arange(1, len(foreign) + 1)))
    assert len(pos) == 0 and pos.rejects is not None and pos.rejects[AFR]["speed"] > 0
    assert len(plain) == n_plain  # the store, a test list: never an empty batch
    assert len(takes) == n_plain + 1 and takes[-1] is pos


def test_rejected_positions_become_implausible_position_events(injected: Recording) -> None:
    pipeline, sink, details, icao24, lat = _stored_implausible(injected)
    st = pipeline.tracker.stats()
    # an 80 min flight in batches of ~2.5 min of data: about one event per detector call
    assert len(details) >= 10
    assert set(icao24.tolist()) == {AFR}
    assert all(d["reason"] == "tracker_rejects" and d["speed"] > 0 for d in details)
    assert all(set(d) <= {"reason", *IMPLAUSIBLE_REJECTS} for d in details)
    # placed at the aircraft's last accepted position: on its path, not in Holland
    assert float(np.nanmax(lat)) < 49.1 and np.isfinite(lat).all()
    # every reject is in an event, or in the counts the detector holds for the next one
    pending = sink.detector._aircraft[AFR].rejected
    assert _sum(details) + Counter(pending) == Counter(
        {r: st[r] for r in IMPLAUSIBLE_REJECTS if st[r]})


def test_rejects_add_up_over_the_batches_the_sink_buffers(injected: Recording) -> None:
    """Every batch waits in the sink until the end (one detector call): one event with all
    the counts."""
    pipeline, _, details, _, _ = _stored_implausible(injected, max_delay_s=3600.0)
    assert details == [{"reason": "tracker_rejects", "speed": pipeline.tracker.stats()["speed"]}]


def test_the_clean_recording_has_no_implausible_position(clean: Recording) -> None:
    pipeline, _, details, _, _ = _stored_implausible(clean)
    assert details == []
    assert pipeline.tracker.stats()["positions"] == 8322


def test_rejects_without_positions_are_rate_limited_and_flushed() -> None:
    """An aircraft the tracker rejects at every call, never accepted (out of range, say): one
    event per ``implausible_every_s``, not one per call, and the counts held back in between
    come out at the end of the stream — none lost."""
    import json as _json

    from tailwatch.core.schema import POSITION_FIELDS, empty_columns
    from tailwatch.detect import FlightDetector

    det = FlightDetector()
    bad, other = 0x4CA123, 0x3C6444
    events = []
    for k in range(5):  # another aircraft's positions move the detector's clock, 1 s a call
        cols = empty_columns(POSITION_FIELDS, 1)
        cols["t"][:] = 1.7e9 + k
        cols["icao24"][:] = other
        cols["lat"][:], cols["lon"][:] = 50.0, 8.0 + 0.001 * k
        cols["altitude_ft"][:], cols["gs_kt"][:], cols["on_ground"][:] = 30000, 400, 0
        events.append(det.update(cols, rejects={bad: {"speed": 2}})[1])
    events.append(det.flush()[1])
    mine = [(str(t), d) for e in events for t, a, d in zip(
        e["type"].tolist(), e["icao24"].tolist(), e["details"].tolist(), strict=True)
        if int(a) == bad]
    assert [t for t, _ in mine] == ["implausible_position"] * 2  # the first call, the flush
    counts = [_json.loads(d)["speed"] if isinstance(d, str) else d["speed"] for _, d in mine]
    assert sum(counts) == 10 and counts[0] == 2
