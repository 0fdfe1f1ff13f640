"""FrameBatch: raw frames as columns, the unit that ingest hands to decode.

A frame is up to 14 bytes, left-aligned in a row of an (N, 14) uint8 matrix, with its length
in ``nbytes`` (2 for Mode A/C, 7 for short and 14 for long Mode S). Times are float64 seconds
since the UNIX epoch (UTC), NaN where the source has none; the receiver's free-running 12 MHz
counter is kept apart in ``ts_12mhz`` (0 where absent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import numpy.typing as npt

from tailwatch.core.rejects import Rejects

FRAME_WIDTH = 14
_COLS = np.arange(FRAME_WIDTH)


@dataclass(slots=True)
class FrameBatch:
    """Columns of raw frames. All arrays have the same length N."""

    raw: npt.NDArray[np.uint8]  # (N, 14), left-aligned, zero-padded
    nbytes: npt.NDArray[np.uint8]  # (N,)
    t_rx: npt.NDArray[np.float64]  # (N,) seconds UTC, NaN if unknown
    ts_12mhz: npt.NDArray[np.uint64]  # (N,) receiver counter, 0 if unknown
    signal_dbfs: npt.NDArray[np.float32]  # (N,) NaN if unknown
    receiver: npt.NDArray[np.uint16]  # (N,) receiver id, 0 = default
    rejects: Rejects = field(default_factory=Rejects)  # inputs dropped before becoming frames

    def __len__(self) -> int:
        return int(self.nbytes.shape[0])

    @classmethod
    def empty(cls) -> FrameBatch:
        return cls.from_matrix(np.zeros((0, FRAME_WIDTH), np.uint8), np.zeros(0, np.uint8))

    @classmethod
    def from_matrix(
        cls,
        raw: npt.NDArray[np.uint8],
        nbytes: npt.ArrayLike,
        *,
        t_rx: npt.ArrayLike | None = None,
        ts_12mhz: npt.ArrayLike | None = None,
        signal_dbfs: npt.ArrayLike | None = None,
        receiver: npt.ArrayLike | None = None,
        rejects: Rejects | None = None,
    ) -> FrameBatch:
        raw = np.ascontiguousarray(raw, dtype=np.uint8)
        if raw.ndim != 2 or raw.shape[1] != FRAME_WIDTH:
            raise ValueError(f"raw must be an (N, {FRAME_WIDTH}) uint8 array, got {raw.shape}")
        n = raw.shape[0]
        nb = np.asarray(nbytes, dtype=np.uint8).reshape(-1)
        if nb.shape[0] != n:
            raise ValueError(f"nbytes has {nb.shape[0]} rows, raw has {n}")
        return cls(
            raw=raw,
            nbytes=nb,
            t_rx=cast("npt.NDArray[np.float64]", _col(t_rx, n, np.float64, np.nan)),
            ts_12mhz=cast("npt.NDArray[np.uint64]", _col(ts_12mhz, n, np.uint64, 0)),
            signal_dbfs=cast("npt.NDArray[np.float32]", _col(signal_dbfs, n, np.float32, np.nan)),
            receiver=cast("npt.NDArray[np.uint16]", _col(receiver, n, np.uint16, 0)),
            rejects=rejects if rejects is not None else Rejects(),
        )

    @classmethod
    def from_hex(
        cls,
        frames: Sequence[str],
        *,
        t_rx: npt.ArrayLike | None = None,
        receiver: npt.ArrayLike | None = None,
    ) -> FrameBatch:
        """Hex strings → frames. Strings that are not hex of a whole number of bytes, or longer
        than 14 bytes, are dropped under ``bad_hex`` / ``bad_length``."""
        raw, nbytes, keep, rejects = hex_to_matrix(frames)
        t = None if t_rx is None else np.asarray(t_rx, dtype=np.float64)[keep]
        r = None if receiver is None else np.asarray(receiver, dtype=np.uint16)[keep]
        return cls.from_matrix(raw, nbytes, t_rx=t, receiver=r, rejects=rejects)

    @classmethod
    def from_bytes(
        cls, frames: Sequence[bytes], *, t_rx: npt.ArrayLike | None = None
    ) -> FrameBatch:
        n = len(frames)
        lens = np.fromiter(map(len, frames), dtype=np.int64, count=n)
        keep = lens <= FRAME_WIDTH
        rejects = Rejects.of([("bad_length", int((~keep).sum()))])
        kept = [f for f, k in zip(frames, keep, strict=True) if k] if not keep.all() else frames
        buf = np.frombuffer(b"".join(kept), dtype=np.uint8)
        raw = gather_rows(buf, lens[keep])
        t = None if t_rx is None else np.asarray(t_rx, dtype=np.float64)[keep]
        return cls.from_matrix(raw, lens[keep], t_rx=t, rejects=rejects)

    def take(self, idx: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> FrameBatch:
        return FrameBatch(
            raw=self.raw[idx],
            nbytes=self.nbytes[idx],
            t_rx=self.t_rx[idx],
            ts_12mhz=self.ts_12mhz[idx],
            signal_dbfs=self.signal_dbfs[idx],
            receiver=self.receiver[idx],
            rejects=Rejects(self.rejects),
        )

    @classmethod
    def concat(cls, batches: Sequence[FrameBatch]) -> FrameBatch:
        if not batches:
            return cls.empty()
        rejects = Rejects()
        for b in batches:
            rejects.merge(b.rejects)
        return cls(
            raw=np.concatenate([b.raw for b in batches]),
            nbytes=np.concatenate([b.nbytes for b in batches]),
            t_rx=np.concatenate([b.t_rx for b in batches]),
            ts_12mhz=np.concatenate([b.ts_12mhz for b in batches]),
            signal_dbfs=np.concatenate([b.signal_dbfs for b in batches]),
            receiver=np.concatenate([b.receiver for b in batches]),
            rejects=rejects,
        )

    def hex(self, i: int) -> str:
        return bytes(self.raw[i, : int(self.nbytes[i])]).hex()


def _col(
    values: npt.ArrayLike | None, n: int, dtype: type[np.generic], fill: float
) -> npt.NDArray[np.generic]:
    if values is None:
        return np.full(n, fill, dtype=dtype)
    arr = np.asarray(values, dtype=dtype).reshape(-1)
    if arr.shape[0] != n:
        raise ValueError(f"column has {arr.shape[0]} rows, expected {n}")
    return arr


def gather_rows(buf: npt.NDArray[np.uint8], lens: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """Concatenated frames + their lengths → (N, 14) left-aligned, zero-padded matrix."""
    n = lens.shape[0]
    if n == 0:
        return np.zeros((0, FRAME_WIDTH), np.uint8)
    ends = np.cumsum(lens)
    starts = ends - lens
    padded = np.concatenate([buf, np.zeros(FRAME_WIDTH, np.uint8)])
    out: npt.NDArray[np.uint8] = padded[starts[:, None] + _COLS]
    out[_COLS[None, :] >= lens[:, None]] = 0
    return out


def hex_to_matrix(
    frames: Sequence[str],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.bool_], Rejects]:
    """Hex strings → (matrix, nbytes, kept-mask, rejects). Vectorised on the good path; a
    per-string pass only runs when the batch holds a bad string."""
    n = len(frames)
    lens = np.fromiter(map(len, frames), dtype=np.int64, count=n)
    keep = ((lens & 1) == 0) & (lens <= 2 * FRAME_WIDTH) & (lens > 0)
    rejects = Rejects()
    joined = "".join(frames) if keep.all() else ""
    try:
        if not keep.all():
            raise ValueError
        buf = np.frombuffer(bytes.fromhex(joined), dtype=np.uint8)
    except ValueError:
        keep = np.zeros(n, dtype=bool)
        for i, s in enumerate(frames):
            if len(s) == 0 or len(s) % 2 or len(s) > 2 * FRAME_WIDTH:
                rejects["bad_length"] += 1
                continue
            try:
                bytes.fromhex(s)
            except ValueError:
                rejects["bad_hex"] += 1
                continue
            keep[i] = True
        good = [s for s, k in zip(frames, keep, strict=True) if k]
        buf = np.frombuffer(bytes.fromhex("".join(good)), dtype=np.uint8)
    nbytes = (lens[keep] >> 1).astype(np.int64)
    return gather_rows(buf, nbytes), nbytes.astype(np.uint8), keep, rejects
