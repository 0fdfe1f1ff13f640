"""Flight detection does not depend on how the positions are batched: one batch, fixed-size
batches, time slices, and the DetectionSink's buffered batches give the same flights and events
(real AFR34ZG positions for several interleaved aircraft, and synthetic flights with a squawk
emergency, a coverage gap and an unseen leg)."""

from __future__ import annotations

import gzip
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tailwatch import decode
from tailwatch.detect import FlightDetector, detect_flights, merge_flights
from tailwatch.detect import synthetic as sy
from tailwatch.detect.columns import Columns, take
from tailwatch.detect.flights import concat_events
from tailwatch.detect.params import DetectParams
from tailwatch.history.detection import DetectionSink
from tailwatch.store import open_store
from tailwatch.store.base import to_columns
from tailwatch.track.tracker import Tracker

DATA = Path(__file__).parent.parent / "data"
T0 = float(np.datetime64("2019-03-22T12:55:00", "s").astype("int64"))


def _afr_fleet(copies: int) -> Columns:
    """AFR34ZG's real positions, ``copies`` aircraft flying it a few seconds apart."""
    with gzip.open(DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz", "rt") as fh:
        recs = [json.loads(line) for line in fh]
    one = Tracker().update(decode([r["frame"] for r in recs],
                                  times=[r["timestamp"] for r in recs])).columns
    parts = []
    for k in range(copies):
        c = {name: col.copy() for name, col in one.items()}
        c["icao24"][:] = 0x390000 + 7 * k
        c["t"] = c["t"] + 3.0 * k
        parts.append(c)
    pos = {name: np.concatenate([p[name] for p in parts]) for name in one}
    return take(pos, np.argsort(pos["t"], kind="stable"))


def _synthetic() -> Columns:
    """Zurich → Paris with a squawk 7700 spell, and Paris → Zurich with its middle unseen."""
    a = sy.sample(sy.airport_to_airport(sy.runway_end("LSZH", "28"), sy.runway_end("LFPG", "27R"),
                                        T0, cruise_ft=33_000), 0x4B1F00, "SWR1234",
                  sample_s=2.0, squawk=2341)
    a["squawk"][(a["t"] >= a["t"][0] + 1800) & (a["t"] < a["t"][0] + 2400)] = 7700
    d = sy.airport_to_airport(sy.runway_end("LFPG", "09L"), sy.runway_end("LSZH", "14"),
                              T0 + 600.0, cruise_ft=31_000)
    b = sy.sample(d, 0x3C6444, "AFR1114", sample_s=3.0)
    quarter = (b["t"] - b["t"][0]) / (b["t"][-1] - b["t"][0])
    b = sy.visible(b, (quarter < 0.3) | (quarter > 0.7))
    return sy.merge([a, b])


def _by_rows(pos: Columns, size: int) -> Iterator[Columns]:
    for s in range(0, len(pos["t"]), size):
        yield take(pos, slice(s, s + size))


def _by_time(pos: Columns, step_s: float) -> Iterator[Columns]:
    edges = np.arange(pos["t"][0], pos["t"][-1] + step_s, step_s)
    idx = np.searchsorted(pos["t"], edges)
    idx[-1] = len(pos["t"])
    for a, b in itertools.pairwise(idx.tolist()):
        if b > a:
            yield take(pos, slice(a, b))


def _fed(batches: Iterator[Columns], every_s: float = 10.0) -> tuple[Columns, Columns]:
    det = FlightDetector(DetectParams(process_every_s=every_s))
    flights, events = [], []
    for b in batches:
        f, e = det.update(b)
        flights.append(f)
        events.append(e)
    f, e = det.flush()
    return merge_flights([*flights, f]), concat_events([*events, e])


def _assert_same(a: Columns, b: Columns) -> None:
    assert list(a) == list(b)
    for k in a:
        x, y = np.asarray(a[k]), np.asarray(b[k])
        assert x.shape == y.shape, k
        if x.dtype.kind == "f":
            assert np.allclose(x, y, equal_nan=True, rtol=0, atol=1e-6), k
        else:
            assert (x == y).all(), k


@pytest.fixture(scope="module", params=["afr34zg_x4", "synthetic"])
def history(request: pytest.FixtureRequest) -> tuple[Columns, Columns, Columns]:
    pos = _afr_fleet(4) if request.param == "afr34zg_x4" else _synthetic()
    flights, events = detect_flights(pos)
    return pos, flights, events


def test_the_histories_have_flights_and_events(history: tuple[Columns, Columns, Columns]) -> None:
    _, flights, events = history
    assert len(flights["flight_id"]) >= 2
    kinds = set(events["type"].tolist())
    assert {"takeoff", "landing"} <= kinds, kinds
    if len(flights["flight_id"]) == 2:  # the synthetic pair
        assert {"emergency", "leave_coverage", "enter_coverage"} <= kinds, kinds


@pytest.mark.parametrize("rows", [1, 97, 5_000])
def test_batches_of_rows_give_the_same_flights_and_events(
    history: tuple[Columns, Columns, Columns], rows: int
) -> None:
    pos, flights, events = history
    if rows == 1:
        pos = take(pos, slice(0, 3_000))  # row by row is slow: the first part only
        flights, events = detect_flights(pos)
    f2, e2 = _fed(_by_rows(pos, rows))
    _assert_same(flights, f2)
    _assert_same(events, e2)


@pytest.mark.parametrize("step_s", [1.0, 45.0, 900.0])
def test_time_slices_give_the_same_flights_and_events(
    history: tuple[Columns, Columns, Columns], step_s: float
) -> None:
    pos, flights, events = history
    f2, e2 = _fed(_by_time(pos, step_s))
    _assert_same(flights, f2)
    _assert_same(events, e2)


def _sink_output(pos: Columns, batch_rows: int, max_delay_s: float) -> tuple[Columns, Columns]:
    store = open_store(":memory:")
    sink = DetectionSink(store, batch_rows=batch_rows, max_delay_s=max_delay_s)
    for b in _by_rows(pos, 700):
        sink(b)
    sink.flush()
    flights = to_columns("flights", store.flights())
    events = to_columns("events", store.events())
    store.close()
    return flights, events


def test_detection_sink_buffering_does_not_change_what_is_stored(
    history: tuple[Columns, Columns, Columns],
) -> None:
    pos = history[0]
    each_call = _sink_output(pos, batch_rows=1, max_delay_s=0.0)  # detect at every call
    buffered = _sink_output(pos, batch_rows=10_000, max_delay_s=3600.0)
    assert len(each_call[0]["flight_id"]) >= 2
    for a, b in zip(each_call, buffered, strict=True):
        _assert_same(a, b)


@pytest.mark.parametrize("every_s", [0.0, 60.0])
def test_the_processing_cadence_does_not_change_the_results(
    history: tuple[Columns, Columns, Columns], every_s: float
) -> None:
    """Positions wait per aircraft up to ``process_every_s`` before the detector runs on them
    (live feeds: the cost is per call): at once or a minute later, the same flights and events."""
    pos, flights, events = history
    f2, e2 = _fed(_by_time(pos, 1.0), every_s=every_s)
    _assert_same(flights, f2)
    _assert_same(events, e2)


def _first_update_with(pos: Columns, kind: str, every_s: float) -> int:
    det = FlightDetector(DetectParams(process_every_s=every_s))
    for i in range(len(pos["t"])):
        _, events = det.update(take(pos, slice(i, i + 1)))
        if kind in events["type"].tolist():
            return i
    raise AssertionError(f"no {kind} event")


def test_an_emergency_is_not_held_back_by_the_cadence() -> None:
    """The squawk 7700 spell of the synthetic flight: its event comes out of the same update,
    position by position, whether the detector runs at once or once an hour (what alerts wait
    for), while a take-off waits for the cadence."""
    pos = _synthetic()
    pos = take(pos, pos["icao24"] == pos["icao24"][np.flatnonzero(pos["squawk"] == 7700)[0]])
    first_7700 = int(np.flatnonzero(pos["squawk"] == 7700)[0])
    now = _first_update_with(pos, "emergency", 0.0)
    assert first_7700 <= now < first_7700 + 10
    assert _first_update_with(pos, "emergency", 3600.0) == now
    assert _first_update_with(pos, "takeoff", 3600.0) > _first_update_with(pos, "takeoff", 0.0)
