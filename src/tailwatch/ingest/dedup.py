"""Multi-receiver deduplication: one message per transmission, with who heard it.

When several receivers feed tailwatch, one transmission arrives once per receiver that heard
it. :class:`Dedup` groups the receptions of identical frames (the same bytes, at the length
the DF gives: short replies are compared on 7 bytes) heard by *different* receivers within
``window_s`` of the first reception (arrival time, ``t_rx``), and hands on one message per
group with:

* ``n_receivers`` — how many receptions (distinct receivers) the group has;
* ``receivers``, ``ts_12mhz``, ``t_rx``, ``signal_dbfs`` — (M, K) matrices of the first
  ``K`` receptions (``0xFFFF`` pads the receiver column), kept for multilateration, which
  needs each receiver's own 12 MHz time of arrival.

Why these rules
---------------
* The same receiver hearing the same bytes twice is two transmissions (aircraft repeat
  identical DF11 and velocity messages every fraction of a second), never a duplicate.
* The window is 1 s by default: the spread between the arrival of one transmission over
  different receivers' links (network latency and batching) is well under that on the feeds we
  know, while identical repeats from one aircraft come at least 0.4 s apart and are kept
  apart by the same-receiver rule. A repeat heard *only* by receivers that missed the earlier
  copy, within the window, is merged with it: the cost of the window.
* Mode A/C replies (2 bytes, no address) are never merged.

A group is released when its window has closed (``t_first + window_s <=`` the newest arrival
seen, or the ``now`` given to :meth:`Dedup.push`), so the messages come out ``window_s``
late, complete. :meth:`Dedup.flush` releases everything (end of stream).

Columnar: the 14 bytes become two 64-bit keys and one numba pass per batch looks them up in an
open-addressing table rebuilt from the pending groups (a few thousand at most), so there is
no per-frame Python. Each pushed batch is first put in ``t_rx`` order (stable), so the result
does not depend on how receptions were interleaved inside a batch; across batches, arrival
order is assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.core.frames import FRAME_WIDTH, FrameBatch
from tailwatch.core.rejects import Rejects

__all__ = ["NO_RECEIVER", "Dedup", "DedupBatch"]

NO_RECEIVER = 0xFFFF
_U64 = np.uint64


@nb.njit(cache=True, error_model="numpy")
def _keys(raw: npt.NDArray[np.uint8], nbytes: npt.NDArray[np.uint8],
          k0: npt.NDArray[np.uint64], k1: npt.NDArray[np.uint64]) -> None:
    """Two 64-bit words holding the frame's bytes at its DF length (and the length)."""
    for i in range(raw.shape[0]):
        n = int(nbytes[i])
        if n >= 7:
            df = raw[i, 0] >> 3
            if df == 0 or df == 4 or df == 5 or df == 11:
                n = 7
        a = np.uint64(0)
        b = np.uint64(0)
        for j in range(8):
            v = np.uint64(raw[i, j]) if j < n else np.uint64(0)
            a = (a << np.uint64(8)) | v
        for j in range(8, 14):
            v = np.uint64(raw[i, j]) if j < n else np.uint64(0)
            b = (b << np.uint64(8)) | v
        b = (b << np.uint64(8)) | np.uint64(n)
        k0[i] = a
        k1[i] = b


@nb.njit(cache=True, error_model="numpy")
def _mix(a: np.uint64, b: np.uint64) -> np.uint64:
    x = a ^ (b * np.uint64(0x9E3779B97F4A7C15))
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


