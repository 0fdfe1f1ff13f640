"""Multilateration parts: geodesy, receiver sites, clock sync, the solve, the filter, and the
whole stage on synthetic receptions (gps and free clocks, a counter reset, 3,000 ft and FL400,
good and bad geometry). The simulator end to end is in test_mlat_pipeline.py."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tailwatch.core.errors import ConfigError
from tailwatch.core.schema import POSITION_FIELDS, SOURCE_LABELS, empty_columns
from tailwatch.ingest.dedup import Dedup
from tailwatch.ingest.net import Receivers
from tailwatch.ingest.outputs import encode_positions_sbs
from tailwatch.ingest.urls import parse_source_url
from tailwatch.mlat import Site, Sites
from tailwatch.mlat import clock as ck
from tailwatch.mlat import solve as sv
from tailwatch.mlat.engine import MlatSettings, nacp_of_error
from tailwatch.mlat.filter import AircraftFilter
from tailwatch.mlat.geodesy import C_M_S, ecef_to_lla_arrays, lla_to_ecef_arrays
from tailwatch.mlat.synthetic import Scenario, SyntheticFeed, generate
from tailwatch.pipeline import Pipeline
from tailwatch.track.tracker import PositionBatch, Tracker

MLAT = SOURCE_LABELS.index("mlat")


def test_geodesy_round_trip_to_a_millimetre() -> None:
    lat = np.array([0.0, 52.37, -33.9, 89.9, 45.0])
    lon = np.array([0.0, 4.9, 151.2, 10.0, -179.9])
    alt = np.array([0.0, 12_000.0, 50.0, 3000.0, -100.0])
    xyz = lla_to_ecef_arrays(lat, lon, alt)
    assert xyz[0] == pytest.approx([6_378_137.0, 0.0, 0.0])
    back = ecef_to_lla_arrays(xyz)
    assert np.abs(back[:, 0] - lat).max() < 1e-8
    assert np.abs(back[:, 1] - lon).max() < 1e-8
    assert np.abs(back[:, 2] - alt).max() < 1e-3


# --- receiver sites ---------------------------------------------------------------------------


def test_sites_from_the_simulator_receivers_file(tmp_path: Path) -> None:
    f = tmp_path / "receivers.json"
    f.write_text(json.dumps([
        {"uid": 1, "id64": "26c98ec3b46b0a4f", "name": "amsterdam", "lat": 52.37, "lon": 4.9,
         "alt_m": 24.4, "height_ft": 80.0, "clock": "gps"},
        {"uid": 2, "id64": "1067936ba29c8a9e", "name": "utrecht", "lat": 52.09, "lon": 5.12,
         "height_ft": 60.0},
    ]))
    sites = Sites.from_file(f)
    assert [s.name for s in sites.sites] == ["amsterdam", "utrecht"]
    assert sites.sites[0].alt_m == 24.4
    assert sites.sites[1].alt_m == pytest.approx(60 * 0.3048)  # height_ft when no alt_m
    # resolved through the run's receivers by 64-bit id, whatever their uint16 ids
    rx = Receivers()
    rx.add("file")
    u_utrecht = rx.add("rec.beast/1067936ba29c8a9e", id64=0x1067936BA29C8A9E)
    bound = Sites(sites.sites, receivers=rx)
    idx = bound.site_index(np.array([1, u_utrecht, 7], np.uint16))
    assert idx[0] == -1 and idx[2] == -1 and idx[1] >= 0
    assert bound.names[idx[1]] == "utrecht"


@pytest.mark.parametrize("text", ["{", "[{\"lat\": 1}]", "[{\"lat\": 95, \"lon\": 1}]",
                                  "{\"receivers\": 3}", "[{\"lat\": 1, \"lon\": 1, "
                                  "\"alt_m\": 99999}]"])
def test_bad_receivers_files_give_a_config_error(tmp_path: Path, text: str) -> None:
    f = tmp_path / "r.json"
    f.write_text(text)
    with pytest.raises(ConfigError):
        Sites.from_file(f)
    with pytest.raises(ConfigError):
        Sites.from_file(tmp_path / "missing.json")


def test_sites_from_source_urls() -> None:
    spec = parse_source_url("beast+tcp://10.0.0.2:30005?lat=52.1&lon=5.1&alt_m=31.5&rx=roof")
    assert spec.alt_m == 31.5
    with pytest.raises(ConfigError):
        parse_source_url("beast+tcp://10.0.0.2:30005?lat=52.1&lon=5.1&alt_m=high")
    plain = parse_source_url("beast+tcp://10.0.0.3:30005?lat=52.0&lon=5.0")
    rx = Receivers()
    rx.add(spec.name, position=spec.position)
    rx.add(plain.name, position=plain.position)
    sites = Sites.for_run(rx, specs=[spec, plain])
    idx = sites.site_index(np.array([1, 2], np.uint16))
    assert (idx >= 0).all()
    by_name = {s.name: s for s in sites.sites}
    assert by_name["roof"].alt_m == 31.5 and by_name["roof"].alt_known
    assert not by_name[plain.name].alt_known


# --- clock sync ---------------------------------------------------------------------------------


def _ticks(t_s: np.ndarray, offset_s: float, drift_ppm: float, rng: np.random.Generator,
           jitter_ns: float = 80.0) -> np.ndarray:
    return np.rint(12e6 * ((t_s + offset_s) * (1 + drift_ppm * 1e-6)
                           + rng.normal(0, jitter_ns * 1e-9, t_s.size))).astype(np.int64)


def _sync_two(n: int, jump_at: int | None = None) -> ck.ClockSync:
    """Two free receivers hearing ``n`` messages 0.5 s apart from known positions."""
    rng = np.random.default_rng(3)
    sites = lla_to_ecef_arrays([52.0, 52.5], [5.0, 5.8], [20.0, 40.0])
    t = np.arange(n) * 0.5
    tx = lla_to_ecef_arrays(52.2 + 0.001 * np.arange(n), 5.3 + np.zeros(n), 10_000.0)
    d = np.sqrt(((tx[:, None, :] - sites[None, :, :]) ** 2).sum(axis=2))
    arr = t[:, None] + d / C_M_S
    c0 = _ticks(arr[:, 0], 100.0, 12.0, rng)
    c1 = _ticks(arr[:, 1], 5000.0, -20.0, rng)
    if jump_at is not None:
        c1[jump_at:] += 6000  # a 0.5 ms jump (lost samples)
    sync = ck.ClockSync(2)
    site = np.array([[0, 1]] * n, np.int32)
    ticks = np.stack([c0, c1], axis=1)
    trx = 1.75e9 + arr
    sync.update(site, ticks, trx, tx, sites)
    return sync


def test_pair_offset_and_drift_are_tracked() -> None:
    sync = _sync_two(200)
    assert sync.synced(1.75e9 + 100)[0, 1]
    drift_ticks_s = sync.pf[0, 1, ck.PF_DRIFT]
    # counter 1 runs at 12 MHz·(1-20e-6), counter 0 at 12 MHz·(1+12e-6): relative −32 ppm
    assert drift_ticks_s / 12e6 * 1e6 == pytest.approx(-32.0, abs=0.5)
    assert math.sqrt(sync.pf[0, 1, ck.PF_P00]) / 12e6 < 60e-9  # known to better than 60 ns
    assert sync.stats()["sync_outliers"] == 0


def test_a_counter_jump_resets_the_pair() -> None:
    sync = _sync_two(200, jump_at=100)
    st = sync.stats()
    assert st["pair_resets"] == 1
    assert st["sync_outliers"] == ck.JUMP_AFTER
    assert sync.synced(1.75e9 + 100)[0, 1]  # re-synchronised after the jump


def test_a_counter_reset_is_detected_once_and_stale_receptions_dropped() -> None:
    sync = ck.ClockSync(2)
    t = 1.75e9 + np.arange(40) * 0.5
    c1 = np.rint((t - 1.75e9 + 300.0) * 12e6).astype(np.int64)
    c1[20:] = np.rint((t[20:] - t[20]) * 12e6).astype(np.int64) + 1  # restarts from 0
    c1[21], c1[22] = c1[22], c1[21]  # out of order around the restart
    site = np.array([[0, 1]] * 40, np.int32)
    ticks = np.stack([np.rint((t - 1.75e9) * 12e6).astype(np.int64), c1], axis=1)
    sync.pf[0, 1, ck.PF_OFF] = 1.0
    sync.pi[0, 1, ck.PI_N] = 10
    sync.check_counters(np.arange(40), site, ticks, np.stack([t, t], axis=1))
    assert sync.stats()["counter_resets"] == 1
    assert sync.pi[0, 1, ck.PI_N] == 0  # the pair starts afresh
    assert (site[:20] >= 0).all()
    assert (site[20:, 1] == -1).sum() <= 2  # only the unconfirmed first reception(s)


# --- the solve ---------------------------------------------------------------------------------


def _synced_pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    pf = np.zeros((n, n, ck.N_PF))
    pi = np.zeros((n, n, ck.N_PI), np.int64)
    pi[:, :, ck.PI_N] = 10
    pf[:, :, ck.PF_P00] = 0.01
    pf[:, :, ck.PF_T] = 1.75e9
    return pf, pi


def _solve(site_lla: list[tuple[float, float, float]], ac: tuple[float, float, float],
           *, with_alt: bool = True, noise_ns: float = 0.0, n_rep: int = 1,
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Solve ``n_rep`` transmissions of an aircraft at ``ac`` heard by gps receivers;
    returns (status, horizontal error against the truth, error estimate)."""
    rng = np.random.default_rng(7)
    s = lla_to_ecef_arrays(*zip(*site_lla, strict=True))
    x = lla_to_ecef_arrays(*ac)[0]
    d = np.sqrt(((s - x) ** 2).sum(axis=1))
    n = len(site_lla)
    arr = 10.0 + d[None, :] / C_M_S + rng.normal(0, noise_ns * 1e-9, (n_rep, n))
    ticks = np.rint(arr * 12e6).astype(np.int64)
    site = np.tile(np.arange(n, dtype=np.int32), (n_rep, 1))
    pf, pi = _synced_pairs(n)
    pi[:, :, ck.PI_ANCHOR] = ticks[0, 0]
    prm = ck.SyncParams(sigma_ns=max(noise_ns * 1.5, 30.0)).array()
    out = [np.empty((n_rep, 3)), np.empty((n_rep, 6)), np.empty(n_rep), np.empty(n_rep),
           np.empty(n_rep, np.int64), np.empty(n_rep, np.int64)]
    alt = np.full(n_rep, ac[2] if with_alt else np.nan)
    sv.solve_batch(site, ticks, np.full(n_rep, 1.75e9), alt, np.full((n_rep, 3), np.nan),
                   s, np.zeros(n, bool), pf, pi, prm, MlatSettings().solver_array(), *out)
    xyz, _, err, _, _, status = out
    lla = ecef_to_lla_arrays(np.where(np.isfinite(xyz), xyz, 0.0))
    herr = np.hypot((lla[:, 0] - ac[0]) * 111_195,
                    (lla[:, 1] - ac[1]) * 111_195 * math.cos(math.radians(ac[0])))
    return status, np.where(status == sv.ST_OK, herr, np.nan), err


