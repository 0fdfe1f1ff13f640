"""History from files: readsb traces, OpenSky state vectors and traffic trajectories.

``import_files(store, paths)`` turns each file into position columns
(:data:`tailwatch.core.schema.POSITION_FIELDS`, source ``import``), writes them to the store
with resume tokens, then runs flight and event detection over what was imported and updates
the ``aircraft`` table (see :mod:`tailwatch.history.detection`). The formats
(docs/history.md has the details):

* **readsb traces** (``trace_full_<hex>.json``, ``trace_recent_<hex>.json``, gzip or not, and
  ``globe_history/YYYY/MM/DD/traces/`` directories of them): ``{icao, timestamp, trace:
  [[dt, lat, lon, alt|"ground", gs, track, flags, vrate, details, type, alt_geom, ...]]}``.
  Flag 8 marks a geometric altitude, flag 2 a new leg (callsign and squawk, carried forward
  from the detail objects, restart there).
* **OpenSky** ``state_vectors_data4`` rows (CSV, gzip or not, or Parquet): time, icao24, lat,
  lon, velocity (m/s), heading, vertrate (m/s), callsign, onground, squawk, baroaltitude (m),
  geoaltitude (m), lastposupdate. The position time is ``lastposupdate`` when given (state
  vectors repeat a position until a new one arrives: the last state of a position is kept).
* **traffic** trajectories (Parquet, CSV or JSON, as ``traffic`` writes them): timestamp,
  icao24, latitude, longitude, altitude (ft), geoaltitude (ft), groundspeed (kt), track,
  vertical_rate (ft/min), callsign, squawk, onground, and ``last_position`` when present.

Every conversion works on whole columns (Arrow compute and numpy); the only per-row Python is
``json.loads`` itself. Rows without a time, a valid address or a position are dropped and
counted (``import_*`` reasons). Barometric altitude is NaN on the ground, as in the store.

Resume tokens: a file is the source ``import:<absolute path>:<size in bytes>`` and a batch's
position is the row offset where the next batch starts; a trace directory is the source
``import:<absolute path>/`` and the position counts the files done (in sorted order). When
every batch of a source is stored and detection has run over it, a second token
``import-done:…`` marks it, and importing it again reads nothing.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tailwatch.core.errors import FormatError
from tailwatch.core.rejects import Rejects
from tailwatch.core.schema import POSITION_FIELDS, SOURCE_LABELS, empty_columns
from tailwatch.reference.aircraft_db import NON_ICAO_FLAG, hex_to_icao24
from tailwatch.store.base import ResumeToken, Store

__all__ = [
    "ImportReport",
    "ImportSource",
    "Kind",
    "discover",
    "import_files",
    "opensky_columns",
    "read_source",
    "trace_columns",
    "traffic_columns",
]

Columns = dict[str, np.ndarray]
Kind = Literal["trace", "trace_dir", "opensky", "traffic"]

SOURCE_IMPORT = SOURCE_LABELS.index("import")
FT_PER_M = 1.0 / 0.3048
KT_PER_MS = 3600.0 / 1852.0
FPM_PER_MS = 60.0 / 0.3048

_GZIP = b"\x1f\x8b"
_PARQUET = b"PAR1"
_OPENSKY_NEED = {"icao24", "lat", "lon"}
_TRAFFIC_NEED = {"icao24", "latitude", "longitude", "timestamp"}
_OPENSKY_COLS = ("time", "icao24", "lat", "lon", "velocity", "heading", "vertrate", "callsign",
                 "onground", "squawk", "baroaltitude", "geoaltitude", "lastposupdate")
_TRAFFIC_COLS = ("timestamp", "last_position", "icao24", "latitude", "longitude", "altitude",
                 "geoaltitude", "groundspeed", "track", "vertical_rate", "callsign", "squawk",
                 "onground")
_TEXT_COLS = {"icao24", "callsign", "squawk", "onground", "timestamp", "last_position"}


# --- column helpers ---------------------------------------------------------------------------


def _plain(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks else pa.array([], arr.type)
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    return arr


def _floats(arr: pa.Array | pa.ChunkedArray | None, n: int) -> npt.NDArray[np.float64]:
    """A numeric (or numeric-text) column as float64, NaN for null and unreadable values."""
    if arr is None:
        return np.full(n, np.nan)
    a = _plain(arr)
    if pa.types.is_string(a.type):
        a = pc.utf8_trim_whitespace(a)
        ok = pc.fill_null(pc.match_substring_regex(a, r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"),
                          False)
        a = pc.if_else(ok, a, pa.scalar(None, pa.string())).cast(pa.float64())
    elif pa.types.is_boolean(a.type):
        a = a.cast(pa.float64())
    elif not (pa.types.is_floating(a.type) or pa.types.is_integer(a.type)
              or pa.types.is_decimal(a.type)):
        return np.full(n, np.nan)
    out = pc.fill_null(a.cast(pa.float64()), float("nan")).to_numpy(zero_copy_only=False)
    return np.array(out, dtype=np.float64)  # a writable copy


def _seconds(arr: pa.Array | pa.ChunkedArray | None, n: int, rejects: Rejects) -> npt.NDArray[
        np.float64]:
    """Times as UNIX seconds: timestamps (naive = UTC), numbers (s, or ms above 1e11) or text
    (numbers or ISO 8601, with or without an offset)."""
    if arr is None:
        return np.full(n, np.nan)
    a = _plain(arr)
    if pa.types.is_timestamp(a.type):
        if a.type.tz is None:
            a = a.cast(pa.timestamp(a.type.unit, tz="UTC"))
        us = a.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
        return np.asarray(pc.fill_null(pc.divide(us.cast(pa.float64()), 1e6), float("nan"))
                          .to_numpy(zero_copy_only=False), dtype=np.float64)
    if pa.types.is_date(a.type):
        return _seconds(a.cast(pa.timestamp("s")), n, rejects)
    if pa.types.is_string(a.type):
        numeric = _floats(a, n)
        text = pc.fill_null(pc.utf8_length(pc.utf8_trim_whitespace(a)), 0).to_numpy(
            zero_copy_only=False) > 0
        iso = text & np.isnan(numeric)
        if iso.any():
            sub = pc.utf8_trim_whitespace(a.filter(pa.array(iso)))
            numeric[iso] = _iso_seconds(sub, rejects)
        return _scale_epoch(numeric)
    return _scale_epoch(_floats(a, n))


def _scale_epoch(t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Milliseconds (anything past year 5138 in seconds) → seconds."""
    with np.errstate(invalid="ignore"):
        return np.where(np.abs(t) > 1e11, t / 1000.0, t)


