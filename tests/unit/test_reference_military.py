"""Military verdicts (tailwatch.reference.military).

Oracles: readsb's military ranges as staged in ../shared/data ([repository], read only here,
skipped when absent), the military flags of the tar1090-db aircraft file, and documented
military callsign designators.
"""

from __future__ import annotations

import csv
import itertools

import numpy as np
import pytest
from _reference_data import MILITARY_RANGES_CSV, tar1090_db

from tailwatch.reference import military as ml


def test_us_military_range() -> None:
    assert ml.military_verdict(0xAE1234) == (True, "icao_range")
    assert ml.military_verdict(0xADF7C8) == (True, "icao_range")  # just after N99999
    assert ml.military_verdict(0xADF7C7) == (False, "none")  # N99999, civil
    r = ml.military_range_of(0xAE1234)
    assert r is not None and r.country == "United States"


def test_callsign_prefix() -> None:
    assert ml.military_verdict(0x1551E0, "RFF1234") == (True, "callsign_prefix")
    assert ml.military_verdict(0x1551E0, b"RCH4521 ") == (True, "callsign_prefix")
    assert ml.military_verdict(0x3C6586, "GAF683") == (True, "callsign_prefix")
    assert ml.military_verdict(0x3C6586, "ctm1047") == (True, "callsign_prefix")
    # a designator must be followed by a digit; airline callsigns are not military
    assert ml.military_verdict(0x1551E0, "RFFABC") == (False, "none")
    assert ml.military_verdict(0x3C6586, "DLH4AB") == (False, "none")
    assert ml.military_verdict(0x3C6586, "") == (False, "none")
    for p in ("RFF", "RCH", "RRR", "CTM", "GAF", "IAM"):
        assert p in ml.MILITARY_CALLSIGN_PREFIXES


def test_rule_precedence_db_then_range_then_callsign() -> None:
    assert ml.military_verdict(0x1551E0, "RFF1234", db_flags=1) == (True, "db_flag")
    assert ml.military_verdict(0xAE1234, "RCH1", db_flags=0) == (True, "icao_range")
    assert ml.military_verdict(0x1551E0, None, db_flags=2) == (False, "none")  # interesting


def test_vectorised_matches_scalar() -> None:
    addrs = np.array([0xAE1234, 0x1551E0, 0x154073, 0x3C6586, 0x43C123, 0x4CA123], np.uint32)
    calls = np.array([b"", b"RFF1234", b"", b"DLH4AB", b"RRR9953", b"RYR12"], dtype="S8")
    flags = np.array([0, 0, 3, 0, 0, 0], dtype=np.uint8)
    mil, rule = ml.military_verdicts(addrs, calls, flags)
    expect = [
        ml.military_verdict(int(a), c.decode(), int(f))
        for a, c, f in zip(addrs, calls, flags, strict=True)
    ]
    assert [(bool(m), ml.MILITARY_RULES[int(r)]) for m, r in zip(mil, rule, strict=True)] == (
        expect
    )
    assert [e[1] for e in expect] == [
        "icao_range",
        "callsign_prefix",
        "db_flag",
        "none",
        "icao_range",
        "none",
    ]
    # str and object arrays work as well as S8
    assert ml.military_callsigns(np.array(["RFF1234", "AFR34ZG"])).tolist() == [True, False]
    assert ml.military_callsigns(np.array(["RCH1", None], dtype=object)).tolist() == [True, False]


def test_ranges_are_sorted_and_disjoint() -> None:
    r = ml.MILITARY_RANGES
    assert all(a.start <= a.end for a in r)
    assert all(a.end < b.start for a, b in itertools.pairwise(r))


@pytest.mark.skipif(not MILITARY_RANGES_CSV.exists(), reason=f"{MILITARY_RANGES_CSV} not found")
def test_ranges_match_readsb_list() -> None:
    with MILITARY_RANGES_CSV.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 32
    starts = np.array([int(x["start_hex"], 16) for x in rows], dtype=np.int64)
    ends = np.array([int(x["end_hex"], 16) for x in rows], dtype=np.int64)
    assert ml.in_military_range(starts).all()
    assert ml.in_military_range(ends).all()
    assert ml.in_military_range((starts + ends) // 2).all()
    # just outside each listed range (unless it touches another listed range)
    listed = set(zip(starts.tolist(), ends.tolist(), strict=True))
    outside = [s - 1 for s in starts.tolist() if not any(e == s - 1 for _, e in listed)]
    outside += [e + 1 for e in ends.tolist() if not any(s == e + 1 for s, _ in listed)]
    assert not ml.in_military_range(np.array(outside, dtype=np.int64)).any()
    assert len(ml.MILITARY_RANGES) == len(rows)


def test_database_flags_agree_with_ranges() -> None:
    """Of the database's aircraft inside military ranges, nearly all are flagged military."""
    db, _ = tar1090_db()
    inside = ml.in_military_range(db.keys)
    flagged = (db.table.column("db_flags").to_numpy() & ml.DB_FLAG_MILITARY) != 0
    assert inside.sum() > 10_000
    assert (inside & flagged).sum() / inside.sum() > 0.97
