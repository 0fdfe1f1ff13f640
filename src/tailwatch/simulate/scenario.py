"""Scenario files: TOML in, validated dataclasses out.

Every key is documented in docs/simulator.md. Times are TOML date-times with an offset
(``2019-03-22T15:12:00+03:00`` or ``...Z``); a time without an offset is an error, so that no
scenario silently means local time. Unknown keys are errors too (a typo must not be ignored).

Built-in scenarios live beside this module (``scenarios/*.toml``) and are named without the
extension: ``load_scenario("airlift2019")``; anything else is read as a path.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from tailwatch.core.errors import ConfigError

__all__ = [
    "AircraftSpec",
    "ClockReset",
    "InterferenceSpec",
    "LegSpec",
    "NoiseSpec",
    "RatesSpec",
    "ReceiverSpec",
    "Scenario",
    "SquawkChange",
    "TrafficSpec",
    "Window",
    "builtin_scenarios",
    "load_scenario",
    "parse_scenario",
]

Point = tuple[float, float]
Profile = tuple[tuple[float, float], ...]

_CATEGORY = re.compile(r"^([A-D])([0-7])$")
_SQUAWK = re.compile(r"^[0-7]{4}$")
_ICAO_CODE = re.compile(r"^[A-Z0-9]{3,4}$")


@dataclass(frozen=True, slots=True)
class Window:
    """A time span (UTC seconds) whose messages are emitted."""

    start: float
    end: float
    label: str = ""


@dataclass(frozen=True, slots=True)
class SquawkChange:
    t: float
    code: int  # four octal digits read as a decimal number (7700)


@dataclass(frozen=True, slots=True)
class LegSpec:
    """One flight: from an airport (or an airborne point) to an airport (or a point)."""

    origin: str | Point  # ICAO code, or (lat, lon) of an airborne start
    destination: str | Point
    anchor: str  # "takeoff", "landing" or "start"
    anchor_t: float
    via: tuple[Point, ...] = ()
    cruise_altitude_ft: float | None = None
    cruise_speed_kt: float | None = None
    start_altitude_ft: float | None = None
    takeoff_runway: str | None = None
    landing_runway: str | None = None
    go_around: bool = False
    callsign: str | None = None
    squawk: int | None = None


@dataclass(frozen=True, slots=True)
class AircraftSpec:
    icao24: int
    callsign: str
    typecode: str
    category: int  # schema code: letter index × 8 + number (A5 = 13)
    legs: tuple[LegSpec, ...]
    registration: str = ""
    operator: str = ""
    squawk: int | None = None
    adsb: bool = True
    adsb_positions: bool = True  # False: DF17 without position messages (no TC 5-18)
    transponder_off: tuple[Window, ...] = ()
    squawks: tuple[SquawkChange, ...] = ()
    climb_profile: Profile | None = None
    descent_profile: Profile | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class ReceiverSpec:
    name: str
    lat: float
    lon: float
    height_ft: float = 100.0
    range_nm: float = 200.0
    polygon: tuple[Point, ...] = ()
    line_of_sight: bool = True
    id64: int = 0  # 64-bit Beast receiver id (0: derived from the name)
    loss: float | None = None  # overrides noise.loss
    alt_m: float | None = None  # antenna height above the ellipsoid (default: height_ft)
    clock: str = "utc"  # "utc" (no clock keys: the old behaviour), "gps" or "free"
    clock_offset_s: float = 0.0  # free: counter value (s) at day0
    clock_drift_ppm: float = 0.0  # free: rate error, parts per million
    clock_jitter_ns: float = 0.0  # gps, free: Gaussian timestamp noise (standard deviation)
    clock_wander_ppm_per_h: float = 0.0  # free: frequency random walk (std after one hour)
    clock_resets: tuple[ClockReset, ...] = ()  # gps, free: counter restarts / jumps


@dataclass(frozen=True, slots=True)
class ClockReset:
    """At ``t`` (UTC seconds) the receiver's counter is set to ``to_s`` seconds."""

    t: float
    to_s: float = 0.0


@dataclass(frozen=True, slots=True)
class NoiseSpec:
    """Noise injected on top of the clean feed (rates explained in docs/simulator.md)."""

    single_bit: float = 0.0  # fraction of received DF17 copies with one flipped bit
    multi_bit: float = 0.0  # ... with 2 to 4 flipped bits
    garbage_per_minute: float = 0.0  # bursts of garbage in the output stream
    garbage_bytes: tuple[int, int] = (3, 40)
    mode_ac_per_second: float = 0.0  # per receiver
    ghosts_per_minute: float = 0.0  # per receiver: DF4/DF20 replies with unknown addresses
    loss: float = 0.0  # fraction of copies lost by every receiver
    edge_loss: float = 0.0  # extra loss at the edge of the range, growing as (d/range)^4


