"""Storage layout of the history store, generated from ``tailwatch.core.schema.TABLES``.

Nothing here names a column of a table: the column lists, types and null-ability of both
engines (DuckDB and ClickHouse), the Arrow schema every engine reads and writes, and the table
reference in docs/schema.md all come from the schema's ``Field`` declarations. What this module
adds is per-table *layout*: the key each table is deduplicated (or upserted) on and sorted by,
its partitioning, and the ClickHouse column codecs, chosen by measuring bytes per position on a
synthetic day (bench/store_bytes.py, results in docs/schema.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from tailwatch.core.schema import TABLES, Field

Engine = Literal["duckdb", "clickhouse"]
WriteMode = Literal["dedupe", "upsert"]

#: Table that records, per ingest source, how far its data is stored (see ResumeToken).
RESUME_TABLE = "ingest_resume"
#: ClickHouse DateTime64 precision: microseconds, as DuckDB's TIMESTAMPTZ (see docs/schema.md).
CLICKHOUSE_TIME_PRECISION = 6


@dataclass(frozen=True, slots=True)
class TableLayout:
    """How one table of ``TABLES`` is laid out and written.

    ``key``: the identity of a row. ``dedupe`` tables keep the row already stored and drop a new
    one with the same key (positions heard twice, overlapping imports); ``upsert`` tables replace
    it (the aircraft and flight rows are rewritten as they evolve). The key is also the
    ClickHouse sort key (ReplacingMergeTree collapses equal keys). ``required``: columns that
    must hold a value (the key and the partition column); a row without one is not stored and
    is counted in ``Store.rejects`` under ``<table>_missing_<column>``.
    """

    name: str
    key: tuple[str, ...]
    mode: WriteMode
    partition_by_month: str | None = None

    @property
    def required(self) -> tuple[str, ...]:
        extra = (self.partition_by_month,) if self.partition_by_month else ()
        return tuple(dict.fromkeys(self.key + extra))

    @property
    def time_column(self) -> str | None:
        """The time column of the key, used to narrow the duplicate check to the batch's span."""
        for name in self.key:
            if is_time(field(self.name, name)):
                return name
        return None


LAYOUTS: dict[str, TableLayout] = {
    "positions": TableLayout("positions", ("icao24", "t"), "dedupe", "t"),
    "aircraft": TableLayout("aircraft", ("icao24",), "upsert"),
    "flights": TableLayout("flights", ("icao24", "flight_id"), "upsert", "first_seen"),
    "events": TableLayout("events", ("type", "icao24", "t"), "dedupe", "t"),
}


def field(table: str, name: str) -> Field:
    for f in TABLES[table]:
        if f.name == name:
            return f
    raise KeyError(f"{table}.{name}")


def is_time(f: Field) -> bool:
    """Time columns: float64 seconds UTC in numpy, a UTC timestamp in storage."""
    return f.unit == "s" and f.kind == "float"


def nullable(table: str, f: Field) -> bool:
    return f.null is not None and f.name not in LAYOUTS[table].required


# --- Arrow (the exchange format of every engine) -------------------------------------------