def _iso_seconds(text: pa.Array, rejects: Rejects) -> npt.NDArray[np.float64]:
    """ISO 8601 text → seconds; a text without an offset is UTC."""
    for tz in ("UTC", None):
        try:
            ts = text.cast(pa.timestamp("us", tz=tz))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return _seconds(ts, len(text), rejects)
    # mixed forms: one value at a time (rare)
    from datetime import UTC, datetime

    out = np.full(len(text), np.nan)
    for i, v in enumerate(text.to_pylist()):
        try:
            d = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
        except ValueError:
            rejects["import_bad_time"] += 1
            continue
        out[i] = (d if d.tzinfo else d.replace(tzinfo=UTC)).timestamp()
    return out


def _icao(arr: pa.Array | pa.ChunkedArray | None, n: int) -> tuple[npt.NDArray[np.uint32],
                                                                    npt.NDArray[np.bool_]]:
    """Hex addresses → (uint32, valid). readsb's non-ICAO '~abcdef' form is not valid here."""
    if arr is None:
        return np.zeros(n, np.uint32), np.zeros(n, bool)
    a = _plain(arr)
    if pa.types.is_integer(a.type):
        v = np.asarray(pc.fill_null(a, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
        ok = (v >= 0) & (v < 1 << 24)
        return np.where(ok, v, 0).astype(np.uint32), ok
    values, ok = hex_to_icao24(pc.utf8_trim_whitespace(a.cast(pa.string())))
    ok = ok & ((values & NON_ICAO_FLAG) == 0)
    return values, ok


def _callsigns(arr: pa.Array | pa.ChunkedArray | None, n: int) -> np.ndarray:
    if arr is None:
        return np.zeros(n, dtype="S8")
    a = pc.utf8_trim_whitespace(_plain(arr).cast(pa.string()))
    a = pc.utf8_slice_codeunits(pc.fill_null(a, ""), 0, 8)
    raw = np.asarray(a.cast(pa.binary()).to_numpy(zero_copy_only=False), dtype=object)
    return raw.astype("S8")


def _squawks(arr: pa.Array | pa.ChunkedArray | None, n: int) -> npt.NDArray[np.int16]:
    """'7700', 7700 or 7700.0 → 7700; anything that is not 1-4 octal digits → -1."""
    if arr is None:
        return np.full(n, -1, np.int16)
    a = _plain(arr)
    if pa.types.is_string(a.type):
        a = pc.utf8_trim_whitespace(a)
        ok = pc.fill_null(pc.match_substring_regex(a, r"^[0-7]{1,4}(\.0*)?$"), False)
        a = pc.if_else(ok, a, pa.scalar(None, pa.string()))
    v = _floats(a, n)
    digits_ok = np.isfinite(v) & (v >= 0) & (v <= 7777)
    iv = np.where(digits_ok, v, 0).astype(np.int64)
    octal = digits_ok & (iv == v)
    for div in (1, 10, 100, 1000):
        octal &= (iv // div) % 10 <= 7
    return np.where(octal, iv, -1).astype(np.int16)


_TRUE = pa.array(["true", "t", "1", "yes", "y", "1.0"])
_FALSE = pa.array(["false", "f", "0", "no", "n", "0.0"])


def _ground(arr: pa.Array | pa.ChunkedArray | None, n: int) -> npt.NDArray[np.int8]:
    """Booleans (or their text, or 0/1) → 1 ground, 0 airborne, -1 unknown."""
    if arr is None:
        return np.full(n, -1, np.int8)
    a = _plain(arr)
    if pa.types.is_boolean(a.type):
        return np.asarray(pc.fill_null(a.cast(pa.int8()), -1).to_numpy(zero_copy_only=False),
                          dtype=np.int8)
    if pa.types.is_integer(a.type) or pa.types.is_floating(a.type):
        v = _floats(a, n)
        return np.where(v == 1, 1, np.where(v == 0, 0, -1)).astype(np.int8)
    s = pc.utf8_lower(pc.utf8_trim_whitespace(a.cast(pa.string())))
    t = pc.fill_null(pc.is_in(s, value_set=_TRUE), False).to_numpy(zero_copy_only=False)
    f = pc.fill_null(pc.is_in(s, value_set=_FALSE), False).to_numpy(zero_copy_only=False)
    return np.where(t, 1, np.where(f, 0, -1)).astype(np.int8)


def _finish(cols: Columns, ok: npt.NDArray[np.bool_], rejects: Rejects) -> Columns:
    """Drop rows without an address, a time or a position (counted), blank the barometric
    altitude on the ground, sort by (icao24, t) and keep the last row of a repeated time."""
    t, lat, lon = cols["t"], cols["lat"], cols["lon"]
    bad_icao = ~ok
    bad_time = ok & ~np.isfinite(t)
    with np.errstate(invalid="ignore"):
        has_pos = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    no_pos = ok & ~bad_time & ~has_pos
    for reason, mask in (("import_bad_icao24", bad_icao), ("import_bad_time", bad_time),
                         ("import_no_position", no_pos)):
        k = int(np.count_nonzero(mask))
        if k:
            rejects[reason] += k
    keep = ok & ~bad_time & has_pos
    out = {k: v[keep] for k, v in cols.items()}
    out["altitude_ft"] = np.where(out["on_ground"] == 1, np.float32(np.nan),
                                  out["altitude_ft"]).astype(np.float32)
    out["source"][:] = SOURCE_IMPORT
    if out["t"].size == 0:
        return out
    order = np.lexsort((out["t"], out["icao24"]))
    out = {k: v[order] for k, v in out.items()}
    a, tt = out["icao24"], out["t"]
    last = np.r_[(a[1:] != a[:-1]) | (tt[1:] != tt[:-1]), True]
    dup = int(last.size - np.count_nonzero(last))
    if dup:
        rejects["import_repeated_position"] += dup
        out = {k: v[last] for k, v in out.items()}
    return out


def _empty() -> Columns:
    return empty_columns(POSITION_FIELDS, 0)


def _col(table: pa.Table, name: str) -> pa.ChunkedArray | None:
    return table.column(name) if name in table.column_names else None


# --- the three formats --------------------------------------------------------------------------


def opensky_columns(table: pa.Table, rejects: Rejects) -> Columns:
    """OpenSky state vectors (SI units) → position columns."""
    n = table.num_rows
    cols = empty_columns(POSITION_FIELDS, n)
    t_state = _seconds(_col(table, "time"), n, rejects)
    t_pos = _seconds(_col(table, "lastposupdate"), n, rejects)
    cols["t"] = np.where(np.isfinite(t_pos), t_pos, t_state)
    cols["icao24"], ok = _icao(_col(table, "icao24"), n)
    cols["lat"] = _floats(_col(table, "lat"), n)
    cols["lon"] = _floats(_col(table, "lon"), n)
    cols["altitude_ft"] = (_floats(_col(table, "baroaltitude"), n) * FT_PER_M).astype(np.float32)
    cols["altitude_geom_ft"] = (_floats(_col(table, "geoaltitude"), n) * FT_PER_M).astype(
        np.float32)
    cols["gs_kt"] = (_floats(_col(table, "velocity"), n) * KT_PER_MS).astype(np.float32)
    cols["track_deg"] = _floats(_col(table, "heading"), n).astype(np.float32)
    cols["vrate_fpm"] = (_floats(_col(table, "vertrate"), n) * FPM_PER_MS).astype(np.float32)
    cols["on_ground"] = _ground(_col(table, "onground"), n)
    cols["callsign"] = _callsigns(_col(table, "callsign"), n)
    cols["squawk"] = _squawks(_col(table, "squawk"), n)
    return _finish(cols, ok, rejects)


def traffic_columns(table: pa.Table, rejects: Rejects) -> Columns:
    """traffic trajectories (feet, knots, ft/min) → position columns."""
    n = table.num_rows
    cols = empty_columns(POSITION_FIELDS, n)
    t_state = _seconds(_col(table, "timestamp"), n, rejects)
    t_pos = _seconds(_col(table, "last_position"), n, rejects)
    cols["t"] = np.where(np.isfinite(t_pos), t_pos, t_state)
    cols["icao24"], ok = _icao(_col(table, "icao24"), n)
    cols["lat"] = _floats(_col(table, "latitude"), n)
    cols["lon"] = _floats(_col(table, "longitude"), n)
    cols["altitude_ft"] = _floats(_col(table, "altitude"), n).astype(np.float32)
    cols["altitude_geom_ft"] = _floats(_col(table, "geoaltitude"), n).astype(np.float32)
    cols["gs_kt"] = _floats(_col(table, "groundspeed"), n).astype(np.float32)
    cols["track_deg"] = _floats(_col(table, "track"), n).astype(np.float32)
    cols["vrate_fpm"] = _floats(_col(table, "vertical_rate"), n).astype(np.float32)
    cols["on_ground"] = _ground(_col(table, "onground"), n)
    cols["callsign"] = _callsigns(_col(table, "callsign"), n)
    cols["squawk"] = _squawks(_col(table, "squawk"), n)
    return _finish(cols, ok, rejects)


_TRACE_WIDTH = 14
_FLAG_NEW_LEG = 2
_FLAG_ALT_GEOM = 8


def _obj_floats(col: np.ndarray) -> npt.NDArray[np.float64]:
    """An object column of numbers and None (or other junk) → float64 with NaN."""
    num = np.frompyfunc(lambda v: isinstance(v, int | float) and not isinstance(v, bool), 1, 1)(
        col).astype(bool)
    out = np.full(col.shape[0], np.nan)
    if num.any():
        out[num] = col[num].astype(np.float64)
    return out


def _carry(values: np.ndarray, has: npt.NDArray[np.bool_], leg: npt.NDArray[np.int64],
           empty: Any) -> np.ndarray:
    """Carry each value forward to the rows after it, within its leg."""
    n = has.shape[0]
    idx = np.where(has, np.arange(n), -1)
    np.maximum.accumulate(idx, out=idx)
    ok = idx >= 0
    ok[ok] &= leg[idx[ok]] == leg[ok]
    out = np.full(n, empty, dtype=values.dtype)
    out[ok] = values[idx[ok]]
    return out


def trace_columns(doc: Mapping[str, Any], rejects: Rejects) -> Columns:
    """One readsb trace document → position columns (see the module docstring)."""
    rows = doc.get("trace")
    if not isinstance(rows, list):
        raise FormatError("not a readsb trace: no 'trace' list")
    rows = [r for r in rows if isinstance(r, list) and len(r) >= 3]
    n = len(rows)
    text = str(doc.get("icao", "")).strip().lower()
    try:
        base = float(doc.get("timestamp"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        rejects["import_bad_time"] += n
        return _empty()
    if text.startswith("~"):
        rejects["import_non_icao_address"] += n
        return _empty()
    try:
        icao = int(text, 16)
        valid = 0 <= icao < 1 << 24 and len(text) <= 6
    except ValueError:
        valid = False
    if not valid:
        rejects["import_bad_icao24"] += n
        return _empty()
    if n == 0:
        return _empty()
    pad = [None] * _TRACE_WIDTH
    m = np.empty((n, _TRACE_WIDTH), dtype=object)
    m[:] = [(r + pad)[:_TRACE_WIDTH] for r in rows]
    cols = empty_columns(POSITION_FIELDS, n)
    cols["t"] = base + _obj_floats(m[:, 0])
    cols["icao24"][:] = icao
    cols["lat"] = _obj_floats(m[:, 1])
    cols["lon"] = _obj_floats(m[:, 2])
    alt = _obj_floats(m[:, 3])
    ground = m[:, 3] == "ground"
    flags = np.nan_to_num(_obj_floats(m[:, 6]), nan=0.0).astype(np.int64)
    geom_flag = (flags & _FLAG_ALT_GEOM) != 0
    alt_geom = _obj_floats(m[:, 10])
    cols["altitude_ft"] = np.where(geom_flag, np.nan, alt).astype(np.float32)
    cols["altitude_geom_ft"] = np.where(geom_flag & np.isnan(alt_geom), alt, alt_geom).astype(
        np.float32)
    cols["gs_kt"] = _obj_floats(m[:, 4]).astype(np.float32)
    cols["track_deg"] = _obj_floats(m[:, 5]).astype(np.float32)
    cols["vrate_fpm"] = _obj_floats(m[:, 7]).astype(np.float32)
    cols["on_ground"] = np.where(ground, 1, np.where(np.isfinite(alt), 0, -1)).astype(np.int8)
    # callsign and squawk from the detail objects, carried forward within a leg
    details = m[:, 8]
    has = np.frompyfunc(lambda d: isinstance(d, dict), 1, 1)(details).astype(bool)
    if has.any():
        leg = np.cumsum((flags & _FLAG_NEW_LEG) != 0)
        sub = details[has]
        flight = pa.array([d.get("flight") if isinstance(d.get("flight"), str) else None
                           for d in sub], pa.string())
        squawk = pa.array([str(d["squawk"]) if d.get("squawk") is not None else None
                           for d in sub], pa.string())
        cs = np.zeros(n, dtype="S8")
        cs[has] = _callsigns(flight, len(sub))
        sq = np.full(n, -1, np.int16)
        sq[has] = _squawks(squawk, len(sub))
        cols["callsign"] = _carry(cs, has & (cs != b""), leg, b"")
        cols["squawk"] = _carry(sq, has & (sq >= 0), leg, -1)
    return _finish(cols, np.ones(n, bool), rejects)


# --- files ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportSource:
    """One unit of resumable import: a file, or a directory of readsb traces."""

    path: Path
    kind: Kind
    files: tuple[Path, ...]
    source_id: str

    @property
    def done_id(self) -> str:
        return "import-done:" + self.source_id.removeprefix("import:")


def _head(path: Path, n: int = 4096) -> tuple[bytes, bool]:
    try:
        with path.open("rb") as fh:
            head = fh.read(n)
    except OSError as exc:
        raise FormatError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if head.startswith(_GZIP):
        try:
            with gzip.open(path, "rb") as g:
                return g.read(n), True
        except (OSError, EOFError, zlib.error) as exc:
            raise FormatError(f"{path}: broken gzip: {exc}") from exc
    if path.suffix.lower() == ".gz" and head:
        raise FormatError(f"{path}: named .gz but not gzip data")
    return head, False


def _is_trace_name(p: Path) -> bool:
    return p.name.startswith(("trace_full_", "trace_recent_")) and ".json" in p.name


def _raw_header(head: bytes) -> list[str]:
    """The column names of a CSV header line, as pyarrow will read them (lines end with
    ``\n``, ``\r\n`` or a lone ``\r``)."""
    body = head.lstrip(b"\xef\xbb\xbf")
    first = re.split(rb"\r\n|\n|\r", body, maxsplit=1)[0].decode("utf-8", "replace")
    try:
        return next(csv.reader([first]), [])
    except csv.Error as exc:  # e.g. a NUL byte: not a CSV header
        raise FormatError(f"not a CSV header line: {exc}") from exc


def _header_names(head: bytes) -> list[str]:
    return [c.strip().lower() for c in _raw_header(head)]


def _kind_of_names(names: Iterable[str], path: Path) -> Kind:
    s = {n.lower() for n in names}
    if s >= _TRAFFIC_NEED:
        return "traffic"
    if s >= _OPENSKY_NEED:
        return "opensky"
    raise FormatError(
        f"{path}: neither OpenSky state vectors (icao24, lat, lon, time) nor a traffic "
        f"trajectory (timestamp, icao24, latitude, longitude); columns: {sorted(s)[:12]}")


def _file_kind(path: Path) -> Kind:
    head, _ = _head(path)
    if head.startswith(_PARQUET):
        return _kind_of_names(pq.read_schema(path).names, path)
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"{") and (b'"trace"' in head or _is_trace_name(path)):
        return "trace"
    if text.startswith((b"{", b"[")):
        return "traffic"
    if not text:
        raise FormatError(f"{path}: empty file")
    return _kind_of_names(_header_names(text), path)


def _file_source_id(path: Path) -> str:
    p = path.resolve()
    return f"import:{p}:{p.stat().st_size}"


def discover(paths: Iterable[str | Path]) -> list[ImportSource]:
    """The import sources of the given files and directories (see the module docstring).

    A directory holding readsb traces (at any depth, e.g. ``globe_history/2019/03/23``) is one
    source; any other directory contributes its Parquet, CSV and JSON files one by one.
    """
    out: list[ImportSource] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FormatError(f"{path}: no such file or directory")
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            traces = tuple(p for p in files if _is_trace_name(p))
            if traces:
                out.append(ImportSource(path, "trace_dir", traces,
                                        f"import:{path.resolve()}/"))
            for p in files:
                if _is_trace_name(p) or p.name.startswith("."):
                    continue
                suffixes = "".join(p.suffixes).lower()
                if any(suffixes.endswith(s) for s in (".parquet", ".csv", ".csv.gz", ".json",
                                                       ".json.gz", ".jsonl")):
                    out.append(ImportSource(p, _file_kind(p), (p,), _file_source_id(p)))
            continue
        out.append(ImportSource(path, _file_kind(path), (path,), _file_source_id(path)))
    return out


@dataclass
class Batch:
    """Position columns of one write, with the token of where the source stands after it."""

    columns: Columns
    token: ResumeToken
    rows_read: int


def _read_json(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if raw[:2] == _GZIP:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise FormatError(f"{path}: broken gzip: {exc}") from exc
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise FormatError(f"{path}: not readable JSON: {exc}") from exc


def _json_table(doc: Any, path: Path) -> pa.Table:
    """traffic JSON: a list of records, or pandas' column form {column: {row: value}}."""
    if isinstance(doc, list):
        recs = [r for r in doc if isinstance(r, dict)]
        return pa.Table.from_pylist(recs) if recs else pa.table({})
    if isinstance(doc, dict) and doc and all(isinstance(v, dict) for v in doc.values()):
        rows = sorted({k for v in doc.values() for k in v}, key=lambda k: (len(k), k))
        return pa.table({name: pa.array([v.get(r) for r in rows], from_pandas=True)
                         for name, v in doc.items()})
    raise FormatError(f"{path}: not a traffic JSON trajectory")


def _csv_batches(path: Path, kind: Kind, batch_rows: int) -> Iterator[pa.Table]:
    head, gz = _head(path)
    names = _header_names(head)
    wanted = _OPENSKY_COLS if kind == "opensky" else _TRAFFIC_COLS
    raw_names = _raw_header(head)
    include = [r for r, low in zip(raw_names, names, strict=True) if low in wanted]
    types = {r: (pa.string() if low in _TEXT_COLS else pa.float64())
             for r, low in zip(raw_names, names, strict=True) if low in wanted}
    stream = pa.input_stream(str(path), compression="gzip" if gz else None)
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=1 << 24),
            convert_options=pacsv.ConvertOptions(
                include_columns=include, column_types=types, strings_can_be_null=True,
                null_values=["", "NaN", "nan", "null", "None", "NULL"]),
        )
        pending: list[pa.RecordBatch] = []
        rows = 0
        for rb in reader:
            pending.append(rb)
            rows += rb.num_rows
            if rows >= batch_rows:
                yield _lower(pa.Table.from_batches(pending))
                pending, rows = [], 0
        if pending:
            yield _lower(pa.Table.from_batches(pending))
    except (pa.ArrowInvalid, OSError) as exc:
        what = "broken gzip" if gz and "compress" in str(exc).lower() else "bad CSV"
        raise FormatError(f"{path}: {what}: {exc}") from exc
    finally:
        stream.close()


def _lower(table: pa.Table) -> pa.Table:
    return table.rename_columns([c.strip().lower() for c in table.column_names])


def _table_batches(path: Path, kind: Kind, batch_rows: int) -> Iterator[pa.Table]:
    head, _ = _head(path, 8)
    if head.startswith(_PARQUET):
        pf = pq.ParquetFile(path)
        wanted = _OPENSKY_COLS if kind == "opensky" else _TRAFFIC_COLS
        cols = [c for c in pf.schema_arrow.names if c.lower() in wanted]
        for rb in pf.iter_batches(batch_size=batch_rows, columns=cols):
            yield _lower(pa.Table.from_batches([rb]))
    elif head.lstrip().startswith((b"{", b"[")):
        table = _lower(_json_table(_read_json(path), path))
        for start in range(0, max(table.num_rows, 1), batch_rows):
            yield table.slice(start, batch_rows)
    else:
        yield from _csv_batches(path, kind, batch_rows)


def read_source(src: ImportSource, rejects: Rejects, batch_rows: int = 500_000
                ) -> Iterator[Batch]:
    """Batches of position columns of one source, each with its resume token."""
    if src.kind in ("opensky", "traffic"):
        convert = opensky_columns if src.kind == "opensky" else traffic_columns
        offset = 0
        for table in _table_batches(src.path, src.kind, batch_rows):
            offset += table.num_rows
            yield Batch(convert(table, rejects), ResumeToken(src.source_id, offset),
                        table.num_rows)
        return
    pending: list[Columns] = []
    rows = 0
    read = 0
    for i, path in enumerate(src.files):
        try:
            doc = _read_json(path)
            if not isinstance(doc, dict):
                raise FormatError(f"{path}: not a readsb trace")
            trace = doc.get("trace")
            n_rows = len(trace) if isinstance(trace, list) else 0
            cols = trace_columns(doc, rejects)
        except FormatError:
            if src.kind == "trace":
                raise
            rejects["import_bad_file"] += 1  # one broken file does not stop a directory
            n_rows, cols = 0, _empty()
        read += n_rows
        if src.kind == "trace":
            yield Batch(cols, ResumeToken(src.source_id, max(n_rows, 1)), n_rows)
            return
        pending.append(cols)
        rows += cols["t"].shape[0]
        if rows >= batch_rows or i == len(src.files) - 1:
            merged = {k: np.concatenate([c[k] for c in pending]) for k in pending[0]}
            yield Batch(merged, ResumeToken(src.source_id, i + 1), read)
            pending, rows, read = [], 0, 0


# --- the import --------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did."""

    sources: int = 0
    already_imported: int = 0
    rows_read: int = 0
    positions: int = 0
    positions_written: int = 0
    aircraft: int = 0
    flights: int = 0
    events: int = 0
    detection: str = "not run"
    rejects: Rejects = field(default_factory=Rejects)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sources": self.sources, "already_imported": self.already_imported,
            "rows_read": self.rows_read, "positions": self.positions,
            "positions_written": self.positions_written, "aircraft": self.aircraft,
            "flights": self.flights, "events": self.events, "detection": self.detection,
            "rejects": dict(self.rejects),
        }


def import_files(
    store: Store,
    paths: Sequence[str | Path],
    *,
    detect: bool = True,
    batch_rows: int = 500_000,
    aircraft_db: Any = None,
    progress: Callable[[str, int], None] | None = None,
    detect_progress: bool | None = None,
) -> ImportReport:
    """Import history files into ``store`` (see the module docstring).

    Sources already marked done are skipped. ``detect``: run flight and event detection over
    the imported span and update the ``aircraft`` table (:mod:`tailwatch.history.detection`).
    ``aircraft_db``: an :class:`~tailwatch.reference.aircraft_db.AircraftDB` for identities
    (default: the one stored in the store, if any). ``progress(label, rows)`` is called after
    each batch; ``detect_progress``: the detection stage's own bar (None: on a terminal,
    False: never, see :func:`~tailwatch.history.detection.detect_stored`).
    """
    from tailwatch.history.detection import SeenAircraft, detect_stored, update_aircraft

    report = ImportReport()
    sources = discover(paths)
    report.sources = len(sources)
    seen = SeenAircraft()
    todo: list[ImportSource] = []
    for src in sources:
        if store.resume_position(src.done_id) is not None:
            report.already_imported += 1
            continue
        todo.append(src)
        for batch in read_source(src, report.rejects, batch_rows):
            cols = batch.columns
            report.rows_read += batch.rows_read
            report.positions += int(cols["t"].shape[0])
            report.positions_written += store.write("positions", cols, resume=batch.token)
            seen.add(cols)
            if progress is not None:
                progress(str(src.path), batch.rows_read)
    if len(seen):
        db = aircraft_db
        if db is None:
            from tailwatch.history.dbtable import load_aircraft_db

            db = load_aircraft_db(store)
        identities = update_aircraft(store, seen, db=db)
        report.aircraft = identities.num_rows
        if detect:
            result = detect_stored(store, seen, identities=identities,
                                   progress=detect_progress)
            report.flights, report.events = result.flights, result.events
            report.detection = result.status
    for src in todo:
        store.write("positions", _empty(), resume=ResumeToken(src.done_id, 1))
    return report
