"""GNSS monitor: the quality counter (jamming), spoofing from what a spoofed receiver cannot fake,
and data artefacts kept apart (synthetic zones with known truth, and real trajectories)."""

from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tailwatch.core.schema import EVENT_FIELDS, POSITION_FIELDS, SOURCE_LABELS, empty_columns
from tailwatch.detect import from_traffic_records
from tailwatch.gnss import GnssMonitor, GnssParams, detect_gnss
from tailwatch.gnss import kernel as kn
from tailwatch.gnss.monitor import concat_events
from tailwatch.gnss.synthetic import Zone, flights
from tailwatch.reference.geo import distance_nm

T0 = 1_700_000_000.0
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "trajectories"
ZONES = (
    Zone("jamming", 55.0, 19.0, 60.0),
    Zone("spoofing", 55.0, 23.0, 50.0, spoof_lat=54.0, spoof_lon=25.0),
)


def _details(ev: dict[str, np.ndarray], kind: str) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for i in np.flatnonzero(ev["type"] == kind):
        d = json.loads(ev["details"][i])
        d["t"] = float(ev["t"][i])
        out.setdefault(int(ev["icao24"][i]), []).append(d)
    return out


def _truth(cols: dict[str, np.ndarray], mask: np.ndarray) -> set[int]:
    return {int(x) for x in np.unique(cols["icao24"][mask])}


def _one_aircraft(nic: list[int], nacp: list[int] | None = None, step_s: float = 1.0,
                  source: str = "adsb") -> dict[str, np.ndarray]:
    n = len(nic)
    cols = empty_columns(POSITION_FIELDS, n)
    cols["t"] = T0 + np.arange(n) * step_s
    cols["icao24"] = np.full(n, 0xABCDEF, np.uint32)
    cols["lat"] = 50.0 + np.arange(n) * 450.0 / 3600.0 / 60.0 * step_s
    cols["lon"] = np.full(n, 10.0)
    cols["altitude_ft"] = np.full(n, 35000, np.float32)
    cols["gs_kt"] = (450.0 + (np.arange(n) % 3) * 0.5).astype(np.float32)
    cols["track_deg"] = np.zeros(n, np.float32)
    cols["on_ground"] = np.zeros(n, np.int8)
    cols["nic"] = np.array(nic, np.int8)
    cols["nacp"] = np.array(nacp if nacp is not None else [9] * n, np.int8)
    cols["source"] = np.full(n, SOURCE_LABELS.index(source), np.int8)
    return cols


def test_one_bad_message_is_not_jamming_but_a_run_is() -> None:
    single = [8] * 20 + [0] + [8] * 20
    ev = detect_gnss(_one_aircraft(single))
    assert len(ev["t"]) == 0
    flickering = [8] * 10 + [0, 8] * 15 + [8] * 10  # counter never climbs to 3
    assert len(detect_gnss(_one_aircraft(flickering))["t"]) == 0
    run = [8] * 20 + [3, 2, 0, 1, 0] + [8] * 20
    ev = detect_gnss(_one_aircraft(run))
    jam = _details(ev, "gnss_jamming")[0xABCDEF]
    assert len(jam) == 1
    assert jam[0]["t"] == T0 + 20
    assert jam[0]["until"] == T0 + 24
    assert jam[0]["worst_nic"] == 0
    assert jam[0]["positions_nic0"] == 2


def test_nacp_alone_degrades_and_an_aircraft_never_good_makes_no_event() -> None:
    ev = detect_gnss(_one_aircraft([8] * 40, [9] * 10 + [4] * 20 + [9] * 10))
    jam = _details(ev, "gnss_jamming")[0xABCDEF][0]
    assert jam["worst_nacp"] == 4 and jam["worst_nic"] == 8
    mon = GnssMonitor()
    step = mon.update(_one_aircraft([3] * 30))
    assert (step.flags & kn.FLAG_DEGRADED).sum() == 28  # counted for the hexagons
    assert len(mon.flush()["t"]) == 0
    assert mon.counts["jamming_never_good"] == 1


def test_positions_lost_inside_a_degradation_are_counted() -> None:
    cols = _one_aircraft([8] * 20 + [2] * 40 + [8] * 20)
    drop = np.zeros(80, bool)
    drop[30:40] = True  # ten positions missing in the middle of the degradation
    cols = {k: v[~drop] for k, v in cols.items()}
    jam = _details(detect_gnss(cols), "gnss_jamming")[0xABCDEF][0]
    assert jam["positions_lost"] == 10


def _zone_flights(seed: int = 1) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    return flights(30, T0, 3600, lat0=55.0, lon0=15.0, spread_deg=1.0, zones=ZONES,
                   track_range_deg=(70, 110), seed=seed)


