"""GNSS monitoring of a stream (live runs, replays) and of a stored history.

Live: one :class:`GnssSession` per pipeline; ``update(positions)`` returns the GNSS events
closed by the batch (feed them where the detector's events go) and writes the hexagons of each
hour to the store once the positions' clock is ``late_s`` (5 min) past the hour (positions of
that hour arriving later still are dropped and counted: ``cells.late_rows``); ``flush()`` at
the end.

History: :func:`gnss_from_store` reads the stored positions hour by hour and writes the same
hexagons (and the events), so a store filled by imports gets its map too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tailwatch.core.schema import EVENT_FIELDS, empty_columns
from tailwatch.gnss.cells import HOUR_S, CellAggregator, GnssLevels, empty_cells
from tailwatch.gnss.cellstore import write_cells
from tailwatch.gnss.monitor import Columns, GnssMonitor, concat_events
from tailwatch.gnss.params import GnssParams
from tailwatch.store.base import Store, to_columns


@dataclass(slots=True)
class GnssTotals:
    positions: int = 0
    events: dict[str, int] = field(default_factory=dict)
    cell_rows: int = 0


class GnssSession:
    """Monitor + hexagon aggregation for one stream. ``store``: where the hexagons (and, with
    ``write_events``, the events) go; ``on_cells``: called with each batch of cell rows (for a
    server that keeps the latest hour in memory)."""

    def __init__(self, params: GnssParams | None = None, *, store: Store | None = None,
                 receivers: Sequence[tuple[float, float, float]] = (),
                 write_events: bool = False,
                 on_cells: Callable[[Columns], None] | None = None,
                 on_events: Callable[[Columns], None] | None = None,
                 levels_res: int = 4, levels_every_s: float = 60.0,
                 late_s: float = 300.0) -> None:
        self.params = params or GnssParams()
        self.monitor = GnssMonitor(self.params, receivers=receivers)
        self.cells = CellAggregator(self.params)
        self.store = store
        self.write_events = write_events
        self.on_cells = on_cells
        self.on_events = on_events
        self.totals = GnssTotals()
        self.late_s = late_s
        self._flushed_to = -math.inf
        #: the level of the hexagon under a position (alert rules' ``gnss_level``), refreshed
        #: from the hour in progress every ``levels_every_s`` of data time
        self.levels = GnssLevels(levels_res)
        self.levels_every_s = levels_every_s
        self._levels_t = -math.inf

    def update(self, positions: Any) -> Columns:
        """GNSS events closed by this batch (EVENT_FIELDS columns)."""
        step = self.monitor.update(positions)
        self.cells.update(step)
        self.totals.positions += len(step.t)
        if len(step.t):
            # an hour is written once the clock is ``late_s`` past its end (late positions)
            hour = math.floor((float(step.t[-1]) - self.late_s) / HOUR_S) * HOUR_S
            if hour > self._flushed_to:
                self._emit_cells(self.cells.flush(hour))
                self._flushed_to = hour
            now = float(step.t[-1])
            if now - self._levels_t >= self.levels_every_s:
                self.levels.update(self.cells.current(self.levels.res))
                self._levels_t = now
        events = concat_events([step.events, self.monitor.expire()])
        self._emit_events(events)
        return events

    def observe(self, snapshot: Any) -> Columns:
        """A live-table snapshot (``Tracker.snapshot()``, e.g. each time the pipeline publishes
        one): aircraft still heard that lost their positions (see GnssMonitor.observe)."""
        events = self.monitor.observe(snapshot)
        self._emit_events(events)
        return events

    def __call__(self, positions: Any) -> None:
        """As a pipeline sink (``Pipeline(sinks=[..., session])``): the events go to the store
        when ``write_events`` is set (and to ``on_events``)."""
        self.update(positions)

    def flush(self) -> Columns:
        """Close every episode and every period (end of the stream)."""
        events = self.monitor.flush()
        self._emit_events(events)
        self._emit_cells(self.cells.flush())
        return events

    def _emit_cells(self, cells: Columns) -> None:
        if not len(cells["h3"]):
            return
        self.levels.update(cells)
        self.totals.cell_rows += len(cells["h3"])
        if self.store is not None:
            write_cells(self.store, cells)
        if self.on_cells is not None:
            self.on_cells(cells)

    def _emit_events(self, events: Columns) -> None:
        for typ in events["type"].tolist():
            self.totals.events[typ] = self.totals.events.get(typ, 0) + 1
        if not len(events["t"]):
            return
        if self.store is not None and self.write_events:
            self.store.write("events", events)
        if self.on_events is not None:
            self.on_events(events)


def gnss_from_store(store: Store, *, since: float, until: float,
                    params: GnssParams | None = None, write: bool = True,
                    chunk_s: float = HOUR_S) -> tuple[Columns, Columns, GnssTotals]:
    """Run the monitor and the aggregation over the stored positions of [since, until), an
    hour at a time. Returns (events, cells, totals); with ``write`` the cells and events are
    stored (the events table drops the ones already there)."""
    session = GnssSession(params, store=store if write else None, write_events=write)
    collected: list[Columns] = []
    if not write:
        session.on_cells = collected.append
    events: list[Columns] = []
    t = math.floor(since / HOUR_S) * HOUR_S
    while t < until:
        hi = min(until, t + chunk_s)
        tab = store.positions(since=max(t, since), until=hi)
        if tab.num_rows:
            cols = to_columns("positions", tab)
            events.append(session.update(cols))
        t = hi
    events.append(session.flush())
    ev = concat_events(events) if events else empty_columns(EVENT_FIELDS, 0)
    if collected:
        cells = {k: np.concatenate([c[k] for c in collected]) for k in collected[0]}
    else:
        cells = empty_cells()
    return ev, cells, session.totals
