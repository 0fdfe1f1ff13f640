"""What each aircraft transmits, and when: message schedules as columns, then real encodings.

For every aircraft the transponder-on spans (cut to the scenario's windows) are filled with
jittered periodic sequences, one per message family (intervals from :class:`RatesSpec`, each
gap drawn uniformly within ±10 % of the mean, as DO-260B's randomised squitter timing):

* DF17 position every ~0.5 s: airborne (TC 11, barometric altitude) in the air, surface
  (TC 7) on the ground; the surface rate drops by ``stationary_factor`` when the aircraft
  stands still. Even and odd CPR formats alternate.
* DF17 airborne velocity (TC 19, ground speed) every ~0.5 s in the air.
* DF17 identification (TC 1-4) every ~5 s (slower when stationary on the ground).
* DF17 operational status (TC 31, version 2) every ~2.5 s.
* DF17 emergency/priority status (TC 28) every ~1 s while the squawk is 7500, 7600 or 7700.
* DF11 acquisition squitters every ~1 s.
* A Mode S radar sweep every ~4.8 s in the air: a DF4 (altitude), a DF5 (identity), a DF20
  carrying BDS 4,0, 5,0 or 6,0 in turn, and a DF21 carrying BDS 2,0, a few ms apart; with
  ``radars`` N, N independent sweeps (random phases), as under several radars.

An aircraft declared ``adsb = false`` sends only the DF11 and the radar replies;
``adsb_positions = false`` drops only the DF17 position messages (the other squitters stay).
The state at each message time is interpolated from the trajectory; encoding is done per
message family over all aircraft at once with :mod:`tailwatch.encode`.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from tailwatch import encode as enc
from tailwatch.core.frames import FRAME_WIDTH
from tailwatch.simulate.routes import AircraftTrack, intersect
from tailwatch.simulate.scenario import RatesSpec, Window

F64 = npt.NDArray[np.float64]

# Message kinds (the ``kind`` column of the schedule and of the feed's frames).
AIR_POS, SURF_POS, VELOCITY, IDENT, OPSTATUS, EMERGENCY = 1, 2, 3, 4, 5, 6
ALL_CALL, ALT_REPLY, ID_REPLY, COMMB_ALT, COMMB_ID = 7, 8, 9, 10, 11
MODE_AC, GHOST = 20, 21
KIND_NAMES: dict[int, str] = {
    AIR_POS: "airborne_position",
    SURF_POS: "surface_position",
    VELOCITY: "velocity",
    IDENT: "identification",
    OPSTATUS: "operational_status",
    EMERGENCY: "emergency_status",
    ALL_CALL: "all_call",
    ALT_REPLY: "altitude_reply",
    ID_REPLY: "identity_reply",
    COMMB_ALT: "commb_altitude_reply",
    COMMB_ID: "commb_identity_reply",
    MODE_AC: "mode_ac",
    GHOST: "ghost_reply",
}
ADSB_KINDS = (AIR_POS, SURF_POS, VELOCITY, IDENT, OPSTATUS, EMERGENCY)
EMERGENCY_CODES = {7500: 5, 7600: 4, 7700: 1}  # squawk → schema emergency code
STATIONARY_KT = 0.5

# The columns of a schedule (one row per transmitted message), with their dtypes.
SCHEDULE_COLUMNS: dict[str, str] = {
    "t": "float64",
    "aircraft": "int32",
    "icao24": "uint32",
    "kind": "int8",
    "lat": "float64",
    "lon": "float64",
    "alt_ft": "float64",
    "gs_kt": "float64",
    "track_deg": "float64",
    "vrate_fpm": "float64",
    "track_rate_deg_s": "float64",
    "on_ground": "bool",
    "squawk": "int16",
    "callsign": "S8",
    "category": "uint8",
    "odd": "int8",
    "bds": "uint8",
    "selected_alt_ft": "float64",
    # what the position messages report (differs from lat/lon under GNSS interference; NaN:
    # no position, TC 0), the NIC their type code states and the NACp of the status messages
    "rep_lat": "float64",
    "rep_lon": "float64",
    "nic": "uint8",
    "nacp": "uint8",
    "gnss_diff_ft": "float64",  # GNSS height − baro altitude in velocity messages (NaN: none)
}
NIC_DEFAULT, NACP_DEFAULT = 8, 9  # TC 11 with NIC supplement A = 0; operational status

# NIC (supplements A and C = 0) → airborne position type code, DO-260B table 2-14: values
# that need a supplement bit (9, 3) get the next lower NIC's code
_AIR_TC = np.array([18, 17, 16, 16, 15, 14, 13, 12, 11, 11, 10, 9], np.uint8)
# NIC → surface position type code (5: NIC 11, 6: 10, 7: 8/9, 8: 0)
_SURF_TC = np.array([8, 8, 8, 8, 8, 8, 8, 8, 7, 7, 6, 5], np.uint8)

Schedule = dict[str, np.ndarray]


def empty_schedule(n: int = 0) -> Schedule:
    return {k: np.zeros(n, dtype=v) for k, v in SCHEDULE_COLUMNS.items()}


def concat_schedules(parts: list[Schedule]) -> Schedule:
    if not parts:
        return empty_schedule()
    return {k: np.concatenate([p[k] for p in parts]) for k in SCHEDULE_COLUMNS}


def take(s: Schedule, idx: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> Schedule:
    return {k: v[idx] for k, v in s.items()}


def _sequence(spans: list[tuple[float, float]], mean_s: float,
              rng: np.random.Generator) -> F64:  # fmt: skip
    """Jittered periodic times covering the spans (random phase, gaps within ±10 %)."""
    out = []
    for a, b in spans:
        n = math.ceil((b - a) / (0.9 * mean_s)) + 1
        gaps = mean_s * rng.uniform(0.9, 1.1, n)
        t = a + rng.uniform(0.0, mean_s) + np.concatenate([[0.0], np.cumsum(gaps[:-1])])
        out.append(t[t < b])
    return np.concatenate(out) if out else np.zeros(0)


class State:
    """The trajectory of one aircraft, interpolated at any times."""

    def __init__(self, tr: AircraftTrack) -> None:
        self.tr = tr
        self.lon_unwrapped = np.degrees(np.unwrap(np.radians(tr.lon)))
        self.trk_unwrapped = np.degrees(np.unwrap(np.radians(tr.track_deg)))
        dt = np.diff(tr.t)
        rate = np.zeros(tr.t.size)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate[:-1] = np.where(dt > 0, np.diff(self.trk_unwrapped) / np.where(dt > 0, dt, 1), 0)
        self.rate = rate

    def at(self, t: F64) -> dict[str, np.ndarray]:
        tr = self.tr
        i = np.clip(np.searchsorted(tr.t, t, side="right") - 1, 0, tr.t.size - 1)
        lon = np.interp(t, tr.t, self.lon_unwrapped)
        return {
            "lat": np.interp(t, tr.t, tr.lat),
            "lon": (lon + 180.0) % 360.0 - 180.0,
            "alt_ft": np.interp(t, tr.t, tr.alt_ft),
            "gs_kt": np.interp(t, tr.t, tr.gs_kt),
            "track_deg": np.interp(t, tr.t, self.trk_unwrapped) % 360.0,
            "vrate_fpm": tr.vrate_fpm[i],
            "track_rate_deg_s": self.rate[i],
            "on_ground": tr.on_ground[i],
            "leg": tr.leg[i],
        }


def schedule_aircraft(
    tr: AircraftTrack,
    index: int,
    rates: RatesSpec,
    spans: list[tuple[float, float]],
    rng: np.random.Generator,
    st: State | None = None,
) -> Schedule:
    """Every message one aircraft transmits in the time ``spans`` (where its transponder is
    on: see :func:`emitted_spans`), as schedule columns."""
    spec = tr.spec
    st = st or State(tr)
    parts: list[tuple[F64, int]] = []

    def add(t: F64, kind: int) -> None:
        if t.size:
            parts.append((t, kind))

    pos_t = _sequence(spans, rates.position_s, rng)
    s = st.at(pos_t)
    stopped = s["on_ground"] & (s["gs_kt"] < STATIONARY_KT)
    every = max(1, round(rates.stationary_factor))
    keep = ~stopped | (np.arange(pos_t.size) % every == 0)
    ident_t = _sequence(spans, rates.identification_s, rng)
    si = st.at(ident_t)
    ident_keep = ~(si["on_ground"] & (si["gs_kt"] < STATIONARY_KT)) | (
        np.arange(ident_t.size) % 2 == 0)  # fmt: skip
    if spec.adsb:
        if spec.adsb_positions:
            add(pos_t[keep & ~s["on_ground"]], AIR_POS)
            add(pos_t[keep & s["on_ground"]], SURF_POS)
        vel_t = _sequence(spans, rates.velocity_s, rng)
        add(vel_t[~st.at(vel_t)["on_ground"]], VELOCITY)
        add(ident_t[ident_keep], IDENT)
        add(_sequence(spans, rates.operational_status_s, rng), OPSTATUS)
        em_t = _sequence(spans, rates.emergency_s, rng)
        add(em_t[np.isin(_squawks(tr, em_t, st.at(em_t)["leg"]), list(EMERGENCY_CODES))],
            EMERGENCY)  # fmt: skip
    add(_sequence(spans, rates.all_call_s, rng), ALL_CALL)
    sweep_t = _sequence(spans, rates.radar_sweep_s, rng) if rates.radars else np.zeros(0)
    for _ in range(1, rates.radars):  # more radars: sweeps of their own, random phases
        sweep_t = np.sort(np.concatenate([sweep_t, _sequence(spans, rates.radar_sweep_s, rng)]))
    sweep_t = sweep_t[~st.at(sweep_t)["on_ground"]]
    if sweep_t.size:
        add(sweep_t, ALT_REPLY)
        add(sweep_t + 0.002, ID_REPLY)
        add(sweep_t + 0.005, COMMB_ALT)
        add(sweep_t + 0.008, COMMB_ID)
    if not parts:
        return empty_schedule()
    t = np.concatenate([p[0] for p in parts])
    kind = np.concatenate([np.full(p[0].size, p[1], np.int8) for p in parts])
    order = np.argsort(t, kind="stable")
    t, kind = t[order], kind[order]
    s = st.at(t)
    n = t.size
    out = empty_schedule(n)
    out["t"] = t
    out["kind"] = kind
    out["aircraft"][:] = index
    out["icao24"][:] = spec.icao24
    for k in ("lat", "lon", "alt_ft", "gs_kt", "track_deg", "vrate_fpm", "track_rate_deg_s",
              "on_ground"):  # fmt: skip
        out[k] = s[k].astype(SCHEDULE_COLUMNS[k])
    leg = s["leg"].astype(np.int64)
    out["squawk"] = _squawks(tr, t, leg).astype(np.int16)
    out["callsign"] = np.array([lr.callsign for lr in tr.legs], dtype="S8")[leg]
    out["category"][:] = spec.category
    is_pos = (kind == AIR_POS) | (kind == SURF_POS)
    out["odd"][is_pos] = np.arange(int(is_pos.sum())) % 2
    commb = kind == COMMB_ALT
    out["bds"][commb] = np.array([0x40, 0x50, 0x60], np.uint8)[np.arange(int(commb.sum())) % 3]
    out["bds"][kind == COMMB_ID] = 0x20
    cruise = np.array([_cruise_of(tr, i) for i in range(len(tr.legs))])[leg]
    out["selected_alt_ft"] = np.where(s["vrate_fpm"] < -300.0, 4000.0, cruise)
    out["rep_lat"] = out["lat"].copy()
    out["rep_lon"] = out["lon"].copy()
    out["nic"][:] = NIC_DEFAULT
    out["nacp"][:] = NACP_DEFAULT
    out["gnss_diff_ft"][:] = np.nan
    return out


def emitted_spans(tr: AircraftTrack, windows: tuple[Window, ...] | list[Window]
                  ) -> list[tuple[float, float]]:  # fmt: skip
    """Transponder-on spans of an aircraft cut to the windows (all of them when none)."""
    return intersect(tr.active, windows)


def _cruise_of(tr: AircraftTrack, leg: int) -> float:
    on_leg = tr.leg == leg
    return float(np.round(np.max(tr.alt_ft[on_leg]) / 100.0) * 100.0) if on_leg.any() else 0.0


def _squawks(tr: AircraftTrack, t: F64, leg: npt.NDArray[np.generic]) -> npt.NDArray[np.int64]:
    """Squawk at each time: the leg's code, overridden by the aircraft's timed changes."""
    codes = np.array([lr.squawk for lr in tr.legs], dtype=np.int64)[np.asarray(leg, np.int64)]
    for ch in tr.spec.squawks:
        codes = np.where(t >= ch.t, ch.code, codes)
    return codes


# ------------------------------------------------------------------------------------------
# Air data (ISA, no wind) for the Comm-B registers

_A0_KT = 661.4786  # speed of sound at sea level, ISA


def _isa(alt_ft: F64) -> tuple[F64, F64]:
    """(temperature K, pressure ratio) of the ISA at pressure altitudes (troposphere and the
    lower stratosphere)."""
    h = np.clip(alt_ft, -2000.0, 65000.0) * 0.3048
    trop = h <= 11000.0
    temp = np.where(trop, 288.15 - 0.0065 * h, 216.65)
    delta = np.where(trop, (temp / 288.15) ** 5.25588,
                     0.223361 * np.exp(-(h - 11000.0) / 6341.62))  # fmt: skip
    return temp, delta


def air_data(alt_ft: F64, tas_kt: F64) -> tuple[F64, F64]:
    """(indicated airspeed kt, Mach) from true airspeed and pressure altitude (ISA)."""
    temp, delta = _isa(alt_ft)
    a_kt = _A0_KT * np.sqrt(temp / 288.15)
    mach = tas_kt / a_kt
    qc_p = (1.0 + 0.2 * mach**2) ** 3.5 - 1.0
    cas = _A0_KT * np.sqrt(5.0 * ((qc_p * delta + 1.0) ** (2.0 / 7.0) - 1.0))
    return cas, mach


# ------------------------------------------------------------------------------------------
# Encoding


def encode_schedule(s: Schedule, qnh_hpa: float = 1013.2) -> enc.Frames:
    """One frame per schedule row (aircraft kinds only), with :mod:`tailwatch.encode`."""
    n = s["t"].shape[0]
    raw = np.zeros((n, FRAME_WIDTH), dtype=np.uint8)
    nbytes = np.zeros(n, dtype=np.uint8)
    kind = s["kind"]
    ground = s["on_ground"]
    ca = np.where(ground, 4, 5)
    alert = np.isin(s["squawk"], list(EMERGENCY_CODES))
    fs = np.where(ground, 1, 0) + np.where(alert, 2, 0)

    def put(mask: npt.NDArray[np.bool_], frames: enc.Frames) -> None:
        raw[mask] = frames.raw
        nbytes[mask] = frames.nbytes

    def col(name: str, mask: npt.NDArray[np.bool_]) -> np.ndarray:
        return s[name][mask]

    m = kind == AIR_POS
    if m.any():
        put(m, enc.airborne_position(col("icao24", m), col("rep_lat", m), col("rep_lon", m),
                                     col("alt_ft", m), col("odd", m),
                                     tc=_AIR_TC[col("nic", m)], ca=5))  # fmt: skip
    m = kind == SURF_POS
    if m.any():
        gs = col("gs_kt", m)
        put(m, enc.surface_position(
            col("icao24", m), col("rep_lat", m), col("rep_lon", m), col("odd", m), gs_kt=gs,
            track_deg=np.where(gs >= STATIONARY_KT, col("track_deg", m), np.nan),
            tc=_SURF_TC[col("nic", m)], ca=4,
        ))  # fmt: skip
    m = kind == VELOCITY
    if m.any():
        put(m, enc.velocity_ground(col("icao24", m), col("gs_kt", m), col("track_deg", m),
                                   col("vrate_fpm", m), vrate_source=0, nacv=2, ca=5,
                                   gnss_baro_diff_ft=col("gnss_diff_ft", m)))  # fmt: skip
    m = kind == IDENT
    if m.any():
        put(m, enc.identification(col("icao24", m), col("callsign", m), col("category", m),
                                  ca=ca[m]))  # fmt: skip
    m = kind == OPSTATUS
    if m.any():
        put(m, enc.operational_status(
            col("icao24", m), surface=col("on_ground", m), version=2, nacp=col("nacp", m), sil=3,
            sil_supplement=0, nic_baro=1, sda=2, nacv=2, gva=2, es_in=1, acas_operational=1,
            ca=ca[m],
        ))  # fmt: skip
    m = kind == EMERGENCY
    if m.any():
        sq = col("squawk", m).astype(np.int64)
        code = np.array([EMERGENCY_CODES.get(int(x), 0) for x in np.unique(sq)])
        em = code[np.searchsorted(np.unique(sq), sq)]
        put(m, enc.emergency_status(col("icao24", m), em, sq, ca=ca[m]))
    m = kind == ALL_CALL
    if m.any():
        put(m, enc.all_call_reply(col("icao24", m), ca=ca[m]))
    m = kind == ALT_REPLY
    if m.any():
        put(m, enc.altitude_reply(col("icao24", m), col("alt_ft", m), fs=fs[m]))
    m = kind == ID_REPLY
    if m.any():
        put(m, enc.identity_reply(col("icao24", m), col("squawk", m), fs=fs[m]))
    m = kind == COMMB_ALT
    if m.any():
        put(m, enc.commb_altitude_reply(col("icao24", m), col("alt_ft", m), _mb(s, m, qnh_hpa),
                                        fs=fs[m]))  # fmt: skip
    m = kind == COMMB_ID
    if m.any():
        put(m, enc.commb_identity_reply(col("icao24", m), col("squawk", m),
                                        enc.mb_bds20(col("callsign", m)), fs=fs[m]))  # fmt: skip
    return enc.Frames(raw, nbytes)


def _mb(s: Schedule, m: npt.NDArray[np.bool_], qnh_hpa: float) -> npt.NDArray[np.uint64]:
    """BDS 4,0 / 5,0 / 6,0 MB fields of the DF20 rows ``m`` (by their ``bds`` column)."""
    bds = s["bds"][m]
    alt = s["alt_ft"][m]
    gs = s["gs_kt"][m]
    trk = s["track_deg"][m]
    vr = s["vrate_fpm"][m]
    rate = s["track_rate_deg_s"][m]
    out = np.zeros(bds.shape[0], dtype=np.uint64)
    b = bds == 0x40
    if b.any():
        sel = s["selected_alt_ft"][m][b]
        modes = np.where(np.abs(vr[b]) > 300.0, 2, 4) | np.where(
            (vr[b] < -300.0) & (alt[b] < 4000.0), 8, 0)  # fmt: skip
        baro = np.where(alt[b] >= 10000.0, 1013.2, qnh_hpa)
        out[b] = enc.mb_bds40(sel, sel, baro, nav_modes=modes, target_altitude_source=3)
    b = bds == 0x50
    if b.any():
        v_ms = gs[b] * 0.514444
        roll = np.degrees(np.arctan(v_ms * np.radians(rate[b]) / 9.80665))
        out[b] = enc.mb_bds50(roll, trk[b], gs[b], rate[b], gs[b])
    b = bds == 0x60
    if b.any():
        ias, mach = air_data(alt[b], gs[b])
        out[b] = enc.mb_bds60(trk[b], ias, mach, vr[b], vr[b])
    return out
