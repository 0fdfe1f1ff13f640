"""Stops across coverage gaps: an aircraft last seen low near an airport and seen again, after
long enough to land and take off, low near the same airport, stopped there.

Receivers rarely see the last few hundred feet of an approach to a small field, nor the first
ones of the climb-out: "last seen 4 NM out on final at 1,000 ft, seen again 43 minutes later
climbing out 2.6 NM from the same airport" is a landing and a take-off there, not a direct leg
flown at an implied 2 kt. :func:`airport_stop` finds that airport (rule in docs/events.md,
"Stops across gaps"); :class:`~tailwatch.detect.flights.FlightDetector` applies it before
judging the gap as a direct leg or a probable stop somewhere else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tailwatch.detect.itinerary import Fix
from tailwatch.detect.params import DetectParams
from tailwatch.detect.places import (
    Candidate,
    add_runner_up,
    airport_info,
    airport_kind_weight,
    candidates,
    distance_between_nm,
)
from tailwatch.reference.geo import distance_nm


@dataclass(slots=True)
class AirportStop:
    """A stop at one airport inside a gap, with the time bounds the gap allows."""

    airport: str
    confidence: float
    landing_after_t: float  #: earliest touch-down: last seen + flying time to the airport
    takeoff_before_t: float  #: latest lift-off: next seen - flying time from the airport
    candidates: list[Candidate] = field(default_factory=list)
    implied_kt: float = math.nan

    def details(self, gap_s: float) -> dict[str, Any]:
        best = self.candidates[0].evidence if self.candidates else {}
        return {
            "verdict": "stop_at_airport",
            "gap_s": round(gap_s, 1),
            "implied_kt": None if not math.isfinite(self.implied_kt)
            else round(self.implied_kt, 1),
            "landing_after_t": round(self.landing_after_t, 1),
            "takeoff_before_t": round(self.takeoff_before_t, 1),
            "ground_s_max": round(self.takeoff_before_t - self.landing_after_t, 1),
            "stop_confidence": round(self.confidence, 3),
            "candidates": [{"airport": c.airport, "confidence": c.confidence,
                            **{k: v for k, v in c.evidence.items() if k != "runner_up"}}
                           for c in self.candidates],
            **({"runner_up": best["runner_up"]} if "runner_up" in best else {}),
        }


def implausibly_slow(a: Fix, b: Fix, cruise_kt: float, p: DetectParams) -> bool:
    """Whether a direct leg from ``a`` to ``b`` would be flown slower than
    ``direct_min_speed_frac`` x the cruise speed (e.g. 2 kt between two points near one
    airport): then the aircraft did something else in the gap."""
    gap = b.t - a.t
    if gap <= 0:
        return False
    d = distance_between_nm(a.lat, a.lon, b.lat, b.lon)
    return d / (gap / 3600.0) < p.direct_min_speed_frac * cruise_kt


def airport_stop(
    a: Fix,
    b: Fix,
    need_ft: float,
    operator: str,
    prior: dict[str, float],
    p: DetectParams,
) -> AirportStop | None:
    """The airport where an aircraft last seen at ``a`` (airborne) and next seen at ``b``
    (airborne) stopped, when both ends are low and near it; ``None`` otherwise.

    An airport X is a candidate when: both ends are within ``gap_stop_max_nm`` of it; the
    height of ``a`` above X is at most ``gap_stop_approach_ft_per_nm`` x d(a, X) +
    ``gap_stop_height_margin_ft`` (a plausible approach), that of ``b`` at most
    ``gap_stop_climb_ft_per_nm`` x d(X, b) + the margin (a plausible climb-out), and both at
    least ``gap_stop_min_ft_per_nm`` x the distance - ``gap_stop_low_margin_ft``; its longest
    hard runway is at least ``need_ft`` (unknown lengths allowed for needs of
    ``gap_stop_unknown_runway_ft`` or less); and the gap leaves at least ``gap_stop_min_ground_s``
    on the ground after flying a -> X -> b at ``gap_stop_speed_kt``. Weight:
    exp(-(d(a,X) + d(X,b)) / ``gap_stop_scale_nm``) x operator weight x (1 + 10 x prior).
    Confidence: (0.5 + 0.45 x the best's share of the weights) x exp(-the farther end's
    distance / ``gap_stop_max_nm``).
    """
    gap = b.t - a.t
    if not (gap > 0 and math.isfinite(a.lat) and math.isfinite(b.lat)):
        return None
    mid_lat, mid_lon = 0.5 * (a.lat + b.lat), 0.5 * (a.lon + b.lon)
    d_ab = distance_between_nm(a.lat, a.lon, b.lat, b.lon)
    if d_ab > 2 * p.gap_stop_max_nm:
        return None
    idx, _ = candidates(mid_lat, mid_lon, p.gap_stop_max_nm + 0.5 * d_ab, k=20)
    if idx.size == 0:
        return None
    info = airport_info()
    la, lo = info.table.lat_deg[idx], info.table.lon_deg[idx]
    d_a = np.asarray(distance_nm(a.lat, a.lon, la, lo), dtype=np.float64)
    d_b = np.asarray(distance_nm(la, lo, b.lat, b.lon), dtype=np.float64)
    elev = info.table.elevation_ft[idx]
    elev = np.where(np.isfinite(elev), elev, 0.0)
    h_a = a.alt_ft - elev
    h_b = b.alt_ft - elev
    ok = (d_a <= p.gap_stop_max_nm) & (d_b <= p.gap_stop_max_nm)
    ok &= ~(h_a > p.gap_stop_approach_ft_per_nm * d_a + p.gap_stop_height_margin_ft)
    ok &= ~(h_b > p.gap_stop_climb_ft_per_nm * d_b + p.gap_stop_height_margin_ft)
    # ... and not far below any approach or climb: 100 ft, 8 NM out is low flying (a TV
    # helicopter following a race), not an approach
    ok &= ~(h_a < p.gap_stop_min_ft_per_nm * d_a - p.gap_stop_low_margin_ft)
    ok &= ~(h_b < p.gap_stop_min_ft_per_nm * d_b - p.gap_stop_low_margin_ft)
    rwy = info.max_hard_runway_ft[idx]
    ok &= (rwy >= need_ft) | (np.isnan(rwy) & (need_ft <= p.gap_stop_unknown_runway_ft))
    fly_a = d_a / p.gap_stop_speed_kt * 3600.0
    fly_b = d_b / p.gap_stop_speed_kt * 3600.0
    ok &= gap - fly_a - fly_b >= p.gap_stop_min_ground_s
    if not ok.any():
        return None
    codes = info.table.icao[idx]
    w = np.exp(-(d_a + d_b) / p.gap_stop_scale_nm) * airport_kind_weight(idx, operator, p)
    for code, weight in prior.items():
        w = np.where(codes == code, w * (1.0 + 10.0 * weight), w)
    w = np.where(ok, w, 0.0)
    total = float(w.sum())
    order = np.argsort(-w, kind="stable")[: p.max_stop_candidates]
    cands: list[Candidate] = []
    for i in order.tolist():
        if w[i] <= 0:
            break
        cands.append(Candidate(str(codes[i]), round(float(w[i] / total), 3), float(d_a[i]), {
            "from_last_seen_nm": round(float(d_a[i]), 1),
            "to_next_seen_nm": round(float(d_b[i]), 1),
            "last_seen_height_ft": None if not math.isfinite(h_a[i]) else round(float(h_a[i])),
            "next_seen_height_ft": None if not math.isfinite(h_b[i]) else round(float(h_b[i])),
            "max_runway_ft": None if not math.isfinite(rwy[i]) else round(float(rwy[i])),
            "prior": round(prior.get(str(codes[i]), 0.0), 3),
            # the detour of a stop at X against the other candidates (for why_lost)
            "detour_nm": round(float(d_a[i] + d_b[i]), 1),
        }))
    add_runner_up(cands)
    best = int(order[0])
    far = max(float(d_a[best]), float(d_b[best]))
    conf = (0.5 + 0.45 * cands[0].confidence) * math.exp(-far / p.gap_stop_max_nm)
    return AirportStop(str(codes[best]), conf, a.t + float(fly_a[best]), b.t - float(fly_b[best]),
                       cands, d_ab / (gap / 3600.0))
