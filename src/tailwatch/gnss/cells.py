"""H3 hexagons per hour and per day: aircraft seen, degraded, share, spoofed, level.

``CellAggregator.update(step)`` takes what :meth:`GnssMonitor.update` returned for a batch (per
position: flags and the estimated true position) and keeps, per aircraft, one row each time
the aircraft enters a new grid square (``grid_deg``, 0.01°) in a new hour or gets worse there —
a compiled loop over one state row per aircraft. ``flush(upto_t)`` turns the hours (and days)
that ended before ``upto_t`` into cell rows (``core.schema.GNSS_CELL_FIELDS``): the squares go
through ``h3.latlng_to_cell`` once each at the finest resolution kept, the coarser cells are
its parents (bit operations on the H3 index, no call), and aircraft are counted once per cell.

Levels (thresholds in :class:`GnssParams`): **high** when at least ``level_min_aircraft`` aircraft
were seen, at least ``level_min_degraded`` were degraded and their share reached
``level_high_share`` (10 %), or when two aircraft or more were spoofed; **low** when the share
reached ``level_low_share`` (2 %) with enough aircraft seen, or one aircraft was spoofed;
**none** otherwise. A spoofed aircraft is placed where it really was (dead reckoning), not where
its receiver said.
"""

# numba kernels compute on np.int64 scalars; mypy sees np.int64 where int is annotated:
# mypy: disable-error-code="arg-type,assignment,return-value,no-any-return"

from __future__ import annotations

import math

import numba as nb
import numpy as np
import numpy.typing as npt
from h3.api import basic_int as h3i

from tailwatch.core.schema import GNSS_CELL_FIELDS, empty_columns, icao_hex_matrix
from tailwatch.gnss import kernel as kn
from tailwatch.gnss.monitor import GnssStep, SlotMap
from tailwatch.gnss.params import GnssParams

Columns = dict[str, np.ndarray]
HOUR_S = 3600.0
DAY_S = 86400.0
BIT_DEGRADED = 1
BIT_SPOOFED = 2

# per-aircraft state (int64): hour, cell, bits, worst nic, worst nacp
_ST = 5
# per-aircraft current cell outline (float64): 6 vertices lat, then 6 lon
_PV = 12
# rows: hour (or day), slot, cell, bits, nic, nacp
_NR = 6


@nb.njit(cache=True)
def _inside(lat: float, lon: float, poly: npt.NDArray[np.float64]) -> bool:
    """Point in the convex hexagon ``poly`` (6 lat then 6 lon; NaN: no cell yet)."""
    if math.isnan(poly[0]):
        return False
    sign = 0
    for j in range(6):
        k = (j + 1) % 6
        ay = poly[j]
        ax = poly[6 + j]
        by = poly[k]
        bx = poly[6 + k]
        if abs(bx - ax) > 180.0 or abs(lon - ax) > 180.0:
            return False  # across the antimeridian: always look the cell up
        cross = (bx - ax) * (lat - ay) - (by - ay) * (lon - ax)
        sg = 1 if cross > 0 else (-1 if cross < 0 else 0)
        if sg != 0:
            if sign == 0:
                sign = sg
            elif sg != sign:
                return False
    return True


