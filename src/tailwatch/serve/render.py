"""JSON rows built from columns in one compiled pass: no per-aircraft Python object.

A :class:`RowWriter` collects columns (numbers with a fixed number of decimals, pre-encoded
JSON fragments, enumerations) and renders one JSON object (or array) per row into one byte
buffer, rows separated by commas. :class:`Rows` then joins all rows, or any subset in any
order, with a single copy, optionally appending per-request fields (``dst``/``dir``) to each
object. This is how ``aircraft.json`` for 20,000 aircraft is built in a few milliseconds.

Numbers are written as readsb writes them, with a fixed number of decimals (``"gs":427.9``,
``"lat":48.020828``); absent values (NaN, a negative code, an empty fragment) are omitted from
objects and written ``null`` in arrays.
"""

# numba kernels compute on np.int64 scalars; mypy sees np.int64 where int is annotated:
# mypy: disable-error-code="arg-type,assignment,return-value,no-any-return"

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba as nb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Fragments", "RowWriter", "Rows", "json_strings"]

_NUM, _FRAG, _ENUM = 0, 1, 2
_MAX_ABS = 9.0e15  # larger magnitudes are treated as absent (no int64 overflow)
_NUM_WIDTH = 28  # upper bound of the characters of one number (sign, 16 digits, '.', dec)
_POW10 = np.array([10**i for i in range(10)], dtype=np.int64)
_NULL = np.frombuffer(b"null", dtype=np.uint8)

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]


@nb.njit(cache=True, nogil=True)
def _write_number(out: U8, p: int, v: float, dec: int, pow10: I64) -> int:
    scale = pow10[dec]
    m = np.int64(np.floor(abs(v) * scale + 0.5))
    if m != 0 and v < 0:
        out[p] = 45  # '-'
        p += 1
    ip = m // scale
    fp = m % scale
    # integer part, written backwards then reversed in place
    start = p
    if ip == 0:
        out[p] = 48
        p += 1
    while ip > 0:
        out[p] = 48 + ip % 10
        ip //= 10
        p += 1
    i, j = start, p - 1
    while i < j:
        out[i], out[j] = out[j], out[i]
        i += 1
        j -= 1
    if dec > 0:
        out[p] = 46  # '.'
        p += 1
        d = dec - 1
        while d >= 0:
            out[p + d] = 48 + fp % 10
            fp //= 10
            d -= 1
        p += dec
    return p


@nb.njit(cache=True, nogil=True)
def _render(
    kind: npt.NDArray[np.int8], idx: I64, dec: I64, key_off: I64, keys: U8,
    FL: npt.NDArray[np.float64], IC: I64, S_start: I64, S_end: I64, S_data: U8,
    E_base: I64, E_size: I64, E_off: I64, E_data: U8,
    omit: bool, open_c: int, close_c: int, null: U8, pow10: I64,
    out: U8, starts: I64, ends: I64,
) -> int:
    n = starts.shape[0]
    nf = kind.shape[0]
    p = 0
    for r in range(n):
        starts[r] = p
        out[p] = open_c
        p += 1
        first = True
        for f in range(nf):
            k = kind[f]
            j = idx[f]
            present = False
            a = 0
            b = 0
            v = 0.0
            if k == 0:
                v = FL[j, r]
                present = (not np.isnan(v)) and abs(v) < 9.0e15
            elif k == 1:
                a = S_start[j, r]
                b = S_end[j, r]
                present = b > a
            else:
                code = IC[j, r]
                if code >= 0 and code < E_size[f]:
                    t = E_base[f] + code
                    a = E_off[t]
                    b = E_off[t + 1]
                    present = b > a
            if not present and omit:
                continue
            if not first:
                out[p] = 44  # ','
                p += 1
            first = False
            for q in range(key_off[f], key_off[f + 1]):
                out[p] = keys[q]
                p += 1
            if not present:
                for q in range(null.shape[0]):
                    out[p] = null[q]
                    p += 1
            elif k == 0:
                p = _write_number(out, p, v, dec[f], pow10)
            elif k == 1:
                for q in range(a, b):
                    out[p] = S_data[q]
                    p += 1
            else:
                for q in range(a, b):
                    out[p] = E_data[q]
                    p += 1
        out[p] = close_c
        p += 1
        ends[r] = p
        out[p] = 44  # ',' between rows (not part of the row)
        p += 1
    return p


