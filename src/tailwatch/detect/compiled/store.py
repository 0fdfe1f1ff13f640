"""The recent decided rows of every aircraft, for the flight logic's look-backs.

The compiled detector keeps no per-aircraft row buffer for an aircraft whose positions only
extend what it is doing (cruising, parked): its rows go here, one table per stretch of data
time sorted by (address, time), and an aircraft's rows are gathered (one ``searchsorted`` per
table) when its flight logic needs them (a take-off, a landing, a time-out, a gap).

:class:`RowStore` keeps the rows of the last ``retention_s`` of data time (whole tables are
dropped once all their rows are older); small batches are merged into one table per
``chunk_s`` of data time, so that a look-up touches about ``retention_s / chunk_s`` tables.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from tailwatch.detect.columns import Columns, n_rows, take


class RowStore:
    """Rows of the last ``retention_s`` (module docstring). ``keys``: the columns kept
    (``icao24`` and ``t`` among them)."""

    def __init__(self, keys: tuple[str, ...], retention_s: float, chunk_s: float = 60.0
                 ) -> None:
        self.keys = keys
        self.retention_s = retention_s
        self.chunk_s = chunk_s
        self._tables: list[Columns] = []  # merged, each sorted by (icao24, t)
        self._t_max: list[float] = []
        self._open: list[Columns] = []  # batches of the current chunk
        self._open_t0 = math.inf
        self._open_t1 = -math.inf

    @property
    def rows(self) -> int:
        """Rows held (memory)."""
        return sum(n_rows(t) for t in self._tables) + sum(n_rows(t) for t in self._open)

    def append(self, rows: Columns) -> None:
        """Add decided rows sorted by (icao24, t) (times after those already held, per
        aircraft)."""
        if not rows or n_rows(rows) == 0:
            return
        part = {k: rows[k] for k in self.keys}
        t = part["t"]
        self._open.append(part)
        self._open_t0 = min(self._open_t0, float(t.min()))
        self._open_t1 = max(self._open_t1, float(t.max()))
        if self._open_t1 - self._open_t0 >= self.chunk_s or len(self._open) >= 8:
            self._seal()

    def _seal(self) -> None:
        if not self._open:
            return
        if len(self._open) == 1:
            table = self._open[0]
        else:
            cols = {k: np.concatenate([p[k] for p in self._open]) for k in self.keys}
            # per aircraft the batches are in time order: a stable sort by address keeps it
            table = take(cols, np.argsort(cols["icao24"], kind="stable"))
        self._tables.append(table)
        self._t_max.append(self._open_t1)
        self._open = []
        self._open_t0, self._open_t1 = math.inf, -math.inf

    def expire(self, now: float) -> None:
        """Drop the tables whose rows are all older than ``now - retention_s``."""
        cut = now - self.retention_s
        k = 0
        while k < len(self._t_max) and self._t_max[k] < cut:
            k += 1
        if k:
            del self._tables[:k]
            del self._t_max[:k]

    def rows_of(self, icao24: int, after_t: float = -math.inf) -> Columns:
        """The rows held of one aircraft later than ``after_t``, in time order."""
        cols, starts, stops = self.gather(np.array([icao24], np.uint32))
        rows = {k: v[int(starts[0]):int(stops[0])] for k, v in cols.items()}
        if after_t > -math.inf and n_rows(rows):
            a = int(np.searchsorted(rows["t"], after_t, side="right"))
            rows = {k: v[a:] for k, v in rows.items()}
        return rows

    def gather(self, icao24: npt.NDArray[np.uint32]
               ) -> tuple[Columns, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The rows held of several aircraft at once: columns sorted by (address, time)
        and, for each address of ``icao24`` (sorted, unique), its first and end row."""
        keys = np.asarray(icao24, np.uint32)
        picks: list[npt.NDArray[np.int64]] = []
        tables = [*self._tables, *self._open]
        for table in tables:  # one vectorised look-up per table
            a = np.searchsorted(table["icao24"], keys, side="left")
            z = np.searchsorted(table["icao24"], keys, side="right")
            picks.append(_ranges(a, z))
        if not tables or not any(p.size for p in picks):
            empty = {k: np.zeros(0, dtype=self._dtype(k)) for k in self.keys}
            zeros = np.zeros(keys.size, np.int64)
            return empty, zeros, zeros
        cols = {k: np.concatenate([tb[k][ix] for tb, ix in zip(tables, picks, strict=True)])
                for k in self.keys}
        # tables are in time order: a stable sort by address keeps each aircraft's in time
        order = np.argsort(cols["icao24"], kind="stable")
        cols = take(cols, order)
        starts = np.searchsorted(cols["icao24"], keys, side="left").astype(np.int64)
        stops = np.searchsorted(cols["icao24"], keys, side="right").astype(np.int64)
        return cols, starts, stops

    def _dtype(self, key: str) -> np.dtype:
        for table in (*self._tables, *self._open):
            return table[key].dtype
        return np.dtype(np.float64)


def _ranges(a: npt.NDArray[np.int64], z: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The row indices ``a[i]:z[i]`` of every i, concatenated."""
    n = z - a
    total = int(n.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    keep = n > 0
    a, n = a[keep], n[keep]
    ends = np.cumsum(n)
    idx = np.ones(total, np.int64)
    idx[0] = a[0]
    idx[ends[:-1]] = a[1:] - (a[:-1] + n[:-1]) + 1
    return np.cumsum(idx)
