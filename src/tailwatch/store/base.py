"""The Store interface, the columns ↔ Arrow conversion every engine shares, and ``open_store``.

A store holds the four tables of ``tailwatch.core.schema.TABLES`` (positions, aircraft,
flights, events). Writes are columnar batches (a dict of numpy columns in the schema's kinds,
or an Arrow table), never rows; reads return Arrow tables in the storage types of
``ddl.arrow_schema`` (addresses as 6 lowercase hex digits, squawks as 4 digits, enumerations as
labels, times as UTC microsecond timestamps), and ``to_columns`` turns them back into numpy
columns.

Idempotent ingest: a write may carry a :class:`ResumeToken` (a source id and how far into that
source the batch reaches). The engine records it with the data, and skips a later write whose
token does not go beyond the stored one; ``resume_position(source_id)`` tells a restarted
ingest where to seek to.
"""

from __future__ import annotations

import functools
import math
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tailwatch.core.errors import StoreError
from tailwatch.core.rejects import Rejects
from tailwatch.core.schema import TABLES, Field
from tailwatch.store import kernels as kn
from tailwatch.store.ddl import LAYOUTS, arrow_schema, arrow_type, is_time
from tailwatch.store.ddl import field as field_of

Columns = Mapping[str, np.ndarray]
TimeLike = float | int | datetime
#: (south, west, north, east) in degrees; west > east crosses the antimeridian.
Box = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True, order=True)
class ResumeToken:
    """How far into one ingest source a batch reaches.

    ``position`` is where the *next* batch starts (a byte offset, a frame count, a line
    number...), so after a restart the source is re-opened at ``resume_position(source_id)``.
    A write whose ``position`` is not beyond the stored one is skipped.
    """

    source_id: str
    position: int


@runtime_checkable
class Store(Protocol):
    """The history store: columnar batch writes, SQL and helper reads, resumable ingest."""

    rejects: Rejects

    def write(
        self, table: str, columns: Columns | pa.Table, *, resume: ResumeToken | None = None
    ) -> int:
        """Store one batch; return the number of rows written (0 when skipped or all were
        duplicates). Rows missing a required column are counted in ``rejects``."""
        ...

    def query(self, sql: str, params: Mapping[str, object] | None = None) -> pa.Table:
        """Run SQL in the engine's dialect (tables: positions, aircraft, flights, events)."""
        ...

    def positions(
        self,
        icao24: str | int | Iterable[str | int] | None = None,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        box: Box | None = None,
    ) -> pa.Table: ...

    def aircraft(
        self,
        icao24: str | int | Iterable[str | int] | None = None,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
    ) -> pa.Table: ...

    def flights(
        self,
        icao24: str | int | Iterable[str | int] | None = None,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
    ) -> pa.Table: ...

    def events(
        self,
        icao24: str | int | Iterable[str | int] | None = None,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        type: str | Iterable[str] | None = None,
        airport: str | None = None,
    ) -> pa.Table: ...

    def resume_position(self, source_id: str) -> ResumeToken | None: ...

    def thin_positions_before(self, cutoff_t: float, every_s: float) -> int:
        """Engine half of :func:`tailwatch.store.thin_positions`; returns rows deleted."""
        ...

    def live_columns(self, table: str) -> list[tuple[str, str]]:
        """(name, type) of the table as the engine reports it (for the drift check)."""
        ...

    def close(self) -> None: ...


