"""tailwatch.history.importers: readsb traces, OpenSky state vectors and traffic trajectories
into the store, resumable and idempotent, with detection over what was imported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from _history_data import (
    LANDING,
    TRACE_BASE,
    ZURICH,
    records,
    trace_doc,
    write_opensky_csv,
    write_trace,
    write_traffic,
)

from tailwatch.core.errors import FormatError
from tailwatch.core.rejects import Rejects
from tailwatch.history.detection import detector_available
from tailwatch.history.importers import discover, import_files, read_source, trace_columns
from tailwatch.store import open_store, to_columns
from tailwatch.store.base import Store


def _counts(store: Store) -> dict[str, int]:
    return {t: int(store.query(f"SELECT count(*) FROM {t}").column(0)[0].as_py())
            for t in ("positions", "aircraft", "flights", "events")}


def _expected_positions(src: Path, limit: int | None = None
                        ) -> dict[tuple[str, float], dict[str, object]]:
    """One row per (address, position time) of the original trajectory: the last state of a
    repeated position, as the importer promises."""
    out: dict[tuple[str, float], dict[str, object]] = {}
    for r in records(src)[:limit]:
        if r.get("latitude") is None or r.get("longitude") is None:
            continue
        t = (r.get("last_position") or r["timestamp"]) / 1000.0
        out[(r["icao24"], round(t, 3))] = r
    return out


SUBSET = 5000  # rows of the Zürich sample where a test needs no more


@pytest.fixture
def store() -> Store:
    return open_store(":memory:")


def test_opensky_csv_units_are_converted(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "states_2019-11-11-17.csv.gz"
    write_opensky_csv(path, LANDING)
    report = import_files(store, [path], detect=False)
    expected = _expected_positions(LANDING)
    cols = to_columns("positions", store.positions())
    assert report.positions_written == len(expected) == cols["t"].size
    got = {(f"{a:06x}", round(float(t), 3)): i
           for i, (a, t) in enumerate(zip(cols["icao24"], cols["t"], strict=True))}
    assert set(got) == set(expected)
    for key, r in list(expected.items())[::50]:
        i = got[key]
        # metres → feet, m/s → knots and ft/min: back to the trajectory's own numbers
        assert cols["altitude_ft"][i] == pytest.approx(r["altitude"], abs=0.01)
        assert cols["altitude_geom_ft"][i] == pytest.approx(r["geoaltitude"], abs=0.01)
        assert cols["gs_kt"][i] == pytest.approx(r["groundspeed"], abs=0.01)
        assert cols["vrate_fpm"][i] == pytest.approx(r["vertical_rate"], abs=0.1)
        assert cols["track_deg"][i] == pytest.approx(r["track"], abs=1e-3)
        assert cols["lat"][i] == pytest.approx(r["latitude"])
        assert cols["callsign"][i] == str(r["callsign"]).encode()
    assert set(store.positions().column("source").to_pylist()) == {"import"}
    assert report.rejects["import_repeated_position"] == len(records(LANDING)) - len(expected)


def test_traffic_parquet_and_csv_give_the_same_rows(tmp_path: Path) -> None:
    stores = {}
    for suffix in (".parquet", ".csv"):
        path = tmp_path / f"zurich{suffix}"
        write_traffic(path, ZURICH, SUBSET)
        s = open_store(":memory:")
        import_files(s, [path], detect=False)
        stores[suffix] = s.positions()
    a, b = stores[".parquet"], stores[".csv"]
    assert a.num_rows == b.num_rows == len(_expected_positions(ZURICH, SUBSET))
    assert a.equals(b)
    recs = records(ZURICH)[:SUBSET]
    on_ground = {(r["icao24"], r["timestamp"] / 1000.0) for r in recs if r.get("onground")}
    cols = to_columns("positions", a)
    ground = {(f"{x:06x}", float(t)) for x, t, g in zip(cols["icao24"], cols["t"],
                                                       cols["on_ground"], strict=True) if g == 1}
    assert ground == on_ground
    # barometric altitude is blank on the ground, as everywhere in the store
    assert np.isnan(cols["altitude_ft"][cols["on_ground"] == 1]).all()


def test_traffic_json_as_traffic_writes_it(tmp_path: Path, store: Store) -> None:
    report = import_files(store, [ZURICH], detect=False)
    assert report.positions_written == len(_expected_positions(ZURICH))


def test_reimport_changes_no_row_counts(tmp_path: Path, store: Store) -> None:
    pq_path = tmp_path / "zurich.parquet"
    write_traffic(pq_path, ZURICH, SUBSET)
    csv_path = tmp_path / "landing.csv.gz"
    write_opensky_csv(csv_path, LANDING)
    first = import_files(store, [pq_path, csv_path], batch_rows=2000)
    before = _counts(store)
    assert before["positions"] == first.positions_written > 0
    again = import_files(store, [pq_path, csv_path], batch_rows=2000)
    assert again.already_imported == 2 and again.rows_read == 0
    assert _counts(store) == before
    # the done markers lost (a crash after the positions, before detection finished): the
    # files are read again, nothing is stored twice, detection reruns to the same rows
    store.query("DELETE FROM ingest_resume WHERE source_id LIKE 'import-done:%'")
    third = import_files(store, [pq_path, csv_path], batch_rows=2000)
    assert third.positions_written == 0 and third.rows_read == first.rows_read
    assert _counts(store) == before


def test_interrupted_import_resumes_at_the_row_offset(tmp_path: Path) -> None:
    path = tmp_path / "zurich.parquet"
    write_traffic(path, ZURICH, SUBSET)
    whole = open_store(":memory:")
    import_files(whole, [path], detect=False, batch_rows=1500)
    part = open_store(str(tmp_path / "part.duckdb"))
    (src,) = discover([path])
    batches = read_source(src, Rejects(), batch_rows=1500)
    first = next(batches)
    assert first.token.position == 1500  # rows of the file consumed
    part.write("positions", first.columns, resume=first.token)
    part.close()
    part = open_store(str(tmp_path / "part.duckdb"))  # as after a crash: the file reopened
    resumed = import_files(part, [path], detect=False, batch_rows=1500)
    assert resumed.positions_written == whole.positions().num_rows - first.columns["t"].size
    assert part.positions().equals(whole.positions())
    assert part.resume_position(src.source_id).position == pq.ParquetFile(path).metadata.num_rows


def test_readsb_trace_fields() -> None:
    rejects = Rejects()
    cols = trace_columns(trace_doc(), rejects)
    n = len(trace_doc()["trace"]) - 1  # the last row has no position
    assert cols["t"].size == n and rejects["import_no_position"] == 1
    assert (cols["icao24"] == 0x1551E0).all()
    dts = np.array([r[0] for r in trace_doc()["trace"][:n]])
    assert np.allclose(cols["t"], TRACE_BASE + dts)
    # "ground": on the ground, no barometric altitude
    assert cols["on_ground"][:2].tolist() == [1, 1] and np.isnan(cols["altitude_ft"][:2]).all()
    assert cols["on_ground"][2] == 0 and cols["altitude_ft"][2] == 250
    assert cols["altitude_geom_ft"][2] == 300 and cols["gs_kt"][2] == 150
    # flag 8: the altitude field is geometric
    assert np.isnan(cols["altitude_ft"][4]) and cols["altitude_geom_ft"][4] == 2400
    assert cols["vrate_fpm"][3] == 2000 and cols["track_deg"][5] == 100
    # callsign and squawk carried forward from the detail object, until the new leg
    assert cols["callsign"][:6].tolist() == [b"RSD090"] * 6
    assert cols["squawk"][:6].tolist() == [7700] * 6
    assert cols["callsign"][6] == b"" and cols["squawk"][6] == -1
    assert cols["callsign"][7:].tolist() == [b"RSD091"] * 2
    assert cols["squawk"][7:].tolist() == [2000] * 2


def test_non_icao_and_broken_traces_are_counted(tmp_path: Path) -> None:
    rejects = Rejects()
    assert trace_columns(trace_doc("~1551e0"), rejects)["t"].size == 0
    assert rejects["import_non_icao_address"] == len(trace_doc()["trace"])
    with pytest.raises(FormatError):
        trace_columns({"icao": "1551e0", "timestamp": 0}, Rejects())
    d = tmp_path / "traces"
    write_trace(d / "e0" / "trace_full_1551e0.json", trace_doc())
    (d / "73").mkdir()
    (d / "73" / "trace_full_154073.json").write_text("{not json")
    store = open_store(":memory:")
    report = import_files(store, [d], detect=False)
    assert report.rejects["import_bad_file"] == 1
    assert report.positions_written == len(trace_doc()["trace"]) - 1


def test_globe_history_directory(tmp_path: Path) -> None:
    day = tmp_path / "globe_history" / "2019" / "03" / "23" / "traces"
    write_trace(day / "e0" / "trace_full_1551e0.json", trace_doc("1551e0"), gz=True)
    write_trace(day / "73" / "trace_full_154073.json", trace_doc("154073"), gz=True)
    (day.parent / "heatmap").mkdir()
    (day.parent / "heatmap" / "00.bin.ttf").write_bytes(b"\0" * 16)
    sources = discover([tmp_path / "globe_history"])
    assert [s.kind for s in sources] == ["trace_dir"] and len(sources[0].files) == 2
    store = open_store(":memory:")
    report = import_files(store, [tmp_path / "globe_history"], detect=False, batch_rows=5)
    per = len(trace_doc()["trace"]) - 1
    assert report.positions_written == 2 * per
    assert store.resume_position(sources[0].source_id).position == 2  # files done
    got = store.query("SELECT icao24, count(*) AS n FROM positions GROUP BY icao24 "
                      "ORDER BY icao24").to_pylist()
    assert got == [{"icao24": "154073", "n": per}, {"icao24": "1551e0", "n": per}]


def test_unknown_files_are_refused(tmp_path: Path, store: Store) -> None:
    bad = tmp_path / "other.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(FormatError, match="neither"):
        import_files(store, [bad])
    with pytest.raises(FormatError):
        import_files(store, [tmp_path / "missing.parquet"])


@pytest.mark.skipif(not detector_available(), reason="tailwatch.detect is not there")
def test_detection_runs_over_the_import(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "zurich.parquet"
    write_traffic(path, ZURICH)
    report = import_files(store, [path], batch_rows=2000)
    assert report.detection == "done"
    flights = store.flights()
    events = store.events(type="landing")
    assert report.flights == flights.num_rows > 0
    assert report.events == store.events().num_rows
    # traffic's zurich_airport sample is approach and ground traffic at Zürich
    assert events.num_rows > 0 and set(events.column("airport").to_pylist()) == {"LSZH"}
    assert set(store.aircraft().column("country").to_pylist()) >= {"Switzerland"}
    seen = to_columns("aircraft", store.aircraft())
    pos = to_columns("positions", store.positions())
    for a, first, last in zip(seen["icao24"], seen["first_seen"], seen["last_seen"],
                              strict=True):
        t = pos["t"][pos["icao24"] == a]
        assert first == pytest.approx(t.min()) and last == pytest.approx(t.max())
