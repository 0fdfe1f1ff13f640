"""The demo: the whole pipeline on the built-in data, as a newcomer's first run.

1. The real AFR34ZG recording (Paris CDG → Toulouse, 2024) is replayed.
2. The March 2019 airlift scenario (a reconstruction from press reports, simulated with real
   message encodings: src/tailwatch/simulate/scenarios/airlift2019.toml) is played.

Both go through ingest → decode → track → detect → store, with the demo's watchlist
(data/demo/rules.toml) evaluated on every event; events and alerts are printed as they fire.
Identities come from the ICAO address (country, algorithmic registration) and from the demo's
annotation file (data/demo/annotations.toml: press facts about the two airframes).
"""

from __future__ import annotations

import itertools
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from tailwatch.alert.engine import AlertEngine
from tailwatch.alert.model import Alert
from tailwatch.alert.rules import load_rules
from tailwatch.core.frames import FrameBatch
from tailwatch.data import AFR34ZG, sample_path
from tailwatch.detect import Detector
from tailwatch.ingest.files import read_frames
from tailwatch.pipeline import Pipeline
from tailwatch.reference.identity import Annotations, identify_many
from tailwatch.store.base import Store, open_store
from tailwatch.track.tracker import PositionBatch, Tracker

DEMO_DATA = Path(__file__).parent / "data" / "demo"
SCENARIO = "airlift2019"
BATCH_S = 60.0  # simulated seconds per batch


@dataclass
class DemoResult:
    """What the demo found (also what the tests check)."""

    flights: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    counters: dict[str, Any] = field(default_factory=dict)
    db: str = ""


class Identities:
    """Identity of every airframe seen, resolved once per address."""

    def __init__(self, annotations: Annotations) -> None:
        self.annotations = annotations
        self._rows: dict[int, dict[str, Any]] = {}

    def resolve(self, icao24: np.ndarray, callsign: np.ndarray | None = None) -> pa.Table:
        return identify_many(np.asarray(icao24, dtype=np.uint32), callsign,
                             annotations=self.annotations)

    def learn(self, positions: PositionBatch) -> None:
        icao, first = np.unique(positions["icao24"], return_index=True)
        new = [i for i, a in enumerate(icao.tolist()) if a not in self._rows]
        if not new:
            return
        rows = self.resolve(icao[new], positions["callsign"][first[new]]).to_pylist()
        for a, row in zip(icao[new].tolist(), rows, strict=True):
            self._rows[int(a)] = row

    def get(self, icao24: int) -> dict[str, Any]:
        return self._rows.get(int(icao24), {})

    def military(self) -> set[int]:
        return {a for a, r in self._rows.items() if r.get("military")}

    def describe(self, icao24: int) -> str:
        r = self.get(icao24)
        name = r.get("registration") or f"{int(icao24):06x}"
        kind = r.get("description") or r.get("typecode") or ""
        flags = ", ".join(x for x in (r.get("country"), "military" if r.get("military")
                                      else "") if x)
        return " ".join(x for x in (name, kind, f"({flags})" if flags else "") if x)


