"""Compiled conditions: each rule's condition tree becomes nodes that return a boolean mask over
a whole batch of events or positions.

Nothing here loops over rows in Python. Per-row columns are compared with numpy; text
patterns (globs, regular expressions) are matched once per *distinct* value (distinct
callsigns, airports, or airframes for identity fields) and the answers gathered back to the
rows with the inverse index of ``np.unique``. The only state is in :class:`Transition`
(inside/outside per airframe, for ``enters``/``leaves``), kept between batches.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from tailwatch.alert.rules import (
    AltitudeBand,
    Condition,
    Geofence,
    GeofenceRef,
    Regex,
    RuleSet,
    TimeWindow,
    normalise_registration,
)
from tailwatch.reference.geo import EARTH_RADIUS_M, distance_m

__all__ = ["Batch", "KeyedState", "Node", "Shape",
           "compile_condition"]

Mask = npt.NDArray[np.bool_]
F64 = npt.NDArray[np.float64]
U32 = npt.NDArray[np.uint32]
Obj = npt.NDArray[np.object_]

IDENTITY_FIELDS = ("registration", "typecode", "operator", "country", "country_iso2",
                   "military", "interesting", "description", "military_rule")  # fmt: skip


# --------------------------------------------------------------------------- state


class KeyedState:
    """A value per airframe (sorted uint32 keys), read and written for arrays of keys."""

    def __init__(self, dtype: npt.DTypeLike, default: Any) -> None:
        self.keys: U32 = np.empty(0, dtype=np.uint32)
        self.vals: np.ndarray = np.empty(0, dtype=dtype)
        self.default = default

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    def get(self, keys: U32) -> np.ndarray:
        out = np.full(keys.shape[0], self.default, dtype=self.vals.dtype)
        if len(self) and keys.size:
            pos = np.minimum(np.searchsorted(self.keys, keys), len(self) - 1)
            found = self.keys[pos] == keys
            out[found] = self.vals[pos[found]]
        return out

    def set(self, keys: U32, vals: np.ndarray) -> None:
        """Store ``vals`` for ``keys`` (distinct keys)."""
        if not keys.size:
            return
        vals = np.asarray(vals, dtype=self.vals.dtype)
        if len(self):
            pos = np.minimum(np.searchsorted(self.keys, keys), len(self) - 1)
            found = self.keys[pos] == keys
            self.vals[pos[found]] = vals[found]
            keys, vals = keys[~found], vals[~found]
            if not keys.size:
                return
        all_keys = np.concatenate([self.keys, keys.astype(np.uint32)])
        all_vals = np.concatenate([self.vals, vals])
        order = np.argsort(all_keys, kind="stable")
        self.keys, self.vals = all_keys[order], all_vals[order]

    def to_lists(self) -> tuple[list[int], list[Any]]:
        return self.keys.tolist(), self.vals.tolist()


# --------------------------------------------------------------------------- batch


IdentityLoader = Callable[[U32, "npt.NDArray[np.bytes_] | None"], dict[str, np.ndarray]]


class Batch:
    """One batch of events or positions with the derived columns rules need (computed once).

    ``identity_loader(airframes, callsigns)`` returns identity columns aligned with
    ``airframes`` (the batch's distinct addresses, sorted); it is called at most once.
    """

    def __init__(
        self,
        kind: str,
        cols: Mapping[str, np.ndarray],
        identity_loader: IdentityLoader,
    ) -> None:
        self.kind = kind
        self.cols = cols
        self.n = int(np.asarray(cols["t"]).shape[0])
        self.t: F64 = np.asarray(cols["t"], dtype=np.float64)
        self.icao: U32 = np.asarray(cols["icao24"]).astype(np.uint32, copy=False)
        self.airframes, inv = np.unique(self.icao, return_inverse=True)
        self.inv: npt.NDArray[np.intp] = inv.reshape(-1)
        self._identity_loader = identity_loader
        self._identity: dict[str, np.ndarray] | None = None
        self._cache: dict[str, Any] = {}
        self.leaf_masks: dict[int, Mask] = {}

    # ordering by (airframe, time), for stateful conditions and the cool-down
    @property
    def order(self) -> npt.NDArray[np.intp]:
        if "order" not in self._cache:
            self._cache["order"] = np.lexsort((self.t, self.icao))
        out: npt.NDArray[np.intp] = self._cache["order"]
        return out

    # identity fields, per distinct airframe
    def identity(self) -> dict[str, np.ndarray]:
        if self._identity is None:
            self._identity = self._identity_loader(self.airframes, self.last_callsigns())
        return self._identity

    def identity_of(self, airframe_idx: npt.NDArray[np.intp]) -> dict[str, np.ndarray]:
        """Identity columns for some airframes (indices into ``airframes``), in that order:
        from the batch's identity when already loaded, else loaded for just these."""
        if self._identity is not None:
            return {k: np.asarray(v)[airframe_idx] for k, v in self._identity.items()}
        cs = self.last_callsigns()
        return self._identity_loader(
            self.airframes[airframe_idx], None if cs is None else cs[airframe_idx]
        )

    def last_callsigns(self) -> npt.NDArray[np.bytes_] | None:
        """The last non-empty callsign of each airframe (positions), else None."""
        if "callsign" not in self.cols or self.kind != "positions":
            return None
        cs = np.asarray(self.cols["callsign"]).astype("S8", copy=False)
        out = np.zeros(self.airframes.shape[0], dtype="S8")
        rows = self.order[cs[self.order] != b""]
        if rows.size:
            # the last row of each airframe among rows with a callsign
            inv = self.inv[rows]
            last = np.flatnonzero(np.r_[inv[1:] != inv[:-1], True])
            out[inv[last]] = cs[rows[last]]
        return out

    # per-row values that may come from the event details
    def column(self, name: str) -> np.ndarray | None:
        """A column of the batch; for events, ``squawk``, ``altitude_ft`` and ``callsign``
        come from the ``details`` JSON when there is no such column."""
        if name in self.cols:
            return np.asarray(self.cols[name])
        if self.kind != "events" or "details" not in self.cols:
            return None
        key = f"details:{name}"
        if key not in self._cache:
            self._cache[key] = self._from_details(name)
        out: np.ndarray = self._cache[key]
        return out

    def _details(self) -> list[dict[str, Any]]:
        if "details_parsed" not in self._cache:
            parsed: list[dict[str, Any]] = []
            # Events are few (tens per minute); this parses each distinct details text once.
            raw = np.asarray(self.cols["details"], dtype=object)
            uniq, inv = np.unique(np.where(raw == None, "{}", raw).astype(str),  # noqa: E711
                                  return_inverse=True)
            docs = []
            for text in uniq.tolist():
                try:
                    d = json.loads(text)
                except (ValueError, TypeError):
                    d = {}
                docs.append(d if isinstance(d, dict) else {})
            parsed = [docs[i] for i in inv.reshape(-1).tolist()]
            self._cache["details_parsed"] = parsed
        out: list[dict[str, Any]] = self._cache["details_parsed"]
        return out

    def _from_details(self, name: str) -> np.ndarray:
        docs = self._details()
        if name == "squawk":
            out16 = np.full(self.n, -1, dtype=np.int16)
            for i, d in enumerate(docs):
                v = d.get("squawk")
                if v is not None and re.fullmatch(r"[0-7]{1,4}", str(v).strip()):
                    out16[i] = int(str(v).strip())
            return out16
        if name == "altitude_ft":
            outf = np.full(self.n, np.nan, dtype=np.float64)
            for i, d in enumerate(docs):
                v = d.get("altitude_ft")
                if isinstance(v, int | float) and not isinstance(v, bool):
                    outf[i] = float(v)
            return outf
        if name == "callsign":
            outs = np.zeros(self.n, dtype="S8")
            for i, d in enumerate(docs):
                v = d.get("callsign")
                if isinstance(v, str):
                    outs[i] = v.strip().encode("ascii", "replace")[:8]
            return outs
        return np.full(self.n, None, dtype=object)

    def distinct_text(self, name: str) -> tuple[list[str], npt.NDArray[np.intp]] | None:
        """Distinct values of a text or bytes column as str, and the row → value index."""
        key = f"distinct:{name}"
        if key not in self._cache:
            col = self.column(name)
            if col is None:
                self._cache[key] = None
            else:
                if col.dtype.kind == "S":
                    uniq, inv = np.unique(col, return_inverse=True)
                    values = [v.decode("ascii", "replace").strip() for v in uniq.tolist()]
                else:
                    obj = np.asarray(col, dtype=object)
                    obj = np.where(obj == None, "", obj).astype(str)  # noqa: E711
                    uniq, inv = np.unique(obj, return_inverse=True)
                    values = [str(v) for v in uniq.tolist()]
                self._cache[key] = (values, inv.reshape(-1))
        out: tuple[list[str], npt.NDArray[np.intp]] | None = self._cache[key]
        return out


# --------------------------------------------------------------------------- text matching


class TextMatcher:
    """Case-insensitive globs and regular expressions, OR-ed; applied to distinct values."""

    def __init__(self, patterns: list[str | Regex], *, registration: bool = False) -> None:
        self.patterns = patterns
        parts = []
        for p in patterns:
            if isinstance(p, Regex):
                parts.append(f"(?:{p.regex})")
            else:
                glob = normalise_registration(p) if registration else p
                parts.append(f"(?:{fnmatch.translate(glob)})")
        self._rx = re.compile("|".join(parts), re.IGNORECASE)
        self._globs_only = not any(isinstance(p, Regex) for p in patterns)
        self._registration = registration

    def __call__(self, value: str | None) -> bool:
        if not value:
            return False
        if self._registration and self._globs_only:
            value = normalise_registration(value)
        elif self._registration:
            return bool(self._rx.search(value) or self._rx.search(normalise_registration(value)))
        return self._rx.search(value) is not None

    def over(self, values: list[Any]) -> Mask:
        return np.fromiter((self(v) for v in values), dtype=np.bool_, count=len(values))

    def describe(self) -> str:
        return " | ".join(
            f"/{p.regex}/" if isinstance(p, Regex) else p for p in self.patterns
        )


# --------------------------------------------------------------------------- geometry


class Shape:
    """A compiled geofence: circle (centre, radius) or polygon (even-odd rule)."""

    def __init__(self, g: Geofence, name: str = "") -> None:
        self.name = name
        self.label = name or g.describe()
        self.polygon: F64 | None = None
        self.center = (math.nan, math.nan)
        self.radius_m = math.nan
        self.unwrap = False
        if g.polygon is not None:
            poly = np.array(g.polygon, dtype=np.float64)  # (m, 2) lat, lon
            lons = poly[:, 1]
            if lons.max() - lons.min() > 180.0:  # crosses the antimeridian
                self.unwrap = True
                poly[:, 1] = np.where(lons < 0, lons + 360.0, lons)
            self.polygon = poly
            self.bbox = (poly[:, 0].min(), poly[:, 0].max(), poly[:, 1].min(), poly[:, 1].max())
        else:
            self.center = g.center()
            self.radius_m = g.radius_m

    def contains(self, lat: F64, lon: F64) -> tuple[Mask, Mask]:
        """(inside, valid): valid is False where the position is unknown."""
        valid = np.isfinite(lat) & np.isfinite(lon)
        inside = np.zeros(lat.shape[0], dtype=np.bool_)
        if self.polygon is None:
            d = distance_m(lat[valid], lon[valid], self.center[0], self.center[1])
            inside[valid] = d <= self.radius_m
            return inside, valid
        x = np.where(self.unwrap & (lon < 0), lon + 360.0, lon)
        la0, la1, lo0, lo1 = self.bbox
        cand = np.flatnonzero(valid & (lat >= la0) & (lat <= la1) & (x >= lo0) & (x <= lo1))
        if cand.size:
            py, px = lat[cand], x[cand]
            res = np.zeros(cand.size, dtype=np.bool_)
            verts = self.polygon
            m = verts.shape[0]
            for i in range(m):  # loop over edges (few), vectorised over points
                y1, x1 = verts[i]
                y2, x2 = verts[i - 1]
                crosses = (y1 > py) != (y2 > py)
                if not crosses.any():
                    continue
                dy = y2 - y1 if y2 != y1 else 1e-300
                xint = x1 + (py - y1) * (x2 - x1) / dy
                res ^= crosses & (px < xint)
            inside[cand] = res
        return inside, valid

    def distance_nm(self, lat: float, lon: float) -> float | None:
        """Distance from a circle's centre (one position, for the evidence)."""
        if self.polygon is not None or not (math.isfinite(lat) and math.isfinite(lon)):
            return None
        p1, p2 = math.radians(lat), math.radians(self.center[0])
        dl = math.radians(self.center[1] - lon)
        y = math.hypot(math.cos(p2) * math.sin(dl),
                       math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl))
        x = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
        return EARTH_RADIUS_M * math.atan2(y, x) / 1852.0