@nb.njit(cache=True, nogil=True)
def _gather(
    data: U8, starts: I64, ends: I64, rows: I64,
    xdata: U8, xstarts: I64, xends: I64, use_x: bool, out: U8,
) -> int:
    p = 0
    for i in range(rows.shape[0]):
        r = rows[i]
        if i > 0:
            out[p] = 44
            p += 1
        a = starts[r]
        b = ends[r]
        if use_x and xends[i] - xstarts[i] > 2:
            # the row without its closing brace, then the extra object's inside, then '}'
            for q in range(a, b - 1):
                out[p] = data[q]
                p += 1
            if b - a > 2:
                out[p] = 44
                p += 1
            for q in range(xstarts[i] + 1, xends[i] - 1):
                out[p] = xdata[q]
                p += 1
            out[p] = data[b - 1]
            p += 1
        else:
            for q in range(a, b):
                out[p] = data[q]
                p += 1
    return p


@dataclass(frozen=True, slots=True)
class Fragments:
    """One pre-encoded JSON value per row: ``data[starts[i]:ends[i]]`` (empty = absent)."""

    data: U8
    starts: I64
    ends: I64

    def __len__(self) -> int:
        return int(self.starts.shape[0])

    @classmethod
    def from_arrow(cls, arr: pa.Array | pa.ChunkedArray) -> Fragments:
        """From a string array holding JSON values (null = absent)."""
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        arr = pc.fill_null(arr.cast(pa.large_string()), "")
        bufs = arr.buffers()
        n = len(arr)
        offsets = np.frombuffer(bufs[1], dtype=np.int64, count=n + 1, offset=arr.offset * 8)
        data = (np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None and n
                else np.zeros(0, np.uint8))
        return cls(data, offsets[:-1].astype(np.int64), offsets[1:].astype(np.int64))

    @classmethod
    def from_matrix(cls, matrix: U8, starts: npt.ArrayLike, ends: npt.ArrayLike) -> Fragments:
        """From a fixed-width byte matrix: row ``i`` is ``matrix[i, starts[i]:ends[i]]``."""
        m = np.ascontiguousarray(matrix, dtype=np.uint8)
        width = m.shape[1] if m.ndim == 2 else 0
        base = np.arange(m.shape[0], dtype=np.int64) * width
        return cls(m.reshape(-1), base + np.asarray(starts, np.int64),
                   base + np.asarray(ends, np.int64))


@dataclass(frozen=True, slots=True)
class Rows:
    """Rendered rows in one buffer; row ``i`` is ``data[starts[i]:ends[i]]``."""

    data: U8
    starts: I64
    ends: I64

    def __len__(self) -> int:
        return int(self.starts.shape[0])

    def row(self, i: int) -> bytes:
        return self.data[self.starts[i]:self.ends[i]].tobytes()

    def fragments(self) -> Fragments:
        return Fragments(self.data, self.starts, self.ends)

    def join(self, rows: npt.ArrayLike | None = None, extra: Rows | None = None) -> bytes:
        """The rows (all, or ``rows`` in that order) joined by commas, without brackets.

        ``extra`` holds one object per selected row whose members are appended to it.
        """
        n = len(self)
        if rows is None and extra is None:
            if n == 0:
                return b""
            return self.data[self.starts[0]:self.ends[n - 1]].tobytes()
        sel = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
        if sel.size == 0:
            return b""
        if sel.min() < 0 or sel.max() >= n:
            raise IndexError("row index out of range")
        size = int((self.ends[sel] - self.starts[sel]).sum()) + sel.size
        if extra is not None:
            if len(extra) != sel.size:
                raise ValueError("extra needs one object per selected row")
            size += int((extra.ends - extra.starts).sum()) + sel.size
            xd, xs, xe, use_x = extra.data, extra.starts, extra.ends, True
        else:
            xd, xs, xe, use_x = (np.zeros(0, np.uint8), np.zeros(0, np.int64),
                                 np.zeros(0, np.int64), False)
        out = np.empty(size, dtype=np.uint8)
        p = _gather(self.data, self.starts, self.ends, sel, xd, xs, xe, use_x, out)
        return out[:p].tobytes()


