"""Wires the stages together: frames → decode → track → (detect) → store, and the live snapshot.

Two entry points: :meth:`Pipeline.process` for raw frames (decode, then the tracker) and
:meth:`Pipeline.process_states` for decoded state vectors (SBS records, readsb JSON, OpenSky,
aggregators), which go straight to the tracker. Either way the sinks only get positions the
tracker accepted, and the live snapshot shows every source. Each batch also carries, in
``PositionBatch.rejects``, the implausible positions the tracker rejected meanwhile (per
address and reason): a sink that sets ``takes_rejects = True`` (the flight detector's) gets
a batch with rejects even when it has no positions; the other sinks only non-empty batches.

Nothing here decodes or tracks by itself: it calls the stages with whole batches and keeps the
counters that prove nothing was lost (frames in = accepted + rejects, at every stage).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from tailwatch.core.frames import FrameBatch
from tailwatch.core.rejects import Rejects
from tailwatch.decode.api import decode_frames
from tailwatch.track.tracker import PositionBatch, Snapshot, Tracker

TICKS_PER_S = 12_000_000


class PositionSink(Protocol):
    """What the pipeline hands positions to (the store, the flight detector, a test).

    Called with every non-empty batch; a sink with a true ``takes_rejects`` attribute is also
    called with batches that carry only ``rejects``."""

    def __call__(self, positions: PositionBatch) -> None: ...


@dataclass
class PipelineStats:
    frames: int = 0
    messages: int = 0
    positions: int = 0
    states: int = 0  # state-vector rows handed to the tracker
    decode_rejects: Rejects = field(default_factory=Rejects)

    def as_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "messages": self.messages,
            "positions": self.positions,
            "states": self.states,
            "decode_rejects": dict(self.decode_rejects),
        }


class Pipeline:
    """One decode-and-track pipeline. Feed it FrameBatches in time order."""

    def __init__(
        self,
        *,
        tracker: Tracker | None = None,
        sinks: Iterable[PositionSink] = (),
        fix_errors: bool = True,
        on_snapshot: Callable[[Snapshot], object] | None = None,
        snapshot_every_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tracker = tracker or Tracker()
        self.sinks = list(sinks)
        self.fix_errors = fix_errors
        self.on_snapshot = on_snapshot
        self.snapshot_every_s = snapshot_every_s
        self._last_snapshot = -1e18
        self.clock = clock
        self.stats = PipelineStats()
        self._tick_base: dict[int, tuple[int, float]] = {}

    def stamp_times(self, fb: FrameBatch, wall_time: float) -> None:
        """Frames without a UTC time get one: from the receiver's 12 MHz counter relative to
        its first frame (anchored at ``wall_time``), else ``wall_time`` itself."""
        missing = np.isnan(fb.t_rx)
        if not missing.any():
            return
        has_ticks = missing & (fb.ts_12mhz > 0)
        if has_ticks.any():
            for rid in np.unique(fb.receiver[has_ticks]).tolist():
                rows = has_ticks & (fb.receiver == rid)
                ticks = fb.ts_12mhz[rows].astype(np.int64)
                base = self._tick_base.setdefault(rid, (int(ticks[0]), wall_time))
                dt = (ticks - base[0]) / TICKS_PER_S
                if dt.min() < -1.0:  # counter reset (receiver restarted): re-anchor
                    self._tick_base[rid] = base = (int(ticks[0]), wall_time)
                    dt = (ticks - base[0]) / TICKS_PER_S
                fb.t_rx[rows] = base[1] + dt
            missing = np.isnan(fb.t_rx)
        fb.t_rx[missing] = wall_time

    def process(
        self, fb: FrameBatch, *, wall_time: float | None = None,
        n_receivers: npt.NDArray[np.uint8] | None = None,
    ) -> PositionBatch:
        """Decode and track one batch of frames; hand accepted positions (and the
        implausible ones' counts, ``PositionBatch.rejects``) to the sinks.
        ``n_receivers`` (one per frame, from :class:`~tailwatch.ingest.dedup.Dedup`) is how
        many receivers heard each frame; it becomes the positions' ``receivers``."""
        self.stamp_times(fb, self.clock() if wall_time is None else wall_time)
        batch = decode_frames(fb, fix_errors=self.fix_errors)
        self.stats.frames += batch.n_in
        self.stats.messages += len(batch)
        self.stats.decode_rejects.merge(batch.rejects)
        nrx = None
        if n_receivers is not None:
            nrx = np.asarray(n_receivers, dtype=np.uint8)
            if batch.index is not None:  # decoding dropped frames: keep the kept rows' counts
                nrx = nrx[batch.index]
        positions = self.tracker.update(batch, nrx)
        self._emit(positions)
        return positions

    def process_states(
        self, columns: Mapping[str, npt.ArrayLike], source: str | None = None
    ) -> PositionBatch:
        """Track decoded state vectors (see :meth:`Tracker.update_states`); hand the accepted
        positions (and ``rejects``, as :meth:`process`) to the sinks."""
        self.stats.states += len(np.asarray(columns["t"]))
        positions = self.tracker.update_states(columns, source)
        self._emit(positions)
        return positions

    def _emit(self, positions: PositionBatch) -> None:
        self.stats.positions += len(positions)
        positions.rejects = self.tracker.take_position_rejects() or None
        if len(positions):
            for sink in self.sinks:
                sink(positions)
        elif positions.rejects:
            for sink in self.sinks:
                if getattr(sink, "takes_rejects", False):
                    sink(positions)
        if self.on_snapshot is not None:  # the live view, at most once per snapshot_every_s
            now = time.monotonic()
            if now - self._last_snapshot >= self.snapshot_every_s:
                self._last_snapshot = now
                self.snapshot()

    def snapshot(self, now: float | None = None) -> Snapshot:
        snap = self.tracker.snapshot(now)
        if self.on_snapshot is not None:
            self.on_snapshot(snap)
        return snap

    def counters(self) -> Mapping[str, Any]:
        return {**self.stats.as_dict(), "tracker": dict(self.tracker.stats())}
