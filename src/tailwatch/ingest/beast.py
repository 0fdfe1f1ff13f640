"""Beast binary framing (Mode-S Beast, dump1090, readsb): an incremental, pure parser.

Wire format (Jetvision's Beast documentation; readsb and dump1090-fa ``net_io.c``): every
record starts with ``0x1a`` and a type byte; every ``0x1a`` inside a record body is doubled.
Records understood here:

=========  ===========================================  =====================================
type       body (after unescaping)                      what the parser does
=========  ===========================================  =====================================
``'1'``    6-byte 12 MHz counter, signal, 2 bytes        Mode A/C frame, ``nbytes = 2``
``'2'``    6-byte counter, signal, 7 bytes               Mode S short frame
``'3'``    6-byte counter, signal, 14 bytes              Mode S long frame
``'4'``    21 bytes (Beast status)                       counted (``status``), no frame
``'5'``    21 bytes (Radarcape position)                 counted (``radarcape_position``)
``0xe3``   8-byte receiver id, big-endian                sets the current receiver id
``0xe4``   receiver UUID as ASCII hex (up to 32 digits)  first 64 bits become the receiver id
``0xe8``   8 raw (unescaped) bytes, little-endian        readsb replay clock in ms: stamps
           int64 milliseconds since the epoch            ``t_rx`` of the frames that follow
``'P'``    3 bytes (ping)                                counted (``ping``)
``'W'``    1 command byte                                counted (``command``)
=========  ===========================================  =====================================

The readsb heartbeat (a ``'1'`` record whose counter, signal and code are all zero) is not a
frame: it is dropped under the ``beast_heartbeat`` reject.

Resynchronisation: bytes outside a record are skipped up to the next ``0x1a``; a ``0x1a``
followed by an unknown type byte (or by a second ``0x1a``: we are inside an escaped body) is
skipped as two garbage bytes; a record interrupted by an unescaped ``0x1a`` followed by
anything but ``0x1a`` is dropped and parsing restarts at that ``0x1a``.

Counters
--------
Per call, in ``FrameBatch.rejects`` (inputs that did not become frames):

(Bytes skipped outside any record are not frames: they are counted in
``BeastState.counters["garbage_bytes"]`` only.)

* ``beast_truncated_frames`` — records cut short by an unescaped ``0x1a`` (unit: records;
  their bytes are not counted again as garbage);
* ``beast_heartbeat`` — readsb heartbeats (unit: records).

Cumulative, in :attr:`BeastState.counters` (see :data:`COUNTER_NAMES`): the number of records
of each type (``modeac``, ``mode_s_short``, ``mode_s_long``, ``status``,
``radarcape_position``, ``receiver_id``, ``uuid``, ``synthetic_now``, ``ping``, ``command``,
``heartbeat``, ``truncated_frames``) and the byte counters ``garbage_bytes`` and
``consumed_bytes``.

Receivers
---------
``FrameBatch.receiver`` is a uint16. Frames that arrive before any receiver id (or after an
id of 0) get the ``receiver`` argument. A 64-bit id from ``0xe3``/``0xe4`` is mapped to a
uint16 through :attr:`BeastState.receiver_table` (64-bit id → uint16), which the caller may
preload; an id not in the table gets ``fold16(id)`` — the XOR of its four 16-bit words —
moved to the next free value when 0, the ``receiver`` argument or a value already used by
another id would be taken. :attr:`BeastState.receiver_ids` is the reverse table (uint16 →
64-bit id) and :attr:`BeastState.receiver_id` the id in force at the end of the buffer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.core.errors import FormatError
from tailwatch.core.frames import FRAME_WIDTH, FrameBatch
from tailwatch.core.rejects import Rejects

__all__ = [
    "BYTE_COUNTERS",
    "COUNTER_NAMES",
    "BeastState",
    "encode_beast",
    "fold16",
    "parse_beast",
]

ESC = 0x1A

# Indexes of the kernel's counter array, and their public names (BeastState.counters).
(
    _C_MODEAC,
    _C_SHORT,
    _C_LONG,
    _C_STATUS,
    _C_RADARCAPE,
    _C_RECEIVER_ID,
    _C_UUID,
    _C_SYNTH_NOW,
    _C_PING,
    _C_COMMAND,
    _C_HEARTBEAT,
    _C_TRUNCATED,
    _C_GARBAGE_BYTES,
) = range(13)
COUNTER_NAMES: tuple[str, ...] = (
    "modeac",
    "mode_s_short",
    "mode_s_long",
    "status",
    "radarcape_position",
    "receiver_id",
    "uuid",
    "synthetic_now",
    "ping",
    "command",
    "heartbeat",
    "truncated_frames",
    "garbage_bytes",
)
#: Reject reasons of this module counted in bytes, not frames.
BYTE_COUNTERS: frozenset[str] = frozenset({"beast_garbage_bytes"})

# Smallest record that can yield a frame: 0x1a '1' + 6 + 1 + 2 bytes.
_MIN_FRAME_RECORD = 11
# Smallest record that can change the receiver id: 0x1a 0xe3 + 8 bytes.
_MIN_ID_RECORD = 10

# Signal byte → dBFS (20·log10(sig/255)); 0 means "no signal level" → NaN.
with np.errstate(divide="ignore"):
    _DBFS_TABLE: npt.NDArray[np.float32] = (
        20.0 * np.log10(np.arange(256, dtype=np.float64) / 255.0)
    ).astype(np.float32)
_DBFS_TABLE[0] = np.nan


def fold16(receiver_id: int) -> int:
    """XOR of the four 16-bit words of a 64-bit receiver id (the default uint16 mapping)."""
    v = receiver_id & 0xFFFF_FFFF_FFFF_FFFF
    return (v ^ (v >> 16) ^ (v >> 32) ^ (v >> 48)) & 0xFFFF


@dataclass(slots=True)
class BeastState:
    """What a Beast stream carries from one buffer to the next.

    ``receiver_id`` is the 64-bit id in force (0: none), ``now_ms`` the last readsb replay
    clock (``0x1a 0xe8``; -1: none). ``receiver_table`` maps 64-bit ids to the uint16
    receiver column, ``receiver_ids`` is its reverse. ``counters`` are cumulative (names in
    :data:`COUNTER_NAMES`, plus ``consumed_bytes``).
    """

    receiver_id: int = 0
    now_ms: int = -1
    receiver_table: dict[int, int] = field(default_factory=dict)
    receiver_ids: dict[int, int] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    def copy(self) -> BeastState:
        return BeastState(
            receiver_id=self.receiver_id,
            now_ms=self.now_ms,
            receiver_table=dict(self.receiver_table),
            receiver_ids=dict(self.receiver_ids),
            counters=dict(self.counters),
        )

    def receiver_for(self, receiver_id: int, default: int) -> int:
        """uint16 receiver of a 64-bit id (``default`` for id 0); assigns one if new."""
        if receiver_id == 0:
            return default
        got = self.receiver_table.get(receiver_id)
        if got is not None:
            return got
        if len(self.receiver_ids) < len(self.receiver_table):  # preloaded: fill the reverse
            for known, rid in self.receiver_table.items():
                self.receiver_ids.setdefault(rid, known)
        h = fold16(receiver_id)
        for _ in range(0x10000):
            if h not in (0, default) and h not in self.receiver_ids:
                break
            h = (h + 1) & 0xFFFF
        else:  # 65535 receivers on one stream: share the folded value
            h = fold16(receiver_id) or 1
        self.receiver_table[receiver_id] = h
        self.receiver_ids.setdefault(h, receiver_id)
        return h


@nb.njit(cache=True, error_model="numpy")
def _unescape(
    buf: npt.NDArray[np.uint8], q: int, count: int, out: npt.NDArray[np.uint8]
) -> tuple[int, int]:
    """Read ``count`` unescaped bytes from ``buf[q:]`` into ``out``.

    Returns (status, end): status 0 ok (end = index after the body), 1 need more bytes,
    2 broken by an unescaped 0x1a (end = index of that 0x1a)."""
    n = buf.shape[0]
    k = 0
    while k < count:
        if q >= n:
            return 1, q
        b = buf[q]
        if b == ESC:
            if q + 1 >= n:
                return 1, q
            if buf[q + 1] != ESC:
                return 2, q
            q += 2
        else:
            q += 1
        out[k] = b
        k += 1
    return 0, q


@nb.njit(cache=True, error_model="numpy")
def _scan_beast(
    buf: npt.NDArray[np.uint8],
    raw: npt.NDArray[np.uint8],
    nbytes: npt.NDArray[np.uint8],
    ts: npt.NDArray[np.uint64],
    sig: npt.NDArray[np.uint8],
    t_rx: npt.NDArray[np.float64],
    seg: npt.NDArray[np.int32],
    chg_id: npt.NDArray[np.uint64],
    counters: npt.NDArray[np.int64],
    rid0: np.uint64,
    now0: np.int64,
) -> tuple[int, int, int, np.uint64, np.int64]:
    """One pass over ``buf``. Returns (frames, id changes, consumed, receiver id, now ms)."""
    n = buf.shape[0]
    body = np.empty(32, dtype=np.uint8)
    p = 0
    nf = 0
    nc = 0
    rid = rid0
    now = now0
    t_now = np.nan if now < 0 else now / 1000.0
    while p < n:
        if buf[p] != ESC:
            q = p + 1
            while q < n and buf[q] != ESC:
                q += 1
            counters[_C_GARBAGE_BYTES] += q - p
            p = q
            continue
        if p + 1 >= n:
            break
        t = buf[p + 1]
        if t == 0x32 or t == 0x33 or t == 0x31:  # '2' '3' '1'
            if t == 0x32:
                mlen = 7
            elif t == 0x33:
                mlen = 14
            else:
                mlen = 2
            status, q = _unescape(buf, p + 2, 7 + mlen, body)
            if status == 1:
                break
            if status == 2:
                counters[_C_TRUNCATED] += 1
                p = q
                continue
            p = q
            stamp = np.uint64(0)
            for i in range(6):
                stamp = (stamp << np.uint64(8)) | np.uint64(body[i])
            if mlen == 2 and stamp == 0 and body[6] == 0 and body[7] == 0 and body[8] == 0:
                counters[_C_HEARTBEAT] += 1
                continue
            for i in range(mlen):
                raw[nf, i] = body[7 + i]
            for i in range(mlen, 14):
                raw[nf, i] = 0
            nbytes[nf] = mlen
            ts[nf] = stamp
            sig[nf] = body[6]
            t_rx[nf] = t_now
            seg[nf] = nc
            nf += 1
            if mlen == 7:
                counters[_C_SHORT] += 1
            elif mlen == 14:
                counters[_C_LONG] += 1
            else:
                counters[_C_MODEAC] += 1
        elif t == 0x34 or t == 0x35 or t == 0x50 or t == 0xE3:  # '4' '5' 'P' 0xe3
            if t == 0x50:
                blen = 3
            elif t == 0xE3:
                blen = 8
            else:
                blen = 21
            status, q = _unescape(buf, p + 2, blen, body)
            if status == 1:
                break
            if status == 2:
                counters[_C_TRUNCATED] += 1
                p = q
                continue
            p = q
            if t == 0x34:
                counters[_C_STATUS] += 1
            elif t == 0x35:
                counters[_C_RADARCAPE] += 1
            elif t == 0x50:
                counters[_C_PING] += 1
            else:
                counters[_C_RECEIVER_ID] += 1
                new = np.uint64(0)
                for i in range(8):
                    new = (new << np.uint64(8)) | np.uint64(body[i])
                if new != rid:
                    rid = new
                    chg_id[nc] = rid
                    nc += 1
        elif t == 0x57:  # 'W' + one command byte
            if p + 2 >= n:
                break
            counters[_C_COMMAND] += 1
            p += 3
        elif t == 0xE8:  # replay clock: 8 raw bytes, little-endian int64 ms
            if p + 10 > n:
                break
            v = np.int64(0)
            for i in range(7, -1, -1):
                v = (v << np.int64(8)) | np.int64(buf[p + 2 + i])
            now = v
            t_now = now / 1000.0
            counters[_C_SYNTH_NOW] += 1
            p += 10
        elif t == 0xE4:  # UUID: ASCII hex digits ('-' and ' ' ignored), up to 32 digits
            q = p + 2
            digits = 0
            hi = np.uint64(0)
            complete = False
            while q < n and q - (p + 2) < 128:
                c = buf[q]
                if c == 0x2D or c == 0x20:
                    q += 1
                    continue
                if 0x30 <= c <= 0x39:
                    x = c - 0x30
                elif 0x61 <= c <= 0x66:
                    x = c - 0x61 + 10
                elif 0x41 <= c <= 0x46:
                    x = c - 0x41 + 10
                else:
                    complete = True
                    break
                if digits < 16:
                    hi = (hi << np.uint64(4)) | np.uint64(x)
                digits += 1
                q += 1
                if digits == 32:
                    complete = True
                    break
            if not complete and q - (p + 2) < 128:
                break  # the UUID may go on in the next buffer
            counters[_C_UUID] += 1
            p = q
            if digits >= 16 and hi != rid:
                rid = hi
                chg_id[nc] = rid
                nc += 1
        else:
            # unknown type, or 0x1a 0x1a (an escaped byte: we are inside a body)
            counters[_C_GARBAGE_BYTES] += 2
            p += 2
    return nf, nc, p, rid, now


def _as_array(buf: bytes | bytearray | memoryview | npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    if isinstance(buf, np.ndarray):
        return np.ascontiguousarray(buf, dtype=np.uint8).reshape(-1)
    mv = memoryview(buf)
    if not mv.c_contiguous:
        mv = memoryview(mv.tobytes())
    return np.frombuffer(mv.cast("B"), dtype=np.uint8)


def parse_beast(
    buf: bytes | bytearray | memoryview | npt.NDArray[np.uint8],
    *,
    receiver: int = 0,
    state: BeastState | None = None,
) -> tuple[FrameBatch, int, BeastState]:
    """Parse the complete Beast records of ``buf``.

    Returns ``(frames, consumed, state)``: the caller keeps ``buf[consumed:]`` (an incomplete
    record) and passes it, followed by the next bytes, with ``state`` to the next call.
    ``state`` is not modified; a new one is returned. ``t_rx`` is NaN unless the stream
    carries readsb's replay clock (``0x1a 0xe8``): the caller stamps reception time.
    """
    st = BeastState() if state is None else state.copy()
    arr = _as_array(buf)
    n = arr.shape[0]
    cap = n // _MIN_FRAME_RECORD + 1
    raw = np.empty((cap, FRAME_WIDTH), dtype=np.uint8)
    nbytes = np.empty(cap, dtype=np.uint8)
    ts = np.empty(cap, dtype=np.uint64)
    sig = np.empty(cap, dtype=np.uint8)
    t_rx = np.empty(cap, dtype=np.float64)
    seg = np.empty(cap, dtype=np.int32)
    chg_id = np.empty(n // _MIN_ID_RECORD + 1, dtype=np.uint64)
    counters = np.zeros(len(COUNTER_NAMES), dtype=np.int64)
    nf, nc, consumed, rid, now = _scan_beast(
        arr,
        raw,
        nbytes,
        ts,
        sig,
        t_rx,
        seg,
        chg_id,
        counters,
        np.uint64(st.receiver_id & 0xFFFF_FFFF_FFFF_FFFF),
        np.int64(st.now_ms),
    )
    receivers = _receiver_column(st, seg[:nf], chg_id[:nc], receiver)
    st.receiver_id = int(rid)
    st.now_ms = int(now)
    for name, v in zip(COUNTER_NAMES, counters.tolist(), strict=True):
        if v:
            st.counters[name] = st.counters.get(name, 0) + v
    st.counters["consumed_bytes"] = st.counters.get("consumed_bytes", 0) + int(consumed)
    # Garbage is counted in bytes, in ``st.counters["garbage_bytes"]`` only: it is not a frame,
    # so it stays out of frames in = frames accepted + rejects.
    rejects = Rejects.of(
        [
            ("beast_truncated_frames", int(counters[_C_TRUNCATED])),
            ("beast_heartbeat", int(counters[_C_HEARTBEAT])),
        ]
    )
    batch = FrameBatch(
        raw=raw[:nf].copy(),
        nbytes=nbytes[:nf].copy(),
        t_rx=t_rx[:nf].copy(),
        ts_12mhz=ts[:nf].copy(),
        signal_dbfs=_DBFS_TABLE[sig[:nf]],
        receiver=receivers,
        rejects=rejects,
    )
    return batch, int(consumed), st


def _receiver_column(
    st: BeastState,
    seg: npt.NDArray[np.int32],
    chg_id: npt.NDArray[np.uint64],
    default: int,
) -> npt.NDArray[np.uint16]:
    """uint16 receiver of each frame: segment 0 is the id in force at the start, segment k
    the k-th id change of this buffer."""
    first = st.receiver_for(st.receiver_id, default)
    if chg_id.shape[0] == 0:
        return np.full(seg.shape[0], first, dtype=np.uint16)
    uniq, inv = np.unique(chg_id, return_inverse=True)
    mapped = np.array([st.receiver_for(int(u), default) for u in uniq.tolist()], np.uint16)
    per_seg = np.empty(chg_id.shape[0] + 1, dtype=np.uint16)
    per_seg[0] = first
    per_seg[1:] = mapped[inv]
    return per_seg[seg]


@nb.njit(cache=True, error_model="numpy")
def _encode_kernel(
    raw: npt.NDArray[np.uint8],
    nbytes: npt.NDArray[np.uint8],
    ts: npt.NDArray[np.uint64],
    sig: npt.NDArray[np.uint8],
    ids: npt.NDArray[np.uint64],
    use_ids: bool,
    out: npt.NDArray[np.uint8],
) -> int:
    o = 0
    last = np.uint64(0)
    body = np.empty(21, dtype=np.uint8)
    for r in range(raw.shape[0]):
        if use_ids and ids[r] != last:
            last = ids[r]
            out[o] = ESC
            out[o + 1] = 0xE3
            o += 2
            for i in range(7, -1, -1):
                b = np.uint8((last >> np.uint64(8 * i)) & np.uint64(0xFF))
                out[o] = b
                o += 1
                if b == ESC:
                    out[o] = ESC
                    o += 1
        k = int(nbytes[r])
        out[o] = ESC
        out[o + 1] = 0x31 if k == 2 else (0x32 if k == 7 else 0x33)
        o += 2
        stamp = ts[r]
        for i in range(6):
            body[i] = np.uint8((stamp >> np.uint64(8 * (5 - i))) & np.uint64(0xFF))
        body[6] = sig[r]
        for i in range(k):
            body[7 + i] = raw[r, i]
        for i in range(7 + k):
            b = body[i]
            out[o] = b
            o += 1
            if b == ESC:
                out[o] = ESC
                o += 1
    return o


def encode_beast(frames: FrameBatch, *, receiver_ids: Mapping[int, int] | None = None) -> bytes:
    """Frames → Beast bytes (escaped), the inverse of :func:`parse_beast`.

    Frames of 2, 7 and 14 bytes become records ``'1'``, ``'2'`` and ``'3'``; the counter is
    written modulo 2**48 and the signal as ``round(255·10**(dBFS/20))`` (NaN → 0).
    With ``receiver_ids`` (uint16 receiver → 64-bit id, e.g. ``state.receiver_ids``), a
    ``0x1a 0xe3`` record is written whenever the 64-bit id changes (receivers not in the
    mapping have id 0). Raises :class:`FormatError` for frames of any other length.
    """
    n = len(frames)
    nb_ = frames.nbytes.astype(np.int64)
    bad = ~np.isin(nb_, (2, 7, 14))
    if bad.any():
        raise FormatError(
            f"Beast carries frames of 2, 7 or 14 bytes; {int(bad.sum())} frame(s) have "
            f"other lengths (e.g. {int(nb_[bad][0])})"
        )
    ts = frames.ts_12mhz.astype(np.uint64) & np.uint64(0xFFFF_FFFF_FFFF)
    dbfs = frames.signal_dbfs.astype(np.float64)
    with np.errstate(invalid="ignore"):
        amp = np.rint(255.0 * np.power(10.0, dbfs / 20.0))
    sig = np.where(np.isfinite(amp), np.clip(amp, 1, 255), 0).astype(np.uint8)
    if receiver_ids is not None and n:
        uniq, inv = np.unique(frames.receiver, return_inverse=True)
        lut = np.array([receiver_ids.get(int(u), 0) for u in uniq.tolist()], dtype=np.uint64)
        ids = lut[inv]
        use_ids = True
    else:
        ids = np.zeros(0, dtype=np.uint64)
        use_ids = False
    out = np.empty(n * (2 + 2 * 21 + 2 + 2 * 8), dtype=np.uint8)
    o = _encode_kernel(np.ascontiguousarray(frames.raw), frames.nbytes, ts, sig, ids, use_ids, out)
    return out[:o].tobytes()