def test_simulated_zones_found_where_they_are_and_nowhere_else() -> None:
    cols, truth = _zone_flights()
    ev = detect_gnss(cols)
    jam = _details(ev, "gnss_jamming")
    spoof = _details(ev, "gnss_spoofing")
    assert set(jam) == _truth(cols, truth["jammed"])
    assert set(spoof) == _truth(cols, truth["spoofed"])
    assert 5 < len(spoof) < 30  # the scenario has both affected and clean aircraft
    for icao, eps in spoof.items():
        m = (cols["icao24"] == icao) & truth["spoofed"]
        assert len(eps) == 1
        d = eps[0]
        assert abs(d["t"] - cols["t"][m].min()) < 3
        assert abs(d["until"] - cols["t"][m].max()) < 3
        assert (d["reported_lat"], d["reported_lon"]) == (54.0, 25.0)
        # the expected position is where the aircraft really was, not the spoofed point
        off = distance_nm(d["expected_lat"], d["expected_lon"], cols["true_lat"][m],
                          cols["true_lon"][m])
        assert off.min() < 2.0
        assert d["offset_nm"] > 50
        assert {"dead_reckoning", "still_while_moving", "same_point"} <= set(d["evidence"])


def test_spoofing_on_a_circle() -> None:
    zone = Zone("spoofing", 55.0, 20.0, 40.0, spoof_lat=56.5, spoof_lon=21.0, circle_nm=8.0)
    cols, truth = flights(10, T0, 2400, lat0=55.0, lon0=16.0, spread_deg=0.5, zones=(zone,),
                          track_range_deg=(80, 100))
    spoof = _details(detect_gnss(cols), "gnss_spoofing")
    assert set(spoof) == _truth(cols, truth["spoofed"])
    assert all("dead_reckoning" in eps[0]["evidence"] for eps in spoof.values())


def test_batches_give_the_same_events_as_the_whole_history() -> None:
    cols, _ = _zone_flights(seed=3)
    whole = detect_gnss(cols)
    mon = GnssMonitor()
    parts = []
    edges = np.searchsorted(cols["t"], T0 + np.arange(0, 3700, 7.0))
    for lo, hi in itertools.pairwise(edges):
        parts.append(mon.update({k: v[lo:hi] for k, v in cols.items()}).events)
    parts.append(mon.flush())
    batched = concat_events(parts)
    for f in EVENT_FIELDS:
        assert list(batched[f.name]) == list(whole[f.name]), f.name


def test_frozen_feed_records_are_artefacts_not_spoofing() -> None:
    cols = _one_aircraft([8] * 600, step_s=5.0, source="opensky")
    cols["gs_kt"] = (450.0 + np.sin(np.arange(600)) * 2).astype(np.float32)
    # the feed freezes: the whole record repeated for five minutes, then resumes
    frozen = slice(100, 160)
    for name in ("lat", "lon", "altitude_ft", "gs_kt", "track_deg"):
        cols[name][frozen] = cols[name][99]
    mon = GnssMonitor()
    ev = concat_events([mon.update(cols).events, mon.flush()])
    assert len(ev["t"]) == 0
    assert mon.artefacts["frozen_records"] == 60


def test_a_stale_position_with_moving_velocity_that_resumes_on_track_is_not_spoofing() -> None:
    cols = _one_aircraft([8] * 400, step_s=5.0, source="import")
    cols["gs_kt"] = (450.0 + np.sin(np.arange(400)) * 2).astype(np.float32)
    cols["lat"][100:110] = cols["lat"][99]  # OpenSky's last_position: 50 s without a new fix
    assert len(detect_gnss(cols)["t"]) == 0


def test_time_going_backwards_is_counted_apart() -> None:
    cols = _one_aircraft([8] * 100)
    mon = GnssMonitor()
    mon.update({k: v[:60] for k, v in cols.items()})
    late = {k: v[40:45] for k, v in cols.items()}
    assert len(mon.update(late).events["t"]) == 0
    assert mon.artefacts["time_glitches"] == 5


def test_mlat_disagreeing_with_adsb_is_evidence() -> None:
    cols = _one_aircraft([8] * 300)
    mlat = {k: v.copy() for k, v in cols.items()}
    mlat["source"][:] = SOURCE_LABELS.index("mlat")
    mlat["t"] += 0.5
    # from t+100 s ADS-B reports positions 20 NM east; MLAT keeps the truth
    cols["lon"][100:200] += 20.0 / 60.0 / np.cos(np.radians(50.0))
    both = {k: np.concatenate([cols[k], mlat[k]]) for k in cols}
    spoof = _details(detect_gnss(both), "gnss_spoofing")[0xABCDEF]
    assert len(spoof) == 1
    assert spoof[0]["evidence"]["mlat_disagrees"]["max_offset_nm"] > 15
    assert abs(spoof[0]["t"] - (T0 + 100)) < 1


