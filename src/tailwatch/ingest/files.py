"""Read raw Mode S frames from files: Beast, AVR, ``timestamp,hex`` CSV and JSON lines.

``detect_format(path)`` sniffs the content (gzip is opened transparently, by its magic bytes,
whatever the file name) and answers ``beast``, ``avr``, ``hexcsv``, ``jsonl`` or ``sbs``.
``read_frames(path)`` yields :class:`~tailwatch.core.frames.FrameBatch` es of at most
``batch_size`` frames; rejected inputs are counted in each batch's ``rejects``, never raised.
A file that is not in the format it is declared (or detected) to be raises
:class:`~tailwatch.core.errors.FormatError`.

Formats
-------
* ``beast`` — Beast binary (:mod:`tailwatch.ingest.beast`); ``t_rx`` NaN unless the stream
  carries readsb's replay clock. An incomplete record at the end of the file is counted under
  ``beast_truncated_frames``.
* ``avr`` — AVR text (:mod:`tailwatch.ingest.avr`); ``t_rx`` NaN.
* ``hexcsv`` — one frame per row, as in the pyModeS and rs1090 samples: a hex column (found by
  content: the column whose values are 14 or 28 hex digits; quotes, spaces, an AVR ``*…;``
  wrapping are allowed; 4 digits is Mode A/C) and optionally a time column (UNIX seconds,
  UNIX milliseconds — told apart by magnitude — or ISO 8601, UTC unless an offset is given).
  Other columns are ignored; a header line and a UTF-8 BOM are allowed. Rejects (unit: rows):
  ``hexcsv_bad_line`` (wrong number of fields), ``hexcsv_bad_hex``, ``hexcsv_bad_length``,
  ``hexcsv_bad_time`` (a time that is present but unreadable; an empty one gives NaN).
* ``jsonl`` — one JSON object per line with ``frame`` (hex) and ``timestamp`` (UNIX seconds),
  as written by jet1090/rs1090; other keys are ignored. Rejects (unit: lines):
  ``jsonl_bad_line`` (not a JSON object, or a ``frame``/``timestamp`` of the wrong type),
  ``jsonl_no_frame``, ``jsonl_bad_hex``, ``jsonl_bad_length``.
* ``sbs`` — detected, but it holds decoded messages, not frames: use :func:`read_sbs`.

Blank lines are skipped everywhere without being counted. A line longer than
``max_line_bytes`` (:data:`MAX_LINE_BYTES`, 64 KiB, by default; a real line is at most a
few hundred bytes) is dropped and counted under ``<format>_line_too_long`` (unit: lines):
at most that many bytes of a partial line are ever held, whatever the file holds (e.g. a
text format forced on a binary file without line ends).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import math
import os
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from typing import IO, Any, Literal, cast

import numba as nb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from tailwatch.core.errors import FormatError
from tailwatch.core.frames import FRAME_WIDTH, FrameBatch
from tailwatch.core.rejects import Rejects
from tailwatch.ingest.avr import HEX_VALUE, parse_avr
from tailwatch.ingest.beast import COUNTER_NAMES, BeastState, parse_beast
from tailwatch.ingest.sbs import _POW10, _digits, _parse_number, days_from_civil, parse_sbs

__all__ = ["FORMATS", "detect_format", "read_frames", "read_sbs"]

Format = Literal["auto", "beast", "avr", "hexcsv", "jsonl", "sbs"]
FORMATS: tuple[str, ...] = ("beast", "avr", "hexcsv", "jsonl", "sbs")

_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_SNIFF_BYTES = 1 << 16
_HEX_FRAME = re.compile(r"^\*?([0-9A-Fa-f]{14}|[0-9A-Fa-f]{28});?$")
_SBS_RECORDS = ("MSG,", "MLAT,", "SEL,", "ID,", "AIR,", "STA,", "CLK,")

PathLike = str | os.PathLike[str]

MAX_LINE_BYTES = 64 << 10
"""The longest text line kept (see the module docstring)."""


# ----------------------------------------------------------------------------- opening


def _open(path: PathLike) -> IO[bytes]:
    """The file's bytes, gunzipped when it starts with the gzip magic. A path that cannot
    be opened (missing, a directory, no permission) raises :class:`FormatError`."""
    try:
        with open(path, "rb") as f:
            magic = f.read(2)
        if magic == _GZIP_MAGIC:
            return cast(IO[bytes], gzip.open(path, "rb"))
        return open(path, "rb")
    except IsADirectoryError as exc:
        raise FormatError(f"{path}: is a directory, not a file") from exc
    except OSError as exc:
        raise FormatError(f"{path}: cannot open: {exc.strerror or exc}") from exc


def _read_head(path: PathLike, size: int = _SNIFF_BYTES) -> bytes:
    with _open(path) as f:
        try:
            return f.read(size)
        except (OSError, EOFError) as exc:
            raise FormatError(f"{path}: cannot read: {exc}") from exc


# ----------------------------------------------------------------------------- sniffing


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head or b"\x1a" in head:
        return True
    try:
        head[: max(len(head) - 3, 0)].decode("utf-8")  # the sniff window may cut a character
    except UnicodeDecodeError:
        return True
    control = sum(head.count(bytes([c])) for c in range(32) if c not in (9, 10, 13))
    return control > len(head) // 100


def _text_lines(head: bytes, truncated: bool, limit: int = 200) -> list[str]:
    if head.startswith(_BOM):
        head = head[3:]
    text = head.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if truncated and lines and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line was cut by the sniff window
    return [ln for ln in (x.strip() for x in lines[: limit * 2]) if ln][:limit]


def _line_kind(line: str) -> str:
    if line.startswith("{"):
        return "jsonl"
    if line.startswith("["):
        return "json"
    if line.startswith(_SBS_RECORDS):
        return "sbs"
    if line[0] in "*@%<:" and ";" in line:
        return "avr"
    if "," in line:
        return "csv"
    return "unknown"


def _sniff(head: bytes, truncated: bool, name: str) -> str:
    if not head:
        raise FormatError(f"{name}: empty file, cannot tell its format")
    if _looks_binary(head):
        if _beast_ok(head):
            return "beast"
        raise FormatError(f"{name}: binary data that is not Beast framing (0x1a records)")
    lines = _text_lines(head, truncated)
    if not lines and head.lstrip(_BOM + b" \t\r\n")[:1] in (b"{", b"["):
        raise FormatError(f"{name}: a JSON document, not JSON lines of raw frames")
    kinds = Counter(_line_kind(ln) for ln in lines)
    kinds.pop("unknown", None)
    if not kinds:
        raise FormatError(f"{name}: text that is neither AVR, CSV, JSON lines nor SBS")
    kind = kinds.most_common(1)[0][0]
    if kind == "json":
        raise FormatError(
            f"{name}: a JSON document (e.g. decoded trajectories), not raw frames: "
            "tailwatch reads JSON lines with a 'frame' field"
        )
    if kind == "csv":
        _csv_layout(lines, name)  # raises when no column holds hex frames
        return "hexcsv"
    if kind == "jsonl":
        _jsonl_check(lines, name)
        return "jsonl"
    return kind


def _beast_ok(head: bytes) -> bool:
    _, _, st = parse_beast(head)
    records = sum(v for k, v in st.counters.items() if k in COUNTER_NAMES and k != "garbage_bytes")
    return records > 0 and st.counters.get("garbage_bytes", 0) <= len(head) // 2


def _jsonl_check(lines: list[str], name: str) -> None:
    for ln in lines[:20]:
        try:
            obj = json.loads(ln)
        except ValueError:
            continue
        if isinstance(obj, dict) and "frame" in obj:
            return
    raise FormatError(
        f"{name}: JSON lines without a 'frame' field (hex raw frame) in the first lines"
    )


def detect_format(path: PathLike) -> str:
    """``beast``, ``avr``, ``hexcsv``, ``jsonl`` or ``sbs``, from the file's first 64 KiB
    (gunzipped if needed). Raises :class:`FormatError` when it is none of them."""
    head = _read_head(path, _SNIFF_BYTES + 1)
    truncated = len(head) > _SNIFF_BYTES
    return _sniff(head[:_SNIFF_BYTES], truncated, str(path))


# ----------------------------------------------------------------------------- CSV layout


class _CsvLayout:
    __slots__ = ("header", "hex_col", "ncols", "time_col", "time_kind")

    def __init__(
        self, ncols: int, hex_col: int, time_col: int, time_kind: int, header: bool
    ) -> None:
        self.ncols = ncols
        self.hex_col = hex_col
        self.time_col = time_col  # -1: none
        self.time_kind = time_kind  # 0 UNIX s, 1 UNIX ms, 2 ISO 8601
        self.header = header


def _time_kind(value: str) -> int:
    """0 UNIX s, 1 UNIX ms, 2 ISO 8601, -1 not a time."""
    try:
        v = float(value)
    except ValueError:
        v = math.nan
    if math.isfinite(v):
        if 1e8 <= v < 1e11:
            return 0
        if 1e11 <= v < 1e14:
            return 1
        return -1
    if len(value) < 19 or not value[:4].isdigit():
        return -1
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return -1
    return 2


def _csv_layout(lines: list[str], name: str) -> _CsvLayout:
    rows = [[c.strip() for c in r] for r in csv.reader(lines[:200])]
    rows = [r for r in rows if r]
    if not rows:
        raise FormatError(f"{name}: no CSV rows")
    ncols = Counter(len(r) for r in rows).most_common(1)[0][0]
    body = rows[1:] if len(rows) > 1 else rows
    best, hex_col = 0.0, -1
    for j in range(ncols):
        vals = [r[j] for r in body if len(r) == ncols]
        score = sum(bool(_HEX_FRAME.match(v)) for v in vals) / max(len(vals), 1)
        if score > best:
            best, hex_col = score, j
    if hex_col < 0 or best < 0.5:
        raise FormatError(
            f"{name}: CSV without a column of hex frames (14 or 28 hex digits per row)"
        )
    header = not _HEX_FRAME.match(rows[0][hex_col] if len(rows[0]) > hex_col else "")
    time_col, time_kind = -1, 0
    for j in range(ncols):
        if j == hex_col:
            continue
        kinds = Counter(_time_kind(r[j]) for r in body if len(r) == ncols)
        kind, count = kinds.most_common(1)[0]
        if kind >= 0 and count >= 0.5 * sum(kinds.values()):
            time_col, time_kind = j, kind
            break
    return _CsvLayout(ncols, hex_col, time_col, time_kind, header)


# ----------------------------------------------------------------------------- kernels


@nb.njit(cache=True, error_model="numpy")
def _hex_rows(
    offsets: npt.NDArray[np.int64],
    data: npt.NDArray[np.uint8],
    hexv: npt.NDArray[np.uint8],
    raw: npt.NDArray[np.uint8],
    nbytes: npt.NDArray[np.uint8],
) -> npt.NDArray[np.int8]:
    """Hex strings → frames. Status per row: 0 ok, 1 bad hex, 2 bad length."""
    n = offsets.shape[0] - 1
    status = np.zeros(n, dtype=np.int8)
    for r in range(n):
        s = offsets[r]
        e = offsets[r + 1]
        while s < e and (data[s] == 0x20 or data[s] == 0x22 or data[s] == 0x27 or data[s] == 0x09):
            s += 1
        while e > s and (
            data[e - 1] == 0x20
            or data[e - 1] == 0x22
            or data[e - 1] == 0x27
            or data[e - 1] == 0x09
            or data[e - 1] == 0x0D
        ):
            e -= 1
        if s < e and data[s] == 0x2A:  # '*…;'
            s += 1
            if e > s and data[e - 1] == 0x3B:
                e -= 1
        k = e - s
        if k != 4 and k != 14 and k != 28:
            status[r] = 2
            continue
        bad = False
        for i in range(k // 2):
            hi = hexv[data[s + 2 * i]]
            lo = hexv[data[s + 2 * i + 1]]
            if hi == 255 or lo == 255:
                bad = True
                break
            raw[r, i] = hi * 16 + lo
        if bad:
            status[r] = 1
            continue
        for i in range(k // 2, FRAME_WIDTH):
            raw[r, i] = 0
        nbytes[r] = k // 2
    return status


@nb.njit(cache=True, error_model="numpy")
def _parse_iso(
    data: npt.NDArray[np.uint8], s: int, e: int, pow10: npt.NDArray[np.float64]
) -> float:
    """``YYYY-MM-DD[T ]HH:MM:SS[.fff][Z|±HH[:MM]]`` → UNIX seconds, NaN when malformed."""
    if e - s < 19:
        return np.nan
    if data[s + 4] != 0x2D or data[s + 7] != 0x2D:
        return np.nan
    if data[s + 10] != 0x54 and data[s + 10] != 0x20 and data[s + 10] != 0x74:
        return np.nan
    if data[s + 13] != 0x3A or data[s + 16] != 0x3A:
        return np.nan
    y = _digits(data, s, 4)
    mo = _digits(data, s + 5, 2)
    d = _digits(data, s + 8, 2)
    hh = _digits(data, s + 11, 2)
    mi = _digits(data, s + 14, 2)
    if y < 0 or mo < 1 or mo > 12 or d < 1 or d > 31 or hh < 0 or hh > 23 or mi < 0 or mi > 59:
        return np.nan
    q = s + 17
    while q < e and (0x30 <= data[q] <= 0x39 or data[q] == 0x2E):
        q += 1
    ok, sec = _parse_number(data, s + 17, q, pow10)
    if not ok or sec >= 61.0:
        return np.nan
    off = 0
    if q < e:
        c = data[q]
        if c == 0x5A or c == 0x7A:  # Z
            q += 1
        elif c == 0x2B or c == 0x2D:
            oh = _digits(data, q + 1, 2) if q + 3 <= e else -1
            if oh < 0:
                return np.nan
            q += 3
            om = 0
            if q < e and data[q] == 0x3A:
                q += 1
            if q + 2 <= e:
                om = _digits(data, q, 2)
                if om < 0:
                    return np.nan
                q += 2
            off = (oh * 3600 + om * 60) * (1 if c == 0x2B else -1)
        if q != e:
            return np.nan
    return days_from_civil(y, mo, d) * 86400.0 + hh * 3600.0 + mi * 60.0 + sec - off


@nb.njit(cache=True, error_model="numpy")
def _time_rows(
    offsets: npt.NDArray[np.int64],
    data: npt.NDArray[np.uint8],
    kind: int,
    pow10: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Time strings → UNIX seconds (NaN when empty) and a mask of unreadable ones."""
    n = offsets.shape[0] - 1
    out = np.full(n, np.nan)
    bad = np.zeros(n, dtype=np.bool_)
    for r in range(n):
        s = offsets[r]
        e = offsets[r + 1]
        while s < e and (data[s] == 0x20 or data[s] == 0x22 or data[s] == 0x09):
            s += 1
        while e > s and (
            data[e - 1] == 0x20 or data[e - 1] == 0x22 or data[e - 1] == 0x09 or data[e - 1] == 0x0D
        ):
            e -= 1
        if s == e:
            continue
        if kind == 2:
            v = _parse_iso(data, s, e, pow10)
            if np.isnan(v):
                bad[r] = True
            out[r] = v
        else:
            ok, v = _parse_number(data, s, e, pow10)
            if not ok:
                bad[r] = True
            else:
                out[r] = v / 1000.0 if kind == 1 else v
    return out, bad


