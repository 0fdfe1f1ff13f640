"""Aircraft database: ICAO address → registration, type, description, operator, flags.

Three source formats are read into one Arrow table (:data:`DB_SCHEMA`):

* **tar1090-db** CSV (wiedehopf/tar1090-db, ``aircraft.csv.gz`` on its ``csv`` branch): ``;``
  separated, no header, ``icao;reg;icaotype;flags;desc;year;ownop;`` with a trailing ``;``.
  A header row naming the columns (``icao24;registration;typecode;dbflags;description``) is
  also accepted. ``flags`` is a string of 0/1 characters: military, interesting, PIA, LADD,
  stored as the bits 1, 2, 4, 8 of ``db_flags`` (readsb's dbFlags). Quoted fields (``"..."``
  with doubled quotes inside) are understood.
* **OpenSky** ``aircraftDatabase.csv`` / ``aircraft-database-complete-YYYY-MM.csv``: ``,``
  separated with a header row, fields quoted with ``"`` (older files) or ``'`` (newer ones).
  Columns are found by name: icao24, registration, typecode, manufacturername + model
  (description), operator (else owner), built (year). OpenSky has no military flag.
* **Mictronics** JSON (readsb-protobuf's ``aircrafts.json`` and tar1090-db's ``db/*.json``):
  ``{"HEX": {"r": reg, "t": type, "f": flags, "d": description}}`` or the list form
  ``{"HEX": [reg, type, flags, description?]}``.

No database is shipped (tar1090-db has no license): users download one
(:func:`download`, :data:`TAR1090_DB_URL`) or point tailwatch at a file.
:class:`AircraftDB` holds the table sorted by address and answers vectorised lookups with one
``np.searchsorted``. Rows with an unreadable address are dropped and counted under
``bad_icao24``; malformed CSV rows under ``bad_row``; a repeated address keeps its last row
and counts ``duplicate_icao24``.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from numpy.typing import ArrayLike, NDArray

from tailwatch.core.errors import ReferenceDataError
from tailwatch.core.rejects import Rejects

__all__ = [
    "DB_COLUMNS",
    "DB_SCHEMA",
    "NON_ICAO_FLAG",
    "TAR1090_DB_URL",
    "AircraftDB",
    "AircraftRecord",
    "DbFormat",
    "download",
    "flags_to_bits",
    "hex_to_icao24",
    "read_aircraft_db",
    "read_mictronics_json",
    "read_opensky_csv",
    "read_records_table",
    "read_tar1090_csv",
]

TAR1090_DB_URL = "https://raw.githubusercontent.com/wiedehopf/tar1090-db/csv/aircraft.csv.gz"

#: readsb writes non-ICAO addresses as "~abcdef"; they are kept with this bit set.
NON_ICAO_FLAG = 1 << 24

DB_SCHEMA = pa.schema(
    [
        pa.field("icao24", pa.uint32(), nullable=False),
        pa.field("registration", pa.string()),
        pa.field("typecode", pa.string()),
        pa.field("description", pa.string()),
        pa.field("operator", pa.string()),
        pa.field("db_flags", pa.uint8(), nullable=False),
        pa.field("year", pa.uint16()),
        pa.field("source", pa.string()),
    ]
)
DB_COLUMNS: tuple[str, ...] = tuple(DB_SCHEMA.names)

DbFormat = Literal["auto", "tar1090", "opensky", "mictronics"]

_GZIP_MAGIC = b"\x1f\x8b"

# --------------------------------------------------------------------------------------------
# Column conversions (vectorised over Arrow buffers)
# --------------------------------------------------------------------------------------------

_HEX_LUT = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate("0123456789abcdef"):
    _HEX_LUT[ord(_c)] = _i
    _HEX_LUT[ord(_c.upper())] = _i


def _string_buffers(
    arr: pa.Array | pa.ChunkedArray,
) -> tuple[NDArray[np.int64], NDArray[np.uint8], NDArray[np.bool_]]:
    """(offsets[n+1], data bytes, is_valid[n]) of a string column."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks else pa.array([], pa.string())
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    n = len(arr)
    bufs = arr.buffers()
    off_dtype = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = (
        np.frombuffer(bufs[1], dtype=off_dtype)[arr.offset : arr.offset + n + 1]
        if n
        else (np.zeros(1, dtype=off_dtype))
    )
    data = (
        np.frombuffer(bufs[2], dtype=np.uint8)
        if bufs[2] is not None and bufs[2].size
        else np.zeros(1, dtype=np.uint8)
    )
    valid = (
        arr.is_valid().to_numpy(zero_copy_only=False)
        if arr.null_count
        else np.ones(n, dtype=np.bool_)
    )
    return offsets.astype(np.int64), data, valid


