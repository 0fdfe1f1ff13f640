"""GNSS monitor: position batches in, ``gnss_jamming`` / ``gnss_spoofing`` events out.

```python
mon = GnssMonitor()                       # or GnssMonitor(params, receivers=[(lat, lon, alt_ft)])
step = mon.update(positions)              # PositionBatch, dict of columns or Arrow table
step.events                               # EVENT_FIELDS columns of the episodes closed
step.flags, step.est_lat, step.est_lon    # per position (kernel.FLAG_*), for the hexagons
events = mon.flush()                      # end of the stream: close every open episode
```

All per-aircraft work happens in :func:`tailwatch.gnss.kernel.gnss_scan` over one state row per
aircraft; Python touches only whole columns and the few closed episodes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numba as nb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tailwatch.core.schema import SOURCE_LABELS, empty_columns
from tailwatch.detect.events import EventSink
from tailwatch.gnss import kernel as kn
from tailwatch.gnss.params import GnssParams

Columns = dict[str, np.ndarray]
_MLAT = SOURCE_LABELS.index("mlat")
_OWN_RADIO = (SOURCE_LABELS.index("adsb"), SOURCE_LABELS.index("adsb_nt"))
#: sources whose rows are decoded records of someone else (a frozen record is their artefact)
_FEEDS = tuple(SOURCE_LABELS.index(x) for x in ("sbs", "json", "opensky", "aggregator",
                                                 "import"))
_NEEDED = ("t", "icao24", "lat", "lon")
#: the other columns update() reads
_USED = frozenset(("altitude_ft", "altitude_geom_ft", "gs_kt", "track_deg", "on_ground", "nic",
                   "nacp", "source"))


def kernel_params(p: GnssParams) -> npt.NDArray[np.float64]:
    v = np.zeros(kn.N_K)
    v[kn.K_BAD_NIC] = p.bad_nic
    v[kn.K_BAD_NACP] = p.bad_nacp
    v[kn.K_GOOD_NIC] = p.good_nic
    v[kn.K_GOOD_NACP] = p.good_nacp
    v[kn.K_CNT_MAX] = p.counter_max
    v[kn.K_CNT_ENTER] = p.counter_enter
    v[kn.K_LOST_GAP] = p.lost_gap_s
    v[kn.K_EPISODE_GAP] = p.episode_gap_s
    v[kn.K_REPORT_EVERY] = p.report_every_s
    v[kn.K_DR_BASE] = p.dr_base_nm
    v[kn.K_DR_RATE] = p.dr_rate
    v[kn.K_DR_TRUST] = p.dr_trust_gap_s
    v[kn.K_MOVING_KT] = p.min_moving_kt
    v[kn.K_SPEED_MIN_NM] = p.speed_min_nm
    v[kn.K_MAXGS_LOW] = p.max_gs_low_kt
    v[kn.K_MAXGS_HIGH] = p.max_gs_high_kt
    v[kn.K_MIN_N] = p.spoof_min_n
    v[kn.K_MIN_S] = p.spoof_min_s
    v[kn.K_END_N] = p.spoof_end_n
    v[kn.K_MLAT_AGE] = p.mlat_max_age_s
    v[kn.K_MLAT_TOL] = p.mlat_tol_nm
    v[kn.K_BARO_JUMP] = p.baro_jump_ft
    v[kn.K_VEL_STALE] = p.feed_velocity_stale_s
    v[kn.K_MIN_OFFSET] = p.spoof_min_offset_nm
    return v


def position_columns(positions: Any) -> Columns:
    """The columns of a PositionBatch, a dict of numpy columns or an Arrow table (store form:
    ``icao24`` as hex strings, ``source`` as labels)."""
    if isinstance(positions, pa.Table):
        cols: Columns = {}
        for name in positions.column_names:
            arr = positions.column(name).to_numpy(zero_copy_only=False)
            cols[name] = arr
        positions = cols
    if isinstance(positions, Mapping):
        cols = dict(positions)
    elif isinstance(getattr(positions, "columns", None), Mapping):
        cols = dict(positions.columns)
    else:
        raise TypeError(f"cannot read positions from {type(positions).__name__}")
    for name in _NEEDED:
        if name not in cols:
            raise KeyError(f"positions lack the column {name!r}")
    ic = cols["icao24"]
    if ic.dtype.kind in "OUS":
        cols["icao24"] = np.array([int(x, 16) for x in ic.astype(str)], dtype=np.uint32)
    t = cols["t"]
    if np.issubdtype(t.dtype, np.datetime64):
        cols["t"] = t.astype("datetime64[us]").astype(np.int64) / 1e6
    src = cols.get("source")
    if src is not None and src.dtype.kind in "OUS":
        lut = {lab: i for i, lab in enumerate(SOURCE_LABELS)}
        cols["source"] = np.array([lut.get(str(x), -1) for x in src], dtype=np.int8)
    return cols


def _col(cols: Columns, name: str, n: int, dtype: type, fill: float) -> np.ndarray:
    c = cols.get(name)
    if c is None:
        return np.full(n, fill, dtype=dtype)
    arr = np.asarray(c)
    if arr.dtype == object:
        arr = np.array([fill if v is None else v for v in arr])
    return arr.astype(dtype, copy=False)


@dataclass(slots=True)
class GnssStep:
    """What one update produced: events and, per position of the batch, flags and estimates."""

    events: Columns
    flags: npt.NDArray[np.int8]
    est_lat: npt.NDArray[np.float64]
    est_lon: npt.NDArray[np.float64]
    icao24: npt.NDArray[np.uint32]
    t: npt.NDArray[np.float64]
    nic: npt.NDArray[np.int64]
    nacp: npt.NDArray[np.int64]
    #: the monitor's state row of each position, and the address of each row (shared with
    #: the hexagon aggregation, which then needs no look-up of its own)
    slots: npt.NDArray[np.int64] | None = None
    slot_icao: npt.NDArray[np.uint32] | None = None

    def part(self, lo: int, hi: int) -> GnssStep:
        return GnssStep(self.events, self.flags[lo:hi], self.est_lat[lo:hi],
                        self.est_lon[lo:hi], self.icao24[lo:hi], self.t[lo:hi],
                        self.nic[lo:hi], self.nacp[lo:hi],
                        None if self.slots is None else self.slots[lo:hi], self.slot_icao)


@nb.njit(cache=True)
def _probe(table: npt.NDArray[np.int64], shift: int, icao: npt.NDArray[np.uint32],
           out: npt.NDArray[np.int64]) -> int:
    """Slots of ``icao`` from the open-addressing ``table`` (rows key, slot; key -1: empty) into
    ``out`` (-1: unknown); returns how many are unknown."""
    mask = table.shape[0] - 1
    missing = 0
    for i in range(icao.shape[0]):
        key = np.int64(icao[i])
        h = ((key * 2654435761) & 0xFFFFFFFF) >> shift
        while True:
            k = table[h, 0]
            if k == key:
                out[i] = table[h, 1]
                break
            if k == -1:
                out[i] = -1
                missing += 1
                break
            h = (h + 1) & mask
    return missing


@nb.njit(cache=True)
def _insert(table: npt.NDArray[np.int64], shift: int, keys: npt.NDArray[np.uint32],
            first_slot: int) -> None:
    """Put ``keys`` (not in the table yet) with the slots ``first_slot, first_slot + 1, ...``."""
    mask = table.shape[0] - 1
    for i in range(keys.shape[0]):
        key = np.int64(keys[i])
        h = ((key * 2654435761) & 0xFFFFFFFF) >> shift
        while table[h, 0] != -1:
            h = (h + 1) & mask
        table[h, 0] = key
        table[h, 1] = first_slot + i


class SlotMap:
    """icao24 → state row: a compiled hash table (open addressing, at most half full); new
    addresses get new rows in ascending address order. No per-aircraft Python."""

    def __init__(self) -> None:
        self.icao_of_slot = np.empty(0, dtype=np.uint32)
        self._bits = 10
        self._table = np.full((1 << self._bits, 2), -1, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.icao_of_slot.shape[0])

    def lookup(self, icao: npt.NDArray[np.uint32]) -> tuple[npt.NDArray[np.int64], int]:
        """Slots of ``icao`` (new addresses get new slots); returns (slots, new count)."""
        icao = np.ascontiguousarray(icao, dtype=np.uint32)
        out = np.empty(icao.shape[0], dtype=np.int64)
        if not _probe(self._table, 32 - self._bits, icao, out):  # the usual case
            return out, 0
        new = np.unique(icao[out < 0])
        start = len(self)
        self.icao_of_slot = np.concatenate([self.icao_of_slot, new])
        if 2 * len(self) > self._table.shape[0]:  # rebuild, at most half full
            while 2 * len(self) > (1 << self._bits):
                self._bits += 1
            self._table = np.full((1 << self._bits, 2), -1, dtype=np.int64)
            _insert(self._table, 32 - self._bits, self.icao_of_slot, 0)
        else:
            _insert(self._table, 32 - self._bits, new, start)
        _probe(self._table, 32 - self._bits, icao, out)
        return out, len(new)


class GnssMonitor:
    """Per-aircraft GNSS quality and spoofing state across position batches."""

    def __init__(self, params: GnssParams | None = None, *,
                 receivers: Sequence[tuple[float, float, float]] = ()) -> None:
        self.params = params or GnssParams()
        self._p = kernel_params(self.params)
        self._slots = SlotMap()
        self._state = kn.new_state(1024)
        self.receivers = np.array(list(receivers), dtype=np.float64).reshape(-1, 3)
        #: artefacts and unconfirmed episodes, by name (never events)
        self.counts: dict[str, int] = {"unconfirmed_spoofing": 0, "jamming_never_good": 0}
        self._last_t = -math.inf

    # --- state rows --------------------------------------------------------------------
    def _room(self, need: int) -> None:
        have = self._state.shape[0]
        if need <= have:
            return
        rows = max(need, have * 2)
        grown = np.empty((rows, kn.NS))
        grown[:have] = self._state
        kn.init_rows(grown, have, rows)
        self._state = grown

    @property
    def artefacts(self) -> dict[str, int]:
        n = len(self._slots)
        return {"frozen_records": int(self._state[:n, kn.A_FROZEN].sum()),
                "time_glitches": int(self._state[:n, kn.A_GLITCH].sum())}

    # --- evidence computed over whole columns ------------------------------------------
    def _beyond_horizon(self, cols: Columns, n: int, alt: npt.NDArray[np.float64]
                        ) -> npt.NDArray[np.float64]:
        out = np.full(n, np.nan)
        if not len(self.receivers) or "source" not in cols:
            return out
        own = np.isin(cols["source"], _OWN_RADIO) & np.isfinite(alt) & (alt > 0)
        if not own.any():
            return out
        lat = cols["lat"][own].astype(np.float64)
        lon = cols["lon"][own].astype(np.float64)
        h = np.sqrt(alt[own])
        best = np.full(lat.shape[0], np.inf)
        r = math.pi / 180.0
        for rlat, rlon, ralt in self.receivers:  # a few receivers
            a = (np.sin((lat - rlat) * r / 2) ** 2 + np.cos(lat * r) * math.cos(rlat * r)
                 * np.sin((lon - rlon) * r / 2) ** 2)
            d = 2.0 * kn.R_EARTH_NM * np.arcsin(np.minimum(1.0, np.sqrt(a)))
            horizon = 1.23 * (h + math.sqrt(max(ralt, 0.0))) * self.params.horizon_margin
            best = np.minimum(best, d - horizon)
        out[own] = best
        return out

    def _same_point(self, t: npt.NDArray[np.float64], lat: npt.NDArray[np.float64],
                    lon: npt.NDArray[np.float64], icao: npt.NDArray[np.uint32],
                    gs: npt.NDArray[np.float64], slots: npt.NDArray[np.int64]
                    ) -> npt.NDArray[np.float64]:
        """Per position: how many aircraft stand still at the same point (within
        ``same_point_nm``, in the same minute) while their velocity says they move; 0 below
        ``same_point_min_aircraft``."""
        n = t.shape[0]
        out = np.zeros(n)
        p = self.params
        m = kn.still_moving(slots, lat, lon, gs, self._state, p.min_moving_kt)
        if int(m.sum()) < p.same_point_min_aircraft:
            return out
        cell = p.same_point_nm / 60.0
        key = np.stack([np.floor(t[m] / 60.0), np.round(lat[m] / cell),
                        np.round(lon[m] * np.cos(np.radians(lat[m])) / cell),
                        icao[m].astype(np.float64)], axis=1)
        uniq, inv = np.unique(key, axis=0, return_inverse=True)
        _, pinv, pcount = np.unique(uniq[:, :3], axis=0, return_inverse=True,
                                    return_counts=True)
        per_row = pcount[pinv.reshape(-1)][inv.reshape(-1)].astype(np.float64)
        per_row[per_row < p.same_point_min_aircraft] = 0.0
        out[m] = per_row
        return out

    # --- public --------------------------------------------------------------------------
    def update(self, positions: Any) -> GnssStep:
        cols = position_columns(positions)
        t_in = np.asarray(cols["t"], dtype=np.float64)
        ok = np.isfinite(t_in) & np.isfinite(np.asarray(cols["lat"], dtype=np.float64)) & \
            np.isfinite(np.asarray(cols["lon"], dtype=np.float64))
        order = np.flatnonzero(ok)
        t_ok = t_in[order]
        if len(t_ok) > 1 and not bool((t_ok[1:] >= t_ok[:-1]).all()):  # else: in order already
            order = order[np.argsort(t_ok, kind="stable")]
        n = len(order)
        icao = np.asarray(cols["icao24"]).astype(np.uint32)[order]
        t = t_in[order]
        lat = np.asarray(cols["lat"], dtype=np.float64)[order]
        lon = np.asarray(cols["lon"], dtype=np.float64)[order]
        sub = {k: np.asarray(v)[order] for k, v in cols.items()
               if k in _USED and hasattr(v, "__len__")}
        alt = _col(sub, "altitude_ft", n, np.float64, np.nan)
        geom = _col(sub, "altitude_geom_ft", n, np.float64, np.nan)
        gs = _col(sub, "gs_kt", n, np.float64, np.nan)
        trk = _col(sub, "track_deg", n, np.float64, np.nan)
        ground = _col(sub, "on_ground", n, np.int64, -1)
        nic = _col(sub, "nic", n, np.int64, -1)
        nacp = _col(sub, "nacp", n, np.int64, -1)
        src = _col(sub, "source", n, np.int64, -1)
        slots, _ = self._slots.lookup(icao)
        self._room(len(self._slots))
        flags = np.zeros(n, dtype=np.int8)
        est_lat = np.empty(n)
        est_lon = np.empty(n)
        out = np.empty((2 * n + 2, kn.N_OUT))
        k = kn.gnss_scan(slots, t, lat, lon, alt, geom, gs, trk, ground, nic, nacp,
                         src == _MLAT, np.isin(src, _FEEDS) | (src < 0),
                         self._beyond_horizon({"source": src, "lat": lat,
                                                              "lon": lon}, n, alt),
                         self._same_point(t, lat, lon, icao, gs, slots),
                         self._state, self._p, flags, est_lat, est_lon, out)
        if n:
            self._last_t = max(self._last_t, float(t[-1]))
        events = self._events(out[:k])
        return GnssStep(events, flags, est_lat, est_lon, icao, t, nic, nacp, slots,
                        self._slots.icao_of_slot)

    def observe(self, snapshot: Any) -> Columns:
        """Positions lost while the aircraft is still heard, from a live-table snapshot
        (``Tracker.snapshot()``: ``now`` and the columns ``icao24``, ``last_seen``,
        ``t_position``, ``positions``, ``messages``, ``on_ground``, ``lat``, ``lon``): some
        transponders stop sending positions when their GNSS is jammed, and go on with altitude,
        velocity and Mode S replies. Returns the ``gnss_jamming`` events (``effect``
        ``positions_lost``) of the episodes that ended; vectorised over the aircraft."""
        cols = snapshot.columns
        now = float(snapshot.now)
        p = self.params
        icao = np.asarray(cols["icao24"]).astype(np.uint32)
        if not len(icao):
            return self._lost_events(np.empty(0, dtype=np.int64), np.empty(0))
        slots, _ = self._slots.lookup(icao)
        self._room(len(self._slots))
        st = self._state
        last = np.asarray(cols["last_seen"], dtype=np.float64)
        tpos = np.asarray(cols["t_position"], dtype=np.float64)
        msgs = np.asarray(cols["messages"], dtype=np.float64)
        airborne = np.asarray(cols["on_ground"]) != 1
        had = (np.asarray(cols["positions"]) > 0) & np.isfinite(tpos)
        heard = now - last <= p.heard_within_s
        lost = airborne & had & heard & (now - tpos >= p.lost_after_s)
        mode = st[slots, kn.L_MODE]
        start = lost & (mode == 0.0)
        s_new = slots[start]
        st[s_new, kn.L_MODE] = 1.0
        st[s_new, kn.L_START] = tpos[start]
        st[s_new, kn.L_MSGS] = msgs[start]
        st[s_new, kn.L_LAT] = np.asarray(cols["lat"], dtype=np.float64)[start]
        st[s_new, kn.L_LON] = np.asarray(cols["lon"], dtype=np.float64)[start]
        st[slots[lost], kn.L_HEARD] = last[lost]
        # episodes that end: in the snapshot and not lost any more, or gone from it
        n = len(self._slots)
        open_ = np.flatnonzero(st[:n, kn.L_MODE] == 1.0)
        still = np.zeros(n, dtype=bool)
        still[slots[lost]] = True
        ended = open_[~still[open_]]
        # messages heard meanwhile, for those still in the snapshot (NaN: gone)
        now_msgs = np.full(n, np.nan)
        now_msgs[slots] = msgs
        return self._lost_events(ended, now_msgs[ended] - st[ended, kn.L_MSGS])

    def _lost_events(self, ended: npt.NDArray[np.int64], n_msgs: npt.NDArray[np.float64]
                     ) -> Columns:
        sink = EventSink()
        st = self._state
        p = self.params
        for s, n_msg in zip(ended.tolist(), n_msgs.tolist(), strict=True):  # few
            t0 = float(st[s, kn.L_START])
            t1 = float(st[s, kn.L_HEARD])
            st[s, kn.L_MODE] = 0.0
            if t1 - t0 < p.lost_min_s:
                continue
            if math.isfinite(n_msg) and n_msg < p.lost_min_messages:
                continue
            sink.add(t0, int(self._slots.icao_of_slot[s]), "", "gnss_jamming",
                     lat=float(st[s, kn.L_LAT]), lon=float(st[s, kn.L_LON]), details={
                         "effect": "positions_lost", "until": t1, "duration_s": t1 - t0,
                         "worst_nic": None, "worst_nacp": None,
                         "messages_without_position": None if not math.isfinite(n_msg)
                         else int(n_msg), "lost_s": t1 - t0})
        return sink.take()

    def expire(self, now: float | None = None) -> Columns:
        """Close the episodes of aircraft silent for ``episode_gap_s`` (data time: the latest
        position seen when ``now`` is None)."""
        ref = self._last_t if now is None else now
        return self._close(ref - self.params.episode_gap_s)

    def flush(self) -> Columns:
        """Close every open episode (end of a stream or a history)."""
        n = len(self._slots)
        lost = np.flatnonzero(self._state[:n, kn.L_MODE] == 1.0)
        return concat_events([self._close(math.inf),
                              self._lost_events(lost, np.full(len(lost), np.nan))])

    def _close(self, before_t: float) -> Columns:
        n = len(self._slots)
        out = np.empty((2 * n + 2, kn.N_OUT))
        k = kn.close_episodes(self._state, n, before_t, self._p, out)
        return self._events(out[:k])

    def _events(self, rec: npt.NDArray[np.float64]) -> Columns:
        sink = EventSink()
        for row in rec:  # closed episodes only: few
            kind = int(row[kn.O_KIND])
            icao = int(self._slots.icao_of_slot[int(row[kn.O_SLOT])])
            if kind == kn.KIND_UNCONFIRMED:
                self.counts["unconfirmed_spoofing"] += 1
            elif kind == kn.KIND_JAMMING:
                if row[kn.O_SEEN_GOOD] <= 0:
                    self.counts["jamming_never_good"] += 1
                    continue
                sink.add(row[kn.O_START], icao, "", "gnss_jamming", lat=row[kn.O_LAT],
                         lon=row[kn.O_LON], details=jamming_details(row))
            else:
                sink.add(row[kn.O_START], icao, "", "gnss_spoofing", lat=row[kn.O_LAT],
                         lon=row[kn.O_LON], details=spoofing_details(row))
        return sink.take()


def _code(v: float) -> int | None:
    return None if not math.isfinite(v) or v >= 99 else int(v)


def jamming_details(row: npt.NDArray[np.float64]) -> dict[str, Any]:
    return {
        "until": row[kn.O_UNTIL],
        "duration_s": row[kn.O_UNTIL] - row[kn.O_START],
        "worst_nic": _code(row[kn.O_WNIC]),
        "worst_nacp": _code(row[kn.O_WNACP]),
        "positions_degraded": int(row[kn.O_N]),
        "positions_nic0": int(row[kn.O_NIC0]),
        "positions_lost": int(row[kn.O_LOST_N]),
        "lost_s": row[kn.O_LOST_S],
        "gaps": int(row[kn.O_GAPS]),
        "part": int(row[kn.O_PART]),
    }


def spoofing_details(row: npt.NDArray[np.float64]) -> dict[str, Any]:
    ev = int(row[kn.O_EV])
    evidence: dict[str, Any] = {}
    for bit, name in kn.EVIDENCE_NAMES:
        if not ev & bit:
            continue
        if bit == kn.EV_DEAD_RECKONING:
            evidence[name] = {"max_offset_nm": row[kn.O_MAXDIV]}
        elif bit == kn.EV_IMPOSSIBLE_SPEED:
            evidence[name] = {"max_implied_kt": row[kn.O_MAXSPD]}
        elif bit == kn.EV_STILL_WHILE_MOVING:
            evidence[name] = {"still_s": row[kn.O_STILL_S]}
        elif bit == kn.EV_MLAT:
            evidence[name] = {"max_offset_nm": row[kn.O_MLAT_NM]}
        elif bit == kn.EV_GNSS_BARO:
            evidence[name] = {"max_departure_ft": row[kn.O_BARO_FT]}
        elif bit == kn.EV_SAME_POINT:
            evidence[name] = {"aircraft": int(row[kn.O_CLUSTER])}
        elif bit == kn.EV_BEYOND_HORIZON:
            evidence[name] = {"max_beyond_nm": row[kn.O_HORIZON_NM]}
        else:
            evidence[name] = {"still_s": row[kn.O_STILL_S]}
    return {
        "until": row[kn.O_UNTIL],
        "duration_s": row[kn.O_UNTIL] - row[kn.O_START],
        "reported_lat": row[kn.O_RLAT],
        "reported_lon": row[kn.O_RLON],
        "expected_lat": row[kn.O_XLAT],
        "expected_lon": row[kn.O_XLON],
        "offset_nm": row[kn.O_MAXDIV],
        "positions": int(row[kn.O_N]),
        "evidence": evidence,
        "artefacts_seen": {"frozen_records": int(row[kn.O_FROZEN]),
                           "time_glitches": int(row[kn.O_GLITCH])},
    }


def detect_gnss(positions: Any, params: GnssParams | None = None, *,
                receivers: Sequence[tuple[float, float, float]] = ()) -> Columns:
    """The GNSS events of a whole history (one update, then flush)."""
    mon = GnssMonitor(params, receivers=receivers)
    ev = mon.update(positions).events
    return concat_events([ev, mon.flush()])


def concat_events(parts: Sequence[Mapping[str, np.ndarray]]) -> Columns:
    from tailwatch.core.schema import EVENT_FIELDS

    if not parts:
        return empty_columns(EVENT_FIELDS, 0)
    out = {f.name: np.concatenate([p[f.name] for p in parts]) for f in EVENT_FIELDS}
    order = np.lexsort((out["icao24"], out["t"]))
    return {k: v[order] for k, v in out.items()}
