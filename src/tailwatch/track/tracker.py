"""The one stateful stage: MessageBatches in, live aircraft table and accepted positions out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tailwatch.core.rejects import Rejects
from tailwatch.core.schema import POSITION_FIELDS, SOURCE_LABELS, empty_columns
from tailwatch.decode.batch import MessageBatch
from tailwatch.reference.geo import initial_bearing_deg
from tailwatch.track import kernel as k_
from tailwatch.track import kernel_states as ks_
from tailwatch.track.states import make_states

COUNTER_NAMES = (
    "messages", "ghost", "no_time", "positions", "cpr_no_pair", "cpr_global_fail", "speed",
    "range", "surface_in_air", "surface_no_reference", "local_decodes", "global_decodes",
    "position_resets",
    "states", "state_no_time", "state_no_position", "state_positions", "state_bad_position",
    "state_not_newer", "state_outranked", "state_range", "state_speed",
)
# Message-level rejects (messages in = tracked + these) and position-level rejects.
MESSAGE_REJECTS = ("ghost", "no_time")
POSITION_REJECTS = ("cpr_global_fail", "speed", "range", "surface_in_air",
                    "surface_no_reference")
# State vectors: rows in = states + STATE_REJECTS; states = state_no_position +
# state_positions + STATE_POSITION_REJECTS.
STATE_REJECTS = ("state_no_time",)
STATE_POSITION_REJECTS = ("state_bad_position", "state_not_newer", "state_outranked",
                          "state_range", "state_speed")
# The rejects that say a position was implausible, also counted per aircraft (kernel ``R_*``
# order) for Tracker.take_position_rejects; the other position rejects are normal (no CPR
# pair yet, a pair across a zone boundary, a state vector older or outranked).
IMPLAUSIBLE_REJECTS = ("speed", "range", "surface_in_air", "state_bad_position",
                       "state_range", "state_speed")
assert len(IMPLAUSIBLE_REJECTS) == k_.N_REJ
_IMPLAUSIBLE_COUNTERS = np.array([COUNTER_NAMES.index(x) for x in IMPLAUSIBLE_REJECTS])

# Source rank (kernel) → index into SOURCE_LABELS.
_RANK_TO_SOURCE = np.array(
    [SOURCE_LABELS.index(x) for x in (
        "adsb", "adsb_nt", "adsr", "tisb", "mlat", "sbs", "mode_s", "adsb_nt", "adsr", "tisb",
        "tisb",
    )],
    dtype=np.int8,
)
# SOURCE_LABELS index → kernel rank for state vectors: decoded feeds (SBS, readsb JSON,
# OpenSky, aggregators, imports, the simulator) rank as RANK_FEED, MLAT as RANK_MLAT; a feed
# labelled with a message source takes that source's rank.
_RANK_BY_LABEL = np.array(
    [{"adsb": 0, "adsb_nt": 1, "adsr": 2, "tisb": 3, "mlat": k_.RANK_MLAT,
      "mode_s": 6}.get(x, k_.RANK_FEED) for x in SOURCE_LABELS],
    dtype=np.int64,
)
_FEED_RANKS = (k_.RANK_MLAT, k_.RANK_FEED)


def _source_labels(rank: np.ndarray, label: np.ndarray) -> np.ndarray:
    """Source label per row: from the rank, or for feed ranks the feed's own label; -1 where
    the value never came (rank ``NO_SOURCE``)."""
    out: np.ndarray = _RANK_TO_SOURCE[np.clip(rank, 0, 10)]
    feed = np.isin(rank, _FEED_RANKS) & (label >= 0)
    out = np.where(feed, label, out)
    return np.where(rank >= k_.NO_SOURCE, -1, out).astype(np.int8)


#: readsb's rssi: 10·log10(sum of the last 8 levels / 8 + 1.125e-5) once 8 were received,
#: the sum of 4 to 7 levels over 8 until then; fewer than 4: none (readsb's -49.5, tar1090's
#: n/a)
_RSSI_FLOOR = 1.125e-5
MAX_WIND_ALTITUDE_CHANGE_FT = 500.0  # wind computed more than this lower/higher: not served


def _rssi_dbfs(sf: np.ndarray, si: np.ndarray) -> np.ndarray:
    levels = sf[:, k_.SF_SIG0:k_.SF_SIG7 + 1]
    count = si[:, k_.SI_NSIG]
    slot = np.arange(8)[None, :]
    total = np.where(slot < count[:, None], levels, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore"):
        out = 10.0 * np.log10(total / 8.0 + _RSSI_FLOOR)
    return np.where(count >= 4, out, np.nan)


@dataclass(slots=True)
class PositionBatch:
    """Every accepted position with the aircraft's state at that moment
    (columns of core.schema.POSITION_FIELDS). ``rejects``: when the pipeline sets it, the
    implausible positions the tracker rejected while producing this batch, per address and
    reason (:meth:`Tracker.take_position_rejects`); a batch may carry rejects and no rows."""

    columns: dict[str, np.ndarray]
    rejects: dict[int, dict[str, int]] | None = None

    def __len__(self) -> int:
        return int(self.columns["t"].shape[0])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def to_arrow(self) -> pa.Table:
        from tailwatch.decode.batch import fields_to_arrow

        return fields_to_arrow(POSITION_FIELDS, self.columns)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An immutable picture of the live table at ``now`` (for the API: never mutated)."""

    now: float
    columns: Mapping[str, np.ndarray]
    counters: Mapping[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.columns["icao24"].shape[0])


