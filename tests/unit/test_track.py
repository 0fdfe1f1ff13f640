"""The tracker on real data: positions against rs1090's, ghosts, injected jumps."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tailwatch import FrameBatch, decode
from tailwatch.decode.crc import with_parity
from tailwatch.encode.bits import set_address
from tailwatch.track.tracker import Tracker

DATA = Path(__file__).parent.parent / "data"
AFR = 0x393322


@pytest.fixture(scope="module")
def afr() -> list[dict[str, Any]]:
    with gzip.open(DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz", "rt") as fh:
        return [json.loads(line) for line in fh]


def _decode(recs: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    return decode([r["frame"] for r in recs], times=[r["timestamp"] for r in recs])


def test_afr34zg_positions_agree_with_rs1090(afr: list[dict[str, Any]]) -> None:
    tracker = Tracker()
    pos = tracker.update(_decode(afr))
    ours = {round(float(t), 6): (la, lo) for t, la, lo in
            zip(pos["t"], pos["lat"], pos["lon"], strict=True)}
    theirs = [(round(r["timestamp"], 6), r["latitude"], r["longitude"])
              for r in afr if "latitude" in r]
    assert len(theirs) > 8000
    agree = missing = 0
    for t, la, lo in theirs:
        if t not in ours:
            missing += 1
            continue
        if abs(ours[t][0] - la) < 0.0005 and abs(ours[t][1] - lo) < 0.0005:
            agree += 1
    assert agree / len(theirs) >= 0.995, (agree, missing, len(theirs))
    assert set(pos["icao24"].tolist()) == {AFR}
    # the flight starts and ends on the ground, at LFPG and at LFBO
    assert pos["on_ground"][0] == 1 and pos["on_ground"][-1] == 1
    assert abs(pos["lat"][0] - 49.0) < 0.05 and abs(pos["lat"][-1] - 43.63) < 0.05
    assert np.nanmax(pos["altitude_ft"]) > 30000
    snap = tracker.snapshot()
    assert len(snap) == 1 and snap.columns["callsign"][0] == b"AFR34ZG"
    stats = tracker.stats()
    assert stats["messages"] == len(afr) and stats["ghost"] == 0


def test_positions_carry_the_state_at_that_moment(afr: list[dict[str, Any]]) -> None:
    pos = Tracker().update(_decode(afr))
    airborne = pos["on_ground"] == 0
    assert np.isfinite(pos["altitude_ft"][airborne]).mean() > 0.99
    assert np.isfinite(pos["gs_kt"][airborne]).mean() > 0.99
    assert set(pos["callsign"].tolist()) == {b"AFR34ZG"}
    assert (pos["squawk"][airborne] >= 0).mean() > 0.9
    table = pos.to_arrow()
    assert table.column("icao24").to_pylist()[0] == "393322"
    assert table.column("source").to_pylist()[0] == "adsb"


def test_address_parity_replies_of_unknown_aircraft_are_ghosts() -> None:
    ghosts = [with_parity(bytes.fromhex("20001838"), 0x123456 + i).hex() for i in range(50)]
    tracker = Tracker(use_airports=False)
    tracker.update(decode(ghosts, times=np.arange(50.0)))
    assert tracker.stats()["ghost"] == 50 and len(tracker) == 0
    # once the address is confirmed by a parity-checked DF11, its replies are accepted
    df11 = with_parity(bytes.fromhex("5D123456"))
    rep = with_parity(bytes.fromhex("20001838"), 0x123456).hex()
    tracker.update(decode([df11.hex(), rep], times=[100.0, 101.0]))
    assert len(tracker) == 1 and tracker.stats()["messages"] == 2
    snap = tracker.snapshot()
    assert snap.columns["altitude_ft"][0] == 38000.0


def test_injected_far_positions_are_rejected(afr: list[dict[str, Any]]) -> None:
    """Airborne position frames of other aircraft far away (the pyModeS sample, over the
    Netherlands in 2016), readdressed to AFR34ZG and injected every 50 messages, must not
    move the track; good positions must not be lost."""
    with open(DATA / "pymodes_sample_data_adsb.csv") as fh:
        foreign = [r[1] for r in csv.reader(fh) if r[3] in ("11", "12", "13")]
    clean = Tracker(use_airports=True).update(_decode(afr))
    fb = FrameBatch.from_hex(foreign)
    set_address(fb.raw, fb.nbytes, np.full(len(fb), AFR, np.uint32))
    injected = [fb.hex(i) for i in range(len(fb))]
    frames, times, is_fake = [], [], []
    k = 0
    for i, r in enumerate(afr):
        frames.append(r["frame"])
        times.append(r["timestamp"])
        is_fake.append(False)
        if i % 50 == 25 and k < len(injected):
            frames.append(injected[k])
            times.append(r["timestamp"] + 0.01)
            is_fake.append(True)
            k += 1
    tracker = Tracker()
    pos = tracker.update(decode(frames, times=times))
    fake_times = {round(t, 6) for t, f in zip(times, is_fake, strict=True) if f}
    accepted_fakes = sum(round(float(t), 6) in fake_times for t in pos["t"])
    assert k > 500
    assert accepted_fakes / k <= 0.001, (accepted_fakes, k)
    good = {round(float(t), 6) for t in clean["t"]}
    kept = good & {round(float(t), 6) for t in pos["t"]}
    assert len(kept) / len(good) >= 0.999, (len(kept), len(good))
    # and every accepted position stays on the real flight's path (France, not Holland)
    assert float(np.max(pos["lat"])) < 49.1


def test_positions_point_back_to_their_messages_even_unsorted(
    afr: list[dict[str, Any]],
) -> None:
    """``last_message_rows`` (what multilateration uses to find the receptions of each
    accepted ADS-B position) names each position's message row in the batch as given, also
    when the tracker had to sort it by time."""
    recs = afr[:6000]
    rng = np.random.default_rng(4)
    order = rng.permutation(len(recs))
    batch = _decode([recs[i] for i in order])
    tr = Tracker()
    pos = tr.update(batch)
    rows = tr.last_message_rows
    assert len(pos) > 500 and rows.shape[0] == len(pos)
    assert (batch["t"][rows] == pos["t"]).all()
    assert (batch["icao24"][rows] == pos["icao24"]).all()
    assert (batch["cpr_lat"][rows] >= 0).all()  # position messages
    slots = tr.slots_of(np.array([AFR, 0xABCDEF], np.uint32))
    assert slots[0] >= 0 and slots[1] == -1
    state = tr.aircraft_state(slots[:1])
    assert state["t_position"][0] == pos["t"].max()
    assert state["t_confirmed"][0] <= batch["t"].max()
    assert state["position_rank"][0] == 0  # ADS-B
