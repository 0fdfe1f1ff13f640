"""Replaying recorded frames as if they were live: reading, time-merging and pacing.

* :func:`file_batches` reads a file of frames. Beast files (tailwatch recordings included)
  are parsed here, so that their receiver ids (``0x1a 0xe3``) and the side file's receiver
  names and positions join the run's :class:`~tailwatch.ingest.net.Receivers`; the other
  formats go through :func:`tailwatch.ingest.files.read_frames`.
* :func:`data_times` is the clock a batch is paced on: ``t_rx`` where the file has it, else
  the receiver's 12 MHz counter (relative to the file's first counter), else none.
* :func:`merge_by_time` interleaves several files in time order (recordings of several
  receivers over the same period), batch by batch, without per-frame Python.
* :class:`Pacer` sleeps so that data time runs ``speed`` times faster than wall time
  (``speed=0``: as fast as possible).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tailwatch.core.errors import FormatError
from tailwatch.core.frames import FrameBatch
from tailwatch.ingest.beast import BeastState, parse_beast
from tailwatch.ingest.files import detect_format, read_frames
from tailwatch.ingest.net import Receivers
from tailwatch.ingest.record import load_sidecar

__all__ = ["FileProgress", "Pacer", "data_times", "file_batches", "merge_by_time",
           "split_by_time"]

TICKS_PER_S = 12_000_000


class FileProgress:
    """Bytes read so far of the files being replayed (for progress bars)."""

    def __init__(self) -> None:
        self.done = 0
        self.total = 0


def _register_sidecar(path: str | os.PathLike[str], receivers: Receivers) -> None:
    side = load_sidecar(path)
    if side is None:
        return
    for rec in side.get("receivers", []):
        try:
            id64 = int(str(rec.get("id64", "0")), 16)
        except ValueError:
            continue
        if id64 == 0 or id64 in receivers.uid_of64:
            continue
        lat, lon = rec.get("lat"), rec.get("lon")
        pos = (float(lat), float(lon)) if isinstance(lat, (int, float)) and isinstance(
            lon, (int, float)) else None
        receivers.add(str(rec.get("name", f"{id64:016x}")), id64=id64, position=pos)


def file_batches(
    path: str | os.PathLike[str], fmt: str = "auto", *, receivers: Receivers | None = None,
    receiver: int = 0, batch_size: int = 65536, progress: FileProgress | None = None,
) -> Iterator[FrameBatch]:
    """Frames of one file in batches; see the module docstring."""
    p = Path(path)
    size = p.stat().st_size
    if progress is not None:
        progress.total += size
    if size == 0:
        return
    kind = detect_format(p) if fmt == "auto" else fmt
    if kind != "beast":
        for fb in read_frames(p, kind, batch_size, receiver=receiver):  # type: ignore[arg-type]
            yield fb
        if progress is not None:
            progress.done += size
        return
    if receivers is not None:
        _register_sidecar(p, receivers)
    with open(p, "rb") as fh:
        head = fh.read(2)
        fh.seek(0)
        if head[:2] == b"\x1f\x8b":  # gzip: the file reader handles it (no receiver table)
            yield from read_frames(p, "beast", batch_size, receiver=receiver)
            if progress is not None:
                progress.done += size
            return
        st = BeastState()
        rest = b""
        block = max(1 << 16, batch_size * 16)
        synced = -1
        first = True
        while True:
            chunk = fh.read(block)
            if not chunk:
                break
            if progress is not None:
                progress.done += len(chunk)
            buf = rest + chunk
            if receivers is not None and synced != receivers.version:
                receivers.preload(st)
                synced = receivers.version
            fb, consumed, st = parse_beast(buf, receiver=receiver, state=st)
            if first and len(fb) == 0 and consumed > 1024:
                raise FormatError(f"{p}: not Beast binary data (no frame in the first "
                                  f"{consumed} bytes)")
            first = False
            if receivers is not None and len(st.receiver_table) > len(receivers.uid_of64):
                receivers.absorb(st, p.name)
                synced = receivers.version
            rest = buf[consumed:]
            for start in range(0, len(fb), batch_size):
                yield fb.take(np.arange(start, min(start + batch_size, len(fb))))
        if rest:
            tail = FrameBatch.empty()
            tail.rejects["beast_truncated_frames"] += 1
            yield tail


def data_times(fb: FrameBatch, anchor: list[float]) -> npt.NDArray[np.float64]:
    """Pacing clock of each frame (seconds): ``t_rx``; else the 12 MHz counter relative to
    ``anchor[0]`` (the first counter seen in the stream, set on first use); else NaN."""
    t = fb.t_rx.astype(np.float64, copy=True)
    miss = np.isnan(t) & (fb.ts_12mhz > 0)
    if miss.any():
        ticks = fb.ts_12mhz[miss].astype(np.float64)
        if not anchor:
            anchor.append(float(ticks[0]))
        t[miss] = (ticks - anchor[0]) / TICKS_PER_S
    return t


def split_by_time(fb: FrameBatch, t: npt.NDArray[np.float64],
                  step_s: float) -> Iterator[tuple[FrameBatch, float]]:
    """Cut a batch into slices of ``step_s`` of data time; yields (slice, its last time).
    Frames without time go with the slice before them; the batch's rejects go with the
    first slice."""
    n = len(fb)
    if n == 0:
        return
    tf = np.where(np.isnan(t), -np.inf, t)
    tf = np.maximum.accumulate(tf)
    if not np.isfinite(tf[-1]):
        yield fb, math.nan
        return
    base = tf[np.isfinite(tf)][0]
    slot = np.where(np.isfinite(tf), np.floor((tf - base) / step_s), 0).astype(np.int64)
    cuts = np.flatnonzero(np.diff(slot)) + 1
    bounds = [0, *cuts.tolist(), n]
    for k, (a, b) in enumerate(itertools.pairwise(bounds)):
        part = fb.take(np.arange(a, b))
        if k:
            part.rejects.clear()  # the batch's rejects travel with its first slice only
        yield part, float(tf[b - 1])


class Pacer:
    """Keeps data time and wall time in step at ``speed`` (0: no waiting)."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._t0_data = math.nan
        self._t0_wall = math.nan

    def delay(self, t_data: float) -> float:
        """Seconds to wait before handing on data stamped ``t_data``."""
        if self.speed <= 0 or math.isnan(t_data):
            return 0.0
        now = time.monotonic()
        if math.isnan(self._t0_data):
            self._t0_data, self._t0_wall = t_data, now
            return 0.0
        due = self._t0_wall + (t_data - self._t0_data) / self.speed
        return max(0.0, due - now)

    def wait(self, t_data: float) -> None:
        d = self.delay(t_data)
        if d > 0:
            time.sleep(d)

    async def async_wait(self, t_data: float) -> None:
        d = self.delay(t_data)
        if d > 0:
            await asyncio.sleep(d)