# --------------------------------------------------------------------------- nodes


class Node:
    """A compiled condition."""

    key = ""

    def mask(self, b: Batch) -> Mask:
        raise NotImplementedError

    def eval(self, b: Batch) -> Mask:
        """The mask; leaves also record theirs in ``b.leaf_masks`` (for the evidence)."""
        return self.mask(b)

    def leaves(self) -> Iterator[Leaf]:
        yield from ()

    def describe(self) -> str:
        raise NotImplementedError


class Leaf(Node):
    """One key of a condition; ``value`` gives the row's value for the evidence."""

    def leaves(self) -> Iterator[Leaf]:
        yield self

    def eval(self, b: Batch) -> Mask:
        m = self.mask(b)
        b.leaf_masks[id(self)] = m
        return m

    def value(self, b: Batch, row: int) -> Any:
        return None


@dataclass
class _Combine(Node):
    children: list[Node]
    op: str  # all | any

    def mask(self, b: Batch) -> Mask:
        # Every child is evaluated (no short circuit): stateful children must see every batch.
        masks = [c.eval(b) for c in self.children]
        out = masks[0].copy()
        for m in masks[1:]:
            if self.op == "all":
                out &= m
            else:
                out |= m
        return out

    def leaves(self) -> Iterator[Leaf]:
        for c in self.children:
            yield from c.leaves()

    def describe(self) -> str:
        inner = f" {'and' if self.op == 'all' else 'or'} ".join(
            c.describe() for c in self.children
        )
        return f"({inner})" if len(self.children) > 1 else inner