@nb.njit(cache=True, error_model="numpy")
def _group(
    k0: npt.NDArray[np.uint64], k1: npt.NDArray[np.uint64], nbytes: npt.NDArray[np.uint8],
    t: npt.NDArray[np.float64], rx: npt.NDArray[np.uint16], ts: npt.NDArray[np.uint64],
    sig: npt.NDArray[np.float32],
    pk0: npt.NDArray[np.uint64], pk1: npt.NDArray[np.uint64], pt: npt.NDArray[np.float64],
    pcount: npt.NDArray[np.int64], prx: npt.NDArray[np.uint16],
    pts: npt.NDArray[np.uint64], ptrx: npt.NDArray[np.float64],
    psig: npt.NDArray[np.float32], prep: npt.NDArray[np.int64],
    n_pending: int, window: float, table: npt.NDArray[np.int64],
) -> tuple[int, int]:
    """Add the frames to the pending groups. Returns (groups pending, duplicates found)."""
    mask = np.uint64(table.shape[0] - 1)
    K = prx.shape[1]
    for g in range(n_pending):  # newest group of a key wins the slot
        h = _mix(pk0[g], pk1[g]) & mask
        while True:
            s = table[h]
            if s < 0:
                table[h] = g
                break
            if pk0[s] == pk0[g] and pk1[s] == pk1[g]:
                table[h] = g
                break
            h = (h + np.uint64(1)) & mask
    dups = 0
    for i in range(k0.shape[0]):
        g = -1
        h = _mix(k0[i], k1[i]) & mask
        mergeable = nbytes[i] > 2 and t[i] == t[i]
        while True:
            s = table[h]
            if s < 0:
                break
            if pk0[s] == k0[i] and pk1[s] == k1[i]:
                g = s
                break
            h = (h + np.uint64(1)) & mask
        if g >= 0 and mergeable and abs(t[i] - pt[g]) <= window:
            seen = False
            for j in range(min(pcount[g], K)):
                if prx[g, j] == rx[i]:
                    seen = True
                    break
            if not seen:
                c = pcount[g]
                if c < K:
                    prx[g, c] = rx[i]
                    pts[g, c] = ts[i]
                    ptrx[g, c] = t[i]
                    psig[g, c] = sig[i]
                pcount[g] = c + 1
                dups += 1
                continue
        g = n_pending
        n_pending += 1
        pk0[g] = k0[i]
        pk1[g] = k1[i]
        pt[g] = t[i]
        pcount[g] = 1
        for j in range(K):
            prx[g, j] = 0xFFFF
            pts[g, j] = 0
            ptrx[g, j] = np.nan
            psig[g, j] = np.nan
        prx[g, 0] = rx[i]
        pts[g, 0] = ts[i]
        ptrx[g, 0] = t[i]
        psig[g, 0] = sig[i]
        prep[g] = i
        table[h] = g
    return n_pending, dups


@dataclass(slots=True)
class DedupBatch:
    """Deduplicated messages: ``frames`` holds each message's first reception; the (M, K)
    matrices hold up to K receptions (receiver, 12 MHz counter, arrival time, signal)."""

    frames: FrameBatch
    n_receivers: npt.NDArray[np.uint8]
    receivers: npt.NDArray[np.uint16]
    ts_12mhz: npt.NDArray[np.uint64]
    t_rx: npt.NDArray[np.float64]
    signal_dbfs: npt.NDArray[np.float32]

    def __len__(self) -> int:
        return len(self.frames)


@dataclass
class _Pending:
    k0: npt.NDArray[np.uint64]
    k1: npt.NDArray[np.uint64]
    t: npt.NDArray[np.float64]
    count: npt.NDArray[np.int64]
    rx: npt.NDArray[np.uint16]
    ts: npt.NDArray[np.uint64]
    trx: npt.NDArray[np.float64]
    sig: npt.NDArray[np.float32]
    raw: npt.NDArray[np.uint8]
    nbytes: npt.NDArray[np.uint8]

    @classmethod
    def empty(cls, cap: int, k: int) -> _Pending:
        return cls(
            np.zeros(cap, _U64), np.zeros(cap, _U64), np.zeros(cap), np.zeros(cap, np.int64),
            np.full((cap, k), NO_RECEIVER, np.uint16), np.zeros((cap, k), _U64),
            np.full((cap, k), np.nan), np.full((cap, k), np.nan, np.float32),
            np.zeros((cap, FRAME_WIDTH), np.uint8), np.zeros(cap, np.uint8),
        )

    def grown(self, cap: int, n: int) -> _Pending:
        k = self.rx.shape[1]
        new = _Pending.empty(cap, k)
        for name in ("k0", "k1", "t", "count", "rx", "ts", "trx", "sig", "raw", "nbytes"):
            getattr(new, name)[:n] = getattr(self, name)[:n]
        return new

    def compact(self, idx: npt.NDArray[np.intp]) -> None:
        """Keep rows ``idx`` (increasing), moved to the front, in place."""
        m = idx.shape[0]
        for name in ("k0", "k1", "t", "count", "rx", "ts", "trx", "sig", "raw", "nbytes"):
            arr = getattr(self, name)
            arr[:m] = arr[idx]


