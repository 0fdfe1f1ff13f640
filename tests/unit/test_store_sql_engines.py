"""``tailwatch sql`` takes the same SQL on DuckDB and on ClickHouse (chdb): the tables
without the database prefix, upsert tables read merged by key (as with FINAL), and the same
answers for the same history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tailwatch.cli.main import main

pytest.importorskip("chdb", reason="the ClickHouse engine in process (chdb) is not installed")

AFR = Path(__file__).parent.parent / "data" / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz"
QUERIES = [
    "SELECT count(*) AS n FROM positions",
    "SELECT count(*) AS n FROM flights",
    "SELECT origin, destination FROM flights ORDER BY flight_id",
    "SELECT type, count(*) AS n FROM events GROUP BY type ORDER BY type",
    "SELECT count(*) AS n FROM positions p JOIN aircraft a ON p.icao24 = a.icao24",
]


def _sql(capsys: pytest.CaptureFixture[str], url: str, q: str) -> list[dict[str, object]]:
    capsys.readouterr()
    code = main(["sql", "--db", url, "--json", q])
    out = capsys.readouterr()
    assert code == 0, out.err
    return list(json.loads(out.out))


def test_the_same_sql_on_both_engines(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    duck = str(tmp_path / "h.duckdb")
    chdb = f"clickhouse+chdb://{tmp_path / 'ch'}"
    for url in (duck, chdb):
        assert main(["replay", str(AFR), "--db", url, "-q"]) == 0
    for q in QUERIES:
        on_duck = _sql(capsys, duck, q)
        on_ch = _sql(capsys, chdb, q)
        assert on_ch == on_duck, q
    assert _sql(capsys, chdb, QUERIES[0])[0]["n"] > 8000
    # the qualified name keeps working on ClickHouse
    assert _sql(capsys, chdb, "SELECT count(*) AS n FROM tailwatch.positions") == \
        _sql(capsys, duck, QUERIES[0])


def test_unqualified_tables_over_http(tmp_path: Path) -> None:
    """A ClickHouse server over HTTP (the loopback endpoint speaking its HTTP interface):
    every request carries the store's database, so `FROM positions` works there too."""
    from _chdb_http import ChdbHttpServer

    from tailwatch.store import open_store

    with ChdbHttpServer(tmp_path / "srv") as srv:
        store = open_store(srv.url())
        try:
            store.write("positions", {"t": [1.7e9, 1.7e9 + 1], "icao24": [0x393322] * 2,
                                      "lat": [48.0, 48.1], "lon": [2.5, 2.6]})
            rows = store.query("SELECT count(*) AS n FROM positions", final=True)  # type: ignore[call-arg]
            assert rows.to_pylist() == [{"n": 2}]
            assert store.query("SELECT count(*) AS n FROM tailwatch.positions").to_pylist() \
                == [{"n": 2}]
        finally:
            store.close()