@dataclass
class _Not(Node):
    child: Node

    def mask(self, b: Batch) -> Mask:
        return ~self.child.eval(b)

    def leaves(self) -> Iterator[Leaf]:
        yield from self.child.leaves()

    def describe(self) -> str:
        return f"not {self.child.describe()}"


class _Icao(Leaf):
    key = "icao24"

    def __init__(self, codes: list[int]) -> None:
        self.codes = np.array(sorted(set(codes)), dtype=np.uint32)

    def mask(self, b: Batch) -> Mask:
        return np.isin(b.icao, self.codes)

    def value(self, b: Batch, row: int) -> Any:
        return f"{int(b.icao[row]):06x}"

    def describe(self) -> str:
        return "icao24 in " + ",".join(f"{c:06x}" for c in self.codes.tolist())


class _IdentityText(Leaf):
    def __init__(self, key: str, matcher: TextMatcher) -> None:
        self.key = key
        self.matcher = matcher

    def mask(self, b: Batch) -> Mask:
        ident = b.identity()
        per_airframe = self.matcher.over(list(ident[self.key]))
        if self.key == "country":  # a country matches by name or ISO code
            per_airframe |= self.matcher.over(list(ident["country_iso2"]))
        out: Mask = per_airframe[b.inv]
        return out

    def value(self, b: Batch, row: int) -> Any:
        ident = b.identity()
        v = ident[self.key][b.inv[row]]
        if self.key == "country" and ident["country_iso2"][b.inv[row]]:
            return f"{v} ({ident['country_iso2'][b.inv[row]]})"
        return v

    def describe(self) -> str:
        return f"{self.key} ~ {self.matcher.describe()}"


