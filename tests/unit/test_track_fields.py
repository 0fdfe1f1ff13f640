"""The readsb fields the tracker keeps for aircraft.json (issue 15): each value and its clock
from real frames (a dump1090 Beast capture with signal levels, TC29 target state, TC31
operational status and Comm-B) against the last value the decoder gave for that aircraft,
and the derived ones (alt_geom from the TC19 GNSS difference, wind, temperatures, rssi) from
exact messages built by the encoder, checked against readsb's formulas written out here."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from test_clients_v2 import _valid

from tailwatch import FrameBatch, encode
from tailwatch.core.schema import SOURCE_LABELS
from tailwatch.decode.api import decode_frames
from tailwatch.decode.batch import MessageBatch
from tailwatch.encode.commb import mb_bds50, mb_bds60
from tailwatch.ingest.beast import parse_beast
from tailwatch.serve import LiveState, ReceiverInfo, create_app
from tailwatch.track.magnetic import declination_at, declination_deg
from tailwatch.track.tracker import Snapshot, Tracker

DATA = Path(__file__).parent.parent / "data"
BEAST = DATA / "traffic_sample_dump1090.beast"
T0 = 1_720_000_000.0
ICAO = 0x4CA2D1
LAT, LON = 48.5, 2.3


# --- the real capture ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def beast() -> tuple[MessageBatch, Snapshot]:
    fb, _, _ = parse_beast(BEAST.read_bytes())
    ts = fb.ts_12mhz.astype(np.float64)
    assert np.isnan(fb.t_rx).all() and (np.diff(ts) >= 0).all()
    fb.t_rx = T0 + (ts - ts[0]) / 12e6  # the receiver's 12 MHz clock as reception time
    batch = decode_frames(fb)
    tracker = Tracker(use_airports=False)
    tracker.update(batch)
    return batch, tracker.snapshot()


def _accepted(batch: MessageBatch, icao: int) -> np.ndarray:
    """Rows of ``icao`` the tracker takes, in time order: parity-checked ones, and
    address/parity replies once a parity-checked message confirmed the address."""
    c = batch.columns
    mine = c["icao24"] == icao
    ok = c["crc_ok"] & mine
    if not ok.any():
        return np.zeros(0, np.int64)
    first = c["t"][ok].min()
    rows = np.flatnonzero(mine & (c["crc_ok"] | (c["t"] >= first)))
    return rows[np.argsort(c["t"][rows], kind="stable")]


def _last(batch: MessageBatch, rows: np.ndarray, col: str,
          where: np.ndarray | None = None) -> tuple[float, float]:
    """The last value of ``col`` among ``rows`` (and its time); NaN/-1, NaN when none."""
    v = batch.columns[col][rows]
    has = ~np.isnan(v) if v.dtype.kind == "f" else v >= 0
    if where is not None:
        has &= where[rows]
    if not has.any():
        return (math.nan if v.dtype.kind == "f" else -1), math.nan
    i = np.flatnonzero(has)[-1]
    return float(v[i]), float(batch.columns["t"][rows][i])


def _readsb_rssi(dbfs: np.ndarray) -> float:
    """readsb getSignal(): 8 levels → 10·log10(mean + 1.125e-5); 4-7 → their sum over 8;
    fewer: none."""
    p = 10.0 ** (dbfs.astype(np.float64) / 10.0)
    if p.size >= 8:
        return 10 * math.log10(p[-8:].sum() / 8 + 1.125e-5)
    if p.size >= 4:
        return 10 * math.log10(p.sum() / 8 + 1.125e-5)
    return math.nan


def _eq(a: float, b: float, tol: float = 1e-6) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tol


QUALITY = ("nacp", "nacv", "sil", "version", "sil_supplement", "nic_baro", "gva", "sda")


def test_each_field_is_the_last_value_received(beast: tuple[MessageBatch, Snapshot]) -> None:
    batch, snap = beast
    s = snap.columns
    c = batch.columns
    checked: dict[str, int] = {}
    for i, icao in enumerate(s["icao24"].tolist()):
        if icao >> 24:
            continue
        rows = _accepted(batch, icao)
        if rows.size == 0:
            continue
        fms = c["selected_altitude_source"] == 1
        geom_rate = c["vrate_source"] >= 1
        expect = {
            "nic_baro": _last(batch, rows, "nic_baro"),
            "gva": _last(batch, rows, "gva"),
            "sda": _last(batch, rows, "sda"),
            "sil_supplement": _last(batch, rows, "sil_supplement"),
            "alert": _last(batch, rows, "alert"),
            "spi": _last(batch, rows, "spi"),
            "track_rate_deg_s": _last(batch, rows, "track_rate_deg_s"),
            "nav_heading_deg": _last(batch, rows, "selected_heading_deg"),
            "nav_altitude_fms_ft": _last(batch, rows, "selected_altitude_ft", fms),
            "selected_altitude_ft": _last(batch, rows, "selected_altitude_ft", ~fms),
            "geom_rate_fpm": _last(batch, rows, "vrate_fpm", geom_rate),
            "baro_rate_fpm": _last(batch, rows, "vrate_fpm", ~geom_rate),
        }
        clocks = {"track_rate_deg_s": "t_track_rate", "geom_rate_fpm": "t_geom_rate",
                  "baro_rate_fpm": "t_baro_rate", "alert": "t_status"}
        for col, (value, when) in expect.items():
            assert _eq(float(s[col][i]), value, 1e-3), (hex(icao), col, s[col][i], value)
            if col in clocks:
                assert _eq(float(s[clocks[col]][i]), when), (hex(icao), col)
            if not math.isnan(when):
                checked[col] = checked.get(col, 0) + 1
        t_quality = max((_last(batch, rows, q)[1] for q in QUALITY), default=math.nan,
                        key=lambda x: -math.inf if math.isnan(x) else x)
        assert _eq(float(s["t_quality"][i]), t_quality), hex(icao)
        rssi = _readsb_rssi(batch.frames.signal_dbfs[rows])
        assert _eq(float(s["rssi_dbfs"][i]), rssi, 1e-4), (hex(icao), s["rssi_dbfs"][i], rssi)
        if not math.isnan(rssi):
            checked["rssi"] = checked.get("rssi", 0) + 1
    # the capture really exercises each field
    for col in ("nic_baro", "gva", "sda", "sil_supplement", "alert", "spi", "track_rate_deg_s",
                "nav_heading_deg", "selected_altitude_ft", "baro_rate_fpm", "rssi"):
        assert checked.get(col, 0) >= 1, (col, checked)


def test_aircraft_json_and_v2_carry_the_fields(beast: tuple[MessageBatch, Snapshot]) -> None:
    _, snap = beast
    state = LiveState(receiver=ReceiverInfo())
    state.publish(snap)
    with TestClient(create_app(state)) as client:
        doc = client.get("/data/aircraft.json").json()
        v2 = client.get("/re-api/?all&jv2")
    _valid(v2.content)  # adsb.lol's model (tests/unit/test_clients_v2.py)
    by_hex = {a["hex"]: a for a in doc["aircraft"]}
    s = snap.columns
    seen: set[str] = set()
    for i, icao in enumerate(s["icao24"].tolist()):
        a = by_hex.get(f"{icao:06x}")
        if a is None:
            continue
        # tar1090 shows "n/a" for readsb's no-signal -49.5, else the level
        rssi = float(s["rssi_dbfs"][i])
        assert a["rssi"] == (-49.5 if math.isnan(rssi) else round(rssi, 1))
        for col, key in (("nic_baro", "nic_baro"), ("gva", "gva"), ("sda", "sda"),
                         ("alert", "alert"), ("spi", "spi")):
            if s[col][i] >= 0:
                assert a[key] == int(s[col][i]), (key, a)
                seen.add(key)
            else:
                assert key not in a
        if s["sil_supplement"][i] >= 0:
            assert a["sil_type"] == ("persample" if s["sil_supplement"][i] else "perhour")
            seen.add("sil_type")
        if not math.isnan(s["track_rate_deg_s"][i]):
            assert a["track_rate"] == round(float(s["track_rate_deg_s"][i]), 2)
            seen.add("track_rate")
        if not math.isnan(s["nav_heading_deg"][i]):
            assert a["nav_heading"] == round(float(s["nav_heading_deg"][i]), 2)
            seen.add("nav_heading")
        if rssi > -49.5:
            seen.add("rssi")
    assert {"rssi", "nic_baro", "sil_type", "gva", "sda", "alert", "spi", "track_rate",
            "nav_heading"} <= seen, seen


# --- derived values from exact messages -------------------------------------------------------

def _frames(parts: list[tuple[float, Any]], signal: float = math.nan) -> FrameBatch:
    f = encode.Frames.concat([p for _, p in parts])
    t = np.concatenate([np.full(len(p.nbytes), when) for when, p in parts])
    return FrameBatch.from_matrix(f.raw, f.nbytes, t_rx=t,
                                  signal_dbfs=np.full(t.shape[0], signal))


def _positions(t: float, alt_ft: float = 30000.0) -> list[tuple[float, Any]]:
    return [(t, encode.airborne_position(ICAO, LAT, LON, alt_ft, 0)),
            (t + 0.5, encode.airborne_position(ICAO, LAT, LON + 0.001, alt_ft, 1))]


def _track(parts: list[tuple[float, Any]]) -> tuple[Snapshot, MessageBatch]:
    batch = decode_frames(_frames(parts))
    tracker = Tracker(use_airports=False)
    tracker.update(batch)
    return tracker.snapshot(), batch


def test_alt_geom_from_the_gnss_difference() -> None:
    snap, _ = _track([*_positions(T0), (T0 + 1.0, encode.velocity_ground(
        ICAO, 450.0, 90.0, 1024.0, vrate_source=1, gnss_baro_diff_ft=300.0))])
    c = snap.columns
    assert c["altitude_ft"][0] == 30000.0 and c["altitude_geom_ft"][0] == 30300.0
    assert c["t_geom"][0] == T0 + 0.5  # the older of the two inputs
    assert c["geom_rate_fpm"][0] == 1024.0 and math.isnan(c["baro_rate_fpm"][0])
    assert math.isnan(c["calc_track_deg"][0])  # one position: no move yet
    # a baro altitude 35 s later: the difference is too old to derive from
    snap, _ = _track([*_positions(T0), (T0 + 1.0, encode.velocity_ground(
        ICAO, 450.0, 90.0, gnss_baro_diff_ft=300.0)), *_positions(T0 + 36.0, 31000.0)])
    assert snap.columns["altitude_geom_ft"][0] == 30300.0
    assert snap.columns["t_geom"][0] == T0 + 0.5
    # calc_track: the bearing of the last move between the accepted (CPR-decoded) positions
    tracker = Tracker(use_airports=False)
    pos = tracker.update(decode_frames(_frames([*_positions(T0), *_positions(T0 + 5.0)])))
    (lat1, lat2), (lon1, lon2) = pos["lat"][-2:], pos["lon"][-2:]
    flat = math.degrees(math.atan2((lon2 - lon1) * math.cos(math.radians(lat1)), lat2 - lat1))
    assert abs(flat - 90.0) < 5.0  # eastwards
    assert tracker.snapshot().columns["calc_track_deg"][0] == pytest.approx(flat % 360, abs=1e-3)


def _wind_parts(hrd: int) -> list[tuple[float, Any]]:
    return [(T0 - 1.0, encode.operational_status(ICAO, hrd=hrd, nic_baro=1, gva=2, sda=3,
                                                 sil=3, sil_supplement=1)),
            *_positions(T0),
            (T0 + 1.0, encode.velocity_ground(ICAO, 450.0, 90.0)),
            (T0 + 1.5, encode.velocity_air(ICAO, 80.0, 470.0, tas=True))]


def _wind_from(gs: float, trk: float, tas: float, hdg: float) -> tuple[float, float]:
    """Wind (from, speed) = ground vector − air vector; readsb writes where it blows from."""
    ge, gn = gs * math.sin(math.radians(trk)), gs * math.cos(math.radians(trk))
    ae, an = tas * math.sin(math.radians(hdg)), tas * math.cos(math.radians(hdg))
    we, wn = ge - ae, gn - an
    return (math.degrees(math.atan2(we, wn)) + 180.0) % 360.0, math.hypot(we, wn)


def _last_value(batch: MessageBatch, col: str) -> float:
    v = batch.columns[col]
    return float(v[~np.isnan(v)][-1])


def test_true_heading_and_wind_from_a_true_heading() -> None:
    snap, batch = _track(_wind_parts(hrd=0))
    c = snap.columns
    hdg = _last_value(batch, "heading_deg")
    tas = _last_value(batch, "tas_kt")
    assert c["true_heading_deg"][0] == pytest.approx(hdg) and math.isnan(c["heading_deg"][0])
    assert c["t_true_heading"][0] == T0 + 1.5
    frm, speed = _wind_from(450.0, 90.0, tas, hdg)
    assert c["wind_speed_kt"][0] == pytest.approx(speed, abs=1e-6)
    assert c["wind_dir_deg"][0] == pytest.approx(frm, abs=1e-6)
    assert c["t_wind"][0] == T0 + 1.5
    assert (c["nic_baro"][0], c["gva"][0], c["sda"][0], c["sil_supplement"][0]) == (1, 2, 3, 1)
    assert c["t_quality"][0] == T0 + 1.5  # NACv comes with every velocity message


def test_a_magnetic_heading_turns_true_with_the_declination() -> None:
    snap, batch = _track(_wind_parts(hrd=1))
    c = snap.columns
    mag = _last_value(batch, "heading_deg")
    tas = _last_value(batch, "tas_kt")
    assert c["heading_deg"][0] == pytest.approx(mag)
    decl = declination_at(float(c["lat"][0]), float(c["lon"][0]), 30000 * 0.0003048, T0 + 1.5)
    assert 0.5 < decl < 3.0  # east of Paris in 2024
    assert c["true_heading_deg"][0] == pytest.approx((mag + decl) % 360.0, abs=1e-9)
    frm, speed = _wind_from(450.0, 90.0, tas, mag + decl)
    assert c["wind_speed_kt"][0] == pytest.approx(speed, abs=1e-6)
    assert c["wind_dir_deg"][0] == pytest.approx(frm, abs=1e-6)
    # a magnetic heading 60° off the track: no true heading (readsb's 45° crab limit)
    parts = _wind_parts(hrd=1)
    parts[-1] = (T0 + 1.5, encode.velocity_air(ICAO, 150.0, 470.0, tas=True))
    snap, _ = _track(parts)
    assert math.isnan(snap.columns["true_heading_deg"][0])


#: WMM2025 declinations by pygeomag 1.1.0 (an independent port of NOAA's model):
#: (lat, lon, height km, decimal year) → degrees east
WMM_REFERENCE = [
    ((48.5, 2.3, 0.01, 2026.9), 2.099060791531515),
    ((40.64, -73.78, 0.0, 2025.5), -12.603405005360315),
    ((-33.95, 151.18, 11.0, 2027.25), 12.848133970376239),
    ((64.13, -21.94, 3.0, 2029.9), -10.110372977691098),
    ((-54.8, -68.3, 0.5, 2026.0), 11.698107660897092),
]


def test_declination_is_the_world_magnetic_model() -> None:
    for (lat, lon, h, year), expect in WMM_REFERENCE:
        assert declination_deg(lat, lon, h, year) == pytest.approx(expect, abs=1e-6)
    pygeomag = pytest.importorskip("pygeomag", reason="pygeomag compares many more points")
    model = pygeomag.GeoMag(coefficients_file="wmm/WMM_2025.COF")
    rng = np.random.default_rng(15)
    for lat, lon, h, year in zip(rng.uniform(-89, 89, 200), rng.uniform(-180, 180, 200),
                                 rng.uniform(0, 15, 200), rng.uniform(2025, 2030, 200),
                                 strict=True):
        theirs = model.calculate(glat=lat, glon=lon, alt=h, time=year).d
        assert declination_deg(lat, lon, h, year) == pytest.approx(theirs, abs=1e-6)


def test_temperatures_from_tas_and_mach() -> None:
    def parts(mach: float) -> list[tuple[float, Any]]:
        return [*_positions(T0, 36000.0),
                (T0 + 1.0, encode.commb_altitude_reply(ICAO, 36000.0, mb_bds50(
                    roll_deg=2.0, track_deg=91.0, gs_kt=480.0, track_rate_deg_s=0.25,
                    tas_kt=460.0))),
                (T0 + 2.0, encode.commb_altitude_reply(ICAO, 36000.0, mb_bds60(
                    heading_deg=93.0, ias_kt=260.0, mach=mach, baro_vrate_fpm=0.0,
                    inertial_vrate_fpm=0.0)))]

    snap, batch = _track(parts(0.78))
    c = snap.columns
    b = batch.columns
    tas = float(b["tas_kt"][~np.isnan(b["tas_kt"])][-1])
    mach = float(b["mach"][~np.isnan(b["mach"])][-1])
    assert abs(mach - 0.78) < 0.005 and tas == 460.0
    oat = (tas / 661.47 / mach) ** 2 * 288.15 - 273.15  # readsb calc_temp
    tat = (oat + 273.15) * (1 + 0.2 * mach * mach) - 273.15
    assert c["oat_c"][0] == pytest.approx(oat) and c["tat_c"][0] == pytest.approx(tat)
    assert c["t_temp"][0] == T0 + 2.0
    assert c["track_rate_deg_s"][0] == 0.25 and c["t_track_rate"][0] == T0 + 1.0
    # Comm-B 6,0 headings are magnetic: true through the declination, then readsb's wind
    mag = _last_value(batch, "heading_deg")
    assert c["heading_deg"][0] == pytest.approx(mag) and abs(mag - 93.0) < 0.1
    true = float(c["true_heading_deg"][0])
    decl = declination_at(float(c["lat"][0]), float(c["lon"][0]), 36000 * 0.0003048, T0 + 2.0)
    assert true == pytest.approx((mag + decl) % 360.0, abs=1e-9)
    frm, speed = _wind_from(_last_value(batch, "gs_kt"), _last_value(batch, "track_deg"),
                            tas, true)
    assert c["wind_speed_kt"][0] == pytest.approx(speed, abs=1e-6)
    assert c["wind_dir_deg"][0] == pytest.approx(frm, abs=1e-6)
    snap, _ = _track(parts(0.3))  # below Mach 0.395: readsb computes none
    assert math.isnan(snap.columns["oat_c"][0])


def test_rssi_is_readsbs_average_and_resets_without_signal() -> None:
    def rssi(levels: list[float], then_silent_after_s: float | None = None) -> float:
        n = len(levels)
        f = encode.Frames.concat([encode.identification(ICAO, "TEST1")] * n)
        t = T0 + np.arange(n, dtype=np.float64)
        fb = FrameBatch.from_matrix(f.raw, f.nbytes, t_rx=t, signal_dbfs=levels)
        tracker = Tracker(use_airports=False)
        tracker.update(decode_frames(fb))
        if then_silent_after_s is not None:
            g = encode.identification(ICAO, "TEST1")
            when = t[-1] + then_silent_after_s
            tracker.update(decode_frames(FrameBatch.from_matrix(g.raw, g.nbytes, t_rx=[when])))
        return float(tracker.snapshot().columns["rssi_dbfs"][0])

    assert math.isnan(rssi([-10.0, -12.0, -14.0]))  # fewer than 4: none
    five = [-10.0, -12.0, -14.0, -16.0, -18.0]
    assert rssi(five) == pytest.approx(_readsb_rssi(np.array(five)))
    ten = [-30.0, -30.0, -10.0, -11.0, -12.0, -13.0, -14.0, -15.0, -16.0, -17.0]
    assert rssi(ten) == pytest.approx(_readsb_rssi(np.array(ten)))  # the last 8 only
    assert rssi(ten, then_silent_after_s=10.0) == pytest.approx(_readsb_rssi(np.array(ten)))
    assert math.isnan(rssi(ten, then_silent_after_s=16.0))  # > 15 s without a level


def test_no_position_yet_is_no_source_not_tisb() -> None:
    snap, _ = _track([(T0, encode.identification(ICAO, "TEST1"))])
    c = snap.columns
    assert c["position_source"][0] == -1 and c["velocity_source"][0] == -1
    assert SOURCE_LABELS[int(c["source"][0])] == "adsb"
    state = LiveState(receiver=ReceiverInfo())
    state.publish(snap)
    with TestClient(create_app(state)) as client:
        a = json.loads(client.get("/data/aircraft.json").content)["aircraft"][0]
    assert a["type"] == "adsb_icao" and a["mlat"] == [] and a["tisb"] == []
    assert "lat" not in a and a["flight"] == "TEST1   "
    assert math.isnan(c["calc_track_deg"][0])