def test_positions_beyond_the_radio_horizon() -> None:
    cols = _one_aircraft([8] * 200)
    cols["altitude_ft"][:] = 1000.0  # horizon from 1,000 ft: about 40 NM
    near = GnssMonitor(receivers=[(50.0, 10.0, 100.0)])
    assert len(concat_events([near.update(cols).events, near.flush()])["t"]) == 0
    far = GnssMonitor(receivers=[(45.0, 10.0, 100.0)])  # 300 NM south
    ev = concat_events([far.update(cols).events, far.flush()])
    d = _details(ev, "gnss_spoofing")[0xABCDEF][0]
    assert d["evidence"]["beyond_horizon"]["max_beyond_nm"] > 200


def _traffic(name: str) -> dict[str, np.ndarray]:
    path = SHARED / f"{name}.json.gz"
    if not path.exists():
        pytest.skip(f"{path} is absent (real trajectories live in ../shared/data)")
    with gzip.open(path) as fh:
        return from_traffic_records(json.load(fh))


@pytest.mark.parametrize("name", ["traffic_noisy_ground", "traffic_noisy_landing",
                                  "traffic_noisy_takeoff", "traffic_noisy_time_issue"])
def test_noisy_samples_have_artefacts_but_no_spoofing(name: str) -> None:
    mon = GnssMonitor()
    ev = concat_events([mon.update(_traffic(name)).events, mon.flush()])
    assert "gnss_spoofing" not in set(ev["type"].tolist())


def test_a_day_over_switzerland_is_clean() -> None:
    cols = _traffic("traffic_switzerland_day")
    mon = GnssMonitor()
    ev = concat_events([mon.update(cols).events, mon.flush()])
    assert len(ev["t"]) == 0
    assert mon.artefacts["frozen_records"] > 0  # the file does carry frozen records


def test_thresholds_are_parameters() -> None:
    run = [8] * 20 + [3, 3] + [8] * 20
    assert len(detect_gnss(_one_aircraft(run))["t"]) == 0
    ev = detect_gnss(_one_aircraft(run), GnssParams(counter_enter=2))
    assert list(ev["type"]) == ["gnss_jamming"]


def _snapshot(now: float, t_position: float, messages: int, *, last_seen: float | None = None,
              on_ground: int = 0) -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(now=now, columns={
        "icao24": np.array([0xABCDEF], np.uint32), "last_seen": np.array([last_seen or now]),
        "t_position": np.array([t_position]), "positions": np.array([100]),
        "messages": np.array([messages]), "on_ground": np.array([on_ground], np.int8),
        "lat": np.array([55.0]), "lon": np.array([20.0])})


def test_positions_lost_while_heard_is_jamming() -> None:
    mon = GnssMonitor()
    assert len(mon.observe(_snapshot(T0, T0, 1000))["t"]) == 0
    for dt in range(10, 200, 10):  # heard all along, no new position for three minutes
        assert len(mon.observe(_snapshot(T0 + dt, T0, 1000 + 10 * dt))["t"]) == 0
    ev = mon.observe(_snapshot(T0 + 200, T0 + 199, 3100))  # a position again
    d = _details(ev, "gnss_jamming")[0xABCDEF][0]
    assert d["effect"] == "positions_lost" and d["t"] == T0 and d["until"] == T0 + 190
    assert d["messages_without_position"] == 3100 - 1300


def test_positions_lost_needs_messages_and_time() -> None:
    edge = GnssMonitor()  # at the edge of coverage: a few messages, no position
    for dt in range(10, 200, 10):
        edge.observe(_snapshot(T0 + dt, T0, 1000 + dt // 20))
    assert len(edge.observe(_snapshot(T0 + 200, T0 + 199, 1011))["t"]) == 0
    short = GnssMonitor()  # 40 s without position: not an episode
    for dt in (10, 20, 30, 40):
        short.observe(_snapshot(T0 + dt, T0, 1000 + 10 * dt))
    assert len(short.observe(_snapshot(T0 + 50, T0 + 49, 1500))["t"]) == 0
    ground = GnssMonitor()  # parked: no positions for long is normal
    for dt in range(10, 200, 10):
        ground.observe(_snapshot(T0 + dt, T0, 1000 + 10 * dt, on_ground=1))
    assert len(ground.flush()["t"]) == 0