class _IdentityBool(Leaf):
    def __init__(self, key: str, want: bool) -> None:
        self.key = key
        self.want = want

    def mask(self, b: Batch) -> Mask:
        per_airframe = np.asarray(b.identity()[self.key], dtype=np.bool_)
        out: Mask = per_airframe[b.inv] == self.want
        return out

    def value(self, b: Batch, row: int) -> Any:
        v = bool(b.identity()[self.key][b.inv[row]])
        if self.key == "military":
            rule = b.identity().get("military_rule")
            return {"military": v, "rule": None if rule is None else rule[b.inv[row]]}
        return v

    def describe(self) -> str:
        return f"{self.key} is {str(self.want).lower()}"


class _RowText(Leaf):
    """A text column of the rows (callsign, airport), matched per distinct value."""

    def __init__(self, key: str, column: str, matcher: TextMatcher) -> None:
        self.key = key
        self.columnname = column
        self.matcher = matcher

    def mask(self, b: Batch) -> Mask:
        d = b.distinct_text(self.columnname)
        if d is None:
            return np.zeros(b.n, dtype=np.bool_)
        values, inv = d
        out: Mask = self.matcher.over(values)[inv]
        return out

    def value(self, b: Batch, row: int) -> Any:
        d = b.distinct_text(self.columnname)
        return None if d is None else d[0][d[1][row]] or None

    def describe(self) -> str:
        return f"{self.key} ~ {self.matcher.describe()}"


