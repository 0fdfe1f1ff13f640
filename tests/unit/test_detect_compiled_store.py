"""The compiled detector's row store: the rows of the last minutes of every aircraft, found
for many aircraft at once, in time order, forgotten whole tables at a time."""

from __future__ import annotations

import numpy as np

from tailwatch.detect.compiled.store import RowStore, _ranges


def _batch(t0: float, addresses: list[int], per: int) -> dict[str, np.ndarray]:
    icao = np.repeat(np.array(addresses, np.uint32), per)
    t = np.tile(t0 + np.arange(per, dtype=float), len(addresses))
    return {"icao24": icao, "t": t, "x": icao.astype(float) * 1000 + t}


def test_ranges_concatenates_index_ranges() -> None:
    got = _ranges(np.array([2, 5, 9, 0]), np.array([4, 5, 12, 1]))
    assert got.tolist() == [2, 3, 9, 10, 11, 0]
    assert _ranges(np.array([3]), np.array([3])).size == 0


def test_gather_returns_each_aircraft_in_time_order_across_tables() -> None:
    store = RowStore(("icao24", "t", "x"), retention_s=1e9, chunk_s=5.0)
    for k in range(30):  # 30 one-second batches: sealed tables and an open chunk
        store.append(_batch(float(k), [1, 3, 5] if k % 2 else [3, 7], 1))
    cols, a, z = store.gather(np.array([2, 3, 5, 7], np.uint32))
    assert a[0] == z[0]  # address 2 was never seen
    t3 = cols["t"][a[1]:z[1]]
    assert t3.tolist() == [float(k) for k in range(30)]
    t5 = cols["t"][a[2]:z[2]]
    assert t5.tolist() == [float(k) for k in range(1, 30, 2)]
    assert (cols["icao24"][a[3]:z[3]] == 7).all()
    np.testing.assert_array_equal(cols["x"][a[1]:z[1]], 3000.0 + t3)
    assert store.rows == 30 + 45  # (3 then 1, 5 / 3, 7 alternately)


def test_rows_of_after_a_time_and_expiry_drop_whole_old_tables() -> None:
    store = RowStore(("icao24", "t", "x"), retention_s=20.0, chunk_s=5.0)
    for k in range(60):
        store.append(_batch(float(k), [9], 1))
    assert store.rows_of(9, after_t=55.0)["t"].tolist() == [56.0, 57.0, 58.0, 59.0]
    store.expire(now=59.0)
    t = store.rows_of(9)["t"]
    # the rows of the last 20 s are all kept; older ones only inside a table that holds
    # newer rows too
    assert t[0] <= 39.0 and t[0] > 30.0
    assert t.tolist() == sorted(t.tolist()) and t[-1] == 59.0
    assert store.rows_of(123)["t"].size == 0
