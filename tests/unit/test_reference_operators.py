"""Operator designators (tailwatch.reference.operators).

The shipped table is hand-written from FAA JO 7340.2; it is checked here, row by row, against
Mictronics' independent compilation of the same order (../shared/data, [repository], read at
run time only and skipped when absent).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _reference_data import MICTRONICS_OPERATORS

from tailwatch.core.errors import ReferenceDataError
from tailwatch.reference import operators as op

needs_mictronics = pytest.mark.skipif(
    not MICTRONICS_OPERATORS.exists(), reason=f"{MICTRONICS_OPERATORS} not found"
)


def test_callsign_designators() -> None:
    assert op.designator_of_callsign("RCH4521") == "RCH"
    assert op.designator_of_callsign(b"GAF683  ") == "GAF"
    assert op.designator_of_callsign("rff7010") == "RFF"
    assert op.designator_of_callsign("GABCD") is None  # a UK registration as callsign
    assert op.designator_of_callsign("N123AB") is None
    assert op.designator_of_callsign("RFF") is None
    assert op.designator_of_callsign(None) is None


def test_builtin_lookup() -> None:
    rff = op.operator_of_callsign("RFF7010")
    assert rff is not None
    assert (rff.country, rff.military, rff.telephony) == ("Russia", True, "RUSSIAN AIRFORCE")
    assert rff.source.startswith("FAA JO 7340.2")
    rsd = op.STATE_OPERATORS["RSD"]
    assert rsd.kind == "state" and not rsd.military
    assert op.operator_of_callsign("DLH4AB") is None  # not in the small shipped table
    for d in ("RFF", "RCH", "RRR", "CTM", "GAF", "IAM"):
        assert op.STATE_OPERATORS[d].military


@needs_mictronics
def test_shipped_rows_match_faa_compilation() -> None:
    ref = json.loads(MICTRONICS_OPERATORS.read_text(encoding="utf-8"))
    for d, o in op.STATE_OPERATORS.items():
        assert d in ref, d
        _name, country, telephony = ref[d][:3]
        assert o.country == country, (d, o.country, country)
        assert o.telephony == telephony, (d, o.telephony, telephony)


@needs_mictronics
def test_load_full_file_at_run_time() -> None:
    directory = op.OperatorDirectory.from_mictronics_json(MICTRONICS_OPERATORS)
    assert len(directory) == 6200
    aal = directory.for_callsign("AAL123")
    assert aal is not None and aal.country == "United States" and aal.kind == "unknown"
    assert aal.source == "mictronics:mictronics_operators.json"
    # the shipped table wins for the designators it lists
    assert directory["RFF"] == op.STATE_OPERATORS["RFF"]


def test_load_small_file(tmp_path: Path) -> None:
    p = tmp_path / "ops.json"
    p.write_text(
        json.dumps({"AFR": ["Air France", "France", "AIRFRANS"], "XXX": [], "RCH": ["x", "y"]})
    )
    directory = op.OperatorDirectory.from_mictronics_json(p)
    afr = op.operator_of_callsign("AFR34ZG", directory)
    assert afr is not None and (afr.name, afr.telephony) == ("Air France", "AIRFRANS")
    assert "XXX" not in directory
    assert directory["RCH"].telephony == "REACH"
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ReferenceDataError):
        op.OperatorDirectory.from_mictronics_json(bad)
    with pytest.raises(ReferenceDataError):
        op.OperatorDirectory.from_mictronics_json(tmp_path / "missing.json")