class _AirportCountry(Leaf):
    key = "airport_country"

    def __init__(self, matcher: TextMatcher) -> None:
        self.matcher = matcher

    def _countries(self, b: Batch) -> tuple[list[str], npt.NDArray[np.intp]] | None:
        d = b.distinct_text("airport")
        if d is None:
            return None
        from tailwatch.reference.airports import airports

        table = airports()
        values, inv = d
        idx = table.indices_of(np.array(values or [""], dtype=str))[: len(values)]
        countries = [str(table.country[i]) if i >= 0 else "" for i in idx.tolist()]
        return countries, inv

    def mask(self, b: Batch) -> Mask:
        c = self._countries(b)
        if c is None:
            return np.zeros(b.n, dtype=np.bool_)
        out: Mask = self.matcher.over(list(c[0]))[c[1]]
        return out

    def value(self, b: Batch, row: int) -> Any:
        c = self._countries(b)
        return None if c is None else c[0][c[1][row]] or None

    def describe(self) -> str:
        return f"airport country ~ {self.matcher.describe()}"


class _Event(Leaf):
    key = "event"

    def __init__(self, types: list[str]) -> None:
        self.types = sorted(set(types))

    def mask(self, b: Batch) -> Mask:
        d = b.distinct_text("type")
        if d is None:
            return np.zeros(b.n, dtype=np.bool_)
        values, inv = d
        ok = np.array([v in self.types for v in values], dtype=np.bool_)
        out: Mask = ok[inv]
        return out

    def value(self, b: Batch, row: int) -> Any:
        d = b.distinct_text("type")
        return None if d is None else d[0][d[1][row]]

    def describe(self) -> str:
        return "event in " + ",".join(self.types)


class _Squawk(Leaf):
    key = "squawk"

    def __init__(self, codes: list[int]) -> None:
        self.codes = np.array(sorted(set(codes)), dtype=np.int16)

    def mask(self, b: Batch) -> Mask:
        col = b.column("squawk")
        if col is None:
            return np.zeros(b.n, dtype=np.bool_)
        return np.isin(col.astype(np.int16, copy=False), self.codes)

    def value(self, b: Batch, row: int) -> Any:
        col = b.column("squawk")
        return None if col is None or col[row] < 0 else f"{int(col[row]):04d}"

    def describe(self) -> str:
        return "squawk in " + ",".join(f"{c:04d}" for c in self.codes.tolist())


class _Altitude(Leaf):
    key = "altitude_ft"

    def __init__(self, band: AltitudeBand) -> None:
        self.lo = -math.inf if band.min is None else band.min
        self.hi = math.inf if band.max is None else band.max

    def mask(self, b: Batch) -> Mask:
        col = b.column("altitude_ft")
        if col is None:
            return np.zeros(b.n, dtype=np.bool_)
        alt = col.astype(np.float64, copy=False)
        with np.errstate(invalid="ignore"):
            out: Mask = (alt >= self.lo) & (alt <= self.hi)
        return out

    def value(self, b: Batch, row: int) -> Any:
        col = b.column("altitude_ft")
        if col is None or not np.isfinite(col[row]):
            return None
        return float(col[row])

    def describe(self) -> str:
        return f"altitude {self.lo:g}..{self.hi:g} ft"


