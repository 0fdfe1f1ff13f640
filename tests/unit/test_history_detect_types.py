"""Re-analysing a stored history tells the flight detector each airframe's ICAO type (from
the identities update_aircraft gives), as the live session does: the runway length a type
needs decides which airports can be its origin or destination (docs/events.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from tailwatch.detect import FlightDetector
from tailwatch.detect import synthetic as sy
from tailwatch.history.detection import SeenAircraft, detect_stored
from tailwatch.store import open_store


def test_detect_stored_passes_the_types_of_the_identities(tmp_path: Path) -> None:
    dense = sy.airport_to_airport(sy.runway_end("LSZH", "28"), sy.runway_end("EGLL", "27R"),
                                  1.7e9)
    pos = sy.sample(dense, 0x4B1001, "SWR1", sample_s=2.0, seed=1)
    identities = pa.table({"icao24": pa.array([0x4B1001, 0x4B1002], pa.uint32()),
                           "military": [False, False],
                           "typecode": ["A20N", None]})
    made: list[Any] = []

    def factory(**kw: Any) -> FlightDetector:
        det = FlightDetector(**kw)
        made.append(det)
        return det

    store = open_store(str(tmp_path / "h.duckdb"))
    try:
        store.write("positions", pos)
        seen = SeenAircraft()
        seen.add(pos)
        detect_stored(store, seen, identities=identities, progress=False, detector=factory)
    finally:
        store.close()
    assert len(made) == 1
    assert made[0].types == {0x4B1001: "A20N"}  # the unknown type is left to the default
