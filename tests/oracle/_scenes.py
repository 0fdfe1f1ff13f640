"""Two corpora of the oracle (registered in ``_oracle.corpora``):

* :func:`synthetic_go_arounds`: aircraft flying real approaches to real runways, built from
  runway-relative waypoints: go-arounds (one with a second approach and a landing, two
  with slow shallow climbs whose confirmation comes 140 and 240 s after the lowest point,
  one climbing only just enough, two in a row, four after slow shallow finals whose
  descent is spread over most of the 300 s window), a low pass that climbs only 400 ft,
  departures (one levelling off low, one dipping on the climb-out), a crossing over an
  airport at 1,500 ft, level-offs low on the axis that climb again 200 to 320 s later
  (around the edge of the 300 s go-around window) and a touch-and-go.
  :data:`EXPECTED_GO_AROUNDS` says how many ``go_around`` events each aircraft must have.
* :func:`sim_world_smoke`: a few hundred simulated aircraft between six hubs of north-western
  Europe (take-offs, landings and cruising traffic at once, as bench/world_feed.py's
  regions), decoded and tracked.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from tailwatch.detect import synthetic as sy
from tailwatch.detect.columns import Columns
from tailwatch.reference.geo import M_PER_NM

Waypoint = tuple[float, float, float | None, float]
"""(along the runway from its threshold NM, to the right of its axis NM, height above the
field ft or ``None`` on the ground, ground speed kt)."""

T0 = 1.72e9
BASE = 0x3C6000  # a civil (German) block, no military sub-block

# address offset -> (airport, runway, waypoints, start s, sample s, go-arounds expected
# (None: either way, the rules decide))
GA, NO, ANY = 1, 0, None


def _level_off(level_s: float) -> list[Waypoint]:
    """Down the axis at 60 kt to 600 ft, 80 ft lower ``level_s`` later, then a 1,400 ft
    climb straight ahead and away."""
    x_end = -4.0 + 60.0 * level_s / 3600.0
    return [(-7.0, 0.0, 1600.0, 90.0), (-4.0, 0.0, 600.0, 60.0), (x_end, 0.0, 520.0, 60.0),
            (x_end + 1.4, 0.0, 1920.0, 80.0), (x_end + 12.0, 3.0, 4000.0, 160.0)]


def _shallow_final() -> list[Waypoint]:
    return [(-8.0, 0.0, 850.0, 60.0), (-4.2, 0.0, 850.0, 60.0), (0.0, 0.0, 500.0, 60.0),
            (0.8, 0.0, 1100.0, 60.0), (10.0, 3.0, 3000.0, 120.0)]


SCENES: dict[int, tuple[str, str, list[Waypoint], float, float, int | None]] = {
    # a go-around at 250 ft, climb to 3,000 ft, a circuit, a second approach and a landing
    0: ("EGLL", "27L", [(-12.0, 0.0, 3800.0, 180.0), (-0.5, 0.0, 250.0, 140.0),
                        (3.0, 0.0, 1800.0, 160.0), (6.0, 0.0, 3000.0, 180.0),
                        (8.0, 3.0, 3000.0, 200.0), (-6.0, 4.0, 3000.0, 200.0),
                        (-10.0, 0.0, 3000.0, 180.0), (0.0, 0.0, 50.0, 140.0),
                        (0.2, 0.0, None, 130.0), (1.3, 0.0, None, 15.0)], 0.0, 1.0, GA),
    # a go-around at 400 ft with a slow shallow climb (90 kt, ~200 ft/min): 500 ft above
    # the lowest point only ~150 s later
    1: ("LFPG", "26R", [(-10.0, 0.0, 3300.0, 160.0), (-0.2, 0.0, 400.0, 90.0),
                        (3.6, 0.0, 900.0, 90.0), (4.5, 0.0, 1050.0, 90.0),
                        (20.0, 4.0, 4000.0, 200.0)], 300.0, 2.0, GA),
    # a low pass: down to 200 ft, up 400 ft only, level at 600 ft out of the airport's reach
    2: ("EGKK", "26L", [(-10.0, 0.0, 3200.0, 160.0), (0.0, 0.0, 200.0, 140.0),
                        (1.2, 0.0, 600.0, 140.0), (12.0, 0.0, 600.0, 150.0),
                        (25.0, 0.0, 4000.0, 220.0)], 600.0, 1.0, NO),
    # a departure: roll, climb straight out and away
    3: ("EDDF", "25C", [(0.0, 0.0, None, 5.0), (0.9, 0.0, None, 150.0),
                        (6.0, 0.0, 2500.0, 180.0), (25.0, 5.0, 9000.0, 280.0)], 100.0, 1.0, NO),
    # a departure levelling off at 600 ft for 2 minutes (noise abatement), then away
    4: ("EHAM", "18R", [(0.0, 0.0, None, 5.0), (0.9, 0.0, None, 150.0),
                        (2.5, 0.0, 600.0, 150.0), (7.5, 0.0, 600.0, 150.0),
                        (20.0, -4.0, 6000.0, 250.0)], 200.0, 2.0, NO),
    # a departure climbing to 1,200 ft, dipping to 600 ft past the runway's far end, then
    # climbing away (a climb after a descent, but on the climb-out: no approach)
    5: ("LSZH", "14", [(0.0, 0.0, None, 5.0), (0.9, 0.0, None, 150.0),
                       (3.0, 0.0, 1200.0, 150.0), (5.0, 0.0, 600.0, 150.0),
                       (7.0, 0.0, 1500.0, 160.0), (20.0, 3.0, 6000.0, 250.0)], 400.0, 1.0,
        ANY),
    # level-offs low on the axis of EGLL 27R, climbing again after 200 / 250 / 275 / 320 s
    6: ("EGLL", "27R", _level_off(200.0), 900.0, 1.0, GA),
    7: ("EGLL", "27R", _level_off(250.0), 1500.0, 2.0, ANY),
    8: ("EGLL", "27R", _level_off(275.0), 2100.0, 1.0, ANY),
    9: ("EGLL", "27R", _level_off(320.0), 2700.0, 2.0, NO),
    # a touch-and-go: down, 20 s on the runway, off again, a circuit at 1,500 ft, a landing
    10: ("EBBR", "25R", [(-8.0, 0.0, 2600.0, 140.0), (0.0, 0.0, 50.0, 120.0),
                         (0.2, 0.0, None, 115.0), (0.9, 0.0, None, 125.0),
                         (2.5, 0.0, 1200.0, 130.0), (4.0, -1.5, 1500.0, 130.0),
                         (-4.0, -1.5, 1500.0, 130.0), (-5.0, 0.0, 1000.0, 120.0),
                         (0.0, 0.0, 50.0, 120.0), (0.2, 0.0, None, 110.0),
                         (1.0, 0.0, None, 15.0)], 60.0, 1.0, ANY),
    # two go-arounds in a row on tight circuits at 2,000 ft, then a landing
    11: ("EHAM", "18R", [(-9.0, 0.0, 2900.0, 160.0), (-0.4, 0.0, 300.0, 140.0),
                         (3.0, 0.0, 2000.0, 160.0), (4.5, 2.0, 2000.0, 160.0),
                         (-5.0, 2.0, 2000.0, 160.0), (-6.0, 0.0, 1900.0, 150.0),
                         (-0.3, 0.0, 350.0, 140.0), (3.0, 0.0, 2000.0, 160.0),
                         (4.5, -2.0, 2000.0, 160.0), (-5.0, -2.0, 2000.0, 160.0),
                         (-6.0, 0.0, 1900.0, 150.0), (0.0, 0.0, 50.0, 140.0),
                         (0.2, 0.0, None, 130.0), (1.3, 0.0, None, 15.0)], 1200.0, 2.0, 2),
    # a go-around at 300 ft that climbs only just enough (~550 ft) and stays at 830 ft
    13: ("EDDF", "25C", [(-10.0, 0.0, 3300.0, 160.0), (-0.3, 0.0, 300.0, 140.0),
                         (1.5, 0.0, 830.0, 150.0), (30.0, 0.0, 830.0, 180.0)], 3000.0, 1.0,
         GA),
    # slow shallow finals (60 kt): level at 850 ft, 350 ft down over 250 s, a go-around
    # (the descent is spread over most of the 300 s window before the lowest point), at
    # four phases of the time buckets
    14: ("LFPO", "06", _shallow_final(), 1800.0, 1.0, GA),
    15: ("EDDF", "25C", _shallow_final(), 1975.0, 2.0, GA),
    16: ("EBBR", "25R", _shallow_final(), 2640.0, 1.0, GA),
    17: ("LFPG", "26R", _shallow_final(), 3280.0, 1.0, GA),
    # a go-around at 60 kt climbing at ~120 ft/min: 500 ft above the lowest point ~250 s
    # after it
    18: ("LFPG", "26R", [(-6.0, 0.0, 1700.0, 90.0), (-0.2, 0.0, 400.0, 60.0),
                         (4.4, 0.0, 940.0, 60.0), (15.0, 3.0, 3000.0, 120.0)], 900.0, 1.0,
         GA),
    # crossing over an airport at 1,500 ft, never low
    12: ("LFPO", "06", [(-25.0, 1.0, 1500.0, 200.0), (25.0, 1.0, 1500.0, 200.0)], 500.0,
         1.0, NO),
}
EXPECTED_GO_AROUNDS = {BASE + k: s[5] for k, s in SCENES.items() if s[5] is not None}
"""Address -> how many ``go_around`` events the reference must report for it."""


def _place(rwy: sy.RunwayEnd, along_nm: float, right_nm: float) -> tuple[float, float]:
    lat, lon = sy.along(rwy.lat, rwy.lon, rwy.bearing_deg, along_nm * M_PER_NM)
    return sy.along(lat, lon, rwy.bearing_deg + 90.0, right_nm * M_PER_NM)


def flown(rwy: sy.RunwayEnd, waypoints: Sequence[Waypoint], t0: float) -> sy.Dense:
    """The path through runway-relative waypoints (altitude and speed linear between them,
    on the ground between two ground waypoints), standing 2 minutes before a ground start
    and after a ground end."""
    places = [_place(rwy, a, r) for a, r, _, _ in waypoints]
    lats, lons = [p[0] for p in places], [p[1] for p in places]
    s = sy.path_length_m(lats, lons)
    alt = [rwy.elevation_ft + (h if h is not None else 0.0) for _, _, h, _ in waypoints]
    ground = [(float(s[i]), float(s[i + 1])) for i in range(len(waypoints) - 1)
              if waypoints[i][2] is None and waypoints[i + 1][2] is None]
    profile = sy.knots_profile(s.tolist(), alt, [w[3] for w in waypoints], ground)
    parts = []
    if waypoints[0][2] is None:
        parts.append(sy.hold(lats[0], lons[0], t0, 120.0))
        t0 += 121.0
    air = sy.fly(lats, lons, profile, t0)
    parts.append(air)
    if waypoints[-1][2] is None:
        parts.append(sy.hold(lats[-1], lons[-1], air.end_time() + 1.0, 120.0))
    return sy.join(parts)


@functools.cache
def synthetic_go_arounds() -> Columns:
    """The aircraft of :data:`SCENES`, sampled every 1 or 2 s (±20 %) with ~4 m of position
    noise and ~12 ft of altitude noise (before the 25 ft rounding)."""
    parts = []
    for k, (apt, ident, wps, start_s, sample_s, _) in SCENES.items():
        dense = flown(sy.runway_end(apt, ident), wps, T0 + start_s)
        cols = sy.sample(dense, BASE + k, f"GAS{k:02d}", sample_s=sample_s, seed=100 + k)
        rng = np.random.default_rng(200 + k)
        n = cols["t"].shape[0]
        cols["lat"] = cols["lat"] + rng.normal(0.0, 4.0 / 111_000.0, n)
        cols["lon"] = cols["lon"] + rng.normal(0.0, 6.0 / 111_000.0, n)
        alt = cols["altitude_ft"].astype(np.float64) + rng.normal(0.0, 12.0, n)
        cols["altitude_ft"] = (np.round(alt / 25.0) * 25.0).astype(np.float32)
        parts.append(cols)
    return sy.merge(parts)


# --- a busy simulated world ---------------------------------------------------------------

SMOKE_HUBS = ("EGLL", "EGKK", "LFPG", "LFPO", "EHAM", "EBBR")
SMOKE_RECEIVERS = ("EGKK", "LFPG", "EHAM")
SMOKE_T0 = dt.datetime(2024, 6, 14, 12, 0, tzinfo=dt.UTC)


def smoke_scenario_data(flights: int = 300, minutes: float = 25.0) -> dict[str, object]:
    """A scenario (parse_scenario's table) of ``flights`` background flights between the
    hubs (take-offs in the first minutes, landings in the last ones, a quarter crossing at
    cruise level), three receivers, messages at a third of the default rates."""
    from tailwatch.reference.airports import airport

    receivers = [{"name": f"rx-{h.lower()}", "lat": float(airport(h).lat_deg),
                  "lon": float(airport(h).lon_deg), "height_ft": 100.0, "range_nm": 200.0}
                 for h in SMOKE_RECEIVERS]
    end = SMOKE_T0 + dt.timedelta(minutes=minutes)
    return {
        "scenario": {"name": "oracle-world-smoke", "seed": 5,
                     "windows": [{"start": SMOKE_T0, "end": end}]},
        "noise": {"single_bit": 0.01, "loss": 0.05, "edge_loss": 0.2},
        "rates": {"position_s": 3.0, "velocity_s": 3.0, "identification_s": 10.0,
                  "operational_status_s": 10.0, "all_call_s": 5.0, "radar_sweep_s": 12.0},
        "receivers": receivers,
        "traffic": [{"name": "north-west-europe", "start": SMOKE_T0,
                     "end": SMOKE_T0 + dt.timedelta(minutes=minutes + 5.0),
                     "flights": flights, "airports": list(SMOKE_HUBS), "overflights": 0.25,
                     "airlines": [{"prefix": "SMK", "blocks": [["400000", "403fff"]],
                                   "types": ["A320", "B738", "E190", "AT76"],
                                   "numbers": [1, 9999]}]}],
    }


def decoded_and_tracked(sim: Any) -> Columns:
    """A simulation's frames decoded and tracked (the tracker knowing its receivers): the
    positions."""
    from tailwatch import decode
    from tailwatch.track.tracker import Tracker

    tracker = Tracker(receivers=sim.receiver_positions())
    parts = []
    step = 65_536
    for a in range(0, len(sim.frames), step):
        fb = sim.frames.take(np.arange(a, min(a + step, len(sim.frames))))
        parts.append(tracker.update(decode(fb)).columns)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


@functools.cache
def sim_world_smoke() -> Columns:
    """:func:`smoke_scenario_data` simulated, decoded and tracked: the positions."""
    from tailwatch.simulate import parse_scenario, simulate

    return decoded_and_tracked(simulate(parse_scenario(smoke_scenario_data(),
                                                       source="oracle world smoke")))
