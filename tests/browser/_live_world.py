"""A small live world for the map's browser tests, from real recordings only.

* AFR34ZG (Paris CDG → Toulouse, 6 July 2024; tests/data, traffic's rs1090 sample) decoded and
  tracked by tailwatch up to ``T`` = 30 min after its first frame;
* the ten aircraft of traffic's Zurich airport sample (tests/data), recorded on other days:
  the last 10 minutes of each one's recording are shifted in time to end at ``T`` so that they
  are live together with AFR34ZG (their positions are unchanged, only the clock moves), and one
  of them only in the store (ending 3 hours before ``T``): found by a search of the store, not
  live.

AFR34ZG's stored positions from 200 s to 820 s after its take-off are left out, as if it had
flown out of coverage, so that its itinerary has an unseen leg (the live picture is not
affected: the gap ends before ``T``). No receiver position is configured: the map must open
where the traffic is.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))

from _history_data import ZURICH, records
from _serve_replay import AFR, replay, t0

from tailwatch.core.schema import POSITION_FIELDS, SOURCE_LABELS, empty_columns
from tailwatch.reference.aircraft_db import AircraftDB, AircraftRecord
from tailwatch.serve import IdentityResolver, LiveState, ReceiverInfo
from tailwatch.serve.state import snapshot_from_positions
from tailwatch.store import open_store


@dataclass
class World:
    state: LiveState
    T: float
    positions: dict[str, np.ndarray]  # everything stored, sorted by address then time
    live: list[str]  # hex of the live aircraft
    stored_only: str  # hex of the aircraft only in the store
    takeoff_t: float  # AFR34ZG's take-off (an event in the store)


def _zurich(T: float) -> tuple[dict[str, np.ndarray], str]:
    recs = records(ZURICH)
    by: dict[str, list[dict[str, Any]]] = {}
    for r in recs:
        if r.get("latitude") is not None and r.get("longitude") is not None:
            by.setdefault(r["icao24"], []).append(r)
    parts = []
    hexes = sorted(by)
    stored_only = hexes[-1]
    for hexa in hexes:
        rows = sorted(by[hexa], key=lambda r: r["timestamp"])
        t = np.array([r["timestamp"] / 1000.0 for r in rows])
        keep = t >= t[-1] - 600
        rows = [r for r, k in zip(rows, keep, strict=True) if k]
        t = t[keep]
        end = T - 3 * 3600 if hexa == stored_only else T - 2
        n = len(rows)
        c = empty_columns(POSITION_FIELDS, n)
        c["t"] = t - t[-1] + end
        c["icao24"][:] = int(hexa, 16)

        def col(key: str, rows: list[dict[str, Any]] = rows) -> np.ndarray:
            return np.array([np.nan if r.get(key) is None else float(r[key]) for r in rows])

        c["lat"], c["lon"] = col("latitude"), col("longitude")
        c["altitude_ft"] = col("altitude")
        c["gs_kt"], c["track_deg"], c["vrate_fpm"] = col("groundspeed"), col("track"), \
            col("vertical_rate")
        c["on_ground"] = np.array([1 if r.get("onground") else 0 for r in rows], np.int8)
        c["altitude_ft"][c["on_ground"] == 1] = np.nan
        c["callsign"] = np.array([(r.get("callsign") or "").encode()[:8] for r in rows], "S8")
        c["source"][:] = SOURCE_LABELS.index("mlat" if hexa == hexes[0] else "adsb")
        parts.append(c)
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return cols, stored_only


def build_world() -> World:
    T = t0() + 1800
    _, pos = replay([T])
    afr = {k: np.asarray(v) for k, v in pos.columns.items()}
    ground = afr["on_ground"]
    takeoff_t = float(afr["t"][int(np.flatnonzero(ground[:-1] > ground[1:])[0]) + 1])
    keep = (afr["t"] < takeoff_t + 200) | (afr["t"] > takeoff_t + 820)
    afr = {k: v[keep] for k, v in afr.items()}
    zur, stored_only = _zurich(T)
    cols = {k: np.concatenate([afr[k], zur[k].astype(afr[k].dtype)]) for k in afr}
    order = np.lexsort((cols["t"], cols["icao24"]))
    cols = {k: v[order] for k, v in cols.items()}
    store = open_store(":memory:")
    store.write("positions", cols)
    fid = f"393322-{int(t0())}"
    store.write("flights", {
        "flight_id": np.array([fid], dtype=object), "icao24": np.array([AFR], np.uint32),
        "callsign": np.array(["AFR34ZG"], dtype=object), "first_seen": np.array([t0()]),
        "last_seen": np.array([T]), "origin": np.array(["LFPG"], dtype=object),
        "destination": np.array(["LFBO"], dtype=object), "takeoff_t": np.array([takeoff_t])})
    store.write("events", {
        "t": np.array([takeoff_t]), "icao24": np.array([AFR], np.uint32),
        "flight_id": np.array([fid], dtype=object), "type": np.array(["takeoff"], dtype=object),
        "airport": np.array(["LFPG"], dtype=object), "lat": np.array([49.0097]),
        "lon": np.array([2.5479])})
    db = AircraftDB.from_records([
        AircraftRecord("393322", "F-GMZC", "A321", "AIRBUS A-321", "Air France", 0, None,
                       "test-db"),
    ])
    state = LiveState(store=store, identity=IdentityResolver(db=db),
                      receiver=ReceiverInfo(id="rx", name="no position"))
    snap = snapshot_from_positions(cols, now=T)
    state.publish(snap)
    live = [f"{int(a):06x}" for a in snap.columns["icao24"].tolist()]
    return World(state, T, cols, live, stored_only, takeoff_t)