def _string_buffers(
    arr: pa.Array | pa.ChunkedArray,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """Offsets (int64) and data bytes of a string array, without a Python object per row.
    Nulls read as empty strings."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.string())
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    n = len(arr)
    bufs = arr.buffers()
    off_dtype = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    width = np.dtype(off_dtype).itemsize
    offsets = np.frombuffer(bufs[1], dtype=off_dtype, count=n + 1, offset=arr.offset * width)
    data = np.zeros(0, np.uint8) if bufs[2] is None else np.frombuffer(bufs[2], dtype=np.uint8)
    return offsets.astype(np.int64), data


def _frames_from_hex(
    hex_arr: pa.Array,
    t: npt.NDArray[np.float64],
    keep: npt.NDArray[np.bool_],
    prefix: str,
    receiver: int,
    rejects: Rejects,
) -> FrameBatch:
    """Hex column (+ times, + a mask of rows already rejected) → FrameBatch."""
    offsets, data = _string_buffers(hex_arr)
    n = offsets.shape[0] - 1
    raw = np.zeros((n, FRAME_WIDTH), dtype=np.uint8)
    nbytes = np.zeros(n, dtype=np.uint8)
    status = _hex_rows(offsets, data, HEX_VALUE, raw, nbytes)
    rejects[f"{prefix}_bad_hex"] += int(((status == 1) & keep).sum())
    rejects[f"{prefix}_bad_length"] += int(((status == 2) & keep).sum())
    good = (status == 0) & keep
    for k in [k for k, v in rejects.items() if not v]:
        del rejects[k]
    if good.all():
        return FrameBatch.from_matrix(
            raw, nbytes, t_rx=t, receiver=np.full(n, receiver, np.uint16), rejects=rejects
        )
    m = int(good.sum())
    return FrameBatch.from_matrix(
        raw[good],
        nbytes[good],
        t_rx=t[good],
        receiver=np.full(m, receiver, np.uint16),
        rejects=rejects,
    )


# ----------------------------------------------------------------------------- readers


def _split(batch: FrameBatch, size: int) -> Iterator[FrameBatch]:
    """Pieces of at most ``size`` frames; the rejects go with the first piece only."""
    n = len(batch)
    if n <= size:
        yield batch
        return
    for i, start in enumerate(range(0, n, size)):
        sl = slice(start, start + size)
        yield FrameBatch(
            raw=batch.raw[sl],
            nbytes=batch.nbytes[sl],
            t_rx=batch.t_rx[sl],
            ts_12mhz=batch.ts_12mhz[sl],
            signal_dbfs=batch.signal_dbfs[sl],
            receiver=batch.receiver[sl],
            rejects=batch.rejects if i == 0 else Rejects(),
        )


class _CappedLines:
    """A file's bytes without the lines longer than ``max_line`` (``\n`` or ``\r`` end a
    line). :meth:`read` returns whole lines only (the last one, at the end of the file, may
    lack its line end); at most ``max_line`` bytes of a partial line are held. ``dropped``
    counts the lines dropped (the caller adds it to its rejects)."""

    def __init__(self, f: IO[bytes], max_line: int) -> None:
        self.f = f
        self.max_line = max(int(max_line), 1)
        self.dropped = 0
        self._pending = b""
        self._skipping = False  # inside a dropped line: discard up to its end

    def take_dropped(self) -> int:
        n, self.dropped = self.dropped, 0
        return n

    def read(self, size: int) -> bytes:
        while True:
            chunk = self.f.read(size)
            if not chunk:
                out, self._pending = self._pending, b""
                self._skipping = False
                return out
            if self._skipping:
                cut = _first_line_end(chunk)
                if cut < 0:
                    continue
                chunk = chunk[cut + 1:]
                self._skipping = False
            buf = self._pending + chunk if self._pending else chunk
            end = max(buf.rfind(b"\n"), buf.rfind(b"\r")) + 1
            whole, tail = buf[:end], buf[end:]
            if len(tail) > self.max_line:
                self.dropped += 1
                self._skipping = True
                tail = b""
            self._pending = tail
            if len(whole) > self.max_line:
                whole = self._drop_long(whole)
            if whole:
                return whole

    def _drop_long(self, whole: bytes) -> bytes:
        """``whole`` (complete lines) without its lines longer than ``max_line``."""
        arr = np.frombuffer(whole, dtype=np.uint8)
        ends = np.flatnonzero((arr == 10) | (arr == 13))
        starts = np.concatenate(([0], ends[:-1] + 1))
        long_ = np.flatnonzero(ends - starts > self.max_line)
        if not len(long_):
            return whole
        self.dropped += len(long_)
        parts, at = [], 0
        for i in long_.tolist():
            parts.append(whole[at: int(starts[i])])
            at = int(ends[i]) + 1
        parts.append(whole[at:])
        return b"".join(parts)


def _first_line_end(chunk: bytes) -> int:
    ends = [i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0]
    return min(ends) if ends else -1


def _line_blocks(f: IO[bytes], block: int) -> Iterator[bytes]:
    """Blocks of whole lines (the last one may lack its line end)."""
    rest = b""
    while True:
        chunk = f.read(block)
        if not chunk:
            if rest:
                yield rest
            return
        buf = rest + chunk
        cut = max(buf.rfind(b"\n"), buf.rfind(b"\r")) + 1
        if cut == 0:
            rest = buf
            continue
        rest = buf[cut:]
        yield buf[:cut]


def _read_beast(f: IO[bytes], block: int, receiver: int, check: str | None) -> Iterator[FrameBatch]:
    st = BeastState()
    rest = b""
    first = True
    while True:
        chunk = f.read(block)
        if not chunk:
            break
        buf = rest + chunk
        frames, consumed, st = parse_beast(buf, receiver=receiver, state=st)
        if first and check is not None and not _beast_ok(buf[:_SNIFF_BYTES]):
            raise FormatError(f"{check}: not Beast binary data (no 0x1a records found)")
        first = False
        rest = buf[consumed:]
        yield frames
    if rest:
        tail = FrameBatch.empty()
        tail.rejects["beast_truncated_frames"] += 1
        yield tail


def _read_avr(f: IO[bytes], block: int, receiver: int, check: str | None) -> Iterator[FrameBatch]:
    rest = b""
    first = True
    while True:
        chunk = f.read(block)
        final = not chunk
        buf = rest + chunk
        if not buf:
            break
        frames, consumed = parse_avr(buf, receiver=receiver, final=final)
        _add_dropped(f, frames.rejects, "avr")
        if first and check is not None and consumed:
            good = len(frames) + frames.rejects.get("avr_heartbeat", 0)
            if good == 0:
                raise FormatError(f"{check}: not AVR text (no '*…;' frame in the first lines)")
        if consumed:
            first = False
        rest = buf[consumed:]
        yield frames
        if final:
            break


def _read_hexcsv(f: IO[bytes], block: int, receiver: int, name: str) -> Iterator[FrameBatch]:
    blocks = _line_blocks(f, block)
    head = next(blocks, b"")
    if head.startswith(_BOM):
        head = head[3:]
    if not head.strip():
        return
    layout = _csv_layout(_text_lines(head[:_SNIFF_BYTES], len(head) > _SNIFF_BYTES), name)
    names = [f"c{j}" for j in range(layout.ncols)]
    hex_name = names[layout.hex_col]
    wanted = [hex_name] + ([names[layout.time_col]] if layout.time_col >= 0 else [])
    first = True
    for chunk in _chain(head, blocks):
        bad_lines = 0

        def on_invalid(_row: Any) -> str:
            nonlocal bad_lines
            bad_lines += 1
            return "skip"

        table = pacsv.read_csv(
            io.BytesIO(chunk),
            read_options=pacsv.ReadOptions(
                column_names=names,
                skip_rows=1 if (first and layout.header) else 0,
                use_threads=False,
                block_size=max(len(chunk) + 1, 1 << 20),
            ),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted,
                column_types={c: pa.string() for c in wanted},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        first = False
        rejects = Rejects.of([("hexcsv_bad_line", bad_lines)])
        _add_dropped(f, rejects, "hexcsv")
        n = table.num_rows
        keep = np.ones(n, dtype=bool)
        if layout.time_col >= 0:
            toff, tdata = _string_buffers(table.column(names[layout.time_col]))
            t, tbad = _time_rows(toff, tdata, layout.time_kind, _POW10)
            rejects["hexcsv_bad_time"] += int(tbad.sum())
            keep &= ~tbad
        else:
            t = np.full(n, np.nan)
        yield _frames_from_hex(table.column(hex_name), t, keep, "hexcsv", receiver, rejects)


def _add_dropped(f: Any, rejects: Rejects, fmt: str) -> None:
    """The lines a :class:`_CappedLines` dropped since the last call, as rejects."""
    if isinstance(f, _CappedLines):
        n = f.take_dropped()
        if n:
            rejects[f"{fmt}_line_too_long"] += n


def _chain(head: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield head
    yield from rest


_JSONL_SCHEMA = pa.schema([("frame", pa.string()), ("timestamp", pa.float64())])


def _jsonl_table(chunk: bytes) -> tuple[pa.Array, pa.Array, int]:
    """(frame, timestamp, bad lines) of a block of JSON lines: Arrow's reader, or a
    line-by-line fallback when the block holds a line Arrow cannot take."""
    try:
        table = pajson.read_json(
            io.BytesIO(chunk),
            read_options=pajson.ReadOptions(
                use_threads=False, block_size=max(len(chunk) + 1, 1 << 20)
            ),
            parse_options=pajson.ParseOptions(
                explicit_schema=_JSONL_SCHEMA, unexpected_field_behavior="ignore"
            ),
        )
        return table.column("frame"), table.column("timestamp"), 0
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    frames: list[str | None] = []
    times: list[float | None] = []
    bad = 0
    for line in chunk.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if not isinstance(obj, dict):
            bad += 1
            continue
        fr = obj.get("frame")
        ts = obj.get("timestamp")
        if (fr is not None and not isinstance(fr, str)) or (
            ts is not None and (isinstance(ts, bool) or not isinstance(ts, int | float))
        ):
            bad += 1
            continue
        frames.append(fr)
        times.append(None if ts is None else float(ts))
    return pa.array(frames, pa.string()), pa.array(times, pa.float64()), bad


def _read_jsonl(f: IO[bytes], block: int, receiver: int, name: str) -> Iterator[FrameBatch]:
    first = True
    for chunk in _line_blocks(f, block):
        if first:
            if chunk.startswith(_BOM):
                chunk = chunk[3:]
            lines = _text_lines(chunk[:_SNIFF_BYTES], len(chunk) > _SNIFF_BYTES)
            if lines:
                _jsonl_check(lines, name)
            first = False
        frame, ts, bad = _jsonl_table(chunk)
        if isinstance(frame, pa.ChunkedArray):
            frame = frame.combine_chunks()
        if isinstance(ts, pa.ChunkedArray):
            ts = ts.combine_chunks()
        keep = np.asarray(frame.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        t = np.asarray(ts.to_numpy(zero_copy_only=False), dtype=np.float64)
        rejects = Rejects.of([("jsonl_bad_line", bad), ("jsonl_no_frame", int((~keep).sum()))])
        _add_dropped(f, rejects, "jsonl")
        yield _frames_from_hex(frame, t, keep, "jsonl", receiver, rejects)


def read_frames(
    path: PathLike,
    format: Format = "auto",
    batch_size: int = 65536,
    *,
    receiver: int = 0,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Iterator[FrameBatch]:
    """Frames of a file, in batches of at most ``batch_size``.

    ``format`` is ``auto`` (see :func:`detect_format`) or one of ``beast``, ``avr``,
    ``hexcsv``, ``jsonl``. An empty file yields nothing. Raises :class:`FormatError` when
    the file is not in the declared (or detected) format, holds SBS messages, or cannot be
    opened or read. Text lines longer than ``max_line_bytes`` are dropped and counted
    (``<format>_line_too_long``).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    name = str(path)
    head = _read_head(path, 1)
    if not head:
        return
    fmt = detect_format(path) if format == "auto" else format
    if fmt == "sbs":
        raise FormatError(
            f"{name}: SBS/BaseStation holds decoded messages, not raw frames: "
            "use tailwatch.ingest.files.read_sbs"
        )
    readers: dict[str, Callable[[IO[bytes], int, int, str], Iterator[FrameBatch]]] = {
        "beast": _read_beast,
        "avr": _read_avr,
        "hexcsv": _read_hexcsv,
        "jsonl": _read_jsonl,
    }
    reader = readers.get(fmt)
    if reader is None:
        raise FormatError(f"unknown frame format {fmt!r}; expected one of {sorted(readers)}")
    bytes_per_frame = {"beast": 16, "avr": 16, "hexcsv": 40, "jsonl": 64}[fmt]
    block = max(_SNIFF_BYTES, batch_size * bytes_per_frame)
    with _open(path) as raw:
        f = raw if fmt == "beast" else cast(IO[bytes], _CappedLines(raw, max_line_bytes))
        try:
            for batch in reader(f, block, receiver, name):
                if len(batch) or batch.rejects:
                    yield from _split(batch, batch_size)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise FormatError(f"{name}: broken gzip data: {exc}") from exc
        except OSError as exc:
            raise FormatError(f"{name}: cannot read: {exc.strerror or exc}") from exc
        tail = FrameBatch.empty()
        _add_dropped(f, tail.rejects, fmt)  # lines dropped after the last batch
        if tail.rejects:
            yield tail


def read_sbs(
    path: PathLike, batch_lines: int = 65536, *, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[tuple[dict[str, npt.NDArray[np.generic]], Rejects]]:
    """Columns of an SBS/BaseStation file (see :func:`tailwatch.ingest.sbs.parse_sbs`), in
    blocks of about ``batch_lines`` lines, with each block's rejects (lines longer than
    ``max_line_bytes``: ``sbs_line_too_long``)."""
    rest = b""
    with _open(path) as raw:
        f = _CappedLines(raw, max_line_bytes)
        while True:
            try:
                chunk = f.read(max(_SNIFF_BYTES, batch_lines * 100))
            except (EOFError, zlib.error, OSError) as exc:
                raise FormatError(f"{path}: cannot read: {exc}") from exc
            final = not chunk
            buf = rest + chunk
            if not buf and not f.dropped:
                return
            cols, consumed, rejects = parse_sbs(buf, final=final)
            _add_dropped(f, rejects, "sbs")
            rest = buf[consumed:]
            yield cols, rejects
            if final:
                return
