"""Detection of a stored history in bounded windows (history.detection.detect_stored): heavy
hours are cut into time slices, progress is reported, and the flights and events do not
depend on the window size."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tailwatch.detect import synthetic as sy
from tailwatch.history.detection import SeenAircraft, detect_stored
from tailwatch.store import open_store


def test_an_hour_with_more_rows_than_a_window_is_cut_into_time_slices() -> None:
    seen = SeenAircraft()
    t = np.r_[np.linspace(7200.0, 10799.0, 2500), np.linspace(10800.0, 14399.0, 100)]
    seen.add({"t": t, "icao24": np.full(t.size, 7, np.uint32)})
    w = seen.windows(max_rows=1000)
    assert w[:3] == [(7200.0, 8400.0), (8400.0, 9600.0), (9600.0, 10800.0)]
    assert w[3] == (10800.0, 14400.0)
    assert seen.rows == 2600
    assert all(b > a for a, b in w) and all(w[i][1] == w[i + 1][0] for i in range(len(w) - 1))


def _history() -> dict[str, np.ndarray]:
    legs = [("LSZH", "14", "EGLL", "27L"), ("EGLL", "09R", "LSZH", "16")]
    parts = []
    for k, (a, ra, b, rb) in enumerate(legs):
        dense = sy.airport_to_airport(sy.runway_end(a, ra), sy.runway_end(b, rb),
                                      1.7e9 + 7200.0 * k)
        parts.append(sy.sample(dense, 0x4B1000 + k, f"SWR{k}", sample_s=2.0, seed=k))
    return sy.merge(parts)


def _run(tmp_path: Path, name: str, max_rows: int) -> tuple[int, int, list[tuple[int, int]]]:
    pos = _history()
    store = open_store(str(tmp_path / f"{name}.duckdb"))
    try:
        store.write("positions", pos)
        seen = SeenAircraft()
        seen.add(pos)
        calls: list[tuple[int, int]] = []
        res = detect_stored(store, seen, max_rows=max_rows,
                            progress=lambda done, total: calls.append((done, total)))
        flights = store.query("SELECT flight_id, origin, destination FROM flights "
                              "ORDER BY flight_id").to_pylist()
        assert len(flights) == 2 and {f["origin"] for f in flights} == {"LSZH", "EGLL"}
        return res.flights, res.events, calls
    finally:
        store.close()


def test_windows_and_progress_do_not_change_the_result(tmp_path: Path) -> None:
    f1, e1, calls1 = _run(tmp_path, "one", 10_000_000)
    f2, e2, calls2 = _run(tmp_path, "many", 500)
    assert (f1, e1) == (f2, e2) and f1 == 2 and e1 > 4
    assert len(calls1) == 1 and len(calls2) > 5
    done = [c[0] for c in calls2]
    assert done == sorted(done) and done[-1] == calls2[-1][1] == calls1[-1][1]
