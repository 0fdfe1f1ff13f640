"""Flights, events and aircraft rows for stored history, and the one sink that wires flight
detection into a live pipeline.

* :func:`detection_sink` → a :class:`DetectionSink` (or ``None`` when tailwatch.detect is not
  there): a pipeline sink that feeds each PositionBatch to ``Detector.update`` (the compiled
  detector) and writes the flights (upsert) and events to the store, and keeps the
  ``aircraft`` table current::

      sink = detection_sink(store)
      pipeline = Pipeline(tracker=..., sinks=[store_sink, *([sink] if sink else [])])
      ...; sink.flush()              # at the end: close the open flights

* :func:`detect_stored` runs detection over positions already in the store (an import), in
  time-ordered windows read back from the store, so that files imported one after the other
  are seen in time order like live data.
* :func:`update_aircraft` writes one ``aircraft`` row per address: identity
  (tailwatch.reference.identity, with the aircraft database stored in the store) and the first
  and last times seen, merged with the stored row.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tailwatch.core.rejects import Rejects
from tailwatch.core.schema import AIRCRAFT_FIELDS, POSITION_FIELDS, empty_columns
from tailwatch.store.base import Store, to_columns

__all__ = [
    "DetectResult",
    "DetectionSink",
    "SeenAircraft",
    "detect_stored",
    "detection_sink",
    "detector_available",
    "update_aircraft",
]

Columns = dict[str, np.ndarray]

#: At most this many addresses go into one ``icao24 IN (...)`` list.
ICAO_CHUNK = 5_000
#: Read-back windows for detection hold about this many rows (whole hours).
WINDOW_ROWS = 1_000_000


def detector_available() -> bool:
    try:
        from tailwatch.detect import FlightDetector  # noqa: F401
    except ImportError:
        return False
    return True


class SeenAircraft:
    """First and last time, last callsign and rows per hour of the positions it is shown."""

    def __init__(self) -> None:
        self.icao24 = np.zeros(0, np.uint32)
        self.first = np.zeros(0, np.float64)
        self.last = np.zeros(0, np.float64)
        self.callsign = np.zeros(0, "S8")
        self.hours: dict[int, int] = {}

    def __len__(self) -> int:
        return int(self.icao24.shape[0])

    def add(self, cols: Mapping[str, np.ndarray]) -> None:
        t = np.asarray(cols["t"], np.float64)
        if t.size == 0:
            return
        a = np.asarray(cols["icao24"], np.uint32)
        cs = np.asarray(cols.get("callsign", np.zeros(t.size, "S8"))).astype("S8")
        hours, counts = np.unique(np.floor(t / 3600.0).astype(np.int64), return_counts=True)
        for h, c in zip(hours.tolist(), counts.tolist(), strict=True):
            self.hours[h] = self.hours.get(h, 0) + c
        # the last non-empty callsign of each address: sort by (address, has callsign, t)
        a_all = np.r_[self.icao24, a]
        first_all = np.r_[self.first, t]
        last_all = np.r_[self.last, t]
        cs_all = np.r_[self.callsign, cs]
        order = np.lexsort((last_all, cs_all != b"", a_all))
        a_s = a_all[order]
        starts = np.flatnonzero(np.r_[True, a_s[1:] != a_s[:-1]])
        ends = np.r_[starts[1:], a_s.size] - 1
        self.icao24 = a_s[starts]
        self.first = np.minimum.reduceat(first_all[order], starts)
        self.last = np.maximum.reduceat(last_all[order], starts)
        self.callsign = cs_all[order][ends]

    def windows(self, max_rows: int = WINDOW_ROWS) -> list[tuple[float, float]]:
        """[since, until) windows in time order of about ``max_rows`` rows each: whole hours
        grouped, and an hour holding more than ``max_rows`` rows cut into equal time slices
        (so that memory stays bounded whatever the traffic: a world-wide day holds ~40 M
        positions an hour)."""
        out: list[tuple[float, float]] = []
        start: int | None = None
        prev = 0
        rows = 0
        for h in sorted(self.hours):
            c = self.hours[h]
            if start is not None and rows + c > max_rows:
                out.append((start * 3600.0, (prev + 1) * 3600.0))
                start, rows = None, 0
            if c > max_rows:
                k = -(-c // max_rows)
                edges = h * 3600.0 + np.arange(k + 1) * (3600.0 / k)
                edges[-1] = (h + 1) * 3600.0
                out.extend((float(a), float(b)) for a, b in itertools.pairwise(edges))
                continue
            if start is None:
                start = h
            rows += c
            prev = h
        if start is not None:
            out.append((start * 3600.0, (prev + 1) * 3600.0))
        return out

    @property
    def rows(self) -> int:
        """Positions counted so far."""
        return int(sum(self.hours.values()))


def _chunks(values: npt.NDArray[np.uint32], size: int = ICAO_CHUNK) -> Iterable[list[int]]:
    for i in range(0, values.shape[0], size):
        yield values[i : i + size].tolist()


def update_aircraft(
    store: Store,
    seen: SeenAircraft,
    *,
    db: Any = None,
    annotations: Any = None,
) -> pa.Table:
    """Write the ``aircraft`` rows of the addresses in ``seen``; returns their identities
    (``identify_many``'s table, one row per address, in ``seen.icao24`` order)."""
    from tailwatch.reference.identity import identify_many

    n = len(seen)
    ident = identify_many(seen.icao24.astype(np.int64), seen.callsign, db=db,
                          annotations=annotations)
    if n == 0:
        return ident
    first, last = seen.first.copy(), seen.last.copy()
    for chunk in _chunks(seen.icao24):
        stored = to_columns("aircraft", store.aircraft(icao24=chunk))
        if stored["icao24"].size == 0:
            continue
        idx = np.searchsorted(seen.icao24, stored["icao24"])
        first[idx] = np.fmin(first[idx], stored["first_seen"])
        last[idx] = np.fmax(last[idx], stored["last_seen"])
    cols = empty_columns(AIRCRAFT_FIELDS, n)
    cols["icao24"] = seen.icao24
    for name in ("registration", "typecode", "description", "operator", "country"):
        values = ident.column(name).to_pylist()
        arr = np.empty(n, dtype=object)
        arr[:] = ["" if v is None else v for v in values]
        cols[name] = arr
    for name in ("military", "interesting", "pia", "ladd"):
        cols[name] = np.asarray(ident.column(name).to_numpy(zero_copy_only=False), dtype=bool)
    cols["first_seen"], cols["last_seen"] = first, last
    store.write("aircraft", cols)
    return ident


def _military(identities: pa.Table | None) -> set[int]:
    if identities is None or identities.num_rows == 0:
        return set()
    mil = np.asarray(identities.column("military").to_numpy(zero_copy_only=False), dtype=bool)
    addr = np.asarray(identities.column("icao24").to_numpy(), dtype=np.int64)
    return {int(a) for a in addr[mil].tolist()}


def _types(identities: pa.Table | None) -> dict[int, str]:
    """ICAO type designators of the identified airframes (the runway length each needs)."""
    if identities is None or identities.num_rows == 0 or "typecode" not in identities.schema.names:
        return {}
    addr = identities.column("icao24").to_pylist()
    code = identities.column("typecode").to_pylist()
    return {int(a): str(c) for a, c in zip(addr, code, strict=True) if c}


@dataclass
class DetectResult:
    status: str
    flights: int = 0
    events: int = 0
    rejects: Rejects = field(default_factory=Rejects)


class _Writer:
    """Writes the detector's output to the store and counts distinct flights and events."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.flight_ids: set[str] = set()
        self.events = 0

    def __call__(self, out: tuple[Mapping[str, np.ndarray], Mapping[str, np.ndarray]]) -> None:
        flights, events = out
        if flights and flights["flight_id"].shape[0]:
            self.store.write("flights", dict(flights))
            self.flight_ids.update(str(f) for f in flights["flight_id"].tolist())
        if events and events["t"].shape[0]:
            self.events += self.store.write("events", dict(events))


Progress = Callable[[int, int], None]
"""``progress(rows_done, rows_total)``: called after each window of :func:`detect_stored`."""


def detect_stored(
    store: Store,
    seen: SeenAircraft,
    *,
    identities: pa.Table | None = None,
    max_rows: int = WINDOW_ROWS,
    progress: Progress | bool | None = None,
    detector: Callable[..., Any] | None = None,
) -> DetectResult:
    """Run flight and event detection over the stored positions of the addresses and hours in
    ``seen`` (every position of those aircraft in those hours, imported or not), window by
    window in time order (about ``max_rows`` rows each: memory stays bounded however long the
    history), and write the flights and events. ``identities`` (from
    :func:`update_aircraft`) tells the detector which aircraft are military.

    ``progress``: a callable ``(rows_done, rows_total)`` called after each window; ``None``
    (the default) shows a progress bar on stderr when it is a terminal and the history has
    more than one window; ``False`` shows nothing. ``detector``: the detector class (or
    factory taking ``military=``; default :data:`tailwatch.detect.Detector`, the compiled
    detector)."""
    if detector is None:
        try:
            from tailwatch.detect import Detector
        except ImportError:
            return DetectResult("detector not available")
        detector = Detector
    det = detector(military=_military(identities))
    if isinstance(getattr(det, "types", None), dict):
        det.types.update(_types(identities))
    write = _Writer(store)
    addresses: list[int] | None = seen.icao24.tolist() if len(seen) <= 4 * ICAO_CHUNK else None
    wanted = seen.icao24
    windows = seen.windows(max_rows)
    total = seen.rows
    with _progress(progress, total, len(windows)) as report:
        done = 0
        for since, until in windows:
            table = store.positions(icao24=addresses, since=since, until=until)
            cols = to_columns("positions", table)
            del table
            if addresses is None and cols["icao24"].size:
                keep = np.isin(cols["icao24"], wanted)
                cols = {k: v[keep] for k, v in cols.items()}
            if cols["t"].size:
                write(det.update(cols))
            done += int(cols["t"].size)
            report(min(done, total), total)
        write(det.flush())
    return DetectResult("done", len(write.flight_ids), write.events, det.rejects)


@contextlib.contextmanager
def _progress(progress: Progress | bool | None, total: int, windows: int
              ) -> Iterator[Progress]:
    """The progress callback of :func:`detect_stored` (a rich bar on a terminal's stderr by
    default)."""
    if callable(progress):
        yield progress
        return
    if progress is False or (progress is None and (windows < 2 or not sys.stderr.isatty())):
        yield lambda done, total: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bar

    with Bar(TextColumn("[bold]detect"), BarColumn(), MofNCompleteColumn(),
             TextColumn("positions"), TimeElapsedColumn(), TimeRemainingColumn(),
             console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("detect", total=total)
        yield lambda done, _total: bar.update(task, completed=done)


class DetectionSink:
    """A pipeline sink: positions → ``Detector`` (compiled) → flights and events in the store, and
    the ``aircraft`` rows of the aircraft seen (every ``aircraft_every_s`` seconds of wall
    time and at :meth:`flush`).

    Positions are handed to the detector in batches of up to ``batch_rows`` rows, or after
    ``max_delay_s`` seconds of wall time since the first one waiting, whichever comes first:
    the detector's cost is mostly per aircraft and call, so a replay at full speed calls it a
    few times instead of once per pipeline batch, while a live feed adds at most
    ``max_delay_s`` to the events' delay. The flights and events do not depend on how the
    positions are batched (tests/unit/test_detect_batching.py).

    The positions the tracker rejected as implausible (``PositionBatch.rejects``, set by the
    pipeline, also on batches without positions: ``takes_rejects``) are added up over the
    waiting batches and passed with them as ``Detector.update(..., rejects=...)``
    (``implausible_position`` events: these, unlike the rest, are timed by the detector calls,
    at the aircraft's last position then)."""

    takes_rejects = True

    def __init__(
        self,
        store: Store,
        detector: Any = None,
        *,
        aircraft_db: Any = None,
        annotations: Any = None,
        aircraft_every_s: float = 60.0,
        on_events: Any = None,
        batch_rows: int = 200_000,
        max_delay_s: float = 1.0,
    ) -> None:
        if detector is None:
            from tailwatch.detect import Detector

            detector = Detector()
        self.store = store
        self.detector = detector
        self.aircraft_db = aircraft_db
        self.annotations = annotations
        self.aircraft_every_s = aircraft_every_s
        self.on_events = on_events  # called with each batch of new event columns (alerts)
        self.batch_rows = batch_rows
        self.max_delay_s = max_delay_s
        self._write = _Writer(store)
        self._seen = SeenAircraft()
        self._known: set[int] = set()
        self._last_aircraft = time.monotonic()
        self._waiting: list[Mapping[str, np.ndarray]] = []
        self._waiting_rows = 0
        self._waiting_since = 0.0
        self._rejects: dict[int, dict[str, int]] = {}

    @property
    def flights(self) -> int:
        return len(self._write.flight_ids)

    @property
    def events(self) -> int:
        return self._write.events

    def __call__(self, positions: Any) -> None:
        cols = positions.columns if hasattr(positions, "columns") else positions
        n = int(np.asarray(cols["t"]).shape[0])
        rejects = getattr(positions, "rejects", None)
        if n == 0 and not rejects:
            return
        if not self._waiting and not self._rejects:
            self._waiting_since = time.monotonic()
        if n:
            self._waiting.append({k: np.asarray(v) for k, v in cols.items()})
            self._waiting_rows += n
        if rejects:
            self._add_rejects(rejects)
        if (self._waiting_rows >= self.batch_rows
                or time.monotonic() - self._waiting_since >= self.max_delay_s):
            self._detect()
        if time.monotonic() - self._last_aircraft >= self.aircraft_every_s:
            self._flush_aircraft()

    def _add_rejects(self, rejects: Mapping[int, Mapping[str, int]]) -> None:
        for icao, counts in rejects.items():
            mine = self._rejects.setdefault(int(icao), {})
            for reason, c in counts.items():
                mine[reason] = mine.get(reason, 0) + int(c)

    def _detect(self) -> None:
        """Hand the waiting positions and rejects to the detector in one call."""
        if not self._waiting and not self._rejects:
            return
        rejects, self._rejects = self._rejects or None, {}
        if not self._waiting:
            self._emit(self.detector.update(empty_columns(POSITION_FIELDS, 0),
                                            rejects=rejects))
            return
        parts, self._waiting, self._waiting_rows = self._waiting, [], 0
        names = [k for k in parts[0] if all(k in p for p in parts)]
        cols = (dict(parts[0]) if len(parts) == 1
                else {k: np.concatenate([p[k] for p in parts]) for k in names})
        self._learn_military(np.asarray(cols["icao24"], np.uint32))
        self._emit(self.detector.update(cols, rejects=rejects))
        self._seen.add(cols)

    def _learn_military(self, icao24: npt.NDArray[np.uint32]) -> None:
        new = [a for a in np.unique(icao24).tolist() if a not in self._known]
        if not new:
            return
        self._known.update(new)
        from tailwatch.reference.identity import identify_many

        mil = _military(identify_many(np.array(new, np.int64), db=self.aircraft_db,
                                      annotations=self.annotations))
        if mil:
            self.detector.military = frozenset(self.detector.military) | mil

    def _flush_aircraft(self) -> None:
        self._last_aircraft = time.monotonic()
        if len(self._seen):
            update_aircraft(self.store, self._seen, db=self.aircraft_db,
                            annotations=self.annotations)
            self._seen = SeenAircraft()

    def flush(self) -> None:
        """End of the stream: detect what waits, close every open flight, write the
        aircraft rows."""
        self._detect()
        self._emit(self.detector.flush())
        self._flush_aircraft()

    def _emit(self, result: Any) -> None:
        self._write(result)
        events = result[1] if isinstance(result, tuple) else None
        if self.on_events is not None and events and len(events.get("t", ())):
            self.on_events(events)


def detection_sink(store: Store, **kwargs: Any) -> DetectionSink | None:
    """A :class:`DetectionSink` on ``store``, or ``None`` when tailwatch.detect is absent.
    ``kwargs`` go to :class:`DetectionSink` (``aircraft_db``, ``annotations``, ...)."""
    if not detector_available():
        return None
    if "aircraft_db" not in kwargs:
        from tailwatch.history.dbtable import load_aircraft_db

        kwargs["aircraft_db"] = load_aircraft_db(store)
    return DetectionSink(store, **kwargs)