def _rows(cols: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    n = len(next(iter(cols.values()))) if cols else 0
    return [{k: (v[i].item() if hasattr(v[i], "item") else v[i]) for k, v in cols.items()}
            for i in range(n)]


class Demo:
    """Runs the demo; ``say`` prints a line to the terminal."""

    def __init__(self, db: Path, console: Console, *, speed: float | None = None,
                 on_snapshot: Callable[[Any], object] | None = None) -> None:
        self.console = console
        self.speed = speed
        self.db_path = db
        if db.exists():
            db.unlink()
        for extra in db.parent.glob(db.name + ".wal"):
            extra.unlink()
        db.parent.mkdir(parents=True, exist_ok=True)
        self.store: Store = open_store(str(db))
        self.identities = Identities(Annotations.load(DEMO_DATA / "annotations.toml"))
        self.detector = Detector()
        self.alerts = AlertEngine(load_rules(DEMO_DATA / "rules.toml"),
                                  identify=lambda a, c: self.identities.resolve(a, c))
        self.result = DemoResult(db=str(db))
        self.on_snapshot = on_snapshot
        self.pipeline = Pipeline(tracker=Tracker(), sinks=[self._positions],
                                 on_snapshot=self._publish)

    def _publish(self, snapshot: Any) -> None:
        if self.on_snapshot is not None:
            self.on_snapshot(snapshot)

    # --- sinks ---------------------------------------------------------------------------------
    def _positions(self, positions: PositionBatch) -> None:
        if len(positions):
            self.store.write("positions", positions.columns)
            self.identities.learn(positions)
            self.detector.military = frozenset(self.identities.military())
        flights, events = self.detector.update(positions, rejects=positions.rejects)
        self._emit(flights, events)

    _positions.takes_rejects = True  # type: ignore[attr-defined]  # also batches of rejects only

    def _emit(self, flights: dict[str, np.ndarray], events: dict[str, np.ndarray]) -> None:
        if flights and len(flights.get("flight_id", ())):
            self.store.write("flights", flights)
            self.result.flights += _rows(flights)
        if not events or not len(events.get("t", ())):
            return
        self.store.write("events", events)
        rows = _rows(events)
        self.result.events += rows
        for e in rows:
            if e["type"] in ("takeoff", "landing", "stopover", "inferred_stop", "emergency"):
                self.console.print(self._event_line(e))
        for alert in self.alerts.evaluate_events(events):
            self.result.alerts.append(alert)
            airport = (alert.evidence.get("row") or {}).get("airport") or ""
            self.console.print(f"[bold red]ALERT[/] {alert.rule_name}: "
                               f"{self.identities.describe(int(alert.icao24, 16))} "
                               f"{alert.what} {airport} at {alert.time_iso}")

    def _event_line(self, e: dict[str, Any]) -> str:
        when = time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(float(e["t"])))
        who = self.identities.describe(int(e["icao24"]))
        place = e.get("airport") or ""
        extra = ""
        if e["type"] in ("landing", "inferred_stop"):
            itinerary = self._itinerary(int(e["icao24"]))
            if itinerary:
                extra = f" — itinerary {itinerary}"
        return f"[cyan]{when}[/] {who} [bold]{e['type'].replace('_', ' ')}[/] {place}{extra}"

    def _itinerary(self, icao24: int) -> str:
        stops: list[str] = []
        for e in self.result.events:
            if int(e["icao24"]) != icao24 or not e.get("airport"):
                continue
            if e["type"] in ("takeoff", "landing", "inferred_stop"):
                label = e["airport"] + ("?" if e["type"] == "inferred_stop" else "")
                if not stops or stops[-1].rstrip("?") != e["airport"]:
                    stops.append(label)
        return " → ".join(stops)

    # --- sources -------------------------------------------------------------------------------
    def recording(self) -> Iterator[FrameBatch]:
        yield from read_frames(sample_path(AFR34ZG), "jsonl", batch_size=8192)

    def scenario(self) -> tuple[Any, Iterator[FrameBatch]]:
        from tailwatch.simulate.feed import simulate
        from tailwatch.simulate.scenario import load_scenario

        sim = simulate(load_scenario(SCENARIO))
        self.pipeline.tracker.set_receivers(sim.receiver_positions())
        fb = sim.frames
        t = fb.t_rx

        def batches() -> Iterator[FrameBatch]:
            if len(fb) == 0:
                return
            edges = np.arange(t[0], t[-1] + BATCH_S, BATCH_S)
            idx = np.searchsorted(t, edges)
            for a, b in itertools.pairwise(idx):
                if b > a:
                    yield fb.take(np.arange(a, b))

        return sim, batches()

    # --- run -------------------------------------------------------------------------------------
    def run(self) -> DemoResult:
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn(
                "{task.completed:,} frames"), TimeElapsedColumn(), console=self.console,
                transient=False) as progress:
            self.console.print("[bold]1/2[/] real recording: AFR34ZG, Paris CDG → Toulouse, "
                               "2024-07-06")
            task = progress.add_task("AFR34ZG recording", total=57793)
            for fb in self.recording():
                self._process(fb)
                progress.advance(task, len(fb))
            # Each source is its own timeline (2024, then 2019): close the first one's flights
            # and start the live table afresh (the recording stays in the store's history).
            self._emit(*self.detector.flush())
            self.detector = Detector()
            self.pipeline.tracker = Tracker()
            self.console.print("[bold]2/2[/] simulated: the March 2019 airlift to Caracas "
                               "(a reconstruction from press reports, not a recording)")
            sim, batches = self.scenario()
            task = progress.add_task("airlift 2019 scenario", total=len(sim.frames))
            for fb in batches:
                self._paced(fb)
                self._process(fb)
                progress.advance(task, len(fb))
        self._emit(*self.detector.flush())
        self.pipeline.snapshot()  # the final picture for the live view
        self.result.counters = dict(self.pipeline.counters())
        return self.result

    def _process(self, fb: FrameBatch) -> None:
        self.pipeline.process(fb)

    def _paced(self, fb: FrameBatch) -> None:
        if self.speed is None or len(fb) == 0:
            return
        span = float(fb.t_rx[-1] - fb.t_rx[0])
        if span > 0:
            time.sleep(min(span / self.speed, 2.0))

    def close(self) -> None:
        self.store.close()