@nb.njit(cache=True)
def _emit(idx: npt.NDArray[np.int64], slots: npt.NDArray[np.int64],
          t: npt.NDArray[np.float64],
          lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64],
          flags: npt.NDArray[np.int8], nic: npt.NDArray[np.int64],
          nacp: npt.NDArray[np.int64], todo: npt.NDArray[np.bool_],
          st: npt.NDArray[np.int64], poly: npt.NDArray[np.float64],
          looked_up: npt.NDArray[np.bool_], rows: npt.NDArray[np.int64],
          need: npt.NDArray[np.int64]) -> tuple[int, int]:
    """One round over the positions still ``todo``: a row (hour, slot, cell, bits, nic, nacp)
    when a position adds an hour, a degradation/spoofing bit or a worse NIC/NACp to its
    aircraft's current cell. A position outside its aircraft's current cell outline goes to
    ``need`` (its cell must be looked up) and the aircraft's later positions wait for the next
    round; ``looked_up`` marks the aircraft whose next position is the one just looked up (in
    its cell whatever the outline test says: cell edges are arcs). Returns (rows, needs)."""
    k = 0
    m = 0
    relevant = kn.FLAG_CLEAN | kn.FLAG_BAD | kn.FLAG_DEGRADED | kn.FLAG_SPOOFED
    waiting = np.zeros(st.shape[0], np.bool_)
    for j in range(idx.shape[0]):
        i = idx[j]
        if not todo[i]:
            continue
        f = flags[i]
        if (f & relevant) == 0 or math.isnan(lat[i]) or math.isnan(lon[i]):
            todo[i] = False
            continue
        s = slots[i]
        if waiting[s]:
            continue
        if looked_up[s]:
            looked_up[s] = False
        elif not _inside(lat[i], lon[i], poly[s]):
            waiting[s] = True
            need[m] = i
            m += 1
            continue
        todo[i] = False
        hour = np.int64(math.floor(t[i] / 3600.0))
        bits = np.int64(0)
        if f & kn.FLAG_DEGRADED:
            bits |= BIT_DEGRADED
        if f & kn.FLAG_SPOOFED:
            bits |= BIT_SPOOFED
        ni = nic[i] if nic[i] >= 0 else 99
        na = nacp[i] if nacp[i] >= 0 else 99
        if st[s, 0] == hour:
            if (bits | st[s, 2]) == st[s, 2] and ni >= st[s, 3] and na >= st[s, 4]:
                continue
            bits |= st[s, 2]
            ni = min(ni, st[s, 3])
            na = min(na, st[s, 4])
        st[s, 0] = hour
        st[s, 2] = bits
        st[s, 3] = ni
        st[s, 4] = na
        rows[k, 0] = hour
        rows[k, 1] = s
        rows[k, 2] = st[s, 1]
        rows[k, 3] = bits
        rows[k, 4] = ni
        rows[k, 5] = na
        k += 1
    return k, m


def _outline(cell: int) -> npt.NDArray[np.float64]:
    """The 6 vertices of a cell (lat then lon); NaN for the 12 pentagons and the cells whose
    boundary has extra vertices (odd resolutions, across an icosahedron face): then every
    position is looked up."""
    b = h3i.cell_to_boundary(cell)
    if len(b) != 6:
        return np.full(_PV, np.nan)
    return np.array([v[0] for v in b] + [v[1] for v in b], dtype=np.float64)


Boundary = tuple[tuple[float, float], ...]


def _outlines(cells: list[int], no_outline: set[int] | None = None
              ) -> npt.NDArray[np.float64]:
    """:func:`_outline` of each cell as one (n, 12) array: one boundary call per cell and a
    single array built from them. ``no_outline``: cells known to have no outline (NaN, see
    :func:`_outline`; an aircraft in one is looked up at every position), kept up to date."""
    if no_outline:
        known = [c in no_outline for c in cells]
        bounds = [() if k else h3i.cell_to_boundary(c)
                  for c, k in zip(cells, known, strict=True)]
    else:
        bounds = [h3i.cell_to_boundary(c) for c in cells]
    out = _outline_array(bounds)
    if no_outline is not None and len(no_outline) < 100_000:
        no_outline.update(c for c, b in zip(cells, bounds, strict=True) if len(b) != 6)
    return out


def _outline_array(bounds: list[Boundary]) -> npt.NDArray[np.float64]:
    """(n, 12) outlines (lat then lon) of boundaries; NaN for those without 6 vertices (the
    pentagons, and the cells of odd resolutions whose edges cross an icosahedron face: their
    boundary has extra vertices)."""
    n = len(bounds)
    six = [i for i, b in enumerate(bounds) if len(b) == 6]
    if len(six) < n:
        out = np.full((n, _PV), np.nan)
        if six:
            out[six] = _outline_array([bounds[i] for i in six])
        return out
    arr = np.array(bounds, dtype=np.float64).reshape(n, 6, 2)
    res: npt.NDArray[np.float64] = np.ascontiguousarray(arr.transpose(0, 2, 1)).reshape(n, _PV)
    return res


def reduce_rows(rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """One row per (period, slot, cell): bits OR-ed, worst NIC/NACp (rows in the _NR layout)."""
    if not len(rows):
        return rows
    r = rows if _rows_sorted(rows) else rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]
    new = np.ones(len(r), dtype=bool)
    new[1:] = (r[1:, 0] != r[:-1, 0]) | (r[1:, 1] != r[:-1, 1]) | (r[1:, 2] != r[:-1, 2])
    starts = np.flatnonzero(new)
    out = r[starts].copy()
    out[:, 3] = np.bitwise_or.reduceat(r[:, 3], starts)
    out[:, 4] = np.minimum.reduceat(r[:, 4], starts)
    out[:, 5] = np.minimum.reduceat(r[:, 5], starts)
    return out


