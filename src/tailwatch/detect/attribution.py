"""Airport and runway of a take-off or landing seen only in the air, from geometry.

For the last positions of a flight that ends in the air (its first positions when it starts in
the air), every runway end of every airport within ``runway_fit_max_nm`` of the end point is
fitted (:func:`runway_fits`):

* **alignment**: the share of the low positions (below ``runway_max_height_ft`` above that
  field) that follow the end's extended centreline (``reference.runways.match_runway_ends``:
  track within 15°, inside the approach/climb-out cone);
* **lateral offset**: the median distance off the centreline, metres, of the aligned
  positions. This is what separates parallel runways (10 m from one, 380 m from the other);
* **distance along** the approach (before the threshold) or the climb-out (past the start of
  the runway) of the end point, and **height above the field** against a 3° path
  (``glide_ft_per_nm``, 318 ft/NM, + 50 ft over the threshold) for an approach, or against the
  steepest plausible climb (``climb_max_ft_per_nm``) for a climb-out;
* **type**: a runway shorter than the aircraft needs (``reference.types.runway_need_ft``, or
  the need the caller gives) is not a candidate;
* **operator**: an airline callsign at a military field without an IATA code (no scheduled
  service) weighs ``airline_military_weight``; a military airframe at one is plausible.

The fits are ranked by score; the best is the flight's runway, the runner-up is reported with
the reason it lost (:func:`why_lost`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tailwatch.detect.params import DetectParams
from tailwatch.detect.places import (
    AIRLINE,
    GENERAL,
    MILITARY,
    airport_info,
    airport_kind_weight,
    candidates,
    default_runways,
    operator_kind,
)
from tailwatch.reference.geo import EARTH_RADIUS_M, angle_diff_deg, unit_vectors
from tailwatch.reference.runways import MAX_ALONG_M, MAX_ANGLE_DEG, RunwayEnds

F64 = npt.NDArray[np.float64]

__all__ = ["AIRLINE", "GENERAL", "MILITARY", "RunwayFit", "fit_evidence", "operator_kind",
           "runway_fits", "why_lost"]

@dataclass(slots=True)
class RunwayFit:
    """How well the end of a track fits one runway end."""

    airport: str
    runway: str
    score: float
    aligned: int  #: positions following this runway end
    points: int  #: low positions considered
    offset_m: float  #: median |offset| off the centreline of the aligned positions
    along_m: float  #: of the end point, from the threshold along the direction of travel
    height_ft: float  #: end point above the runway end's airport
    expected_height_ft: float  #: on a 3° path (approach) / the highest plausible (climb)
    length_ft: float
    distance_nm: float  #: end point to the airport
    weight: float  #: operator weight applied

    def evidence(self) -> dict[str, Any]:
        return {
            "airport": self.airport, "runway": self.runway, "score": round(self.score, 3),
            "aligned_points": self.aligned, "points": self.points,
            "centreline_offset_m": _r(self.offset_m, 0),
            "along_m": _r(self.along_m, 0), "height_above_field_ft": _r(self.height_ft, 0),
            "expected_height_ft": _r(self.expected_height_ft, 0),
            "runway_length_ft": _r(self.length_ft, 0),
            "airport_distance_nm": _r(self.distance_nm, 2),
            "operator_weight": round(self.weight, 3),
        }


def _r(x: float, nd: int) -> float | None:
    return round(float(x), nd) if math.isfinite(x) else None


def runway_fits(
    lat: F64,
    lon: F64,
    track_deg: F64,
    alt_ft: F64,
    ahead: bool,
    need_ft: float,
    operator: str,
    p: DetectParams,
) -> list[RunwayFit]:
    """Every runway end near the end of the track, best first (see the module docstring).

    ``lat, lon, track_deg, alt_ft``: the last positions of a flight lost in the air
    (``ahead``) or the first ones of a flight first seen in the air, in time order.
    """
    good = np.isfinite(lat) & np.isfinite(lon)
    if not good.any():
        return []
    lat, lon, track_deg, alt_ft = lat[good], lon[good], track_deg[good], alt_ft[good]
    end = -1 if ahead else 0
    idx, dist = candidates(float(lat[end]), float(lon[end]), p.runway_fit_max_nm, k=12)
    if idx.size == 0:
        return []
    info = airport_info()
    ends = default_runways().ends
    codes = info.table.icao[idx]
    weights = airport_kind_weight(idx, operator, p)
    out: list[RunwayFit] = []
    rw = default_runways()
    for j in range(idx.size):
        code = str(codes[j])
        elev = float(info.table.elevation_ft[idx[j]])
        h = alt_ft - (elev if math.isfinite(elev) else 0.0)
        low = ~(h > p.runway_max_height_ft) & np.isfinite(track_deg)
        n_low = int(low.sum())
        if n_low < 2:
            continue
        resolved = str(rw.resolve(np.array([code]))[0])
        e0 = int(np.searchsorted(ends.airport_ident, resolved, side="left"))
        e1 = int(np.searchsorted(ends.airport_ident, resolved, side="right"))
        erows = np.arange(e0, e1)
        erows = erows[~ends.closed[erows]]
        if erows.size == 0:
            continue
        rows = np.flatnonzero(low)
        cross, along = _end_geometry(ends, erows, lat[rows], lon[rows])
        diff = np.abs(angle_diff_deg(track_deg[rows][:, None], ends.bearing_deg[erows][None, :]))
        length = ends.length_m[erows][None, :]
        beyond = np.maximum(np.maximum(-along, along - length), 0.0)
        corridor = p.runway_fit_corridor_m + beyond * math.tan(math.radians(5.0))
        aligned = (diff <= MAX_ANGLE_DEG) & (np.abs(cross) <= corridor)
        aligned &= (along >= -MAX_ALONG_M) & (along <= length + MAX_ALONG_M)
        aligned &= (along <= length) if ahead else (along >= 0.0)
        for c in range(erows.size):
            e = int(erows[c])
            sel = aligned[:, c]
            n_al = int(sel.sum())
            if n_al < 2:
                continue
            length_ft = float(ends.length_m[e]) / 0.3048
            if math.isfinite(need_ft) and length_ft < need_ft:
                continue
            offset = float(np.median(np.abs(cross[sel, c])))
            k = int(np.flatnonzero(sel)[end])
            along_k = float(along[k, c])
            h_end = float(h[rows[k]])
            if ahead:
                before_m = max(-along_k, 0.0)
                expected = before_m / 1852.0 * p.glide_ft_per_nm + 50.0
                tol = p.glide_tolerance_ft + 0.15 * expected
                resid = h_end - expected if math.isfinite(h_end) else 0.0
                vert = math.exp(-0.5 * (resid / tol) ** 2)
                spread = 60.0 + 0.03 * before_m
            else:
                past_m = max(along_k, 0.0)
                expected = past_m / 1852.0 * p.climb_max_ft_per_nm + p.glide_tolerance_ft
                resid = h_end - expected if math.isfinite(h_end) else 0.0
                vert = 1.0 if resid <= 0 else math.exp(-0.5 * (resid / p.glide_tolerance_ft) ** 2)
                spread = 60.0 + 0.03 * max(along_k - float(ends.length_m[e]), 0.0)
            lateral = math.exp(-0.5 * (offset / spread) ** 2)
            share = n_al / n_low
            score = share * lateral * vert * float(weights[j])
            out.append(RunwayFit(code, str(ends.ident[e]), score, n_al, n_low, offset, along_k,
                                 h_end, expected, length_ft, float(dist[j]), float(weights[j])))
    out.sort(key=lambda f: -f.score)
    return out


def _end_geometry(ends: RunwayEnds, erows: npt.NDArray[np.int64], lat: F64, lon: F64
                  ) -> tuple[F64, F64]:
    """(offset m, + right of travel; along m from the threshold) of every point for every
    runway end ``erows``: arrays (points, ends)."""
    pts = unit_vectors(lat, lon).reshape(-1, 3)
    n = ends.normals[erows]
    tt = ends.tangents[erows]
    a = ends.thresholds[erows]
    cross = -np.arcsin(np.clip(pts @ n.T, -1.0, 1.0)) * EARTH_RADIUS_M
    along = np.arctan2(pts @ tt.T, pts @ a.T) * EARTH_RADIUS_M
    return cross, along


def why_lost(best: RunwayFit, other: RunwayFit) -> str:
    """The main reason ``other`` ranks below ``best``, in words."""
    reasons = []
    if other.weight < best.weight:
        reasons.append(f"operator weight {other.weight:g} (airline at a military field "
                       "or an airport without scheduled service)")
    if other.offset_m > best.offset_m + 30.0:
        reasons.append(f"{other.offset_m:.0f} m off its centreline against "
                       f"{best.offset_m:.0f} m")
    if other.aligned < best.aligned:
        reasons.append(f"{other.aligned} aligned positions against {best.aligned}")
    hb = abs(best.height_ft - best.expected_height_ft)
    ho = abs(other.height_ft - other.expected_height_ft)
    if math.isfinite(ho) and math.isfinite(hb) and ho > hb + 100.0:
        reasons.append(f"{ho:.0f} ft off the expected height against {hb:.0f} ft")
    if not reasons:
        reasons.append(f"lower score ({other.score:.3f} against {best.score:.3f})")
    return "; ".join(reasons)


def fit_evidence(fits: list[RunwayFit]) -> dict[str, Any]:
    """Details of the best fit with its runner-up and why it lost."""
    if not fits:
        return {}
    best = fits[0]
    out: dict[str, Any] = {"runway_fit": best.evidence()}
    if len(fits) > 1:
        ru = fits[1]
        out["runway_runner_up"] = {**ru.evidence(), "why_lost": why_lost(best, ru)}
    return out
