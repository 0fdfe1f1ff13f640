"""AVR / "raw" text framing (ports 30001/30002): an incremental, pure parser.

One message per line, ending ``;`` (readsb decodeHexMessage, Jetvision's documentation):

* ``*<hex>;`` and ``:<hex>;`` — a frame of 4, 14 or 28 hex digits (Mode A/C, short, long);
* ``@<12 hex counter><hex>;`` and ``%<12 hex counter><hex>;`` — with a 48-bit 12 MHz counter
  (``%`` says the CRC was checked);
* ``<<12 hex counter><2 hex signal><hex>;`` — with the counter and the Beast signal byte
  (``signal_dbfs = 20·log10(sig/255)``, NaN for 0).

Lines end with LF, CR or CRLF; spaces and tabs around a message are ignored, and so is an Aerobits
``(SIGS,SIGQ,TS)`` suffix after the ``;``. Blank lines are skipped silently. readsb's
heartbeat ``*0000;`` is dropped under ``avr_heartbeat``; every other line that is not one of
the forms above is dropped under ``avr_bad_line`` (unit: lines). ``frames + rejects = lines``.

The bytes after the last line end are an incomplete line: they are left unconsumed unless
``final=True`` (end of file), when they are parsed as a last line.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.core.frames import FRAME_WIDTH, FrameBatch
from tailwatch.core.rejects import Rejects
from tailwatch.ingest.beast import _DBFS_TABLE, _as_array

__all__ = ["encode_avr", "parse_avr"]


def _hex_table() -> npt.NDArray[np.uint8]:
    t = np.full(256, 255, dtype=np.uint8)
    for i, c in enumerate(b"0123456789abcdef"):
        t[c] = i
    for i, c in enumerate(b"ABCDEF"):
        t[c] = 10 + i
    return t


HEX_VALUE: npt.NDArray[np.uint8] = _hex_table()
_HEX_UPPER = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8).copy()

_OK, _BAD, _HEARTBEAT = 0, 1, 2


@nb.njit(cache=True, error_model="numpy")
def _is_space(c: int) -> bool:
    return c == 0x20 or c == 0x09 or c == 0x0D or c == 0x0B or c == 0x0C


@nb.njit(cache=True, error_model="numpy")
def _parse_line(
    buf: npt.NDArray[np.uint8],
    s: int,
    e: int,
    hexv: npt.NDArray[np.uint8],
    raw_row: npt.NDArray[np.uint8],
) -> tuple[int, int, np.uint64, int]:
    """Parse one trimmed, non-empty line ``buf[s:e]``.

    Returns (status, nbytes, counter, signal byte) with status _OK, _BAD or _HEARTBEAT."""
    # drop an Aerobits "(...)" suffix that follows the ';'
    if buf[e - 1] == 0x29:  # ')'
        k = e - 1
        while k > s and buf[k] != 0x28:  # '('
            k -= 1
        if k == s:
            return _BAD, 0, np.uint64(0), 0
        e = k
        while e > s and _is_space(buf[e - 1]):
            e -= 1
    if e - s < 2 or buf[e - 1] != 0x3B:  # ';'
        return _BAD, 0, np.uint64(0), 0
    lead = buf[s]
    q = s + 1
    end = e - 1
    stamp = np.uint64(0)
    sig = 0
    if lead == 0x40 or lead == 0x25 or lead == 0x3C:  # '@' '%' '<'
        if end - q < 12:
            return _BAD, 0, np.uint64(0), 0
        for i in range(12):
            v = hexv[buf[q + i]]
            if v == 255:
                return _BAD, 0, np.uint64(0), 0
            stamp = (stamp << np.uint64(4)) | np.uint64(v)
        q += 12
        if lead == 0x3C:
            if end - q < 2:
                return _BAD, 0, np.uint64(0), 0
            hi = hexv[buf[q]]
            lo = hexv[buf[q + 1]]
            if hi == 255 or lo == 255:
                return _BAD, 0, np.uint64(0), 0
            sig = int(hi) * 16 + int(lo)
            q += 2
    elif lead != 0x2A and lead != 0x3A:  # '*' ':'
        return _BAD, 0, np.uint64(0), 0
    ndig = end - q
    if ndig != 4 and ndig != 14 and ndig != 28:
        return _BAD, 0, np.uint64(0), 0
    nb_ = ndig // 2
    zero = True
    for i in range(nb_):
        hi = hexv[buf[q + 2 * i]]
        lo = hexv[buf[q + 2 * i + 1]]
        if hi == 255 or lo == 255:
            return _BAD, 0, np.uint64(0), 0
        b = np.uint8(hi * 16 + lo)
        raw_row[i] = b
        if b != 0:
            zero = False
    for i in range(nb_, 14):
        raw_row[i] = 0
    if nb_ == 2 and zero and stamp == 0 and sig == 0:
        return _HEARTBEAT, 0, np.uint64(0), 0
    return _OK, nb_, stamp, sig


@nb.njit(cache=True, error_model="numpy")
def _scan_avr(
    buf: npt.NDArray[np.uint8],
    final: bool,
    hexv: npt.NDArray[np.uint8],
    raw: npt.NDArray[np.uint8],
    nbytes: npt.NDArray[np.uint8],
    ts: npt.NDArray[np.uint64],
    sig: npt.NDArray[np.uint8],
    counts: npt.NDArray[np.int64],
) -> tuple[int, int]:
    """Returns (frames, consumed); counts[0] bad lines, counts[1] heartbeats."""
    n = buf.shape[0]
    p = 0
    nf = 0
    while p < n:
        e = p
        while e < n and buf[e] != 0x0A and buf[e] != 0x0D:
            e += 1
        if e >= n and not final:
            break
        nxt = e + 1
        s = p
        while s < e and _is_space(buf[s]):
            s += 1
        while e > s and _is_space(buf[e - 1]):
            e -= 1
        p = nxt
        if s == e:
            continue
        status, k, stamp, sv = _parse_line(buf, s, e, hexv, raw[nf])
        if status == _OK:
            nbytes[nf] = k
            ts[nf] = stamp
            sig[nf] = sv
            nf += 1
        elif status == _HEARTBEAT:
            counts[1] += 1
        else:
            counts[0] += 1
    return nf, min(p, n)


def parse_avr(
    buf: bytes | bytearray | memoryview | npt.NDArray[np.uint8],
    *,
    receiver: int = 0,
    final: bool = False,
) -> tuple[FrameBatch, int]:
    """Parse the complete AVR lines of ``buf``; returns ``(frames, consumed)``.

    The caller keeps ``buf[consumed:]`` (a partial last line) for the next call. With
    ``final=True`` that partial line is parsed too. ``t_rx`` is NaN: the caller stamps time.
    """
    arr = _as_array(buf)
    n = arr.shape[0]
    cap = n // 6 + 1  # shortest frame line: "*0000;"
    raw = np.empty((cap, FRAME_WIDTH), dtype=np.uint8)
    nbytes = np.empty(cap, dtype=np.uint8)
    ts = np.empty(cap, dtype=np.uint64)
    sig = np.empty(cap, dtype=np.uint8)
    counts = np.zeros(2, dtype=np.int64)
    nf, consumed = _scan_avr(arr, final, HEX_VALUE, raw, nbytes, ts, sig, counts)
    batch = FrameBatch.from_matrix(
        raw[:nf].copy(),
        nbytes[:nf].copy(),
        ts_12mhz=ts[:nf].copy(),
        signal_dbfs=_DBFS_TABLE[sig[:nf]],
        receiver=np.full(nf, receiver, dtype=np.uint16),
        rejects=Rejects.of([("avr_bad_line", int(counts[0])), ("avr_heartbeat", int(counts[1]))]),
    )
    return batch, int(consumed)


@nb.njit(cache=True, error_model="numpy")
def _encode_avr_kernel(
    raw: npt.NDArray[np.uint8],
    nbytes: npt.NDArray[np.uint8],
    ts: npt.NDArray[np.uint64],
    timestamps: bool,
    digits: npt.NDArray[np.uint8],
    out: npt.NDArray[np.uint8],
) -> int:
    o = 0
    for r in range(raw.shape[0]):
        if timestamps:
            out[o] = 0x40  # '@'
            o += 1
            stamp = ts[r]
            for i in range(12):
                out[o + i] = digits[int((stamp >> np.uint64(4 * (11 - i))) & np.uint64(0xF))]
            o += 12
        else:
            out[o] = 0x2A  # '*'
            o += 1
        for i in range(int(nbytes[r])):
            b = raw[r, i]
            out[o] = digits[b >> 4]
            out[o + 1] = digits[b & 0xF]
            o += 2
        out[o] = 0x3B  # ';'
        out[o + 1] = 0x0A
        o += 2
    return o


def encode_avr(frames: FrameBatch, *, timestamps: bool) -> bytes:
    """Frames → AVR lines (upper-case hex, LF): ``*<hex>;`` or, with ``timestamps``,
    ``@<12 hex 12 MHz counter><hex>;`` (the counter modulo 2**48)."""
    ts = frames.ts_12mhz.astype(np.uint64) & np.uint64(0xFFFF_FFFF_FFFF)
    out = np.empty(len(frames) * (1 + 12 + 28 + 2), dtype=np.uint8)
    o = _encode_avr_kernel(
        np.ascontiguousarray(frames.raw), frames.nbytes, ts, timestamps, _HEX_UPPER, out
    )
    return out[:o].tobytes()