GOOD = [(52.0, 5.0, 20.0), (52.8, 5.0, 30.0), (51.4, 4.2, 10.0), (51.5, 6.0, 50.0),
        (52.3, 6.3, 5.0), (52.5, 3.9, 15.0)]


@pytest.mark.parametrize("alt_m", [3000 * 0.3048, 40_000 * 0.3048])
def test_good_geometry_exact_times_place_to_the_tick(alt_m: float) -> None:
    status, herr, _ = _solve(GOOD, (52.1, 5.2, alt_m))
    assert status[0] == sv.ST_OK
    assert herr[0] < 15.0  # rounding to the 12 MHz tick (25 m of range) only


def test_three_receivers_need_and_use_the_altitude() -> None:
    status, herr, _ = _solve(GOOD[:3], (52.0, 4.6, 6000.0))
    assert status[0] == sv.ST_OK and herr[0] < 30.0
    status, _, _ = _solve(GOOD[:3], (52.0, 4.6, 6000.0), with_alt=False)
    assert status[0] == sv.ST_TOO_FEW


def test_noise_gives_errors_the_estimate_predicts() -> None:
    status, herr, est = _solve(GOOD, (52.1, 5.2, 9000.0), noise_ns=80.0, n_rep=400)
    ok = status == sv.ST_OK
    assert ok.mean() > 0.97
    rms = math.sqrt(np.nanmean(herr[ok] ** 2))
    assert 0.5 < rms / np.median(est[ok]) < 2.0  # the error estimate is honest
    assert np.median(herr[ok]) < 50.0


