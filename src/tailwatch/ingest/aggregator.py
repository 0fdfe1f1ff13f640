"""The live loop: sources → (dedup) → pipeline → sinks and re-served outputs.

:class:`Aggregator` is the synchronous part (it is also what ``tailwatch replay`` drives):

* frames without a time get one (``Pipeline.stamp_times``: from the receiver's 12 MHz
  counter, else the arrival time);
* with several receivers, :class:`~tailwatch.ingest.dedup.Dedup` merges the receptions of one
  transmission (``n_receivers`` is kept in :attr:`Aggregator.last_dedup` and handed to the
  pipeline: it becomes the positions' ``receivers`` column), and so is the whole
  :class:`~tailwatch.ingest.dedup.DedupBatch`: with positioned receivers the pipeline
  multilaterates it (docs/mlat.md);
* the merged frames are re-served (Beast, AVR) and go through the
  :class:`~tailwatch.pipeline.Pipeline` (decode, track; its sinks get the positions);
* state vectors (SBS records, readsb JSON, OpenSky, aggregators) go through the tracker too
  (``Pipeline.process_states``): they update the live aircraft, and the positions the tracker
  accepts go to the same sinks, and to the SBS outputs when the source's terms allow
  re-serving.

:func:`run_feed` is the asyncio loop around it: it collects what the sources produced every
``batch_interval_s``, logs per-source counters every ``log_every_s`` (60 s), and stops after
``duration_s``, when ``stop`` is set (Ctrl-C) or when every source has ended — cleanly:
sources are closed, the queue is drained, dedup and sinks are flushed, outputs closed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from tailwatch.core.frames import FrameBatch
from tailwatch.ingest.dedup import Dedup, DedupBatch
from tailwatch.ingest.outputs import Outputs
from tailwatch.ingest.record import Recorder
from tailwatch.ingest.sources import Feed
from tailwatch.pipeline import Pipeline
from tailwatch.track.states import StateBatch
from tailwatch.track.tracker import PositionBatch

__all__ = ["Aggregator", "Handler", "RecordHandler", "RunStats", "StoreSink", "run_feed"]

log = logging.getLogger("tailwatch.ingest")


class Handler(Protocol):
    def frames(self, fb: FrameBatch, now: float) -> None: ...

    def states(self, sb: StateBatch, redistribute: bool, now: float) -> None: ...

    def tick(self, now: float) -> None: ...

    def flush(self) -> None: ...


class StoreSink:
    """Positions → ``store.write("positions", columns)``, buffered (``flush_rows`` rows or
    ``flush_s`` seconds) so that the store gets large batches."""

    def __init__(self, store: Any, flush_rows: int = 200_000, flush_s: float = 2.0) -> None:
        self.store = store
        self.flush_rows = flush_rows
        self.flush_s = flush_s
        self.rows_given = 0
        self.rows_written = 0  # as the store reports (it drops rows it already holds)
        self._buf: list[dict[str, np.ndarray]] = []
        self._rows = 0
        self._last = time.monotonic()

    def __call__(self, positions: PositionBatch) -> None:
        if len(positions) == 0:
            return
        self._buf.append(positions.columns)
        self._rows += len(positions)
        if self._rows >= self.flush_rows or time.monotonic() - self._last >= self.flush_s:
            self.flush()

    def flush(self) -> None:
        self._last = time.monotonic()
        if not self._buf:
            return
        cols = {k: np.concatenate([b[k] for b in self._buf]) for k in self._buf[0]}
        self._buf, self._rows = [], 0
        self.rows_given += int(cols["t"].shape[0])
        self.rows_written += int(self.store.write("positions", cols))

    def close(self) -> None:
        self.flush()
        self.store.close()


@dataclass
class RunStats:
    frames_in: int = 0
    messages_out: int = 0
    state_rows: int = 0  # state vectors in (SBS records, polled aircraft)
    state_positions: int = 0  # positions of state vectors the tracker accepted
    withheld_positions: int = 0


class Aggregator:
    """Frames and positions of every source through dedup, the pipeline, sinks and outputs.

    ``live``: dedup releases messages by wall-clock time on quiet feeds (``tick``); off for
    replays, where only data time counts."""

    def __init__(self, pipeline: Pipeline, *, dedup: Dedup | None = None,
                 outputs: Outputs | None = None, live: bool = True) -> None:
        self.pipeline = pipeline
        self.dedup = dedup
        self.outputs = outputs or Outputs()
        self.live = live
        self.stats = RunStats()
        self.last_dedup: DedupBatch | None = None

    def frames(self, fb: FrameBatch, now: float) -> None:
        self.stats.frames_in += len(fb)
        self.pipeline.stamp_times(fb, now)
        if self.dedup is not None:
            db = self.dedup.push(fb, now if self.live else None)
            self.last_dedup = db
            self._process(db.frames, now, db.n_receivers, db)
        else:
            self._process(fb, now)

    def _process(self, fb: FrameBatch, now: float,
                 n_receivers: np.ndarray | None = None,
                 receptions: DedupBatch | None = None) -> None:
        if len(fb) == 0 and not fb.rejects:
            return
        self.stats.messages_out += len(fb)
        self.outputs.frames(fb)
        positions = self.pipeline.process(fb, wall_time=now, n_receivers=n_receivers,
                                          receptions=receptions)
        if len(positions):
            self.outputs.positions(positions, True)

    def states(self, sb: StateBatch, redistribute: bool, now: float) -> None:
        """State vectors → the tracker (live table); its accepted positions → the sinks, and
        the SBS outputs unless the source's terms forbid re-serving."""
        self.stats.state_rows += len(sb)
        positions: PositionBatch = self.pipeline.process_states(sb.columns)
        self.stats.state_positions += len(positions)
        if len(positions):
            self.outputs.positions(positions, redistribute)
        if not redistribute:
            self.stats.withheld_positions += len(positions)

    def tick(self, now: float) -> None:
        if self.dedup is not None and self.live and self.dedup.pending:
            db = self.dedup.push(FrameBatch.empty(), now)
            self.last_dedup = db
            self._process(db.frames, now, db.n_receivers, db)

    def flush(self) -> None:
        if self.dedup is not None:
            db = self.dedup.flush()
            self.last_dedup = db
            self._process(db.frames, time.time(), db.n_receivers, db)
        for sink in self.pipeline.sinks:
            f = getattr(sink, "flush", None)
            if callable(f):
                f()

    def counters(self) -> dict[str, Any]:
        out: dict[str, Any] = {"frames_in": self.stats.frames_in,
                               "messages_out": self.stats.messages_out,
                               "state_rows": self.stats.state_rows,
                               "state_positions": self.stats.state_positions,
                               "withheld_positions": self.stats.withheld_positions,
                               "pipeline": dict(self.pipeline.counters())}
        if self.dedup is not None:
            out["dedup"] = {"receptions": self.dedup.receptions,
                            "messages": self.dedup.messages,
                            "duplicates": self.dedup.duplicates,
                            "pending": self.dedup.pending,
                            "window_s": self.dedup.window_s}
        if self.outputs:
            out["outputs"] = self.outputs.counters()
        return out