class RowWriter:
    """Collects the columns of ``n`` rows, then :meth:`render` writes them as JSON.

    ``array=False`` writes objects (absent members omitted), ``array=True`` writes arrays
    (absent values ``null``; keys are not written).
    """

    def __init__(self, n: int, *, array: bool = False) -> None:
        self.n = int(n)
        self.array = array
        self._fields: list[tuple[int, int, int, bytes]] = []  # kind, index, decimals, key
        self._floats: list[npt.NDArray[np.float64]] = []
        self._frags: list[Fragments] = []
        self._codes: list[I64] = []
        self._tables: list[list[bytes]] = []

    def _key(self, key: str) -> bytes:
        return b"" if self.array else b'"' + key.encode() + b'":'

    def _check(self, arr: np.ndarray, key: str) -> None:
        if arr.shape != (self.n,):
            raise ValueError(f"{key}: {arr.shape[0]} values for {self.n} rows")

    def num(self, key: str, values: npt.ArrayLike, decimals: int = 0) -> RowWriter:
        """A number column (NaN = absent) written with ``decimals`` decimals (0-9)."""
        if not 0 <= decimals < len(_POW10):
            raise ValueError(f"decimals must be 0-9, not {decimals}")
        arr = np.asarray(values, dtype=np.float64).ravel()
        self._check(arr, key)
        self._fields.append((_NUM, len(self._floats), decimals, self._key(key)))
        self._floats.append(arr)
        return self

    def frag(self, key: str, fragments: Fragments) -> RowWriter:
        """Pre-encoded JSON values (an empty fragment = absent)."""
        if len(fragments) != self.n:
            raise ValueError(f"{key}: {len(fragments)} values for {self.n} rows")
        self._fields.append((_FRAG, len(self._frags), 0, self._key(key)))
        self._frags.append(fragments)
        return self

    def enum(self, key: str, codes: npt.ArrayLike, labels: Sequence[bytes]) -> RowWriter:
        """Codes into a table of pre-encoded JSON values (code < 0, or b"", = absent)."""
        arr = np.asarray(codes).astype(np.int64, copy=False).ravel()
        self._check(arr, key)
        self._fields.append((_ENUM, len(self._codes), 0, self._key(key)))
        self._codes.append(arr)
        self._tables.append(list(labels))
        return self

    def render(self) -> Rows:
        n = self.n
        nf = len(self._fields)
        kind = np.array([f[0] for f in self._fields], dtype=np.int8)
        idx = np.array([f[1] for f in self._fields], dtype=np.int64)
        dec = np.array([f[2] for f in self._fields], dtype=np.int64)
        keylist = [f[3] for f in self._fields]
        key_off = np.zeros(nf + 1, dtype=np.int64)
        key_off[1:] = np.cumsum([len(k) for k in keylist])
        keys = np.frombuffer(b"".join(keylist), dtype=np.uint8) if nf else np.zeros(0, np.uint8)
        FL = np.stack(self._floats) if self._floats else np.zeros((0, n))
        IC = np.stack(self._codes) if self._codes else np.zeros((0, n), np.int64)
        # fragments: one data buffer, starts/ends shifted into it
        if self._frags:
            sizes = [f.data.shape[0] for f in self._frags]
            base = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
            S_data = np.concatenate([f.data for f in self._frags])
            S_start = np.stack([f.starts + b for f, b in zip(self._frags, base, strict=True)])
            S_end = np.stack([f.ends + b for f, b in zip(self._frags, base, strict=True)])
            frag_bytes = int(sum(int((f.ends - f.starts).sum()) for f in self._frags))
        else:
            S_data = np.zeros(0, np.uint8)
            S_start = S_end = np.zeros((0, n), np.int64)
            frag_bytes = 0
        # enumeration tables, one after the other
        E_base = np.zeros(nf, dtype=np.int64)
        E_size = np.zeros(nf, dtype=np.int64)
        labels: list[bytes] = []
        enum_max = 0
        for f, (k, j, _, _) in enumerate(self._fields):
            if k == _ENUM:
                E_base[f] = len(labels)
                E_size[f] = len(self._tables[j])
                labels.extend(self._tables[j])
                enum_max += max((len(x) for x in self._tables[j]), default=0)
        E_off = np.zeros(len(labels) + 1, dtype=np.int64)
        E_off[1:] = np.cumsum([len(x) for x in labels])
        E_data = np.frombuffer(b"".join(labels), np.uint8) if labels else np.zeros(0, np.uint8)

        per_row = 3 + nf * (1 + _NUM_WIDTH) + int(key_off[-1]) + enum_max
        out = np.empty(n * per_row + frag_bytes + 1, dtype=np.uint8)
        starts = np.empty(n, dtype=np.int64)
        ends = np.empty(n, dtype=np.int64)
        open_c, close_c = (ord("["), ord("]")) if self.array else (ord("{"), ord("}"))
        p = _render(kind, idx, dec, key_off, keys, FL, IC, S_start, S_end, S_data,
                    E_base, E_size, E_off, E_data, not self.array, open_c, close_c, _NULL,
                    _POW10, out, starts, ends)
        return Rows(out[:p], starts, ends)


