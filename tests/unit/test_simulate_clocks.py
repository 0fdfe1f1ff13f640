"""Receiver clocks, exact path delays and Mode S-only aircraft in the simulator (issue 18).

A small scenario (four receivers, three aircraft, three minutes) built in the test: every
clock model is checked against its definition with an independent computation of the slant
ranges, and the feed is run through the ingest's multi-receiver path (Dedup, Beast + side
file + replay) to show that what multilateration needs arrives there.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from tailwatch.core.errors import ConfigError
from tailwatch.ingest.dedup import Dedup
from tailwatch.ingest.net import Receivers
from tailwatch.ingest.replay import file_batches
from tailwatch.reference.geo import distance_m
from tailwatch.simulate import (
    FeedWriter,
    Simulation,
    load_scenario,
    parse_scenario,
    simulate,
    write_sidecar,
)
from tailwatch.simulate import transmit as tx
from tailwatch.simulate.clocks import ecef_m
from tailwatch.simulate.feed import all_aircraft

T0 = dt.datetime(2023, 5, 10, 10, 0, tzinfo=dt.UTC)
RESET_AT = T0 + dt.timedelta(seconds=100)
MODES_ONLY, NO_POSITIONS, NORMAL = 0x480C1F, 0x484B11, 0x4840A0
C = 299_792_458.0


def _scenario(**overrides: Any) -> dict[str, Any]:
    def leg(a: list[float], b: list[float], alt: float, start_s: float) -> dict[str, Any]:
        return {"from": a, "to": b, "start": T0 + dt.timedelta(seconds=start_s),
                "start_altitude_ft": alt, "cruise_altitude_ft": alt}  # fmt: skip

    data: dict[str, Any] = {
        "scenario": {"name": "clocks", "seed": 5,
                     "windows": [{"start": T0, "end": T0 + dt.timedelta(minutes=3)}]},
        "receivers": [
            {"name": "gps", "lat": 52.37, "lon": 4.90, "clock": "gps"},
            {"name": "gps2", "lat": 51.92, "lon": 4.48, "clock": "gps", "alt_m": 350.0},
            {"name": "free", "lat": 51.44, "lon": 5.47, "clock": "free",
             "clock_offset_s": 5000.25, "clock_drift_ppm": 12.0, "clock_jitter_ns": 80.0},
            {"name": "reset", "lat": 52.51, "lon": 6.09, "clock": "free",
             "clock_offset_s": 77.0, "clock_drift_ppm": -3.0,
             "clock_resets": [{"at": RESET_AT, "to_s": 0.0}]},
        ],
        "aircraft": [
            {"icao24": f"{MODES_ONLY:06x}", "callsign": "NAF01", "type": "C130", "adsb": False,
             "legs": [leg([53.3, 4.2], [51.2, 6.2], 20000, -60)]},
            {"icao24": f"{NO_POSITIONS:06x}", "callsign": "KLM77X", "type": "B738",
             "adsb_positions": False, "legs": [leg([52.9, 3.6], [51.3, 6.0], 33000, -30)]},
            {"icao24": f"{NORMAL:06x}", "callsign": "KLM12", "type": "A320",
             "legs": [leg([51.6, 3.9], [52.3, 5.8], 3000, -10)]},
        ],
    }  # fmt: skip
    data.update(overrides)
    return data


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(parse_scenario(_scenario()))


def _slant_m(sim: Simulation, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
    """Independent slant ranges of frames ``rows`` (spherical-to-ECEF by hand, WGS84)."""
    s = sim.schedule
    msg = sim.frame_msg[rows]
    a, f = 6378137.0, 1 / 298.257223563
    e2 = f * (2 - f)

    def xyz(lat: Any, lon: Any, h: Any) -> npt.NDArray[np.float64]:
        la, lo = np.radians(lat), np.radians(lon)
        n = a / np.sqrt(1 - e2 * np.sin(la) ** 2)
        return np.stack([(n + h) * np.cos(la) * np.cos(lo), (n + h) * np.cos(la) * np.sin(lo),
                         (n * (1 - e2) + h) * np.sin(la)])  # fmt: skip

    p = xyz(s["lat"][msg], s["lon"][msg], s["alt_ft"][msg] * 0.3048)
    rx = {r.uid: r.spec for r in sim.receivers}
    uid = sim.frames.receiver[rows]
    alt = {u: sp.alt_m if sp.alt_m is not None else sp.height_ft * 0.3048
           for u, sp in rx.items()}  # fmt: skip
    q = np.stack([xyz(rx[u].lat, rx[u].lon, alt[u]) for u in uid.tolist()], axis=1)
    return np.asarray(np.linalg.norm(p - q, axis=0), dtype=np.float64)


def _rows(sim: Simulation, name: str) -> npt.NDArray[np.intp]:
    uid = next(r.uid for r in sim.receivers if r.name == name)
    return np.flatnonzero((sim.frames.receiver == uid) & (sim.frame_msg >= 0))


def _rel(sim: Simulation, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
    """True arrival times since day0, from the transmission time and the independent range."""
    t_tx = sim.schedule["t"][sim.frame_msg[rows]]
    return np.asarray((t_tx - sim.day0) + _slant_m(sim, rows) / C, dtype=np.float64)


def test_clock_keys_are_validated() -> None:
    def receiver(**kw: Any) -> dict[str, Any]:
        return _scenario(receivers=[{"name": "r", "lat": 52.0, "lon": 5.0, **kw}])

    with pytest.raises(ConfigError, match="clock must be one of"):
        parse_scenario(receiver(clock="rubidium"))
    with pytest.raises(ConfigError, match="do not apply to clock = 'utc'"):
        parse_scenario(receiver(clock_drift_ppm=3.0))
    with pytest.raises(ConfigError, match="do not apply to clock = 'gps'"):
        parse_scenario(receiver(clock="gps", clock_offset_s=3.0))
    with pytest.raises(ConfigError, match="clock_resets\\[0\\]: missing key 'at'"):
        parse_scenario(receiver(clock="free", clock_resets=[{"to_s": 1.0}]))
    sc = parse_scenario(receiver(clock="free", clock_offset_s=1.5, clock_drift_ppm=-2.0))
    assert (sc.receivers[0].clock, sc.receivers[0].clock_drift_ppm) == ("free", -2.0)


def test_ecef_reference_points() -> None:
    x, y, z = ecef_m(0.0, 0.0, 0.0)
    assert (float(x), float(y), float(z)) == (6378137.0, 0.0, 0.0)
    x, y, z = ecef_m(90.0, 0.0, 100.0)
    assert abs(float(z) - (6356752.314245 + 100.0)) < 1e-3 and abs(float(x)) < 1e-6


def test_gps_counters_are_the_exact_arrival_times(sim: Simulation) -> None:
    for name in ("gps", "gps2"):
        rows = _rows(sim, name)
        assert rows.size > 1000
        expected = np.floor(_rel(sim, rows) * 12e6).astype(np.int64)
        diff = sim.frames.ts_12mhz[rows].astype(np.int64) - expected
        # only float rounding at a tick boundary may move a stamp by one tick
        assert np.abs(diff).max() <= 1 and (diff == 0).mean() > 0.999
    # the path delay recorded per frame is the slant range (not the ground distance)
    rows = _rows(sim, "gps2")
    assert np.allclose(sim.frame_delay_s[rows], _slant_m(sim, rows) / C, rtol=0, atol=1e-12)


def test_time_differences_between_gps_receivers(sim: Simulation) -> None:
    """What multilateration measures: the same transmission at two receivers."""
    a, b = _rows(sim, "gps"), _rows(sim, "gps2")
    common, ia, ib = np.intersect1d(sim.frame_msg[a], sim.frame_msg[b], return_indices=True)
    assert common.size > 500
    ra, rb = a[ia], b[ib]
    tdoa = (sim.frames.ts_12mhz[ra].astype(np.float64)
            - sim.frames.ts_12mhz[rb].astype(np.float64)) / 12e6  # fmt: skip
    expected = (_slant_m(sim, ra) - _slant_m(sim, rb)) / C
    assert np.abs(tdoa - expected).max() <= 1.0 / 12e6 + 1e-12  # one tick: 83 ns, 25 m


def test_free_clock_offset_drift_and_jitter(sim: Simulation) -> None:
    rows = _rows(sim, "free")
    rel = _rel(sim, rows)
    counter = sim.frames.ts_12mhz[rows].astype(np.float64) / 12e6
    slope, intercept = np.polyfit(rel - rel.mean(), counter, 1)
    assert abs((slope - 1.0) * 1e6 - 12.0) < 0.05  # drift, ppm
    offset = intercept - rel.mean() * slope
    assert abs(offset - 5000.25) < 1e-6
    resid_ns = (counter - (offset + rel * slope)) * 1e9
    # 80 ns of jitter plus the uniform tick rounding (83 ns / sqrt(12) = 24 ns)
    assert 75.0 < resid_ns.std() < 95.0


def test_counter_reset(sim: Simulation) -> None:
    rows = _rows(sim, "reset")
    rel = _rel(sim, rows)
    counter = sim.frames.ts_12mhz[rows].astype(np.float64) / 12e6
    at = RESET_AT.timestamp() - sim.day0
    before, after = rel < at, rel >= at
    assert before.any() and after.any()
    rate = 1.0 - 3.0e-6
    assert np.abs(counter[before] - (77.0 + rel[before] * rate)).max() < 2 / 12e6
    assert np.abs(counter[after] - (rel[after] - at) * rate).max() < 2 / 12e6
    assert counter[after].max() < 81.0  # restarted from zero, 80 s of window left


def test_mode_s_only_and_no_position_aircraft(sim: Simulation) -> None:
    s = sim.schedule
    kinds = {a: set(np.unique(s["kind"][s["icao24"] == a]).tolist())
             for a in (MODES_ONLY, NO_POSITIONS, NORMAL)}  # fmt: skip
    replies = {tx.ALL_CALL, tx.ALT_REPLY, tx.ID_REPLY, tx.COMMB_ALT, tx.COMMB_ID}
    assert kinds[MODES_ONLY] == replies
    assert kinds[NO_POSITIONS] == replies | {tx.VELOCITY, tx.IDENT, tx.OPSTATUS}
    assert tx.AIR_POS in kinds[NORMAL]
    # DF11 about once a second, a radar sweep (4 replies) about every 4.8 s
    m = s["icao24"] == MODES_ONLY
    span = float(s["t"][m].max() - s["t"][m].min())
    assert 0.9 < (s["kind"][m] == tx.ALL_CALL).sum() / span < 1.1
    assert 0.18 < (s["kind"][m] == tx.ALT_REPLY).sum() / span < 0.24
    # under three radars, three sweeps
    three = simulate(parse_scenario(_scenario(rates={"radars": 3})), aircraft={MODES_ONLY})
    s3 = three.schedule
    assert 0.55 < (s3["kind"] == tx.ALT_REPLY).sum() / span < 0.7
    assert (s3["kind"] == tx.ALL_CALL).sum() == (s["kind"][m] == tx.ALL_CALL).sum()


def test_traffic_mode_s_only_share_leaves_other_flights_unchanged() -> None:
    sc = load_scenario("mlat_benelux")
    base = all_aircraft(sc, sc.seed)
    t = sc.traffic[0]
    assert t.modes_only == 0.1
    plain = replace(sc, traffic=(replace(t, modes_only=0.0),))
    other = all_aircraft(plain, sc.seed)
    assert [a.icao24 for a in base] == [a.icao24 for a in other]
    assert [a.legs for a in base] == [a.legs for a in other]
    n_modes = sum(not a.adsb for a in base[len(sc.aircraft):])
    assert 1 <= n_modes <= 10 and all(a.adsb for a in other[len(sc.aircraft):])


def test_dedup_groups_receptions_with_their_counters(sim: Simulation) -> None:
    """The ingest's multi-receiver path gets, per transmission, each receiver's counter."""
    dd = Dedup(window_s=1.0, max_receivers=8)
    out = [dd.push(sim.frames), dd.flush()]
    n_rx = np.concatenate([b.n_receivers for b in out])
    rxs = np.concatenate([b.receivers for b in out])
    ts = np.concatenate([b.ts_12mhz for b in out])
    raw = np.concatenate([b.frames.raw for b in out])
    df11 = (raw[:, 0] >> 3) == 11
    assert (n_rx[df11] >= 3).mean() > 0.5
    # every (receiver, counter) pair of a group is one of the simulator's frames
    have = set(zip(sim.frames.receiver.tolist(), sim.frames.ts_12mhz.tolist(), strict=True))
    g = np.flatnonzero(df11 & (n_rx >= 3))[:200]
    for i in g.tolist():
        for k in range(int(n_rx[i])):
            assert (int(rxs[i, k]), int(ts[i, k])) in have


def test_beast_file_with_side_file_replays_with_receivers(sim: Simulation,
                                                          tmp_path: Path) -> None:  # fmt: skip
    path = tmp_path / "feed.beast"
    data = FeedWriter(sim, "beast").encode()
    path.write_bytes(data)
    side = write_sidecar(sim, path, nbytes=len(data))
    meta = json.loads(side.read_text())
    assert meta["format"] == "tailwatch-beast-1" and len(meta["receivers"]) == 4
    free = next(r for r in meta["receivers"] if r["name"] == "free")
    assert (free["clock"], free["clock_drift_ppm"], free["alt_m"]) == ("free", 12.0, 30.48)
    receivers = Receivers()
    fbs = list(file_batches(path, receivers=receivers))
    ts = np.concatenate([fb.ts_12mhz for fb in fbs])
    rx = np.concatenate([fb.receiver for fb in fbs])
    assert np.array_equal(ts, sim.frames.ts_12mhz)
    names = {receivers.names[int(u)] for u in np.unique(rx).tolist()}
    assert names == {"gps", "gps2", "free", "reset"}
    uid = next(u for u, n in receivers.names.items() if n == "gps2")
    assert receivers.positions[uid] == (51.92, 4.48)


def test_mlat_truth_tables(sim: Simulation, tmp_path: Path) -> None:
    written = {p.name for p in sim.truth.write(tmp_path)}
    assert {"transmissions.parquet", "receptions.parquet"} <= written
    rec = sim.truth.receptions
    tra = sim.truth.transmissions
    assert rec is not None and tra is not None
    assert rec["msg"].size == int((sim.frame_msg >= 0).sum())
    assert np.array_equal(np.bincount(rec["msg"], minlength=tra["t"].size), tra["receptions"])
    gps = rec["receiver"] == 1  # no jitter: the counter is the exact arrival, floored
    assert np.array_equal(np.floor(rec["arrival_s"][gps] * 12e6).astype(np.uint64),
                          rec["ts_12mhz"][gps])
    recs = json.loads((tmp_path / "receivers.json").read_text())
    reset = next(r for r in recs if r["name"] == "reset")
    assert reset["clock_resets"][0]["t"] == RESET_AT.timestamp()
    assert reset["counter_origin_t"] == sim.day0 and math.isfinite(reset["alt_m"])


def test_utc_clocks_are_unchanged() -> None:
    """Without clock keys, counters and arrival times follow the old definition exactly."""
    sim = simulate(load_scenario("emergency"))
    f = sim.frames
    ticks = np.rint((f.t_rx - sim.day0) * 12e6).astype(np.uint64) & np.uint64(2**48 - 1)
    assert np.array_equal(f.ts_12mhz, ticks)
    rows = np.flatnonzero(sim.frame_msg >= 0)
    s = sim.schedule
    msg = sim.frame_msg[rows]
    for r in sim.receivers:
        mine = f.receiver[rows] == r.uid
        d = distance_m(r.spec.lat, r.spec.lon, s["lat"][msg[mine]], s["lon"][msg[mine]])
        assert np.allclose(f.t_rx[rows[mine]], s["t"][msg[mine]] + d / C, rtol=0, atol=1e-6)
    assert sim.truth.transmissions is None and sim.truth.receptions is None


def test_free_clock_wander_is_a_smooth_frequency_walk() -> None:
    rx = [{"name": "gps", "lat": 52.37, "lon": 4.90, "clock": "gps"},
          {"name": "wander", "lat": 51.44, "lon": 5.47, "clock": "free", "clock_drift_ppm": 5.0,
           "clock_jitter_ns": 50.0, "clock_wander_ppm_per_h": 1.0}]  # fmt: skip
    sim = simulate(parse_scenario(_scenario(receivers=rx)), aircraft={MODES_ONLY, NORMAL})
    rows = _rows(sim, "wander")
    rel = _rel(sim, rows)
    counter = sim.frames.ts_12mhz[rows].astype(np.float64) / 12e6
    x = rel - rel.mean()
    resid = counter - np.polyval(np.polyfit(x, counter, 1), x)
    assert resid.std() > 1e-6  # one straight line does not fit three minutes: it wanders
    # ... but over 10 s it is a straight line plus the jitter: a frequency walk, not noise
    local = []
    for a in np.arange(rel.min(), rel.max() - 10.0, 10.0):
        m = (rel >= a) & (rel < a + 10.0)
        if m.sum() > 50:
            xm = rel[m] - a
            local.append(counter[m] - np.polyval(np.polyfit(xm, counter[m], 1), xm))
    assert 45e-9 < np.concatenate(local).std() < 70e-9
    # the mean rate stays near the drift (1 ppm/h of wander moves it ~0.2 ppm in 3 min)
    slope = np.polyfit(x, counter, 1)[0]
    assert abs((slope - 1.0) * 1e6 - 5.0) < 1.0


def test_generated_mlat_sets() -> None:
    sc = load_scenario("mlat:30x5x1")
    assert (len(sc.aircraft), len(sc.receivers)) == (30, 5)
    assert {r.clock for r in sc.receivers} == {"free"} and sc.rates.radars == 3
    assert 1 <= sum(not a.adsb for a in sc.aircraft) <= 15
    assert load_scenario("mlat:30x5x1") == sc  # drawn from the seed: the same every time
    sim = simulate(sc)
    assert sim.spans == [(sc.windows[0].start, sc.windows[0].end)]
    # every aircraft is airborne, inside the region, and heard by several receivers
    s = sim.schedule
    assert not s["on_ground"].any() and s["alt_ft"].min() >= 2000.0
    assert len(np.unique(s["icao24"])) == 30
    assert sim.counts["frames"] / sim.counts["transmissions"] > 3.0
    with pytest.raises(ConfigError, match="mlat:AIRCRAFTxRECEIVERSxMINUTES"):
        load_scenario("mlat:lots")