class RecordHandler:
    """Frames → a :class:`~tailwatch.ingest.record.Recorder` (state vectors are not
    recorded)."""

    def __init__(self, recorder: Recorder, flush_s: float = 1.0) -> None:
        self.recorder = recorder
        self.states_skipped = 0
        self.flush_s = flush_s
        self._last = time.monotonic()

    def frames(self, fb: FrameBatch, now: float) -> None:
        self.recorder.write(fb)
        if time.monotonic() - self._last >= self.flush_s:
            self.recorder.flush()
            self._last = time.monotonic()

    def states(self, sb: StateBatch, redistribute: bool, now: float) -> None:
        self.states_skipped += len(sb)

    def tick(self, now: float) -> None:
        pass

    def flush(self) -> None:
        self.recorder.flush()


def log_counters(feed: Feed, handler: Handler) -> None:
    for c in feed.counters.values():
        log.info("%s", c.summary())
    if isinstance(handler, Aggregator):
        p = handler.pipeline.counters()
        log.info("pipeline: %s frames, %s messages, %s state vectors, %s positions",
                 f"{p['frames']:,}", f"{p['messages']:,}", f"{p['states']:,}",
                 f"{p['positions']:,}")


async def run_feed(
    feed: Feed, handler: Handler, *, duration_s: float | None = None,
    stop: asyncio.Event | None = None, log_every_s: float = 60.0,
    outputs: Outputs | None = None, on_started: Any = None,
    on_counters: Callable[[Feed, Handler], object] | None = None, counters_every_s: float = 1.0,
) -> None:
    """Run until ``duration_s``, ``stop`` or the end of every source (see the module
    docstring). ``outputs`` are started before the sources and closed at the end;
    ``on_started`` (a callable) runs once everything listens; ``on_counters(feed, handler)``
    runs every ``counters_every_s`` and at the end (the live stats endpoint)."""
    if outputs is not None:
        await outputs.start()
    t_end = None if duration_s is None else time.monotonic() + duration_s
    next_log = time.monotonic() + log_every_s
    next_counters = time.monotonic()
    try:
        await feed.start()
        if on_started is not None:
            on_started()
        while True:
            if stop is not None and stop.is_set():
                break
            now_m = time.monotonic()
            if t_end is not None and now_m >= t_end:
                break
            if feed.finished:
                break
            timeout = feed.options.batch_interval_s
            if t_end is not None:
                timeout = max(0.0, min(timeout, t_end - now_m))
            got = await feed.collect(timeout)
            now = time.time()
            if got.frames is not None:
                handler.frames(got.frames, now)
            for sb, redistribute in got.states:
                handler.states(sb, redistribute, now)
            handler.tick(now)
            if time.monotonic() >= next_log:
                next_log += log_every_s
                log_counters(feed, handler)
            if on_counters is not None and time.monotonic() >= next_counters:
                next_counters = time.monotonic() + counters_every_s
                on_counters(feed, handler)
            await asyncio.sleep(0)
    finally:
        await feed.stop()
        rest = feed.drain()
        now = time.time()
        if rest.frames is not None:
            handler.frames(rest.frames, now)
        for sb, redistribute in rest.states:
            handler.states(sb, redistribute, now)
        handler.flush()
        if outputs is not None:
            for o in outputs.items:
                drain = getattr(o, "drain", None)
                if drain is not None:
                    await drain()
            await outputs.close()
        log_counters(feed, handler)
        if on_counters is not None:
            on_counters(feed, handler)


def auto_dedup(specs: Sequence[Any]) -> bool:
    """Dedup is on by default when more than one source carries frames."""
    return sum(1 for s in specs if getattr(s, "carries_frames", False)) > 1