@dataclass(frozen=True, slots=True)
class RatesSpec:
    """Mean intervals between messages of one aircraft, seconds (each jittered ±10 %)."""

    position_s: float = 0.5
    velocity_s: float = 0.5
    identification_s: float = 5.0
    operational_status_s: float = 2.5
    emergency_s: float = 1.0
    all_call_s: float = 1.0
    radar_sweep_s: float = 4.8
    stationary_factor: float = 10.0  # surface position/identification slow-down when stopped
    radars: int = 1  # Mode S radars interrogating every airborne aircraft, each its own sweep


@dataclass(frozen=True, slots=True)
class TrafficSpec:
    """Generated background traffic of one region."""

    name: str
    start: float
    end: float
    flights: int
    airports: tuple[str, ...]
    remote: tuple[str, ...]
    airlines: tuple[Airline, ...]
    overflights: float = 0.2  # fraction of flights that only cross the region
    cruise_altitude_ft: tuple[float, float] = (29000.0, 39000.0)
    modes_only: float = 0.0  # fraction of flights with ADS-B off (Mode S replies only)


@dataclass(frozen=True, slots=True)
class Airline:
    prefix: str  # ICAO airline designator: the callsign prefix
    blocks: tuple[tuple[int, int], ...]  # ICAO address ranges its aircraft come from
    types: tuple[str, ...]
    numbers: tuple[int, int] = (100, 9999)
    country: str = ""


@dataclass(frozen=True, slots=True)
class InterferenceSpec:
    """A GNSS jamming or spoofing zone (see tailwatch.simulate.interference)."""

    name: str
    kind: str  # "jamming" or "spoofing"
    lat: float
    lon: float
    radius_nm: float
    start: float
    end: float
    nic: tuple[int, int] | None = None  # NIC sent inside, drawn per aircraft in [min, max]
    nacp: tuple[int, int] | None = None  # NACp sent inside, idem
    lose_positions: float = 0.0  # jamming: share of affected aircraft sending no position
    spoof_lat: float = math.nan  # spoofing: the reported position ...
    spoof_lon: float = math.nan
    spoof_radius_nm: float = 0.0  # ... or a circle of this radius around it
    spoof_alt_ft: float = math.nan  # GNSS height reported while spoofed (NaN: the true one)
    recovery_s: float = 0.0  # the effect lasts this long after leaving the zone


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    title: str
    description: str
    seed: int
    aircraft: tuple[AircraftSpec, ...]
    receivers: tuple[ReceiverSpec, ...]
    windows: tuple[Window, ...] = ()
    noise: NoiseSpec = field(default_factory=NoiseSpec)
    rates: RatesSpec = field(default_factory=RatesSpec)
    traffic: tuple[TrafficSpec, ...] = ()
    qnh_hpa: float = 1013.2
    source: str = ""
    interference: tuple[InterferenceSpec, ...] = ()


# ------------------------------------------------------------------------------------------
# Loading


