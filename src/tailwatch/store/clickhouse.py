"""ClickHouse history store: in process with chdb, or a server over HTTP (clickhouse-connect).

Both transports run the same SQL. A write keeps one row per key of the Arrow batch (the first
for positions and events, the last for aircraft and flights), asks which of its keys are
already stored (positions and events: chdb reads the batch in place, a server gets it in a
temporary table), and inserts the rest into the ReplacingMergeTree table with one ``INSERT``;
the resume token goes into ``ingest_resume`` afterwards.

What ClickHouse does not promise, and how this store copes (see docs/schema.md):

* No transaction spans the data and the token. A crash between them leaves the rows without
  the token; the ingest then re-sends that batch, and the key (duplicate check at write,
  ReplacingMergeTree at merge) keeps it from being stored twice.
* Inserts are not synced to disk unless asked: the tables are created with
  ``fsync_after_insert`` and ``fsync_part_directory``, but a server may override table settings
  and its own metadata is not covered, so an OS crash or power cut can lose the last inserts.
* Aircraft and flights rows are replaced at merge time; the query helpers read them with
  ``FINAL``. Your own SQL should too (``SELECT … FROM flights FINAL``).
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tailwatch.core.errors import StoreError
from tailwatch.core.rejects import Rejects
from tailwatch.core.schema import TABLES
from tailwatch.store.base import (
    Columns,
    ResumeToken,
    storage_batch,
)
from tailwatch.store.ddl import (
    CLICKHOUSE_TIME_PRECISION,
    LAYOUTS,
    RESUME_TABLE,
    clickhouse_ddl,
    clickhouse_resume_ddl,
    clickhouse_type,
)
from tailwatch.store.sql import (
    Dialect,
    HistoryQueries,
    iso_utc,
    thin_drop_sql,
)

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_ORD = "_tw_ord"
#: Inserts carry one row per key (``ClickHouseStore.write``), so ReplacingMergeTree's collapse
#: of equal keys inside the inserted block has nothing to do: skipping it halves the insert.
#: In process (chdb), reading the Arrow batch on one thread is faster too (measured: a fifth).
_INSERT_SETTINGS = "optimize_on_insert = 0"
_CHDB_INSERT_SETTINGS = f"{_INSERT_SETTINGS}, max_threads = 1"


def _ts(t: float) -> str:
    return f"toDateTime64('{iso_utc(t)}', {CLICKHOUSE_TIME_PRECISION}, 'UTC')"


class _Backend(Protocol):
    """What the store needs from a ClickHouse connection."""

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None: ...

    def use(self, database: str) -> None: ...

    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None, *,
                    final: bool = False) -> pa.Table: ...

    def insert_arrow(self, table: str, data: pa.Table) -> None: ...

    def select_from_batch(self, data: pa.Table, sql: str, defs: str) -> pa.Table:
        """Run ``sql``, in which ``{batch}`` stands for the rows of ``data`` (columns typed
        as in ``defs``)."""
        ...

    def close(self) -> None: ...


class ChdbBackend:
    """ClickHouse in this process (chdb), data in a directory."""

    def __init__(self, path: str) -> None:
        try:
            from chdb import session
        except ImportError as exc:
            raise StoreError(
                "clickhouse+chdb:// needs the chdb package (pip install 'tailwatch[clickhouse]')"
            ) from exc
        self._session: Any = session.Session(path)  # type: ignore[no-untyped-call]

    def _run(self, sql: str, fmt: str, params: Mapping[str, Any] | None) -> Any:
        try:
            return self._session.query(sql, fmt, params=dict(params) if params else None)
        except Exception as exc:  # chdb raises its own RuntimeError subclass
            raise StoreError(f"ClickHouse (chdb): {exc}") from exc

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(sql, "CSV", params)

    def use(self, database: str) -> None:
        """Make ``database`` the session's default (unqualified table names)."""
        self.command(f"USE {database}")

    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None, *,
                    final: bool = False) -> pa.Table:
        if final:  # a session setting here: the SQL text is the user's, left as it is
            self.command("SET final = 1")
            try:
                out = self._run(sql, "ArrowTable", params)
            finally:
                self.command("SET final = 0")
        else:
            out = self._run(sql, "ArrowTable", params)
        return out if isinstance(out, pa.Table) else pa.table({})

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        batch = data  # read by name by chdb's Python() table function
        cols = ", ".join(batch.column_names)
        self._run(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM Python(batch) "
                  f"SETTINGS {_CHDB_INSERT_SETTINGS}", "CSV", None)

    def select_from_batch(self, data: pa.Table, sql: str, defs: str) -> pa.Table:
        batch = data  # noqa: F841 (read in place, by its name, by chdb's Python() table function)
        out = self._run(sql.format(batch="Python(batch)"), "ArrowTable", None)
        return out if isinstance(out, pa.Table) else pa.table({})

    def close(self) -> None:
        self._session.close()