def _clock(fb: FrameBatch) -> npt.NDArray[np.float64]:
    """Non-decreasing sort key: ``t_rx``, frames without time sorting with the one before."""
    return np.maximum.accumulate(np.where(np.isnan(fb.t_rx), -math.inf, fb.t_rx))


def merge_by_time(streams: list[Iterator[FrameBatch]]) -> Iterator[FrameBatch]:
    """Interleave batches of several streams in ``t_rx`` order.

    Each stream must be in time order. Each round emits, from every stream, the frames up to
    the smallest "last buffered time" among streams that may still deliver more, so no later
    batch can hold an earlier frame; the round's frames are sorted with one stable argsort.
    Reject counts travel with the frames (or alone, in empty batches)."""
    if len(streams) == 1:
        yield from streams[0]
        return
    n = len(streams)
    bufs = [FrameBatch.empty() for _ in streams]
    alive = [True] * n

    def refill(i: int) -> Iterator[FrameBatch]:
        while alive[i] and len(bufs[i]) == 0:
            nxt = next(streams[i], None)
            if nxt is None:
                alive[i] = False
                return
            if len(nxt) == 0:
                if nxt.rejects:
                    yield nxt
                continue
            bufs[i] = nxt

    for i in range(n):
        yield from refill(i)
    while True:
        live = [i for i in range(n) if len(bufs[i])]
        if not live:
            return
        horizon = min((float(_clock(bufs[i])[-1]) for i in live if alive[i]),
                      default=math.inf)
        parts: list[FrameBatch] = []
        keys: list[npt.NDArray[np.float64]] = []
        for i in live:
            fb = bufs[i]
            c = _clock(fb)
            k = int(np.searchsorted(c, horizon, side="right"))
            if k == 0:
                continue
            parts.append(fb.take(np.arange(k)))
            keys.append(c[:k])
            rest = fb.take(np.arange(k, len(fb)))
            rest.rejects.clear()
            bufs[i] = rest
        merged = FrameBatch.concat(parts)
        yield merged.take(np.argsort(np.concatenate(keys), kind="stable"))
        for i in live:
            yield from refill(i)
