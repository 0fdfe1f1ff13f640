"""Airports for the detectors: which airport and runway a take-off or landing used, which
airports lie ahead of a descent or behind a climb, where an aircraft out of coverage could
have stopped, and whether an airport is military.

Built on :mod:`tailwatch.reference.airports` (positions, elevations, the grid search) and
:mod:`tailwatch.reference.runways` (runway lengths, ``match_runway``). Rules and thresholds
are in docs/events.md.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tailwatch.detect.params import DetectParams
from tailwatch.reference.airports import AirportTable, airports, nearest_airports
from tailwatch.reference.geo import (
    EARTH_RADIUS_M,
    M_PER_NM,
    angle_diff_deg,
    distance_nm,
    initial_bearing_deg,
    unit_vectors,
)
from tailwatch.reference.operators import STATE_OPERATORS, designator_of_callsign
from tailwatch.reference.runways import default_runways, match_runway, match_runway_ends

F64 = npt.NDArray[np.float64]

__all__ = [
    "AIRLINE",
    "GENERAL",
    "MILITARY",
    "MILITARY_AIRPORTS",
    "AirportInfo",
    "Attribution",
    "Candidate",
    "add_runner_up",
    "airport_info",
    "airport_kind_weight",
    "attribute_transition",
    "candidates_along",
    "default_runways",
    "is_military_airport",
    "match_runway",
    "match_runway_ends",
    "nearest",
    "operator_kind",
    "stop_candidates",
]

_SOFT = re.compile(r"TURF|GRASS|GRS|GRE|DIRT|GRAVEL|GRVL|GVL|EARTH|SAND|SNOW|ICE|WATER|SOIL|CLAY")
_WATER = re.compile(r"WATER")

#: Words in an airport's name that make it a military airfield.
MILITARY_NAME_WORDS = (
    "air base", "airbase", "air force", "afb", "raf", "military", "naval", "navy", "army",
    "nas", "air station", "marine corps", "joint base", "base aerea", "base aérea",
    "base aérienne", "fliegerhorst",
)
#: Military airfields whose name does not say so (extend with ``military_airports=``).
MILITARY_AIRPORTS = frozenset({
    "UUMU",  # Chkalovsky, Russian Air Force
    "ETNG",  # Geilenkirchen, NATO AEW&C base
    "ETNW",  # Wunstorf, Luftwaffe
})
_MIL_RE = re.compile(
    r"\b(" + "|".join(re.escape(w) for w in MILITARY_NAME_WORDS) + r")\b", re.IGNORECASE
)


@dataclass(frozen=True, slots=True, eq=False)
class AirportInfo:
    """The airport table with, per row, the longest open runway (ft, ``NaN`` when none is
    known), the longest one with a hard or unknown surface, and a military flag."""

    table: AirportTable
    max_runway_ft: F64
    max_hard_runway_ft: F64
    military: npt.NDArray[np.bool_]
    has_iata: npt.NDArray[np.bool_]  #: an IATA code: a proxy for scheduled service
    xyz: F64  #: (n, 3) Earth-centred unit vectors

    def index(self, icao: str) -> int:
        return int(self.table.indices_of([icao])[0]) if icao else -1

    def icao(self, i: int) -> str:
        return str(self.table.icao[i]) if i >= 0 else ""

    def elevation_ft(self, idx: npt.NDArray[np.int64]) -> F64:
        return np.where(idx >= 0, self.table.elevation_ft[np.maximum(idx, 0)], np.nan)


@functools.cache
def airport_info() -> AirportInfo:
    """:class:`AirportInfo` of the default airports and runways (built once)."""
    return build_airport_info(airports())


def build_airport_info(
    table: AirportTable, military_airports: frozenset[str] = MILITARY_AIRPORTS
) -> AirportInfo:
    rw = default_runways()
    ok = ~rw.closed
    surface = np.char.upper(rw.surface.astype(np.str_))
    water = np.array([bool(_WATER.search(s)) for s in surface.tolist()], dtype=bool)
    soft = np.array([bool(_SOFT.search(s)) for s in surface.tolist()], dtype=bool)
    length = np.where(ok & ~water, rw.length_ft, np.nan)
    hard_length = np.where(ok & ~soft, rw.length_ft, np.nan)
    ident, inv = np.unique(rw.airport_ident, return_inverse=True)
    best = np.full(ident.size, np.nan)
    best_hard = np.full(ident.size, np.nan)
    np.fmax.at(best, inv, length)
    np.fmax.at(best_hard, inv, hard_length)
    wanted = rw.resolve(table.icao)
    pos = np.searchsorted(ident, wanted)
    g = np.minimum(pos, max(ident.size - 1, 0))
    found = (pos < ident.size) & (ident[g] == wanted) if ident.size else np.zeros(len(table), bool)
    names = [str(n) for n in table.name]
    mil = np.array([bool(_MIL_RE.search(n)) for n in names], dtype=bool)
    mil |= np.isin(table.icao, np.array(sorted(military_airports), dtype=table.icao.dtype))
    return AirportInfo(
        table=table,
        max_runway_ft=np.where(found, best[g], np.nan) if ident.size else np.full(len(table),
                                                                                   np.nan),
        max_hard_runway_ft=np.where(found, best_hard[g], np.nan) if ident.size else np.full(
            len(table), np.nan),
        military=mil,
        has_iata=np.char.str_len(table.iata.astype(np.str_)) > 0,
        xyz=unit_vectors(table.lat_deg, table.lon_deg).reshape(-1, 3),
    )


def nearest(
    lat: npt.ArrayLike, lon: npt.ArrayLike, max_nm: float, k: int = 1
) -> tuple[npt.NDArray[np.int64], F64]:
    """Nearest airports (see :func:`tailwatch.reference.airports.nearest_airports`)."""
    return nearest_airports(lat, lon, max_distance_nm=max_nm, k=k, table=airport_info().table)


def candidates(lat: float, lon: float, max_nm: float, k: int) -> tuple[npt.NDArray[np.int64], F64]:
    """The (up to ``k``) airports within ``max_nm`` of one point, nearest first, as flat
    arrays of airport rows and distances (NM) without the empty places."""
    idx, dist = nearest(lat, lon, max_nm, k=k)
    idx = np.atleast_1d(idx).reshape(-1)
    dist = np.atleast_1d(dist).reshape(-1)
    keep = idx >= 0
    return idx[keep], dist[keep]


def height_above_nearest(
    lat: F64, lon: F64, alt_ft: F64, max_nm: float
) -> tuple[npt.NDArray[np.int64], F64, F64]:
    """(airport row, distance NM, altitude minus its elevation) of the nearest airport within
    ``max_nm`` of each point (-1 / ``NaN`` without one)."""
    idx, dist = nearest(lat, lon, max_nm)
    elev = airport_info().elevation_ft(idx)
    return idx, dist, alt_ft - elev


AIRLINE = "airline"
MILITARY = "military"
GENERAL = "general"


def operator_kind(callsigns: list[str], military: bool) -> str:
    """``military`` for a military airframe (or a military/state operator designator),
    ``airline`` for an ICAO-designator callsign (three letters and a digit), else
    ``general``."""
    if military:
        return MILITARY
    for cs in callsigns:
        d = designator_of_callsign(cs)
        if d is None:
            continue
        op = STATE_OPERATORS.get(d)
        if op is not None and op.kind in ("military", "state"):
            return MILITARY
        return AIRLINE
    return GENERAL


def airport_kind_weight(rows: npt.NDArray[np.int64], operator: str, p: DetectParams) -> F64:
    """Weight of each airport (rows of the airport table) for an operator kind: an airline at
    a military field without scheduled service (no IATA code) weighs
    ``airline_military_weight``; an airline at another airport without an IATA code
    ``airline_no_iata_weight``; everything else 1."""
    rows = np.asarray(rows, dtype=np.int64)
    w = np.ones(rows.shape[0])
    if operator != AIRLINE or rows.size == 0:
        return w
    info = airport_info()
    ok = rows >= 0
    r = np.maximum(rows, 0)
    iata = info.has_iata[r] & ok
    mil = info.military[r] & ok
    w = np.where(~iata, p.airline_no_iata_weight, w)
    return np.where(mil & ~iata, p.airline_military_weight, w)



# --- take-off and landing --------------------------------------------------------------------


@dataclass(slots=True)
class Attribution:
    """Where a take-off or landing happened."""

    airport: str = ""
    runway: str = ""
    confidence: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


def attribute_transition(
    lat0: float,
    lon0: float,
    lat: F64,
    lon: F64,
    track: F64,
    height_alt_ft: float,
    p: DetectParams,
) -> Attribution:
    """Airport and runway of a take-off or landing.

    ``lat0, lon0``: lift-off / touch-down point; ``lat, lon, track``: the points to match to a
    runway (the roll and the airborne points near the ground); ``height_alt_ft``: the lowest
    airborne altitude next to the transition (``NaN`` if unknown). The candidates are the
    airports within ``transition_airport_nm``; each gets the number of points that match one
    of its runways (``match_runway``), and the one with most matches wins (ties: nearest).
    """
    idx, dist = candidates(lat0, lon0, p.transition_airport_nm, k=5)
    if idx.size == 0:
        return Attribution(details={"reason": "no airport within "
                                    f"{p.transition_airport_nm:g} NM"})
    info = airport_info()
    elev = info.elevation_ft(idx)
    h = height_alt_ft - elev
    height_ok = ~np.isfinite(h) | ((h >= p.field_height_min_ft) & (h <= p.field_height_max_ft))
    good = np.isfinite(track) & np.isfinite(lat) & np.isfinite(lon)
    lat_g, lon_g, trk_g = lat[good], lon[good], track[good]
    best: tuple[float, float, int] | None = None
    best_rw = ""
    best_counts: dict[str, int] = {}
    ranked: list[tuple[tuple[float, float, int], str, int]] = []
    for j in range(idx.size):
        code = info.icao(int(idx[j]))
        counts: dict[str, int] = {}
        if lat_g.size:
            ident, _, _ = match_runway(code, lat_g, lon_g, trk_g)
            names, c = np.unique(ident[ident != ""], return_counts=True)
            counts = {str(a): int(b) for a, b in zip(names, c, strict=True)}
        n_match = max(counts.values(), default=0)
        score = (float(height_ok[j]), float(n_match), -float(dist[j]))
        key = (score[0] * 1e6 + score[1], score[2], j)
        ranked.append((key, info.icao(int(idx[j])), n_match))
        if best is None or key > best:
            best = key
            best_rw = max(counts, key=lambda r: counts[r]) if counts else ""
            best_counts = counts
    assert best is not None
    j = best[2]
    n_used = int(lat_g.size)
    n_rw = best_counts.get(best_rw, 0)
    conf = 0.5
    if n_rw >= 3:
        conf += 0.3 * min(1.0, n_rw / max(n_used, 1) * 2.0)
    elif n_rw > 0:
        conf += 0.1
    if height_ok[j] and np.isfinite(h[j]):
        conf += 0.15
    conf -= 0.05 * float(dist[j]) / p.transition_airport_nm
    return Attribution(
        airport=info.icao(int(idx[j])),
        runway=best_rw,
        confidence=round(min(max(conf, 0.05), 0.99), 3),
        details={
            "airport_distance_nm": round(float(dist[j]), 2),
            "height_above_field_ft": None if not np.isfinite(h[j]) else round(float(h[j])),
            "runway_matches": n_rw,
            "points_matched": n_used,
            "other_runways": {k: v for k, v in best_counts.items() if k != best_rw},
            **_transition_runner_ups(ranked, j, best_rw, best_counts, height_ok, h, dist),
        },
    )


def _transition_runner_ups(
    ranked: list[tuple[tuple[float, float, int], str, int]],
    j: int,
    best_rw: str,
    counts: dict[str, int],
    height_ok: npt.NDArray[np.bool_],
    h: F64,
    dist: F64,
) -> dict[str, Any]:
    """The runner-up airport and runway of a seen take-off or landing, and why they lost."""
    # None when there is no alternative (no other airport near, no other runway matched)
    out: dict[str, Any] = {"runner_up": None, "runway_runner_up": None}
    others = sorted((r for r in ranked if r[0][2] != j), key=lambda r: r[0], reverse=True)
    n_best = counts.get(best_rw, 0)
    if others:
        (_, _, k), code, n = others[0]
        why = []
        if height_ok[j] and not height_ok[k]:
            why.append(f"height {float(h[k]):.0f} ft above it is not a take-off or landing")
        if n < n_best:
            why.append(f"{n} points on its runways against {n_best}")
        if float(dist[k]) > float(dist[j]):
            why.append(f"{float(dist[k]):.1f} NM away against {float(dist[j]):.1f}")
        out["runner_up"] = {"airport": code, "runway_matches": n,
                            "airport_distance_nm": round(float(dist[k]), 2),
                            "why_lost": "; ".join(why) or "ranked lower"}
    rest = sorted(((v, r) for r, v in counts.items() if r != best_rw), reverse=True)
    if rest:
        v, r = rest[0]
        out["runway_runner_up"] = {"runway": r, "runway_matches": v,
                                   "why_lost": f"{v} points on its centreline against {n_best}"}
    return out


# --- airports ahead of a descent / behind a climb --------------------------------------------


@dataclass(slots=True)
class Candidate:
    airport: str
    confidence: float
    distance_nm: float
    evidence: dict[str, Any] = field(default_factory=dict)


def candidates_along(
    lat: float,
    lon: float,
    track_deg: float,
    alt_ft: float,
    ahead: bool,
    descending: bool,
    runway_match: str,
    runway_airport: str,
    min_runway_ft: float,
    p: DetectParams,
    k: int = 5,
    operator: str = GENERAL,
) -> list[Candidate]:
    """Airports ahead of the last position of a descent (``ahead``) or behind the first
    position of a climb, ranked by how well distance and bearing fit.

    Expected distance: height above the field / ``glide_ft_per_nm``; bearing within
    ``candidate_cone_deg`` of the track (any bearing closer than ``candidate_any_bearing_nm``);
    runway at least ``min_runway_ft``. An airport whose runway axis the end positions follow
    (``runway_airport``) gets most of the weight. Confidences sum to at most 1, scaled down
    when the flight is not clearly descending/climbing.
    """
    if not (np.isfinite(lat) and np.isfinite(lon)):
        return []
    info = airport_info()
    height = alt_ft if np.isfinite(alt_ft) else 10_000.0
    radius = min(p.candidate_max_nm, max(15.0, height / p.glide_ft_per_nm * 1.8 + 10.0))
    idx, dist = candidates(lat, lon, radius, k=40)
    if idx.size == 0:
        return []
    rwy = info.max_runway_ft[idx]
    ok = ~(rwy < min_runway_ft)  # NaN (unknown runways) kept
    elev = info.elevation_ft(idx)
    h = height - np.where(np.isfinite(elev), elev, 0.0)
    ok &= h > -800.0
    brg = initial_bearing_deg(lat, lon, info.table.lat_deg[idx], info.table.lon_deg[idx])
    ref = track_deg if ahead else (track_deg + 180.0) % 360.0
    if np.isfinite(ref):
        off = np.abs(angle_diff_deg(brg, ref))
        ok &= (off <= p.candidate_cone_deg) | (dist <= p.candidate_any_bearing_nm)
        angle_w = np.where(dist <= p.candidate_any_bearing_nm, 1.0,
                           np.cos(np.radians(np.minimum(off, 89.0))) ** 2)
    else:
        off = np.full(idx.size, np.nan)
        angle_w = np.full(idx.size, 0.5)
    expected = np.maximum(h, 0.0) / p.glide_ft_per_nm
    sigma = np.maximum(8.0, 0.6 * expected)
    dist_w = np.exp(-0.5 * ((dist - expected) / sigma) ** 2)
    # unknown runway lengths: small strips mostly
    rwy_w = np.where(np.isfinite(rwy), 1.0, 0.3)
    codes = info.table.icao[idx]
    op_w = airport_kind_weight(idx, operator, p)
    score = np.where(ok, angle_w * dist_w * rwy_w * op_w, 0.0)
    if runway_airport:
        score = np.where(codes == runway_airport, np.maximum(score, 1e-3) * 50.0, score)
    total = float(score.sum())
    if total <= 0.0:
        return []
    quality = 0.95 if runway_airport else (0.8 if descending else 0.35)
    order = np.argsort(-score, kind="stable")[:k]
    out = []
    for i in order:
        if score[i] <= 0.0:
            break
        ev: dict[str, Any] = {
            "distance_nm": round(float(dist[i]), 1),
            "expected_distance_nm": round(float(expected[i]), 1),
            "bearing_off_track_deg": None if not np.isfinite(off[i]) else round(float(off[i])),
            "max_runway_ft": None if not np.isfinite(rwy[i]) else round(float(rwy[i])),
            "operator_weight": round(float(op_w[i]), 3),
            "score": round(float(score[i]), 4),
        }
        if runway_airport and codes[i] == runway_airport:
            ev["runway"] = runway_match
        out.append(Candidate(str(codes[i]), round(float(score[i] / total * quality), 3),
                             float(dist[i]), ev))
    return out


def add_runner_up(cands: list[Candidate]) -> None:
    """Give the first candidate the second one and the reason it lost (``runner_up``)."""
    if len(cands) < 2:
        return
    best, other = cands[0], cands[1]
    be, oe = best.evidence, other.evidence
    reasons = []
    if be.get("runway") and not oe.get("runway"):
        reasons.append(f"the track follows runway {be['runway']} of {best.airport}")
    if (oe.get("operator_weight") or 1.0) < (be.get("operator_weight") or 1.0):
        reasons.append("an airline at a military field or an airport without scheduled "
                       "service")
    ob, bb = oe.get("bearing_off_track_deg"), be.get("bearing_off_track_deg")
    if ob is not None and bb is not None and ob > bb + 10:
        reasons.append(f"{ob:g}° off the track against {bb:g}°")
    od = abs(oe["distance_nm"] - oe["expected_distance_nm"]) if "expected_distance_nm" in oe \
        else None
    bd = abs(be["distance_nm"] - be["expected_distance_nm"]) if "expected_distance_nm" in be \
        else None
    if od is not None and bd is not None and od > bd + 3:
        reasons.append(f"{od:.0f} NM off the distance the height implies against {bd:.0f}")
    if "detour_nm" in oe and oe["detour_nm"] > be.get("detour_nm", 0.0) + 20:
        reasons.append(f"a detour of {oe['detour_nm']:g} NM against {be['detour_nm']:g}")
    if not reasons:
        reasons.append(f"lower weight ({other.confidence:g} against {best.confidence:g})")
    be["runner_up"] = {"airport": other.airport, "confidence": other.confidence,
                       "why_lost": "; ".join(reasons)}


# --- unseen stops -------------------------------------------------------------------------------


def stop_candidates(
    lat_a: float,
    lon_a: float,
    track_a: float,
    lat_b: float,
    lon_b: float,
    track_b: float,
    budget_nm: float,
    min_runway_ft: float,
    prior: dict[str, float],
    p: DetectParams,
    exclude_nm: float = 0.0,
    operator: str = GENERAL,
) -> list[Candidate]:
    """Airports where an aircraft last seen at A and next seen at B could have stopped.

    A stop at X is possible when ``d(A, X) + d(X, B) <= budget_nm`` (the distance it could
    fly in the gap minus the stop) and X has a runway of at least ``min_runway_ft`` (hard
    surface). Candidates are ranked by detour (``d(A,X) + d(X,B) - d(A,B)``), by how well the
    bearings A→X and X→B fit the tracks seen at A and B, and by ``prior`` weights (airports
    that the descent before the gap or the climb after it pointed to).
    """
    info = airport_info()
    runway = info.max_hard_runway_ft
    usable = runway >= min_runway_ft
    rows = np.flatnonzero(usable)
    if rows.size == 0 or not budget_nm > 0:
        return []
    xyz = info.xyz[rows]
    d_ax = _arc_nm(xyz, lat_a, lon_a)
    d_xb = _arc_nm(xyz, lat_b, lon_b)
    d_ab = float(distance_nm(lat_a, lon_a, lat_b, lon_b))
    inside = (d_ax + d_xb <= budget_nm) & (d_ax >= exclude_nm) & (d_xb >= exclude_nm)
    la, lo = info.table.lat_deg[rows], info.table.lon_deg[rows]
    if not inside.any():
        return []
    rows, d_ax, d_xb, la, lo = rows[inside], d_ax[inside], d_xb[inside], la[inside], lo[inside]
    detour = d_ax + d_xb - d_ab
    spare = max(budget_nm - d_ab, 1.0)
    w = np.exp(-detour / (0.15 * spare + 50.0))
    # aircraft fly great circles: the course from A towards X should be the track seen at A,
    # and the course of the great circle from X arriving at B the track seen at B (the
    # tolerance widens for airports close to A or B, where the aircraft may still turn)
    off_a = np.full(rows.size, np.nan)
    off_b = np.full(rows.size, np.nan)
    if np.isfinite(track_a):
        off_a = np.abs(angle_diff_deg(initial_bearing_deg(lat_a, lon_a, la, lo), track_a))
        sig_a = np.maximum(p.stop_course_deg, np.degrees(np.arctan2(60.0, d_ax)))
        w *= 1e-6 + np.exp(-0.5 * (off_a / sig_a) ** 2)
    if np.isfinite(track_b):
        arrive = initial_bearing_deg(lat_b, lon_b, la, lo) + 180.0
        off_b = np.abs(angle_diff_deg(arrive, track_b))
        sig_b = np.maximum(p.stop_course_deg, np.degrees(np.arctan2(60.0, d_xb)))
        w *= 1e-6 + np.exp(-0.5 * (off_b / sig_b) ** 2)
    codes = info.table.icao[rows]
    op_w = airport_kind_weight(rows, operator, p)
    w = w * op_w
    for code, weight in prior.items():
        w = np.where(codes == code, w * (1.0 + 10.0 * weight), w)
    total = float(w.sum())
    order = np.argsort(-w, kind="stable")[: p.max_stop_candidates]
    out: list[Candidate] = []
    for i in order:
        out.append(Candidate(
            str(codes[i]),
            round(float(w[i] / total), 3),
            float(d_ax[i]),
            {
                "detour_nm": round(float(detour[i]), 1),
                "from_last_seen_nm": round(float(d_ax[i]), 1),
                "to_next_seen_nm": round(float(d_xb[i]), 1),
                "max_runway_ft": round(float(runway[rows[i]])),
                "course_off_last_track_deg": None if not np.isfinite(off_a[i])
                else round(float(off_a[i]), 1),
                "course_off_next_track_deg": None if not np.isfinite(off_b[i])
                else round(float(off_b[i]), 1),
                "prior": round(prior.get(str(codes[i]), 0.0), 3),
                "operator_weight": round(float(op_w[i]), 3),
            },
        ))
    add_runner_up(out)
    return out


def _arc_nm(xyz: F64, lat: float, lon: float) -> F64:
    """Great-circle distances (NM) from a point to unit vectors (one matrix product)."""
    u = unit_vectors(lat, lon).reshape(3)
    cos = np.clip(xyz @ u, -1.0, 1.0)
    return np.asarray(np.arccos(cos) * EARTH_RADIUS_M / M_PER_NM, dtype=np.float64)


def is_military_airport(icao: str, extra: frozenset[str] = frozenset()) -> bool:
    """Whether the airport is a military airfield (name words, :data:`MILITARY_AIRPORTS`,
    ``extra``)."""
    if not icao:
        return False
    if icao in extra:
        return True
    info = airport_info()
    i = info.index(icao)
    return bool(info.military[i]) if i >= 0 else False


def distance_between_nm(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    d = float(distance_nm(lat1, lon1, lat2, lon2))
    return d if math.isfinite(d) else math.nan
