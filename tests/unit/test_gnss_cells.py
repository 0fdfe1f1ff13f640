"""GNSS hexagons: simulated zones flagged inside and clean outside, hysteresis, incremental
equals whole, and the gnss_cells table on both engines (DuckDB, chdb)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import h3
import numpy as np
import pytest

from tailwatch.gnss import GnssMonitor, GnssParams
from tailwatch.gnss.cells import CellAggregator, parent_cells
from tailwatch.gnss.cellstore import query_cells, read_cells, write_cells
from tailwatch.gnss.session import GnssSession, gnss_from_store
from tailwatch.gnss.synthetic import Zone, flights
from tailwatch.reference.geo import distance_nm
from tailwatch.store.base import open_store

T0 = 1_700_006_400.0  # a midnight UTC
JAM = Zone("jamming", 55.0, 19.0, 60.0)
SPOOF = Zone("spoofing", 55.0, 23.0, 50.0, spoof_lat=54.0, spoof_lon=25.0)
HAVE_CHDB = importlib.util.find_spec("chdb") is not None
ENGINES = [
    "duckdb",
    pytest.param("chdb", marks=pytest.mark.skipif(not HAVE_CHDB, reason="chdb is not installed")),
]


def _positions(n: int = 30, hours: float = 1.0, seed: int = 1) -> dict[str, np.ndarray]:
    cols, _ = flights(n, T0, hours * 3600, lat0=55.0, lon0=15.0, spread_deg=1.0,
                      zones=(JAM, SPOOF), track_range_deg=(70, 110), seed=seed)
    return cols


def _cells(cols: dict[str, np.ndarray], params: GnssParams | None = None
           ) -> dict[str, np.ndarray]:
    mon = GnssMonitor(params)
    agg = CellAggregator(params)
    agg.update(mon.update(cols))
    return agg.flush()


def _rows(cells: dict[str, np.ndarray], res: int, period: str = "hour"
          ) -> dict[str, tuple[int, int, int, str]]:
    m = (cells["res"] == res) & (cells["period"] == period)
    return {str(h): (int(a), int(d), int(s), str(lv)) for h, a, d, s, lv in zip(
        cells["h3"][m], cells["aircraft"][m], cells["degraded"][m], cells["spoofed"][m],
        cells["level"][m], strict=True)}


def test_parents_by_bits_match_h3() -> None:
    cells = [h3.latlng_to_cell(la, lo, 6) for la, lo in ((55.0, 22.0), (-33.9, 151.2),
                                                         (64.1, -21.9), (0.1, -179.9))]
    ints = np.array([h3.str_to_int(c) for c in cells], dtype=np.uint64)
    for res in (3, 4, 5):
        got = [h3.int_to_str(int(x)) for x in parent_cells(ints, res)]
        assert got == [h3.cell_to_parent(c, res) for c in cells]


def test_cells_inside_the_zones_are_flagged_and_outside_clean() -> None:
    cols = _positions()
    cells = _cells(cols)
    rows = _rows(cells, 4)
    m = (cells["res"] == 4) & (cells["period"] == "hour")
    lat, lon = cells["lat"][m], cells["lon"][m]
    level = cells["level"][m]
    d_jam = distance_nm(lat, lon, JAM.lat, JAM.lon)
    d_spoof = distance_nm(lat, lon, SPOOF.lat, SPOOF.lon)
    edge_nm = 15.0  # a resolution-4 cell reaches ~12 NM from its centre
    deep = (d_jam < JAM.radius_nm - edge_nm) & (cells["aircraft"][m] >= 3)
    assert deep.sum() >= 3
    assert set(level[deep]) == {"high"}
    assert (cells["degraded"][m][deep] == cells["aircraft"][m][deep]).all()
    far = (d_jam > JAM.radius_nm + edge_nm) & (d_spoof > SPOOF.radius_nm + 2 * edge_nm)
    assert far.sum() >= 10
    assert set(level[far]) == {"none"}
    assert (cells["degraded"][m][far] == 0).all() and (cells["spoofed"][m][far] == 0).all()
    # spoofed aircraft are placed on their true path, inside the spoofing zone, not on the
    # point they reported (54.0, 25.0)
    spoofed = cells["spoofed"][m] > 0
    assert spoofed.any()
    assert (d_spoof[spoofed] < SPOOF.radius_nm + 2 * edge_nm).all()
    spoof_point = h3.latlng_to_cell(SPOOF.spoof_lat, SPOOF.spoof_lon, 4)
    assert rows.get(spoof_point, (0, 0, 0, ""))[2] == 0


def test_one_bad_message_does_not_colour_a_cell() -> None:
    cols, _ = flights(5, T0, 1800, lat0=50.0, lon0=5.0, spread_deg=0.5)
    bad = np.zeros(len(cols["t"]), bool)
    bad[::97] = True  # isolated bad messages everywhere
    cols["nic"][bad] = 0
    cols["nacp"][bad] = 0
    cells = _cells(cols)
    assert int(cells["degraded"].sum()) == 0
    assert set(cells["level"]) == {"none"}


def test_details_list_the_aircraft_of_the_cell() -> None:
    cells = _cells(_positions(n=12))
    for i in range(len(cells["h3"])):
        items = json.loads(cells["details"][i])
        assert len(items) == cells["aircraft"][i]
        assert sum(r[3] for r in items) == cells["degraded"][i]
        assert sum(r[4] for r in items) == cells["spoofed"][i]
        assert len({r[0] for r in items}) == len(items)


def test_live_batches_give_the_hexagons_of_the_whole_history() -> None:
    cols = _positions(n=10, hours=2.0, seed=4)
    whole = _cells(cols)
    got: list[dict[str, np.ndarray]] = []
    session = GnssSession(on_cells=got.append)
    edges = np.searchsorted(cols["t"], T0 + np.arange(0, 7300, 5.0))
    lo = 0
    for hi in [*edges.tolist(), len(cols["t"])]:
        if hi > lo:
            session.update({k: v[lo:hi] for k, v in cols.items()})
        lo = hi
    # the first hour is written as soon as the clock passes it, before the end
    assert got and set(got[0]["start"].tolist()) == {T0}
    session.flush()
    live = {k: np.concatenate([g[k] for g in got]) for k in got[0]}
    for res in (3, 4, 5, 6):
        for period in ("hour", "day"):
            assert _rows(live, res, period) == _rows(whole, res, period), (res, period)


def _open(engine: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    if engine == "duckdb":
        return open_store(str(tmp_path / "h.duckdb"))
    return open_store(f"clickhouse+chdb://{tmp_path / 'ch'}")


@pytest.mark.parametrize("engine", ENGINES)
def test_gnss_cells_table_on_both_engines(engine: str, tmp_path: Path) -> None:
    cols = _positions(n=8, hours=2.0, seed=5)
    cols.pop("true_lat")
    cols.pop("true_lon")
    cols["t"] = np.floor(cols["t"])  # whole seconds: the store's microseconds keep them exact
    whole = _cells(cols)
    store = _open(engine, tmp_path)
    try:
        store.write("positions", cols)
        events, _, totals = gnss_from_store(store, since=T0, until=T0 + 7200)
        assert totals.cell_rows == len(whole["h3"])
        stored = read_cells(store, since=T0, until=T0 + 3600, res=4)
        first_hour = {k: v[whole["start"] == T0] for k, v in whole.items()}
        assert _rows(stored, 4) == _rows(first_hour, 4)
        assert set(stored["start"].tolist()) == {T0}
        # the range merges the hours: each aircraft once per cell
        merged = query_cells(store, since=T0, until=T0 + 7200, res=4)
        day = _rows(whole, 4, "day")  # the day's cells count each aircraft once as well
        assert {c["h3"]: (c["aircraft"], c["degraded"], c["spoofed"], c["level"])
                for c in merged} == day
        for cell in merged:
            assert cell["aircraft"] == len(cell["aircraft_list"])
        # writing an hour again replaces its rows
        write_cells(store, whole)
        again = read_cells(store, since=T0, until=T0 + 7200, res=4)
        assert len(again["h3"]) == int(((whole["res"] == 4) & (whole["period"] == "hour")).sum())
        assert "gnss_jamming" in set(events["type"].tolist())
    finally:
        store.close()


def test_levels_follow_the_documented_thresholds() -> None:
    from tailwatch.gnss.cells import level_of

    p = GnssParams()
    a = np.array([100, 100, 100, 2, 2, 50, 50])
    d = np.array([1, 2, 10, 2, 0, 0, 0])
    s = np.array([0, 0, 0, 0, 0, 1, 2])
    assert level_of(a, d, s, p).tolist() == [0, 1, 2, 0, 0, 1, 2]
    assert math.isclose(p.level_high_share, 0.10) and math.isclose(p.level_low_share, 0.02)


def test_levels_under_positions_for_alert_rules() -> None:
    from tailwatch.gnss.cells import GnssLevels

    cols = _positions(n=20)
    got: list[dict[str, np.ndarray]] = []
    session = GnssSession(levels_res=4, levels_every_s=60.0, on_cells=got.append)
    half = cols["t"] < T0 + 1800
    session.update({k: v[half] for k, v in cols.items()})
    # the hour is still in progress: the levels come from the cells as they stand
    lv = session.levels.level_at([JAM.lat, 40.0, np.nan], [JAM.lon, -30.0, 10.0])
    assert lv.tolist() == [2, 0, 0]
    current = session.cells.current(4)
    assert set(current["res"].tolist()) == {4} and set(current["details"].tolist()) == {"[]"}
    session.update({k: v[~half] for k, v in cols.items()})
    session.flush()
    # the aggregation is unchanged by the looks at the hour in progress
    live = {k: np.concatenate([g[k] for g in got]) for k in got[0]}
    assert _rows(live, 4) == _rows(_cells(cols), 4)
    empty = GnssLevels(4)
    assert empty.level_at([JAM.lat], [JAM.lon]).tolist() == [0]


def test_late_positions_do_not_overwrite_a_written_hour() -> None:
    cols = _positions(n=6, hours=2.0, seed=9)
    got: list[dict[str, np.ndarray]] = []
    session = GnssSession(on_cells=got.append)
    a0 = cols["icao24"][0]  # one aircraft's last minute of hour 1 arrives late (a slow feed)
    mine = cols["icao24"] == a0
    first = cols["t"] < T0 + 3600 - 60
    late = (cols["t"] >= T0 + 3600 - 60) & (cols["t"] < T0 + 3600)
    later = (cols["t"] >= T0 + 3600) & ~mine
    late &= mine
    first |= (cols["t"] < T0 + 3600) & ~mine
    session.update({k: v[first] for k, v in cols.items()})
    session.update({k: v[later] for k, v in cols.items()})  # the clock passes 01:05
    assert got and set(got[0]["start"].tolist()) == {T0}
    written = len(got)
    session.update({k: v[late] for k, v in cols.items()})  # the last minute of hour 1, late
    session.flush()
    assert session.cells.late_rows > 0
    assert all(set(g["start"][g["period"] == "hour"].tolist()) != {T0} for g in got[written:])


def test_slot_map_rows_follow_first_appearance_in_address_order() -> None:
    from tailwatch.gnss.monitor import SlotMap

    rng = np.random.default_rng(3)
    sm = SlotMap()
    ref: dict[int, int] = {}
    pool = np.concatenate([[0, 0xFFFFFF], rng.integers(0, 1 << 24, 4000)]).astype(np.uint32)
    for size in (5, 50, 700, 1500, 3000, 3000):  # the table grows several times
        batch = rng.choice(pool[: size + 2], size=2 * size).astype(np.uint32)
        new = sorted({int(x) for x in batch} - set(ref))
        for a in new:  # new addresses: the next rows, in ascending address order
            ref[a] = len(ref)
        slots, n_new = sm.lookup(batch)
        assert n_new == len(new)
        assert slots.tolist() == [ref[int(x)] for x in batch]
        assert sm.icao_of_slot[slots].tolist() == batch.tolist()
    assert len(sm) == len(ref)


def test_outlines_of_many_cells_match_one_by_one() -> None:
    from tailwatch.gnss.cells import _outline, _outlines

    cells = [h3.str_to_int(h3.latlng_to_cell(la, lo, 6))
             for la, lo in ((55.0, 22.0), (-33.9, 151.2), (64.1, -21.9), (0.1, -179.9))]
    np.testing.assert_array_equal(_outlines(cells), np.stack([_outline(c) for c in cells]))
    pent = h3.str_to_int(sorted(h3.get_pentagons(6))[0])
    # a cell of an odd resolution across an icosahedron face: more than 6 vertices
    odd = next(h3.str_to_int(c) for r0 in sorted(h3.get_res0_cells())
               for c in sorted(h3.cell_to_children(r0, 1)) if len(h3.cell_to_boundary(c)) > 6)
    cache: set[int] = set()
    for mixed in (_outlines([cells[0], pent, cells[1], odd]),
                  _outlines([cells[0], pent, cells[1], odd], cache),
                  _outlines([cells[0], pent, cells[1], odd], cache)):  # from the cache
        assert np.isnan(mixed[[1, 3]]).all()  # no outline: every position looked up
        np.testing.assert_array_equal(mixed[[0, 2]], np.stack([_outline(cells[0]),
                                                                _outline(cells[1])]))


def test_aircraft_list_text_is_compact_json_in_documented_order() -> None:
    from tailwatch.gnss import kernel as kn
    from tailwatch.gnss.monitor import GnssStep

    # five aircraft at one point (one res-6 cell), in one hour: NIC absent (null), two-digit
    # codes, degraded and spoofed ones
    icao = np.array([0xABC001, 0xABC002, 0xABC003, 0xABC004, 0xABC005], dtype=np.uint32)
    nic = np.array([-1, 11, 3, 8, 2], dtype=np.int64)
    nacp = np.array([10, -1, 4, 9, 1], dtype=np.int64)
    flags = np.array([kn.FLAG_CLEAN, kn.FLAG_CLEAN, kn.FLAG_DEGRADED | kn.FLAG_BAD,
                      kn.FLAG_SPOOFED, kn.FLAG_DEGRADED | kn.FLAG_SPOOFED], dtype=np.int8)
    n = len(icao)
    step = GnssStep({}, flags, np.full(n, 50.001), np.full(n, 8.002), icao,
                    T0 + np.arange(n, dtype=np.float64), nic, nacp)
    agg = CellAggregator(GnssParams(resolutions=(4, 6)), days=False)
    agg.update(step)
    cells = agg.flush()
    assert sorted(cells["res"].tolist()) == [4, 6]
    expected = [  # spoofed first, then degraded, then by worst NIC (absent last)
        ["abc005", 2, 1, 1, 1], ["abc004", 8, 9, 0, 1], ["abc003", 3, 4, 1, 0],
        ["abc002", 11, None, 0, 0], ["abc001", None, 10, 0, 0]]
    for text in cells["details"].tolist():
        assert text == json.dumps(expected, separators=(",", ":"))


def test_parents_of_sorted_rows_stay_sorted_and_reduce_alike() -> None:
    from tailwatch.gnss.cells import _rows_sorted, reduce_rows

    rng = np.random.default_rng(5)
    n = 3000
    fine = np.array([h3.str_to_int(h3.latlng_to_cell(a, b, 6)) for a, b in zip(
        rng.uniform(-80, 80, n), rng.uniform(-180, 180, n), strict=True)], dtype=np.uint64)
    rows = np.stack([rng.integers(0, 3, n), rng.integers(0, 40, n), fine.view(np.int64),
                     rng.integers(0, 4, n), rng.integers(0, 12, n), rng.integers(0, 12, n)],
                    axis=1).astype(np.int64)
    red = reduce_rows(rows)
    assert _rows_sorted(red) and not _rows_sorted(rows)
    for res in (0, 3, 4, 5):
        par = red.copy()
        par[:, 2] = parent_cells(red[:, 2].view(np.uint64), res).view(np.int64)
        assert _rows_sorted(par)  # an H3 parent keeps its child's leading digits
        shuffled = par[rng.permutation(len(par))]
        np.testing.assert_array_equal(reduce_rows(par), reduce_rows(shuffled))
