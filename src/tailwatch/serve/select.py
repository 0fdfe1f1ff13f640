"""Choosing aircraft of a view: parameter parsing and vectorised selections.

Every parser raises :class:`BadRequestError` with a message that names the parameter and says what
was expected; the app turns it into a 400. Selections return row indices into the view.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from tailwatch.core.errors import TailwatchError
from tailwatch.reference.geo import distance_nm, initial_bearing_deg
from tailwatch.serve.view import ALL_MESSAGE_AGE_S, SnapshotView

__all__ = [
    "BadRequestError",
    "ReadsbQuery",
    "parse_hex",
    "parse_hex_list",
    "parse_readsb_query",
    "select_readsb",
]

I64 = npt.NDArray[np.int64]

MAX_LIST = 1000
MAX_RADIUS_NM = 10_800.0  # half the Earth's circumference
_HEX_RE = re.compile(r"^~?[0-9a-fA-F]{6}$")
_TEXT_RE = re.compile(r"^[A-Za-z0-9 _.\-/]{1,40}$")


class BadRequestError(TailwatchError, ValueError):
    """A request parameter is missing or malformed (answered with a 400)."""


# --- parsers --------------------------------------------------------------------------------

def parse_hex(text: str, what: str = "hex") -> int:
    """'393322' → 0x393322; '~abcdef' → 0xabcdef with the non-ICAO bit (1 << 24)."""
    t = text.strip()
    if not _HEX_RE.match(t):
        raise BadRequestError(f"{what}: {text!r} is not an address of 6 hex digits "
                         "(optionally starting with ~)")
    return (int(t[1:], 16) | (1 << 24)) if t.startswith("~") else int(t, 16)


def split_list(text: str, what: str, limit: int = MAX_LIST) -> list[str]:
    items = [x.strip() for x in text.split(",") if x.strip()]
    if not items:
        raise BadRequestError(f"{what}: empty list")
    if len(items) > limit:
        raise BadRequestError(f"{what}: at most {limit} values, got {len(items)}")
    return items


def parse_hex_list(text: str, what: str = "hex") -> list[int]:
    return [parse_hex(x, what) for x in split_list(text, what)]


def parse_text_list(text: str, what: str) -> list[str]:
    items = split_list(text, what)
    for x in items:
        if not _TEXT_RE.match(x):
            raise BadRequestError(f"{what}: {x!r} has characters other than letters, digits, "
                             "space and _ . - /")
    return [x.upper() for x in items]


def parse_float(text: str, what: str, lo: float = -math.inf, hi: float = math.inf) -> float:
    try:
        v = float(text)
    except ValueError:
        raise BadRequestError(f"{what}: {text!r} is not a number") from None
    if not math.isfinite(v) or not lo <= v <= hi:
        raise BadRequestError(f"{what}: {text!r} is out of range [{lo:g}, {hi:g}]")
    return v


def parse_floats(text: str, what: str, count: int) -> list[float]:
    parts = text.split(",")
    if len(parts) != count:
        raise BadRequestError(f"{what}: expected {count} comma-separated numbers, got {text!r}")
    return [parse_float(p, what) for p in parts]


def parse_squawk(text: str, what: str = "squawk") -> int:
    t = text.strip()
    if not re.fullmatch(r"[0-7]{4}", t):
        raise BadRequestError(f"{what}: {text!r} is not a squawk (4 octal digits)")
    return int(t)


def check_lat_lon(lat: float, lon: float, what: str) -> None:
    if not -90.0 <= lat <= 90.0:
        raise BadRequestError(f"{what}: latitude {lat:g} is outside [-90, 90]")
    if not -180.0 <= lon <= 180.0:
        raise BadRequestError(f"{what}: longitude {lon:g} is outside [-180, 180]")


def norm_reg(values: Iterable[str | None]) -> npt.NDArray[np.str_]:
    return np.array([(v or "").upper().replace("-", "").replace(" ", "") for v in values],
                    dtype=np.str_)


# --- selections -----------------------------------------------------------------------------

def rows_circle(view: SnapshotView, lat: float, lon: float, radius_nm: float,
                ) -> tuple[I64, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Aircraft with a position within ``radius_nm`` of (lat, lon), nearest first, with the
    distance (NM) and the bearing from the centre (deg)."""
    cand = np.flatnonzero(view.has_position)
    d = distance_nm(lat, lon, view.lat[cand], view.lon[cand])
    inside = d <= radius_nm
    cand, d = cand[inside], d[inside]
    order = np.argsort(d, kind="stable")
    cand, d = cand[order], d[order]
    b = initial_bearing_deg(lat, lon, view.lat[cand], view.lon[cand])
    return cand.astype(np.int64), d, b


def mask_box(view: SnapshotView, south: float, north: float, west: float, east: float,
             ) -> npt.NDArray[np.bool_]:
    """Aircraft with a position inside the box; ``west > east`` crosses the antimeridian."""
    lat, lon = view.lat, view.lon
    with np.errstate(invalid="ignore"):
        m = view.has_position & (lat >= south) & (lat <= north)
        lon_ok = (lon >= west) & (lon <= east) if west <= east else (lon >= west) | (lon <= east)
    return m & lon_ok


