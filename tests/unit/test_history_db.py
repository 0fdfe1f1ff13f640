"""The aircraft database kept in the store: import (tar1090 CSV, OpenSky CSV, Mictronics JSON),
update over HTTP (a loopback server), lookups with the source of each field, and its use by
imports. Rows are written here from public facts (the 2019 reports on the Russian Air Force
flights to Caracas): 1551E0 RA-86496 IL62 flags 10, 154073 RA-82035 A124 flags 11."""

from __future__ import annotations

import gzip
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import duckdb
import pytest
from _history_data import TAR1090_ROWS, trace_doc, write_trace

from tailwatch.core.errors import ReferenceDataError
from tailwatch.history.dbtable import (
    db_counts,
    import_db_file,
    load_aircraft_db,
    lookup,
    lookup_rows,
    update_db,
)
from tailwatch.history.exporters import export_positions
from tailwatch.history.importers import import_files
from tailwatch.store import open_store
from tailwatch.store.base import Store


@pytest.fixture
def store() -> Store:
    return open_store(":memory:")


@pytest.fixture
def tar1090(tmp_path: Path) -> Path:
    p = tmp_path / "aircraft.csv"
    p.write_text(TAR1090_ROWS)
    return p


def test_lookup_by_address_and_registration(store: Store, tar1090: Path) -> None:
    rows, rejects = import_db_file(store, tar1090)
    assert rows == 2 and not rejects
    (il62,) = lookup(store, "1551E0")
    assert (il62.registration, il62.typecode, il62.country) == ("RA-86496", "IL62", "Russia")
    assert il62.military and not il62.interesting
    assert il62.sources["registration"] == "tar1090-db"
    assert il62.sources["country"] == "icao_allocation"
    assert il62.military_rule == "db_flag"
    (an124,) = lookup(store, "ra82035")  # registration: case and '-' ignored
    assert an124.icao24 == "154073" and an124.military and an124.interesting
    # not in the database: an algorithmic registration still answers, with its source
    (n,) = lookup(store, "N12345")
    assert n.icao24 == "a061d9" and n.sources["registration"].startswith("icao_algorithm")
    assert lookup(store, "ZZ-NOPE") == []


def test_formats_and_replacement(store: Store, tmp_path: Path, tar1090: Path) -> None:
    import_db_file(store, tar1090)
    mic = tmp_path / "aircrafts.json"
    mic.write_text(json.dumps({"1551E0": {"r": "RA-86496", "t": "IL62", "f": "10",
                                         "d": "Ilyushin Il-62M"}}))
    import_db_file(store, mic)
    osky = tmp_path / "aircraftDatabase.csv"
    osky.write_text('"icao24","registration","manufacturername","model","typecode","operator"\n'
                    '"154073","RA-82035","Antonov","An-124-100","A124","Russian Air Force"\n')
    import_db_file(store, osky)
    assert db_counts(store) == {"mictronics": 1, "opensky": 1}
    rows = lookup_rows(store, icao24=[0x1551E0, 0x154073]).to_pylist()
    by = {r["icao24"]: r for r in rows}
    assert by[0x1551E0]["description"] == "Ilyushin Il-62M" and by[0x1551E0]["db_flags"] == 1
    assert by[0x154073]["operator"] == "Russian Air Force" and by[0x154073]["db_flags"] == 0
    db = load_aircraft_db(store)
    assert db is not None and len(db) == 2


class _Handler(http.server.BaseHTTPRequestHandler):
    payloads: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.payloads.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        thread.join(timeout=5)
        httpd.server_close()


def test_update_over_http_replaces_the_last_download(store: Store, server: str,
                                                     tmp_path: Path) -> None:
    _Handler.payloads = {"/v1.csv.gz": gzip.compress(TAR1090_ROWS.encode()),
                         "/v2.csv.gz": gzip.compress(b"154073;RA-82035;A124;11;;;;\n"),
                         "/broken.csv.gz": b"not gzip at all"}
    mic = tmp_path / "local.json"
    mic.write_text(json.dumps({"4B1814": ["HB-JNA", "B77W", "00"]}))
    import_db_file(store, mic)
    rows, _ = update_db(store, server + "/v1.csv.gz", timeout=10)
    assert rows == 2 and db_counts(store) == {"mictronics": 1, "tar1090-db": 2}
    rows, _ = update_db(store, server + "/v2.csv.gz", timeout=10)
    # the rows of the previous download are gone; the local file's rows stay
    assert rows == 1 and db_counts(store) == {"mictronics": 1, "tar1090-db": 1}
    for bad in ("/missing.csv.gz", "/broken.csv.gz"):
        with pytest.raises(ReferenceDataError):
            update_db(store, server + bad, timeout=10)
    assert db_counts(store) == {"mictronics": 1, "tar1090-db": 1}


def test_import_uses_the_stored_database(store: Store, tar1090: Path, tmp_path: Path) -> None:
    import_db_file(store, tar1090)
    trace = write_trace(tmp_path / "trace_full_1551e0.json", trace_doc("1551e0"))
    import_files(store, [trace], detect=False)
    row = store.aircraft(icao24="1551e0").to_pylist()[0]
    assert (row["registration"], row["typecode"], row["country"]) == ("RA-86496", "IL62",
                                                                     "Russia")
    assert row["military"] is True


def test_clickhouse_chdb(tmp_path: Path, tar1090: Path) -> None:
    """The same on ClickHouse (chdb): database, import with identities, export."""
    pytest.importorskip("chdb", reason="chdb is a dev dependency")
    ch = open_store(f"clickhouse+chdb://{tmp_path / 'ch'}")
    try:
        import_db_file(ch, tar1090)
        import_db_file(ch, tar1090)  # again: still one row per address
        assert db_counts(ch) == {"tar1090-db": 2}
        (il62,) = lookup(ch, "RA-86496")
        assert il62.icao24 == "1551e0" and il62.military
        trace = write_trace(tmp_path / "trace_full_1551e0.json", trace_doc("1551e0"))
        report = import_files(ch, [trace], detect=False)
        assert import_files(ch, [trace], detect=False).already_imported == 1
        row = ch.aircraft(icao24="1551e0").to_pylist()[0]
        assert row["registration"] == "RA-86496" and row["military"] is True
        out = export_positions(ch, tmp_path / "out")
        n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{tmp_path}/out/*/*.parquet')")
        assert out.rows == report.positions_written == n.fetchall()[0][0] > 0
    finally:
        ch.close()