def _airport_grid() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64],
                             npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    from tailwatch.reference.airports import airports

    return airports().grid()


class Tracker:
    """Keeps one row per aircraft (see track/kernel.py for the rules) and emits positions.

    ``receivers`` maps a receiver id to its (lat, lon), used as a surface-decoding reference
    and, with ``max_range_nm`` > 0, to reject positions out of the receiver's range.
    """

    def __init__(
        self,
        *,
        receivers: Mapping[int, tuple[float, float]] | None = None,
        max_range_nm: float = 0.0,
        use_airports: bool = True,
        capacity: int = 1024,
    ) -> None:
        self.max_range_nm = float(max_range_nm)
        self.counters = np.zeros(k_.N_COUNTERS, dtype=np.int64)
        self._n = np.zeros(1, dtype=np.int64)
        self._sf = np.empty((0, k_.N_SF), dtype=np.float64)
        self._si = np.empty((0, k_.N_SI), dtype=np.int64)
        self._cs = np.empty((0, 8), dtype=np.uint8)
        self._rj = np.empty((0, k_.N_REJ), dtype=np.int32)
        self._rj_taken = 0  # sum of the IMPLAUSIBLE_REJECTS counters at the last take
        #: for each position of the last :meth:`update`, the row of its message in the batch
        self.last_message_rows = np.zeros(0, np.int64)
        self._keys = np.full(16, k_.EMPTY, dtype=np.uint32)
        self._vals = np.zeros(16, dtype=np.int64)
        self._grow_slots(capacity)
        self._rehash(capacity * 2)
        self.set_receivers(receivers or {})
        if use_airports:
            self._grid = _airport_grid()
        else:
            self._grid = (np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0),
                          np.zeros(0))

    # --- capacity ---------------------------------------------------------------------------
    def _grow_slots(self, need: int) -> None:
        cap = self._sf.shape[0]
        if need <= cap:
            return
        new = max(need, cap * 2, 1024)
        sf = np.full((new, k_.N_SF), np.nan)
        si = np.full((new, k_.N_SI), -1, dtype=np.int64)
        si[:, [k_.SI_MSGS, k_.SI_CONFIRMED, k_.SI_ACTIVE, k_.SI_POSITIONS, k_.SI_NSIG]] = 0
        si[:, [k_.SI_SRC_POS, k_.SI_SRC_ALT, k_.SI_SRC_VEL, k_.SI_SRC_CS, k_.SI_SRC_GND,
               k_.SI_BEST_SRC, k_.SI_SRC_SQ, k_.SI_SRC_VR, k_.SI_SRC_GEOM]] = k_.NO_SOURCE
        cs = np.zeros((new, 8), dtype=np.uint8)
        rj = np.zeros((new, k_.N_REJ), dtype=np.int32)
        sf[:cap], si[:cap], cs[:cap], rj[:cap] = self._sf, self._si, self._cs, self._rj
        self._sf, self._si, self._cs, self._rj = sf, si, cs, rj

    def _rehash(self, need: int) -> None:
        size = 16
        while size < 2 * need:
            size *= 2
        if size <= self._keys.shape[0]:
            return
        keys = np.full(size, k_.EMPTY, dtype=np.uint32)
        vals = np.zeros(size, dtype=np.int64)
        n = int(self._n[0])
        for s in range(n):  # rare: only when the table doubles
            k_.insert(keys, vals, int(self._si[s, k_.SI_KEY]), s)
        self._keys, self._vals = keys, vals

    def set_receivers(self, receivers: Mapping[int, tuple[float, float]]) -> None:
        size = max([0, *receivers.keys()]) + 1
        self._rx_lat = np.full(size, np.nan)
        self._rx_lon = np.full(size, np.nan)
        for rid, (lat, lon) in receivers.items():
            self._rx_lat[rid] = lat
            self._rx_lon[rid] = lon

    # --- processing ---------------------------------------------------------------------------
    def update(
        self, batch: MessageBatch, n_receivers: npt.NDArray[np.uint8] | None = None
    ) -> PositionBatch:
        """Apply a batch (sorted by time here if it is not) and return its accepted positions."""
        m = len(batch)
        c = batch.columns
        order = None
        t = c["t"]
        if m > 1 and not bool(np.all(t[1:] >= t[:-1])):
            order = np.argsort(t, kind="stable")
        cols = {k: (v if order is None else v[order]) for k, v in c.items()}
        rx = batch.frames.receiver if order is None else batch.frames.receiver[order]
        sig = batch.frames.signal_dbfs if order is None else batch.frames.signal_dbfs[order]
        nrx = np.ones(m, np.uint8) if n_receivers is None else np.asarray(n_receivers, np.uint8)
        if order is not None and n_receivers is not None:
            nrx = nrx[order]
        of, oi = self._room_for(m)
        g = self._grid
        npos = k_.track_messages(
            self._keys, self._vals, self._n, self._sf, self._si, self._cs,
            cols["t"], cols["icao24"], cols["crc_ok"], cols["addr_type"], cols["typecode"],
            cols["bds"], cols["on_ground"], cols["altitude_ft"], cols["altitude_source"],
            cols["squawk"],
            cols["callsign"].view(np.uint8).reshape(m, 8), cols["category"], cols["cpr_odd"],
            cols["cpr_lat"], cols["cpr_lon"], cols["surface"], cols["nic_supplement"],
            cols["gs_kt"], cols["track_deg"], cols["heading_deg"], cols["ias_kt"],
            cols["tas_kt"], cols["mach"], cols["vrate_fpm"], cols["nacp"], cols["nacv"],
            cols["sil"], cols["version"], cols["nic_sup_a"], cols["nic_sup_c"],
            cols["emergency"], cols["selected_altitude_ft"], cols["baro_setting_hpa"],
            cols["nav_modes"], cols["roll_deg"], cols["alert"], cols["spi"],
            cols["sil_supplement"], cols["nic_baro"], cols["gva"], cols["sda"], cols["hrd"],
            cols["vrate_source"], cols["gnss_baro_diff_ft"], cols["selected_altitude_source"],
            cols["selected_heading_deg"], cols["track_rate_deg_s"], sig, rx, nrx,
            self._rx_lat, self._rx_lon, self.max_range_nm, g[0], g[1], g[2], g[3],
            of, oi, self.counters, self._rj,
        )
        rows = oi[k_.OI_LABEL, :npos]
        self.last_message_rows = rows.copy() if order is None else order[rows]
        return self._positions(of[:, :npos], oi[:, :npos])

    def slots_of(self, icao24: npt.NDArray[np.uint32]) -> npt.NDArray[np.int64]:
        """The live-table slot of each ICAO address (-1: never seen), one compiled call."""
        key = np.ascontiguousarray(icao24, np.int64) & 0xFFFFFF
        out = np.empty(key.shape[0], np.int64)
        ks_.lookup_many(self._keys, self._vals, key, out)
        return out

    def aircraft_state(self, slots: npt.NDArray[np.int64]) -> dict[str, np.ndarray]:
        """What multilateration reads of known aircraft (``slots`` ≥ 0): the time the address
        was last confirmed by a parity-checked message (NaN: never), the position's time and
        source rank, the barometric altitude and its time."""
        sf = self._sf[slots]
        si = self._si[slots]
        return {
            "t_confirmed": np.where(si[:, k_.SI_CONFIRMED] == 1, sf[:, k_.SF_TCONF], np.nan),
            "t_position": sf[:, k_.SF_TPOS],
            "position_rank": si[:, k_.SI_SRC_POS],
            "altitude_ft": sf[:, k_.SF_ALT],
            "t_altitude": sf[:, k_.SF_TALT],
        }

    def update_states(
        self, columns: Mapping[str, npt.ArrayLike], source: str | None = None
    ) -> PositionBatch:
        """Merge decoded state vectors into the live table and return the accepted positions.

        ``columns``: any subset of :data:`tailwatch.track.states.STATE_FIELDS` (``t`` and
        ``icao24`` required; a ``StateBatch``'s or ``PositionBatch``'s columns, or SBS parser
        columns reduced to those names); absent values NaN / -1 / ``b""``; rows without
        ``lat``/``lon`` update the other fields only. ``source`` (a label of
        ``SOURCE_LABELS``) applies to every row; else the ``source`` column does. Fields obey
        the per-field ranking (see track/kernel.py); positions pass the plausibility checks
        and are emitted with their source label. One compiled call per batch."""
        if source is None and "source" not in columns:
            raise ValueError("update_states needs a source label or a 'source' column")
        sb = make_states(columns, source)
        m = len(sb)
        c = sb.columns
        t = c["t"]
        if m > 1 and not bool(np.all(t[1:] >= t[:-1])):
            c = sb.take(np.argsort(t, kind="stable")).columns
        label = c["source"].astype(np.int64)
        if m and (label.min() < 0 or label.max() >= len(SOURCE_LABELS)):
            raise ValueError("state vectors with an unknown source label")
        of, oi = self._room_for(m)
        npos = ks_.track_states(
            self._keys, self._vals, self._n, self._sf, self._si, self._cs,
            c["t"], c["icao24"] & np.uint32(0xFFFFFF), _RANK_BY_LABEL[label], label,
            c["lat"], c["lon"], c["altitude_ft"], c["altitude_geom_ft"], c["gs_kt"],
            c["track_deg"], c["vrate_fpm"], c["on_ground"],
            np.ascontiguousarray(c["callsign"]).view(np.uint8).reshape(m, 8), c["squawk"],
            c["nic"], c["nacp"], c["emergency"], c["receiver"], c["receivers"],
            self._rx_lat, self._rx_lon, self.max_range_nm, of, oi, self.counters, self._rj,
        )
        return self._positions(of[:, :npos], oi[:, :npos], from_states=True)

    def _room_for(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        """Table room for ``m`` more aircraft, and the kernels' output matrices for ``m``
        rows (floats, integers)."""
        n = int(self._n[0])
        self._grow_slots(n + m)
        self._rehash(n + m)
        return (np.empty((k_.N_OF, m), dtype=np.float64),
                np.empty((k_.N_OI, m), dtype=np.int64))

    def _positions(self, of: np.ndarray, oi: np.ndarray, *,
                   from_states: bool = False) -> PositionBatch:
        n = of.shape[1]
        cols = empty_columns(POSITION_FIELDS, n)
        slots = oi[k_.OI_SLOT]
        cols["t"] = of[k_.OF_T].copy()
        cols["icao24"] = self._si[slots, k_.SI_KEY].astype(np.uint32)
        cols["lat"] = of[k_.OF_LAT].copy()
        cols["lon"] = of[k_.OF_LON].copy()
        cols["altitude_ft"] = of[k_.OF_ALT].astype(np.float32)
        cols["altitude_geom_ft"] = of[k_.OF_GEOM].astype(np.float32)
        cols["gs_kt"] = of[k_.OF_GS].astype(np.float32)
        cols["track_deg"] = of[k_.OF_TRK].astype(np.float32)
        cols["vrate_fpm"] = of[k_.OF_VR].astype(np.float32)
        cols["on_ground"] = oi[k_.OI_GROUND].astype(np.int8)
        cols["callsign"] = np.ascontiguousarray(self._cs[slots]).view("S8").reshape(-1)
        cols["squawk"] = oi[k_.OI_SQUAWK].astype(np.int16)
        cols["nic"] = oi[k_.OI_NIC].astype(np.int8)
        cols["nacp"] = oi[k_.OI_NACP].astype(np.int8)
        cols["source"] = (oi[k_.OI_LABEL].astype(np.int8) if from_states
                          else _RANK_TO_SOURCE[oi[k_.OI_SRC]])
        cols["receivers"] = oi[k_.OI_RX].astype(np.uint8)
        return PositionBatch(cols)

    def take_position_rejects(self) -> dict[int, dict[str, int]]:
        """Implausible positions rejected since the last call (reasons of
        :data:`IMPLAUSIBLE_REJECTS`), per address (as in ``PositionBatch.icao24``) and reason,
        for the aircraft that have any; their counts start again from zero."""
        taken = int(self.counters[_IMPLAUSIBLE_COUNTERS].sum())
        if taken == self._rj_taken:  # nothing new: no scan of the table
            return {}
        self._rj_taken = taken
        n = int(self._n[0])
        rows = np.flatnonzero(self._rj[:n].any(axis=1))
        counts = self._rj[rows].tolist()
        self._rj[rows] = 0
        keys = self._si[rows, k_.SI_KEY].tolist()
        return {key: {name: c for name, c in zip(IMPLAUSIBLE_REJECTS, row, strict=True) if c}
                for key, row in zip(keys, counts, strict=True)}

    # --- live table -----------------------------------------------------------------------------
    def expire(self, now: float, max_age_s: float = 300.0) -> int:
        """Take aircraft not heard for ``max_age_s`` out of the live table; returns how many."""
        n = int(self._n[0])
        active = self._si[:n, k_.SI_ACTIVE] == 1
        old = active & ~(now - self._sf[:n, k_.SF_LAST] <= max_age_s)
        self._si[:n, k_.SI_ACTIVE][old] = 0
        return int(old.sum())

    def stats(self) -> Rejects:
        return Rejects.of(zip(COUNTER_NAMES, self.counters.tolist(), strict=True))

    def snapshot(self, now: float | None = None) -> Snapshot:
        """Copy of the live table: one row per active aircraft (arrays owned by the snapshot)."""
        n = int(self._n[0])
        rows = np.flatnonzero(self._si[:n, k_.SI_ACTIVE] == 1)
        sf = self._sf[rows]
        si = self._si[rows]
        if now is None:
            now = float(np.nanmax(sf[:, k_.SF_LAST])) if len(rows) else 0.0
        cols: dict[str, Any] = {
            "icao24": si[:, k_.SI_KEY].astype(np.uint32),
            "callsign": np.ascontiguousarray(self._cs[rows]).view("S8").reshape(-1),
            "last_seen": sf[:, k_.SF_LAST],
            "first_seen": sf[:, k_.SF_FIRST],
            "lat": sf[:, k_.SF_LAT],
            "lon": sf[:, k_.SF_LON],
            "t_position": sf[:, k_.SF_TPOS],
            "altitude_ft": sf[:, k_.SF_ALT],
            "t_altitude": sf[:, k_.SF_TALT],
            "altitude_geom_ft": sf[:, k_.SF_GEOM],
            "gs_kt": sf[:, k_.SF_GS],
            "track_deg": sf[:, k_.SF_TRK],
            "t_velocity": sf[:, k_.SF_TVEL],
            "vrate_fpm": sf[:, k_.SF_VR],
            "heading_deg": sf[:, k_.SF_HDG],
            "ias_kt": sf[:, k_.SF_IAS],
            "tas_kt": sf[:, k_.SF_TAS],
            "mach": sf[:, k_.SF_MACH],
            "roll_deg": sf[:, k_.SF_ROLL],
            "selected_altitude_ft": sf[:, k_.SF_SELALT],
            "baro_setting_hpa": sf[:, k_.SF_BARO],
            "squawk": si[:, k_.SI_SQUAWK].astype(np.int16),
            "on_ground": si[:, k_.SI_GROUND].astype(np.int8),
            "category": si[:, k_.SI_CAT].astype(np.int16),
            "nic": si[:, k_.SI_NIC].astype(np.int8),
            "nacp": si[:, k_.SI_NACP].astype(np.int8),
            "nacv": si[:, k_.SI_NACV].astype(np.int8),
            "sil": si[:, k_.SI_SIL].astype(np.int8),
            "version": si[:, k_.SI_VERSION].astype(np.int8),
            "emergency": si[:, k_.SI_EMERG].astype(np.int8),
            "nav_modes": si[:, k_.SI_NAV].astype(np.int16),
            "messages": si[:, k_.SI_MSGS],
            "positions": si[:, k_.SI_POSITIONS],
            "source": _source_labels(si[:, k_.SI_BEST_SRC], si[:, k_.SI_LABEL_BEST]),
            "position_source": _source_labels(si[:, k_.SI_SRC_POS], si[:, k_.SI_LABEL_POS]),
            # velocity (gs, track) from MLAT says "mlat" here (readsb's mlat field list)
            "velocity_source": _source_labels(si[:, k_.SI_SRC_VEL], np.full(len(rows), -1)),
            **self._readsb_columns(sf, si),
        }
        return Snapshot(float(now), cols, dict(self.stats()))

    @staticmethod
    def _readsb_columns(sf: np.ndarray, si: np.ndarray) -> dict[str, np.ndarray]:
        """The clocks and values readsb's aircraft.json writes beyond the core columns
        (serve/fields.py renders them under readsb's names; docs/api.md)."""
        wind_ok = (np.abs(sf[:, k_.SF_WALT] - sf[:, k_.SF_ALT])
                   < MAX_WIND_ALTITUDE_CHANGE_FT)
        return {
            "t_geom": sf[:, k_.SF_TGEOM],
            "t_vrate": sf[:, k_.SF_TVR],
            "t_callsign": sf[:, k_.SF_TCS],
            "t_squawk": sf[:, k_.SF_TSQ],
            "t_ground": sf[:, k_.SF_TGND],
            "t_air": sf[:, k_.SF_TAIR],
            "t_nav": sf[:, k_.SF_TNAV],
            "t_quality": sf[:, k_.SF_TQUAL],
            "t_status": sf[:, k_.SF_TSTAT],
            "rssi_dbfs": _rssi_dbfs(sf, si),
            "nic_baro": si[:, k_.SI_NICBARO].astype(np.int8),
            "gva": si[:, k_.SI_GVA].astype(np.int8),
            "sda": si[:, k_.SI_SDA].astype(np.int8),
            "sil_supplement": si[:, k_.SI_SILSUP].astype(np.int8),
            "alert": si[:, k_.SI_ALERT].astype(np.int8),
            "spi": si[:, k_.SI_SPI].astype(np.int8),
            "baro_rate_fpm": sf[:, k_.SF_BRATE],
            "t_baro_rate": sf[:, k_.SF_TBRATE],
            "geom_rate_fpm": sf[:, k_.SF_GRATE],
            "t_geom_rate": sf[:, k_.SF_TGRATE],
            "true_heading_deg": sf[:, k_.SF_THDG],
            "t_true_heading": sf[:, k_.SF_TTHDG],
            "track_rate_deg_s": sf[:, k_.SF_TRATE],
            "t_track_rate": sf[:, k_.SF_TTRATE],
            "nav_altitude_fms_ft": sf[:, k_.SF_FMSALT],
            "nav_heading_deg": sf[:, k_.SF_NAVHDG],
            "wind_dir_deg": np.where(wind_ok, sf[:, k_.SF_WD], np.nan),
            "wind_speed_kt": np.where(wind_ok, sf[:, k_.SF_WS], np.nan),
            "t_wind": sf[:, k_.SF_TWIND],
            "oat_c": sf[:, k_.SF_OAT],
            "tat_c": sf[:, k_.SF_TATEMP],
            "t_temp": sf[:, k_.SF_TTEMP],
            "calc_track_deg": initial_bearing_deg(sf[:, k_.SF_PREVLAT], sf[:, k_.SF_PREVLON],
                                                  sf[:, k_.SF_LAT], sf[:, k_.SF_LON]),
        }

    def __len__(self) -> int:
        n = int(self._n[0])
        return int((self._si[:n, k_.SI_ACTIVE] == 1).sum())
