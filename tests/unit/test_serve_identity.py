"""The serve layer's identity cache: one identification per (address, callsign) seen."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tailwatch.reference.aircraft_db import AircraftDB, AircraftRecord
from tailwatch.serve import IdentityResolver


@pytest.fixture()
def resolver(monkeypatch: pytest.MonkeyPatch) -> Any:
    db = AircraftDB.from_records([
        AircraftRecord("393322", "F-GMZC", "A321", "AIRBUS A-321", None, 0, None, "t"),
        AircraftRecord("a1b2c3", "N123AB", "C172", None, "Private", 8, 2001, "t"),
    ])
    r = IdentityResolver(db=db)
    calls: list[int] = []
    original = r._identify

    def counting(icao: np.ndarray, cs: np.ndarray) -> Any:
        calls.append(len(icao))
        return original(icao, cs)

    monkeypatch.setattr(r, "_identify", counting)
    r.calls = calls  # type: ignore[attr-defined]
    return r


def test_cached_per_address_and_callsign(resolver: Any) -> None:
    addr = np.array([0x393322, 0x43C123, 0xA1B2C3], dtype=np.uint32)
    cs = np.array([b"AFR34ZG", b"RRR1234", b""], dtype="S8")
    rows = resolver.rows(addr, cs)
    assert rows.strings("registration").tolist() == ["F-GMZC", None, "N123AB"]
    assert rows.military.tolist() == [False, True, False]
    assert rows.ladd.tolist() == [False, False, True]
    assert rows.hidden.tolist() == [False, False, True]
    assert rows.year[2] == 2001 and np.isnan(rows.year[0])
    assert rows.db_flags.tolist() == [0, 1, 8]
    assert resolver.calls == [3]
    # same addresses, another order, same callsigns: no new identification
    again = resolver.rows(addr[::-1], cs[::-1])
    assert again.strings("registration").tolist() == ["N123AB", None, "F-GMZC"]
    assert resolver.calls == [3]
    # a callsign change re-identifies that aircraft only (operator comes from the callsign)
    cs2 = cs.copy()
    cs2[0] = b"RRR9999"
    changed = resolver.rows(addr, cs2)
    assert resolver.calls == [3, 1]
    assert changed.strings("operator")[0] == "Royal Air Force"
    assert changed.military.tolist() == [True, True, False]
    # a new address among known ones
    more = resolver.rows(np.array([0x3C6444, 0x393322], np.uint32),
                         np.array([b"DLH1", b"RRR9999"], "S8"))
    assert resolver.calls == [3, 1, 1]
    assert more.strings("country").tolist() == ["Germany", "France"]
    resolver.clear()
    resolver.rows(addr, cs)
    assert resolver.calls[-1] == 3


def test_empty_and_detail(resolver: Any) -> None:
    assert len(resolver.rows(np.zeros(0, np.uint32))) == 0
    d = resolver.detail(0xA1B2C3)
    assert d["registration"] == "N123AB" and d["ladd"] and d["year"] == 2001
    assert d["country"] == "United States"
