"""The canonical schema: every column a stage emits, with its type, unit, null value and meaning.

One declaration drives the numpy columns of :class:`~tailwatch.decode.MessageBatch`, the Arrow
types of ``to_arrow()``, the JSON records of ``tailwatch decode`` and docs/formats.md. A test
fails when a stage emits a column that is not declared here, or misses one that is.

Conventions
-----------
* Absent values: ``NaN`` for floating columns, the declared ``null`` sentinel for integer
  columns (``-1`` for small codes), ``b""`` for fixed-width byte strings.
* Units are in the names where a number leaves the code (``altitude_ft``, ``gs_kt``).
* ``icao24`` is a uint32 inside and a lowercase 6-hex-digit string at every public edge.
* ``squawk`` is kept as the four octal digits read as a decimal number (7700 → 7700) and
  printed zero-padded to four characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Kind = Literal[
    "float", "int", "bool", "bytes", "icao", "squawk", "category", "bds", "enum", "text"
]


@dataclass(frozen=True, slots=True)
class Field:
    """One column: numpy dtype, null sentinel, public kind, unit and meaning."""

    name: str
    dtype: str
    kind: Kind
    doc: str
    unit: str = ""
    null: float | int | bytes | str | None = None
    labels: tuple[str, ...] = ()

    @property
    def np_dtype(self) -> np.dtype[np.generic]:
        return np.dtype(self.dtype)


# Enumerations shared by the decoder, the tracker and the API (index = stored code).
EMERGENCY_LABELS = (
    "none",
    "general",
    "lifeguard",
    "minfuel",
    "nordo",
    "unlawful",
    "downed",
    "reserved",
)
ADDR_TYPE_LABELS = (
    "adsb_icao",  # 0: DF17
    "adsb_icao_nt",  # 1: DF18 CF0 (non-transponder, ICAO address)
    "adsb_other",  # 2: DF18 CF1 (non-ICAO address)
    "tisb_icao",  # 3: DF18 CF2 with IMF=0
    "tisb_other",  # 4: DF18 CF2 IMF=1, CF3, CF5
    "adsr_icao",  # 5: DF18 CF6 with IMF=0
    "adsr_other",  # 6: DF18 CF6 IMF=1
    "tisb_management",  # 7: DF18 CF4 (TIS-B/ADS-R management)
    "mode_s",  # 8: DF0/4/5/11/16/20/21/24
    "unknown",  # 9: DF18 CF7 (reserved)
)
ALT_SOURCE_LABELS = ("baro", "gnss")
VRATE_SOURCE_LABELS = ("baro", "gnss", "inertial")
SEL_ALT_SOURCE_LABELS = ("mcp", "fms")

# Bits of ``nav_modes`` (readsb's nav_modes names).
NAV_MODE_BITS = {
    "autopilot": 1,
    "vnav": 2,
    "althold": 4,
    "approach": 8,
    "lnav": 16,
    "tcas": 32,
}


def _f(name: str, doc: str, unit: str = "", dtype: str = "float32") -> Field:
    return Field(name, dtype, "float", doc, unit, float("nan"))


def _i(name: str, doc: str, dtype: str = "int8", unit: str = "") -> Field:
    return Field(name, dtype, "int", doc, unit, -1)


def _e(name: str, doc: str, labels: tuple[str, ...]) -> Field:
    return Field(name, "int8", "enum", doc, "", -1, labels)


MESSAGE_FIELDS: tuple[Field, ...] = (
    Field("t", "float64", "float", "Reception time, seconds since the UNIX epoch (UTC)", "s",
          float("nan")),
    Field("icao24", "uint32", "icao", "Aircraft address (ICAO 24-bit or other, see addr_type)"),
    Field("df", "uint8", "int", "Downlink format (0-24; 24 stands for every Comm-D format)"),
    _e("addr_type", "Kind of address and of data source", ADDR_TYPE_LABELS),
    Field("crc_ok", "bool", "bool",
          "Parity checked and correct (DF11/17/18). False for address/parity formats, "
          "whose address is recovered from the parity and cannot be checked alone"),
    Field("corrected", "bool", "bool", "A single-bit error was corrected (DF17/18 only)"),
    _i("typecode", "ADS-B type code (DF17/18)"),
    Field("bds", "uint8", "bds",
          "Comm-B register (e.g. 0x40 for BDS 4,0); 0 when unknown or not Comm-B/ADS-B", "", 0),
    _e("on_ground", "Air/ground state from FS, CA, VS or a surface position: 0 air, 1 ground",
       ("airborne", "ground")),
    _i("alert", "Flight status alert bit (DF4/5/20/21)"),
    _i("spi", "Special position identification (ident) bit (DF4/5/20/21, TC28)"),
    _f("altitude_ft", "Altitude (barometric, or GNSS height when altitude_source is gnss)", "ft"),
    _e("altitude_source", "Source of altitude_ft", ALT_SOURCE_LABELS),
    Field("squawk", "int16", "squawk", "Mode A code, 4 octal digits read as a decimal number",
          "", -1),
    Field("callsign", "S8", "bytes", "Callsign / flight identification (trailing spaces "
          "stripped at the edge)", "", b""),
    Field("category", "uint8", "category",
          "Emitter category: set letter A-D × 8 + number (A0 = 8); 0 when absent", "", 0),
    _i("cpr_odd", "CPR format: 0 even, 1 odd"),
    _i("cpr_lat", "Raw 17-bit CPR latitude", "int32"),
    _i("cpr_lon", "Raw 17-bit CPR longitude", "int32"),
    _i("surface", "1 for a surface position (TC 5-8), 0 for airborne"),
    _i("nic_supplement", "NIC supplement B (airborne position) or the surface NIC supplement C"),
    _i("nuc_p", "NUCp / coarse NIC code implied by the position type code"),
    _f("gs_kt", "Ground speed", "kt"),
    _f("track_deg", "True track over ground", "deg"),
    _f("heading_deg", "Heading (magnetic unless noted by hrd)", "deg"),
    _f("ias_kt", "Indicated airspeed", "kt"),
    _f("tas_kt", "True airspeed", "kt"),
    _f("mach", "Mach number"),
    _f("vrate_fpm", "Vertical rate", "ft/min"),
    _e("vrate_source", "Source of vrate_fpm", VRATE_SOURCE_LABELS),
    _f("gnss_baro_diff_ft", "GNSS height minus barometric altitude (TC19)", "ft"),
    _i("nacp", "Navigation accuracy category, position (TC29, TC31)"),
    _i("nacv", "Navigation accuracy category, velocity (TC19, TC31)"),
    _i("sil", "Source integrity level (TC29, TC31)"),
    _i("sil_supplement", "SIL supplement (0 per hour, 1 per sample)"),
    _i("nic_baro", "NIC baro (barometric altitude cross-checked)"),
    _i("nic_sup_a", "NIC supplement A (TC31)"),
    _i("nic_sup_c", "NIC supplement C (TC31, surface)"),
    _i("gva", "Geometric vertical accuracy (TC31)"),
    _i("sda", "System design assurance (TC31)"),
    _i("version", "ADS-B version number (TC31): 0, 1 or 2"),
    _i("hrd", "Heading reference direction (TC31): 0 true north, 1 magnetic north"),
    _e("emergency", "Emergency/priority status (TC28)", EMERGENCY_LABELS),
    _f("selected_altitude_ft", "Selected altitude (MCP/FCU or FMS)", "ft"),
    _e("selected_altitude_source", "Source of selected_altitude_ft", SEL_ALT_SOURCE_LABELS),
    _f("selected_heading_deg", "Selected heading (TC29)", "deg"),
    _f("baro_setting_hpa", "Barometric pressure setting (QNH)", "hPa"),
    _i("nav_modes", "Autopilot mode bits: autopilot 1, vnav 2, althold 4, approach 8, "
       "lnav 16, tcas 32", "int16"),
    _f("roll_deg", "Roll angle, positive right wing down (BDS 5,0)", "deg"),
    _f("track_rate_deg_s", "Track angle rate (BDS 5,0)", "deg/s"),
    _i("acas_ra", "ACAS resolution advisory active (TC28 subtype 2, BDS 3,0): 1 yes"),
    _i("acas_ara", "ACAS active resolution advisories, 14 bits", "int16"),
    _i("acas_rac", "ACAS RA complement, 4 bits"),
    _i("acas_rat", "ACAS RA terminated"),
    _i("acas_mte", "ACAS multiple threat encounter"),
)

MESSAGE_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in MESSAGE_FIELDS)
MESSAGE_FIELD_BY_NAME: dict[str, Field] = {f.name: f for f in MESSAGE_FIELDS}


def empty_columns(fields: tuple[Field, ...], n: int) -> dict[str, np.ndarray]:
    """Allocate one column per field, filled with its null value."""
    cols: dict[str, np.ndarray] = {}
    for f in fields:
        if f.kind == "bytes" or f.null is None:
            cols[f.name] = np.zeros(n, dtype=f.dtype)
        else:
            cols[f.name] = np.full(n, f.null, dtype=f.dtype)
    return cols


def valid_mask(field: Field, col: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows where ``col`` holds a value."""
    mask: np.ndarray
    if field.kind == "float":
        mask = ~np.isnan(col)
    elif field.kind == "bytes":
        mask = col != b""
    elif field.null is None:
        mask = np.ones(col.shape[0], dtype=bool)
    else:
        mask = col != field.null
    return mask


