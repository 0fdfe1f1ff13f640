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

from tailwatch.core.schema import EMERGENCY_LABELS, NAV_MODE_BITS, SOURCE_LABELS
from tailwatch.reference.geo import distance_nm, initial_bearing_deg
from tailwatch.serve.identity import IdentityResolver, IdentityRows
from tailwatch.serve.render import (
    Fragments,
    Rows,
    RowWriter,
    callsign_fragments,
    hex_fragments,
    hex_strings,
    labels,
)

__all__ = ["ReceiverInfo", "SnapshotView"]

NON_ICAO_BIT = 1 << 24
#: a position, altitude or velocity older than this is not current (readsb: 60 s)
DATA_MAX_AGE_S = 60.0
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
MLAT_JSON = [b"[]", b'["lat","lon"]']
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
    """A published snapshot with everything the handlers need, computed once."""

    def __init__(
        self,
        snapshot: Any,
        identity: IdentityResolver,
        receiver: ReceiverInfo,
        version: int,
    ) -> None:
        self.snapshot = snapshot
        self.version = version
        self.receiver = receiver
        self.now = float(snapshot.now)
        cols: Mapping[str, np.ndarray] = snapshot.columns
        self.cols = cols
        self.n = int(cols["icao24"].shape[0])
        self.icao24 = np.asarray(cols["icao24"], dtype=np.uint32)
        self.hex = hex_strings(self.icao24)
        self.ident: IdentityRows = identity.rows(self.icao24, cols["callsign"])
        now = self.now
        self.seen_s = now - np.asarray(cols["last_seen"], dtype=np.float64)
        pos_age = now - np.asarray(cols["t_position"], dtype=np.float64)
        lat = np.asarray(cols["lat"], dtype=np.float64)
        lon = np.asarray(cols["lon"], dtype=np.float64)
        has_pos = np.isfinite(lat) & np.isfinite(lon) & np.isfinite(pos_age)
        self.pos_age_s = pos_age
        self.has_position = has_pos & (pos_age <= DATA_MAX_AGE_S)
        self.stale_position = has_pos & ~self.has_position
        self.lat = np.where(self.has_position, lat, np.nan)
        self.lon = np.where(self.has_position, lon, np.nan)
        self.alt_fresh = (now - np.asarray(cols["t_altitude"], np.float64)) <= DATA_MAX_AGE_S
        tvel = cols.get("t_velocity")
        self.vel_fresh = (np.ones(self.n, bool) if tvel is None
                          else (now - np.asarray(tvel, np.float64)) <= DATA_MAX_AGE_S)
        self.on_ground = np.asarray(cols["on_ground"]) == 1
        alt = np.asarray(cols["altitude_ft"], dtype=np.float64)
        #: barometric altitude for filters: ground counts as 0 ft (readsb's rule)
        self.alt_baro = np.where(self.on_ground, 0.0, np.where(self.alt_fresh, alt, np.nan))
        self.callsign = np.char.strip(
            np.asarray(cols["callsign"], dtype="S8").astype("U8"))
        self.hidden = self.ident.hidden
        self._lock = threading.Lock()
        self._cache: dict[Any, Any] = {}

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

    def upper(self, name: str) -> npt.NDArray[np.str_]:
        """An identity text column upper-cased, '' for unknown (memoised, for searches)."""

        def build() -> npt.NDArray[np.str_]:
            values = self.ident.strings(name).tolist()
            return np.array([(v or "").upper() for v in values], dtype=np.str_)

        return self.cached(("upper", name), build)  # type: ignore[no-any-return]

    def visible(self, allow_hidden: bool) -> npt.NDArray[np.bool_]:
        """Rows a caller may see (PIA/LADD hidden unless ``allow_hidden``)."""
        return np.ones(self.n, dtype=bool) if allow_hidden else ~self.hidden

    # --- readsb aircraft objects -------------------------------------------------------------
    def readsb_rows(self) -> Rows:
        return self.cached("readsb", self._readsb_rows)  # type: ignore[no-any-return]

    def _readsb_rows(self) -> Rows:
        c = self.cols
        n = self.n
        fresh_alt = self.alt_fresh
        vel = self.vel_fresh
        w = RowWriter(n)
        w.frag("hex", hex_fragments(self.icao24))
        nonicao = (self.icao24 & NON_ICAO_BIT) != 0
        w.enum("type", np.asarray(c["source"]).astype(np.int64) * 2 + nonicao, READSB_TYPES)
        w.frag("flight", callsign_fragments(c["callsign"]))
        ident = self.ident
        w.frag("r", ident.json["registration"])
        w.frag("t", ident.json["typecode"])
        w.frag("desc", ident.json["description"])
        w.frag("ownOp", ident.json["operator"])
        w.num("year", ident.year)
        w.num("dbFlags", _where(ident.in_db, ident.db_flags))
        w.enum("alt_baro", np.where(self.on_ground, 0, -1), ALT_GROUND_JSON)
        w.num("alt_baro", _where(fresh_alt & ~self.on_ground, c["altitude_ft"]))
        w.num("alt_geom", _where(fresh_alt, c["altitude_geom_ft"]))
        w.num("gs", _where(vel, c["gs_kt"]), 1)
        w.num("ias", c["ias_kt"])
        w.num("tas", c["tas_kt"])
        w.num("mach", c["mach"], 3)
        w.num("track", _where(vel, c["track_deg"]), 2)
        w.num("roll", c["roll_deg"], 2)
        w.num("mag_heading", c["heading_deg"], 2)
        w.num("baro_rate", _where(vel, c["vrate_fpm"]))
        w.frag("squawk", squawk_fragments(c["squawk"]))
        w.enum("emergency", c["emergency"], EMERGENCY_JSON)
        w.enum("category", c["category"], CATEGORY_JSON)
        w.num("nav_qnh", c["baro_setting_hpa"], 1)
        w.num("nav_altitude_mcp", c["selected_altitude_ft"])
        w.enum("nav_modes", c["nav_modes"], NAV_MODES_JSON)
        w.num("lat", self.lat, 6)
        w.num("lon", self.lon, 6)
        nic = np.asarray(c["nic"], dtype=np.float64)
        w.num("nic", np.where(nic >= 0, nic, np.nan))
        w.num("seen_pos", _where(self.has_position, self.pos_age_s), 1)
        if self.receiver.has_position:
            assert self.receiver.lat is not None and self.receiver.lon is not None
            w.num("r_dst", distance_nm(self.receiver.lat, self.receiver.lon, self.lat,
                                       self.lon), 3)
            w.num("r_dir", initial_bearing_deg(self.receiver.lat, self.receiver.lon, self.lat,
                                               self.lon), 1)
        for key, col in (("version", "version"), ("nac_p", "nacp"), ("nac_v", "nacv"),
                         ("sil", "sil")):
            v = np.asarray(c[col], dtype=np.float64)
            w.num(key, np.where(v >= 0, v, np.nan))
        psrc = np.asarray(c["position_source"])
        w.enum("mlat", (psrc == _MLAT_SOURCE).astype(np.int64), MLAT_JSON)
        w.enum("tisb", (psrc == _TISB_SOURCE).astype(np.int64), MLAT_JSON)
        w.num("messages", c["messages"])
        w.num("seen", self.seen_s, 1)
        w.frag("lastPosition", self._last_position())
        w.frag("country", ident.json["country"])
        return w.render()

    def _last_position(self) -> Fragments:
        stale = self.stale_position
        c = self.cols
        w = RowWriter(self.n)
        w.num("lat", _where(stale, c["lat"]), 6)
        w.num("lon", _where(stale, c["lon"]), 6)
        nic = np.asarray(c["nic"], dtype=np.float64)
        w.num("nic", _where(stale & (nic >= 0), nic))
        w.num("seen_pos", _where(stale, self.pos_age_s), 1)
        f = w.render().fragments()
        return Fragments(f.data, f.starts, np.where(stale, f.ends, f.starts))

    # --- OpenSky state vectors ---------------------------------------------------------------
    def opensky_rows(self, extended: bool) -> Rows:
        return self.cached(("opensky", extended),  # type: ignore[no-any-return]
                           lambda: self._opensky_rows(extended))

    def _opensky_rows(self, extended: bool) -> Rows:
        c = self.cols
        n = self.n
        w = RowWriter(n, array=True)
        w.frag("icao24", hex_fragments(self.icao24))
        w.frag("callsign", callsign_fragments(c["callsign"]))
        w.frag("origin_country", self.ident.json["country"])
        w.num("time_position", _where(self.has_position, np.floor(c["t_position"])))
        w.num("last_contact", np.floor(np.asarray(c["last_seen"], np.float64)))
        w.num("longitude", self.lon, 5)
        w.num("latitude", self.lat, 5)
        alt = np.asarray(c["altitude_ft"], np.float64) * FT_TO_M
        w.num("baro_altitude", _where(self.alt_fresh & ~self.on_ground, alt), 2)
        w.enum("on_ground", self.on_ground.astype(np.int64), BOOL_JSON)
        w.num("velocity", _where(self.vel_fresh, np.asarray(c["gs_kt"], np.float64) * KT_TO_MS),
              2)
        w.num("true_track", _where(self.vel_fresh, c["track_deg"]), 2)
        w.num("vertical_rate",
              _where(self.vel_fresh, np.asarray(c["vrate_fpm"], np.float64) * FPM_TO_MS), 2)
        w.num("sensors", np.full(n, np.nan))
        w.num("geo_altitude",
              _where(self.alt_fresh, np.asarray(c["altitude_geom_ft"], np.float64) * FT_TO_M), 2)
        w.frag("squawk", squawk_fragments(c["squawk"]))
        w.enum("spi", np.zeros(n, np.int64), BOOL_JSON)
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