def hex_to_icao24(arr: pa.Array | pa.ChunkedArray) -> tuple[NDArray[np.uint32], NDArray[np.bool_]]:
    """Parse a string column of hex addresses: (values, ok).

    1-6 hex digits, either case; "~abcdef" (readsb's non-ICAO form) sets :data:`NON_ICAO_FLAG`.
    """
    offsets, data, valid = _string_buffers(arr)
    n = len(offsets) - 1
    if n == 0:
        return np.zeros(0, np.uint32), np.zeros(0, np.bool_)
    shifts = np.array([20, 16, 12, 8, 4, 0], dtype=np.uint32)
    lengths = np.diff(offsets)
    if valid.all() and (lengths == 6).all():
        # Fast path (every database we know): fixed width, contiguous bytes.
        nib = _HEX_LUT[data[offsets[0] : offsets[-1]].reshape(n, 6)]
        ok = (nib != 255).all(axis=1)
        nib = np.where(ok[:, None], nib, 0).astype(np.uint32)
        return (nib << shifts).sum(axis=1, dtype=np.uint32), ok
    ends = offsets[1:]
    tilde = (lengths == 7) & (data[np.clip(offsets[:-1], 0, len(data) - 1)] == ord("~"))
    digits = np.where(tilde, 6, lengths)
    ok = valid & (digits >= 1) & (digits <= 6)
    col = np.arange(6)
    pos = np.clip(ends[:, None] - 6 + col, 0, len(data) - 1)
    used = col >= (6 - digits)[:, None]
    nib = np.where(used, _HEX_LUT[data[pos]], 0)
    ok &= ~(nib == 255).any(axis=1)
    nib = np.where(ok[:, None], nib, 0).astype(np.uint32)
    value = (nib << shifts).sum(axis=1, dtype=np.uint32)
    value |= np.where(tilde & ok, np.uint32(NON_ICAO_FLAG), np.uint32(0))
    return value, ok


def flags_to_bits(arr: pa.Array | pa.ChunkedArray) -> NDArray[np.uint8]:
    """tar1090-db flag strings ('10', '0001', ...) → db_flags bits (null or empty → 0)."""
    offsets, data, valid = _string_buffers(arr)
    starts, lengths = offsets[:-1], offsets[1:] - offsets[:-1]
    out = np.zeros(len(starts), dtype=np.uint8)
    for j in range(4):
        has = valid & (lengths > j)
        ch = data[np.clip(starts + j, 0, len(data) - 1)]
        out |= np.where(has & (ch == ord("1")), np.uint8(1 << j), np.uint8(0))
    return out