def _rows_sorted(rows: npt.NDArray[np.int64]) -> bool:
    """Rows already in (period, slot, cell) order: those of one resolution were, so their
    parents are (an H3 parent keeps the leading digits of its child's index)."""
    if len(rows) < 2:
        return True
    a, b = rows[:-1], rows[1:]
    lt0 = a[:, 0] < b[:, 0]
    eq0 = a[:, 0] == b[:, 0]
    lt1 = a[:, 1] < b[:, 1]
    eq1 = a[:, 1] == b[:, 1]
    return bool((lt0 | (eq0 & (lt1 | (eq1 & (a[:, 2] <= b[:, 2]))))).all())


def parent_cells(cells: npt.NDArray[np.uint64], res: int) -> npt.NDArray[np.uint64]:
    """H3 parents at ``res`` of cells (uint64 indexes of a finer resolution), by bit operations:
    the resolution field set to ``res`` and the digits below it set to 7 (unused)."""
    res_mask = np.uint64(0xF) << np.uint64(52)
    unused = np.uint64(0)
    for digit in range(res + 1, 16):
        unused |= np.uint64(7) << np.uint64((15 - digit) * 3)
    out: npt.NDArray[np.uint64] = (cells & ~res_mask) | (np.uint64(res) << np.uint64(52)) | unused
    return out


def level_of(aircraft: npt.NDArray[np.int64], degraded: npt.NDArray[np.int64],
             spoofed: npt.NDArray[np.int64], p: GnssParams) -> npt.NDArray[np.int8]:
    """0 none, 1 low, 2 high (see the module's docstring)."""
    share = np.where(aircraft > 0, degraded / np.maximum(aircraft, 1), 0.0)
    enough = aircraft >= p.level_min_aircraft
    high = (enough & (degraded >= p.level_min_degraded) & (share >= p.level_high_share)) | (
        spoofed >= 2)
    low = (enough & (degraded >= 1) & (share >= p.level_low_share)) | (spoofed >= 1)
    out: npt.NDArray[np.int8] = np.where(high, 2, np.where(low, 1, 0)).astype(np.int8)
    return out


LEVELS = ("none", "low", "high")


