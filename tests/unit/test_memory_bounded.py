"""The flight detector's memory stays bounded on a long, fast feed (issue 16): the positions it
keeps per aircraft (its decision windows, ``AircraftState.store``) and per flight (the first
positions, ``FlightState.head``) are capped by rows as well as by time, so a feed far faster
than a real aircraft's ~2 positions a second does not grow them with the rate."""

from __future__ import annotations

import numpy as np

from tailwatch.core.schema import POSITION_FIELDS, empty_columns
from tailwatch.detect import FlightDetector
from tailwatch.detect.columns import Buffer, Columns
from tailwatch.detect.params import DetectParams

T0 = 1_700_000_000.0


def _circling(n_aircraft: int, per_s: int, t_from: float, seconds: int) -> Columns:
    """``n_aircraft`` airborne aircraft circling at FL300, ``per_s`` positions a second each."""
    k = np.arange(seconds * per_s, dtype=np.float64)
    t = t_from + k / per_s
    cols = empty_columns(POSITION_FIELDS, t.size * n_aircraft)
    phase = 2 * np.pi * (t - T0) / 120.0  # one lap every 2 minutes
    cols["t"] = np.tile(t, n_aircraft)
    cols["icao24"] = np.repeat(np.arange(n_aircraft, dtype=np.uint32) + 0x400000, t.size)
    lat0 = np.repeat(48.0 + np.arange(n_aircraft) * 0.5, t.size)
    cols["lat"] = lat0 + 0.05 * np.tile(np.sin(phase), n_aircraft)
    cols["lon"] = 20.0 + 0.05 * np.tile(np.cos(phase), n_aircraft)
    cols["altitude_ft"] = np.full(cols["t"].size, 30_000.0, np.float32)
    cols["gs_kt"] = np.full(cols["t"].size, 450.0, np.float32)
    cols["track_deg"] = np.tile(np.degrees(phase) % 360.0, n_aircraft).astype(np.float32)
    cols["on_ground"] = np.zeros(cols["t"].size, np.int8)
    return cols


def _kept_rows(det: FlightDetector) -> tuple[int, int, int]:
    """The most positions kept for one aircraft: decision buffer, flight head, and the
    buffer's allocated capacity (rows)."""
    states = list(det._aircraft.values())
    buf = max(len(ac.store) for ac in states)
    head = max(len(ac.flight.head["t"]) if ac.flight is not None and ac.flight.head else 0
               for ac in states)
    return buf, head, max(ac.store.capacity for ac in states)


def test_rows_kept_per_aircraft_stay_under_the_cap_on_a_fast_feed() -> None:
    cap = 400
    det = FlightDetector(DetectParams(max_rows_per_aircraft=cap))
    per_s, chunk_s = 10, 30
    peaks = []
    for i in range(40):  # 20 minutes of data time, 10 positions a second: 12,000 per aircraft
        det.update(_circling(3, per_s, T0 + i * chunk_s, chunk_s))
        peaks.append(_kept_rows(det))
    buf, head, capacity = np.array(peaks).T
    # the time windows alone (600 s) would keep 6,000 rows at this rate
    slack = 256 + per_s * (DetectParams().process_every_s + chunk_s)  # trim step + one drain
    assert buf.max() <= cap + slack, buf
    assert head.max() <= cap, head
    # the allocation too: not doubled past the cap (it would reach 2x the rows kept)
    assert capacity.max() <= (cap + slack) * 9 // 8 + 512, capacity
    # flat, not just small: the second half keeps no more than the first's peak
    assert buf[20:].max() <= buf[:20].max()
    assert det._aircraft[0x400000].flight is not None  # the feed made one long flight


def test_default_cap_does_not_cut_a_real_rate() -> None:
    """At 2 positions a second the 600 s windows hold 1,200 rows: under the default cap,
    so the row cap changes nothing for real aircraft (the time windows decide)."""
    p = DetectParams()
    assert p.max_rows_per_aircraft >= 2 * 2 * p.descent_window_s
    det = FlightDetector()
    for i in range(30):  # 15 minutes at 2 positions a second
        det.update(_circling(2, 2, T0 + i * 30, 30))
    buf, head, _ = _kept_rows(det)
    assert head == 2 * p.descent_window_s + 1 or head == 2 * p.descent_window_s  # 600 s, all
    assert buf >= 2 * p.descent_window_s  # the whole window kept, nothing cut by rows


def test_buffer_gives_memory_back_once_its_rows_fall() -> None:
    """A buffer with a growth limit is reallocated when most of its rows are dropped; the
    rows kept are the same, in order."""
    b = Buffer(grow_limit_rows=1000)
    for i in range(50):
        b.append({"t": np.arange(i * 100, (i + 1) * 100, dtype=np.float64)})
        if len(b) > 1000:
            b.drop_front(len(b) - 1000)
    assert len(b) == 1000 and b.capacity <= (1000 + 100) * 9 // 8  # rows + one append
    assert np.array_equal(b.cols["t"], np.arange(4000, 5000, dtype=np.float64))
    b.drop_front(900)
    assert b.capacity < 300 and np.array_equal(b.cols["t"], np.arange(4900, 5000.0))
    b.append({"t": np.array([5000.0])})
    assert b.cols["t"][-1] == 5000.0 and len(b) == 101
