"""A positions sink that writes to the store on its own thread.

:class:`WriterSink` is a drop-in for ``ingest.aggregator.StoreSink`` (same call, ``flush``,
``close``, ``rows_given`` and ``rows_written``): positions are gathered into batches of
``flush_rows`` rows (or ``flush_s`` seconds of wall time), and each batch goes through a
bounded queue to one writer thread that calls ``store.write("positions", columns)``. The
conversion to Arrow runs compiled code and the engines insert without the GIL, so on a
two-core machine the write of one batch overlaps the decoding and tracking of the next ones.

What does not change: every batch is one ``Store.write`` (one transaction in DuckDB, with its
resume token if given), batches are written in the order they were gathered, and ``flush``
returns only once everything given so far is written. The queue holds at most
``max_pending`` batches: when the store is slower than the feed, the pipeline waits instead
of buffering without bound. An error in the writer thread is raised again in the caller at
its next call, ``flush`` or ``close`` (and at every call after that); the batches after it
are not written.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from tailwatch.core.errors import StoreError
from tailwatch.store.base import ResumeToken, Store

_STOP = object()


class WriterSink:
    """Positions → ``store.write("positions", …)`` on a writer thread (see the module doc).

    ``resume``: an optional function called with the number of rows given so far, at each
    batch, that returns the :class:`ResumeToken` to commit with that batch (or ``None``)."""

    def __init__(
        self,
        store: Store,
        flush_rows: int = 100_000,
        flush_s: float = 2.0,
        max_pending: int = 2,
        resume: Any = None,
    ) -> None:
        if flush_rows < 1 or max_pending < 1:
            raise StoreError(f"bad writer sizes: flush_rows={flush_rows}, "
                             f"max_pending={max_pending}")
        self.store = store
        self.flush_rows = flush_rows
        self.flush_s = flush_s
        self.resume = resume
        self.rows_given = 0
        self.rows_written = 0  # as the store reports (it drops rows it already holds)
        self.write_s = 0.0  # time the writer thread spent in store.write
        self._buf: list[Mapping[str, np.ndarray]] = []
        self._rows = 0
        self._last = time.monotonic()
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_pending)
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="tailwatch-store-writer",
                                        daemon=True)
        self._thread.start()

    def __call__(self, positions: Any) -> None:
        self._raise_error()
        cols = positions.columns if hasattr(positions, "columns") else positions
        n = int(np.asarray(cols["t"]).shape[0])
        if n == 0:
            return
        self._buf.append(cols)
        self._rows += n
        if self._rows >= self.flush_rows or time.monotonic() - self._last >= self.flush_s:
            self._send()

    def _send(self) -> None:
        self._last = time.monotonic()
        if not self._buf:
            return
        parts, self._buf, self._rows = self._buf, [], 0
        cols = (dict(parts[0]) if len(parts) == 1
                else {k: np.concatenate([p[k] for p in parts]) for k in parts[0]})
        self.rows_given += int(cols["t"].shape[0])
        token = self.resume(self.rows_given) if self.resume is not None else None
        self._queue.put((cols, token))

    def flush(self) -> None:
        """Write everything given so far; returns when it is stored."""
        self._raise_error()
        self._send()
        self._queue.join()
        self._raise_error()

    def close(self) -> None:
        """Flush, stop the writer thread and close the store."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join()
            self.store.close()

    def _raise_error(self) -> None:
        if self._error is not None:  # for good: later batches would leave a hole
            raise StoreError(f"the store writer failed: {self._error}") from self._error

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                if self._error is None:  # after an error, drop the rest (flush raises it)
                    cols, token = item
                    self._write(cols, token)
            finally:
                self._queue.task_done()

    def _write(self, cols: Mapping[str, np.ndarray], token: ResumeToken | None) -> None:
        t0 = time.perf_counter()
        try:
            self.rows_written += int(self.store.write("positions", cols, resume=token))
        except BaseException as exc:  # handed to the caller's thread
            self._error = exc
        finally:
            self.write_s += time.perf_counter() - t0
