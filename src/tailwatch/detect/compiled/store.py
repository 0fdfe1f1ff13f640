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
        if self._open_t1 - self._open_t0 >= self.chunk_s or len(self._open) > 64:
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
        key = np.uint32(icao24)
        parts = []
        for table in (*self._tables, *self._open):
            a = int(np.searchsorted(table["icao24"], key, side="left"))
            z = int(np.searchsorted(table["icao24"], key, side="right"))
            if z > a:
                if after_t > -math.inf:
                    a += int(np.searchsorted(table["t"][a:z], after_t, side="right"))
                if z > a:
                    parts.append({k: v[a:z] for k, v in table.items()})
        if not parts:
            return {k: np.zeros(0, dtype=self._dtype(k)) for k in self.keys}
        if len(parts) == 1:
            return {k: v.copy() for k, v in parts[0].items()}
        return {k: np.concatenate([p[k] for p in parts]) for k in self.keys}

    def _dtype(self, key: str) -> np.dtype:
        for table in (*self._tables, *self._open):
            return table[key].dtype
        return np.dtype(np.float64)
