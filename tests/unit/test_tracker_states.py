"""The tracker's state-vector path (Tracker.update_states): decoded values from SBS, readsb
JSON, OpenSky and aggregators merged into the live rows under the per-field ranking, with
the plausibility checks on their positions."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from tailwatch import FrameBatch
from tailwatch.core.schema import SOURCE_LABELS
from tailwatch.pipeline import Pipeline
from tailwatch.track.tracker import STATE_POSITION_REJECTS, STATE_REJECTS, Tracker

DATA = Path(__file__).parent.parent / "data"
AFR = 0x393322


def _afr() -> FrameBatch:
    with gzip.open(DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz", "rt") as fh:
        recs = [json.loads(line) for line in fh]
    return FrameBatch.from_hex([r["frame"] for r in recs], t_rx=[r["timestamp"] for r in recs])


def _balanced(tr: Tracker, rows_in: int) -> None:
    st = tr.stats()
    assert rows_in == st["states"] + sum(st[k] for k in STATE_REJECTS)
    assert st["states"] == st["state_no_position"] + st["state_positions"] + sum(
        st[k] for k in STATE_POSITION_REJECTS)


def _row(tr: Tracker) -> dict[str, object]:
    snap = tr.snapshot()
    i = int(np.flatnonzero(snap.columns["icao24"] == AFR)[0])
    return {k: v[i] for k, v in snap.columns.items()}


def test_records_without_position_update_the_live_row() -> None:
    tr = Tracker(use_airports=False)
    t0 = 1.7e9
    nan = np.nan
    cols = {  # MSG 1 callsign, 6 squawk, 5 altitude, 4 velocity, 3 position
        "t": [t0, t0 + 1, t0 + 2, t0 + 3, t0 + 4],
        "icao24": [AFR] * 5,
        "callsign": [b"AFR34ZG", b"", b"", b"", b""],
        "squawk": [-1, 1000, -1, -1, -1],
        "altitude_ft": [nan, nan, 36000, nan, 36025],
        "gs_kt": [nan, nan, nan, 452, nan],
        "track_deg": [nan, nan, nan, 181, nan],
        "vrate_fpm": [nan, nan, nan, -64, nan],
        "lat": [nan, nan, nan, nan, 43.5],
        "lon": [nan, nan, nan, nan, 1.9],
    }
    pos = tr.update_states(cols, "sbs")
    _balanced(tr, 5)
    row = _row(tr)
    assert row["callsign"] == b"AFR34ZG" and row["squawk"] == 1000
    assert row["altitude_ft"] == 36025 and row["gs_kt"] == 452 and row["vrate_fpm"] == -64
    assert row["messages"] == 5 and row["positions"] == 1
    assert SOURCE_LABELS[int(row["source"])] == "sbs"  # type: ignore[call-overload]
    assert SOURCE_LABELS[int(row["position_source"])] == "sbs"  # type: ignore[call-overload]
    # the position carries what the other records said
    assert len(pos) == 1 and pos["callsign"][0] == b"AFR34ZG" and pos["squawk"][0] == 1000
    assert pos["gs_kt"][0] == 452 and pos["altitude_ft"][0] == 36025
    assert SOURCE_LABELS[int(pos["source"][0])] == "sbs"


def test_adsb_position_is_not_overwritten_by_older_or_lower_ranked_state_vectors() -> None:
    pipe = Pipeline(tracker=Tracker(use_airports=False))
    fb = _afr()
    adsb = pipe.process(fb.take(np.arange(3000)))
    assert len(adsb) > 10
    row = _row(pipe.tracker)
    t_pos, lat, lon = float(row["t_position"]), float(row["lat"]), float(row["lon"])  # type: ignore[arg-type]
    cs = row["callsign"]
    # an OpenSky vector 5 s older than the ADS-B position, and one 2 s newer but lower
    # ranked while the ADS-B position is fresh: neither moves the aircraft nor its callsign
    got = pipe.process_states({
        "t": [t_pos - 5.0, t_pos + 2.0], "icao24": [AFR, AFR], "lat": [lat + 0.01] * 2,
        "lon": [lon] * 2, "callsign": [b"WRONG", b"WRONG"], "altitude_ft": [99999.0] * 2,
    }, "opensky")
    assert len(got) == 0
    st = pipe.tracker.stats()
    assert st["state_not_newer"] == 1 and st["state_outranked"] == 1
    row = _row(pipe.tracker)
    assert (row["lat"], row["lon"], row["t_position"]) == (lat, lon, t_pos)
    assert row["callsign"] == cs and row["altitude_ft"] != 99999.0
    assert SOURCE_LABELS[int(row["position_source"])] == "adsb"  # type: ignore[call-overload]
    # once the ADS-B position is stale (30 s), the state vector is taken, labelled opensky
    got = pipe.process_states({"t": [t_pos + 40.0], "icao24": [AFR], "lat": [lat],
                               "lon": [lon]}, "opensky")
    assert len(got) == 1 and SOURCE_LABELS[int(got["source"][0])] == "opensky"
    row = _row(pipe.tracker)
    assert SOURCE_LABELS[int(row["position_source"])] == "opensky"  # type: ignore[call-overload]
    _balanced(pipe.tracker, 3)


def test_implausible_state_vector_jump_is_rejected_by_name() -> None:
    tr = Tracker(use_airports=False)
    t0 = 1.7e9
    # 48.0 → 50.0 °N (120 NM) in 10 s at 450 kt: refused; then a plausible move: taken
    pos = tr.update_states({
        "t": [t0, t0 + 10, t0 + 20], "icao24": [0x4CA123] * 3, "lat": [48.0, 50.0, 48.02],
        "lon": [2.0, 2.0, 2.0], "gs_kt": [450.0] * 3, "track_deg": [0.0] * 3,
    }, "json")
    assert pos["lat"].tolist() == [48.0, 48.02]
    assert tr.stats()["state_speed"] == 1
    _balanced(tr, 3)


def test_range_check_uses_the_rows_receiver() -> None:
    tr = Tracker(receivers={3: (48.0, 2.0)}, max_range_nm=100.0, use_airports=False)
    pos = tr.update_states({"t": [1.7e9, 1.7e9], "icao24": [1, 2], "lat": [48.5, 52.0],
                            "lon": [2.0, 2.0], "receiver": [3, 3]}, "sbs")
    assert pos["icao24"].tolist() == [1] and tr.stats()["state_range"] == 1


def test_rows_without_time_and_unknown_columns() -> None:
    tr = Tracker(use_airports=False)
    tr.update_states({"t": [np.nan], "icao24": [1]}, "aggregator")
    assert tr.stats()["state_no_time"] == 1 and len(tr) == 0
    with pytest.raises(KeyError):
        tr.update_states({"t": [1.0], "icao24": [1], "alt": [1.0]}, "sbs")
    with pytest.raises(ValueError):
        tr.update_states({"t": [1.0], "icao24": [1]})
