"""The ClickHouse store through clickhouse-connect, the client the clickhouse:// (HTTP) URLs use.

No ClickHouse server can be installed here (Debian bookworm's clickhouse-server is 18.16, from
2018: clickhouse-connect cannot talk to it, and it has no DateTime64, column codecs or Arrow
format; PyPI has no package that ships a server binary). So the clickhouse:// store runs over
HTTP against the ClickHouse engine in process (chdb) behind a loopback endpoint that speaks
ClickHouse's HTTP interface (``_chdb_http.py``): the same SQL, requests, formats and errors a
server gets, on the same engine. ``test_store_over_http`` runs on a real server instead when
TAILWATCH_TEST_CLICKHOUSE_URL names one (for example clickhouse://127.0.0.1:8123/tw_test).
``test_clickhouse_connect_client_path`` runs ``ConnectBackend`` on clickhouse-connect's own chdb
transport (``get_client(dsn="chdb://…")``), without HTTP.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from _chdb_http import ChdbHttpServer

from tailwatch.core.errors import StoreError
from tailwatch.core.schema import TABLES
from tailwatch.store import ResumeToken, Store, open_store, thin_positions, to_columns
from tailwatch.store.clickhouse import ClickHouseStore, ConnectBackend
from tailwatch.store.ddl import clickhouse_columns
from tailwatch.store.synthetic import synthetic_positions

HAVE_CONNECT = (
    importlib.util.find_spec("clickhouse_connect") is not None
    and importlib.util.find_spec("chdb") is not None
)
SERVER_URL = os.environ.get("TAILWATCH_TEST_CLICKHOUSE_URL", "")


@pytest.fixture
def connect_store(tmp_path: Path) -> Iterator[ClickHouseStore]:
    if not HAVE_CONNECT:
        pytest.skip(
            "clickhouse-connect and chdb are not installed (pip install -e '.[dev]' brings them)"
        )
    import clickhouse_connect

    client = clickhouse_connect.get_client(dsn=f"chdb://{tmp_path / 'cc'}")
    store = ClickHouseStore(ConnectBackend(client), database="tw_connect")
    try:
        yield store
    finally:
        store.close()


def _exercise(store: Store) -> None:
    """Write, replay, dedupe, read back, upsert and thin through one store."""
    cols = synthetic_positions(4, seed=31)
    n = cols["t"].size
    half = n // 2
    first = {k: v[:half] for k, v in cols.items()}
    rest = {k: v[half:] for k, v in cols.items()}
    assert store.write("positions", first, resume=ResumeToken("feed", 1)) == half
    assert store.write("positions", first, resume=ResumeToken("feed", 1)) == 0
    assert store.write("positions", cols, resume=ResumeToken("feed", 2)) == n - half
    assert store.write("positions", rest) == 0
    assert store.resume_position("feed") == ResumeToken("feed", 2)
    table = store.positions()
    back = to_columns("positions", table)
    order = np.lexsort((cols["t"], cols["icao24"]))
    for name, col in cols.items():
        expect = col[order]
        if expect.dtype.kind == "f":
            assert np.array_equal(expect, back[name], equal_nan=True), name
        else:
            assert np.array_equal(expect, back[name]), name
    icao = f"{int(cols['icao24'][0]):06x}"
    assert store.positions(icao).num_rows == int(
        np.count_nonzero(cols["icao24"] == cols["icao24"][0])
    )
    deleted = thin_positions(store, 0, 60.0, now=2e9)
    assert 0 < deleted < n
    assert store.positions().num_rows == n - deleted
    assert thin_positions(store, 0, 60.0, now=2e9) == 0


def test_clickhouse_connect_client_path(connect_store: ClickHouseStore) -> None:
    _exercise(connect_store)
    for table in TABLES:
        assert connect_store.live_columns(table) == clickhouse_columns(table)


def test_unreachable_server_is_a_store_error() -> None:
    if importlib.util.find_spec("clickhouse_connect") is None:
        pytest.skip("clickhouse-connect is not installed")
    with pytest.raises(StoreError, match="cannot reach"):
        open_store("clickhouse://127.0.0.1:1/tw")  # nothing listens on port 1


@pytest.fixture
def http_url(tmp_path: Path) -> Iterator[str]:
    """TAILWATCH_TEST_CLICKHOUSE_URL's server, else chdb behind the loopback HTTP endpoint."""
    if SERVER_URL:
        yield SERVER_URL
        return
    if not HAVE_CONNECT:
        pytest.skip(
            "clickhouse-connect and chdb are not installed (pip install -e '.[dev]' brings them)"
        )
    with ChdbHttpServer(tmp_path / "http") as server:
        yield server.url("tw_http")


def test_store_over_http(http_url: str) -> None:
    store = open_store(http_url)
    try:
        assert isinstance(store, ClickHouseStore)
        for table in TABLES:
            store.query(f"TRUNCATE TABLE IF EXISTS {store.database}.{table}")
        store.query(f"TRUNCATE TABLE IF EXISTS {store.database}.ingest_resume")
        _exercise(store)
        for table in TABLES:
            assert store.live_columns(table) == clickhouse_columns(table)
    finally:
        store.close()


def test_server_errors_over_http_are_store_errors(http_url: str) -> None:
    store = open_store(http_url)
    try:
        assert isinstance(store, ClickHouseStore)
        with pytest.raises(StoreError, match="UNKNOWN_TABLE"):
            store.query(f"SELECT * FROM {store.database}.no_such_table")
        with pytest.raises(StoreError, match="SYNTAX_ERROR"):
            store.query("SELEC 1")
        assert store.query("SELECT {n:UInt8} + 1 AS n", {"n": 41}).to_pylist() == [{"n": 42}]
    finally:
        store.close()


def test_a_server_profile_that_locks_the_string_setting_still_answers_strings(
    http_url: str,
) -> None:
    """A read-only user profile (``readonly``) forbids changing
    ``output_format_arrow_string_as_string``: the store does not send it (the server would
    refuse every query) and turns the binary String columns into strings itself."""
    from clickhouse_connect.driver.models import SettingDef

    store = open_store(http_url)
    try:
        assert isinstance(store, ClickHouseStore)
        client = store._db._client  # type: ignore[attr-defined]
        key = "output_format_arrow_string_as_string"
        client.server_settings[key] = SettingDef(key, "0", 1)  # as such a profile reports it
        out = store.query("SELECT 'abc' AS s, toFixedString('xy', 2) AS f, 7 AS n")
        assert out.schema.field("s").type == pa.string()
        assert out.to_pylist()[0]["s"] == "abc" and out.to_pylist()[0]["n"] == 7
    finally:
        store.close()
