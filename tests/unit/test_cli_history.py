"""``tailwatch import / export / positions / aircraft / flights / events / sql / db``."""

from __future__ import annotations

import gzip
import http.server
import json
import threading
from pathlib import Path

import pytest
from _history_data import TAR1090_ROWS, TRACE_BASE, ZURICH, trace_doc, write_trace, write_traffic

from tailwatch.cli import db_cmd, history_cmd
from tailwatch.cli import main as cli_main
from tailwatch.history.detection import detector_available

COMMANDS = ("import", "export", "positions", "aircraft", "flights", "events", "sql")


def run(argv: list[str]) -> int:
    cli_main._register()
    history_cmd.register(cli_main.app)
    db_cmd.register(cli_main.app)
    return cli_main.main(argv)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store with the Zürich sample, two Russian Air Force traces and their database rows."""
    tmp = tmp_path_factory.mktemp("cli")
    path = str(tmp / "h.duckdb")
    (tmp / "aircraft.csv").write_text(TAR1090_ROWS)
    assert run(["db", "import", str(tmp / "aircraft.csv"), "--db", path]) == 0
    traces = tmp / "traces"
    write_trace(traces / "e0" / "trace_full_1551e0.json", trace_doc("1551e0"))
    write_trace(traces / "73" / "trace_full_154073.json", trace_doc("154073"))
    zurich = tmp / "zurich.parquet"
    write_traffic(zurich, ZURICH, 5000)  # three landings at LSZH in October 2019
    assert run(["import", str(zurich), str(traces), "--db", path]) == 0
    return path


def _json(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out, list)
    return out


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    for name in COMMANDS:
        assert run([name, "--help"]) == 0
        assert name in capsys.readouterr().out
    for sub in ("update", "import", "lookup", "info"):
        assert run(["db", sub, "--help"]) == 0
        assert sub in capsys.readouterr().out


def test_import_report_and_reimport(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = run(["sql", "SELECT count(*) AS n FROM positions", "--json", "--db", db])
    n = _json(capsys)[0]["n"]
    assert before == 0 and isinstance(n, int) and n > 0
    zurich = Path(db).parent / "zurich.parquet"
    assert run(["import", str(zurich), "--db", db, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["already_imported"] == 1 and report["positions_written"] == 0
    assert run(["sql", "SELECT count(*) AS n FROM positions", "--json", "--db", db]) == 0
    assert _json(capsys)[0]["n"] == n


def test_positions_by_aircraft_and_time(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    since, until = TRACE_BASE + 10, TRACE_BASE + 4015
    assert run(["positions", "--icao24", "1551E0", "--since", "2019-03-23T00:00:10Z",
                "--until", str(until), "--json", "--db", db]) == 0
    rows = _json(capsys)
    dts = [r[0] for r in trace_doc()["trace"] if r[1] is not None]
    expected = [d for d in dts if since <= TRACE_BASE + d < until]
    assert len(rows) == len(expected)
    assert {r["icao24"] for r in rows} == {"1551e0"}
    assert rows[0]["t"] == "2019-03-23T00:00:20Z"
    assert run(["positions", "--icao24", "1551e0", "--db", db, "--limit", "3"]) == 0
    out = capsys.readouterr()
    assert "1551e0" in out.out and "showing 3 of" in out.err


def test_aircraft_military_by_country(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["aircraft", "--military", "--country", "russia", "--json", "--db", db]) == 0
    rows = _json(capsys)
    assert sorted((r["icao24"], r["registration"], r["typecode"]) for r in rows) == [
        ("154073", "RA-82035", "A124"), ("1551e0", "RA-86496", "IL62")]
    assert run(["aircraft", "--country", "Switzerland", "--json", "--db", db]) == 0
    swiss = _json(capsys)
    assert swiss and all(r["country"] == "Switzerland" and not r["military"] for r in swiss)
    assert run(["aircraft", "--military", "--db", db]) == 0
    assert "RA-86496" in capsys.readouterr().out


@pytest.mark.skipif(not detector_available(), reason="tailwatch.detect is not there")
def test_flights_and_events(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["flights", "--airport", "LSZH", "--json", "--db", db]) == 0
    flights = _json(capsys)
    assert flights and all("LSZH" in (f["origin"], f["destination"]) for f in flights)
    assert run(["flights", "--airport", "LSZH", "--military", "--json", "--db", db]) == 0
    assert _json(capsys) == []
    assert run(["events", "--type", "landing", "--json", "--db", db]) == 0
    landings = _json(capsys)
    assert landings and {e["type"] for e in landings} == {"landing"}
    ids = {f["flight_id"] for f in flights}
    assert {e["flight_id"] for e in landings if e["airport"] == "LSZH"} <= ids
    assert run(["events", "--type", "landing", "--since", "2019-10-20", "--until",
                "1572566400", "--json", "--db", db]) == 0
    late_october = _json(capsys)
    expected = [e for e in landings if "2019-10-20" <= str(e["t"]) < "2019-11-01"]
    assert late_october == expected and 0 < len(expected) < len(landings)


def test_db_lookup(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["db", "lookup", "RA-86496", "--json", "--db", db]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["icao24"] == "1551e0"
    assert rec["registration"] == {"value": "RA-86496", "source": "tar1090-db"}
    assert rec["military"] == {"value": True, "source": "db_flag"}
    assert rec["country"] == {"value": "Russia", "source": "icao_allocation"}
    assert run(["db", "lookup", "154073", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "RA-82035" in out and "tar1090-db" in out
    assert run(["db", "lookup", "ZZ-NOPE", "--db", db]) == 1
    capsys.readouterr()


def test_export_command(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert run(["export", "--out", str(out), "--icao24", "154073", "--format", "csv",
                "--db", db]) == 0
    assert [p.name for p in out.iterdir()] == ["day=2019-03-23"]
    lines = (out / "day=2019-03-23" / "part-0.csv").read_text().splitlines()
    assert lines[0].split(",")[:4] == ['"timestamp"', '"icao24"', '"latitude"', '"longitude"']
    assert len(lines) - 1 == sum(1 for r in trace_doc()["trace"] if r[1] is not None)
    capsys.readouterr()


def test_errors(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["positions", "--since", "yesterday-ish", "--db", db]) == 2
    assert run(["events", "--type", "crash", "--db", db]) == 2
    assert run(["positions", "--db", str(tmp_path / "none.duckdb")]) == 1
    assert not (tmp_path / "none.duckdb").exists()
    assert run(["import", str(tmp_path / "missing.csv"), "--db", db]) == 2
    assert run(["sql", "SELECT * FROM no_such_table", "--db", db]) == 1
    capsys.readouterr()


def test_db_update_from_a_loopback_server(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    body = gzip.compress(TAR1090_ROWS.encode())

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/aircraft.csv.gz" else 404)
            self.end_headers()
            if self.path == "/aircraft.csv.gz":
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    path = str(tmp_path / "h.duckdb")
    try:
        assert run(["db", "update", "--url", url + "/aircraft.csv.gz", "--db", path]) == 0
        assert run(["db", "update", "--url", url + "/missing", "--db", path]) == 1
    finally:
        httpd.shutdown()
        thread.join(timeout=5)
        httpd.server_close()
    capsys.readouterr()
    assert run(["db", "info", "--db", path]) == 0
    assert json.loads(capsys.readouterr().out) == {"rows": 2, "by_source": {"tar1090-db": 2}}
