"""DuckDB history store: one file, Arrow batches in, Arrow tables out.

DuckDB lets one process open a file for writing and then no other process open it at all,
or several processes open it read-only at once. ``DuckDBStore(path, read_only=True)`` (what
``tailwatch serve`` and the query commands use) opens it read-only; a file another process
is writing (``tailwatch run --db``, ``replay --db``, ``import``) cannot be opened, and the
error says so and names that process.

Each write is one transaction: the batch (registered as an Arrow view, then
``INSERT … SELECT``), the duplicate check against the rows already stored, and the resume
token of the source. A crash before ``COMMIT`` leaves neither the rows nor the token; after it,
both (DuckDB's write-ahead log is synced at commit).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
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
    DUCKDB_RESUME_DDL,
    LAYOUTS,
    RESUME_TABLE,
    duckdb_columns,
    duckdb_ddl,
)
from tailwatch.store.sql import (
    Dialect,
    HistoryQueries,
    iso_utc,
    thin_drop_sql,
)

_BATCH = "_tw_batch"
_ORD = "_tw_ord"

DIALECT = Dialect(
    ts=lambda t: f"TIMESTAMPTZ '{iso_utc(t)}+00'",
    source=lambda table: table,
    bucket=lambda col, every_us: f"(epoch_us({col}) // {every_us})",
    prev=lambda expr: f"lag({expr}) OVER w",
)


def _first(rows: list[Any]) -> Any:
    """The first row of a fully fetched result (DuckDB 2 wants every result read to its end)."""
    return rows[0] if rows else None


def _arrow(rel: Any) -> pa.Table:
    """A DuckDB relation's rows as an Arrow table (DuckDB 1.x and 2.x spellings)."""
    for name in ("to_arrow_table", "fetch_arrow_table", "arrow"):
        method = getattr(rel, name, None)
        if method is not None:
            out = method()
            if isinstance(out, pa.RecordBatchReader):
                out = out.read_all()
            if isinstance(out, pa.Table):
                return out
    raise StoreError("this DuckDB version cannot return Arrow tables")


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")