def open_store(url: str, *, read_only: bool = False, memory_limit: str = "") -> Store:
    """Open (creating if needed) the store at ``url``.

    * ``/path/file.duckdb``, ``duckdb:///path/file.duckdb``, ``:memory:``: DuckDB.
    * ``clickhouse+chdb:///path/dir``: ClickHouse in process (chdb), data in that directory.
    * ``clickhouse://[user[:password]@]host[:8123][/database]``: a ClickHouse server over
      HTTP (``clickhouses://`` for HTTPS).

    ``read_only`` (for what only reads: ``tailwatch serve``, ``sql``, the query commands)
    opens a DuckDB file read-only, so that several readers can share it (a file must exist
    and hold the schema); ClickHouse serves readers and writers at once and ignores it.
    ``memory_limit`` caps DuckDB's memory (``"1GB"``; see :class:`DuckDBStore`).
    """
    if url.startswith("clickhouse+chdb://"):
        from tailwatch.store.clickhouse import ClickHouseStore

        path = unquote(url[len("clickhouse+chdb://") :])
        if not path:
            raise StoreError(f"no path in {url!r}")
        return ClickHouseStore.chdb(path)
    if url.startswith(("clickhouse://", "clickhouses://")):
        from tailwatch.store.clickhouse import ClickHouseStore

        parts = urlsplit(url)
        return ClickHouseStore.http(
            host=parts.hostname or "localhost",
            port=parts.port or (8443 if parts.scheme == "clickhouses" else 8123),
            database=parts.path.strip("/") or "tailwatch",
            username=unquote(parts.username or "default"),
            password=unquote(parts.password or ""),
            secure=parts.scheme == "clickhouses",
        )
    if url.startswith("duckdb://"):
        url = unquote(url[len("duckdb://") :]) or ":memory:"
    elif "://" in url:
        raise StoreError(f"unknown store URL scheme: {url!r}")
    from tailwatch.store.duckdb import DuckDBStore

    return DuckDBStore(url, read_only=read_only, memory_limit=memory_limit)


# --- numpy columns → Arrow (storage types) ---------------------------------------------------

_NIBBLE = np.zeros(256, dtype=np.uint32)
_NIBBLE[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10, dtype=np.uint32)
_NIBBLE[np.frombuffer(b"abcdef", np.uint8)] = np.arange(10, 16, dtype=np.uint32)
_NIBBLE[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16, dtype=np.uint32)


def _string_array(offsets: np.ndarray, data: np.ndarray, valid: np.ndarray | None) -> pa.Array:
    """An Arrow string array from its buffers (``valid`` None or all true: no nulls)."""
    n = int(offsets.shape[0]) - 1
    if valid is None or bool(valid.all()):
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    bitmap = np.packbits(valid, bitorder="little")
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(data), pa.py_buffer(bitmap),
        int(n - np.count_nonzero(valid)),
    )


def _fixed_offsets(n: int, width: int) -> np.ndarray:
    if n * width >= 2**31:
        raise StoreError(f"a batch of {n:,} rows is too large for one Arrow string column")
    return np.arange(0, n * width + 1, width, dtype=np.int32)


def _icao_to_arrow(col: np.ndarray) -> pa.Array:
    addr = np.ascontiguousarray(col).astype(np.uint32, copy=False)
    return _string_array(_fixed_offsets(addr.size, 6), kn.hex6(addr), None)


def _squawk_to_arrow(col: np.ndarray, null: int) -> pa.Array:
    codes = np.ascontiguousarray(col).astype(np.int64, copy=False)
    data, valid = kn.squawk4(codes, np.int64(null))
    return _string_array(_fixed_offsets(codes.size, 4), data, valid)


def _bytes_to_arrow(col: np.ndarray) -> pa.Array:
    """Fixed-width byte strings (callsigns): trailing spaces and NULs cut, b"" is null,
    non-ASCII bytes replaced by '?' so the result is valid UTF-8."""
    width = col.dtype.itemsize
    contiguous = np.ascontiguousarray(col)
    if width == 8 and sys.byteorder == "little":
        offsets, data, valid = kn.fixed_strings8(contiguous.view(np.uint64))
    else:
        offsets, data, valid = kn.fixed_strings(contiguous.view(np.uint8).reshape(col.size, width))
    if data.size >= 2**31:
        raise StoreError(f"a batch of {col.size:,} rows is too large for one Arrow string column")
    return _string_array(offsets, data, valid)


@functools.lru_cache(maxsize=64)
def _label_array(labels: tuple[str, ...]) -> pa.Array:
    return pa.array(labels, pa.string())


def _enum_to_arrow(col: np.ndarray, labels: tuple[str, ...]) -> pa.Array:
    """Codes → labels (codes outside the labels → null), decoded by Arrow from a dictionary
    array: twice as fast as a loop copying label bytes."""
    codes = np.asarray(col)
    valid = (codes >= 0) & (codes < len(labels))
    idx = codes.astype(np.int32)
    indices = pa.array(idx, mask=None if bool(valid.all()) else ~valid)
    return pa.DictionaryArray.from_arrays(indices, _label_array(labels)).cast(pa.string())


