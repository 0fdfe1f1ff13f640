"""History store on real engines: a DuckDB file, ClickHouse in process (chdb), and ClickHouse
over HTTP (the ``clickhouse://`` store, clickhouse-connect talking to chdb behind a loopback
endpoint that speaks ClickHouse's HTTP interface: ``_chdb_http.py``), all in tmp_path. Every
behaviour test runs on every engine; the ClickHouse ones skip when chdb (or clickhouse-connect)
is missing."""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from _chdb_http import ChdbHttpServer

from tailwatch.core.errors import StoreError
from tailwatch.core.schema import (
    AIRCRAFT_FIELDS,
    EVENT_FIELDS,
    FLIGHT_FIELDS,
    POSITION_FIELDS,
    SOURCE_LABELS,
    TABLES,
    empty_columns,
)
from tailwatch.store import (
    ResumeToken,
    Store,
    arrow_schema,
    open_store,
    schema_markdown,
    thin_positions,
    to_arrow,
    to_columns,
)
from tailwatch.store.ddl import clickhouse_columns, duckdb_columns
from tailwatch.store.synthetic import synthetic_positions

HAVE_CHDB = importlib.util.find_spec("chdb") is not None
HAVE_HTTP = HAVE_CHDB and importlib.util.find_spec("clickhouse_connect") is not None
REPO = Path(__file__).resolve().parents[2]

ENGINES = [
    "duckdb",
    pytest.param(
        "chdb",
        marks=pytest.mark.skipif(
            not HAVE_CHDB, reason="chdb is not installed (pip install -e '.[dev]' brings it)"
        ),
    ),
    pytest.param(
        "http",
        marks=pytest.mark.skipif(
            not HAVE_HTTP,
            reason="chdb and clickhouse-connect are not installed (pip install -e '.[dev]')",
        ),
    ),
]
#: The loopback ClickHouse HTTP endpoints of the running test, by data directory.
_SERVERS: dict[Path, ChdbHttpServer] = {}


@pytest.fixture(autouse=True)
def _stop_http_servers() -> Iterator[None]:
    yield
    while _SERVERS:
        _SERVERS.popitem()[1].__exit__()


def _open(engine: str, tmp_path: Path) -> Store:
    if engine == "duckdb":
        return open_store(f"duckdb://{tmp_path / 'history.duckdb'}")
    if engine == "http":
        if tmp_path not in _SERVERS:
            _SERVERS[tmp_path] = ChdbHttpServer(tmp_path / "http").__enter__()
        return open_store(_SERVERS[tmp_path].url())
    return open_store(f"clickhouse+chdb://{tmp_path / 'chdb'}")


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = _open(request.param, tmp_path)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="module")
def day() -> dict[str, np.ndarray]:
    """~100k synthetic positions with every kind of null sprinkled in."""
    cols = synthetic_positions(42, seed=3)
    n = cols["t"].size
    rng = np.random.default_rng(5)
    for name, null in [
        ("squawk", -1),
        ("nic", -1),
        ("nacp", -1),
        ("source", -1),
        ("receivers", 0),
        ("on_ground", -1),
    ]:
        cols[name][rng.random(n) < 0.03] = null
    cols["callsign"][rng.random(n) < 0.03] = b""
    for name in ("lat", "lon", "gs_kt", "track_deg", "vrate_fpm", "altitude_ft"):
        cols[name][rng.random(n) < 0.02] = np.nan
    cols["squawk"][:50] = 7  # printed 0007
    cols["icao24"][:50] = 0x00ABCD  # leading zeros
    return cols


def _count(store: Store) -> int:
    return int(store.positions().num_rows)