def test_bad_geometry_is_refused() -> None:
    # receivers on one line: the position across the line is not determined
    line = [(52.0, 4.0 + 0.3 * i, 20.0) for i in range(5)]
    status, _, _ = _solve(line, (52.05, 4.6, 9000.0), noise_ns=80.0, n_rep=20)
    assert (status != sv.ST_OK).mean() >= 0.9
    assert set(status.tolist()) <= {sv.ST_GEOMETRY, sv.ST_DIVERGED, sv.ST_RESIDUAL}
    # far outside a small network: the error estimate is beyond the limit
    small = [(52.0 + 0.05 * (i % 2), 5.0 + 0.05 * (i // 2), 10.0) for i in range(4)]
    status, _, _ = _solve(small, (50.0, 9.0, 11_000.0), noise_ns=80.0, n_rep=20)
    assert (status != sv.ST_OK).all()


def test_a_receiver_from_another_transmission_is_left_out() -> None:
    s = lla_to_ecef_arrays(*zip(*GOOD, strict=True))
    x = lla_to_ecef_arrays(52.1, 5.2, 9000.0)[0]
    ticks = np.rint((10.0 + np.sqrt(((s - x) ** 2).sum(axis=1)) / C_M_S) * 12e6).astype(
        np.int64)[None, :]
    ticks[0, 4] += 12_000_000  # the same bytes one second later (a repeated DF11)
    pf, pi = _synced_pairs(len(GOOD))
    pi[:, :, ck.PI_ANCHOR] = ticks[0, 0]
    out = [np.empty((1, 3)), np.empty((1, 6)), np.empty(1), np.empty(1),
           np.empty(1, np.int64), np.empty(1, np.int64)]
    sv.solve_batch(np.arange(len(GOOD), dtype=np.int32)[None, :], ticks, np.array([1.75e9]),
                   np.array([9000.0]), np.full((1, 3), np.nan), s, np.zeros(len(GOOD), bool),
                   pf, pi, ck.SyncParams(sigma_ns=30).array(), MlatSettings().solver_array(),
                   *out)
    assert out[5][0] == sv.ST_OK and out[4][0] == len(GOOD) - 1


# --- the filter ---------------------------------------------------------------------------------


def test_filter_smooths_and_refuses_outliers() -> None:
    rng = np.random.default_rng(2)
    n = 120
    t = np.arange(n, dtype=float)
    lat = 52.0 + 0.002 * t  # ~220 m/s north
    truth = lla_to_ecef_arrays(lat, np.full(n, 5.0), 9000.0)
    sigma = 60.0
    meas = truth + rng.normal(0, sigma, (n, 3))
    meas[60] += 5000.0  # one wild fix
    cov6 = np.tile([sigma**2, 0, 0, sigma**2, 0, sigma**2], (n, 1)).astype(float)
    f = AircraftFilter()
    pos, vel, err, ok = f.update(np.zeros(n, np.int64), t, meas, cov6)
    assert not ok[0]  # a track's first fix waits for a second one
    assert not ok[60] and ok.sum() == n - 2 and f.outliers == 1
    raw = np.sqrt(((meas - truth) ** 2).sum(axis=1))[20:][ok[20:]]
    filt = np.sqrt(((pos - truth) ** 2).sum(axis=1))[20:][ok[20:]]
    assert np.median(filt) < 0.6 * np.median(raw)
    speed = np.sqrt((vel[100] ** 2).sum())
    assert speed == pytest.approx(0.002 * 111_195, rel=0.1)
    assert np.isfinite(err[ok]).all()


def test_a_lone_wrong_first_fix_is_never_output() -> None:
    t = np.array([0.0, 1.0, 2.0, 3.0])
    truth = lla_to_ecef_arrays(52.0 + 0.002 * t, np.full(4, 5.0), 9000.0)
    meas = truth.copy()
    meas[0] += np.array([40_000.0, -30_000.0, 0.0])  # a mirror solution 50 km away
    cov6 = np.tile([50.0**2, 0, 0, 50.0**2, 0, 50.0**2], (4, 1)).astype(float)
    f = AircraftFilter()
    pos, _, _, ok = f.update(np.zeros(4, np.int64), t, meas, cov6)
    assert not ok[0]
    assert np.sqrt(((pos[ok] - truth[ok]) ** 2).sum(axis=1)).max() < 200.0


def test_nacp_from_error() -> None:
    # 95 % bound = 1.73 × the radial 1σ, against the EPU limits 10 m (10), 30 m (9),
    # 92.6 m (8), 185.2 m (7)
    errs = np.array([5.0, 17.0, 20.0, 50.0, 90.0, 20_000.0, np.nan])
    assert nacp_of_error(errs).tolist() == [10, 9, 8, 8, 7, 0, 0]


# --- the whole stage on synthetic receptions --------------------------------------------------


def run_feed(feed: SyntheticFeed, step_s: float = 1.0) -> tuple[Pipeline, PositionBatch]:
    pipe = Pipeline(tracker=Tracker(use_airports=False), receivers=feed.sites)
    dd = Dedup(window_s=0.5)
    fb = feed.frames
    edges = np.searchsorted(fb.t_rx, np.arange(fb.t_rx[0], fb.t_rx[-1] + step_s, step_s))
    out = []
    for a, b in itertools.pairwise(edges):
        db = dd.push(fb.take(np.arange(a, b)))
        out.append(pipe.process(db.frames, wall_time=0.0, receptions=db))
    db = dd.flush()
    out.append(pipe.process(db.frames, wall_time=0.0, receptions=db))
    cols = {k: np.concatenate([p.columns[k] for p in out]) for k in out[0].columns}
    return pipe, PositionBatch(cols)


def mlat_errors(feed: SyntheticFeed, pb: PositionBatch) -> tuple[np.ndarray, np.ndarray]:
    m = pb["source"] == MLAT
    lat, lon = feed.truth(pb["icao24"][m], pb["t"][m])
    err = np.hypot((pb["lat"][m] - lat) * 111_195,
                   (pb["lon"][m] - lon) * 111_195 * np.cos(np.radians(lat)))
    return err, pb["icao24"][m]


BASE = Scenario(n_aircraft=16, mode_s_only=0.25, duration_s=60.0, seed=5)


@pytest.mark.parametrize("clock", ["free", "gps"])
def test_mode_s_only_aircraft_are_placed(clock: str) -> None:
    feed = generate(replace(BASE, clock=clock))
    pipe, pb = run_feed(feed)
    err, icao = mlat_errors(feed, pb)
    assert set(icao.tolist()) == set(feed.icao24[feed.mode_s_only].tolist())  # only those
    assert np.median(err) < 50.0
    assert np.percentile(err, 95) < 300.0
    st = pipe.counters()["mlat"]
    assert st["solved"] > 0.8 * st["targets"]
    assert pipe.tracker.snapshot().columns["position_source"].tolist().count(MLAT) == 4
    # MLAT positions are re-served as MLAT lines in the SBS output
    sbs = encode_positions_sbs(pb)
    n_mlat = int((pb["source"] == MLAT).sum())
    assert sbs.count(b"\r\nMLAT,3,") + sbs.startswith(b"MLAT,3,") == n_mlat


@pytest.mark.parametrize("alt_ft", [3000.0, 40_000.0])
def test_low_and_high_aircraft(alt_ft: float) -> None:
    feed = generate(replace(BASE, altitudes_ft=(alt_ft, alt_ft), seed=6))
    _, pb = run_feed(feed)
    err, icao = mlat_errors(feed, pb)
    assert len(set(icao.tolist())) >= 3
    assert np.median(err) < 60.0


def test_a_receiver_counter_reset_is_survived() -> None:
    feed = generate(replace(BASE, reset=(3, 25.0), duration_s=70.0, seed=7))
    pipe, pb = run_feed(feed)
    st = pipe.counters()["mlat"]
    assert st["counter_resets"] == 1
    err, _ = mlat_errors(feed, pb)
    late = pb["t"][pb["source"] == MLAT] > feed.base_t + 40.0
    assert late.sum() > 20 and np.median(err[late]) < 50.0


def test_a_receiver_at_the_wrong_place_is_dropped() -> None:
    feed = generate(replace(BASE, seed=8, duration_s=90.0))
    s = feed.sites.sites
    moved = Site(s[2].name, s[2].lat + 0.05, s[2].lon, s[2].alt_m, uid=s[2].uid)  # 5.6 km off
    feed.sites = Sites([*s[:2], moved, *s[3:]])
    pipe, pb = run_feed(feed)
    assert pipe.counters()["mlat"]["bad_receivers"] == [moved.name]
    err, _ = mlat_errors(feed, pb)
    late = pb["t"][pb["source"] == MLAT] > feed.base_t + 45.0
    assert np.median(err[late]) < 80.0


def test_no_receptions_or_too_few_sites_do_nothing() -> None:
    feed = generate(replace(BASE, n_aircraft=4, duration_s=10.0))
    pipe = Pipeline(tracker=Tracker(use_airports=False),
                    receivers=Sites(feed.sites.sites[:2]))
    db = Dedup(window_s=0.5).push(feed.frames)
    pb = pipe.process(db.frames, wall_time=0.0, receptions=db)
    assert not (pb["source"] == MLAT).any()
    assert pipe.process(db.frames, wall_time=0.0).columns.keys() == set(
        empty_columns(POSITION_FIELDS, 0))