def _float_to_arrow(values: np.ndarray, typ: pa.DataType) -> pa.Array:
    """Floats without a copy; NaN → null (the validity bitmap)."""
    nan = np.isnan(values)
    n_null = int(np.count_nonzero(nan))
    bitmap = pa.py_buffer(np.packbits(~nan, bitorder="little")) if n_null else None
    return pa.Array.from_buffers(typ, values.size, [bitmap, pa.py_buffer(values)], n_null)


def _numpy_to_arrow(f: Field, col: np.ndarray) -> pa.Array:
    if is_time(f):
        t = np.ascontiguousarray(col, dtype=np.float64)
        us, missing = kn.seconds_to_us(t)
        return pa.array(us, type=arrow_type(f), mask=missing if missing.any() else None)
    if f.kind == "float":
        return _float_to_arrow(np.ascontiguousarray(col, dtype=f.dtype), arrow_type(f))
    if f.kind == "icao":
        return _icao_to_arrow(np.asarray(col))
    if f.kind == "squawk":
        return _squawk_to_arrow(np.asarray(col), int(f.null if f.null is not None else -1))
    if f.kind == "bytes":
        return _bytes_to_arrow(np.asarray(col, dtype=f"S{np.dtype(f.dtype).itemsize}"))
    if f.kind == "enum":
        return _enum_to_arrow(np.asarray(col), tuple(f.labels))
    if f.kind == "text":
        arr = pa.array(np.asarray(col, dtype=object), type=pa.string(), from_pandas=True)
        if isinstance(f.null, str):
            arr = pc.if_else(pc.equal(arr, f.null), pa.scalar(None, pa.string()), arr)
        return arr
    if f.kind == "bool":
        return pa.array(np.asarray(col, dtype=bool))
    if f.kind == "int":
        values = np.asarray(col).astype(f.dtype, copy=False)
        if f.null is None:
            return pa.array(values)
        missing = values == f.null
        return pa.array(values, mask=missing if missing.any() else None)
    raise StoreError(f"column kind {f.kind!r} of {f.name!r} is not storable")