def _holder_command(pid: int) -> str:
    """The command line of process ``pid`` (Linux), or an empty string."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    args = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
    if len(args) > 2 and args[1] == "-m":
        args = args[2:]
    return " ".join(Path(a).name if i == 0 else a for i, a in enumerate(args))[:200]


def open_error(path: str, exc: Exception, *, read_only: bool) -> StoreError:
    """A clear :class:`StoreError` for a failed open: a lock held by another process is
    named (and what to do about it), anything else is passed on."""
    m = _LOCK_HOLDER.search(str(exc))
    if m is None:
        return StoreError(f"cannot open DuckDB store {path!r}: {exc}")
    pid = int(m["pid"])
    cmd = _holder_command(pid)
    who = f"process {pid}" + (f" ({cmd})" if cmd else "")
    if read_only:
        return StoreError(
            f"cannot read {path}: {who} has it open for writing, and DuckDB lets no other "
            "process open a file while one writes it. Query the running process instead "
            "(its --web API: /api/positions, /api/flights, ...), stop it first, or store "
            "into ClickHouse, which serves readers and writers at once.")
    return StoreError(
        f"cannot open {path} for writing: {who} has it open, and DuckDB lets only one "
        "process write a file, and only when no other process has it open (readers such as "
        "`tailwatch serve` included). Stop that process first, or write into another file.")


class DuckDBStore(HistoryQueries):
    """The history store in one DuckDB file (or ``:memory:``); ``read_only`` opens an
    existing file without writing anything to it (several processes may do so at once).
    ``memory_limit`` (DuckDB's syntax: ``"1GB"``, ``"512MB"``) caps DuckDB's buffer
    manager, which otherwise keeps table blocks in memory up to 80 % of the RAM."""

    engine = "duckdb"
    dialect = DIALECT

    def __init__(self, path: str, *, read_only: bool = False, memory_limit: str = "") -> None:
        self.path = path
        self.rejects = Rejects()
        self._lock = threading.RLock()
        memory = path.startswith(":memory:")
        self.read_only = read_only and not memory
        try:
            if self.read_only:
                if not Path(path).expanduser().is_file():
                    raise StoreError(f"no history store at {path}")
                self._con = duckdb.connect(path, read_only=True)
            else:
                if not memory:
                    Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
                self._con = duckdb.connect(path)
        except (duckdb.Error, OSError) as exc:
            raise open_error(path, exc, read_only=self.read_only) from exc
        try:
            self._con.execute("SET TimeZone = 'UTC'")
            if memory_limit:  # DuckDB's buffer manager; by default up to 80 % of the RAM
                self._con.execute("SET memory_limit = ?", [memory_limit])
            if self.read_only:
                self._check_schema()
                return
            for table in TABLES:
                self._con.execute(duckdb_ddl(table))
            self._con.execute(DUCKDB_RESUME_DDL)
            self._migrate()
        except BaseException as exc:
            self._con.close()
            if isinstance(exc, duckdb.Error):
                raise StoreError(f"cannot open DuckDB store {path!r}: {exc}") from exc
            raise

    # --- schema ---------------------------------------------------------------------------

    def live_columns(self, table: str) -> list[tuple[str, str]]:
        rows = self._con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
        return [(str(name), str(typ)) for name, typ in rows]

    def _check_schema(self) -> None:
        """Read-only: the file must hold the current schema (nothing can be migrated)."""
        for table in TABLES:
            live = dict(self.live_columns(table))
            if not live:
                raise StoreError(f"{self.path}: no {table} table: not a tailwatch history "
                                 "store (or an empty file): open it for writing once")
            missing = [n for n, _, _ in duckdb_columns(table) if n not in live]
            if missing:
                raise StoreError(f"{self.path}: {table} lacks {missing} (made by an older "
                                 "tailwatch): open it for writing once to migrate it")

    def _migrate(self) -> None:
        """Add columns the schema gained since the file was made; refuse any other drift."""
        for table in TABLES:
            live = dict(self.live_columns(table))
            for name, typ, null in duckdb_columns(table):
                if name not in live:
                    if not null:
                        raise StoreError(f"{self.path}: {table} lacks required column {name}")
                    self._con.execute(f"ALTER TABLE {table} ADD COLUMN {name} {typ}")
                elif live[name] != typ:
                    raise StoreError(
                        f"{self.path}: {table}.{name} is {live[name]}, the schema says {typ}"
                    )
            extra = set(live) - {name for name, _, _ in duckdb_columns(table)}
            if extra:
                raise StoreError(f"{self.path}: {table} has columns not in the schema: {extra}")

    # --- writes ---------------------------------------------------------------------------

    def write(
        self, table: str, columns: Columns | pa.Table, *, resume: ResumeToken | None = None
    ) -> int:
        # one row per key, sorted by key: the table keeps that order (see _insert)
        data = storage_batch(table, columns, self.rejects)
        with self._lock:
            con = self._con
            try:
                con.execute("BEGIN TRANSACTION")
                if resume is not None:
                    row = _first(
                        con.execute(
                            f"SELECT position FROM {RESUME_TABLE} WHERE source_id = ?",
                            [resume.source_id],
                        ).fetchall()
                    )
                    if row is not None and resume.position <= int(row[0]):
                        con.execute("ROLLBACK")
                        return 0
                written = self._insert(table, data) if len(data) else 0
                if resume is not None:
                    con.execute(
                        f"INSERT INTO {RESUME_TABLE} VALUES (?, ?, now()) "
                        "ON CONFLICT (source_id) DO UPDATE SET position = excluded.position, "
                        "updated_at = excluded.updated_at",
                        [resume.source_id, int(resume.position)],
                    )
                con.execute("COMMIT")
                return written
            except duckdb.Error as exc:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise StoreError(f"writing {len(data)} rows to {table}: {exc}") from exc

    def _insert(self, table: str, data: pa.Table) -> int:
        """Inside the write's transaction: the batch (one row per key already, sorted by key)
        replaces the stored rows of its keys (upsert), or loses the rows whose key is stored
        (dedupe); then one plain ``INSERT`` that keeps the batch's order in the table (an
        anti-join in the same statement would reorder it)."""
        layout = LAYOUTS[table]
        con = self._con
        if layout.mode == "upsert":
            on = " AND ".join(f"{table}.{k} = b.{k}" for k in layout.key)
            with self._registered(data):
                con.execute(f"DELETE FROM {table} USING {_BATCH} AS b WHERE {on}")
        else:
            data = self._drop_stored(table, data)
        if not len(data):
            return 0
        cols = ", ".join(f.name for f in TABLES[table])
        with self._registered(data):
            row = _first(
                con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {_BATCH}").fetchall()
            )
        return int(row[0]) if row else 0

    def _drop_stored(self, table: str, data: pa.Table) -> pa.Table:
        """The rows of the batch whose key is not stored yet (the check is narrowed to the
        batch's time span, so that it reads only the row groups of that span)."""
        layout = LAYOUTS[table]
        span = ""
        if layout.time_column:
            lo, hi = pc.min_max(data.column(layout.time_column)).values()
            tc = layout.time_column
            span = (
                f" AND s.{tc} BETWEEN TIMESTAMPTZ '{lo.as_py().isoformat()}' "
                f"AND TIMESTAMPTZ '{hi.as_py().isoformat()}'"
            )
        match = " AND ".join(f"s.{k} = b.{k}" for k in layout.key)
        ordered = data.append_column(_ORD, pa.array(np.arange(len(data), dtype=np.int64)))
        with self._registered(ordered):
            stored = self._con.execute(
                f"SELECT b.{_ORD} FROM {_BATCH} AS b "
                f"WHERE EXISTS (SELECT 1 FROM {table} AS s WHERE {match}{span})"
            ).fetchnumpy()[_ORD]
        if not len(stored):
            return data
        keep = np.ones(len(data), dtype=bool)
        keep[np.asarray(stored, dtype=np.int64)] = False
        return data.filter(pa.array(keep))

    @contextlib.contextmanager
    def _registered(self, data: pa.Table) -> Iterator[None]:
        self._con.register(_BATCH, data)
        try:
            yield
        finally:
            self._con.unregister(_BATCH)

    def resume_position(self, source_id: str) -> ResumeToken | None:
        with self._lock:
            row = _first(
                self._con.execute(
                    f"SELECT position FROM {RESUME_TABLE} WHERE source_id = ?", [source_id]
                ).fetchall()
            )
        return None if row is None else ResumeToken(source_id, int(row[0]))

    # --- reads ----------------------------------------------------------------------------

    def query(
        self, sql: str, params: Mapping[str, object] | Sequence[object] | None = None
    ) -> pa.Table:
        """DuckDB SQL; parameters as ``$name`` (a mapping) or ``?`` (a sequence)."""
        with self._lock:
            try:
                rel = self._con.sql(sql, params=params) if params else self._con.sql(sql)
                return pa.table({}) if rel is None else _arrow(rel)
            except duckdb.Error as exc:
                raise StoreError(f"query failed: {exc}") from exc

    # --- retention --------------------------------------------------------------------------

    def thin_positions_before(self, cutoff_t: float, every_s: float) -> int:
        drop = thin_drop_sql(DIALECT, "positions", cutoff_t, every_s)
        with self._lock:
            try:
                self._con.execute("BEGIN TRANSACTION")
                row = _first(
                    self._con.execute(
                        f"DELETE FROM positions USING ({drop}) AS d "
                        "WHERE positions.icao24 = d.icao24 AND positions.t = d.t"
                    ).fetchall()
                )
                self._con.execute("COMMIT")
            except duckdb.Error as exc:
                with contextlib.suppress(duckdb.Error):
                    self._con.execute("ROLLBACK")
                raise StoreError(f"thinning positions: {exc}") from exc
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> DuckDBStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
