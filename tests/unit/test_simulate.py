"""The simulator: scenarios, trajectories, the feed decoded and tracked against its truth.

Two scenarios: ``emergency`` (3 aircraft around Cyprus for an hour, with every kind of
noise) and the built-in ``airlift2019`` reduced to its two military airframes (the whole
5 windows, without background traffic, to stay fast).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from tailwatch import decode
from tailwatch.core.errors import ConfigError
from tailwatch.decode.batch import MessageBatch
from tailwatch.reference.airports import airport
from tailwatch.reference.geo import distance_m, distance_nm
from tailwatch.reference.runways import match_runway
from tailwatch.simulate import Simulation, load_scenario, parse_scenario, simulate
from tailwatch.track.tracker import PositionBatch, Tracker

AN124, IL62 = 0x154073, 0x1551E0
CYP27T, CYP401, AEE929 = 0x4C80A2, 0x4C8117, 0x46B8A4


def utc(s: str) -> float:
    return dt.datetime.fromisoformat(s).timestamp()


@pytest.fixture(scope="module")
def emergency() -> Simulation:
    return simulate(load_scenario("emergency"))


@pytest.fixture(scope="module")
def airlift() -> Simulation:
    return simulate(load_scenario("airlift2019"), traffic=False)


def decode_and_track(sim: Simulation) -> tuple[MessageBatch, PositionBatch, Tracker]:
    batch = decode(sim.frames)
    tracker = Tracker(receivers=sim.receiver_positions())
    return batch, tracker.update(batch), tracker


@pytest.fixture(scope="module")
def emergency_tracked(emergency: Simulation) -> tuple[MessageBatch, PositionBatch, Tracker]:
    return decode_and_track(emergency)


@pytest.fixture(scope="module")
def airlift_tracked(airlift: Simulation) -> tuple[MessageBatch, PositionBatch, Tracker]:
    return decode_and_track(airlift)


# ------------------------------------------------------------------------------------------
# Scenario files


def _minimal() -> dict[str, Any]:
    return {
        "scenario": {"name": "t"},
        "receivers": [{"name": "r", "lat": 34.9, "lon": 33.6}],
        "aircraft": [{
            "icao24": "4c80a2", "callsign": "ABC1", "type": "A320",
            "legs": [{"from": "LCLK", "to": "LCPH",
                      "takeoff": dt.datetime(2021, 7, 14, 10, tzinfo=dt.UTC)}],
        }],
    }  # fmt: skip


def test_scenario_files_are_validated() -> None:
    sc = parse_scenario(_minimal())
    assert sc.aircraft[0].icao24 == 0x4C80A2 and sc.aircraft[0].legs[0].anchor == "takeoff"

    bad = _minimal()
    bad["aircraft"][0]["cruise_level"] = 300
    with pytest.raises(ConfigError, match="cruise_level"):
        parse_scenario(bad)

    naive = _minimal()
    naive["aircraft"][0]["legs"][0]["takeoff"] = dt.datetime(2021, 7, 14, 10)
    with pytest.raises(ConfigError, match="no UTC offset"):
        parse_scenario(naive)

    unchained = _minimal()
    unchained["aircraft"][0]["legs"].append(
        {"from": "LCLK", "to": "LCPH", "takeoff": dt.datetime(2021, 7, 14, 12, tzinfo=dt.UTC)}
    )
    with pytest.raises(ConfigError, match="previous one ends at LCPH"):
        parse_scenario(unchained)

    too_soon = _minimal()
    too_soon["aircraft"][0]["legs"].append(
        {"from": "LCPH", "to": "LCLK", "takeoff": dt.datetime(2021, 7, 14, 10, 5, tzinfo=dt.UTC)}
    )
    with pytest.raises(ConfigError, match="before the previous leg is over"):
        simulate(parse_scenario(too_soon))

    with pytest.raises(ConfigError, match="no such scenario"):
        load_scenario("no-such-scenario")


# ------------------------------------------------------------------------------------------
# The feed decodes with exactly the injected noise rejected


def test_decoder_rejects_exactly_the_injected_noise(
    emergency: Simulation, emergency_tracked: tuple[MessageBatch, PositionBatch, Tracker]
) -> None:
    c = emergency.counts
    assert c["multi_bit"] > 100 and c["single_bit"] > 100 and c["mode_ac"] > 1000
    assert c["ghost"] > 100 and c["duplicates"] > 1000
    batch, _, tracker = emergency_tracked
    assert dict(batch.rejects) == {"bad_crc": c["multi_bit"], "mode_ac": c["mode_ac"]}
    assert int(batch["corrected"].sum()) == c["single_bit"]
    # every parity-checked message comes from a declared aircraft
    known = {a.icao24 for a in emergency.scenario.aircraft}
    assert set(np.unique(batch["icao24"][batch["crc_ok"]]).tolist()) == known
    # address/parity replies from unknown addresses are exactly the injected ghosts
    ghosts = ~batch["crc_ok"] & ~np.isin(batch["icao24"], list(known))
    assert int(ghosts.sum()) == c["ghost"]
    assert tracker.stats()["ghost"] >= c["ghost"]


def test_realistic_message_rates(emergency: Simulation) -> None:
    """Rates per aircraft in the air, counted on the decoded transmissions."""
    b = decode(emergency.tx_frames.to_frame_batch(emergency.schedule["t"]))
    for icao in (CYP27T, AEE929):
        air = (b["icao24"] == icao) & (b["on_ground"] != 1)
        t = np.sort(b["t"][air])
        airborne_s = float(np.minimum(np.diff(t), 5.0).sum())  # the transponder-off gap out
        tc = b["typecode"][air & (b["df"] == 17)]
        df = b["df"][air]
        rates = {
            "position": ((tc >= 9) & (tc <= 18)).sum() / airborne_s,
            "velocity": (tc == 19).sum() / airborne_s,
            "identification": ((tc >= 1) & (tc <= 4)).sum() / airborne_s,
            "operational_status": (tc == 31).sum() / airborne_s,
            "df11": (df == 11).sum() / airborne_s,
            **{f"df{f}": (df == f).sum() / airborne_s for f in (4, 5, 20, 21)},
        }
        expected = {"position": 2.0, "velocity": 2.0, "identification": 0.2,
                    "operational_status": 0.4, "df11": 1.0, "df4": 1 / 4.8, "df5": 1 / 4.8,
                    "df20": 1 / 4.8, "df21": 1 / 4.8}  # fmt: skip
        for name, want in expected.items():
            assert abs(rates[name] / want - 1.0) < 0.08, (f"{icao:06x}", name, rates[name])
        pos = air & (b["df"] == 17) & (b["typecode"] >= 9) & (b["typecode"] <= 18)
        order = np.argsort(b["t"][pos])
        odd, tp = b["cpr_odd"][pos][order], b["t"][pos][order]
        consecutive = np.diff(tp) < 0.6  # no position lost in between
        assert consecutive.mean() > 0.9
        assert (odd[1:] != odd[:-1])[consecutive].all()  # even and odd alternate


# ------------------------------------------------------------------------------------------
# Tracking reproduces the truth


def _match(pos_t: npt.NDArray[np.float64], truth_t: npt.NDArray[np.float64]
           ) -> npt.NDArray[np.int64]:  # fmt: skip
    """Index of the truth row within 5 ms of each tracked position (-1 when none)."""
    j = np.clip(np.searchsorted(truth_t, pos_t), 1, max(truth_t.size - 1, 1))
    nearest = np.where(np.abs(truth_t[j - 1] - pos_t) <= np.abs(truth_t[j] - pos_t), j - 1, j)
    return np.where(np.abs(truth_t[nearest] - pos_t) < 0.005, nearest, -1)


def test_tracked_positions_are_the_truth_within_cpr_resolution(
    emergency: Simulation, emergency_tracked: tuple[MessageBatch, PositionBatch, Tracker]
) -> None:
    truth = emergency.truth.positions
    _, pos, _ = emergency_tracked
    assert len(pos) > 20000
    surface_checked = 0
    for icao in np.unique(truth["icao24"]).tolist():
        tr = truth["icao24"] == icao
        tt = truth["t"][tr]
        mine = pos["icao24"] == icao
        idx = _match(pos["t"][mine], tt)
        assert (idx >= 0).all(), "a tracked position that no aircraft sent"
        err_m = distance_m(pos["lat"][mine], pos["lon"][mine], truth["lat"][tr][idx],
                           truth["lon"][tr][idx])  # fmt: skip
        ground = truth["on_ground"][tr][idx]
        assert err_m[~ground].max() < 4.0  # airborne CPR: 5.1 m steps
        if ground.any():
            assert err_m[ground].max() < 1.5  # surface CPR: 1.3 m steps
            surface_checked += int(ground.sum())
        assert np.array_equal(pos["on_ground"][mine] == 1, ground)
        assert np.unique(idx).size >= 0.98 * tt.size  # nearly every position is tracked
    assert surface_checked > 1000


def test_takeoffs_and_landings_use_the_runways_of_the_truth(emergency: Simulation) -> None:
    truth = emergency.truth
    p, legs = truth.positions, truth.legs
    checked = 0
    for i in range(legs["icao24"].size):
        icao = legs["icao24"][i]
        mine = p["icao24"] == icao
        for when, ap, rwy, before in (
            (legs["takeoff_t"][i], legs["origin"][i], legs["takeoff_runway"][i], True),
            (legs["landing_t"][i], legs["destination"][i], legs["landing_runway"][i], False),
        ):
            if not np.isfinite(when) or not emergency.spans[0][0] < when < emergency.spans[0][1]:
                continue
            near = mine & p["on_ground"] & (np.abs(p["t"] - when) < 15.0) & (p["gs_kt"] > 60)
            near &= (p["t"] < when) if before else (p["t"] > when)
            assert near.sum() >= 10
            idents, _, _ = match_runway(ap, p["lat"][near], p["lon"][near], p["track_deg"][near])
            assert set(idents.tolist()) == {rwy}
            checked += 1
    assert checked >= 4


def test_emergency_go_around_and_transponder_off(
    emergency: Simulation, emergency_tracked: tuple[MessageBatch, PositionBatch, Tracker]
) -> None:
    batch, pos, _ = emergency_tracked
    ev = emergency.truth.events
    kinds = {(int(a), str(k)) for a, k in zip(ev["icao24"], ev["type"], strict=True)}
    assert {(CYP27T, "emergency"), (CYP27T, "go_around"), (CYP27T, "landing"),
            (CYP401, "stopover"), (AEE929, "transponder_off")} <= kinds  # fmt: skip
    # the feed says 7700 from 10:08 on, never before
    mine = batch["icao24"] == CYP27T
    sq = batch["squawk"][mine]
    t = batch["t"][mine]
    at = utc("2021-07-14T10:08:00+00:00")
    assert set(sq[(sq >= 0) & (t < at - 0.1)].tolist()) == {4621}
    assert set(sq[(sq >= 0) & (t > at + 0.1)].tolist()) == {7700}
    assert (batch["emergency"][mine & (batch["t"] > at)] == 1).sum() > 500  # TC 28: general
    # go-around: tracked down to a few hundred feet over LCLK's runway, then climbing again
    ga = float(ev["t"][(ev["icao24"] == CYP27T) & (ev["type"] == "go_around")][0])
    lclk = airport("LCLK")
    around = (pos["icao24"] == CYP27T) & (np.abs(pos["t"] - ga) < 60)
    alt = pos["altitude_ft"][around]
    assert (pos["on_ground"][around] == 0).all()
    assert alt.min() < lclk.elevation_ft + 400 and alt[-1] > alt.min() + 500
    d = distance_nm(lclk.lat_deg, lclk.lon_deg, pos["lat"][around], pos["lon"][around])
    assert d.min() < 1.5
    # the transponder-off period is a gap in the feed, and it is the only one
    aee = batch["t"][batch["crc_ok"] & (batch["icao24"] == AEE929)]
    off0, off1 = utc("2021-07-14T10:14:00+00:00"), utc("2021-07-14T10:19:00+00:00")
    assert not ((aee > off0) & (aee < off1)).any()
    assert np.diff(np.sort(aee)).max() < off1 - off0 + 3.0


# ------------------------------------------------------------------------------------------
# The airlift: coverage gaps, the itinerary, nothing over the Atlantic


def test_coverage_gaps_are_real_gaps(
    airlift: Simulation, airlift_tracked: tuple[MessageBatch, PositionBatch, Tracker]
) -> None:
    cov = airlift.truth.coverage
    batch, _, _ = airlift_tracked
    for icao in (AN124, IL62):
        rows = cov["icao24"] == icao
        unseen = rows & ~cov["seen"]
        assert (cov["end_t"][unseen] - cov["start_t"][unseen]).sum() > 1800
        t = batch["t"][batch["crc_ok"] & (batch["icao24"] == icao)]
        seen = rows & cov["seen"]
        lo, hi = cov["start_t"][seen] - 1.5, cov["end_t"][seen] + 1.5
        inside = ((t[:, None] >= lo[None, :]) & (t[:, None] <= hi[None, :])).any(axis=1)
        assert inside.all(), "a message heard while out of every receiver's coverage"
        for a, b in zip(cov["start_t"][unseen], cov["end_t"][unseen], strict=True):
            assert not ((t > a + 1.5) & (t < b - 1.5)).any()


def _transition(pos: PositionBatch, icao: int, when: float, to_ground: bool, code: str) -> None:
    """The tracked feed shows the aircraft changing between ground and air within 30 s of
    ``when``, within 3 NM of the airport ``code``."""
    mine = pos["icao24"] == icao
    t, g = pos["t"][mine], pos["on_ground"][mine]
    k = np.flatnonzero((g[:-1] == (0 if to_ground else 1)) & (g[1:] == (1 if to_ground else 0)))
    k = k[np.abs(t[k + 1] - when) < 30.0]
    assert k.size >= 1, f"{icao:06x}: no {'landing' if to_ground else 'take-off'} at {code}"
    ap = airport(code)
    lat, lon = pos["lat"][mine][k[0] + 1], pos["lon"][mine][k[0] + 1]
    assert float(distance_nm(ap.lat_deg, ap.lon_deg, lat, lon)) < 3.0


def test_airlift_itinerary_in_the_truth_and_in_the_feed(
    airlift: Simulation, airlift_tracked: tuple[MessageBatch, PositionBatch, Tracker]
) -> None:
    legs = airlift.truth.legs
    _, pos, _ = airlift_tracked

    def leg(icao: int, i: int) -> dict[str, Any]:
        row = np.flatnonzero((legs["icao24"] == icao) & (legs["leg"] == i))[0]
        return {k: v[row] for k, v in legs.items()}

    # reported take-offs from Chkalovsky: 15:12 and 16:05 Moscow time (UTC+3)
    for icao, hhmm in ((AN124, "15:12"), (IL62, "16:05")):
        first = leg(icao, 0)
        assert (first["origin"], first["destination"]) == ("UUMU", "OSLK")
        assert first["takeoff_t"] == utc(f"2019-03-22T{hhmm}:00+03:00")
        second = leg(icao, 1)
        assert (second["origin"], second["destination"]) == ("OSLK", "SVMI")
        landed = dt.datetime.fromtimestamp(second["landing_t"], dt.UTC)
        assert landed.date() == dt.date(2019, 3, 23)
        for flown in (first, second):  # every take-off and landing is in the feed
            _transition(pos, icao, float(flown["takeoff_t"]), False, str(flown["origin"]))
            _transition(pos, icao, float(flown["landing_t"]), True, str(flown["destination"]))
    # the Il-62M lands first at Maiquetia, the An-124 minutes later
    gap = leg(AN124, 1)["landing_t"] - leg(IL62, 1)["landing_t"]
    assert 60 < gap < 30 * 60
    # the An-124 leaves Caracas on the 24th, in the (local) afternoon
    third = leg(AN124, 2)
    local = dt.datetime.fromtimestamp(third["takeoff_t"], dt.timezone(dt.timedelta(hours=-4)))
    assert third["origin"] == "SVMI" and local.date() == dt.date(2019, 3, 24)
    assert 12 <= local.hour < 18
    _transition(pos, AN124, float(third["takeoff_t"]), False, "SVMI")
    # nothing over the Atlantic (nor the western Mediterranean): no receiver there
    for lon in (pos["lon"], airlift.truth.positions["lon"]):
        assert not ((lon > -57.0) & (lon < 28.0)).any()
    assert (pos["lon"] < -57.0).any() and (pos["lon"] > 28.0).any()


def test_seed_makes_the_feed_reproducible(emergency: Simulation) -> None:
    again = simulate(load_scenario("emergency"), windows=None)
    assert np.array_equal(again.frames.raw, emergency.frames.raw)
    assert np.array_equal(again.frames.t_rx, emergency.frames.t_rx)
    other = simulate(load_scenario("emergency"), seed=8)
    assert not np.array_equal(other.frames.t_rx[:1000], emergency.frames.t_rx[:1000])
    # an aircraft sends the same messages whatever other aircraft are simulated
    alone = simulate(load_scenario("emergency"), aircraft={CYP27T})
    mine = emergency.schedule["icao24"] == CYP27T
    assert np.array_equal(alone.schedule["t"], emergency.schedule["t"][mine])
    assert np.array_equal(alone.tx_frames.raw, emergency.tx_frames.raw[mine])