def _arrow_to_storage(f: Field, arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """An Arrow column in storage form already (strings, timestamps) or in numpy form."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    target = arrow_type(f)
    if pa.types.is_dictionary(arr.type) or pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    if target == pa.string() and (
        pa.types.is_binary(arr.type)
        or pa.types.is_fixed_size_binary(arr.type)
        or pa.types.is_large_binary(arr.type)
    ):
        arr = pc.utf8_rtrim(arr.cast(pa.binary()).cast(pa.string()), characters=" \x00")
        return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    if arr.type == target:
        return pc.utf8_lower(arr) if f.kind == "icao" else arr
    if pa.types.is_timestamp(arr.type) and pa.types.is_timestamp(target):
        if arr.type.tz is None:
            arr = arr.cast(pa.timestamp(arr.type.unit, tz="UTC"))
        return arr.cast(target)
    # numbers in the schema's numpy form (float seconds, uint32 addresses, codes)
    if f.kind == "float":
        arr = pc.fill_null(arr.cast(pa.float64()), float("nan"))
    elif isinstance(f.null, int | float) and arr.null_count:
        arr = pc.fill_null(arr, pa.scalar(f.null).cast(arr.type))
    return _numpy_to_arrow(f, np.asarray(arr.to_numpy(zero_copy_only=False)))


def to_arrow(table: str, columns: Columns | pa.Table) -> pa.Table:
    """Schema-kind columns (numpy) or an Arrow table → an Arrow table in the storage types of
    ``ddl.arrow_schema(table)``. Missing nullable columns are filled with nulls."""
    if table not in TABLES:
        raise StoreError(f"unknown table {table!r}; tables: {', '.join(TABLES)}")
    fields = TABLES[table]
    names = list(columns.column_names) if isinstance(columns, pa.Table) else list(columns)
    unknown = set(names) - {f.name for f in fields}
    if unknown:
        raise StoreError(f"{table}: columns not in the schema: {sorted(unknown)}")
    lengths = {len(columns[name]) for name in names}
    if len(lengths) > 1:
        raise StoreError(f"{table}: columns of different lengths {sorted(lengths)}")
    n = lengths.pop() if lengths else 0
    schema = arrow_schema(table)
    arrays: list[pa.Array] = []
    for f in fields:
        if f.name not in names:
            if f.null is None:
                raise StoreError(f"{table}: column {f.name!r} is required")
            arrays.append(pa.nulls(n, arrow_type(f)))
            continue
        col = columns[f.name]
        if isinstance(col, pa.Array | pa.ChunkedArray):
            arrays.append(_arrow_to_storage(f, col))
        else:
            arrays.append(_numpy_to_arrow(f, np.asarray(col)))
    return pa.Table.from_arrays(arrays, schema=schema)


def storage_batch(table: str, columns: Columns | pa.Table, rejects: Rejects) -> pa.Table:
    """A batch as the engines write it: in storage types (:func:`to_arrow`), without the rows
    that lack a required value (counted in ``rejects``), one row per key (the first of the
    batch for ``dedupe`` tables, the last for ``upsert`` tables) and sorted by key, stably.

    Numpy batches whose key columns are numbers (addresses, times, codes) are sorted on the
    key *as stored* (24-bit address, microsecond time) before the conversion, and equal keys
    are then neighbours: the duplicate check is a comparison of adjacent rows. Any other
    batch is sorted as Arrow and checked with :func:`has_duplicate_keys`."""
    if table not in LAYOUTS:
        to_arrow(table, columns)  # raises the unknown-table error
    layout = LAYOUTS[table]
    stored_keys = None if isinstance(columns, pa.Table) else _stored_keys(table, columns)
    if stored_keys is not None:
        assert not isinstance(columns, pa.Table)
        order = np.lexsort(stored_keys[::-1])
        if not bool(np.array_equal(order, np.arange(order.size))):
            columns = {name: np.asarray(col)[order] for name, col in columns.items()}
            stored_keys = [k[order] for k in stored_keys]
        equal = np.ones(max(order.size - 1, 0), dtype=bool)
        for k in stored_keys:
            equal &= k[1:] == k[:-1]
        data = drop_missing_required(table, to_arrow(table, columns), rejects)
        duplicates = bool(equal.any())  # rows without a key may look equal: the exact path
    else:
        data = drop_missing_required(table, to_arrow(table, columns), rejects)
        if data.num_rows > 1:
            data = data.take(pc.sort_indices(data, sort_keys=[(k, "ascending")
                                                              for k in layout.key]))
        duplicates = has_duplicate_keys(data, layout.key)
    if duplicates:
        data = one_row_per_key(data, layout.key, last=layout.mode == "upsert")
    return data


def _stored_keys(table: str, columns: Columns) -> list[np.ndarray] | None:
    """The key columns as int64 arrays equal exactly when the stored keys are equal, or None
    when a key column is not a numpy number of a kind this can map (or lengths differ)."""
    if len({len(col) for col in columns.values()}) != 1:
        return None
    out: list[np.ndarray] = []
    for name in LAYOUTS[table].key:
        col = columns.get(name)
        if not isinstance(col, np.ndarray) or col.dtype.kind not in "iuf":
            return None
        f = field_of(table, name)
        if is_time(f):
            us, _ = kn.seconds_to_us(np.ascontiguousarray(col, dtype=np.float64))
            out.append(us)
        elif f.kind == "icao":
            out.append(col.astype(np.int64) & 0xFFFFFF)
        elif f.kind in ("enum", "int") and col.dtype.kind in "iu":
            out.append(col.astype(np.int64))
        else:
            return None
    return out


def drop_missing_required(table: str, data: pa.Table, rejects: Rejects) -> pa.Table:
    """Drop rows without a value in a required (key or partition) column, counting them."""
    keep: pa.Array | None = None
    for name in LAYOUTS[table].required:
        valid = pc.is_valid(data.column(name))
        missing = len(data) - pc.sum(valid).as_py() if len(data) else 0
        if missing:
            rejects[f"{table}_missing_{name}"] += int(missing)
            keep = valid if keep is None else pc.and_(keep, valid)
    return data if keep is None else data.filter(keep)


def has_duplicate_keys(data: pa.Table, key: tuple[str, ...]) -> bool:
    """Whether two rows of the batch share a key: one 64-bit hash per row and a compiled hash
    set (no Python per row). A hash collision between different keys answers True, which
    only costs the caller its exact (slower) path; equal keys are never missed."""
    n = data.num_rows
    if n < 2:
        return False
    h = np.zeros(n, np.uint64)
    for name in key:
        col = data.column(name).combine_chunks()
        if col.null_count or not _fold_key_column(h, col):
            return bool(data.select(list(key)).group_by(list(key)).aggregate([]).num_rows < n)
    return bool(kn.has_duplicate_hashes(h))


def _fold_key_column(h: np.ndarray, arr: pa.Array) -> bool:
    """Fold one key column into the row hashes; False for a type this does not hash."""
    typ = arr.type
    if pa.types.is_large_string(typ) or pa.types.is_dictionary(typ):
        arr, typ = arr.cast(pa.string()), pa.string()
    if pa.types.is_string(typ):
        n = len(arr)
        off_buf, data_buf = arr.buffers()[1], arr.buffers()[2]
        offsets = np.frombuffer(off_buf, np.int32)[arr.offset : arr.offset + n + 1]
        data = (np.frombuffer(data_buf, np.uint8) if data_buf is not None and data_buf.size
                else np.zeros(1, np.uint8))
        kn.fold_strings(h, offsets.astype(np.int64), data)
        return True
    if pa.types.is_timestamp(typ) or pa.types.is_integer(typ):
        values = np.asarray(arr.to_numpy(zero_copy_only=False))
        kn.fold_values(h, values.astype(np.int64, copy=False).view(np.uint64))
        return True
    return False


def one_row_per_key(data: pa.Table, key: tuple[str, ...], *, last: bool = False) -> pa.Table:
    """The first (``last``: the last) row of the batch for each key, in the batch's order."""
    ordinal = "_tw_ordinal"
    rows = pa.array(np.arange(data.num_rows, dtype=np.int64))
    picked = (
        data.select(list(key))
        .append_column(ordinal, rows)
        .group_by(list(key), use_threads=False)
        .aggregate([(ordinal, "max" if last else "min")])
        .column(f"{ordinal}_{'max' if last else 'min'}")
    )
    return data.take(pa.array(np.sort(np.asarray(picked.to_numpy()))))


def conform(table: str, data: pa.Table) -> pa.Table:
    """An engine's result for ``SELECT * FROM table`` cast to ``ddl.arrow_schema(table)``."""
    schema = arrow_schema(table)
    arrays = []
    for fld in schema:
        col = data.column(fld.name)
        if col.type != fld.type:
            col = col.cast(fld.type)
        arrays.append(col)
    return pa.Table.from_arrays(arrays, schema=schema)


# --- Arrow (storage types) → numpy columns ---------------------------------------------------


def _ascii_matrix(arr: pa.Array, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, width) uint8 matrix of each string's first bytes (0-padded), and the lengths."""
    arr = arr.cast(pa.string())
    n = len(arr)
    off_buf, data_buf = arr.buffers()[1], arr.buffers()[2]
    if n == 0 or off_buf is None:
        return np.zeros((n, width), np.uint8), np.zeros(n, np.int64)
    offsets = np.frombuffer(off_buf, dtype=np.int32)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0)
    starts = offsets[:-1].astype(np.int64)
    lengths = np.diff(offsets).astype(np.int64)
    if data.size == 0:
        return np.zeros((n, width), np.uint8), lengths
    idx = starts[:, None] + np.arange(width)[None, :]
    inside = np.arange(width)[None, :] < lengths[:, None]
    mat = np.where(inside, data[np.minimum(idx, data.size - 1)], 0).astype(np.uint8)
    return mat, lengths