class _OnGround(Leaf):
    key = "on_ground"

    def __init__(self, want: bool) -> None:
        self.want = want

    def mask(self, b: Batch) -> Mask:
        col = b.column("on_ground")
        if col is None:
            return np.zeros(b.n, dtype=np.bool_)
        out: Mask = col == (1 if self.want else 0)
        return out

    def value(self, b: Batch, row: int) -> Any:
        col = b.column("on_ground")
        return None if col is None or col[row] < 0 else bool(col[row])

    def describe(self) -> str:
        return f"on_ground is {str(self.want).lower()}"


class _Within(Leaf):
    key = "within"

    def __init__(self, shape: Shape) -> None:
        self.shape = shape

    def _latlon(self, b: Batch) -> tuple[F64, F64]:
        lat, lon = b.column("lat"), b.column("lon")
        if lat is None or lon is None:
            nan = np.full(b.n, np.nan)
            return nan, nan
        return lat.astype(np.float64, copy=False), lon.astype(np.float64, copy=False)

    def mask(self, b: Batch) -> Mask:
        return self.shape.contains(*self._latlon(b))[0]

    def value(self, b: Batch, row: int) -> Any:
        lat, lon = self._latlon(b)
        d = self.shape.distance_nm(float(lat[row]), float(lon[row]))
        return {"geofence": self.shape.label,
                "distance_nm": None if d is None else round(d, 2)}

    def describe(self) -> str:
        return f"within {self.shape.label}"


class Transition(_Within):
    """``enters``/``leaves``: a crossing between consecutive known positions of an airframe.

    The state (-1 unknown, 0 outside, 1 inside) of each airframe, and the time of the
    position that set it, are kept between batches; an airframe's first known position only
    sets it. Positions without lat/lon are skipped.
    """

    def __init__(self, shape: Shape, direction: str) -> None:
        super().__init__(shape)
        self.key = direction
        self.state = KeyedState(np.int8, -1)
        self.seen_t = KeyedState(np.float64, np.nan)  # time of the state (UNIX s)

    def mask(self, b: Batch) -> Mask:
        inside, valid = self.shape.contains(*self._latlon(b))
        out = np.zeros(b.n, dtype=np.bool_)
        if not b.n:
            return out
        order = b.order
        ins, val = inside[order], valid[order]
        grp = b.inv[order]  # airframe index of each sorted row (non-decreasing)
        n = ins.shape[0]
        starts = np.flatnonzero(np.r_[True, grp[1:] != grp[:-1]])
        group_start = np.repeat(starts, np.diff(np.r_[starts, n]))
        stored = self.state.get(b.airframes)  # per airframe index
        last_valid = np.maximum.accumulate(np.where(val, np.arange(n), -1))
        prev_idx = np.r_[-1, last_valid[:-1]]
        from_batch = prev_idx >= group_start
        prev = np.where(from_batch, ins[np.maximum(prev_idx, 0)].astype(np.int8), stored[grp])
        entering = self.key == "enters"
        fired = val & (ins & (prev == 0) if entering else ~ins & (prev == 1))
        out[order] = fired
        # new state: the last valid position of each airframe in this batch
        ends = np.r_[starts[1:], n] - 1
        lv = last_valid[ends]
        has = lv >= starts
        if has.any():
            keys = b.airframes[grp[ends[has]]]
            self.state.set(keys, ins[lv[has]].astype(np.int8))
            self.seen_t.set(keys, b.t[order][lv[has]])
        return out

    def describe(self) -> str:
        return f"{self.key} {self.shape.label}"


