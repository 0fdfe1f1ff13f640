"""Identification (tailwatch.reference.identity).

The database here is written from the public facts of the 2019 Caracas flights
(../shared/data/events/2019-03-23_russian_af_caracas.md): RA-86496 (1551E0, IL62, tar1090-db
flags "10") and RA-82035 (154073, A124, flags "11"). The whole tar1090-db file is used when
present.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from _reference_data import tar1090_db

from tailwatch.core.errors import ReferenceDataError
from tailwatch.reference import identity as idn
from tailwatch.reference.aircraft_db import AircraftDB
from tailwatch.reference.military import MILITARY_RULES

CARACAS_ROWS = (
    "1551E0;RA-86496;IL62;10;ILYUSHIN Il-62;;;\n154073;RA-82035;A124;11;ANTONOV An-124 Ruslan;;;\n"
)


@pytest.fixture
def caracas_db(tmp_path: Path) -> AircraftDB:
    p = tmp_path / "aircraft.csv.gz"
    with gzip.open(p, "wt") as f:
        f.write(CARACAS_ROWS)
    return AircraftDB.load(p)


def test_caracas_aircraft_are_russian_military(caracas_db: AircraftDB) -> None:
    il62 = idn.identify(0x1551E0, db=caracas_db)
    assert (il62.icao24, il62.country, il62.country_iso2) == ("1551e0", "Russia", "RU")
    assert (il62.registration, il62.typecode) == ("RA-86496", "IL62")
    assert (il62.military, il62.military_rule, il62.interesting) == (True, "db_flag", False)
    assert il62.wake_category == "H"
    assert il62.sources["country"] == "icao_allocation"
    assert il62.sources["registration"] == "tar1090-db"
    a124 = idn.identify("154073", db=caracas_db)
    assert (a124.country, a124.registration, a124.typecode) == ("Russia", "RA-82035", "A124")
    assert (a124.military, a124.interesting) == (True, True)
    assert a124.description == "ANTONOV An-124 Ruslan"


def test_without_database() -> None:
    # registration computed from the address, military from the callsign
    il62 = idn.identify(0x1551E0, callsign="RFF7010")
    assert (il62.registration, il62.sources["registration"]) == (
        "RA-86496",
        "icao_algorithm:russia",
    )
    assert (il62.military, il62.military_rule) == (True, "callsign_prefix")
    assert il62.operator == "Russian Air Force"
    assert il62.sources["operator"] == "callsign_designator"
    us_mil = idn.identify(0xAE1234)
    assert (us_mil.country, us_mil.military, us_mil.military_rule) == (
        "United States",
        True,
        "icao_range",
    )
    afr = idn.identify(0x393322, callsign="AFR34ZG")
    assert (afr.country, afr.military, afr.registration, afr.operator) == (
        "France",
        False,
        None,
        None,
    )
    assert idn.identify(0xA00001).registration == "N1"


def test_vectorised_identification(caracas_db: AircraftDB) -> None:
    addrs = np.array([0x1551E0, 0x154073, 0xAE1234, 0x3C6586, 0x393322, 0x200000], np.uint32)
    calls = np.array([b"", b"", b"RCH4521", b"GAF683", b"AFR34ZG", b""], dtype="S8")
    t = idn.identify_many(addrs, calls, db=caracas_db)
    assert t.column_names == list(idn.IDENTITY_COLUMNS)
    assert t.num_rows == 6
    assert t.column("country").to_pylist() == [
        "Russia",
        "Russia",
        "United States",
        "Germany",
        "France",
        None,
    ]
    assert t.column("military").to_pylist() == [True, True, True, True, False, False]
    assert t.column("military_rule").to_pylist() == [
        "db_flag",
        "db_flag",
        "icao_range",
        "callsign_prefix",
        "none",
        "none",
    ]
    assert set(t.column("military_rule").to_pylist()) <= set(MILITARY_RULES)
    assert t.column("registration").to_pylist()[:2] == ["RA-86496", "RA-82035"]
    assert t.column("operator").to_pylist()[3] == "German Air Force"
    # the same answers as one-at-a-time identification
    for i, a in enumerate(addrs.tolist()):
        one = idn.identify(a, calls[i].decode() or None, db=caracas_db)
        assert one.military == t.column("military")[i].as_py()
        assert one.registration == t.column("registration")[i].as_py()
    # hex strings work as addresses
    t2 = idn.identify_many(["1551e0", "154073"], db=caracas_db)
    assert t2.column("registration").to_pylist() == ["RA-86496", "RA-82035"]


ANNOTATIONS_TOML = """
[[aircraft]]
icao24 = "1551e0"
operator = "Russian MoD, 223rd Flight Unit"
unit = "223 lyotny otryad"
notes = "Caracas 23 March 2019"
links = ["https://example.org/reuters-2019-03-24"]
source = "Reuters via larepublica.co, 2019-03-24"