def _column_to_numpy(f: Field, arr: pa.Array) -> np.ndarray:
    if is_time(f):
        us = arr.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
        seconds = pc.divide(us.cast(pa.float64()), 1e6)
        return np.asarray(
            pc.fill_null(seconds, float("nan")).to_numpy(zero_copy_only=False), dtype=np.float64
        )
    if f.kind == "float":
        return np.asarray(
            pc.fill_null(arr.cast(pa.float64()), float("nan")).to_numpy(zero_copy_only=False)
        ).astype(f.dtype)
    if f.kind == "icao":
        mat, _ = _ascii_matrix(arr, 6)
        nib = _NIBBLE[mat]
        shifts = np.array([20, 16, 12, 8, 4, 0], dtype=np.uint32)
        addr: np.ndarray = np.bitwise_or.reduce(nib << shifts, axis=1)
        return addr.astype(np.uint32)
    if f.kind == "squawk":
        mat, lengths = _ascii_matrix(arr, 4)
        digits = mat.astype(np.int32) - 48
        value = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
        valid = np.asarray(pc.is_valid(arr)) & (lengths == 4)
        return np.where(valid, value, f.null if isinstance(f.null, int) else -1).astype(f.dtype)
    if f.kind == "bytes":
        width = np.dtype(f.dtype).itemsize
        mat, _ = _ascii_matrix(pc.fill_null(arr, ""), width)
        return np.ascontiguousarray(mat).view(f"S{width}").reshape(-1)
    if f.kind == "enum":
        idx = pc.index_in(arr.cast(pa.string()), value_set=pa.array(f.labels, pa.string()))
        return np.asarray(pc.fill_null(idx, -1).to_numpy(zero_copy_only=False)).astype(f.dtype)
    if f.kind == "text":
        if isinstance(f.null, str):
            arr = pc.fill_null(arr, f.null)
        return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)
    if f.kind == "bool":
        return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)
    if f.kind == "int":
        if f.null is not None and not isinstance(f.null, str | bytes):
            arr = pc.fill_null(arr, pa.scalar(f.null).cast(arr.type))
        return np.asarray(arr.to_numpy(zero_copy_only=False)).astype(f.dtype)
    raise StoreError(f"column kind {f.kind!r} of {f.name!r} is not storable")