def builtin_scenarios() -> list[str]:
    """Names of the scenarios shipped with tailwatch."""
    root = resources.files("tailwatch.simulate") / "scenarios"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name (``airlift2019``), a generated MLAT set
    (``mlat:200x8x10``, :mod:`tailwatch.simulate.presets`) or a TOML file by path."""
    text: str
    source: str
    if isinstance(name_or_path, str) and name_or_path.startswith("mlat:"):
        from tailwatch.simulate.presets import parse_preset

        preset = parse_preset(name_or_path)
        if preset is None:
            raise ConfigError(f"{name_or_path}: a generated MLAT set is mlat:AIRCRAFTxRECEIVERS"
                              "xMINUTES, e.g. mlat:200x8x10")
        return preset
    if isinstance(name_or_path, str) and name_or_path in builtin_scenarios():
        res = resources.files("tailwatch.simulate") / "scenarios" / f"{name_or_path}.toml"
        text, source = res.read_text(encoding="utf-8"), f"builtin:{name_or_path}"
    else:
        path = Path(name_or_path)
        if not path.is_file():
            known = ", ".join(builtin_scenarios())
            raise ConfigError(f"{name_or_path}: no such scenario file (built-in: {known})")
        text, source = path.read_text(encoding="utf-8"), str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from None
    return parse_scenario(data, source=source)


def parse_scenario(data: Mapping[str, Any], *, source: str = "") -> Scenario:
    """Validate a scenario given as the dict that ``tomllib`` returns."""
    ctx = source or "scenario"
    _keys(data, ctx, {"scenario", "noise", "rates", "receivers", "aircraft", "traffic",
                      "interference"})  # fmt: skip
    head = _table(data.get("scenario", {}), f"{ctx} [scenario]")
    _keys(head, f"{ctx} [scenario]", {"name", "title", "description", "seed", "windows",
                                       "qnh_hpa"})  # fmt: skip
    name = _str(head.get("name", Path(source).stem if source else "scenario"), "scenario.name")
    windows = tuple(
        _window(w, f"{ctx} [scenario].windows[{i}]")
        for i, w in enumerate(_list(head.get("windows", []), "scenario.windows"))
    )
    receivers = tuple(
        _receiver(r, f"{ctx} [[receivers]] #{i + 1}")
        for i, r in enumerate(_list(data.get("receivers", []), "receivers"))
    )
    if not receivers:
        raise ConfigError(f"{ctx}: a scenario needs at least one [[receivers]]")
    names = [r.name for r in receivers]
    if len(set(names)) != len(names):
        raise ConfigError(f"{ctx}: receiver names must be unique: {names}")
    aircraft = tuple(
        _aircraft(a, f"{ctx} [[aircraft]] #{i + 1}")
        for i, a in enumerate(_list(data.get("aircraft", []), "aircraft"))
    )
    addrs = [a.icao24 for a in aircraft]
    if len(set(addrs)) != len(addrs):
        raise ConfigError(f"{ctx}: two [[aircraft]] have the same icao24")
    traffic = tuple(
        _traffic(t, f"{ctx} [[traffic]] #{i + 1}")
        for i, t in enumerate(_list(data.get("traffic", []), "traffic"))
    )
    if not aircraft and not traffic:
        raise ConfigError(f"{ctx}: a scenario needs [[aircraft]] or [[traffic]]")
    interference = tuple(
        _interference(z, f"{ctx} [[interference]] #{i + 1}", i)
        for i, z in enumerate(_list(data.get("interference", []), "interference"))
    )
    zone_names = [z.name for z in interference]
    if len(set(zone_names)) != len(zone_names):
        raise ConfigError(f"{ctx}: interference names must be unique: {zone_names}")
    return Scenario(
        name=name,
        title=_str(head.get("title", name), "scenario.title"),
        description=_str(head.get("description", ""), "scenario.description"),
        seed=_int(head.get("seed", 0), "scenario.seed", 0),
        aircraft=aircraft,
        receivers=receivers,
        windows=windows,
        noise=_noise(data.get("noise", {}), f"{ctx} [noise]"),
        rates=_rates(data.get("rates", {}), f"{ctx} [rates]"),
        traffic=traffic,
        qnh_hpa=_float(head.get("qnh_hpa", 1013.2), "scenario.qnh_hpa", 900.0, 1100.0),
        source=source,
        interference=interference,
    )


# ------------------------------------------------------------------------------------------
# Sections


def _window(v: object, ctx: str) -> Window:
    t = _table(v, ctx)
    _keys(t, ctx, {"start", "end", "label"})
    start, end = _time(t.get("start"), f"{ctx}.start"), _time(t.get("end"), f"{ctx}.end")
    if end <= start:
        raise ConfigError(f"{ctx}: end must be after start")
    return Window(start, end, _str(t.get("label", ""), f"{ctx}.label"))


def _receiver(v: object, ctx: str) -> ReceiverSpec:
    t = _table(v, ctx)
    _keys(t, ctx, {"name", "lat", "lon", "height_ft", "range_nm", "polygon", "line_of_sight",
                   "id", "loss", "alt_m", *_CLOCK_KEYS})  # fmt: skip
    id64 = 0
    if "id" in t:
        raw = _str(t["id"], f"{ctx}.id")
        try:
            id64 = int(raw, 16)
        except ValueError:
            raise ConfigError(f"{ctx}.id must be hexadecimal (up to 16 digits)") from None
        if not 0 < id64 < 1 << 64:
            raise ConfigError(f"{ctx}.id must be a non-zero 64-bit value")
    polygon = tuple(_point(p, f"{ctx}.polygon") for p in _list(t.get("polygon", []), ctx))
    if polygon and len(polygon) < 3:
        raise ConfigError(f"{ctx}.polygon needs at least 3 points")
    return ReceiverSpec(
        name=_str(_req(t, "name", ctx), f"{ctx}.name"),
        lat=_float(_req(t, "lat", ctx), f"{ctx}.lat", -90, 90),
        lon=_float(_req(t, "lon", ctx), f"{ctx}.lon", -180, 180),
        height_ft=_float(t.get("height_ft", 100.0), f"{ctx}.height_ft", 0, 20000),
        range_nm=_float(t.get("range_nm", 200.0), f"{ctx}.range_nm", 0.1, 500),
        polygon=polygon,
        line_of_sight=_bool(t.get("line_of_sight", True), f"{ctx}.line_of_sight"),
        id64=id64,
        loss=None if "loss" not in t else _float(t["loss"], f"{ctx}.loss", 0, 1),
        alt_m=None if "alt_m" not in t else _float(t["alt_m"], f"{ctx}.alt_m", -500, 9000),
        **_clock(t, ctx),
    )


_CLOCK_KEYS = ("clock", "clock_offset_s", "clock_drift_ppm", "clock_jitter_ns", "clock_resets",
               "clock_wander_ppm_per_h")  # fmt: skip
_CLOCK_ALLOWED = {
    "utc": set(),
    "gps": {"clock_jitter_ns", "clock_resets"},
    "free": {"clock_offset_s", "clock_drift_ppm", "clock_jitter_ns", "clock_resets",
             "clock_wander_ppm_per_h"},
}


def _clock(t: Mapping[str, Any], ctx: str) -> dict[str, Any]:
    """The clock keys of a receiver (see tailwatch.simulate.clocks)."""
    kind = _str(t.get("clock", "utc"), f"{ctx}.clock")
    if kind not in _CLOCK_ALLOWED:
        raise ConfigError(f"{ctx}.clock must be one of {sorted(_CLOCK_ALLOWED)}, not {kind!r}")
    extra = sorted(k for k in _CLOCK_KEYS[1:] if k in t and k not in _CLOCK_ALLOWED[kind])
    if extra:
        raise ConfigError(f"{ctx}: {extra} do not apply to clock = {kind!r}"
                          + (" (set clock = \"free\" or \"gps\")" if kind == "utc" else ""))
    resets = []
    for i, r in enumerate(_list(t.get("clock_resets", []), f"{ctx}.clock_resets")):
        rctx = f"{ctx}.clock_resets[{i}]"
        rt = _table(r, rctx)
        _keys(rt, rctx, {"at", "to_s"})
        resets.append(ClockReset(_time(_req(rt, "at", rctx), f"{rctx}.at"),
                                 _float(rt.get("to_s", 0.0), f"{rctx}.to_s", 0, 2.3e7)))
    return {
        "clock": kind,
        "clock_offset_s": _float(t.get("clock_offset_s", 0.0), f"{ctx}.clock_offset_s",
                                 -1e7, 1e7),
        "clock_drift_ppm": _float(t.get("clock_drift_ppm", 0.0), f"{ctx}.clock_drift_ppm",
                                  -1000, 1000),
        "clock_jitter_ns": _float(t.get("clock_jitter_ns", 0.0), f"{ctx}.clock_jitter_ns",
                                  0, 1e6),
        "clock_resets": tuple(sorted(resets, key=lambda r: r.t)),
        "clock_wander_ppm_per_h": _float(t.get("clock_wander_ppm_per_h", 0.0),
                                         f"{ctx}.clock_wander_ppm_per_h", 0, 100),
    }


def _aircraft(v: object, ctx: str) -> AircraftSpec:
    t = _table(v, ctx)
    _keys(t, ctx, {"icao24", "callsign", "type", "category", "registration", "operator",
                   "squawk", "adsb", "adsb_positions", "transponder_off", "squawks",
                   "climb_profile", "descent_profile", "legs", "note"})  # fmt: skip
    icao = _icao(_req(t, "icao24", ctx), f"{ctx}.icao24")
    ctx = f"{ctx} ({icao:06x})"
    legs = tuple(
        _leg(leg, f"{ctx} leg {i + 1}") for i, leg in enumerate(_list(t.get("legs", []), ctx))
    )
    if not legs:
        raise ConfigError(f"{ctx}: needs at least one [[aircraft.legs]]")
    for a, b in itertools.pairwise(legs):
        if a.destination != b.origin:
            raise ConfigError(
                f"{ctx}: a leg starts at {b.origin} but the previous one ends at {a.destination}"
            )
    offs = tuple(
        _window(w, f"{ctx}.transponder_off[{i}]")
        for i, w in enumerate(_list(t.get("transponder_off", []), ctx))
    )
    squawks = []
    for i, s in enumerate(_list(t.get("squawks", []), ctx)):
        st = _table(s, f"{ctx}.squawks[{i}]")
        _keys(st, f"{ctx}.squawks[{i}]", {"at", "code"})
        squawks.append(
            SquawkChange(
                _time(_req(st, "at", ctx), f"{ctx}.squawks[{i}].at"),
                _squawk(_req(st, "code", ctx), f"{ctx}.squawks[{i}]"),
            )
        )
    return AircraftSpec(
        icao24=icao,
        callsign=_callsign(_req(t, "callsign", ctx), f"{ctx}.callsign"),
        typecode=_str(_req(t, "type", ctx), f"{ctx}.type").upper(),
        category=_category(t.get("category", "A3"), f"{ctx}.category"),
        legs=legs,
        registration=_str(t.get("registration", ""), f"{ctx}.registration"),
        operator=_str(t.get("operator", ""), f"{ctx}.operator"),
        squawk=None if "squawk" not in t else _squawk(t["squawk"], f"{ctx}.squawk"),
        adsb=_bool(t.get("adsb", True), f"{ctx}.adsb"),
        adsb_positions=_bool(t.get("adsb_positions", True), f"{ctx}.adsb_positions"),
        transponder_off=offs,
        squawks=tuple(sorted(squawks, key=lambda s: s.t)),
        climb_profile=_profile(t.get("climb_profile"), f"{ctx}.climb_profile"),
        descent_profile=_profile(t.get("descent_profile"), f"{ctx}.descent_profile"),
        note=_str(t.get("note", ""), f"{ctx}.note"),
    )


def _leg(v: object, ctx: str) -> LegSpec:
    t = _table(v, ctx)
    _keys(t, ctx, {"from", "to", "takeoff", "landing", "start", "via", "cruise_altitude_ft",
                   "cruise_speed_kt", "start_altitude_ft", "takeoff_runway", "landing_runway",
                   "go_around", "callsign", "squawk"})  # fmt: skip
    origin = _place(_req(t, "from", ctx), f"{ctx}.from")
    destination = _place(_req(t, "to", ctx), f"{ctx}.to")
    anchors = [k for k in ("takeoff", "landing", "start") if k in t]
    if len(anchors) != 1:
        raise ConfigError(f"{ctx}: give exactly one of takeoff, landing or start")
    anchor = anchors[0]
    if anchor == "takeoff" and not isinstance(origin, str):
        raise ConfigError(f"{ctx}: takeoff needs an airport in 'from' (use start for a point)")
    if anchor == "landing" and not isinstance(destination, str):
        raise ConfigError(f"{ctx}: landing needs an airport in 'to'")
    if "go_around" in t and not isinstance(destination, str):
        raise ConfigError(f"{ctx}: go_around needs an airport in 'to'")

    def opt(key: str, lo: float, hi: float) -> float | None:
        return None if key not in t else _float(t[key], f"{ctx}.{key}", lo, hi)

    return LegSpec(
        origin=origin,
        destination=destination,
        anchor=anchor,
        anchor_t=_time(t[anchor], f"{ctx}.{anchor}"),
        via=tuple(_point(p, f"{ctx}.via") for p in _list(t.get("via", []), ctx)),
        cruise_altitude_ft=opt("cruise_altitude_ft", 1000, 50000),
        cruise_speed_kt=opt("cruise_speed_kt", 80, 650),
        start_altitude_ft=opt("start_altitude_ft", 500, 50000),
        takeoff_runway=None if "takeoff_runway" not in t else _str(t["takeoff_runway"], ctx),
        landing_runway=None if "landing_runway" not in t else _str(t["landing_runway"], ctx),
        go_around=_bool(t.get("go_around", False), f"{ctx}.go_around"),
        callsign=None if "callsign" not in t else _callsign(t["callsign"], f"{ctx}.callsign"),
        squawk=None if "squawk" not in t else _squawk(t["squawk"], f"{ctx}.squawk"),
    )


_ZONE_KEYS = {"name", "kind", "lat", "lon", "radius_nm", "start", "end", "nic", "nacp",
              "recovery_s"}  # fmt: skip
_ZONE_EXTRA = {"jamming": {"lose_positions"},
               "spoofing": {"spoof_lat", "spoof_lon", "spoof_radius_nm",
                            "spoof_alt_ft"}}  # fmt: skip


def _interference(v: object, ctx: str, index: int) -> InterferenceSpec:
    t = _table(v, ctx)
    kind = _str(_req(t, "kind", ctx), f"{ctx}.kind")
    if kind not in _ZONE_EXTRA:
        raise ConfigError(f"{ctx}.kind must be 'jamming' or 'spoofing', not {kind!r}")
    _keys(t, f"{ctx} (kind = {kind!r})", _ZONE_KEYS | _ZONE_EXTRA[kind])
    start, end = _time(_req(t, "start", ctx), f"{ctx}.start"), _time(_req(t, "end", ctx), ctx)
    if end <= start:
        raise ConfigError(f"{ctx}: end must be after start")
    spoof = kind == "spoofing"
    lose = _float(t.get("lose_positions", 0.0 if spoof else 0.3), f"{ctx}.lose_positions", 0, 1)
    spoof_lat = spoof_lon = spoof_alt = math.nan
    if "spoof_alt_ft" in t:
        spoof_alt = _float(t["spoof_alt_ft"], f"{ctx}.spoof_alt_ft", -1500, 60000)
    if spoof:
        spoof_lat = _float(_req(t, "spoof_lat", ctx), f"{ctx}.spoof_lat", -90, 90)
        spoof_lon = _float(_req(t, "spoof_lon", ctx), f"{ctx}.spoof_lon", -180, 180)
    return InterferenceSpec(
        name=_str(t.get("name", f"{kind}-{index + 1}"), f"{ctx}.name"),
        kind=kind,
        lat=_float(_req(t, "lat", ctx), f"{ctx}.lat", -90, 90),
        lon=_float(_req(t, "lon", ctx), f"{ctx}.lon", -180, 180),
        radius_nm=_float(_req(t, "radius_nm", ctx), f"{ctx}.radius_nm", 0.1, 1000),
        start=start,
        end=end,
        nic=_int_range(t.get("nic", None if spoof else 0), f"{ctx}.nic", 0, 11),
        nacp=_int_range(t.get("nacp", None if spoof else 0), f"{ctx}.nacp", 0, 11),
        lose_positions=lose,
        spoof_lat=spoof_lat,
        spoof_lon=spoof_lon,
        spoof_radius_nm=_float(t.get("spoof_radius_nm", 0.0), f"{ctx}.spoof_radius_nm", 0, 500),
        spoof_alt_ft=spoof_alt,
        recovery_s=_float(t.get("recovery_s", 0.0), f"{ctx}.recovery_s", 0, 86400),
    )


def _int_range(v: object, ctx: str, lo: int, hi: int) -> tuple[int, int] | None:
    """An integer or ``[min, max]`` → (min, max); None stays None."""
    if v is None:
        return None
    if isinstance(v, list | tuple):
        if len(v) != 2:
            raise ConfigError(f"{ctx}: a value or [min, max]")
        a, b = _int(v[0], ctx, lo), _int(v[1], ctx, lo)
    else:
        a = b = _int(v, ctx, lo)
    if b < a or b > hi:
        raise ConfigError(f"{ctx}: values {lo}..{hi}, with min <= max")
    return (a, b)


def _noise(v: object, ctx: str) -> NoiseSpec:
    t = _table(v, ctx)
    _keys(t, ctx, {"single_bit", "multi_bit", "garbage_per_minute", "garbage_bytes",
                   "mode_ac_per_second", "ghosts_per_minute", "loss", "edge_loss"})  # fmt: skip
    gb = _list(t.get("garbage_bytes", [3, 40]), f"{ctx}.garbage_bytes")
    if len(gb) != 2:
        raise ConfigError(f"{ctx}.garbage_bytes must be [min, max]")
    lo, hi = (_int(x, f"{ctx}.garbage_bytes", 1) for x in gb)
    if hi < lo:
        raise ConfigError(f"{ctx}.garbage_bytes must be [min, max] with min <= max")
    return NoiseSpec(
        single_bit=_float(t.get("single_bit", 0.0), f"{ctx}.single_bit", 0, 0.5),
        multi_bit=_float(t.get("multi_bit", 0.0), f"{ctx}.multi_bit", 0, 0.5),
        garbage_per_minute=_float(t.get("garbage_per_minute", 0.0), ctx, 0, 6000),
        garbage_bytes=(lo, hi),
        mode_ac_per_second=_float(t.get("mode_ac_per_second", 0.0), ctx, 0, 1000),
        ghosts_per_minute=_float(t.get("ghosts_per_minute", 0.0), ctx, 0, 6000),
        loss=_float(t.get("loss", 0.0), f"{ctx}.loss", 0, 0.99),
        edge_loss=_float(t.get("edge_loss", 0.0), f"{ctx}.edge_loss", 0, 1),
    )


def _rates(v: object, ctx: str) -> RatesSpec:
    t = _table(v, ctx)
    names = set(RatesSpec.__dataclass_fields__)
    _keys(t, ctx, names)
    radars = _int(t.get("radars", 1), f"{ctx}.radars", 0)
    if radars > 20:
        raise ConfigError(f"{ctx}.radars: at most 20")
    return RatesSpec(radars=radars, **{k: _float(t[k], f"{ctx}.{k}", 0.05, 600)
                                       for k in t if k != "radars"})  # fmt: skip


def _traffic(v: object, ctx: str) -> TrafficSpec:
    t = _table(v, ctx)
    _keys(t, ctx, {"name", "start", "end", "flights", "airports", "remote", "airlines",
                   "overflights", "cruise_altitude_ft", "modes_only"})  # fmt: skip
    start, end = _time(_req(t, "start", ctx), f"{ctx}.start"), _time(_req(t, "end", ctx), ctx)
    if end <= start:
        raise ConfigError(f"{ctx}: end must be after start")
    airlines = []
    for i, a in enumerate(_list(_req(t, "airlines", ctx), f"{ctx}.airlines")):
        actx = f"{ctx}.airlines[{i}]"
        at = _table(a, actx)
        _keys(at, actx, {"prefix", "blocks", "types", "numbers", "country"})
        blocks = []
        for b in _list(_req(at, "blocks", actx), f"{actx}.blocks"):
            pair = _list(b, f"{actx}.blocks")
            if len(pair) != 2:
                raise ConfigError(f"{actx}.blocks: each block is [first, last] hex address")
            lo, hi = _icao(pair[0], f"{actx}.blocks"), _icao(pair[1], f"{actx}.blocks")
            if hi < lo:
                raise ConfigError(f"{actx}.blocks: [first, last] with first <= last")
            blocks.append((lo, hi))
        nums = _list(at.get("numbers", [100, 9999]), f"{actx}.numbers")
        if len(nums) != 2:
            raise ConfigError(f"{actx}.numbers must be [min, max]")
        prefix = _str(_req(at, "prefix", actx), f"{actx}.prefix").upper()
        if not re.fullmatch(r"[A-Z]{3}", prefix):
            raise ConfigError(f"{actx}.prefix must be a 3-letter ICAO airline designator")
        types = tuple(_str(x, f"{actx}.types").upper() for x in _list(_req(at, "types", actx),
                                                                       actx))  # fmt: skip
        if not types:
            raise ConfigError(f"{actx}.types must not be empty")
        airlines.append(Airline(
            prefix=prefix,
            blocks=tuple(blocks),
            types=types,
            numbers=(_int(nums[0], actx, 1), _int(nums[1], actx, 1)),
            country=_str(at.get("country", ""), f"{actx}.country"),
        ))  # fmt: skip
    if not airlines:
        raise ConfigError(f"{ctx}.airlines must not be empty")
    airports = tuple(_airport_code(x, f"{ctx}.airports") for x in _list(
        _req(t, "airports", ctx), ctx))  # fmt: skip
    if not airports:
        raise ConfigError(f"{ctx}.airports must not be empty")
    alt = _list(t.get("cruise_altitude_ft", [29000, 39000]), f"{ctx}.cruise_altitude_ft")
    if len(alt) != 2:
        raise ConfigError(f"{ctx}.cruise_altitude_ft must be [min, max]")
    return TrafficSpec(
        name=_str(t.get("name", ""), f"{ctx}.name"),
        start=start,
        end=end,
        flights=_int(_req(t, "flights", ctx), f"{ctx}.flights", 0),
        airports=airports,
        remote=tuple(_airport_code(x, f"{ctx}.remote") for x in _list(t.get("remote", []), ctx)),
        airlines=tuple(airlines),
        overflights=_float(t.get("overflights", 0.2), f"{ctx}.overflights", 0, 1),
        cruise_altitude_ft=(_float(alt[0], ctx, 1000, 50000), _float(alt[1], ctx, 1000, 50000)),
        modes_only=_float(t.get("modes_only", 0.0), f"{ctx}.modes_only", 0, 1),
    )


# ------------------------------------------------------------------------------------------
# Values


def _req(t: Mapping[str, Any], key: str, ctx: str) -> Any:
    if key not in t:
        raise ConfigError(f"{ctx}: missing key '{key}'")
    return t[key]


def _keys(t: Mapping[str, Any], ctx: str, allowed: set[str]) -> None:
    unknown = sorted(set(t) - allowed)
    if unknown:
        raise ConfigError(f"{ctx}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def _table(v: object, ctx: str) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        raise ConfigError(f"{ctx}: expected a table")
    return v


def _list(v: object, ctx: str) -> Sequence[Any]:
    if not isinstance(v, list | tuple):
        raise ConfigError(f"{ctx}: expected an array")
    return v


def _str(v: object, ctx: str) -> str:
    if not isinstance(v, str):
        raise ConfigError(f"{ctx}: expected a string")
    return v


def _bool(v: object, ctx: str) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(f"{ctx}: expected true or false")
    return v


def _int(v: object, ctx: str, lo: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"{ctx}: expected an integer")
    if lo is not None and v < lo:
        raise ConfigError(f"{ctx}: must be >= {lo}")
    return v


def _float(v: object, ctx: str, lo: float | None = None, hi: float | None = None) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConfigError(f"{ctx}: expected a number")
    x = float(v)
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise ConfigError(f"{ctx}: {x} is outside {lo}..{hi}")
    return x


def _time(v: object, ctx: str) -> float:
    """A TOML offset date-time (or an ISO 8601 string with an offset) → UTC seconds."""
    if isinstance(v, str):
        try:
            v = dt.datetime.fromisoformat(v)
        except ValueError:
            raise ConfigError(f"{ctx}: {v!r} is not an ISO 8601 date-time") from None
    if not isinstance(v, dt.datetime):
        raise ConfigError(f"{ctx}: expected a date-time such as 2019-03-22T12:12:00Z")
    if v.tzinfo is None:
        raise ConfigError(f"{ctx}: {v.isoformat()} has no UTC offset (add Z or +03:00)")
    return v.timestamp()


def _point(v: object, ctx: str) -> Point:
    p = _list(v, ctx)
    if len(p) != 2:
        raise ConfigError(f"{ctx}: a point is [lat, lon]")
    return (_float(p[0], ctx, -90, 90), _float(p[1], ctx, -180, 180))


def _place(v: object, ctx: str) -> str | Point:
    if isinstance(v, str):
        return _airport_code(v, ctx)
    return _point(v, ctx)


def _airport_code(v: object, ctx: str) -> str:
    code = _str(v, ctx).upper()
    if not _ICAO_CODE.fullmatch(code):
        raise ConfigError(f"{ctx}: {code!r} is not an ICAO airport code")
    return code


def _icao(v: object, ctx: str) -> int:
    if isinstance(v, str):
        try:
            a = int(v, 16)
        except ValueError:
            raise ConfigError(f"{ctx}: {v!r} is not a hex address") from None
    elif isinstance(v, int) and not isinstance(v, bool):
        a = v
    else:
        raise ConfigError(f"{ctx}: expected a hex address such as '1551e0'")
    if not 0 <= a <= 0xFFFFFF:
        raise ConfigError(f"{ctx}: {v!r} is not a 24-bit address")
    return a


def _callsign(v: object, ctx: str) -> str:
    cs = _str(v, ctx).upper()
    if not re.fullmatch(r"[A-Z0-9 ]{1,8}", cs):
        raise ConfigError(f"{ctx}: a callsign is 1-8 of A-Z, 0-9")
    return cs


def _squawk(v: object, ctx: str) -> int:
    s = _str(v, ctx) if isinstance(v, str) else f"{_int(v, ctx):04d}"
    if not _SQUAWK.fullmatch(s):
        raise ConfigError(f"{ctx}: a squawk is four octal digits, as a string ('7700')")
    return int(s)


def _category(v: object, ctx: str) -> int:
    m = _CATEGORY.fullmatch(_str(v, ctx).upper())
    if not m:
        raise ConfigError(f"{ctx}: a category is a letter A-D and a digit 0-7 ('A5')")
    return ("ABCD".index(m.group(1)) + 1) * 8 + int(m.group(2))


def _profile(v: object, ctx: str) -> Profile | None:
    if v is None:
        return None
    rows = []
    for p in _list(v, ctx):
        pair = _list(p, ctx)
        if len(pair) != 2:
            raise ConfigError(f"{ctx}: each row is [altitude_ft, rate_fpm]")
        rows.append((_float(pair[0], ctx, -1000, 60000), _float(pair[1], ctx, 50, 10000)))
    if not rows or any(b[0] <= a[0] for a, b in itertools.pairwise(rows)):
        raise ConfigError(f"{ctx}: rows must be non-empty with increasing altitudes")
    return tuple(rows)
