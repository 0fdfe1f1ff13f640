"""The aircraft database (ICAO address → registration, type, operator, flags) kept in the store.

It lives in a table of its own, ``aircraft_db``, next to the history (not in the package: the
tar1090-db data has no license and is downloaded by the user, see docs/history.md). One row
per address; loading a file replaces the rows of the addresses it has (``tailwatch db
import``), and ``tailwatch db update`` first drops the rows of the previous download.

=================  ==================  =================================  =====================
column             DuckDB              ClickHouse                         meaning
=================  ==================  =================================  =====================
``icao24``         VARCHAR             String                             6 lowercase hex digits
                                                                          (``~`` + 6 for non-ICAO)
``registration``   VARCHAR             Nullable(String)
``typecode``       VARCHAR             LowCardinality(Nullable(String))   ICAO Doc 8643 type
``description``    VARCHAR             Nullable(String)
``operator``       VARCHAR             Nullable(String)
``db_flags``       UTINYINT            UInt8                              readsb dbFlags: 1
                                                                          military, 2
                                                                          interesting, 4 PIA,
                                                                          8 LADD
``year``           USMALLINT           Nullable(UInt16)                   year built
``source``         VARCHAR             LowCardinality(String)             tar1090-db, opensky,
                                                                          mictronics, records
``loaded_at``      TIMESTAMPTZ         DateTime64(6, 'UTC')               when it was loaded
=================  ==================  =================================  =====================

ClickHouse keeps the table as a ``ReplacingMergeTree(loaded_at)`` ordered by ``icao24`` and
reads it with ``FINAL``.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tailwatch.core.errors import StoreError
from tailwatch.core.rejects import Rejects
from tailwatch.decode.batch import icao_strings
from tailwatch.reference.aircraft_db import (
    DB_COLUMNS,
    DB_SCHEMA,
    NON_ICAO_FLAG,
    AircraftDB,
    DbFormat,
    download,
    hex_to_icao24,
    read_aircraft_db,
)
from tailwatch.store.base import Store

__all__ = [
    "TABLE",
    "db_counts",
    "ensure_table",
    "import_db_file",
    "load_aircraft_db",
    "lookup",
    "lookup_rows",
    "store_aircraft_db",
    "update_db",
]

TABLE = "aircraft_db"

STORED_SCHEMA = pa.schema([
    pa.field("icao24", pa.string(), nullable=False),
    pa.field("registration", pa.string()),
    pa.field("typecode", pa.string()),
    pa.field("description", pa.string()),
    pa.field("operator", pa.string()),
    pa.field("db_flags", pa.uint8(), nullable=False),
    pa.field("year", pa.uint16()),
    pa.field("source", pa.string()),
    pa.field("loaded_at", pa.timestamp("us", tz="UTC")),
])

_DUCKDB_DDL = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (icao24 VARCHAR NOT NULL, registration VARCHAR, "
    "typecode VARCHAR, description VARCHAR, operator VARCHAR, db_flags UTINYINT NOT NULL, "
    "year USMALLINT, source VARCHAR, loaded_at TIMESTAMP WITH TIME ZONE)"
)
_CLICKHOUSE_DDL = (
    "CREATE TABLE IF NOT EXISTS {name} (icao24 String, registration Nullable(String), "
    "typecode LowCardinality(Nullable(String)), description Nullable(String), "
    "operator Nullable(String), db_flags UInt8, year Nullable(UInt16), "
    "source LowCardinality(String), loaded_at DateTime64(6, 'UTC')) "
    "ENGINE = ReplacingMergeTree(loaded_at) ORDER BY icao24"
)
_WORD = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def _is_clickhouse(store: Store) -> bool:
    return getattr(store, "engine", "duckdb") == "clickhouse"


def _name(store: Store) -> str:
    if _is_clickhouse(store):
        return f"{getattr(store, 'database', 'tailwatch')}.{TABLE}"
    return TABLE


def _source(store: Store) -> str:
    """How a SELECT names the table (with FINAL on ClickHouse)."""
    return f"{_name(store)} FINAL" if _is_clickhouse(store) else TABLE


def ensure_table(store: Store) -> str:
    """Create the table if needed; returns its qualified name."""
    if _is_clickhouse(store):
        store.query(_CLICKHOUSE_DDL.format(name=_name(store)))
    else:
        store.query(_DUCKDB_DDL)
    return _name(store)


def _exists(store: Store) -> bool:
    if _is_clickhouse(store):
        db = getattr(store, "database", "tailwatch")
        sql = f"SELECT count() AS n FROM system.tables WHERE database = '{db}' AND name = '{TABLE}'"
    else:
        sql = ("SELECT count(*) AS n FROM information_schema.tables "
               f"WHERE table_schema = current_schema() AND table_name = '{TABLE}'")
    out = store.query(sql)
    return bool(out.num_rows and int(out.column(0)[0].as_py()))


def _hex_strings(values: np.ndarray) -> pa.Array:
    return pa.array(icao_strings(values.astype(np.uint32))).cast(pa.string())


def _to_stored(table: pa.Table) -> pa.Table:
    """A DB_SCHEMA table (uint32 addresses) → the stored form (hex strings, load time)."""
    table = table.select(list(DB_COLUMNS)).cast(DB_SCHEMA)
    n = table.num_rows
    addr = np.asarray(table.column("icao24").to_numpy(), dtype=np.uint32)
    now = pa.scalar(datetime.now(UTC), pa.timestamp("us", tz="UTC"))
    arrays = [_hex_strings(addr)] + [table.column(c).combine_chunks() for c in DB_COLUMNS[1:]]
    arrays.append(pa.array([now.as_py()] * n, pa.timestamp("us", tz="UTC")) if n
                  else pa.array([], pa.timestamp("us", tz="UTC")))
    return pa.Table.from_arrays(arrays, schema=STORED_SCHEMA)


def _from_stored(table: pa.Table) -> pa.Table:
    """The stored form → a DB_SCHEMA table."""
    values, ok = hex_to_icao24(table.column("icao24"))
    out = {"icao24": pa.array(values, pa.uint32())}
    for c in DB_COLUMNS[1:]:
        out[c] = table.column(c)
    result = pa.table(out).filter(pa.array(ok))
    return result.cast(DB_SCHEMA)


@contextlib.contextmanager
def _parquet(table: pa.Table) -> Iterator[str]:
    fd, name = tempfile.mkstemp(prefix="tailwatch-aircraft-db-", suffix=".parquet")
    os.close(fd)
    try:
        pq.write_table(table, name, compression="zstd")
        yield name
    finally:
        Path(name).unlink(missing_ok=True)


def store_aircraft_db(
    store: Store, table: pa.Table, *, replace_source: str | None = None,
) -> int:
    """Store a DB_SCHEMA table: its addresses replace the stored rows of the same addresses;
    with ``replace_source``, every stored row of that source is dropped first. Returns the
    number of rows stored."""
    name = ensure_table(store)
    data = _to_stored(AircraftDB(table).table)  # one row per address
    if replace_source is not None and not _WORD.match(replace_source):
        raise StoreError(f"bad aircraft database source {replace_source!r}")
    if _is_clickhouse(store):
        backend = getattr(store, "_db", None)
        if backend is None or not hasattr(backend, "insert_arrow"):
            raise StoreError("this ClickHouse store cannot take Arrow inserts")
        if replace_source is not None:
            store.query(f"DELETE FROM {name} WHERE source = '{replace_source}'")
        if data.num_rows:
            backend.insert_arrow(name, data)
        return int(data.num_rows)
    with _parquet(data) as path:
        src = "read_parquet('" + path.replace("'", "''") + "')"
        store.query("BEGIN TRANSACTION")
        try:
            if replace_source is not None:
                store.query(f"DELETE FROM {name} WHERE source = '{replace_source}'")
            store.query(f"DELETE FROM {name} WHERE icao24 IN (SELECT icao24 FROM {src})")
            store.query(f"INSERT INTO {name} SELECT * FROM {src}")
            store.query("COMMIT")
        except BaseException:
            with contextlib.suppress(StoreError):
                store.query("ROLLBACK")
            raise
    return int(data.num_rows)


def load_aircraft_db(store: Store) -> AircraftDB | None:
    """The stored aircraft database, or None when there is none."""
    if not _exists(store):
        return None
    cols = ", ".join(DB_COLUMNS)
    table = store.query(f"SELECT {cols} FROM {_source(store)}")
    if table.num_rows == 0:
        return None
    return AircraftDB(_from_stored(table))


def db_counts(store: Store) -> dict[str, int]:
    """Rows per source."""
    if not _exists(store):
        return {}
    out = store.query(f"SELECT source, count(*) AS n FROM {_source(store)} GROUP BY source "
                      "ORDER BY source")
    return {str(s): int(n) for s, n in zip(out.column(0).to_pylist(), out.column(1).to_pylist(),
                                          strict=True)}


def lookup_rows(store: Store, *, icao24: Sequence[int] = (), registration: str | None = None
                ) -> pa.Table:
    """Stored rows (DB_SCHEMA) of some addresses, or of a registration (case, '-' and spaces
    ignored)."""
    if not _exists(store):
        return DB_SCHEMA.empty_table()
    where: list[str] = []
    if icao24:
        hexes = [f"~{a & 0xFFFFFF:06x}" if a & NON_ICAO_FLAG else f"{a:06x}" for a in icao24]
        where.append("icao24 IN (" + ", ".join(f"'{h}'" for h in hexes) + ")")
    if registration is not None:
        key = registration.strip().upper().replace("-", "").replace(" ", "")
        if not re.match(r"^[A-Z0-9]{1,16}$", key):
            return DB_SCHEMA.empty_table()
        where.append(f"replace(replace(upper(registration), '-', ''), ' ', '') = '{key}'")
    if not where:
        return DB_SCHEMA.empty_table()
    cols = ", ".join(DB_COLUMNS)
    return _from_stored(store.query(
        f"SELECT {cols} FROM {_source(store)} WHERE {' OR '.join(where)}"))


def import_db_file(store: Store, path: str | Path, fmt: DbFormat = "auto") -> tuple[int, Rejects]:
    """Read a tar1090-db CSV, OpenSky CSV or Mictronics JSON file into the store."""
    rejects = Rejects()
    table = read_aircraft_db(path, fmt, rejects=rejects)
    return store_aircraft_db(store, table), rejects


def update_db(store: Store, url: str, *, timeout: float = 300.0) -> tuple[int, Rejects]:
    """Download tar1090-db's ``aircraft.csv.gz`` from ``url`` and replace the stored rows of
    the previous download with it."""
    rejects = Rejects()
    with tempfile.TemporaryDirectory(prefix="tailwatch-db-") as tmp:
        path = download(url, Path(tmp) / "aircraft.csv.gz", timeout=timeout)
        table = read_aircraft_db(path, "auto", rejects=rejects)
    sources = pc.unique(table.column("source")).to_pylist() if table.num_rows else []
    source = str(sources[0]) if len(sources) == 1 else None
    return store_aircraft_db(store, table, replace_source=source), rejects


_HEX = re.compile(r"^~?[0-9a-fA-F]{6}$")


def lookup(store: Store, query: str, *, registration: bool | None = None,
           annotations: Any = None) -> list[Any]:
    """Identities (``tailwatch.reference.identity.Identity``) for an address or a
    registration. ``registration``: force the reading of ``query`` (default: 6 hex digits are
    an address, anything else a registration)."""
    from tailwatch.reference.identity import identify
    from tailwatch.reference.registration import icao_from_registration

    q = query.strip()
    as_reg = (not _HEX.match(q)) if registration is None else registration
    if not as_reg:
        addr = int(q.lstrip("~"), 16) | (NON_ICAO_FLAG if q.startswith("~") else 0)
        rows = lookup_rows(store, icao24=[addr])
        return [identify(addr, db=AircraftDB(rows), annotations=annotations)]
    rows = lookup_rows(store, registration=q)
    addrs = [int(a) for a in rows.column("icao24").to_pylist()]
    if not addrs:
        found = icao_from_registration(q)
        if found is None:
            return []
        addrs = [found[0]]
    db = AircraftDB(rows)
    return [identify(a, db=db, annotations=annotations) for a in sorted(set(addrs))]