def to_columns(table: str, data: pa.Table) -> dict[str, np.ndarray]:
    """An Arrow table in storage types → numpy columns in the schema's kinds (nulls become the
    schema's null values). Columns of ``table`` absent from ``data`` are left out."""
    out: dict[str, np.ndarray] = {}
    for f in TABLES[table]:
        if f.name in data.column_names:
            col = data.column(f.name).combine_chunks()
            out[f.name] = _column_to_numpy(f, col)
    return out


# --- query helpers shared by the engines -------------------------------------------------------

_HEX6 = re.compile(r"^[0-9a-f]{6}$")
_WORD = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def icao_list(icao24: str | int | Iterable[str | int]) -> list[str]:
    """Normalise addresses ('1551E0', 0x1551e0, ['1551e0', ...]) to 6 lowercase hex digits."""
    items: Iterable[str | int] = [icao24] if isinstance(icao24, str | int | np.integer) else icao24
    out: list[str] = []
    for a in items:
        if isinstance(a, int | np.integer):
            if not 0 <= int(a) < 1 << 24:
                raise StoreError(f"ICAO address out of range: {a!r}")
            out.append(f"{int(a):06x}")
        else:
            s = str(a).strip().lower()
            if not _HEX6.match(s):
                raise StoreError(f"not a 6-hex-digit ICAO address: {a!r}")
            out.append(s)
    return out


def word_list(value: str | Iterable[str], what: str) -> list[str]:
    items = [value] if isinstance(value, str) else list(value)
    for v in items:
        if not _WORD.match(v):
            raise StoreError(f"bad {what}: {v!r}")
    return items


def seconds(t: TimeLike) -> float:
    """Seconds since the UNIX epoch from a number or a datetime (a naive one is taken as UTC)."""
    if isinstance(t, datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=UTC)
        return t.timestamp()
    value = float(t)
    if not math.isfinite(value):
        raise StoreError(f"not a time: {t!r}")
    return value


def sql_strings(values: list[str]) -> str:
    """A SQL list of already validated strings (hex addresses, codes)."""
    return ", ".join(f"'{v}'" for v in values)


def box_condition(box: Box) -> str:
    south, west, north, east = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (south, west, north, east)) or south > north:
        raise StoreError(f"bad box (south, west, north, east): {box!r}")
    lat = f"lat BETWEEN {south!r} AND {north!r}"
    if west <= east:
        return f"{lat} AND lon BETWEEN {west!r} AND {east!r}"
    return f"{lat} AND (lon >= {west!r} OR lon <= {east!r})"


# --- retention -------------------------------------------------------------------------------


def thin_positions(
    store: Store, older_than_s: float, every_s: float, *, now: TimeLike | None = None
) -> int:
    """Thin the positions older than ``older_than_s`` seconds (before ``now``, default the
    current time): per aircraft keep one point per ``every_s`` seconds, plus every point where
    the track crossed a 2.5° step, the altitude a 100 m step or the ground state changed, and
    the first and last points. Done in SQL by the engine; returns the number of rows deleted.
    Running it again on the same range deletes nothing more."""
    if not (older_than_s >= 0 and every_s > 0):
        raise StoreError(f"bad thinning parameters: older_than_s={older_than_s}, every_s={every_s}")
    ref = seconds(now) if now is not None else datetime.now(UTC).timestamp()
    return store.thin_positions_before(ref - float(older_than_s), float(every_s))
