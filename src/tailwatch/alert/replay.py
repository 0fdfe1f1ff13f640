"""Dry runs: evaluate rules on a recording (and/or on a file of events) without delivering.

:func:`replay_frames` decodes a recording (``tailwatch.ingest.files.read_frames`` and
``tailwatch.pipeline.Pipeline``), evaluates the position rules on every batch of positions
and, when the flight detector is available (a ``FlightDetector`` in ``tailwatch.detect``),
feeds it the same positions and evaluates the event rules on what it emits.
:func:`read_events_file` reads events (JSON lines, JSON, CSV or Parquet with the columns of
``EVENT_FIELDS``) for the event rules.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tailwatch.alert.engine import AlertEngine
from tailwatch.alert.model import Alert
from tailwatch.core.errors import FormatError
from tailwatch.core.schema import EVENT_FIELDS, POSITION_FIELDS, empty_columns

__all__ = ["DetectorFeed", "ReplayResult", "concat_positions", "find_detector",
           "read_events_file", "replay_frames"]


@dataclass
class ReplayResult:
    alerts: list[Alert] = field(default_factory=list)
    frames: int = 0
    positions: int = 0
    events: int = 0
    detector: str | None = None
    notes: list[str] = field(default_factory=list)


def find_detector() -> type | None:
    """The product's detector (``tailwatch.detect.Detector``, the compiled one; else the
    reference ``FlightDetector``), if any."""
    for name, attr in (("tailwatch.detect", "Detector"), ("tailwatch.detect", "FlightDetector"),
                       ("tailwatch.detect.flights", "FlightDetector")):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        cls = getattr(mod, attr, None)
        if isinstance(cls, type):
            return cls
    return None


def _event_columns(out: Any) -> dict[str, np.ndarray] | None:
    """The event columns in a detector's answer: a (flights, events) pair, or the events."""
    if out is None:
        return None
    if isinstance(out, tuple):  # e.g. (flights, events)
        for part in out:
            cols = _event_columns(part)
            if cols is not None:
                return cols
        return None
    if isinstance(out, pa.Table):
        out = {n: out.column(n).to_numpy(zero_copy_only=False) for n in out.column_names}
    if isinstance(out, Mapping) and "type" in out and "icao24" in out:
        return {k: np.asarray(v) for k, v in out.items()}
    return None


def concat_positions(parts: list[Any]) -> dict[str, np.ndarray]:
    """Batches of positions (PositionBatch or columns) as one set of columns."""
    cols = [p.columns if hasattr(p, "columns") else p for p in parts]
    if not cols:
        return empty_columns(POSITION_FIELDS, 0)
    if len(cols) == 1:
        return {k: np.asarray(v) for k, v in cols[0].items()}
    names = [k for k in cols[0] if all(k in c for c in cols)]
    return {k: np.concatenate([np.asarray(c[k]) for c in cols]) for k in names}


class DetectorFeed:
    """Feeds positions to a FlightDetector (``update(positions, rejects=...) -> (flights,
    events)``, ``flush() -> (flights, events)``) and returns the event columns.

    With ``identify`` (an :data:`~tailwatch.alert.engine.IdentityResolver`), the airframes
    it resolves as military are added to the detector's ``military`` set as they appear,
    as the store's detection sink does (``military_at_civil_airport`` events)."""

    def __init__(self, cls: type, *, identify: Any = None) -> None:
        self.det = cls()
        self.name = f"{cls.__module__}.{cls.__qualname__}"
        if not callable(getattr(self.det, "update", None)):
            raise TypeError(f"{self.name} has no update method")
        self.identify = identify
        self._known: set[int] = set()
        self.flight_ids: set[str] = set()  # of the flights the detector reported

    def _answer(self, out: Any) -> dict[str, np.ndarray] | None:
        if isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], Mapping):
            ids = out[0].get("flight_id")
            if ids is not None and len(ids):
                self.flight_ids.update(str(x) for x in np.asarray(ids).tolist())
        return _event_columns(out)

    def _learn_military(self, icao24: np.ndarray) -> None:
        if self.identify is None or not hasattr(self.det, "military"):
            return
        new = [a for a in np.unique(icao24).tolist() if a not in self._known]
        if not new:
            return
        self._known.update(new)
        table = self.identify(np.array(new, np.uint32), None)
        if not isinstance(table, pa.Table) or "military" not in table.column_names:
            return
        mil = {int(str(a).strip().lstrip("~"), 16) if isinstance(a, str) else int(a)
               for a, m in zip(table.column("icao24").to_pylist(),
                               table.column("military").to_pylist(), strict=True) if m}
        if mil:
            self.det.military = frozenset(self.det.military) | mil

    def feed(
        self, positions: Any, rejects: Mapping[int, Mapping[str, int]] | None = None
    ) -> dict[str, np.ndarray] | None:
        if rejects is None:
            rejects = getattr(positions, "rejects", None)  # the tracker's, per aircraft
        cols = positions.columns if hasattr(positions, "columns") else positions
        if len(cols["t"]):
            self._learn_military(np.asarray(cols["icao24"]))
        if rejects:
            return self._answer(self.det.update(positions, rejects=rejects))
        return self._answer(self.det.update(positions))

    def finish(self) -> dict[str, np.ndarray] | None:
        flush = getattr(self.det, "flush", None)
        return self._answer(flush()) if callable(flush) else None


