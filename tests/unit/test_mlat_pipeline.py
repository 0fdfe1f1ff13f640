"""Multilateration end to end on the simulator's multi-receiver recording: a Beast file with
receiver ids and its side file (positions, alt_m), replayed through the replay reader, the
dedup and Pipeline(receivers=...), as ``tailwatch replay`` does. Five minutes of the built-in
``mlat_benelux`` scenario (seven free clocks with 80 ns jitter, one GPS clock, the Nijmegen
counter restarting at 10:08; Mode S-only aircraft at 3,000 ft, FL200 and FL400)."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from tailwatch.core.schema import SOURCE_LABELS
from tailwatch.ingest.dedup import Dedup
from tailwatch.ingest.net import Receivers
from tailwatch.ingest.replay import file_batches
from tailwatch.mlat import Sites
from tailwatch.pipeline import Pipeline
from tailwatch.simulate import FeedWriter, parse_scenario, simulate, write_sidecar
from tailwatch.simulate.feed import Simulation
from tailwatch.track.tracker import PositionBatch, Tracker

MLAT = SOURCE_LABELS.index("mlat")


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Simulation, Path]:
    text = (resources.files("tailwatch.simulate") / "scenarios" / "mlat_benelux.toml"
            ).read_text(encoding="utf-8")
    data = tomllib.loads(text)
    data["scenario"]["windows"] = [{"start": datetime(2023, 5, 10, 10, 5, tzinfo=UTC),
                                    "end": datetime(2023, 5, 10, 10, 10, tzinfo=UTC)}]
    sim = simulate(parse_scenario(data, source="test"))
    path = tmp_path_factory.mktemp("mlat") / "benelux.beast"
    path.write_bytes(FeedWriter(sim, "beast").encode())
    write_sidecar(sim, path)
    return sim, path


def replay(path: Path) -> tuple[Pipeline, PositionBatch]:
    receivers = Receivers()
    uid = receivers.add(path.name)
    pipe = Pipeline(tracker=Tracker(), receivers=Sites.for_run(receivers, recordings=[path]))
    dedup = Dedup()
    out = []
    for fb in file_batches(path, receivers=receivers, receiver=uid, batch_size=65536):
        db = dedup.push(fb)
        out.append(pipe.process(db.frames, wall_time=0.0, receptions=db))
    db = dedup.flush()
    out.append(pipe.process(db.frames, wall_time=0.0, receptions=db))
    return pipe, PositionBatch({k: np.concatenate([p.columns[k] for p in out])
                                for k in out[0].columns})


def test_replay_of_a_multi_receiver_recording_places_mode_s_only_aircraft(
    recording: tuple[Simulation, Path],
) -> None:
    sim, path = recording
    pipe, pb = replay(path)
    st = pipe.counters()["mlat"]
    assert st["sites"] == 8 and st["counter_resets"] == 1 and st["bad_receivers"] == []
    m = pb["source"] == MLAT
    icao, t = pb["icao24"][m], pb["t"][m]
    # the truth: the transmission of that aircraft nearest in time (first reception ≤ 2 ms
    # after it, to the millisecond of the recording's clock)
    s = sim.schedule
    order = np.lexsort((s["t"], s["icao24"]))
    t0 = float(s["t"].min())
    key = s["icao24"][order].astype(np.float64) * 1e4 + (s["t"][order] - t0)
    q = icao.astype(np.float64) * 1e4 + (t - t0)
    i = np.clip(np.searchsorted(key, q), 1, key.size - 1)
    j = np.where(np.abs(key[i] - q) < np.abs(key[i - 1] - q), i, i - 1)
    assert np.abs(key[j] - q).max() < 0.005
    lat, lon = s["lat"][order][j], s["lon"][order][j]
    err = np.hypot((pb["lat"][m] - lat) * 111_195,
                   (pb["lon"][m] - lon) * 111_195 * np.cos(np.radians(lat)))
    named = {0x480C1F: "C-130 FL200", 0x480C2A: "ATR 72 3,000 ft", 0x4851F6: "GLF5 FL400",
             0x484B11: "B738 DF17 without positions"}
    for address, what in named.items():
        e = err[icao == address]
        assert e.size > 100, what
        assert np.median(e) < 50.0, what
        assert np.percentile(e, 95) < 300.0, what
    assert np.median(err) < 50.0
    # the live table says these positions and velocities came from MLAT
    snap = pipe.tracker.snapshot()
    rows = np.isin(snap.columns["icao24"], list(named))
    assert (snap.columns["position_source"][rows] == MLAT).all()
    assert (snap.columns["velocity_source"][rows] == MLAT).any()
    # ADS-B aircraft keep their ADS-B positions: MLAT never places an address heard in DF17
    # positions (their positions are the clock references)
    adsb = np.unique(pb["icao24"][pb["source"] == SOURCE_LABELS.index("adsb")])
    assert not np.isin(icao, adsb).any()
