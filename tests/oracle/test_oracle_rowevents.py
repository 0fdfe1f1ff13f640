"""Pass 3 of the compiled detector (first sight, squawk changes and emergency squawks, ADS-B
emergency status, GNSS integrity drops, implausible jumps) against the reference detector's
events of those types: the same events, times, places and details to the byte."""

from __future__ import annotations

import numpy as np
import pytest
from _oracle import corpora, iter_feeds, reference_has_frozen_rule

from tailwatch.detect.columns import Columns, take
from tailwatch.detect.compiled.decide import StatePasses
from tailwatch.detect.compiled.rowevents import RowEventsPass
from tailwatch.detect.flights import concat_events
from tailwatch.detect.params import DetectParams

CORPORA = corpora()
TYPES = ("first_seen", "squawk_change", "emergency", "gnss_degradation",
         "implausible_position")
EVERY_CALL = DetectParams(process_every_s=0.0)


def _reference_events(feed: list[Columns], params: DetectParams) -> Columns:
    from tailwatch.detect import FlightDetector

    det = FlightDetector(params)
    parts = [det.update(p)[1] for p in feed]
    parts.append(det.flush()[1])
    return concat_events(parts)


def _compiled_events(feed: list[Columns], params: DetectParams) -> Columns:
    sp = StatePasses(params, frozen=reference_has_frozen_rule())
    rp = RowEventsPass(params)
    parts = []
    for p in feed:
        rp.update(sp.update(p))
        if sp.evicted.size:
            rp.reset(sp.evicted)
        parts.append(rp.events.take())
    rp.update(sp.flush())
    parts.append(rp.events.take())
    return concat_events(parts)


def _table(ev: Columns) -> list[tuple[object, ...]]:
    keep = np.isin(ev["type"], TYPES)
    ev = take(ev, keep)
    rows = []
    for i in range(ev["t"].shape[0]):
        fid = ev["flight_id"][i] if ev["type"][i] == "first_seen" else ""
        rows.append((float(ev["t"][i]), int(ev["icao24"][i]), str(ev["type"][i]), fid,
                     str(ev["airport"][i]), float(ev["lat"][i]), float(ev["lon"][i]),
                     str(ev["details"][i])))
    return sorted(rows, key=lambda r: (r[0], r[1], r[2], r[7]))


@pytest.mark.parametrize("name", sorted(CORPORA))
def test_row_events_are_the_reference_ones(name: str) -> None:
    pos = CORPORA[name]()
    for how, feed in iter_feeds(pos, seeds=1):
        params = DetectParams() if how.startswith("random") else EVERY_CALL
        ref = _table(_reference_events(feed, params))
        got = _table(_compiled_events(feed, params))
        assert any(r[2] == "first_seen" for r in ref)
        missing = [r for r in ref if r not in got][:3]
        extra = [r for r in got if r not in ref][:3]
        assert ref == got, f"{name}/{how}: missing {missing}, extra {extra}"


def test_the_anomalies_corpus_has_every_kind_of_row_event() -> None:
    ev = _compiled_events([CORPORA["synthetic_anomalies"]()], EVERY_CALL)
    kinds = set(ev["type"].tolist())
    assert set(TYPES) <= kinds, kinds