def replay_frames(
    path: str | Path,
    engine: AlertEngine,
    *,
    fmt: str = "auto",
    batch_size: int = 65536,
    identities: Any = None,
    use_detector: bool = True,
    on_alert: Callable[[Alert], None] | None = None,
) -> ReplayResult:
    """Decode a recording and evaluate the rules on it (see the module docstring)."""
    from tailwatch.ingest.files import read_frames
    from tailwatch.pipeline import Pipeline

    res = ReplayResult()
    det: DetectorFeed | None = None
    has_event_rules = bool(engine.rules_for("events"))
    if use_detector and has_event_rules:
        cls = find_detector()
        if cls is None:
            res.notes.append(
                "no flight detector (tailwatch.detect.FlightDetector) yet: event rules "
                f"({', '.join(r.id for r in engine.rules_for('events'))}) were not evaluated; "
                "only position rules were"
            )
        else:
            det = DetectorFeed(cls, identify=engine.identify)
            res.detector = det.name

    def emit(alerts: list[Alert]) -> None:
        res.alerts.extend(alerts)
        if on_alert is not None:
            for a in alerts:
                on_alert(a)

    def events(cols: dict[str, np.ndarray] | None) -> None:
        if cols is not None and len(cols.get("t", ())):
            res.events += len(cols["t"])
            emit(engine.evaluate_events(cols, identities))

    pipeline = Pipeline()
    for fb in read_frames(path, fmt, batch_size):  # type: ignore[arg-type]
        positions = pipeline.process(fb)
        res.frames += len(fb)
        if len(positions):
            res.positions += len(positions)
            emit(engine.evaluate_positions(positions, identities))
        if det is not None and (len(positions) or positions.rejects):
            events(det.feed(positions))
    if det is not None:
        events(det.finish())
    return res


def _epoch(values: list[Any]) -> np.ndarray:
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if isinstance(v, int | float) and not isinstance(v, bool):
            out[i] = float(v)
        elif isinstance(v, dt.datetime):
            out[i] = (v if v.tzinfo else v.replace(tzinfo=dt.UTC)).timestamp()
        elif isinstance(v, str) and v.strip():
            try:
                out[i] = float(v)
            except ValueError:
                d = dt.datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
                out[i] = (d if d.tzinfo else d.replace(tzinfo=dt.UTC)).timestamp()
    return out


def read_events_file(path: str | Path) -> dict[str, np.ndarray]:
    """Events from a file: JSON lines or a JSON list of records, CSV or Parquet, with the
    columns of EVENT_FIELDS (``icao24`` as hex, ``t`` as UNIX seconds or ISO 8601; extra
    columns such as ``squawk`` or ``callsign`` are kept)."""
    p = Path(path)
    suffix = "".join(p.suffixes[-2:]).lower() if p.suffix == ".gz" else p.suffix.lower()
    try:
        if suffix.startswith(".parquet"):
            import pyarrow.parquet as pq

            records = pq.read_table(p).to_pylist()
        elif suffix.startswith(".csv"):
            import pyarrow.csv as pacsv

            records = pacsv.read_csv(p).to_pylist()
        else:
            text = p.read_text(encoding="utf-8")
            if text.lstrip().startswith("["):
                records = json.loads(text)
            else:
                records = [json.loads(ln) for ln in text.splitlines() if ln.strip()]
    except (OSError, ValueError, pa.ArrowException) as e:
        raise FormatError(f"{p}: cannot read events: {e}") from e
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise FormatError(f"{p}: events are records (objects)")
    n = len(records)
    cols = empty_columns(EVENT_FIELDS, n)
    missing = [k for k in ("t", "icao24", "type") if n and k not in records[0]]
    if missing:
        raise FormatError(f"{p}: events lack {missing}")
    try:
        cols["t"] = _epoch([r.get("t") for r in records])
        cols["icao24"] = np.array(
            [int(str(r["icao24"]).strip().lstrip("~"), 16) for r in records], dtype=np.uint32
        )
    except (ValueError, TypeError) as e:
        raise FormatError(f"{p}: bad t or icao24: {e}") from e
    for name in ("flight_id", "type", "airport"):
        arr = np.empty(n, dtype=object)
        arr[:] = [str(r.get(name) or "") for r in records]
        cols[name] = arr
    for name in ("lat", "lon"):
        cols[name] = np.array(
            [np.nan if r.get(name) is None else float(r[name]) for r in records], dtype=np.float64
        )
    det = np.empty(n, dtype=object)
    det[:] = [
        d if isinstance(d, str) else json.dumps(d or {}, sort_keys=True)
        for d in (r.get("details") for r in records)
    ]
    cols["details"] = det
    if n and "squawk" in records[0]:
        cols["squawk"] = np.array(
            [int(str(r["squawk"])) if r.get("squawk") not in (None, "") else -1 for r in records],
            dtype=np.int16,
        )
    if n and "callsign" in records[0]:
        cols["callsign"] = np.array(
            [str(r.get("callsign") or "").encode()[:8] for r in records], dtype="S8"
        )
    if n and "altitude_ft" in records[0]:
        cols["altitude_ft"] = np.array(
            [np.nan if r.get("altitude_ft") is None else float(r["altitude_ft"])
             for r in records], dtype=np.float64,
        )  # fmt: skip
    return cols
