"""The history can be queried while it is served: ``tailwatch serve`` and the query commands
open a DuckDB file read-only (several processes at once); a file another process writes
cannot be opened, and the error says which process and what to do instead."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from tailwatch.cli.main import main
from tailwatch.core.errors import StoreError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tailwatch.store import open_store

    db = tmp_path_factory.mktemp("ro") / "h.duckdb"
    store = open_store(str(db))
    try:
        n = 9000
        store.write("positions", {"t": 1.72e9 + np.arange(n, dtype=np.float64),
                                  "icao24": np.full(n, 0x393322, np.uint32),
                                  "lat": np.linspace(49.0, 43.6, n),
                                  "lon": np.linspace(2.5, 1.4, n)})
    finally:
        store.close()
    return db


def _count(capsys: pytest.CaptureFixture[str], db: Path) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["sql", "--db", str(db), "--json", "SELECT count(*) AS n FROM positions"])
    out = capsys.readouterr()
    return code, out.out if code == 0 else " ".join(out.err.split())  # rich wraps lines


def test_sql_beside_a_running_serve(history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tailwatch.cli.main", "serve", "--db", str(history), "--port",
         str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(150):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stderr.read().decode()  # type: ignore[union-attr]
                time.sleep(0.2)
        else:
            pytest.fail("tailwatch serve did not start")
        code, out = _count(capsys, history)
        assert code == 0, out
        assert json.loads(out)[0]["n"] == 9000
        capsys.readouterr()
        assert main(["flights", "--db", str(history), "--json"]) == 0
        # writing needs the file to itself: a clear error, not a lock traceback
        capsys.readouterr()
        code = main(["sql", "--db", str(history), "--write", "DELETE FROM positions"])
        err = " ".join(capsys.readouterr().err.split())
        assert code == 1 and "for writing" in err and f"process {proc.pid}" in err, err
        # the server still answers from the file
        r = httpx.get(f"http://127.0.0.1:{port}/api/flights", timeout=10)
        assert r.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_file_being_written_is_named_with_its_writer(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.duckdb"
    db.write_bytes(history.read_bytes())
    writer = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('open', flush=True); time.sleep(60)", str(db)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "open"
        code, err = _count(capsys, db)
        assert code == 1
        assert f"process {writer.pid}" in err and "open for writing" in err, err
    finally:
        writer.kill()
        writer.wait()
    code, out = _count(capsys, db)  # the writer gone, the file reads again
    assert code == 0, out


def test_read_only_refuses_writes_and_missing_files(history: Path, tmp_path: Path) -> None:
    from tailwatch.store import open_store

    store = open_store(str(history), read_only=True)
    try:
        with pytest.raises(StoreError, match="read-only"):
            store.query("DELETE FROM positions")
    finally:
        store.close()
    with pytest.raises(StoreError, match="no history store"):
        open_store(str(tmp_path / "none.duckdb"), read_only=True)
    assert not (tmp_path / "none.duckdb").exists()


def test_sql_write_statement_without_write_says_how(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["sql", "--db", str(history), "DELETE FROM events"]) == 1
    assert "--write" in capsys.readouterr().err
