"""Compiled loops behind the store's write path: numpy columns → Arrow string buffers, and the
duplicate-key check of a batch.

Each string kernel returns the three Arrow buffers of a ``string`` array (int32 offsets, UTF-8
bytes, validity as bools) in one or two passes over the column, instead of the half-dozen
temporary matrices the numpy spelling needs: writing positions spends its time here, not in
the engine, unless these are compiled.

``has_duplicate_hashes`` answers "do two rows of the batch share a key" from one 64-bit hash
per row (``key_hashes``) with an open-addressing set. Equal keys always give equal hashes; a
collision of different keys (about n²/2⁶⁵) only sends the write down its slower exact path.
"""

# numba kernels compute on np.int64 scalars so that numba keeps integer types exact;
# mypy sees np.int64 where int is annotated, hence:
# mypy: disable-error-code="arg-type,assignment,return-value,no-any-return"

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
B = npt.NDArray[np.bool_]

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8).copy()


@nb.njit(cache=True, nogil=True)
def seconds_to_us(t: npt.NDArray[np.float64]) -> tuple[I64, B]:
    """Float seconds → integer microseconds (rounded half to even, as ``np.round``); NaN and
    infinities → 0 and ``missing``."""
    n = t.shape[0]
    us = np.empty(n, np.int64)
    missing = np.zeros(n, np.bool_)
    for i in range(n):
        x = t[i]
        if np.isfinite(x):
            us[i] = np.int64(np.rint(x * 1e6))
        else:
            us[i] = 0
            missing[i] = True
    return us, missing


@nb.njit(cache=True, nogil=True)
def hex6(addr: npt.NDArray[np.uint32]) -> U8:
    """The 6 lowercase hex digits of each address's low 24 bits, back to back."""
    n = addr.shape[0]
    out = np.empty(n * 6, np.uint8)
    for i in range(n):
        a = np.int64(addr[i])
        for k in range(6):
            out[i * 6 + k] = _HEX[(a >> np.int64(20 - 4 * k)) & np.int64(15)]
    return out


@nb.njit(cache=True, nogil=True)
def squawk4(codes: npt.NDArray[np.int64], null: np.int64) -> tuple[U8, B]:
    """4 decimal digits per code (``0000`` for a missing one, masked by ``valid``)."""
    n = codes.shape[0]
    out = np.empty(n * 4, np.uint8)
    valid = np.empty(n, np.bool_)
    for i in range(n):
        c = codes[i]
        ok = c != null and c >= 0
        valid[i] = ok
        v = np.uint64(c) if ok else np.uint64(0)  # unsigned: divisions become multiplications
        out[i * 4] = np.uint8(48 + v // np.uint64(1000) % np.uint64(10))
        out[i * 4 + 1] = np.uint8(48 + v // np.uint64(100) % np.uint64(10))
        out[i * 4 + 2] = np.uint8(48 + v // np.uint64(10) % np.uint64(10))
        out[i * 4 + 3] = np.uint8(48 + v % np.uint64(10))
    return out, valid


@nb.njit(cache=True, nogil=True)
def fixed_strings(mat: npt.NDArray[np.uint8]) -> tuple[I32, U8, B]:
    """Rows of an (n, w) byte matrix cut after their last byte that is neither NUL nor space;
    bytes ≥ 0x80 become ``?`` (valid UTF-8); an empty row is null."""
    n, w = mat.shape
    offsets = np.empty(n + 1, np.int32)
    valid = np.empty(n, np.bool_)
    data = np.empty(n * w + w, np.uint8)  # every row copied whole, the cursor moves by length
    pos = np.int64(0)
    offsets[0] = 0
    for i in range(n):
        length = np.int64(0)
        for k in range(w):
            b = mat[i, k]
            data[pos + k] = np.uint8(63) if b >= 0x80 else b
            if b != 0 and b != 0x20:
                length = k + 1
        pos += length
        offsets[i + 1] = np.int32(pos)
        valid[i] = length > 0
    return offsets, data[:pos].copy(), valid


@nb.njit(cache=True, nogil=True)
def fixed_strings8(words: U64) -> tuple[I32, U8, B]:
    """:func:`fixed_strings` for 8-byte rows (callsigns), each read as one little-endian word:
    four times faster than byte by byte."""
    n = words.shape[0]
    offsets = np.empty(n + 1, np.int32)
    valid = np.empty(n, np.bool_)
    data = np.empty(n * 8 + 8, np.uint8)
    pos = np.int64(0)
    offsets[0] = 0
    for i in range(n):
        x = words[i]
        length = np.int64(0)
        for k in range(8):
            b = (x >> np.uint64(8 * k)) & np.uint64(0xFF)
            if b != 0 and b != 0x20:
                length = k + 1
            data[pos + k] = np.uint8(63) if b >= 0x80 else np.uint8(b)
        pos += length
        offsets[i + 1] = np.int32(pos)
        valid[i] = length > 0
    return offsets, data[:pos].copy(), valid


# --- duplicate keys ---------------------------------------------------------------------------

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_PRIME = np.uint64(0x100000001B3)
_BASIS = np.uint64(0xCBF29CE484222325)


@nb.njit(cache=True, inline="always")
def _mix(h: np.uint64) -> np.uint64:
    h ^= h >> np.uint64(33)
    h *= _M1
    h ^= h >> np.uint64(33)
    h *= _M2
    h ^= h >> np.uint64(33)
    return h


@nb.njit(cache=True, nogil=True)
def fold_values(h: U64, values: U64) -> None:
    """Fold one fixed-width key column (its bits as uint64) into the row hashes."""
    for i in range(h.shape[0]):
        h[i] = _mix(h[i] ^ _mix(values[i] + _PRIME))


@nb.njit(cache=True, nogil=True)
def fold_strings(h: U64, offsets: I64, data: U8) -> None:
    """Fold one string key column (Arrow offsets and bytes) into the row hashes."""
    for i in range(h.shape[0]):
        s = _BASIS
        for j in range(offsets[i], offsets[i + 1]):
            s = (s ^ np.uint64(data[j])) * _PRIME
        h[i] = _mix(h[i] ^ _mix(s + np.uint64(offsets[i + 1] - offsets[i])))


@nb.njit(cache=True, nogil=True)
def has_duplicate_hashes(h: U64) -> bool:
    """Whether two rows share a hash (an open-addressing set of 2-4 × n slots)."""
    n = h.shape[0]
    size = np.int64(1)
    while size < 2 * n:
        size *= 2
    mask = np.uint64(size - 1)
    slots = np.zeros(size, np.uint64)
    used = np.zeros(size, np.bool_)
    for i in range(n):
        v = h[i]
        k = v & mask
        while used[k]:
            if slots[k] == v:
                return True
            k = (k + np.uint64(1)) & mask
        used[k] = True
        slots[k] = v
    return False