def format_category(code: int) -> str:
    """Category code (letter index × 8 + number) → 'A3'."""
    return "ABCD"[code // 8 - 1] + str(code % 8)


def format_bds(code: int) -> str:
    """0x40 → '4,0'."""
    return f"{code >> 4:X},{code & 0xF:X}"


def format_squawk(code: int) -> str:
    return f"{code:04d}"


def format_icao24(addr: int) -> str:
    return f"{addr:06x}"


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NIBBLE_SHIFTS = np.array([20, 16, 12, 8, 4, 0], dtype=np.uint32)


def icao_hex_matrix(addr: np.ndarray) -> np.ndarray:
    """(N, 6) uint8 matrix of the lowercase hex digits (ASCII) of the addresses' low 24 bits:
    the one vectorised formatter behind every public ``icao24`` string."""
    a = np.asarray(addr).astype(np.uint32, copy=False)
    digits: np.ndarray = _HEX_DIGITS[(a[:, None] >> _NIBBLE_SHIFTS) & 0xF]
    return digits


# --- Storage and API tables -------------------------------------------------------------------
# Kind "time" is float64 seconds since the UNIX epoch in numpy and a UTC timestamp in storage.

SOURCE_LABELS = (
    "adsb",  # DF17 ADS-B from the aircraft
    "adsb_nt",  # DF18 non-transponder ADS-B
    "tisb",  # TIS-B from ground stations
    "adsr",  # ADS-R rebroadcast
    "mode_s",  # Mode S replies (no position of their own)
    "mlat",  # multilateration results
    "sbs",  # BaseStation decoded feed
    "json",  # readsb/dump1090 aircraft.json
    "opensky",  # OpenSky REST states
    "aggregator",  # ADSBx-v2-style aggregator APIs (adsb.lol, airplanes.live, ...)
    "import",  # imported history (traces, OpenSky or traffic files)
    "sim",  # tailwatch's simulator
)

EVENT_TYPES = (
    "takeoff",
    "landing",
    "go_around",
    "touch_and_go",
    "stopover",
    "inferred_stop",
    "emergency",
    "squawk_change",
    "enter_coverage",
    "leave_coverage",
    "first_seen",
    "military_at_civil_airport",
    "orbit",
    "gnss_degradation",
    "gnss_jamming",
    "gnss_spoofing",
    "implausible_position",
    "alert",
)


def _t(name: str, doc: str) -> Field:
    return Field(name, "float64", "float", doc, "s", float("nan"))


POSITION_FIELDS: tuple[Field, ...] = (
    Field("t", "float64", "float", "Time of the position, seconds since the UNIX epoch (UTC)",
          "s", float("nan")),
    Field("icao24", "uint32", "icao", "Aircraft address"),
    Field("lat", "float64", "float", "Latitude (WGS84)", "deg", float("nan")),
    Field("lon", "float64", "float", "Longitude (WGS84)", "deg", float("nan")),
    _f("altitude_ft", "Barometric altitude (NaN on the ground or unknown)", "ft"),
    _f("altitude_geom_ft", "Geometric (GNSS) height", "ft"),
    _f("gs_kt", "Ground speed", "kt"),
    _f("track_deg", "True track", "deg"),
    _f("vrate_fpm", "Vertical rate", "ft/min"),
    _e("on_ground", "0 airborne, 1 on the ground", ("airborne", "ground")),
    Field("callsign", "S8", "bytes", "Callsign in use", "", b""),
    Field("squawk", "int16", "squawk", "Mode A code", "", -1),
    _i("nic", "Navigation integrity category of the position"),
    _i("nacp", "Navigation accuracy category, position"),
    _e("source", "Where the position came from", SOURCE_LABELS),
    Field("receivers", "uint8", "int", "Number of receivers that heard the position message",
          "", 0),
)

AIRCRAFT_FIELDS: tuple[Field, ...] = (
    Field("icao24", "uint32", "icao", "Aircraft address"),
    Field("registration", "object", "text", "Registration (tail number)", "", ""),
    Field("typecode", "object", "text", "ICAO type designator (Doc 8643)", "", ""),
    Field("description", "object", "text", "Type description", "", ""),
    Field("operator", "object", "text", "Operator or owner", "", ""),
    Field("country", "object", "text", "Country of registration from the ICAO address", "", ""),
    Field("military", "bool", "bool", "Military or state aircraft"),
    Field("interesting", "bool", "bool", "Flagged interesting in the aircraft database"),
    Field("pia", "bool", "bool", "Privacy ICAO address (FAA PIA)"),
    Field("ladd", "bool", "bool", "FAA Limiting Aircraft Data Displayed"),
    _t("first_seen", "First time tailwatch saw the aircraft"),
    _t("last_seen", "Last time tailwatch saw the aircraft"),
)

FLIGHT_FIELDS: tuple[Field, ...] = (
    Field("flight_id", "object", "text", "Stable id: icao24 + first-seen time"),
    Field("icao24", "uint32", "icao", "Aircraft address"),
    Field("callsign", "object", "text", "Main callsign used", "", ""),
    _t("first_seen", "First position of the flight"),
    _t("last_seen", "Last position of the flight"),
    Field("origin", "object", "text", "Origin airport (ICAO), seen or inferred", "", ""),
    Field("destination", "object", "text", "Destination airport (ICAO), seen or inferred", "",
          ""),
    _t("takeoff_t", "Take-off time (NaN when not seen)"),
    _t("landing_t", "Landing time (NaN when not seen)"),
    Field("takeoff_runway", "object", "text", "Runway used for take-off", "", ""),
    Field("landing_runway", "object", "text", "Runway used for landing", "", ""),
    _f("origin_confidence", "Confidence in the origin, 0-1"),
    _f("destination_confidence", "Confidence in the destination, 0-1"),
    _f("max_altitude_ft", "Highest altitude", "ft"),
    _f("distance_nm", "Distance flown over the seen positions", "nm"),
    Field("n_positions", "int32", "int", "Number of positions", "", -1),
    Field("callsigns", "object", "text", "Every callsign used, comma-separated", "", ""),
    Field("itinerary_id", "object", "text", "Itinerary this flight belongs to", "", ""),
)

EVENT_FIELDS: tuple[Field, ...] = (
    Field("t", "float64", "float", "Time of the event (UTC seconds)", "s", float("nan")),
    Field("icao24", "uint32", "icao", "Aircraft address"),
    Field("flight_id", "object", "text", "Flight the event belongs to", "", ""),
    Field("type", "object", "text", "Event type (see EVENT_TYPES)"),
    Field("airport", "object", "text", "Airport (ICAO) where relevant", "", ""),
    Field("lat", "float64", "float", "Latitude", "deg", float("nan")),
    Field("lon", "float64", "float", "Longitude", "deg", float("nan")),
    Field("details", "object", "text", "Evidence: the values that triggered it, as JSON", "",
          "{}"),
)

GNSS_LEVEL_LABELS = ("none", "low", "high")
GNSS_PERIOD_LABELS = ("hour", "day")

GNSS_CELL_FIELDS: tuple[Field, ...] = (
    _t("start", "Start of the period (UTC hour or day)"),
    Field("period", "object", "text", "Length of the period: hour or day"),
    Field("res", "int8", "int", "H3 resolution of the cell (3-6)", "", -1),
    Field("h3", "object", "text", "H3 cell index (hexadecimal)"),
    Field("lat", "float64", "float", "Latitude of the cell centre", "deg", float("nan")),
    Field("lon", "float64", "float", "Longitude of the cell centre", "deg", float("nan")),
    Field("aircraft", "int32", "int", "Airborne aircraft seen in the cell", "", -1),
    Field("degraded", "int32", "int",
          "Aircraft whose GNSS quality was degraded (hysteresis-confirmed) in the cell", "", -1),
    _f("share", "degraded / aircraft"),
    Field("spoofed", "int32", "int", "Aircraft with a spoofing verdict placed in the cell",
          "", -1),
    Field("level", "object", "text", "Interference level: none, low or high (docs/gnss.md)",
          "", "none"),
    Field("details", "object", "text",
          "The cell's aircraft (icao24, worst NIC and NACp, degraded, spoofed), as JSON", "",
          "[]"),
)

#: Tables kept by the GNSS aggregation (tailwatch.gnss.cellstore writes them in both engines).
GNSS_TABLES: dict[str, tuple[Field, ...]] = {"gnss_cells": GNSS_CELL_FIELDS}

TABLES: dict[str, tuple[Field, ...]] = {
    "positions": POSITION_FIELDS,
    "aircraft": AIRCRAFT_FIELDS,
    "flights": FLIGHT_FIELDS,
    "events": EVENT_FIELDS,
}


def fields_markdown(fields: tuple[Field, ...]) -> str:
    """A Markdown table of fields (name, type, unit, meaning) for the docs."""
    lines = ["| field | type | unit | meaning |", "|---|---|---|---|"]
    for f in fields:
        kind = f.kind if f.kind not in ("float", "int") else f.dtype
        doc = f.doc + (f" ({', '.join(f.labels)})" if f.labels else "")
        lines.append(f"| `{f.name}` | {kind} | {f.unit} | {doc} |")
    return "\n".join(lines) + "\n"