@dataclass
class Dedup:
    """Groups receptions of the same transmission (see the module docstring)."""

    window_s: float = 1.0
    max_receivers: int = 8
    receptions: int = 0
    messages: int = 0
    duplicates: int = 0
    _n: int = 0
    _t_max: float = -np.inf
    _p: _Pending = field(init=False)
    _rejects: Rejects = field(default_factory=Rejects)

    def __post_init__(self) -> None:
        if not self.window_s >= 0:
            raise ValueError("window_s must be >= 0")
        if not 1 <= self.max_receivers <= 255:
            raise ValueError("max_receivers must be 1..255")
        self._p = _Pending.empty(1024, self.max_receivers)

    @property
    def pending(self) -> int:
        return self._n

    def push(self, fb: FrameBatch, now: float | None = None) -> DedupBatch:
        """Add receptions; return the messages whose window has closed."""
        m = len(fb)
        self._rejects.merge(fb.rejects)
        self.receptions += m
        if m > 1 and not bool(np.all(fb.t_rx[1:] >= fb.t_rx[:-1])):
            fb = fb.take(np.argsort(fb.t_rx, kind="stable"))  # NaN last
        if m:
            need = self._n + m
            if need > self._p.k0.shape[0]:
                self._p = self._p.grown(max(need, 2 * self._p.k0.shape[0]), self._n)
            k0 = np.empty(m, _U64)
            k1 = np.empty(m, _U64)
            raw = np.ascontiguousarray(fb.raw)
            _keys(raw, fb.nbytes, k0, k1)
            size = 16
            while size < 2 * need:
                size *= 2
            table = np.full(size, -1, dtype=np.int64)
            prep = np.full(self._p.k0.shape[0], -1, dtype=np.int64)
            p = self._p
            n0 = self._n
            self._n, dups = _group(
                k0, k1, fb.nbytes, fb.t_rx, fb.receiver, fb.ts_12mhz,
                fb.signal_dbfs.astype(np.float32, copy=False),
                p.k0, p.k1, p.t, p.count, p.rx, p.ts, p.trx, p.sig, prep,
                n0, float(self.window_s), table,
            )
            self.duplicates += dups
            new = np.arange(n0, self._n)
            src = prep[n0:self._n]
            p.raw[new] = raw[src]
            p.nbytes[new] = fb.nbytes[src]
            finite = fb.t_rx[~np.isnan(fb.t_rx)]
            if finite.size:
                self._t_max = max(self._t_max, float(finite.max()))
        t_now = self._t_max if now is None else max(self._t_max, now)
        n = self._n
        t = self._p.t[:n]
        with np.errstate(invalid="ignore"):
            done = (t + self.window_s <= t_now) | np.isnan(t)
        return self._release(done)

    def flush(self) -> DedupBatch:
        """Release every pending message."""
        return self._release(np.ones(self._n, dtype=bool))

    def _release(self, done: npt.NDArray[np.bool_]) -> DedupBatch:
        n = self._n
        p = self._p
        out_idx = np.flatnonzero(done)
        keep_idx = np.flatnonzero(~done)
        count = p.count[out_idx]
        fb = FrameBatch(
            raw=p.raw[out_idx].copy(),
            nbytes=p.nbytes[out_idx].copy(),
            t_rx=p.t[out_idx].copy(),
            ts_12mhz=p.ts[out_idx, 0].copy(),
            signal_dbfs=p.sig[out_idx, 0].copy(),
            receiver=p.rx[out_idx, 0].copy(),
            rejects=self._rejects,
        )
        self._rejects = Rejects()
        batch = DedupBatch(
            frames=fb,
            n_receivers=np.minimum(count, 255).astype(np.uint8),
            receivers=p.rx[out_idx].copy(),
            ts_12mhz=p.ts[out_idx].copy(),
            t_rx=p.trx[out_idx].copy(),
            signal_dbfs=p.sig[out_idx].copy(),
        )
        if out_idx.shape[0]:
            p.compact(keep_idx)
            self._n = int(keep_idx.shape[0])
        else:
            self._n = n
        self.messages += int(out_idx.shape[0])
        return batch
