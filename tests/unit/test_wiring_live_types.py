"""The live session tells the flight detector each airframe's type (per-type runway needs)
from the store's aircraft database, looking each address up once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from tailwatch.config import load_settings
from tailwatch.history.dbtable import store_aircraft_db
from tailwatch.live import DetectorTypes, LiveSession
from tailwatch.reference.aircraft_db import DB_SCHEMA


def test_detector_learns_types_from_the_aircraft_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAILWATCH_DATA_DIR", str(tmp_path / "data"))
    from tailwatch.store import open_store

    store = open_store(str(tmp_path / "h.duckdb"))
    rows = {"icao24": [0x393322, 0x4CA2B6], "registration": ["F-GUGP", "EI-ABC"],
            "typecode": ["A318", None], "description": [None, None], "operator": [None, None],
            "db_flags": [0, 0], "year": [None, None], "source": ["test", "test"]}
    store_aircraft_db(store, pa.table(rows, schema=DB_SCHEMA))
    session = LiveSession(load_settings(), store, detect=True)
    try:
        types_sink = session.sinks[0]
        assert isinstance(types_sink, DetectorTypes)
        detector = session.detection.detector
        assert types_sink.detector is detector
        calls: list[int] = []
        lookup = types_sink.lookup
        types_sink.lookup = lambda icao: (calls.append(len(icao)), lookup(icao))[1]
        types_sink({"icao24": np.array([0x393322, 0x4CA2B6, 0x393322, 0x3C6444], np.uint32)})
        assert detector.types == {0x393322: "A318"}
        types_sink({"icao24": np.array([0x393322, 0x3C6444], np.uint32)})
        assert calls == [3]  # known addresses are not looked up again
    finally:
        session.close()
        store.close()
