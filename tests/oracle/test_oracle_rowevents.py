"""Pass 3 of the compiled detector (first sight, squawk changes and emergency squawks, ADS-B
emergency status, GNSS integrity drops, implausible jumps) and its orbit pass against the
reference detector's events of those types: the same events, times, places and details to
the byte."""

from __future__ import annotations

import numpy as np
import pytest
from _oracle import FEEDS, compiled, corpora, reference

from tailwatch.detect.columns import Columns, take

TYPES = ("first_seen", "squawk_change", "emergency", "gnss_degradation",
         "implausible_position", "orbit")


def _table(ev: Columns) -> list[tuple[object, ...]]:
    ev = take(ev, np.isin(ev["type"], TYPES))
    rows = []
    for i in range(ev["t"].shape[0]):
        fid = ev["flight_id"][i] if ev["type"][i] == "first_seen" else ""
        rows.append((float(ev["t"][i]), int(ev["icao24"][i]), str(ev["type"][i]), fid,
                     str(ev["airport"][i]), float(ev["lat"][i]), float(ev["lon"][i]),
                     str(ev["details"][i])))
    return sorted(rows, key=lambda r: (r[0], r[1], r[2], r[7]))


@pytest.mark.parametrize("how", FEEDS)
@pytest.mark.parametrize("name", sorted(corpora()))
def test_row_events_are_the_reference_ones(name: str, how: str) -> None:
    ref = _table(reference(name, how).events)
    got = _table(compiled(name, how).events)
    assert any(r[2] == "first_seen" for r in ref)
    missing = [r for r in ref if r not in got][:3]
    extra = [r for r in got if r not in ref][:3]
    assert ref == got, f"{name}/{how}: missing {missing}, extra {extra}"


def test_the_anomalies_corpus_has_every_kind_of_row_event() -> None:
    kinds = {r[2] for r in _table(compiled("synthetic_anomalies", "whole").events)}
    assert set(TYPES) <= kinds, kinds
