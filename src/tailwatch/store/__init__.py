"""History store: DuckDB file by default, ClickHouse (in process with chdb, or a server over
HTTP) at scale. ``open_store(url)`` picks the engine; see docs/schema.md for the tables."""

from __future__ import annotations

from tailwatch.store.base import (
    ResumeToken,
    Store,
    open_store,
    thin_positions,
    to_arrow,
    to_columns,
)
from tailwatch.store.ddl import arrow_schema, schema_markdown
from tailwatch.store.writer import WriterSink

__all__ = [
    "ResumeToken",
    "Store",
    "WriterSink",
    "arrow_schema",
    "open_store",
    "schema_markdown",
    "thin_positions",
    "to_arrow",
    "to_columns",
]
