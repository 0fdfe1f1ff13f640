"""readsb JSON parity, field by field (readsb json_out.c ``sprintAircraftObject``): readsb's
key names, units and number formats (``%.1f``, ``%.2f``, ``%d``...), ``nic`` and ``rc``
beside every position, ``mlat``/``tisb`` field lists, ``rssi`` always, the optional tracker
columns under readsb's names, and receiver.json."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tailwatch.core.schema import SOURCE_LABELS
from tailwatch.serve import LiveState, ReceiverInfo, create_app
from tailwatch.serve.fields import OPTIONAL_COLUMNS, rc_metres
from tailwatch.serve.state import blank_columns
from tailwatch.track.tracker import Snapshot

NOW = 1_720_250_000.0

#: readsb's printf format per key: decimals (0 = %d / %u)
DECIMALS = {"alt_baro": 0, "alt_geom": 0, "gs": 1, "ias": 0, "tas": 0, "mach": 3,
            "track": 2, "roll": 2, "mag_heading": 2, "baro_rate": 0, "nav_qnh": 1,
            "nav_altitude_mcp": 0, "lat": 6, "lon": 6, "nic": 0, "rc": 0, "seen_pos": 3,
            "r_dst": 3, "r_dir": 1, "version": 0, "nac_p": 0, "nac_v": 0, "sil": 0,
            "messages": 0, "seen": 1, "rssi": 1, "geom_rate": 0, "true_heading": 2,
            "track_rate": 2, "nav_altitude_fms": 0, "nav_heading": 2, "wd": 0, "ws": 0,
            "oat": 0, "tat": 0, "nic_baro": 0, "gva": 0, "sda": 0, "alert": 0, "spi": 0}


def _snapshot(extra: bool) -> Snapshot:
    c = blank_columns(3)
    c["icao24"] = np.array([0x393322, 0x3C6444, 0x1000001], np.uint32)  # the last: non-ICAO
    c["callsign"] = np.array([b"AFR34ZG", b"DLH4", b""], "S8")
    for k in ("last_seen", "t_position", "t_altitude", "t_velocity"):
        c[k] = np.full(3, NOW - 0.44)
    c["first_seen"] = np.full(3, NOW - 900)
    c["lat"], c["lon"] = np.array([48.0208281, 49.1, 47.5]), np.array([2.1064912, 2.2, 1.9])
    c["altitude_ft"] = np.array([22600.0, 3000.0, 1200.0])
    c["altitude_geom_ft"] = np.array([23175.0, np.nan, np.nan])
    c["gs_kt"], c["track_deg"] = np.array([427.96, 180.0, 90.0]), np.array([183.8912, 1, 2])
    c["vrate_fpm"] = np.array([1024.0, -64.0, 0.0])
    c["heading_deg"] = np.array([190.2049, np.nan, np.nan])
    c["ias_kt"], c["tas_kt"] = np.array([340.0, np.nan, np.nan]), np.array([476.0, np.nan, np.nan])
    c["mach"] = np.array([0.7684, np.nan, np.nan])
    c["roll_deg"] = np.array([-1.234, np.nan, np.nan])
    c["selected_altitude_ft"] = np.array([35008.0, np.nan, np.nan])
    c["baro_setting_hpa"] = np.array([1013.6, np.nan, np.nan])
    c["squawk"] = np.array([1000, 7700, -1], np.int16)
    c["on_ground"] = np.zeros(3, np.int8)
    c["category"] = np.array([11, 9, -1], np.int16)  # A3, A1
    c["nic"] = np.array([8, 11, -1], np.int8)
    c["nacp"], c["nacv"] = np.array([9, -1, -1], np.int8), np.array([1, -1, -1], np.int8)
    c["sil"], c["version"] = np.array([3, -1, -1], np.int8), np.array([2, -1, -1], np.int8)
    c["emergency"] = np.array([0, 1, -1], np.int8)
    c["nav_modes"] = np.array([3, -1, -1], np.int16)
    c["messages"] = np.array([15820, 12, 3])
    c["source"] = np.zeros(3, np.int8)
    c["position_source"] = np.array([0, SOURCE_LABELS.index("mlat"),
                                     SOURCE_LABELS.index("tisb")], np.int8)
    c["source"][2] = SOURCE_LABELS.index("tisb")
    if extra:  # what the tracker may add (serve/fields.py OPTIONAL_COLUMNS)
        for col in OPTIONAL_COLUMNS:
            null = col.null
            c[col.column] = (np.array([12.345, null, null]) if np.isnan(null)
                             else np.array([1, -1, -1], np.int8))
        c["sil_supplement"] = np.array([0, -1, -1], np.int8)
        c["rssi_dbfs"] = np.array([-12.34, np.nan, np.nan])
    return Snapshot(NOW, c, {"messages": 15835})


def _objects(extra: bool) -> tuple[list[dict[str, object]], str]:
    st = LiveState(receiver=ReceiverInfo(lat=49.0097, lon=2.5479))
    st.publish(_snapshot(extra))
    body = TestClient(create_app(st)).get("/data/aircraft.json",
                                          headers={"Accept-Encoding": "identity"}).text
    return json.loads(body)["aircraft"], body


@pytest.mark.parametrize("extra", [False, True])
def test_numbers_are_written_as_readsb_writes_them(extra: bool) -> None:
    objs, body = _objects(extra)
    for key, dec in DECIMALS.items():
        for m in re.finditer(rf'"{key}":(-?[0-9.]+)', body):
            text = m.group(1)
            if dec == 0:
                assert "." not in text, (key, text)
            else:
                assert len(text.split(".")[1]) == dec, (key, text)
    a = objs[0]
    assert (a["gs"], a["track"], a["mach"], a["roll"], a["mag_heading"]) == (
        428.0, 183.89, 0.768, -1.23, 190.2)
    assert (a["lat"], a["lon"], a["seen_pos"], a["seen"]) == (48.020828, 2.106491, 0.44, 0.4)
    assert (a["alt_baro"], a["alt_geom"], a["ias"], a["tas"], a["baro_rate"]) == (
        22600, 23175, 340, 476, 1024)
    assert (a["nav_qnh"], a["nav_altitude_mcp"], a["nav_modes"]) == (
        1013.6, 35008, ["autopilot", "vnav"])
    assert (a["squawk"], a["emergency"], a["category"], a["flight"]) == (
        "1000", "none", "A3", "AFR34ZG ")
    assert (a["nic"], a["rc"], a["nac_p"], a["nac_v"], a["sil"], a["version"]) == (
        8, 185, 9, 1, 3, 2)
    assert a["type"] == "adsb_icao" and a["mlat"] == [] and a["tisb"] == []
    assert a["r_dst"] > 0 and 0 <= a["r_dir"] < 360


def test_mlat_tisb_lists_rc_and_rssi() -> None:
    objs, _ = _objects(False)
    mlat, tisb = objs[1], objs[2]
    assert mlat["mlat"] == ["lat", "lon", "nic", "rc"] and mlat["tisb"] == []
    assert (mlat["nic"], mlat["rc"]) == (11, 8)  # 7.5 m written as readsb's integer
    assert tisb["hex"] == "~000001" and tisb["type"] == "tisb_other"
    assert tisb["tisb"] == ["lat", "lon", "nic", "rc"] and (tisb["nic"], tisb["rc"]) == (0, 0)
    # no signal level carried: readsb's "no signal" value
    assert {o["rssi"] for o in objs} == {-49.5}
    assert list(rc_metres([-1, 0, 5, 6, 7, 8, 9, 10, 11])) == [
        0, 0, 1852, 1111, 370, 185, 75, 25, 7.5]


def test_optional_tracker_columns_appear_under_readsb_names() -> None:
    objs, _ = _objects(True)
    a = objs[0]
    for col in OPTIONAL_COLUMNS:
        want = 1 if not np.isnan(col.null) else round(12.345, col.decimals)
        assert a[col.key] == pytest.approx(want), col.key
        assert col.key not in objs[1]
    assert a["sil_type"] == "perhour" and a["rssi"] == -12.3


def test_receiver_json_with_position_only_when_known() -> None:
    with_rx = LiveState(receiver=ReceiverInfo(lat=49.0097, lon=2.5479))
    rx = TestClient(create_app(with_rx)).get("/data/receiver.json").json()
    assert (rx["lat"], rx["lon"]) == (49.0097, 2.5479)
    bare = TestClient(create_app(LiveState())).get("/data/receiver.json").json()
    assert "lat" not in bare and bare["haveTraces"] is False and bare["history"] == 0


def test_readsb_api_takes_what_tar1090_sends() -> None:
    """tar1090 with a readsb API asks ``re-api/?json&box=S,N,W,E&find_hex=<selected>``:
    readsb's one allowed pair of base queries (the box plus the selected aircraft)."""
    st = LiveState()
    st.publish(_snapshot(False))
    c = TestClient(create_app(st))
    got = c.get("/re-api/?json&box=47.9,48.1,2.0,2.2&find_hex=3c6444").json()["aircraft"]
    assert sorted(a["hex"] for a in got) == ["393322", "3c6444"]
    only_box = c.get("/re-api/?json&box=47.9,48.1,2.0,2.2").json()["aircraft"]
    assert [a["hex"] for a in only_box] == ["393322"]
    assert c.get("/re-api/?circle=48,2,10&find_hex=3c6444").status_code == 400