def _years(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """'2008' → 2008; anything not starting with four digits → null."""
    s = pc.utf8_slice_codeunits(arr, 0, 4)
    ok = pc.and_(pc.utf8_is_digit(s), pc.equal(pc.utf8_length(s), 4))
    out = pc.if_else(ok, s, pa.scalar(None, pa.string())).cast(pa.uint16())
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _blank_to_null(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks else pa.array([], pa.string())
    s = pc.utf8_trim_whitespace(arr.cast(pa.string()))
    out = pc.if_else(pc.equal(s, ""), pa.scalar(None, pa.string()), s)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _build(
    icao: pa.Array | pa.ChunkedArray,
    *,
    registration: Any,
    typecode: Any,
    description: Any,
    operator: Any,
    flags: NDArray[np.uint8],
    year: Any,
    source: str,
    rejects: Rejects | None,
) -> pa.Table:
    """Assemble a DB_SCHEMA table, dropping rows whose address does not parse.

    String columns are taken as they are: readers turn empty fields into nulls themselves.
    """
    values, ok = hex_to_icao24(icao)
    n = len(values)

    def col(x: Any, typ: pa.DataType) -> Any:
        return pa.nulls(n, typ) if x is None else x

    tcol = col(typecode, pa.string())
    tcol = pc.utf8_upper(tcol) if n and typecode is not None else tcol
    table = pa.table(
        {
            "icao24": pa.array(values, pa.uint32()),
            "registration": col(registration, pa.string()),
            "typecode": tcol,
            "description": col(description, pa.string()),
            "operator": col(operator, pa.string()),
            "db_flags": pa.array(flags, pa.uint8()),
            "year": _years(year) if year is not None else pa.nulls(n, pa.uint16()),
            "source": pa.repeat(pa.scalar(source, pa.string()), n),
        }
    )
    bad = int(n - np.count_nonzero(ok))
    if bad:
        if rejects is not None:
            rejects["bad_icao24"] += bad
        table = table.filter(pa.array(ok))
    return table.cast(DB_SCHEMA)


# --------------------------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------------------------


def _peek(path: Path, n: int = 4096) -> tuple[bytes, bool]:
    """First bytes of the (decompressed) file and whether it is gzip."""
    try:
        with path.open("rb") as f:
            head = f.read(n)
        if head.startswith(_GZIP_MAGIC):
            with gzip.open(path, "rb") as g:
                return g.read(n), True
        return head, False
    except (OSError, EOFError, zlib.error) as exc:
        raise ReferenceDataError(f"cannot read {path}: {exc}") from exc


def _stream(path: Path, gz: bool) -> pa.NativeFile:
    return pa.input_stream(str(path), compression="gzip" if gz else None)


def _counting_handler(rejects: Rejects | None, reason: str) -> Any:
    def handler(_row: Any) -> str:
        if rejects is not None:
            rejects[reason] += 1
        return "skip"

    return handler


_TAR1090_HEADER_NAMES = {
    "icao24": "icao",
    "icao": "icao",
    "hex": "icao",
    "registration": "reg",
    "reg": "reg",
    "r": "reg",
    "typecode": "type",
    "icaotype": "type",
    "t": "type",
    "dbflags": "flags",
    "flags": "flags",
    "description": "desc",
    "desc": "desc",
    "year": "year",
    "ownop": "ownop",
}


def read_tar1090_csv(path: str | Path, *, rejects: Rejects | None = None) -> pa.Table:
    """Read a tar1090-db CSV (gzip or plain, with or without a header row)."""
    p = Path(path)
    head, gz = _peek(p)
    first = head.split(b"\n", 1)[0].decode("utf-8", "replace").strip().lower()
    fields = first.split(";")
    has_header = bool(fields) and fields[0] in ("icao24", "icao", "hex")
    if has_header:
        names = [_TAR1090_HEADER_NAMES.get(f.strip(), f"_x{i}") for i, f in enumerate(fields)]
    else:
        ncol = len(fields)
        base = ["icao", "reg", "type", "flags", "desc", "year", "ownop"]
        names = (base + [f"_x{i}" for i in range(len(base), ncol)])[:ncol]
    try:
        table = pacsv.read_csv(
            _stream(p, gz),
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=1 if has_header else 0, block_size=1 << 22
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=";",
                quote_char='"',
                double_quote=True,
                invalid_row_handler=_counting_handler(rejects, "bad_row"),
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={nm: pa.string() for nm in names},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise ReferenceDataError(f"{p}: not a tar1090-db CSV: {exc}") from exc
    if "icao" not in table.column_names:
        raise ReferenceDataError(f"{p}: no address column in header {first!r}")

    def get(name: str) -> pa.ChunkedArray | None:
        return table.column(name) if name in table.column_names else None

    flags_col = get("flags")
    return _build(
        table.column("icao"),
        registration=get("reg"),
        typecode=get("type"),
        description=get("desc"),
        operator=get("ownop"),
        flags=flags_to_bits(flags_col)
        if flags_col is not None
        else np.zeros(table.num_rows, np.uint8),
        year=get("year"),
        source="tar1090-db",
        rejects=rejects,
    )


def read_opensky_csv(path: str | Path, *, rejects: Rejects | None = None) -> pa.Table:
    """Read an OpenSky aircraft database CSV (header row; ``"`` or ``'`` quoting)."""
    p = Path(path)
    head, gz = _peek(p)
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    quote = "'" if text.startswith("'") else '"'
    header = next(csv.reader([text.split("\n", 1)[0].rstrip("\r")], quotechar=quote), [])
    try:
        table = pacsv.read_csv(
            _stream(p, gz),
            read_options=pacsv.ReadOptions(block_size=1 << 22),
            parse_options=pacsv.ParseOptions(
                delimiter=",",
                quote_char=quote,
                double_quote=True,
                newlines_in_values=True,
                invalid_row_handler=_counting_handler(rejects, "bad_row"),
            ),
            convert_options=pacsv.ConvertOptions(
                # every column as text: "1551e0" would otherwise be read as the float 1551.0
                column_types={name: pa.string() for name in header},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise ReferenceDataError(f"{p}: not an OpenSky aircraft CSV: {exc}") from exc
    cols = {c.strip().strip("'\"").lower(): c for c in table.column_names}
    if "icao24" not in cols:
        raise ReferenceDataError(f"{p}: no icao24 column (columns: {table.column_names[:8]})")

    def get(name: str) -> pa.ChunkedArray | None:
        c = cols.get(name)
        return table.column(c).cast(pa.string()) if c is not None else None

    n = table.num_rows
    manu, model = get("manufacturername"), get("model")
    if manu is not None or model is not None:
        m = manu if manu is not None else pa.nulls(n, pa.string())
        d = model if model is not None else pa.nulls(n, pa.string())
        joined = pc.binary_join_element_wise(pc.fill_null(m, ""), pc.fill_null(d, ""), " ")
        description: pa.Array | None = _blank_to_null(joined)
    else:
        description = None
    operator, owner = get("operator"), get("owner")
    if operator is None:
        operator = owner
    elif owner is not None:
        operator = pc.coalesce(operator, owner)
    return _build(
        table.column(cols["icao24"]),
        registration=get("registration"),
        typecode=get("typecode"),
        description=description,
        operator=operator,
        flags=np.zeros(n, np.uint8),
        year=get("built"),
        source="opensky",
        rejects=rejects,
    )


def _json_field(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def read_mictronics_json(path: str | Path, *, rejects: Rejects | None = None) -> pa.Table:
    """Read a Mictronics-style JSON aircraft file (object or list values, gzip or plain)."""
    p = Path(path)
    _, gz = _peek(p, 2)
    try:
        if gz:
            with gzip.open(p, "rb") as g:
                raw_bytes = g.read()
        else:
            raw_bytes = p.read_bytes()
        raw = json.loads(raw_bytes)
    except (OSError, ValueError, EOFError, zlib.error) as exc:
        raise ReferenceDataError(f"{p}: not a JSON aircraft file: {exc}") from exc
    if not isinstance(raw, dict):
        raise ReferenceDataError(f"{p}: expected a JSON object keyed by address")
    keys: list[str] = []
    reg: list[str | None] = []
    typ: list[str | None] = []
    flg: list[str | None] = []
    desc: list[str | None] = []
    year: list[str | None] = []
    ownop: list[str | None] = []
    bad = 0
    for k, v in raw.items():
        if isinstance(v, dict):
            r = (
                v.get("r"),
                v.get("t"),
                v.get("f"),
                v.get("d", v.get("desc")),
                v.get("y", v.get("year")),
                v.get("o", v.get("ownOp")),
            )
        elif isinstance(v, list):
            r = tuple((v + [None] * 6)[:6])
        else:
            bad += 1
            continue
        keys.append(str(k))
        reg.append(_json_field(r[0]))
        typ.append(_json_field(r[1]))
        flg.append(_json_field(r[2]))
        desc.append(_json_field(r[3]))
        year.append(_json_field(r[4]))
        ownop.append(_json_field(r[5]))
    if bad and rejects is not None:
        rejects["bad_row"] += bad
    s = pa.string()
    return _build(
        pa.array(keys, s),
        registration=pa.array(reg, s),
        typecode=pa.array(typ, s),
        description=pa.array(desc, s),
        operator=pa.array(ownop, s),
        flags=flags_to_bits(pa.array(flg, s)),
        year=pa.array(year, s),
        source="mictronics",
        rejects=rejects,
    )


def _detect(path: Path) -> DbFormat:
    head, _ = _peek(path, 1024)
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"{"):
        return "mictronics"
    first = text.split(b"\n", 1)[0]
    if b";" in first:
        return "tar1090"
    if b"," in first and b"icao24" in first.lower():
        return "opensky"
    raise ReferenceDataError(f"{path}: unknown aircraft database format")


def read_aircraft_db(
    path: str | Path, fmt: DbFormat = "auto", *, rejects: Rejects | None = None
) -> pa.Table:
    """Read any supported format (detected from the content when ``fmt`` is "auto")."""
    p = Path(path)
    if not p.is_file():
        raise ReferenceDataError(f"aircraft database {p} not found")
    kind = _detect(p) if fmt == "auto" else fmt
    if kind == "tar1090":
        return read_tar1090_csv(p, rejects=rejects)
    if kind == "opensky":
        return read_opensky_csv(p, rejects=rejects)
    if kind == "mictronics":
        return read_mictronics_json(p, rejects=rejects)
    raise ValueError(f"unknown aircraft database format {fmt!r}")


# --------------------------------------------------------------------------------------------
# The in-memory database
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AircraftRecord:
    """One aircraft of the database (``icao24`` as a lowercase hex string)."""

    icao24: str
    registration: str | None
    typecode: str | None
    description: str | None
    operator: str | None
    db_flags: int
    year: int | None
    source: str | None

    @property
    def military(self) -> bool:
        return bool(self.db_flags & 1)

    @property
    def interesting(self) -> bool:
        return bool(self.db_flags & 2)

    @property
    def pia(self) -> bool:
        return bool(self.db_flags & 4)

    @property
    def ladd(self) -> bool:
        return bool(self.db_flags & 8)


def _format_icao(addr: int) -> str:
    return f"~{addr & 0xFFFFFF:06x}" if addr & NON_ICAO_FLAG else f"{addr:06x}"


def _norm_reg_array(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    s = pc.utf8_upper(arr)
    s = pc.replace_substring(s, "-", "")
    s = pc.replace_substring(s, " ", "")
    return s.combine_chunks() if isinstance(s, pa.ChunkedArray) else s


class AircraftDB:
    """An aircraft table sorted by address, with vectorised lookups.

    ``AircraftDB(table)`` accepts any table with the :data:`DB_SCHEMA` columns (as produced by
    the readers); rows are sorted by ``icao24`` and a repeated address keeps its last row.
    """

    def __init__(self, table: pa.Table, *, rejects: Rejects | None = None) -> None:
        missing = [c for c in DB_COLUMNS if c not in table.column_names]
        if missing:
            raise ReferenceDataError(f"aircraft table lacks columns {missing}")
        table = table.select(list(DB_COLUMNS)).cast(DB_SCHEMA)
        keys = np.asarray(table.column("icao24").to_numpy(), dtype=np.uint32)
        if len(keys) < 2 or bool(np.all(keys[1:] > keys[:-1])):
            # already sorted and unique (tar1090-db's file is)
            self._table = table.combine_chunks()
            self._keys: NDArray[np.uint32] = keys
        else:
            order = np.argsort(keys, kind="stable")
            sorted_keys = keys[order]
            keep = np.ones(len(order), dtype=np.bool_)
            keep[:-1] = sorted_keys[1:] != sorted_keys[:-1]  # the last row of each address
            dup = int(len(order) - np.count_nonzero(keep))
            if dup and rejects is not None:
                rejects["duplicate_icao24"] += dup
            self._table = table.take(pa.array(order[keep])).combine_chunks()
            self._keys = sorted_keys[keep]
        self._norm_reg: pa.Array | None = None

    # construction ------------------------------------------------------------------------

    @classmethod
    def load(
        cls, path: str | Path, fmt: DbFormat = "auto", *, rejects: Rejects | None = None
    ) -> AircraftDB:
        return cls(read_aircraft_db(path, fmt, rejects=rejects), rejects=rejects)

    @classmethod
    def from_tables(
        cls, tables: Sequence[pa.Table], *, rejects: Rejects | None = None
    ) -> AircraftDB:
        """Merge several tables; for an address in several, the later table's row wins."""
        if not tables:
            return cls(DB_SCHEMA.empty_table())
        merged = pa.concat_tables([t.select(list(DB_COLUMNS)).cast(DB_SCHEMA) for t in tables])
        return cls(merged, rejects=rejects)

    @classmethod
    def from_records(cls, records: Iterable[AircraftRecord]) -> AircraftDB:
        recs = list(records)
        table = read_records_table(recs)
        return cls(table)

    # access -------------------------------------------------------------------------------

    @property
    def table(self) -> pa.Table:
        """The table, sorted by icao24, one row per address."""
        return self._table

    @property
    def keys(self) -> NDArray[np.uint32]:
        return self._keys

    def __len__(self) -> int:
        return int(self._keys.shape[0])

    def __contains__(self, icao24: object) -> bool:
        if not isinstance(icao24, (int, np.integer)):
            return False
        return bool(self.index_of(np.array([int(icao24)], dtype=np.int64))[0] >= 0)

    def index_of(self, icao24: ArrayLike) -> NDArray[np.int64]:
        """Row of each address in :attr:`table`, -1 where absent."""
        addr = np.asarray(icao24).astype(np.int64, copy=False).ravel()
        if len(self._keys) == 0:
            return np.full(addr.shape, -1, dtype=np.int64)
        pos = np.searchsorted(self._keys, addr)
        posc = np.minimum(pos, len(self._keys) - 1)
        hit = (pos < len(self._keys)) & (self._keys[posc].astype(np.int64) == addr)
        return np.where(hit, posc, -1).astype(np.int64)

    def lookup(self, icao24: ArrayLike) -> pa.Table:
        """Database columns for each address (null where unknown) plus a ``found`` column.

        The result has one row per query, in query order; ``icao24`` echoes the query and
        ``db_flags`` is 0 for unknown addresses.
        """
        addr = np.asarray(icao24).astype(np.int64, copy=False).ravel()
        idx = self.index_of(addr)
        found = idx >= 0
        take = pa.array(np.where(found, idx, 0), mask=~found, type=pa.int64())
        cols = {}
        for name in DB_COLUMNS:
            if name == "icao24":
                cols[name] = pa.array(addr.astype(np.uint32), pa.uint32())
            elif name == "db_flags":
                flags = self._table.column(name).to_numpy()
                cols[name] = pa.array(
                    np.where(found, flags[np.where(found, idx, 0)] if len(flags) else 0, 0).astype(
                        np.uint8
                    )
                )
            elif len(self._table):
                cols[name] = self._table.column(name).take(take)
            else:
                cols[name] = pa.nulls(len(addr), DB_SCHEMA.field(name).type)
        cols["found"] = pa.array(found)
        return pa.table(cols)

    def record(self, icao24: int | str) -> AircraftRecord | None:
        """The row of one address (int or hex string), or None."""
        addr = int(icao24, 16) if isinstance(icao24, str) else int(icao24)
        i = int(self.index_of(np.array([addr], dtype=np.int64))[0])
        return self._record_at(i) if i >= 0 else None

    def _record_at(self, i: int) -> AircraftRecord:
        row = self._table.slice(i, 1).to_pylist()[0]
        return AircraftRecord(
            icao24=_format_icao(int(row["icao24"])),
            registration=row["registration"],
            typecode=row["typecode"],
            description=row["description"],
            operator=row["operator"],
            db_flags=int(row["db_flags"]),
            year=row["year"],
            source=row["source"],
        )

    def by_registration(self, registration: str) -> list[AircraftRecord]:
        """Every aircraft with this registration (case, '-' and spaces ignored)."""
        key = registration.strip().upper().replace("-", "").replace(" ", "")
        if not key or len(self) == 0:
            return []
        if self._norm_reg is None:
            self._norm_reg = _norm_reg_array(self._table.column("registration"))
        mask = pc.fill_null(pc.equal(self._norm_reg, key), False)
        rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
        return [self._record_at(int(i)) for i in rows]


def read_records_table(records: Sequence[AircraftRecord]) -> pa.Table:
    """A DB_SCHEMA table from records (for small hand-made databases and tests)."""
    s = pa.string()
    return _build(
        pa.array([r.icao24 for r in records], s),
        registration=pa.array([r.registration for r in records], s),
        typecode=pa.array([r.typecode for r in records], s),
        description=pa.array([r.description for r in records], s),
        operator=pa.array([r.operator for r in records], s),
        flags=np.array([r.db_flags for r in records], dtype=np.uint8),
        year=pa.array([None if r.year is None else str(r.year) for r in records], s),
        source="records",
        rejects=None,
    )


# --------------------------------------------------------------------------------------------
# Download
# --------------------------------------------------------------------------------------------


def _check_gzip(path: Path) -> None:
    try:
        with path.open("rb") as f:
            if f.read(2) != _GZIP_MAGIC:
                raise ReferenceDataError("downloaded file is not gzip (bad magic bytes)")
        with gzip.open(path, "rb") as g:
            while g.read(1 << 20):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        raise ReferenceDataError(f"downloaded file is not valid gzip: {exc}") from exc


def download(
    url: str,
    dest: str | Path,
    *,
    timeout: float = 60.0,
    expect_gzip: bool = True,
    chunk_size: int = 1 << 16,
) -> Path:
    """Download ``url`` to ``dest`` atomically (temp file in the same folder, then rename).

    ``timeout`` bounds each network wait and the whole transfer. With ``expect_gzip`` the file
    must be complete, valid gzip, or nothing is written. Raises :class:`ReferenceDataError`.
    """
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"only http(s) URLs can be downloaded, not {url!r}")
    dest_path = Path(dest)
    dest_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{dest_path.name}.", suffix=".part", dir=dest_path.parent
    )
    tmp = Path(tmp_name)
    deadline = time.monotonic() + timeout
    try:
        req = urllib.request.Request(url, headers={"User-Agent": "tailwatch"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(req, timeout=timeout) as resp:
            status = getattr(resp, "status", 200)
            if status != 200:
                raise ReferenceDataError(f"GET {url}: HTTP {status}")
            while True:
                if time.monotonic() > deadline:
                    raise ReferenceDataError(f"GET {url}: timed out after {timeout} s")
                chunk = resp.read(chunk_size)
                if not chunk:
                    break
                out.write(chunk)
        if expect_gzip:
            _check_gzip(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest_path)
    except urllib.error.HTTPError as exc:
        tmp.unlink(missing_ok=True)
        raise ReferenceDataError(f"GET {url}: HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        tmp.unlink(missing_ok=True)
        raise ReferenceDataError(f"GET {url}: {exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest_path