# --- helpers for building fragments ---------------------------------------------------------

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def hex_fragments(icao24: npt.ArrayLike, non_icao_bit: int = 1 << 24) -> Fragments:
    """``"393322"`` (or ``"~abcdef"`` for non-ICAO addresses) per row."""
    a = np.asarray(icao24).astype(np.int64).ravel()
    n = a.shape[0]
    m = np.empty((n, 9), dtype=np.uint8)
    m[:, 0] = ord('"')
    m[:, 1] = ord("~")
    for k in range(6):
        m[:, 2 + k] = _HEX[(a >> (20 - 4 * k)) & 0xF]
    m[:, 8] = ord('"')
    other = (a & non_icao_bit) != 0
    # ICAO rows skip the '~': shift the opening quote one place right
    m[~other, 1] = ord('"')
    starts = np.where(other, 0, 1)
    return Fragments.from_matrix(m, starts, np.full(n, 9))


def hex_strings(icao24: npt.ArrayLike, non_icao_bit: int = 1 << 24) -> npt.NDArray[np.str_]:
    """The public form of each address: 6 lowercase hex digits, '~' first for non-ICAO."""
    f = hex_fragments(icao24, non_icao_bit)
    m = f.data.reshape(-1, 9)[:, 1:8]
    s = np.ascontiguousarray(m).view("S7").ravel().astype("U7")
    return np.char.lstrip(s, '"')


def callsign_fragments(callsign: npt.ArrayLike, pad: bool = True) -> Fragments:
    """``"AFR34ZG "`` per row (8 characters, space-padded when ``pad``); empty = absent.

    Characters outside the printable ASCII range, quotes and backslashes become '?'.
    """
    cs = np.ascontiguousarray(np.asarray(callsign, dtype="S8"))
    n = cs.shape[0]
    b = cs.view(np.uint8).reshape(n, 8)
    b = np.where(b == 0, 32, b)
    bad = (b < 32) | (b > 126) | (b == 34) | (b == 92)
    b = np.where(bad, ord("?"), b).astype(np.uint8)
    m = np.empty((n, 10), dtype=np.uint8)
    m[:, 0] = ord('"')
    m[:, 1:9] = b
    m[:, 9] = ord('"')
    present = (b != 32).any(axis=1)
    if pad:
        ends = np.where(present, 10, 0)
    else:
        nonspace = b != 32
        last = 8 - np.argmax(nonspace[:, ::-1], axis=1)  # characters up to the last non-space
        m[np.arange(n), np.minimum(last + 1, 9)] = ord('"')
        ends = np.where(present, last + 2, 0)
    starts = np.zeros(n, dtype=np.int64)
    return Fragments.from_matrix(m, starts, ends)


def json_strings(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each string as a JSON string literal (quotes, escapes); null stays null."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    s = arr.cast(pa.string())
    s = pc.replace_substring(s, "\\", "\\\\")
    s = pc.replace_substring(s, '"', '\\"')
    s = pc.replace_substring_regex(s, "[\\x00-\\x1f]", " ")
    return pc.binary_join_element_wise('"', s, '"', "")


def labels(values: Sequence[str | None]) -> list[bytes]:
    """JSON string literals for an enumeration table (None → absent)."""
    return [b"" if v is None else b'"' + v.encode() + b'"' for v in values]