def _columns_equal(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype.kind == "f":
        return bool(np.array_equal(a, b, equal_nan=True))
    if a.dtype == object:
        return [str(x) for x in a] == [str(x) for x in b]
    return bool(np.array_equal(a, b))


# --- round trip ----------------------------------------------------------------------------


def test_positions_round_trip_types_nulls_and_utc(store: Store, day: dict[str, np.ndarray]) -> None:
    assert store.write("positions", day) == day["t"].size
    table = store.positions()
    assert table.schema == arrow_schema("positions")
    assert table.schema.field("t").type == pa.timestamp("us", tz="UTC")
    back = to_columns("positions", table)
    order = np.lexsort((day["t"], day["icao24"]))
    for f in POSITION_FIELDS:
        assert back[f.name].dtype == np.dtype(f.dtype), f.name
        assert _columns_equal(day[f.name][order], back[f.name]), f.name
    # times are UTC instants, not local wall clock
    first = table.column("t")[0].as_py()
    assert first == datetime.fromtimestamp(float(day["t"][order][0]), tz=UTC)
    # public representations in storage
    rows = store.query(
        _sql(
            store,
            "SELECT icao24, squawk FROM {positions} "
            "WHERE icao24 = '00abcd' AND squawk = '0007' LIMIT 1",
        )
    )
    assert rows.num_rows == 1


def _sql(store: Store, text: str) -> str:
    prefix = "tailwatch." if getattr(store, "engine", "") == "clickhouse" else ""
    return text.format(**{t: prefix + t for t in TABLES})


def test_arrow_input_with_numpy_forms_and_dictionaries(store: Store) -> None:
    """An Arrow table as the decoder emits it (dictionary enums, float seconds, uint32)."""
    data = pa.table(
        {
            "t": pa.array([1.5e9, 1.5e9 + 1.25]),
            "icao24": pa.array([0x4840D6, 0x4840D6], pa.uint32()),
            "lat": [52.1, None],
            "lon": [4.7, 4.8],
            "callsign": pa.array([b"KLM1023 ", None], pa.binary(8)),
            "source": pa.DictionaryArray.from_arrays(
                pa.array([0, None], pa.int8()), pa.array(list(SOURCE_LABELS))
            ),
        }
    )
    assert store.write("positions", data) == 2
    back = store.positions(icao24="4840D6")
    assert back.column("icao24").to_pylist() == ["4840d6", "4840d6"]
    assert back.column("callsign").to_pylist() == ["KLM1023", None]
    assert back.column("source").to_pylist() == ["adsb", None]
    assert back.column("lat").to_pylist() == [52.1, None]
    assert [t.timestamp() for t in back.column("t").to_pylist()] == [1.5e9, 1.5e9 + 1.25]


# --- idempotent ingest -----------------------------------------------------------------------


def _slices(cols: dict[str, np.ndarray], k: int) -> list[dict[str, np.ndarray]]:
    edges = np.linspace(0, cols["t"].size, k + 1).astype(int)
    return [{n: v[a:b] for n, v in cols.items()} for a, b in itertools.pairwise(edges)]


def test_rewriting_with_the_same_resume_tokens_changes_nothing(store: Store) -> None:
    cols = synthetic_positions(3, seed=11)
    batches = _slices(cols, 5)
    for i, b in enumerate(batches):
        store.write("positions", b, resume=ResumeToken("rec.beast", (i + 1) * 1000))
    n = _count(store)
    assert n == cols["t"].size
    assert store.resume_position("rec.beast") == ResumeToken("rec.beast", 5000)
    assert store.resume_position("other") is None
    for i, b in enumerate(batches):  # the whole recording ingested again
        assert store.write("positions", b, resume=ResumeToken("rec.beast", (i + 1) * 1000)) == 0
    assert _count(store) == n
    # the token alone decides: new rows under a token that is not beyond the stored one
    fresh = {k: v.copy() for k, v in batches[0].items()}
    fresh["t"] += 10 * 86400.0
    assert store.write("positions", fresh, resume=ResumeToken("rec.beast", 5000)) == 0
    assert _count(store) == n
    # ... and are written under a token beyond it, which is then stored
    assert store.write("positions", fresh, resume=ResumeToken("rec.beast", 6000)) == len(fresh["t"])
    assert store.resume_position("rec.beast") == ResumeToken("rec.beast", 6000)
    # tokens are per source
    assert store.write("positions", fresh, resume=ResumeToken("other", 1)) == 0  # duplicates
    assert store.resume_position("other") == ResumeToken("other", 1)


def test_overlapping_imports_do_not_double_positions(store: Store) -> None:
    cols = synthetic_positions(2, seed=12)
    n = cols["t"].size
    first = {k: v[: n * 2 // 3] for k, v in cols.items()}
    second = {k: v[n // 3 :].copy() for k, v in cols.items()}
    second["altitude_ft"][:] = 99999.0  # a second source disagrees on the overlap
    assert store.write("positions", first) == n * 2 // 3
    assert store.write("positions", second) == n - n * 2 // 3
    table = store.positions()
    assert table.num_rows == n
    alt = to_columns("positions", table)["altitude_ft"]
    assert int(np.count_nonzero(alt == 99999.0)) == n - n * 2 // 3  # first write kept
    # duplicates inside one batch
    twice = {k: np.concatenate([v[:10], v[:10]]) for k, v in cols.items()}
    twice["t"] = twice["t"] + 30 * 86400.0
    assert store.write("positions", twice) == 10


def test_aircraft_and_flights_rows_are_replaced(store: Store) -> None:
    ac = empty_columns(AIRCRAFT_FIELDS, 2)
    ac["icao24"][:] = [0x3C6444, 0x3C6444]
    ac["registration"] = np.array(["D-AIBD", "D-AIBE"], dtype=object)  # last one wins
    ac["typecode"] = np.array(["A319", "A319"], dtype=object)
    for name in ("description", "operator", "country"):
        ac[name] = np.array(["", ""], dtype=object)
    ac["first_seen"][:] = 1.6e9
    ac["last_seen"][:] = 1.6e9 + 60
    assert store.write("aircraft", ac) == 1
    ac2 = {k: v[:1].copy() for k, v in ac.items()}
    ac2["registration"] = np.array(["D-AIBF"], dtype=object)
    ac2["military"][:] = True
    store.write("aircraft", ac2)
    got = store.aircraft("3c6444")
    assert got.num_rows == 1
    assert got.column("registration").to_pylist() == ["D-AIBF"]
    assert got.column("military").to_pylist() == [True]
    assert got.column("operator").to_pylist() == [None]  # "" is the declared null

    fl = _flights(["3c6444-1600000000", "3c6444-1600003600"], 1.6e9)
    assert store.write("flights", fl) == 2
    fl["landing_t"][0] = 1.6e9 + 1800
    fl["destination"][0] = "EDDF"
    store.write("flights", {k: v[:1] for k, v in fl.items()})
    got = store.flights(icao24=0x3C6444)
    assert got.num_rows == 2
    assert got.column("destination").to_pylist() == ["EDDF", None]
    assert got.column("landing_t")[0].as_py().timestamp() == 1.6e9 + 1800


def _flights(ids: list[str], t0: float) -> dict[str, np.ndarray]:
    n = len(ids)
    fl = empty_columns(FLIGHT_FIELDS, n)
    for f in FLIGHT_FIELDS:
        if f.kind == "text":
            fl[f.name] = np.array([f.null or ""] * n, dtype=object)
    fl["flight_id"] = np.array(ids, dtype=object)
    fl["icao24"][:] = 0x3C6444
    fl["first_seen"] = t0 + 3600.0 * np.arange(n)
    fl["last_seen"] = fl["first_seen"] + 3000.0
    return fl


def test_rows_missing_a_key_are_counted_not_stored(store: Store) -> None:
    cols = synthetic_positions(1, seed=13)
    n = cols["t"].size
    cols["t"][:7] = np.nan
    assert store.write("positions", cols) == n - 7
    assert store.rejects["positions_missing_t"] == 7
    with pytest.raises(StoreError):
        store.write("positions", {"t": cols["t"], "icao24": cols["icao24"], "speed": cols["t"]})
    with pytest.raises(StoreError):
        store.write("nowhere", cols)


# --- schema drift ------------------------------------------------------------------------------


def test_live_tables_have_exactly_the_schema_columns(store: Store) -> None:
    for table in TABLES:
        live = store.live_columns(table)
        if getattr(store, "engine", "") == "clickhouse":
            assert live == clickhouse_columns(table), table
        else:
            assert live == [(n, t) for n, t, _ in duckdb_columns(table)], table
        assert [name for name, _ in live] == [f.name for f in TABLES[table]]


@pytest.mark.parametrize("engine", ENGINES)
def test_drift_is_repaired_or_refused_on_open(engine: str, tmp_path: Path) -> None:
    s = _open(engine, tmp_path)
    ch = engine != "duckdb"
    prefix = "tailwatch." if ch else ""
    s.query(f"ALTER TABLE {prefix}flights DROP COLUMN itinerary_id")  # an older store
    s.close()
    s = _open(engine, tmp_path)
    assert [n for n, _ in s.live_columns("flights")][-1] == "itinerary_id"
    retype = "MODIFY COLUMN lat Nullable(Float32)" if ch else "ALTER COLUMN lat TYPE FLOAT"
    s.query(f"ALTER TABLE {prefix}events {retype}")  # not what the schema says
    s.close()
    with pytest.raises(StoreError, match="lat"):
        _open(engine, tmp_path)


# --- query helpers ---------------------------------------------------------------------------


def _track(icao: int, t0: float, lat: list[float], lon: list[float]) -> dict[str, np.ndarray]:
    n = len(lat)
    cols = empty_columns(POSITION_FIELDS, n)
    cols["t"] = t0 + np.arange(n, dtype=np.float64) * 60.0
    cols["icao24"][:] = icao
    cols["lat"] = np.array(lat)
    cols["lon"] = np.array(lon)
    return cols


def test_position_helpers_filter_by_address_time_and_box(store: Store) -> None:
    t0 = 1_546_300_800.0  # 2019-01-01 00:00 UTC
    store.write("positions", _track(0x1551E0, t0, [10.0, 10.5, 11.0, 11.5], [-66.0] * 4))
    store.write("positions", _track(0xABCDEF, t0, [60.0, 60.0, 60.0], [179.5, -179.5, 170.0]))
    assert store.positions("1551E0").num_rows == 4
    assert store.positions(0x1551E0).num_rows == 4
    assert store.positions(["1551e0", "abcdef"]).num_rows == 7
    assert store.positions("000001").num_rows == 0
    # [since, until)
    assert store.positions(since=t0 + 60, until=t0 + 180).num_rows == 4
    since = datetime(2019, 1, 1, 0, 2, tzinfo=UTC)
    assert store.positions("1551e0", since=since).column("lat").to_pylist() == [11.0, 11.5]
    # box (south, west, north, east), and one across the antimeridian
    assert store.positions(box=(10.2, -67.0, 11.2, -65.0)).num_rows == 2
    across = store.positions(box=(59.0, 179.0, 61.0, -179.0))
    assert across.column("lon").to_pylist() == [179.5, -179.5]
    with pytest.raises(StoreError):
        store.positions("1551e0' OR '1'='1")
    with pytest.raises(StoreError):
        store.positions(box=(11.0, 0.0, 10.0, 1.0))


def test_event_and_flight_helpers(store: Store) -> None:
    ev = empty_columns(EVENT_FIELDS, 3)
    ev["t"] = np.array([1.56e9, 1.56e9 + 10, 1.57e9])
    ev["icao24"][:] = [0x0D0001, 0x0D0002, 0x0D0001]
    ev["type"] = np.array(["landing", "takeoff", "landing"], dtype=object)
    ev["airport"] = np.array(["SVMI", "SVMI", "SVVA"], dtype=object)
    ev["flight_id"] = np.array(["a", "b", "c"], dtype=object)
    ev["details"] = np.array(['{"runway": "08"}', "{}", "{}"], dtype=object)
    assert store.write("events", ev) == 3
    assert store.write("events", ev) == 0
    got = store.events(type="landing", airport="SVMI")
    assert got.column("icao24").to_pylist() == ["0d0001"]
    assert got.column("details").to_pylist() == ['{"runway": "08"}']
    assert store.events(type=["landing", "takeoff"], until=1.565e9).num_rows == 2
    assert store.events(icao24="0d0001").num_rows == 2

    store.write("flights", _flights(["x-1", "x-2", "x-3"], 1.6e9))
    # flights overlapping [since, until)
    assert store.flights(since=1.6e9 + 3500, until=1.6e9 + 3700).column(
        "flight_id"
    ).to_pylist() == ["x-2"]
    assert store.flights(icao24="3c6444").num_rows == 3


# --- thinning ------------------------------------------------------------------------------


def _thin_scene() -> dict[str, np.ndarray]:
    """One aircraft at 1 Hz: 600 s straight and level, a 60 s standard-rate turn, then a
    300 s climb at 1968.5 ft/min (10 m/s), then it lands (ground state change)."""
    n_straight, n_turn, n_climb, n_ground = 600, 60, 300, 20
    n = n_straight + n_turn + n_climb + n_ground
    cols = empty_columns(POSITION_FIELDS, n)
    cols["t"] = 1_500_000_000.0 + np.arange(n, dtype=np.float64)
    cols["icao24"][:] = 0x4CA123
    track = np.full(n, 90.0)
    track[n_straight : n_straight + n_turn] = 90.0 + 3.0 * np.arange(1, n_turn + 1)
    track[n_straight + n_turn :] = track[n_straight + n_turn - 1]
    cols["track_deg"] = track.astype(np.float32)
    alt = np.full(n, 10_000.0)
    climb = slice(n_straight + n_turn, n_straight + n_turn + n_climb)
    alt[climb] = 10_000.0 + np.arange(1, n_climb + 1) * 10.0 / 0.3048
    alt[n_straight + n_turn + n_climb :] = np.nan
    cols["altitude_ft"] = alt.astype(np.float32)
    cols["on_ground"][:] = 0
    cols["on_ground"][-n_ground:] = 1
    cols["lat"] = np.linspace(50.0, 51.0, n)
    cols["lon"] = np.linspace(8.0, 9.0, n)
    return cols


def test_thinning_keeps_turns_climbs_and_ground_changes(store: Store) -> None:
    cols = _thin_scene()
    recent = {k: v[:10].copy() for k, v in cols.items()}
    recent["t"] = recent["t"] + 86_400.0 * 30
    store.write("positions", cols)
    store.write("positions", recent)
    now = float(cols["t"][-1]) + 86_400.0 * 30 + 100
    deleted = thin_positions(store, older_than_s=86_400.0, every_s=60.0, now=now)
    kept = to_columns("positions", store.positions())
    assert deleted == cols["t"].size - (kept["t"].size - 10)
    old = kept["t"] < recent["t"][0]
    t_rel = kept["t"][old] - 1_500_000_000.0
    # recent points untouched
    assert int(np.count_nonzero(~old)) == 10
    # straight and level: one point a minute (10 buckets), not 600
    straight = t_rel[t_rel < 600]
    assert 10 <= straight.size <= 11
    # every point of a 3°/s turn changes the track by more than 2.5°: all kept
    assert np.isin(np.arange(600, 660), t_rel).all()
    # climbing 10 m/s crosses a 100 m step every 10 s
    climbing = t_rel[(t_rel >= 660) & (t_rel < 960)]
    assert 28 <= climbing.size <= 36
    # the touchdown (first point on the ground) and the last point are kept
    assert 960 in t_rel and 979 in t_rel
    # thinning again removes nothing more
    assert thin_positions(store, older_than_s=86_400.0, every_s=60.0, now=now) == 0


# --- engines agree ------------------------------------------------------------------------------


@pytest.mark.skipif(not HAVE_HTTP, reason="chdb or clickhouse-connect is not installed")
def test_engines_agree_on_dedupe_and_thinning(tmp_path: Path) -> None:
    cols = synthetic_positions(6, seed=21)
    results = []
    for engine in ("duckdb", "chdb", "http"):
        s = _open(engine, tmp_path / engine)
        try:
            for b in _slices(cols, 3):
                s.write("positions", b)
            s.write("positions", _slices(cols, 2)[1])
            thin_positions(s, 0, 30.0, now=2e9)
            kept = to_columns("positions", s.positions())
            results.append((kept["icao24"], kept["t"]))
        finally:
            s.close()
    for icao24, t in results[1:]:
        assert np.array_equal(results[0][0], icao24)
        assert np.array_equal(results[0][1], t)
    assert results[0][0].size < cols["t"].size // 3


# --- conversion without an engine ----------------------------------------------------------------


def test_to_arrow_storage_representations() -> None:
    cols = empty_columns(POSITION_FIELDS, 3)
    cols["t"] = np.array([0.0, 1.5e9 + 0.000001, np.nan])
    cols["icao24"][:] = [0, 0xABCDEF, 0x00F00D]
    cols["squawk"][:] = [7700, 7, -1]
    cols["callsign"][:] = [b"AFR34ZG ", b"", b"N1\xe9"]
    cols["source"][:] = [0, len(SOURCE_LABELS), -1]  # out-of-range code → null
    cols["receivers"][:] = [3, 0, 255]
    t = to_arrow("positions", cols)
    assert t.column("icao24").to_pylist() == ["000000", "abcdef", "00f00d"]
    assert t.column("squawk").to_pylist() == ["7700", "0007", None]
    assert t.column("callsign").to_pylist() == ["AFR34ZG", None, "N1?"]
    assert t.column("source").to_pylist() == ["adsb", None, None]
    assert t.column("receivers").to_pylist() == [3, None, 255]
    assert t.column("t")[1].value == 1_500_000_000_000_001
    assert t.column("t")[2].as_py() is None
    back = to_columns("positions", t)
    assert back["callsign"].tolist() == [b"AFR34ZG", b"", b"N1?"]
    assert back["squawk"].tolist() == [7700, 7, -1]
    assert back["source"].tolist() == [0, -1, -1]
    assert back["icao24"].tolist() == [0, 0xABCDEF, 0x00F00D]


def test_schema_reference_in_docs_is_current() -> None:
    text = (REPO / "docs" / "schema.md").read_text(encoding="utf-8")
    assert schema_markdown() in text, "regenerate docs/schema.md from schema_markdown()"
    for table, fields in TABLES.items():
        for f in fields:
            assert f"`{f.name}`" in schema_markdown(), (table, f.name)


def test_open_store_dispatch(tmp_path: Path) -> None:
    s = open_store(str(tmp_path / "plain.duckdb"))
    assert getattr(s, "engine", "") == "duckdb"
    s.close()
    with pytest.raises(StoreError):
        open_store("postgres://localhost/x")
    with pytest.raises(StoreError):
        open_store("clickhouse+chdb://")


# --- the example queries of docs/schema.md -------------------------------------------------------


def _doc_queries(engine: str) -> list[str]:
    text = (REPO / "docs" / "schema.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```sql\n")[1:]]
    return [b for b in blocks if b.startswith(f"-- {engine}\n")]


def test_documented_example_queries_answer_their_questions(store: Store) -> None:
    ac = empty_columns(AIRCRAFT_FIELDS, 2)
    ac["icao24"][:] = [0x0D0ABC, 0x0D0DEF]
    ac["registration"] = np.array(["YV1234", "YV2000"], dtype=object)
    for name in ("typecode", "description", "operator", "country"):
        ac[name] = np.array(["", ""], dtype=object)
    ac["military"][:] = [True, False]
    store.write("aircraft", ac)
    fl = _flights(["0d0abc-1", "0d0abc-2"], 1.55e9)
    fl["icao24"][:] = 0x0D0ABC
    store.write("flights", fl)
    ev = empty_columns(EVENT_FIELDS, 4)
    t2019 = datetime(2019, 6, 8, 12, tzinfo=UTC).timestamp()
    t2020 = datetime(2020, 1, 2, tzinfo=UTC).timestamp()
    ev["t"] = np.array([t2019, t2019 + 60, t2020, t2019 + 120])
    ev["icao24"][:] = [0x0D0ABC, 0x0D0DEF, 0x0D0ABC, 0x0D0ABC]
    ev["type"] = np.array(["landing", "landing", "landing", "takeoff"], dtype=object)
    ev["airport"] = np.array(["SVMI"] * 4, dtype=object)
    ev["flight_id"] = np.array(["0d0abc-1", "x", "y", "0d0abc-2"], dtype=object)
    ev["details"] = np.array(["{}"] * 4, dtype=object)
    store.write("events", ev)
    engine = "clickhouse" if getattr(store, "engine", "") == "clickhouse" else "duckdb"
    every_flight, military_landings = _doc_queries(engine)
    assert store.query(every_flight).column("flight_id").to_pylist() == ["0d0abc-1", "0d0abc-2"]
    got = store.query(military_landings)
    assert got.column("icao24").to_pylist() == ["0d0abc"]
    assert got.column("registration").to_pylist() == ["YV1234"]