class CellAggregator:
    """Incremental hexagon counts: ``update(step)`` per monitor step, ``flush(upto_t)`` for the
    periods that ended before ``upto_t`` (``flush()``: all of them)."""

    def __init__(self, params: GnssParams | None = None, *, days: bool = True) -> None:
        self.params = params or GnssParams()
        res = sorted(set(self.params.resolutions))
        if not res or res[0] < 0 or res[-1] > 15:
            raise ValueError(f"H3 resolutions must be 0-15, not {res}")
        self.resolutions = res
        self.days = days
        self._slots = SlotMap()
        self._icao_of_slot = np.empty(0, dtype=np.uint32)
        self._st = np.full((1024, _ST), -1, dtype=np.int64)
        self._poly = np.full((1024, _PV), np.nan)
        self._pending: list[npt.NDArray[np.int64]] = []
        self._day_rows = np.empty((0, _NR), dtype=np.int64)
        self._centres: dict[int, tuple[float, float]] = {}
        self._no_outline: set[int] = set()
        #: cell look-ups made (one per cell an aircraft enters)
        self.lookups = 0
        #: rows dropped because their hour had been written already (late positions)
        self.late_rows = 0
        self._flushed_to = -math.inf

    def _room(self, rows_needed: int) -> None:
        have = self._st.shape[0]
        if rows_needed <= have:
            return
        rows_n = max(rows_needed, 2 * have)
        st = np.full((rows_n, _ST), -1, dtype=np.int64)
        st[:have] = self._st
        poly = np.full((rows_n, _PV), np.nan)
        poly[:have] = self._poly
        self._st, self._poly = st, poly

    def update(self, step: GnssStep) -> None:
        """Take a monitor step (positions in time order). Long steps (a history) are cut into
        minutes so that an aircraft crosses few cells within one pass."""
        n = len(step.t)
        if not n:
            return
        if n > 4096 and step.t[-1] - step.t[0] > 60.0:
            edges = np.searchsorted(step.t, np.arange(step.t[0], step.t[-1] + 60.0, 60.0))
            edges = np.unique(np.append(edges, n))
            lo = 0
            for hi in edges.tolist():
                if hi > lo:
                    self._update(step.part(lo, hi))
                lo = hi
            return
        self._update(step)

    def _update(self, step: GnssStep) -> None:
        n = len(step.t)
        if step.slots is not None and step.slot_icao is not None:
            slots = step.slots  # the monitor's rows
            self._icao_of_slot = step.slot_icao
        else:
            slots, _ = self._slots.lookup(step.icao24)
            self._icao_of_slot = self._slots.icao_of_slot
        self._room(len(self._icao_of_slot))
        todo = np.ones(n, dtype=bool)
        nic = step.nic.astype(np.int64)
        nacp = step.nacp.astype(np.int64)
        finest = self.resolutions[-1]
        rows = np.empty((n, _NR), dtype=np.int64)
        need = np.empty(n, dtype=np.int64)
        looked_up = np.zeros(self._st.shape[0], dtype=bool)
        while True:
            idx = np.flatnonzero(todo)
            k, m = _emit(idx, slots, step.t, step.est_lat, step.est_lon, step.flags, nic, nacp,
                         todo, self._st, self._poly, looked_up, rows, need)
            if k:
                self._pending.append(rows[:k].copy())
            if not m:
                break
            self.lookups += m
            rows_i = need[:m]
            lats = step.est_lat[rows_i].tolist()
            lons = step.est_lon[rows_i].tolist()
            cells = [h3i.latlng_to_cell(la, lo, finest)  # one look-up per cell entered
                     for la, lo in zip(lats, lons, strict=True)]
            polys = _outlines(cells, self._no_outline)
            s_i = slots[rows_i]
            looked_up[s_i] = True
            self._st[s_i, 0] = -1  # a new cell: its first position makes a row
            self._st[s_i, 1] = np.array(cells, dtype=np.uint64).view(np.int64)
            self._poly[s_i] = polys

    # --- periods -------------------------------------------------------------------------
    def flush(self, upto_t: float = math.inf) -> Columns:
        """Cell rows of the hours (and days) ending at or before ``upto_t``."""
        allrows = (np.concatenate(self._pending) if self._pending
                   else np.empty((0, _NR), dtype=np.int64))
        # rows of an hour already written (positions arriving late): dropped and counted, a
        # second write of the hour would replace the full one with their few rows
        late = (allrows[:, 0] + 1) * HOUR_S <= self._flushed_to
        if late.any():
            self.late_rows += int(late.sum())
            allrows = allrows[~late]
        self._flushed_to = max(self._flushed_to, upto_t)
        done = (allrows[:, 0] + 1) * HOUR_S <= upto_t
        self._pending = [allrows[~done]] if (~done).any() else []
        rows = reduce_rows(allrows[done])
        parts: list[Columns] = []
        if len(rows):
            parts.append(self._period_cells("hour", HOUR_S, rows))
            if self.days:
                day = rows.copy()
                day[:, 0] = (rows[:, 0] * HOUR_S // DAY_S).astype(np.int64)
                self._day_rows = reduce_rows(np.concatenate([self._day_rows, day]))
        if self.days and len(self._day_rows):
            ended = (self._day_rows[:, 0] + 1) * DAY_S <= upto_t
            if ended.any():
                parts.append(self._period_cells("day", DAY_S, self._day_rows[ended]))
                self._day_rows = self._day_rows[~ended]
        if not parts:
            return empty_cells()
        return {f.name: np.concatenate([p[f.name] for p in parts]) for f in GNSS_CELL_FIELDS}

    def current(self, res: int | None = None, *, details: bool = False) -> Columns:
        """Cell rows of the hours not flushed yet (the hour in progress), as they stand (one
        resolution when ``res`` is given; without the aircraft lists unless ``details``); the
        aggregation goes on unchanged."""
        if not self._pending:
            return empty_cells()
        rows = reduce_rows(np.concatenate(self._pending))
        self._pending = [rows]  # compacted: the same rows, fewer of them
        return self._period_cells("hour", HOUR_S, rows, only=res, details=details)

    def _period_cells(self, period: str, length_s: float, rows: npt.NDArray[np.int64], *,
                      only: int | None = None, details: bool = True) -> Columns:
        parts: list[Columns] = []
        finest = rows[:, 2].view(np.uint64)
        for res in self.resolutions:
            if only is not None and res != only:
                continue
            r = rows
            if res != self.resolutions[-1]:
                r = rows.copy()
                r[:, 2] = parent_cells(finest, res).view(np.int64)
                r = reduce_rows(r)
            parts.append(self._rows_to_cells(r, period, length_s, res, details))
        if not parts:
            return empty_cells()
        return {f.name: np.concatenate([p[f.name] for p in parts]) for f in GNSS_CELL_FIELDS}

    def _rows_to_cells(self, red: npt.NDArray[np.int64], period: str, length_s: float,
                       res: int, details: bool = True) -> Columns:
        """``red``: one row per (period, slot, cell); sorted here by (period, cell)."""
        order = np.lexsort((red[:, 1], red[:, 2], red[:, 0]))
        red = red[order]
        new = np.ones(len(red), dtype=bool)
        new[1:] = (red[1:, 0] != red[:-1, 0]) | (red[1:, 2] != red[:-1, 2])
        starts = np.flatnonzero(new)
        m = len(starts)
        inv = np.cumsum(new) - 1
        aircraft = np.diff(np.append(starts, len(red))).astype(np.int64)
        degraded = np.bincount(inv, weights=(red[:, 3] & BIT_DEGRADED) > 0,
                               minlength=m).astype(np.int64)
        spoofed = np.bincount(inv, weights=(red[:, 3] & BIT_SPOOFED) > 0,
                              minlength=m).astype(np.int64)
        levels = level_of(aircraft, degraded, spoofed, self.params)
        cols = empty_columns(GNSS_CELL_FIELDS, m)
        cols["start"] = red[starts, 0].astype(np.float64) * length_s
        cols["period"] = np.full(m, period, dtype=object)
        cols["res"] = np.full(m, res, dtype=np.int8)
        ids = red[starts, 2].view(np.uint64).tolist()
        centres = np.array(self._centres_of(ids), dtype=np.float64).reshape(-1, 2)
        cols["h3"] = np.array([f"{c:x}" for c in ids], dtype=object)
        cols["lat"] = centres[:, 0]
        cols["lon"] = centres[:, 1]
        cols["aircraft"] = aircraft.astype(np.int32)
        cols["degraded"] = degraded.astype(np.int32)
        cols["share"] = (degraded / np.maximum(aircraft, 1)).astype(np.float32)
        cols["spoofed"] = spoofed.astype(np.int32)
        cols["level"] = np.array([LEVELS[v] for v in levels.tolist()], dtype=object)
        cols["details"] = (self._details(red, inv, m) if details
                           else np.full(m, "[]", dtype=object))
        return cols

    def _centres_of(self, ids: list[int]) -> list[tuple[float, float]]:
        """Cell centres (lat, lon), from the cache or one ``cell_to_latlng`` per new cell."""
        cache = self._centres
        got = [cache.get(c) for c in ids]
        missing = [i for i, g in enumerate(got) if g is None]
        if missing:
            if len(cache) + len(missing) > 1_000_000:
                cache.clear()
            to_latlng = h3i.cell_to_latlng
            for i in missing:
                c = ids[i]
                got[i] = cache[c] = to_latlng(c)
        return got  # type: ignore[return-value]

    def _details(self, red: npt.NDArray[np.int64], inv: npt.NDArray[np.int64], m: int
                 ) -> np.ndarray:
        """Per cell, its aircraft as JSON ``[[icao24, worst NIC, worst NACp, degraded,
        spoofed], ...]``: spoofed first, then degraded, then by NIC (null: not reported)."""
        spoofed = (red[:, 3] & BIT_SPOOFED) > 0
        degraded = (red[:, 3] & BIT_DEGRADED) > 0
        order = np.lexsort((red[:, 4], ~degraded, ~spoofed, inv))
        r = red[order]
        hexd = np.ascontiguousarray(icao_hex_matrix(self._icao_of_slot[r[:, 1]]),
                                    dtype=np.uint8)
        bounds = np.searchsorted(inv[order], np.arange(m + 1))
        buf = np.empty(len(r) * 27 + 2 * m, dtype=np.uint8)
        ends = np.empty(m, dtype=np.int64)
        k = _details_text(hexd, np.ascontiguousarray(r[:, 4]), np.ascontiguousarray(r[:, 5]),
                          degraded[order], spoofed[order], bounds, buf, ends)
        text = buf[:k].tobytes().decode("ascii")
        cuts = ends.tolist()
        out = np.empty(m, dtype=object)
        lo = 0
        for c in range(m):  # one text per cell row
            hi = cuts[c]
            out[c] = text[lo:hi]
            lo = hi
        return out


@nb.njit(cache=True)
def _put_code(buf: npt.NDArray[np.uint8], k: int, v: int) -> int:
    """A NIC/NACp in JSON at ``buf[k:]``: its digits, ``null`` for 99 (absent)."""
    if v < 0 or v >= 99:
        buf[k] = 110  # n
        buf[k + 1] = 117  # u
        buf[k + 2] = 108  # l
        buf[k + 3] = 108  # l
        return k + 4
    if v >= 10:
        buf[k] = 48 + v // 10
        k += 1
    buf[k] = 48 + v % 10
    return k + 1


@nb.njit(cache=True)
def _details_text(hexd: npt.NDArray[np.uint8], nic: npt.NDArray[np.int64],
                  nacp: npt.NDArray[np.int64], degraded: npt.NDArray[np.bool_],
                  spoofed: npt.NDArray[np.bool_], bounds: npt.NDArray[np.int64],
                  buf: npt.NDArray[np.uint8], ends: npt.NDArray[np.int64]) -> int:
    """The aircraft lists of all cells as one ASCII text in ``buf``: cell ``c`` (rows
    ``bounds[c]:bounds[c + 1]``) is ``[["icao24",nic,nacp,degraded,spoofed],...]`` and ends at
    ``ends[c]``. Returns the length written."""
    k = 0
    for c in range(bounds.shape[0] - 1):
        buf[k] = 91  # [
        k += 1
        for i in range(bounds[c], bounds[c + 1]):
            if i > bounds[c]:
                buf[k] = 44  # ,
                k += 1
            buf[k] = 91  # [
            buf[k + 1] = 34  # "
            for j in range(6):
                buf[k + 2 + j] = hexd[i, j]
            buf[k + 8] = 34  # "
            buf[k + 9] = 44  # ,
            k = _put_code(buf, k + 10, nic[i])
            buf[k] = 44
            k = _put_code(buf, k + 1, nacp[i])
            buf[k] = 44
            buf[k + 1] = 49 if degraded[i] else 48
            buf[k + 2] = 44
            buf[k + 3] = 49 if spoofed[i] else 48
            buf[k + 4] = 93  # ]
            k += 5
        buf[k] = 93  # ]
        k += 1
        ends[c] = k
    return k


def icao_hex(icao: npt.NDArray[np.uint32]) -> npt.NDArray[np.str_]:
    """Lowercase 6-digit hex strings of addresses (vectorised)."""
    digits = icao_hex_matrix(icao)
    out: npt.NDArray[np.str_] = np.ascontiguousarray(digits).view("S6").reshape(-1).astype(str)
    return out


def empty_cells() -> Columns:
    cols = empty_columns(GNSS_CELL_FIELDS, 0)
    for name in ("period", "h3", "level", "details"):
        cols[name] = np.empty(0, dtype=object)
    return cols


class GnssLevels:
    """The interference level of the hexagon under any position, from the latest cell rows of
    one resolution (what an alert rule's ``gnss_level`` reads).

    ``update(cells)`` takes cell rows (the hour just flushed, or
    :meth:`CellAggregator.current` for the hour in progress); ``level_at(lat, lon)`` gives per
    position 0 (none, or no data), 1 (low) or 2 (high).
    """

    def __init__(self, res: int = 4) -> None:
        self.res = res
        self._level: dict[int, int] = {}
        self._start = -math.inf

    def update(self, cells: Columns) -> None:
        m = (cells["res"] == self.res) & (cells["period"] == "hour")
        if not m.any():
            return
        start = float(cells["start"][m].max())
        if start > self._start:  # a newer hour replaces the map
            self._level = {}
            self._start = start
        keep = m & (cells["start"] == start)
        for h, lv in zip(cells["h3"][keep].tolist(), cells["level"][keep].tolist(), strict=True):
            self._level[int(h, 16)] = LEVELS.index(lv)

    def level_at(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> npt.NDArray[np.int8]:
        la = np.asarray(lat, dtype=np.float64).reshape(-1)
        lo = np.asarray(lon, dtype=np.float64).reshape(-1)
        out = np.zeros(la.shape[0], dtype=np.int8)
        if not self._level:
            return out
        ok = np.flatnonzero(np.isfinite(la) & np.isfinite(lo))
        get = self._level.get
        for i, a, b in zip(ok.tolist(), la[ok].tolist(), lo[ok].tolist(), strict=True):
            out[i] = get(h3i.latlng_to_cell(a, b, self.res), 0)
        return out
