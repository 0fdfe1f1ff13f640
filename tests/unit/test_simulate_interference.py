"""GNSS jamming and spoofing zones in the simulator (issue 17, item 4).

Four aircraft in a scenario built here each cross one zone: a jamming zone where positions
degrade, one where they are lost, a spoofing zone reporting one point and one reporting a
circle. The feed is decoded with tailwatch's decoder (no noise, so frames and messages line
up) and what the messages carry is checked against the zones and the truth tables.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow.parquet as pq
import pytest

from tailwatch import decode
from tailwatch.core.errors import ConfigError
from tailwatch.decode.batch import MessageBatch
from tailwatch.decode.cpr import airborne_local_batch
from tailwatch.reference.geo import distance_m
from tailwatch.simulate import Simulation, load_scenario, parse_scenario, simulate
from tailwatch.simulate import transmit as tx

T0 = dt.datetime(2024, 3, 12, 8, 0, tzinfo=dt.UTC)
DEGRADED, LOST, POINT, CIRCLE = 0x511F21, 0x511F22, 0x4ACA41, 0x4ACA42
SPOOF_POINT = (59.80, 30.26)
CIRCLE_CENTRE = (57.0, 20.0)


def _at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def _zone(name: str, kind: str, lat: float, lon: float, **kw: Any) -> dict[str, Any]:
    return {"name": name, "kind": kind, "lat": lat, "lon": lon, "radius_nm": 20.0,
            "start": _at(0), "end": _at(10), **kw}  # fmt: skip


def _aircraft(icao: int, lat: float, lon0: float, lon1: float) -> dict[str, Any]:
    """An eastbound overflight at FL300 crossing the zone centred on (lat, middle)."""
    return {"icao24": f"{icao:06x}", "callsign": f"T{icao % 1000:03d}", "type": "A320",
            "legs": [{"from": [lat, lon0], "to": [lat, lon1], "start": _at(-1),
                      "start_altitude_ft": 30000, "cruise_altitude_ft": 30000}]}  # fmt: skip


def _scenario(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "scenario": {"name": "zones", "seed": 3, "windows": [{"start": T0, "end": _at(10)}]},
        "receivers": [
            {"name": "visby", "lat": 57.64, "lon": 18.30, "range_nm": 300},
            {"name": "riga", "lat": 56.95, "lon": 24.11, "range_nm": 300},
            {"name": "tallinn", "lat": 59.44, "lon": 24.75, "range_nm": 300},
        ],
        "aircraft": [
            _aircraft(DEGRADED, 56.0, 19.0, 22.0),
            _aircraft(LOST, 55.5, 21.0, 24.0),
            _aircraft(POINT, 59.6, 22.0, 25.0),
            _aircraft(CIRCLE, 58.2, 18.5, 21.5),
        ],
        "interference": [
            _zone("jam-degraded", "jamming", 56.0, 20.5, nic=2, nacp=[3, 3],
                  lose_positions=0.0, recovery_s=30),
            _zone("jam-lost", "jamming", 55.5, 22.5, lose_positions=1.0),
            _zone("spoof-point", "spoofing", 59.6, 23.5, spoof_lat=SPOOF_POINT[0],
                  spoof_lon=SPOOF_POINT[1], spoof_alt_ft=28000.0),
            _zone("spoof-circle", "spoofing", 58.2, 20.0, spoof_lat=CIRCLE_CENTRE[0],
                  spoof_lon=CIRCLE_CENTRE[1], spoof_radius_nm=6.0),
        ],
    }  # fmt: skip
    data.update(overrides)
    return data


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(parse_scenario(_scenario()))


@pytest.fixture(scope="module")
def batch(sim: Simulation) -> MessageBatch:
    b = decode(sim.frames)
    assert len(b) == len(sim.frames)  # no noise: one message per frame
    return b


def _episode(sim: Simulation, icao: int) -> tuple[float, float]:
    (e,) = [e for e in sim.episodes if e.icao24 == icao]
    return e.start_t, e.end_t


def _rows(sim: Simulation, b: MessageBatch, icao: int, kinds: tuple[int, ...]
          ) -> npt.NDArray[np.intp]:  # fmt: skip
    kind = sim.frame_kind
    return np.flatnonzero((b["icao24"] == icao) & np.isin(kind, kinds))


def _tx_t(sim: Simulation, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
    return np.asarray(sim.schedule["t"][sim.frame_msg[rows]], dtype=np.float64)


def test_zones_are_validated() -> None:
    def zone(**kw: Any) -> dict[str, Any]:
        return _scenario(interference=[{"kind": "jamming", "lat": 56.0, "lon": 20.0,
                                        "radius_nm": 20, "start": T0, "end": _at(5), **kw}])

    with pytest.raises(ConfigError, match="kind must be 'jamming' or 'spoofing'"):
        parse_scenario(zone(kind="meaconing"))
    with pytest.raises(ConfigError, match=r"unknown key.*spoof_lat"):
        parse_scenario(zone(spoof_lat=1.0))
    with pytest.raises(ConfigError, match="missing key 'spoof_lat'"):
        parse_scenario(zone(kind="spoofing"))
    with pytest.raises(ConfigError, match=r"nic: values 0\.\.11"):
        parse_scenario(zone(nic=[5, 12]))
    with pytest.raises(ConfigError, match="end must be after start"):
        parse_scenario(zone(end=T0))
    sc = parse_scenario(zone(nacp=[1, 4]))
    assert (sc.interference[0].nic, sc.interference[0].nacp) == ((0, 0), (1, 4))


def test_each_aircraft_is_affected_by_its_zone_only(sim: Simulation) -> None:
    got = {(e.icao24, e.zone, e.effect) for e in sim.episodes}
    assert got == {(DEGRADED, "jam-degraded", "degraded"), (LOST, "jam-lost", "positions_lost"),
                   (POINT, "spoof-point", "spoofed"), (CIRCLE, "spoof-circle", "spoofed")}
    # inside: about 40 NM of track at 450 kt, 5 minutes; plus 30 s of recovery for one
    for e in sim.episodes:
        assert 240.0 < e.end_t - e.start_t < 400.0


def test_jamming_degrades_nic_and_nacp(sim: Simulation, batch: MessageBatch) -> None:
    a, b = _episode(sim, DEGRADED)
    pos = _rows(sim, batch, DEGRADED, (tx.AIR_POS,))
    t = _tx_t(sim, pos)
    inside = (t >= a) & (t <= b)
    assert inside.sum() > 400 and (~inside).sum() > 200
    assert set(batch["typecode"][pos[inside]].tolist()) == {16}  # NIC 2: type code 16
    assert set(batch["typecode"][pos[~inside]].tolist()) == {11}  # NIC 8
    st = _rows(sim, batch, DEGRADED, (tx.OPSTATUS,))
    ts = _tx_t(sim, st)
    assert set(batch["nacp"][st[(ts >= a) & (ts <= b)]].tolist()) == {3}
    assert set(batch["nacp"][st[(ts < a) | (ts > b)]].tolist()) == {9}
    # the effect outlasts the zone by recovery_s: the last affected message is ~30 s after
    # the aircraft left the circle
    s = sim.schedule
    m = (s["icao24"] == DEGRADED) & (s["t"] <= b)
    d_nm = distance_m(56.0, 20.5, s["lat"][m], s["lon"][m]) / 1852.0
    left = float(s["t"][m][d_nm <= 20.0].max())
    assert 29.0 < b - left <= 30.5


def test_jamming_can_take_positions_away(sim: Simulation, batch: MessageBatch) -> None:
    a, b = _episode(sim, LOST)
    pos = _rows(sim, batch, LOST, (tx.AIR_POS,))
    t = _tx_t(sim, pos)
    inside = (t >= a) & (t <= b)
    assert inside.sum() > 400
    assert set(batch["typecode"][pos[inside]].tolist()) == {0}  # TC 0: altitude, no position
    raw = sim.frames.raw[pos[inside]]
    alt_code = ((raw[:, 5].astype(np.int64) << 4) | (raw[:, 6] >> 4))  # ME bits 9-20
    assert np.all(alt_code != 0)  # the barometric altitude is still sent
    truth = sim.truth.positions
    mine = truth["icao24"] == LOST
    assert not ((truth["t"][mine] >= a) & (truth["t"][mine] <= b)).any()
    assert ((truth["t"][mine] < a) | (truth["t"][mine] > b)).sum() > 200


def _reported(sim: Simulation, batch: MessageBatch, rows: npt.NDArray[np.intp],
              ref: tuple[float, float]) -> tuple[npt.NDArray[np.float64], ...]:  # fmt: skip
    n = rows.size
    lat, lon = airborne_local_batch(batch["cpr_lat"][rows], batch["cpr_lon"][rows],
                                    batch["cpr_odd"][rows], np.full(n, ref[0]),
                                    np.full(n, ref[1]))  # fmt: skip
    return lat, lon


def test_spoofing_reports_the_spoofed_point_and_true_velocities(
    sim: Simulation, batch: MessageBatch
) -> None:
    a, b = _episode(sim, POINT)
    pos = _rows(sim, batch, POINT, (tx.AIR_POS,))
    t = _tx_t(sim, pos)
    inside = (t >= a) & (t <= b)
    lat, lon = _reported(sim, batch, pos[inside], SPOOF_POINT)
    assert inside.sum() > 400
    assert np.abs(distance_m(SPOOF_POINT[0], SPOOF_POINT[1], lat, lon)).max() < 10.0
    # outside the zone the true position is sent (decoded against the true one)
    s = sim.schedule
    msg = sim.frame_msg[pos[~inside]]
    lat, lon = airborne_local_batch(batch["cpr_lat"][pos[~inside]], batch["cpr_lon"][pos[~inside]],
                                    batch["cpr_odd"][pos[~inside]], s["lat"][msg], s["lon"][msg])
    assert np.abs(distance_m(s["lat"][msg], s["lon"][msg], lat, lon)).max() < 10.0
    # velocity messages stay true inside the zone: eastbound at the true ground speed
    vel = _rows(sim, batch, POINT, (tx.VELOCITY,))
    tv = _tx_t(sim, vel)
    v_in = vel[(tv >= a) & (tv <= b)]
    assert v_in.size > 400
    assert np.allclose(batch["gs_kt"][v_in], s["gs_kt"][sim.frame_msg[v_in]], atol=1.0)
    assert np.all(np.abs(batch["track_deg"][v_in] - 90.0) < 5.0)


def test_circle_spoofing_moves_along_the_circle(sim: Simulation, batch: MessageBatch) -> None:
    a, b = _episode(sim, CIRCLE)
    pos = _rows(sim, batch, CIRCLE, (tx.AIR_POS,))
    t = _tx_t(sim, pos)
    rows = pos[(t >= a) & (t <= b)]
    lat, lon = _reported(sim, batch, rows, CIRCLE_CENTRE)
    r_nm = distance_m(CIRCLE_CENTRE[0], CIRCLE_CENTRE[1], lat, lon) / 1852.0
    assert np.abs(r_nm - 6.0).max() < 0.02
    # it moves at the aircraft's ground speed: ~450 kt for ~5 min is ~1.7 turns of 37.7 NM
    step_nm = distance_m(lat[:-1], lon[:-1], lat[1:], lon[1:]) / 1852.0
    dt_h = np.diff(_tx_t(sim, rows)) / 3600.0
    speed = step_nm.sum() / dt_h.sum()
    gs = float(np.median(sim.schedule["gs_kt"][sim.frame_msg[rows]]))
    assert abs(speed - gs) < 0.03 * gs


def test_truth_tables(sim: Simulation, tmp_path: Path) -> None:
    written = {p.name for p in sim.truth.write(tmp_path)}
    assert "interference.parquet" in written
    rows = pq.read_table(tmp_path / "interference.parquet").to_pylist()
    assert {(r["icao24"], r["effect"]) for r in rows} == {
        ("511f21", "degraded"), ("511f22", "positions_lost"), ("4aca41", "spoofed"),
        ("4aca42", "spoofed")}  # fmt: skip
    point = next(r for r in rows if r["icao24"] == "4aca41")
    assert (point["reported_lat"], point["reported_lon"]) == SPOOF_POINT
    assert abs(point["lat"] - 59.6) < 0.05  # true position at the start
    lost = next(r for r in rows if r["effect"] == "positions_lost")
    assert lost["nic"] == -1 and lost["nacp"] == 0
    ev = sim.truth.events
    gnss = {(int(i), str(k)) for i, k in zip(ev["icao24"], ev["type"], strict=True)
            if str(k).startswith("gnss_")}  # fmt: skip
    assert gnss == {(DEGRADED, "gnss_jamming"), (LOST, "gnss_jamming"),
                    (POINT, "gnss_spoofing"), (CIRCLE, "gnss_spoofing")}
    pos = sim.truth.positions
    spoofed = (pos["icao24"] == POINT) & (pos["reported_lat"] == SPOOF_POINT[0])
    assert spoofed.sum() > 400 and np.all(pos["lat"][spoofed] != SPOOF_POINT[0])
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["interference"]["jam-lost"]["by_effect"] == {"positions_lost": 1}


def test_overlapping_zones_first_wins() -> None:
    sc = _scenario()
    zones = sc["interference"]
    over = dict(zones[2], name="spoof-over-jam", lat=56.0, lon=20.5)
    sim = simulate(parse_scenario({**sc, "interference": [zones[0], over]}),
                   aircraft={DEGRADED})  # fmt: skip
    assert {e.zone for e in sim.episodes} == {"jam-degraded"}
    sim = simulate(parse_scenario({**sc, "interference": [over, zones[0]]}),
                   aircraft={DEGRADED})  # fmt: skip
    zones_hit = {e.zone for e in sim.episodes}
    assert "spoof-over-jam" in zones_hit


def test_builtin_baltic_scenario_has_every_effect() -> None:
    sc = load_scenario("baltic_gnss")
    assert [z.kind for z in sc.interference] == ["jamming", "spoofing", "spoofing"]
    sim = simulate(sc, traffic=False)  # the two declared aircraft only: fast
    effects = {(e.icao24, e.zone) for e in sim.episodes}
    assert (0x511F21, "gulf-of-finland-spoofing") in effects
    assert (0x4ACA41, "central-baltic-circle-spoofing") in effects


def test_gnss_height_in_velocity_messages(sim: Simulation, batch: MessageBatch) -> None:
    """With zones, velocities state GNSS − baro: constant outside, none when jammed, the
    spoofed height's difference when spoofed with spoof_alt_ft."""
    for icao, inside_value in ((DEGRADED, None), (POINT, 28000.0 - 30000.0), (CIRCLE, "same")):
        a, b = _episode(sim, icao)
        vel = _rows(sim, batch, icao, (tx.VELOCITY,))
        t = _tx_t(sim, vel)
        inside = (t >= a) & (t <= b)
        diff = batch["gnss_baro_diff_ft"][vel]
        outside = np.unique(diff[~inside])
        assert outside.size == 1 and np.isfinite(outside[0]) and abs(outside[0]) <= 200.0
        if inside_value is None:
            assert np.isnan(diff[inside]).all()
        elif inside_value == "same":
            assert np.all(diff[inside] == outside[0])
        else:
            assert np.allclose(diff[inside], inside_value, atol=13.0)
