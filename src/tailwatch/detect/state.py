"""Per-aircraft and per-flight state of :class:`~tailwatch.detect.flights.FlightDetector`:
the flight being built (its two ends and their evidence), take-offs and landings waiting for
their runway, and each airframe's buffers and kernel states."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tailwatch.detect import events as ev
from tailwatch.detect import kinematics as km
from tailwatch.detect import places as pl
from tailwatch.detect.columns import Buffer, Columns
from tailwatch.detect.itinerary import Fix
from tailwatch.detect.params import DetectParams

F64 = npt.NDArray[np.float64]

AIR = km.AIR
GROUND = km.GROUND


@dataclass(slots=True)
class FlightEnd:
    """Origin or destination of a flight from each kind of evidence."""

    seen: pl.Attribution | None = None  # take-off / landing observed
    link: tuple[str, float, str] | None = None  # (airport, confidence, how) from a gap
    guess: list[pl.Candidate] = field(default_factory=list)  # climb / descent candidates

    def best(self) -> tuple[str, float, str]:
        if self.seen is not None and self.seen.airport:
            return self.seen.airport, self.seen.confidence, "seen"
        if self.link is not None and self.link[0]:
            return self.link
        if self.guess:
            c = self.guess[0]
            return c.airport, c.confidence, "inferred_from_track"
        return "", 0.0, ""


def guess_runway(end: FlightEnd, airport: str) -> str:
    """The runway the track fitted at the end's airport (air starts and ends)."""
    if end.guess and airport and end.guess[0].airport == airport:
        return str(end.guess[0].evidence.get("runway", ""))
    return ""


@dataclass(slots=True)
class FlightState:
    icao: int
    serial: int
    first_seen: float
    flight_id: str
    itinerary_id: str = ""
    last_seen: float = math.nan
    n: int = 0
    max_alt: float = math.nan
    dist_nm: float = 0.0
    callsigns: dict[str, int] = field(default_factory=dict)
    takeoff_t: float = math.nan
    landing_t: float = math.nan
    origin: FlightEnd = field(default_factory=FlightEnd)
    destination: FlightEnd = field(default_factory=FlightEnd)
    landed: bool = False
    closed: bool = False
    inferred: bool = False  # a leg never seen (n == 0)
    prev_air: tuple[float, float, float] | None = None  # t, lat, lon of the last air row
    first_air: Fix | None = None
    last_air: Fix | None = None
    hi_sum: float = 0.0
    hi_n: int = 0
    mid_sum: float = 0.0
    mid_n: int = 0
    head: Columns = field(default_factory=dict)  # first airborne positions
    air_end_reported: bool = False  # inferred landing event of an air end emitted
    air_start_reported: bool = False  # inferred take-off event of an air start emitted

    def cruise_kt(self, default: float) -> float:
        if self.hi_n:
            return self.hi_sum / self.hi_n
        if self.mid_n:
            return self.mid_sum / self.mid_n
        return default

    def row(self) -> tuple[Any, ...]:
        origin, o_conf, _ = self.origin.best()
        dest, d_conf, _ = self.destination.best()
        ordered = sorted(self.callsigns.items(), key=lambda kv: -kv[1])
        main = ordered[0][0] if ordered else ""
        return (
            self.flight_id, self.icao, main, self.first_seen, self.last_seen, origin, dest,
            self.takeoff_t, self.landing_t,
            self.origin.seen.runway if self.origin.seen else guess_runway(self.origin, origin),
            self.destination.seen.runway if self.destination.seen else guess_runway(
                self.destination, dest),
            o_conf, d_conf, self.max_alt, self.dist_nm if self.n else math.nan, self.n,
            ",".join(self.callsigns), self.itinerary_id,
        )


@dataclass(slots=True)
class PendingTransition:
    kind: str  # "takeoff", "landing", "touch_and_go"
    t: float
    flight: FlightState
    t2: float = math.nan  # touch-and-go: lift-off time

    def horizon(self, p: DetectParams) -> float:
        if self.kind == "takeoff":
            return self.t + p.transition_post_s
        if self.kind == "landing":
            return self.t + max(p.transition_post_s, p.touch_and_go_max_s)
        return self.t2 + p.transition_post_s


@dataclass(slots=True)
class AircraftState:
    icao: int
    store: Buffer = field(default_factory=Buffer)
    n_done: int = 0
    state: int = -1
    last_t: float = math.nan
    last_eff: int = -1
    alt_state: F64 = field(default_factory=km.new_alt_state)
    squawk_state: F64 = field(default_factory=ev.new_code_state)
    emerg_state: F64 = field(default_factory=ev.new_code_state)
    gnss_state: F64 = field(default_factory=ev.new_gnss_state)
    orbit_state: F64 = field(default_factory=ev.new_orbit_state)
    orbit: Columns = field(default_factory=dict)
    flight: FlightState | None = None
    closed: FlightState | None = None
    latest: FlightState | None = None  # most recent flight (itinerary chaining)
    reopenable: bool = False
    serials: list[str] = field(default_factory=list)
    pre_t: F64 = field(default_factory=lambda: np.zeros(0))
    pre_cs: npt.NDArray[np.bytes_] = field(default_factory=lambda: np.zeros(0, "S8"))
    ground_airport: str = ""
    ground_t: float = math.nan
    ground_fix: Fix | None = None
    pendings: list[PendingTransition] = field(default_factory=list)
    left_coverage: bool = False
    finalized: bool = False
    visit: int = 0
    mil_reported: set[tuple[str, int]] = field(default_factory=set)
    ga_watermark: float = -math.inf
    last_jump_t: float = -math.inf
    rejected: dict[str, int] = field(default_factory=dict)
    hygiene: dict[str, int] = field(default_factory=dict)  # rows kept out of decisions
    raw_tail: dict[str, F64] = field(default_factory=dict)  # last 2 input rows (hygiene)
    inbox: list[Columns] = field(default_factory=list)  # positions not processed yet
    inbox_t: float = math.nan  # time of the oldest of them

    @property
    def buf(self) -> Columns:
        return self.store.cols


def time_to(evidence: Mapping[str, Any], gs_kt: float, p: DetectParams) -> float:
    """Seconds between the threshold (or lift-off) and the first/last position of a runway
    fit, at the position's ground speed (``default`` 140 kt when unknown)."""
    fit = evidence.get("runway_fit") or {}
    along = fit.get("along_m")
    v = gs_kt if math.isfinite(gs_kt) and gs_kt > 30.0 else 140.0
    if along is None:
        return 0.0
    return abs(float(along)) / (v * 1852.0 / 3600.0)


def inferred_details(cands: list[pl.Candidate], key: str, t: float) -> dict[str, Any]:
    best = cands[0]
    return {
        "seen": False, "inferred_from": "track", key: t,
        "runway": best.evidence.get("runway", ""), "confidence": best.confidence,
        **{k: v for k, v in best.evidence.items() if k != "runway"},
        "candidates": [{"airport": c.airport, "confidence": c.confidence} for c in cands],
    }