def latest_flights(result: DemoResult) -> list[dict[str, Any]]:
    """One row per flight: the detector reports a flight again whenever it learns more."""
    by_id: dict[str, dict[str, Any]] = {}
    for f in result.flights:
        by_id[f["flight_id"]] = f
    return sorted(by_id.values(), key=lambda f: (int(f["icao24"]), f["first_seen"]))


def unseen_spans(result: DemoResult, icao24: int) -> list[tuple[float, float]]:
    """(left coverage, came back) time pairs of one airframe."""
    out: list[tuple[float, float]] = []
    left: float | None = None
    for e in sorted(result.events, key=lambda e: e["t"]):
        if int(e["icao24"]) != icao24:
            continue
        if e["type"] == "leave_coverage":
            left = float(e["t"])
        elif e["type"] == "enter_coverage" and left is not None:
            out.append((left, float(e["t"])))
            left = None
    return out


def _hm(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(t)) if t == t else "not seen"


def summary(result: DemoResult, identities: Identities) -> list[str]:
    """Human-readable lines: the flights of the notable airframes (military and state, and the
    real recording), their unseen legs, the alerts, and the counters."""
    flights = latest_flights(result)
    notable = {int(f["icao24"]) for f in flights
               if identities.get(int(f["icao24"])).get("military")}
    notable |= {0x393322}
    lines = ["", "[bold]Flights of the notable airframes[/]"]
    for f in flights:
        a = int(f["icao24"])
        if a not in notable:
            continue
        lines.append(f"  {identities.describe(a)} {f['callsign'] or ''}: "
                     f"{f['origin'] or '?'} {_hm(f['takeoff_t'])} → "
                     f"{f['destination'] or '?'} {_hm(f['landing_t'])}")
        for t0, t1 in unseen_spans(result, a):
            if f["first_seen"] <= t0 <= f["last_seen"]:
                lines.append(f"      unseen {(t1 - t0) / 3600:.1f} h ({_hm(t0)} → {_hm(t1)}): "
                             "out of every receiver's coverage")
    others = {int(f["icao24"]) for f in flights} - notable
    lines.append(f"  … and {len([f for f in flights if int(f['icao24']) in others])} flights of "
                 f"{len(others)} other aircraft (background traffic)")
    lines.append(f"[bold]Alerts[/]: {len(result.alerts)}")
    for al in result.alerts:
        lines.append(f"  {al.rule_name}: {identities.describe(int(al.icao24, 16))} {al.what} at "
                     f"{al.time_iso}")
    c = result.counters
    lines.append(f"Frames {c.get('frames', 0):,}, messages {c.get('messages', 0):,}, positions "
                 f"{c.get('positions', 0):,}; store {result.db}")
    return lines


def fresh_db(data_dir: Path) -> Path:
    d = data_dir / "demo"
    if d.exists():
        shutil.rmtree(d)
    return d / "demo.duckdb"


__all__ = ["Demo", "DemoResult", "fresh_db", "summary"]
