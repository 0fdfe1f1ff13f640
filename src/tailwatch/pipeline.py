"""Wires the stages together: frames → decode → track → (detect) → store, and the live snapshot.

Two entry points: :meth:`Pipeline.process` for raw frames (decode, then the tracker) and
:meth:`Pipeline.process_states` for decoded state vectors (SBS records, readsb JSON, OpenSky,
aggregators), which go straight to the tracker. Either way the sinks only get positions the
tracker accepted, and the live snapshot shows every source. Each batch also carries, in
``PositionBatch.rejects``, the implausible positions the tracker rejected meanwhile (per
address and reason): a sink that sets ``takes_rejects = True`` (the flight detector's) gets
a batch with rejects even when it has no positions; the other sinks only non-empty batches.

With positioned receivers (``Pipeline(receivers=...)``: a :class:`~tailwatch.mlat.Sites`, a
receivers file, or a ready :class:`~tailwatch.mlat.Multilateration`), a batch that comes with
its receptions (``process(..., receptions=dedup_batch)``) is also multilaterated: the MLAT
positions go through ``Tracker.update_states`` with source ``mlat`` (ranked as MLAT) and are
handed to the sinks and returned with the others (docs/mlat.md).

Nothing here decodes or tracks by itself: it calls the stages with whole batches and keeps the
counters that prove nothing was lost (frames in = accepted + rejects, at every stage).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from tailwatch.core.frames import FrameBatch
from tailwatch.core.rejects import Rejects
from tailwatch.decode.api import decode_frames
from tailwatch.track.tracker import PositionBatch, Snapshot, Tracker

if TYPE_CHECKING:
    from tailwatch.ingest.dedup import DedupBatch
    from tailwatch.mlat import Multilateration, Sites

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
    mlat_positions: int = 0  # multilateration fixes handed to the tracker
    decode_rejects: Rejects = field(default_factory=Rejects)

    def as_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "messages": self.messages,
            "positions": self.positions,
            "states": self.states,
            "mlat_positions": self.mlat_positions,
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
        receivers: Sites | Multilateration | str | os.PathLike[str] | None = None,
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
        self.mlat = _multilateration(receivers)

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
        receptions: DedupBatch | None = None,
    ) -> PositionBatch:
        """Decode and track one batch of frames; hand accepted positions (and the
        implausible ones' counts, ``PositionBatch.rejects``) to the sinks.
        ``n_receivers`` (one per frame, from :class:`~tailwatch.ingest.dedup.Dedup`) is how
        many receivers heard each frame; it becomes the positions' ``receivers``.
        ``receptions``: the :class:`~tailwatch.ingest.dedup.DedupBatch` whose ``frames`` is
        ``fb`` (who heard each frame, and when): multilaterated when the pipeline has
        positioned receivers; the result then holds the MLAT positions too."""
        if receptions is not None and n_receivers is None:
            n_receivers = receptions.n_receivers
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
        if self.mlat is not None and receptions is not None and len(batch):
            fixes = self.mlat.process(batch, receptions, positions,
                                      self.tracker.last_message_rows, self.tracker)
            if len(fixes):
                self.stats.mlat_positions += len(fixes)
                placed = self.tracker.update_states(fixes.columns, "mlat")
                self._emit(placed)
                positions = _concat(positions, placed)
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
        out = {**self.stats.as_dict(), "tracker": dict(self.tracker.stats())}
        if self.mlat is not None:
            out["mlat"] = self.mlat.stats()
        return out


def _multilateration(
    receivers: Sites | Multilateration | str | os.PathLike[str] | None,
) -> Multilateration | None:
    if receivers is None:
        return None
    from tailwatch.mlat import Multilateration, Sites

    if isinstance(receivers, Multilateration):
        return receivers
    if isinstance(receivers, Sites):
        return Multilateration(receivers)
    return Multilateration(Sites.from_file(receivers))


def _concat(a: PositionBatch, b: PositionBatch) -> PositionBatch:
    if len(a) == 0:
        return b
    if len(b) == 0:
        return a
    cols = {k: np.concatenate([a.columns[k], b.columns[k]]) for k in a.columns}
    return PositionBatch(cols, a.rejects or b.rejects)