class _Time(Leaf):
    key = "time"

    def __init__(self, w: TimeWindow) -> None:
        self.w = w
        self.after, self.before = w.bounds_s()
        self.zone = ZoneInfo(w.tz)
        self.days = w.weekday_numbers()
        self.daily = None
        if w.daily is not None:
            s, e = w.daily.start, w.daily.end
            self.daily = (
                s.hour * 3600 + s.minute * 60 + s.second,
                e.hour * 3600 + e.minute * 60 + e.second,
            )

    def _local(self, t: F64) -> F64:
        """Local wall-clock seconds: UTC offsets looked up per distinct 15-minute bucket."""
        ok = np.isfinite(t)
        buckets = np.floor(np.where(ok, t, 0.0) / 900.0)
        uniq, inv = np.unique(buckets, return_inverse=True)
        offs = np.array(
            [
                (dt.datetime.fromtimestamp(u * 900.0, self.zone).utcoffset()
                 or dt.timedelta()).total_seconds()
                for u in uniq.tolist()
            ],
            dtype=np.float64,
        )
        out: F64 = t + offs[inv.reshape(-1)]
        return out

    def mask(self, b: Batch) -> Mask:
        t = b.t
        with np.errstate(invalid="ignore"):
            out: Mask = (t >= self.after) & (t < self.before)
            if self.daily is not None or self.days:
                local = self._local(t)
                if self.daily is not None:
                    tod = np.mod(local, 86400.0)
                    s, e = self.daily
                    out &= ((tod >= s) & (tod < e)) if s <= e else ((tod >= s) | (tod < e))
                if self.days:
                    wd = (np.floor(local / 86400.0).astype(np.int64) + 3) % 7  # 1970-01-01: Thu
                    out &= np.isin(wd, self.days)
        return out

    def value(self, b: Batch, row: int) -> Any:
        t = float(b.t[row])
        if not math.isfinite(t):
            return None
        return dt.datetime.fromtimestamp(t, self.zone).isoformat(timespec="seconds")

    def describe(self) -> str:
        return "time in " + self.w.model_dump_json(exclude_none=True)


# --------------------------------------------------------------------------- compiler


def _shape(rs: RuleSet, ref: GeofenceRef) -> Shape:
    return Shape(rs.geofence(ref), ref if isinstance(ref, str) else "")


def compile_condition(c: Condition, rs: RuleSet) -> Node:
    """The node tree of a condition (an implicit *all* over its keys)."""
    parts: list[Node] = []
    if c.icao24 is not None:
        parts.append(_Icao(c.icao24))
    if c.registration is not None:
        parts.append(_IdentityText("registration",
                                   TextMatcher(c.registration, registration=True)))
    for key in ("typecode", "operator", "country"):
        v = getattr(c, key)
        if v is not None:
            parts.append(_IdentityText(key, TextMatcher(v)))
    if c.military is not None:
        parts.append(_IdentityBool("military", c.military))
    if c.interesting is not None:
        parts.append(_IdentityBool("interesting", c.interesting))
    if c.callsign is not None:
        parts.append(_RowText("callsign", "callsign", TextMatcher(c.callsign)))
    if c.squawk is not None:
        parts.append(_Squawk(c.squawk))
    if c.altitude_ft is not None:
        parts.append(_Altitude(c.altitude_ft))
    if c.on_ground is not None:
        parts.append(_OnGround(c.on_ground))
    if c.within is not None:
        parts.append(_Within(_shape(rs, c.within)))
    if c.gnss_level is not None:
        from tailwatch.alert.gnss_level import GNSS_LEVELS, GnssLevel

        parts.append(GnssLevel(c.gnss_level, GNSS_LEVELS))
    if c.enters is not None:
        parts.append(Transition(_shape(rs, c.enters), "enters"))
    if c.leaves is not None:
        parts.append(Transition(_shape(rs, c.leaves), "leaves"))
    if c.event is not None:
        parts.append(_Event(c.event))
    if c.airport is not None:
        parts.append(_RowText("airport", "airport", TextMatcher(c.airport)))
    if c.airport_country is not None:
        parts.append(_AirportCountry(TextMatcher(c.airport_country)))
    if c.time is not None:
        parts.append(_Time(c.time))
    for sub in c.all_ or []:
        parts.append(compile_condition(sub, rs))
    if c.any_ is not None:
        parts.append(_Combine([compile_condition(s, rs) for s in c.any_], "any"))
    if c.not_ is not None:
        parts.append(_Not(compile_condition(c.not_, rs)))
    return parts[0] if len(parts) == 1 else _Combine(parts, "all")


def needs_identity(node: Node) -> bool:
    return any(isinstance(leaf, _IdentityText | _IdentityBool) for leaf in node.leaves())


def transitions(node: Node) -> list[Transition]:
    return [leaf for leaf in node.leaves() if isinstance(leaf, Transition)]
