"""Shared, cached access to the real reference files of ../shared/data for the reference tests.

The tar1090-db aircraft file is [repository] data: it is never committed, and tests that need
it skip with a stated reason when it is absent.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from tailwatch.core.rejects import Rejects
from tailwatch.reference.aircraft_db import AircraftDB

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
TAR1090_DB = SHARED / "aircraft_db" / "tar1090db_aircraft.csv.gz"
MICTRONICS_OPERATORS = SHARED / "operators" / "mictronics_operators.json"
MILITARY_RANGES_CSV = SHARED / "icao_ranges" / "military_icao_ranges_readsb.csv"
TAR1090_RANGES = SHARED / "icao_ranges" / "icao_country_ranges_tar1090.csv"
TYPES_DIR = SHARED / "aircraft_types"


@lru_cache(maxsize=1)
def _load() -> tuple[AircraftDB, Rejects]:
    rejects = Rejects()
    return AircraftDB.load(TAR1090_DB, rejects=rejects), rejects


def tar1090_db() -> tuple[AircraftDB, Rejects]:
    """The whole tar1090-db file (loaded once per test session), or skip."""
    if not TAR1090_DB.exists():
        pytest.skip(f"tar1090-db aircraft file not found: {TAR1090_DB}")
    return _load()
