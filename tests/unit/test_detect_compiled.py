"""The compiled detector's building blocks: slots, and the derive pass on hand-made cases
(the row-for-row comparison with the reference detector is in tests/oracle)."""

from __future__ import annotations

import numpy as np

from tailwatch.core.schema import POSITION_FIELDS, empty_columns
from tailwatch.detect.compiled import DerivePass, Slots
from tailwatch.detect.compiled.derive import RING


def test_slots_are_stable_and_new_ones_numbered_batch_by_batch() -> None:
    s = Slots()
    first = s.lookup(np.array([0xABCDEF, 0x123456, 0xABCDEF], np.uint32))
    assert first.tolist() == [1, 0, 1]  # new addresses of a batch: in address order
    again = s.lookup(np.array([0x123456, 0x000001, 0xABCDEF], np.uint32))
    assert again[0] == first[1] and again[2] == first[0]
    assert again[1] == 2 and len(s) == 3
    assert s.find(0x000001) == 2 and s.find(0x777777) == -1


def _positions(t: np.ndarray, icao: int = 0x3C6444) -> dict[str, np.ndarray]:
    cols = empty_columns(POSITION_FIELDS, t.shape[0])
    cols["t"] = t
    cols["icao24"] = np.full(t.shape[0], icao, np.uint32)
    cols["lat"] = 47.0 + np.arange(t.shape[0]) * 1e-3  # ~111 m north per row
    cols["lon"] = np.full(t.shape[0], 8.0)
    cols["altitude_ft"] = np.full(t.shape[0], 20_000.0, np.float32)
    return cols


def test_speed_track_and_rejects_across_batches() -> None:
    t = np.arange(0.0, 60.0, 1.0)
    cols = _positions(t)
    d = DerivePass()
    a = d.update({k: v[:25] for k, v in cols.items()})
    b = d.update({k: v[25:] for k, v in cols.items()})
    v = np.r_[a["_v"], b["_v"]]
    trk = np.r_[a["_trk"], b["_trk"]]
    # 111 m per second is about 216 kt, due north, measured from the row 10 s before
    assert np.isnan(v[:10]).all()
    assert np.allclose(v[10:], 111.2 * 3600 / 1852, rtol=0.01)
    assert np.allclose(trk[10:], 0.0, atol=1e-6)
    # out of order and same-time rows are dropped and counted
    late = _positions(np.array([59.0, 30.0, 61.0]))
    out = d.update(late)
    assert out["t"].tolist() == [61.0]
    assert d.rejects["detect_same_time"] == 1 and d.rejects["detect_out_of_order"] == 1


def test_frozen_positions_are_dropped_unless_parked() -> None:
    cols = _positions(np.arange(0.0, 5.0))
    cols["lat"][:] = 47.0
    d = DerivePass(frozen=True)
    assert d.update(cols)["t"].tolist() == [0.0]
    assert d.rejects["detect_frozen_position"] == 4
    parked = _positions(np.arange(10.0, 15.0))
    parked["lat"][:] = 47.0
    parked["on_ground"][:] = 1
    parked["gs_kt"][:] = 0.0
    assert d.update(parked)["t"].shape[0] == 5
    assert DerivePass(frozen=False).update(cols)["t"].shape[0] == 5


def test_more_positions_in_the_look_back_than_the_ring_holds_are_counted() -> None:
    t = np.arange(0.0, 12.0, 10.0 / (RING + 20))  # > RING positions within 10 s
    d = DerivePass()
    d.update(_positions(t))
    assert d.rejects["compiled_lookback_overflow"] > 0


def test_orbit_samples_carried_are_bounded_by_the_window() -> None:
    from tailwatch.detect.compiled import OrbitPass, StatePasses
    from tailwatch.detect.params import DetectParams

    p = DetectParams()
    t = np.arange(0.0, 4 * 3600.0, 2.0)  # four hours in the air, batches of ten minutes
    cols = _positions(t)
    cols["lat"] = 47.0 + 0.1 * np.sin(t / 300.0)
    cols["lon"] = 8.0 + 0.15 * np.cos(t / 300.0)
    sp, op = StatePasses(p), OrbitPass(p)
    most = 0
    for a in range(0, t.size, 300):
        op.update(sp.update({k: v[a:a + 300] for k, v in cols.items()}))
        most = max(most, op.samples)
    assert most <= p.orbit_window_s / p.orbit_sample_s + 60  # one batch of new samples
    assert len(op.events) >= 1  # circling 6 NM around a point: an orbit