_ARROW_NUMERIC: dict[str, pa.DataType] = {
    "float32": pa.float32(),
    "float64": pa.float64(),
    "int8": pa.int8(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "uint8": pa.uint8(),
    "uint16": pa.uint16(),
    "uint32": pa.uint32(),
    "bool": pa.bool_(),
}


def arrow_type(f: Field) -> pa.DataType:
    """Storage type of a column in Arrow: UTC microsecond timestamps for times, strings for
    addresses, squawks, callsigns, enumerations and text, the numpy type otherwise."""
    if is_time(f):
        return pa.timestamp("us", tz="UTC")
    if f.kind in ("icao", "squawk", "bytes", "enum", "text"):
        return pa.string()
    return _ARROW_NUMERIC[f.dtype]


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema every engine writes from and returns for ``table``."""
    return pa.schema(
        [pa.field(f.name, arrow_type(f), nullable=nullable(table, f)) for f in TABLES[table]]
    )


# --- DuckDB ----------------------------------------------------------------------------------

_DUCKDB_NUMERIC = {
    "float32": "FLOAT",
    "float64": "DOUBLE",
    "int8": "TINYINT",
    "int16": "SMALLINT",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "uint8": "UTINYINT",
    "uint16": "USMALLINT",
    "uint32": "UINTEGER",
    "bool": "BOOLEAN",
}


def duckdb_type(f: Field) -> str:
    """DuckDB type, spelled as ``information_schema.columns.data_type`` reports it."""
    if is_time(f):
        return "TIMESTAMP WITH TIME ZONE"
    if arrow_type(f) == pa.string():
        return "VARCHAR"
    return _DUCKDB_NUMERIC[f.dtype]


def duckdb_columns(table: str) -> list[tuple[str, str, bool]]:
    """(name, type, nullable) of every column of ``table`` in DuckDB."""
    return [(f.name, duckdb_type(f), nullable(table, f)) for f in TABLES[table]]


def duckdb_ddl(table: str) -> str:
    cols = ",\n  ".join(
        f"{name} {typ}{'' if null else ' NOT NULL'}" for name, typ, null in duckdb_columns(table)
    )
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {cols}\n)"


DUCKDB_RESUME_DDL = (
    f"CREATE TABLE IF NOT EXISTS {RESUME_TABLE} (\n"
    "  source_id VARCHAR PRIMARY KEY,\n"
    "  position BIGINT NOT NULL,\n"
    "  updated_at TIMESTAMP WITH TIME ZONE NOT NULL\n"
    ")"
)


# --- ClickHouse ------------------------------------------------------------------------------

_CH_NUMERIC = {
    "float32": "Float32",
    "float64": "Float64",
    "int8": "Int8",
    "int16": "Int16",
    "int32": "Int32",
    "int64": "Int64",
    "uint8": "UInt8",
    "uint16": "UInt16",
    "uint32": "UInt32",
    "bool": "Bool",
}

#: Text columns with many distinct values: plain String. Every other string column is
#: LowCardinality (enumerations, squawks, callsigns, airports, type codes, countries, ...).
_HIGH_CARDINALITY_TEXT = frozenset(
    {"flight_id", "registration", "operator", "description", "callsigns", "itinerary_id", "details"}
)

# Codecs, chosen on a synthetic day (bench/store_bytes.py; the numbers are in docs/schema.md):
# ZSTD(3) by default (LowCardinality dictionaries and keys too); Delta before it for float64
# (lat, lon: the bit patterns of successive values are close); and per column where a transform
# measured better on positions.
_ZSTD = "CODEC(ZSTD(3))"
_CODEC_FLOAT64 = "CODEC(Delta, ZSTD(3))"
_CODEC_BY_COLUMN = {
    ("positions", "altitude_ft"): "CODEC(Delta, ZSTD(3))",
    ("positions", "track_deg"): "CODEC(Delta, ZSTD(3))",
    ("positions", "gs_kt"): "CODEC(Gorilla, ZSTD(3))",
    ("positions", "vrate_fpm"): "CODEC(Gorilla, ZSTD(3))",
}


def clickhouse_type(table: str, f: Field) -> str:
    """ClickHouse type, spelled as ``system.columns.type`` reports it."""
    null = nullable(table, f)
    if is_time(f):
        base = f"DateTime64({CLICKHOUSE_TIME_PRECISION}, 'UTC')"
    elif arrow_type(f) == pa.string():
        base = "String"
        if f.kind != "icao" and not (f.kind == "text" and f.name in _HIGH_CARDINALITY_TEXT):
            return "LowCardinality(Nullable(String))" if null else "LowCardinality(String)"
    else:
        base = _CH_NUMERIC[f.dtype]
    return f"Nullable({base})" if null else base


def clickhouse_codec(table: str, f: Field) -> str:
    if (table, f.name) in _CODEC_BY_COLUMN:
        return _CODEC_BY_COLUMN[(table, f.name)]
    if f.dtype == "float64" and not is_time(f):
        return _CODEC_FLOAT64
    return _ZSTD


def clickhouse_columns(table: str) -> list[tuple[str, str]]:
    """(name, type) of every column of ``table`` in ClickHouse."""
    return [(f.name, clickhouse_type(table, f)) for f in TABLES[table]]


def clickhouse_ddl(table: str, database: str) -> str:
    layout = LAYOUTS[table]
    cols = ",\n  ".join(
        f"{f.name} {clickhouse_type(table, f)} {clickhouse_codec(table, f)}".rstrip()
        for f in TABLES[table]
    )
    partition = (
        f"\nPARTITION BY toYYYYMM({layout.partition_by_month})" if layout.partition_by_month else ""
    )
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.{table} (\n  {cols}\n)\n"
        f"ENGINE = ReplacingMergeTree{partition}\n"
        f"ORDER BY ({', '.join(layout.key)})\n"
        "SETTINGS fsync_after_insert = 1, fsync_part_directory = 1"
    )


def clickhouse_resume_ddl(database: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.{RESUME_TABLE} (\n"
        "  source_id String,\n"
        "  position Int64,\n"
        f"  updated_at DateTime64({CLICKHOUSE_TIME_PRECISION}, 'UTC')\n"
        ")\n"
        "ENGINE = ReplacingMergeTree(position)\n"
        "ORDER BY source_id\n"
        "SETTINGS fsync_after_insert = 1, fsync_part_directory = 1"
    )


# --- Documentation ---------------------------------------------------------------------------


def _numpy_repr(f: Field) -> str:
    if f.kind == "text":
        return "str"
    return f.dtype


def _null_repr(table: str, f: Field) -> str:
    if f.null is None:
        return "no null"
    if not nullable(table, f):
        return "required"
    if f.kind == "float":
        return "NaN"
    if f.kind == "bytes":
        return 'b""'
    return repr(f.null)


def schema_markdown() -> str:
    """The table reference of docs/schema.md, generated from ``core.schema.TABLES``."""
    out: list[str] = [
        "<!-- generated by tailwatch.store.ddl.schema_markdown(); do not edit by hand -->",
    ]
    for table, fields in TABLES.items():
        layout = LAYOUTS[table]
        out += [
            "",
            f"### `{table}`",
            "",
            f"Key: `({', '.join(layout.key)})`, "
            + (
                "duplicates dropped (first write wins)"
                if layout.mode == "dedupe"
                else "rewritten rows replace older ones (last write wins)"
            )
            + (
                f"; partitioned by month of `{layout.partition_by_month}`"
                if layout.partition_by_month
                else ""
            )
            + ".",
            "",
            "| column | meaning | unit | numpy (null) | DuckDB | ClickHouse |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for f in fields:
            doc = f.doc
            if f.kind == "enum":
                doc += ": " + ", ".join(f"`{label}`" for label in f.labels)
            elif f.kind == "icao":
                doc += " (6 lowercase hex digits in storage)"
            elif f.kind == "squawk":
                doc += " (4 digits in storage)"
            unit = "UTC" if is_time(f) else f.unit
            null = _null_repr(table, f)
            ch = clickhouse_type(table, f)
            codec = clickhouse_codec(table, f)
            duck = duckdb_type(f) + ("" if nullable(table, f) else " NOT NULL")
            out.append(
                f"| `{f.name}` | {doc.replace('|', '/')} | {unit} | "
                f"{_numpy_repr(f)} ({null}) | {duck} | {ch}{' ' + codec if codec else ''} |"
            )
    return "\n".join(out) + "\n"