[[aircraft]]
registration = "RA-82035"
interesting = false
notes = "left Caracas 24 March 2019"

[[aircraft]]
icao24 = "ae1234"
military = false
"""

ANNOTATIONS_CSV = """# local knowledge
icao24,registration,operator,military,links,source
154073,,Russian Air Force,yes,https://a.example https://b.example,El Pitazo
,N1,Test owner,,,
"""


def test_annotations_override_the_database(caracas_db: AircraftDB, tmp_path: Path) -> None:
    toml = tmp_path / "watch.toml"
    toml.write_text(ANNOTATIONS_TOML)
    ann = idn.Annotations.load(toml)
    assert len(ann) == 3
    il62 = idn.identify(0x1551E0, db=caracas_db, annotations=ann)
    assert il62.operator == "Russian MoD, 223rd Flight Unit"
    assert (il62.unit, il62.notes) == ("223 lyotny otryad", "Caracas 23 March 2019")
    assert il62.links == ("https://example.org/reuters-2019-03-24",)
    assert il62.citation == "Reuters via larepublica.co, 2019-03-24"
    assert il62.sources["operator"] == "annotation:watch.toml"
    assert (il62.military, il62.military_rule) == (True, "db_flag")  # not overridden
    # keyed by registration (the database supplies the registration)
    a124 = idn.identify(0x154073, db=caracas_db, annotations=ann)
    assert (a124.interesting, a124.notes) == (False, "left Caracas 24 March 2019")
    assert a124.sources["flags"] == "annotation:watch.toml"
    assert a124.sources["registration"] == "tar1090-db"
    # an annotation can also say "not military"
    assert idn.identify(0xAE1234, annotations=ann).military_rule == "annotation"
    assert idn.identify(0xAE1234, annotations=ann).military is False


def test_csv_annotations_and_later_files_win(caracas_db: AircraftDB, tmp_path: Path) -> None:
    toml = tmp_path / "a.toml"
    toml.write_text(ANNOTATIONS_TOML)
    csvf = tmp_path / "b.csv"
    csvf.write_text(ANNOTATIONS_CSV)
    ann = idn.Annotations.load(toml, csvf)
    a124 = idn.identify(0x154073, db=caracas_db, annotations=ann)
    # the CSV's address-keyed row wins over the TOML's registration-keyed one
    assert a124.operator == "Russian Air Force"
    assert (a124.military, a124.military_rule) == (True, "annotation")
    assert a124.links == ("https://a.example", "https://b.example")
    assert a124.citation == "El Pitazo"
    n1 = idn.identify(0xA00001, annotations=ann)  # registration computed, then annotated
    assert (n1.registration, n1.operator) == ("N1", "Test owner")
    assert n1.sources["registration"] == "icao_algorithm:us"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("bad.toml", "[[aircraft]]\noperator = 'no key'\n"),
        ("bad2.toml", "[[aircraft]]\nicao24 = 'zzzzzz'\n"),
        ("bad3.toml", "[[aircraft]]\nicao24 = '1551e0'\ncolour = 'red'\n"),
        ("bad.csv", "icao24,military\n1551e0,maybe\n"),
        ("bad.yaml", "icao24: 1551e0\n"),
    ],
)
def test_bad_annotation_files(tmp_path: Path, name: str, text: str) -> None:
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(ReferenceDataError):
        idn.Annotations.load(p)


def test_whole_database_identification() -> None:
    db, _ = tar1090_db()
    il62 = idn.identify(0x1551E0, db=db)
    a124 = idn.identify(0x154073, db=db)
    assert (il62.country, il62.registration, il62.typecode, il62.military) == (
        "Russia",
        "RA-86496",
        "IL62",
        True,
    )
    assert (a124.country, a124.registration, a124.typecode, a124.military) == (
        "Russia",
        "RA-82035",
        "A124",
        True,
    )
    # Every database aircraft has a country: from its address, or (for the few addresses
    # outside the shipped allocation table) from its registration.
    keys = db.keys[::50]
    t = idn.identify_many(keys, db=db)
    has_country = np.asarray(t.column("country").is_valid())
    assert has_country.mean() > 0.995
    sources = set(t.column("country_source").drop_null().to_pylist())
    assert sources <= {"icao_allocation", "registration_prefix"}


def test_non_icao_and_empty_inputs() -> None:
    anon = idn.identify("~1551e0")  # a non-ICAO (e.g. TIS-B) address: not Russia's aircraft
    assert (anon.icao24, anon.country, anon.registration, anon.military) == (
        "~1551e0",
        None,
        None,
        False,
    )
    empty = idn.identify_many(np.array([], dtype=np.uint32), np.array([], dtype="S8"))
    assert empty.num_rows == 0 and empty.column_names == list(idn.IDENTITY_COLUMNS)
    with pytest.raises(ValueError):
        idn.identify_many(np.array([1, 2], dtype=np.uint32), np.array([b"RFF1"], dtype="S8"))
