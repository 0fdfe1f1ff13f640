"""The ClickHouse store through clickhouse-connect, the client the clickhouse:// (HTTP) URLs use.

No ClickHouse server can be installed here (Debian bookworm's clickhouse-server is 18.16, from
2018: clickhouse-connect cannot talk to it, and it has no DateTime64, column codecs or Arrow
format; PyPI has no package that ships a server binary). So the clickhouse-connect code path —
``ConnectBackend``: ``command`` with bound parameters, ``query_arrow``, ``insert_arrow`` into a
session's temporary table — runs here on a clickhouse-connect client whose transport is chdb
(``clickhouse_connect.get_client(dsn="chdb://…")``); only the HTTP transport itself is not
exercised. ``test_real_server_over_http`` runs the same checks on a real server when
TAILWATCH_TEST_CLICKHOUSE_URL names one (for example clickhouse://127.0.0.1:8123/tw_test).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

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


@pytest.mark.skipif(
    not SERVER_URL,
    reason=(
        "no ClickHouse server: set TAILWATCH_TEST_CLICKHOUSE_URL=clickhouse://host:8123/db "
        "(none is installable here: Debian bookworm ships 18.16, too old for clickhouse-connect, "
        "DateTime64, codecs and Arrow)"
    ),
)
def test_real_server_over_http() -> None:
    store = open_store(SERVER_URL)
    try:
        assert isinstance(store, ClickHouseStore)
        for table in TABLES:
            store.query(f"TRUNCATE TABLE IF EXISTS {store.database}.{table}")
        store.query(f"TRUNCATE TABLE IF EXISTS {store.database}.ingest_resume")
        _exercise(store)
    finally:
        store.close()