@dataclass
class ReadsbQuery:
    """A parsed readsb API query (``/re-api/?...``)."""

    base: str
    args: list[float] = field(default_factory=list)
    hexes: list[int] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    callsign_exact: list[str] | None = None
    callsign_prefix: str | None = None
    squawk: int | None = None
    with_pos: bool = False
    types: list[str] | None = None
    above_ft: float | None = None
    below_ft: float | None = None
    flags: set[str] = field(default_factory=set)  # mil, interesting, pia, ladd
    jv2: bool = False
    status: bool = False


BASE_QUERIES = ("circle", "closest", "box", "all_with_pos", "all", "find_hex", "hexList",
                "hexlist", "find_callsign", "find_reg", "find_type")
FLAG_FILTERS = {"filter_mil": "mil", "filter_interesting": "interesting",
                "filter_pia": "pia", "filter_ladd": "ladd"}
OTHER_PARAMS = {"filter_callsign_exact", "filter_callsign_prefix", "filter_squawk",
                "filter_with_pos", "filter_type", "above_alt_baro", "below_alt_baro", "jv2",
                "include_version", "status", "zstd", "bincraft", "json"}


def parse_readsb_query(params: Sequence[tuple[str, str]]) -> ReadsbQuery:
    """Parse the query string items of a readsb API request (exactly one base query)."""
    seen: dict[str, str] = {}
    for k, v in params:
        if k.startswith("_"):  # cache busters
            continue
        if k not in BASE_QUERIES and k not in FLAG_FILTERS and k not in OTHER_PARAMS:
            raise BadRequestError(f"unknown parameter {k!r}; see docs/api.md for the readsb API")
        if k in seen:
            raise BadRequestError(f"parameter {k!r} given twice")
        seen[k] = v
    for unsupported in ("zstd", "bincraft"):
        if unsupported in seen:
            raise BadRequestError(f"{unsupported} output is not supported by tailwatch; ask for "
                             "JSON (drop the parameter)")
    if "status" in seen:
        return ReadsbQuery(base="status", status=True)
    bases = [k for k in seen if k in BASE_QUERIES]
    hex_bases = [k for k in bases if k in ("find_hex", "hexList", "hexlist")]
    extra_hexes: list[int] = []
    if len(bases) == 2 and "box" in bases and len(hex_bases) == 1:
        # readsb's one combination (tar1090 asks for it): the box plus the selected aircraft
        extra_hexes = parse_hex_list(seen[hex_bases[0]], hex_bases[0])
        bases = ["box"]
    if len(bases) != 1:
        raise BadRequestError(
            "give exactly one base query of: circle, closest, box, all_with_pos, all, "
            f"find_hex, find_callsign, find_reg, find_type (got {bases or 'none'})")
    base = bases[0]
    val = seen[base]
    q = ReadsbQuery(base=base)
    if base in ("circle", "closest"):
        lat, lon, r = parse_floats(val, base, 3)
        check_lat_lon(lat, lon, base)
        if not 0 <= r <= MAX_RADIUS_NM:
            raise BadRequestError(f"{base}: radius {r:g} NM is outside [0, {MAX_RADIUS_NM:g}]")
        q.args = [lat, lon, r]
    elif base == "box":
        south, north, west, east = parse_floats(val, base, 4)
        check_lat_lon(south, west, base)
        check_lat_lon(north, east, base)
        if south > north:
            raise BadRequestError("box: the south latitude is north of the north latitude "
                             "(order: latS,latN,lonW,lonE)")
        q.args = [south, north, west, east]
        q.hexes = extra_hexes
    elif base in ("find_hex", "hexList", "hexlist"):
        q.base = "find_hex"
        q.hexes = parse_hex_list(val, base)
    elif base in ("find_callsign", "find_reg", "find_type"):
        q.words = parse_text_list(val, base)
    elif val:
        raise BadRequestError(f"{base} takes no value")
    if "filter_callsign_exact" in seen:
        q.callsign_exact = parse_text_list(seen["filter_callsign_exact"], "filter_callsign_exact")
    if "filter_callsign_prefix" in seen:
        q.callsign_prefix = parse_text_list(seen["filter_callsign_prefix"],
                                            "filter_callsign_prefix")[0]
    if "filter_squawk" in seen:
        q.squawk = parse_squawk(seen["filter_squawk"], "filter_squawk")
    if "filter_type" in seen:
        q.types = parse_text_list(seen["filter_type"], "filter_type")
    if "above_alt_baro" in seen:
        q.above_ft = parse_float(seen["above_alt_baro"], "above_alt_baro", -2000, 200_000)
    if "below_alt_baro" in seen:
        q.below_ft = parse_float(seen["below_alt_baro"], "below_alt_baro", -2000, 200_000)
    q.with_pos = "filter_with_pos" in seen
    q.flags = {FLAG_FILTERS[k] for k in seen if k in FLAG_FILTERS}
    q.jv2 = "jv2" in seen
    return q