_ARROW_STRINGS = "output_format_arrow_string_as_string"


def _strings(table: pa.Table) -> pa.Table:
    """String columns that came as Arrow binary (without ``output_format_arrow_string_as_
    string``) as strings, as they come with it; FixedString stays fixed-size binary."""
    fields = [pa.field(f.name, pa.string(), f.nullable)
              if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type) else f
              for f in table.schema]
    return table if all(a.equals(b) for a, b in zip(fields, table.schema, strict=True)) \
        else table.cast(pa.schema(fields))


class ConnectBackend:
    """A clickhouse-connect client: a server over HTTP(S) (or any client it can make)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        try:
            self._client.command(sql, parameters=dict(params) if params else None)
        except Exception as exc:
            raise StoreError(f"ClickHouse: {exc}") from exc

    def use(self, database: str) -> None:
        """Make ``database`` the default of every request (unqualified table names)."""
        self._client.database = database

    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None, *,
                    final: bool = False) -> pa.Table:
        # raw: a statement without a result (ALTER, TRUNCATE…) answers with an empty body,
        # which the client's query_arrow cannot read as an Arrow file
        settings: dict[str, int] = {**self._string_setting(), **({"final": 1} if final else {})}
        try:
            raw = self._client.raw_query(
                sql, parameters=dict(params) if params else None,
                settings=settings, fmt="Arrow",
            )
            return _strings(pa.ipc.open_file(pa.py_buffer(raw)).read_all()) if raw else \
                pa.table({})
        except Exception as exc:
            raise StoreError(f"ClickHouse: {exc}") from exc

    def _string_setting(self) -> dict[str, int]:
        """Ask for String columns as Arrow strings, unless the server's profile makes the
        setting read-only (it would refuse the query): then :func:`_strings` does it here."""
        known = getattr(self._client, "server_settings", {}).get(_ARROW_STRINGS)
        return {} if known is not None and known.readonly else {_ARROW_STRINGS: 1}

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        try:
            self._client.insert_arrow(table, data, settings={"optimize_on_insert": 0})
        except Exception as exc:
            raise StoreError(f"ClickHouse: {exc}") from exc

    def select_from_batch(self, data: pa.Table, sql: str, defs: str) -> pa.Table:
        stage = f"_tw_stage_{uuid.uuid4().hex}"  # a temporary table of the session
        try:
            self.command(f"CREATE TEMPORARY TABLE {stage} ({defs}) ENGINE = Memory")
            self.insert_arrow(stage, data)
            return self.query_arrow(sql.format(batch=stage))
        finally:
            self.command(f"DROP TEMPORARY TABLE IF EXISTS {stage}")

    def close(self) -> None:
        self._client.close()


class ClickHouseStore(HistoryQueries):
    """The history store in a ClickHouse database (``tailwatch`` unless named)."""

    engine = "clickhouse"

    def __init__(self, backend: _Backend, database: str = "tailwatch") -> None:
        if not _IDENT.match(database):
            raise StoreError(f"bad ClickHouse database name {database!r}")
        self.database = database
        self.rejects = Rejects()
        self._db = backend
        self._lock = threading.RLock()
        db = database
        self.dialect = Dialect(
            ts=_ts,
            source=lambda t: f"{db}.{t} FINAL" if LAYOUTS[t].mode == "upsert" else f"{db}.{t}",
            bucket=lambda col, every_us: f"intDiv(toUnixTimestamp64Micro({col}), {every_us})",
            prev=lambda expr: f"lagInFrame({expr}) OVER w",
            frame=" ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW",
        )
        try:
            backend.command(f"CREATE DATABASE IF NOT EXISTS {db}")
            for table in TABLES:
                backend.command(clickhouse_ddl(table, db))
            backend.command(clickhouse_resume_ddl(db))
            self._migrate()
            backend.use(db)  # `FROM positions` as on DuckDB (tailwatch.positions works too)
        except BaseException:
            backend.close()
            raise

    @classmethod
    def chdb(cls, path: str, database: str = "tailwatch") -> ClickHouseStore:
        return cls(ChdbBackend(path), database)

    @classmethod
    def http(
        cls,
        host: str,
        port: int = 8123,
        database: str = "tailwatch",
        username: str = "default",
        password: str = "",
        secure: bool = False,
    ) -> ClickHouseStore:
        try:
            import clickhouse_connect
        except ImportError as exc:
            raise StoreError(
                "clickhouse:// needs clickhouse-connect (pip install 'tailwatch[clickhouse]')"
            ) from exc
        try:
            client = clickhouse_connect.get_client(
                host=host, port=port, username=username, password=password, secure=secure
            )
        except Exception as exc:
            raise StoreError(f"cannot reach ClickHouse at {host}:{port}: {exc}") from exc
        return cls(ConnectBackend(client), database)

    # --- schema ---------------------------------------------------------------------------

    def live_columns(self, table: str) -> list[tuple[str, str]]:
        if not _IDENT.match(table):
            raise StoreError(f"bad table name {table!r}")
        out = self._db.query_arrow(
            "SELECT name, type FROM system.columns "
            f"WHERE database = '{self.database}' AND table = '{table}' ORDER BY position"
        )
        if not out.num_rows:
            return []
        return list(
            zip(out.column("name").to_pylist(), out.column("type").to_pylist(), strict=True)
        )

    def _migrate(self) -> None:
        """Add nullable columns the schema gained; refuse any other drift."""
        for table in TABLES:
            live = dict(self.live_columns(table))
            for f in TABLES[table]:
                typ = clickhouse_type(table, f)
                if f.name not in live:
                    if not typ.startswith(("Nullable", "LowCardinality(Nullable")):
                        raise StoreError(f"{self.database}.{table} lacks column {f.name}")
                    self._db.command(
                        f"ALTER TABLE {self.database}.{table} ADD COLUMN {f.name} {typ}"
                    )
                elif live[f.name] != typ:
                    raise StoreError(
                        f"{self.database}.{table}.{f.name} is {live[f.name]}, the schema says {typ}"
                    )
            extra = set(live) - {f.name for f in TABLES[table]}
            if extra:
                raise StoreError(f"{self.database}.{table} has columns not in the schema: {extra}")

    # --- writes ---------------------------------------------------------------------------

    def _stored_position(self, source_id: str) -> int | None:
        out = self._db.query_arrow(
            f"SELECT position FROM {self.database}.{RESUME_TABLE} FINAL "
            "WHERE source_id = {source:String} ORDER BY position DESC LIMIT 1",
            {"source": source_id},
        )
        return int(out.column(0)[0].as_py()) if out.num_rows else None

    def write(
        self, table: str, columns: Columns | pa.Table, *, resume: ResumeToken | None = None
    ) -> int:
        # one row per key, sorted by key (ClickHouse sorts every inserted block, faster when
        # it comes sorted)
        data = storage_batch(table, columns, self.rejects)
        with self._lock:
            if resume is not None:
                stored = self._stored_position(resume.source_id)
                if stored is not None and resume.position <= stored:
                    return 0
            written = self._insert(table, data) if len(data) else 0
            if resume is not None:
                self._db.command(
                    f"INSERT INTO {self.database}.{RESUME_TABLE} VALUES "
                    f"({{source:String}}, {{position:Int64}}, now64({CLICKHOUSE_TIME_PRECISION}))",
                    {"source": resume.source_id, "position": int(resume.position)},
                )
            return written

    def _insert(self, table: str, data: pa.Table) -> int:
        """One row per key already (``write``): upserts go in as they are (ReplacingMergeTree
        keeps the last inserted row of a key), dedupe tables lose the rows whose key is
        stored; then one ``INSERT``, which ClickHouse sorts into the table's order."""
        if LAYOUTS[table].mode == "dedupe":
            data = self._drop_stored(table, data)
        if len(data):
            self._db.insert_arrow(f"{self.database}.{table}", data)
        return len(data)

    def _drop_stored(self, table: str, data: pa.Table) -> pa.Table:
        """The rows of the batch whose key is not stored yet; the check reads only the parts
        of the batch's time span (partition and part min/max of the time column)."""
        layout = LAYOUTS[table]
        key = ", ".join(layout.key)
        span = ""
        if layout.time_column:
            lo, hi = pc.min_max(data.column(layout.time_column)).values()
            tc = layout.time_column
            span = f" WHERE {tc} BETWEEN {_ts(lo.value / 1e6)} AND {_ts(hi.value / 1e6)}"
        defs = ", ".join(
            f"{f.name} {clickhouse_type(table, f)}" for f in TABLES[table]
        ) + f", {_ORD} UInt64"
        ordered = data.append_column(_ORD, pa.array(np.arange(len(data), dtype=np.uint64)))
        stored = self._db.select_from_batch(
            ordered,
            f"SELECT {_ORD} FROM {{batch}} "
            f"WHERE ({key}) IN (SELECT {key} FROM {self.database}.{table}{span})",
            defs,
        )
        if not stored.num_rows:
            return data
        keep = np.ones(len(data), dtype=bool)
        keep[np.asarray(stored.column(0).to_numpy(), dtype=np.int64)] = False
        return data.filter(pa.array(keep))

    def resume_position(self, source_id: str) -> ResumeToken | None:
        with self._lock:
            stored = self._stored_position(source_id)
        return None if stored is None else ResumeToken(source_id, stored)

    # --- reads ----------------------------------------------------------------------------

    def query(self, sql: str, params: Mapping[str, object] | None = None, *,
              final: bool = False) -> pa.Table:
        """ClickHouse SQL; parameters as ``{name:Type}``. Tables are in database
        ``self.database`` (``tailwatch`` by default), which is the default database: ``FROM
        positions`` and ``FROM tailwatch.positions`` both work. ``final`` reads every table
        as with ``FINAL`` (the rows of aircraft, flights and aircraft_db merged by key, as
        DuckDB keeps them): the same SQL gives the same answer on both engines."""
        with self._lock:
            if final:
                return self._db.query_arrow(sql, params, final=True)
            return self._db.query_arrow(sql, params)

    # --- retention --------------------------------------------------------------------------

    def thin_positions_before(self, cutoff_t: float, every_s: float) -> int:
        target = f"{self.database}.positions"
        drop = thin_drop_sql(self.dialect, target, cutoff_t, every_s)
        count = f"SELECT count() FROM {target} WHERE t < {_ts(cutoff_t)}"
        with self._lock:
            before = int(self._db.query_arrow(count).column(0)[0].as_py())
            self._db.command(
                f"DELETE FROM {target} WHERE t < {_ts(cutoff_t)} AND (icao24, t) IN ({drop})"
            )
            after = int(self._db.query_arrow(count).column(0)[0].as_py())
        return before - after

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> ClickHouseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
