"""Legs out of coverage: did an aircraft that vanished and reappeared fly there directly, or
did it probably stop on the way (and where)?

Pure functions over a few numbers (the last position before the gap, the first after, the
cruise speed): :class:`~tailwatch.detect.flights.FlightDetector` calls them at every gap.
Rules and thresholds: docs/events.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tailwatch.detect.params import DetectParams
from tailwatch.detect.places import Candidate, distance_between_nm, stop_candidates


@dataclass(frozen=True, slots=True)
class Fix:
    """One position: time, place, track, altitude (``NaN`` when unknown)."""

    t: float
    lat: float
    lon: float
    track_deg: float = math.nan
    alt_ft: float = math.nan
    gs_kt: float = math.nan


@dataclass(slots=True)
class Leg:
    """The leg between the last position before a gap and the first after it."""

    gap_s: float
    distance_nm: float
    cruise_kt: float
    direct_s: float
    allowance_s: float
    verdict: str  #: "direct" or "probable_stop"
    stop_confidence: float = 0.0
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def implied_kt(self) -> float:
        return self.distance_nm / (self.gap_s / 3600.0) if self.gap_s > 0 else math.inf

    def details(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "gap_s": round(self.gap_s, 1),
            "distance_nm": round(self.distance_nm, 1),
            "cruise_kt": round(self.cruise_kt, 1),
            "direct_time_s": round(self.direct_s, 1),
            "allowance_s": round(self.allowance_s, 1),
            "implied_kt": round(self.implied_kt, 1) if math.isfinite(self.implied_kt) else None,
            "verdict": self.verdict,
        }
        if self.verdict == "probable_stop":
            d["stop_confidence"] = round(self.stop_confidence, 3)
            d["candidates"] = [
                {"airport": c.airport, "confidence": c.confidence,
                 **{k: v for k, v in c.evidence.items() if k != "runner_up"}}
                for c in self.candidates
            ]
            if self.candidates and "runner_up" in self.candidates[0].evidence:
                d["runner_up"] = self.candidates[0].evidence["runner_up"]
        return d


def direct_allowance_s(distance_nm: float, cruise_kt: float, p: DetectParams) -> float:
    """Longest gap still explained by a direct flight: great-circle time at the cruise speed
    x (1 + ``direct_speed_margin``) + ``direct_fixed_margin_s``."""
    direct = distance_nm / max(cruise_kt, 1.0) * 3600.0
    return direct * (1.0 + p.direct_speed_margin) + p.direct_fixed_margin_s


def analyse_leg(
    a: Fix,
    b: Fix,
    cruise_kt: float,
    min_runway_ft: float,
    prior: dict[str, float],
    p: DetectParams,
    operator: str = "general",
) -> Leg:
    """Verdict on the unseen leg from ``a`` (last seen, airborne) to ``b`` (next seen,
    airborne).

    ``direct`` when the gap is at most :func:`direct_allowance_s`; otherwise
    ``probable_stop``, with a confidence growing with the excess time (0.5 at the limit,
    0.95 three hours beyond) and the candidate airports of
    :func:`~tailwatch.detect.places.stop_candidates` within the distance the aircraft could
    fly in the gap minus ``min_stop_s`` (at cruise speed x (1 + margin)).
    """
    gap = b.t - a.t
    dist = distance_between_nm(a.lat, a.lon, b.lat, b.lon)
    v = cruise_kt if math.isfinite(cruise_kt) and cruise_kt > 0 else p.default_cruise_kt
    direct = dist / v * 3600.0
    allowance = direct_allowance_s(dist, v, p)
    if gap <= allowance or gap < p.min_stop_s:
        return Leg(gap, dist, v, direct, allowance, "direct")
    excess = gap - allowance
    conf = 0.5 + 0.45 * min(1.0, excess / 10_800.0)
    budget = v * (1.0 + p.direct_speed_margin) * (gap - p.min_stop_s) / 3600.0
    cands = stop_candidates(
        a.lat, a.lon, a.track_deg, b.lat, b.lon, b.track_deg, budget, min_runway_ft, prior, p,
        operator=operator,
    )
    for c in cands:
        c.confidence = round(c.confidence * conf, 3)
    return Leg(gap, dist, v, direct, allowance, "probable_stop", conf, cands)


def unseen_move_confidence(
    gap_s: float, distance_nm: float, cruise_kt: float, p: DetectParams
) -> tuple[float, str]:
    """Confidence that an aircraft seen at place A and, ``gap_s`` later, at B (one end on the
    ground) flew from A to B directly: 0.8 when the gap fits a direct flight (plus 15 minutes
    for take-off or landing), 0.5 when it is longer (other legs may have been flown), 0.2 when
    it is too short for the distance at 1.3 x the cruise speed."""
    v = cruise_kt if math.isfinite(cruise_kt) and cruise_kt > 0 else p.default_cruise_kt
    if gap_s < distance_nm / (1.3 * v) * 3600.0:
        return 0.2, "too_fast"
    if gap_s <= direct_allowance_s(distance_nm, v, p) + 900.0:
        return 0.8, "direct"
    return 0.5, "longer_than_direct"