def _isin_upper(view: SnapshotView, name: str, wanted: Sequence[str]) -> npt.NDArray[np.bool_]:
    return np.isin(view.upper(name), np.array(list(wanted), dtype=np.str_))


def base_mask(view: SnapshotView, q: ReadsbQuery) -> npt.NDArray[np.bool_]:
    """Rows matched by the base query (circle/closest are handled by :func:`select_readsb`)."""
    n = view.n
    if q.base == "box":
        s, nn, w, e = q.args
        inside = mask_box(view, s, nn, w, e)
        if q.hexes:  # box plus find_hex: the union
            inside |= np.isin(view.icao24, np.array(q.hexes, dtype=np.uint32))
        return inside
    if q.base == "all_with_pos":
        return view.has_position.copy()
    if q.base == "all":
        return view.has_position | (view.seen_s <= ALL_MESSAGE_AGE_S)
    if q.base == "find_hex":
        return np.isin(view.icao24, np.array(q.hexes, dtype=np.uint32))
    if q.base == "find_callsign":
        return np.isin(np.char.upper(view.callsign), np.array(q.words, dtype=np.str_))
    if q.base == "find_reg":
        return np.isin(view.registration_keys(), norm_reg(q.words))
    if q.base == "find_type":
        return _isin_upper(view, "typecode", q.words)
    return np.zeros(n, dtype=bool)


def filter_mask(view: SnapshotView, q: ReadsbQuery) -> npt.NDArray[np.bool_]:
    m = np.ones(view.n, dtype=bool)
    cs = np.char.upper(view.callsign)
    if q.callsign_exact is not None:
        m &= np.isin(cs, np.array(q.callsign_exact, dtype=np.str_))
    if q.callsign_prefix is not None:
        m &= np.char.startswith(cs, q.callsign_prefix)
    if q.squawk is not None:
        m &= np.asarray(view.cols["squawk"]) == q.squawk
    if q.with_pos:
        m &= view.has_position
    if q.types is not None:
        m &= _isin_upper(view, "typecode", q.types)
    with np.errstate(invalid="ignore"):
        if q.above_ft is not None:
            m &= view.alt_baro >= q.above_ft
        if q.below_ft is not None:
            m &= view.alt_baro <= q.below_ft
    if q.flags:
        f = np.zeros(view.n, dtype=bool)
        ident = view.ident
        if "mil" in q.flags:
            f |= ident.military
        if "interesting" in q.flags:
            f |= ident.interesting
        if "pia" in q.flags:
            f |= ident.pia
        if "ladd" in q.flags:
            f |= ident.ladd
        m &= f
    return m


def select_readsb(
    view: SnapshotView, q: ReadsbQuery, visible: npt.NDArray[np.bool_],
) -> tuple[I64, npt.NDArray[np.float64] | None, npt.NDArray[np.float64] | None]:
    """Rows answering ``q`` among ``visible`` ones; with distance and bearing for circle and
    closest (nearest first)."""
    keep = filter_mask(view, q) & visible
    if q.base in ("circle", "closest"):
        lat, lon, r = q.args
        rows, d, b = rows_circle(view, lat, lon, r)
        ok = keep[rows]
        rows, d, b = rows[ok], d[ok], b[ok]
        if q.base == "closest":
            rows, d, b = rows[:1], d[:1], b[:1]
        return rows, d, b
    rows = np.flatnonzero(base_mask(view, q) & keep).astype(np.int64)
    return rows, None, None


def search_rows(view: SnapshotView, text: str, visible: npt.NDArray[np.bool_],
                limit: int = 50) -> I64:
    """Rows whose address, callsign, registration, type or operator contains ``text``
    (case-insensitive); exact matches first."""
    q = text.strip().upper()
    if not q or len(q) > 40:
        raise BadRequestError("q: give 1 to 40 characters")
    fields: Mapping[str, npt.NDArray[np.str_]] = {
        "hex": np.char.upper(view.hex.astype(np.str_)),
        "callsign": np.char.upper(view.callsign),
        "registration": view.upper("registration"),
        "typecode": view.upper("typecode"),
        "operator": view.upper("operator"),
    }
    exact = np.zeros(view.n, dtype=bool)
    partial = np.zeros(view.n, dtype=bool)
    qn = q.replace("-", "").replace(" ", "")
    for name, col in fields.items():
        if col.size == 0:
            continue
        exact |= col == q
        partial |= np.char.find(col, q) >= 0
        if name == "registration":
            stripped = view.registration_keys()
            exact |= stripped == qn
            partial |= np.char.find(stripped, qn) >= 0
    exact &= visible
    partial &= visible & ~exact
    rows = np.concatenate([np.flatnonzero(exact), np.flatnonzero(partial)])
    return rows[:limit].astype(np.int64)
