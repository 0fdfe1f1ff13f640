"""One published snapshot, seen the way the API serves it.

A :class:`SnapshotView` is built once per published snapshot and never changes: the columns,
the public address strings, identity (through the cached resolver), what is fresh, and the
rendered JSON rows of each format (built on first use, then shared by every request). The
renderers follow the formats of docs/api.md (readsb ``aircraft.json`` objects, OpenSky state
vectors), built column-wise with :mod:`tailwatch.serve.render`.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tailwatch.core.schema import EMERGENCY_LABELS, NAV_MODE_BITS, SOURCE_LABELS
from tailwatch.reference.geo import distance_nm, initial_bearing_deg
from tailwatch.serve.fields import (
    AIRCRAFT_MAX_AGE_S,
    FIELD_CLOCKS,
    FIELD_MAX_AGE_S,
    LONG_FIELD_MAX_AGE_S,
    LONG_GROUPS,
    NO_SIGNAL_RSSI,
    OPENSKY_MAX_AGE_S,
    OPTIONAL_COLUMNS,
    rc_metres,
)
from tailwatch.serve.identity import IdentityResolver, IdentityRows
from tailwatch.serve.render import (
    Fragments,
    Rows,
    RowWriter,
    callsign_fragments,
    hex_fragments,
    hex_strings,
    json_strings,
    labels,
)

__all__ = ["ReceiverInfo", "SnapshotView"]

NON_ICAO_BIT = 1 << 24
#: a position, altitude or velocity older than this is not current (readsb: 60 s)
DATA_MAX_AGE_S = FIELD_MAX_AGE_S
#: ``?all`` of the readsb API: a position this fresh, or any message this fresh
ALL_MESSAGE_AGE_S = 30.0
FT_TO_M = 0.3048
KT_TO_MS = 1852.0 / 3600.0
FPM_TO_MS = 0.3048 / 60.0


@dataclass(frozen=True, slots=True)
class ReceiverInfo:
    """The receiver (or the whole installation) this server describes."""

    id: str = "tailwatch"
    name: str = ""
    lat: float | None = None
    lon: float | None = None

    @property
    def has_position(self) -> bool:
        return self.lat is not None and self.lon is not None


# --- enumeration tables ---------------------------------------------------------------------

def _readsb_types() -> list[bytes]:
    """Code ``source * 2 + non_icao`` → readsb "type"."""
    icao = {"adsb": "adsb_icao", "adsb_nt": "adsb_icao_nt", "tisb": "tisb_icao",
            "adsr": "adsr_icao", "mode_s": "mode_s", "mlat": "mlat"}
    other = {"adsb": "adsb_other", "adsb_nt": "adsb_other", "tisb": "tisb_other",
             "adsr": "adsr_other", "mode_s": "mode_s", "mlat": "mlat"}
    out: list[str | None] = []
    for s in SOURCE_LABELS:
        out += [icao.get(s, "other"), other.get(s, "other")]
    return labels(out)


READSB_TYPES = _readsb_types()
CATEGORY_LABELS: list[str | None] = [None] * 8 + [f"{c}{i}" for c in "ABCD" for i in range(8)]
CATEGORY_JSON = labels(CATEGORY_LABELS)
EMERGENCY_JSON = labels(list(EMERGENCY_LABELS))
_NAV_ORDER = sorted(NAV_MODE_BITS.items(), key=lambda kv: kv[1])
NAV_MODES_JSON = [
    b"[" + b",".join(b'"' + name.encode() + b'"' for name, bit in _NAV_ORDER if code & bit)
    + b"]"
    for code in range(64)
]
#: readsb's ``mlat`` / ``tisb`` lists: the fields that came from that source (the position
#: and what readsb writes with it)
SOURCE_FIELDS_JSON = [b"[]", b'["lat","lon","nic","rc"]']
MLAT_JSON = SOURCE_FIELDS_JSON
#: readsb's sil_type by the SIL supplement (0 per hour, 1 per sample)
SIL_TYPE_JSON = [b'"perhour"', b'"persample"']
ALT_GROUND_JSON = [b'"ground"']
BOOL_JSON = [b"false", b"true"]
#: ADS-B emitter category code → OpenSky's extended category number
OPENSKY_CATEGORY = np.array(
    [0] * 8
    + [1, 2, 3, 4, 5, 6, 7, 8]  # A0-A7
    + [1, 9, 10, 11, 12, 13, 14, 15]  # B0-B7
    + [1, 16, 17, 18, 19, 20, 13, 13]  # C0-C7
    + [1, 13, 13, 13, 13, 13, 13, 13],  # D0-D7
    dtype=np.int64,
)
_MLAT_SOURCE = SOURCE_LABELS.index("mlat")
_TISB_SOURCE = SOURCE_LABELS.index("tisb")


def _where(mask: npt.NDArray[np.bool_], values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    return np.where(mask, np.asarray(values, dtype=np.float64), np.nan)


def _year_strings(year: npt.NDArray[np.float64]) -> Fragments:
    """``"2005"`` per row (readsb writes the build year as a string); absent when unknown."""
    known = np.isfinite(year)
    arr = pa.array(np.where(known, year, 0).astype(np.int64), mask=~known)
    return Fragments.from_arrow(json_strings(arr.cast(pa.string())))


def squawk_fragments(squawk: npt.ArrayLike) -> Fragments:
    """``"1000"`` per row (4 digits), empty where there is none (negative)."""
    sq = np.asarray(squawk).astype(np.int64).ravel()
    n = sq.shape[0]
    m = np.empty((n, 6), dtype=np.uint8)
    m[:, 0] = m[:, 5] = ord('"')
    v = np.clip(sq, 0, 9999)
    for k in range(4):
        m[:, 1 + k] = 48 + (v // 10 ** (3 - k)) % 10
    return Fragments.from_matrix(m, np.zeros(n, np.int64), np.where(sq >= 0, 6, 0))


class SnapshotView:
    """A published snapshot with everything the handlers need, computed once.

    Aircraft unheard for more than ``AIRCRAFT_MAX_AGE_S`` (60 s) are left out here, so that no
    client of any format ever gets them; each field then expires on its own clock
    (:mod:`tailwatch.serve.fields`).
    """

    def __init__(
        self,
        snapshot: Any,
        identity: IdentityResolver,
        receiver: ReceiverInfo,
        version: int,
    ) -> None:
        self._lock = threading.Lock()
        self._cache: dict[Any, Any] = {}
        self.snapshot = snapshot
        self.version = version
        self.receiver = receiver
        self.now = float(snapshot.now)
        now = self.now
        cols: Mapping[str, np.ndarray] = snapshot.columns
        seen = now - np.asarray(cols["last_seen"], dtype=np.float64)
        heard = seen <= AIRCRAFT_MAX_AGE_S
        if not bool(heard.all()):
            cols = {k: np.asarray(v)[heard] for k, v in cols.items()}
            seen = seen[heard]
        self.cols = cols
        self.n = int(cols["icao24"].shape[0])
        self.icao24 = np.asarray(cols["icao24"], dtype=np.uint32)
        self.hex = hex_strings(self.icao24)
        self.ident: IdentityRows = identity.rows(self.icao24, cols["callsign"])
        self.seen_s = seen
        pos_age = now - np.asarray(cols["t_position"], dtype=np.float64)
        lat = np.asarray(cols["lat"], dtype=np.float64)
        lon = np.asarray(cols["lon"], dtype=np.float64)
        has_pos = np.isfinite(lat) & np.isfinite(lon) & np.isfinite(pos_age)
        self.pos_age_s = pos_age
        self.has_position = has_pos & (pos_age <= FIELD_MAX_AGE_S)
        self.stale_position = has_pos & ~self.has_position
        self.lat = np.where(self.has_position, lat, np.nan)
        self.lon = np.where(self.has_position, lon, np.nan)
        self.alt_fresh = self.fresh("altitude")
        self.vel_fresh = self.fresh("velocity")
        self.on_ground = (np.asarray(cols["on_ground"]) == 1) & self.fresh("ground")
        alt = np.asarray(cols["altitude_ft"], dtype=np.float64)
        #: barometric altitude for filters: ground counts as 0 ft (readsb's rule)
        self.alt_baro = np.where(self.on_ground, 0.0, np.where(self.alt_fresh, alt, np.nan))
        cs = np.asarray(cols["callsign"], dtype="S8")
        self.callsign = np.where(self.fresh("callsign"),
                                 np.char.strip(cs.astype("U8")), "").astype("U8")
        self.hidden = self.ident.hidden

    def __len__(self) -> int:
        return self.n

    # --- memoisation (per view, thread-safe) -------------------------------------------------
    def cached(self, key: Any, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        value = build()
        with self._lock:
            return self._cache.setdefault(key, value)

    # --- freshness ---------------------------------------------------------------------------
    def age_s(self, group: str) -> npt.NDArray[np.float64]:
        """Seconds since the fields of ``group`` were updated (:data:`FIELD_CLOCKS`)."""
        column, stand_in = FIELD_CLOCKS[group]
        t = self.cols.get(column)
        if t is None:
            t = self.cols[stand_in]
        return self.now - np.asarray(t, dtype=np.float64)

    def fresh(self, group: str, max_age_s: float | None = None) -> npt.NDArray[np.bool_]:
        """Whether the fields of ``group`` are current (readsb's expiry by default)."""
        if max_age_s is None:
            max_age_s = LONG_FIELD_MAX_AGE_S if group in LONG_GROUPS else FIELD_MAX_AGE_S
        key = ("fresh", group, max_age_s)
        return self.cached(key, lambda: self.age_s(group) <= max_age_s)  # type: ignore[no-any-return]

    def upper(self, name: str) -> npt.NDArray[np.str_]:
        """An identity text column upper-cased, '' for unknown (memoised, for searches)."""

        def build() -> npt.NDArray[np.str_]:
            col = pc.fill_null(pc.utf8_upper(self.ident.text[name].cast(pa.string())), "")
            return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.str_).reshape(self.n)

        return self.cached(("upper", name), build)  # type: ignore[no-any-return]

    def registration_keys(self) -> npt.NDArray[np.str_]:
        """Registrations upper-cased without '-' and spaces ('' for unknown), for look-ups."""

        def build() -> npt.NDArray[np.str_]:
            col = pc.utf8_upper(self.ident.text["registration"].cast(pa.string()))
            col = pc.fill_null(pc.replace_substring_regex(col, "[- ]", ""), "")
            return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.str_).reshape(self.n)

        return self.cached("registration_keys", build)  # type: ignore[no-any-return]

    def visible(self, allow_hidden: bool) -> npt.NDArray[np.bool_]:
        """Rows a caller may see (PIA/LADD hidden unless ``allow_hidden``)."""
        return np.ones(self.n, dtype=bool) if allow_hidden else ~self.hidden

    def _col(self, name: str, group: str) -> npt.NDArray[np.float64]:
        """A numeric column as float, NaN where unknown (negative codes) or expired."""
        v = np.asarray(self.cols[name], dtype=np.float64)
        if np.asarray(self.cols[name]).dtype.kind in "iu":
            v = np.where(v >= 0, v, np.nan)
        return _where(self.fresh(group), v)

    # --- readsb aircraft objects -------------------------------------------------------------
    def readsb_rows(self) -> Rows:
        return self.cached("readsb", self._readsb_rows)  # type: ignore[no-any-return]

    def _readsb_rows(self) -> Rows:
        """readsb's aircraft object (json_out.c), key by key in readsb's order."""
        c = self.cols
        n = self.n
        w = RowWriter(n)
        w.frag("hex", hex_fragments(self.icao24))
        nonicao = (self.icao24 & NON_ICAO_BIT) != 0
        w.enum("type", np.asarray(c["source"]).astype(np.int64) * 2 + nonicao, READSB_TYPES)
        cs_fresh = self.fresh("callsign")
        w.frag("flight", callsign_fragments(np.where(cs_fresh, c["callsign"], b"")))
        ident = self.ident
        w.frag("r", ident.json["registration"])
        w.frag("t", ident.json["typecode"])
        w.frag("desc", ident.json["description"])
        w.frag("ownOp", ident.json["operator"])
        w.frag("year", _year_strings(ident.year))  # readsb writes the year as a string
        w.num("dbFlags", _where(ident.in_db, ident.db_flags))
        w.enum("alt_baro", np.where(self.on_ground, 0, -1), ALT_GROUND_JSON)
        w.num("alt_baro", _where(self.alt_fresh & ~self.on_ground, c["altitude_ft"]))
        w.num("alt_geom", self._col("altitude_geom_ft", "geom"))
        w.num("gs", _where(self.vel_fresh, c["gs_kt"]), 1)
        w.num("ias", self._col("ias_kt", "air"))
        w.num("tas", self._col("tas_kt", "air"))
        w.num("mach", self._col("mach", "air"), 3)
        self._optional(w, ("wd", "ws", "oat", "tat"))
        w.num("track", _where(self.vel_fresh, c["track_deg"]), 2)
        if "calc_track_deg" in c:  # readsb: the bearing of the last move when no velocity is fresh
            w.num("calc_track", _where(~self.vel_fresh & self.has_position & ~self.on_ground,
                                       c["calc_track_deg"]), 2)
        self._optional(w, ("track_rate",))
        w.num("roll", self._col("roll_deg", "air"), 2)
        w.num("mag_heading", self._col("heading_deg", "air"), 2)
        self._optional(w, ("true_heading",))
        baro_rate = (self._col("baro_rate_fpm", "baro_rate") if "baro_rate_fpm" in c
                     else self._col("vrate_fpm", "vrate"))
        w.num("baro_rate", baro_rate)  # barometric only; a GNSS rate is geom_rate
        self._optional(w, ("geom_rate",))
        squawk = np.where(self.fresh("squawk"), np.asarray(c["squawk"]).astype(np.int64), -1)
        w.frag("squawk", squawk_fragments(squawk))
        w.enum("emergency", np.where(self.fresh("squawk"), c["emergency"], -1), EMERGENCY_JSON)
        w.enum("category", c["category"], CATEGORY_JSON)
        w.num("nav_qnh", self._col("baro_setting_hpa", "nav"), 1)
        w.num("nav_altitude_mcp", self._col("selected_altitude_ft", "nav"))
        self._optional(w, ("nav_altitude_fms", "nav_heading"))
        w.enum("nav_modes", np.where(self.fresh("nav"), c["nav_modes"], -1), NAV_MODES_JSON)
        w.num("lat", self.lat, 6)
        w.num("lon", self.lon, 6)
        nic = np.asarray(c["nic"], dtype=np.float64)
        # readsb writes lat, lon, nic, rc and seen_pos together (0 for an unknown NIC)
        w.num("nic", _where(self.has_position, np.maximum(nic, 0)))
        w.num("rc", _where(self.has_position, rc_metres(nic)))
        w.num("seen_pos", _where(self.has_position, self.pos_age_s), 3)
        if self.receiver.has_position:
            assert self.receiver.lat is not None and self.receiver.lon is not None
            w.num("r_dst", distance_nm(self.receiver.lat, self.receiver.lon, self.lat,
                                       self.lon), 3)
            w.num("r_dir", initial_bearing_deg(self.receiver.lat, self.receiver.lon, self.lat,
                                               self.lon), 1)
        w.frag("lastPosition", self._last_position())
        w.num("version", self._col("version", "quality"))
        self._optional(w, ("nic_baro",))
        w.num("nac_p", self._col("nacp", "quality"))
        w.num("nac_v", self._col("nacv", "quality"))
        w.num("sil", self._col("sil", "quality"))
        if "sil_supplement" in c:
            sup = np.where(self.fresh("quality"), np.asarray(c["sil_supplement"]), -1)
            w.enum("sil_type", sup, SIL_TYPE_JSON)
        self._optional(w, ("gva", "sda", "alert", "spi"))
        psrc = np.asarray(c["position_source"])
        w.enum("mlat", (psrc == _MLAT_SOURCE).astype(np.int64), SOURCE_FIELDS_JSON)
        w.enum("tisb", (psrc == _TISB_SOURCE).astype(np.int64), SOURCE_FIELDS_JSON)
        w.num("messages", c["messages"])
        w.num("seen", self.seen_s, 1)
        rssi = c.get("rssi_dbfs")
        w.num("rssi", np.full(n, NO_SIGNAL_RSSI) if rssi is None else np.where(
            np.isfinite(np.asarray(rssi, np.float64)), rssi, NO_SIGNAL_RSSI), 1)
        w.frag("country", ident.json["country"])
        return w.render()

    def _optional(self, w: RowWriter, keys: tuple[str, ...]) -> None:
        """The optional columns with these readsb keys, when the snapshot has them."""
        for col in OPTIONAL_COLUMNS:
            if col.key in keys and col.column in self.cols:
                w.num(col.key, self._col(col.column, col.group), col.decimals)

    def _last_position(self) -> Fragments:
        """readsb's ``lastPosition`` (a position older than 60 s): lat, lon, nic, rc,
        seen_pos."""
        stale = self.stale_position
        c = self.cols
        w = RowWriter(self.n)
        w.num("lat", _where(stale, c["lat"]), 6)
        w.num("lon", _where(stale, c["lon"]), 6)
        nic = np.asarray(c["nic"], dtype=np.float64)
        w.num("nic", _where(stale, np.maximum(nic, 0)))
        w.num("rc", _where(stale, rc_metres(nic)))
        w.num("seen_pos", _where(stale, self.pos_age_s), 3)
        f = w.render().fragments()
        return Fragments(f.data, f.starts, np.where(stale, f.ends, f.starts))

    # --- OpenSky state vectors ---------------------------------------------------------------
    def opensky_listed(self) -> npt.NDArray[np.bool_]:
        """Rows OpenSky would list: a position or velocity update in the last 15 s (or,
        for an aircraft that never sent either, any message in the last 15 s)."""

        def build() -> npt.NDArray[np.bool_]:
            pos = self.fresh("position", OPENSKY_MAX_AGE_S) & np.isfinite(self.cols["lat"])
            vel = self.fresh("velocity", OPENSKY_MAX_AGE_S) & np.isfinite(self.cols["gs_kt"])
            never = (~np.isfinite(np.asarray(self.cols["t_position"], np.float64))
                     & ~np.isfinite(np.asarray(self.cols["gs_kt"], np.float64)))
            return np.asarray(pos | vel | (never & (self.seen_s <= OPENSKY_MAX_AGE_S)), bool)

        return self.cached("opensky_listed", build)  # type: ignore[no-any-return]

    def opensky_rows(self, extended: bool) -> Rows:
        return self.cached(("opensky", extended),  # type: ignore[no-any-return]
                           lambda: self._opensky_rows(extended))

    def _opensky_rows(self, extended: bool) -> Rows:
        c = self.cols
        n = self.n
        pos = self.fresh("position", OPENSKY_MAX_AGE_S) & self.has_position
        vel = self.fresh("velocity", OPENSKY_MAX_AGE_S)
        alt = self.fresh("altitude", OPENSKY_MAX_AGE_S)
        w = RowWriter(n, array=True)
        w.frag("icao24", hex_fragments(self.icao24))
        w.frag("callsign", callsign_fragments(
            np.where(self.fresh("callsign"), c["callsign"], b"")))
        w.frag("origin_country", self.ident.json["country"])
        w.num("time_position", _where(pos, np.floor(c["t_position"])))
        w.num("last_contact", np.floor(np.asarray(c["last_seen"], np.float64)))
        w.num("longitude", _where(pos, self.lon), 5)
        w.num("latitude", _where(pos, self.lat), 5)
        baro = np.asarray(c["altitude_ft"], np.float64) * FT_TO_M
        w.num("baro_altitude", _where(alt & ~self.on_ground, baro), 2)
        w.enum("on_ground", self.on_ground.astype(np.int64), BOOL_JSON)
        w.num("velocity", _where(vel, np.asarray(c["gs_kt"], np.float64) * KT_TO_MS), 2)
        w.num("true_track", _where(vel, c["track_deg"]), 2)
        vrate = self.fresh("vrate", OPENSKY_MAX_AGE_S)
        w.num("vertical_rate",
              _where(vrate, np.asarray(c["vrate_fpm"], np.float64) * FPM_TO_MS), 2)
        w.num("sensors", np.full(n, np.nan))
        geom = self.fresh("geom", OPENSKY_MAX_AGE_S)
        w.num("geo_altitude",
              _where(geom, np.asarray(c["altitude_geom_ft"], np.float64) * FT_TO_M), 2)
        squawk = np.where(self.fresh("squawk", OPENSKY_MAX_AGE_S),
                          np.asarray(c["squawk"]).astype(np.int64), -1)
        w.frag("squawk", squawk_fragments(squawk))
        spi = np.asarray(c["spi"]) == 1 if "spi" in c else np.zeros(n, bool)
        w.enum("spi", spi.astype(np.int64), BOOL_JSON)
        psrc = np.asarray(c["position_source"])
        w.num("position_source", np.where(psrc == _MLAT_SOURCE, 2.0, 0.0))
        if extended:
            cat = np.asarray(c["category"]).astype(np.int64)
            w.num("category", OPENSKY_CATEGORY[np.clip(cat, 0, 39)].astype(np.float64))
        return w.render()

    # --- whole bodies, memoised per variant --------------------------------------------------
    def body(self, key: Any, build: Callable[[], bytes]) -> bytes:
        return self.cached(("body", key), build)  # type: ignore[no-any-return]

    def gzip_body(self, key: Any, build: Callable[[], bytes]) -> bytes:
        return self.cached(("gzip", key),  # type: ignore[no-any-return]
                           lambda: gzip.compress(self.body(key, build), compresslevel=1,
                                                 mtime=0))
