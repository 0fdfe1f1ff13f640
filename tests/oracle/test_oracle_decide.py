"""Pass 2 of the compiled detector (the air/ground hysteresis, with rows carried between
batches, time-outs and eviction) against the reference detector's decided states, row for
row, on every corpus and batching."""

from __future__ import annotations

import numpy as np
import pytest
from _oracle import corpora, iter_feeds, reference_has_frozen_rule, run_reference, sorted_rows

from tailwatch.detect.columns import Columns
from tailwatch.detect.compiled.decide import StatePasses
from tailwatch.detect.params import DetectParams

CORPORA = corpora()
EVERY_CALL = DetectParams(process_every_s=0.0)


def _compiled(feed: list[Columns], params: DetectParams) -> Columns:
    sp = StatePasses(params, frozen=reference_has_frozen_rule())
    parts = [sp.update(p) for p in feed]
    parts.append(sp.flush())
    return sorted_rows([p for p in parts if p], ("state",))


def _assert_same_states(ref: Columns, got: Columns, where: str) -> None:
    assert ref["t"].shape == got["t"].shape, f"{where}: {ref['t'].shape} != {got['t'].shape}"
    for k in ("icao24", "t", "state"):
        bad = np.asarray(ref[k]) != np.asarray(got[k])
        assert not bad.any(), (f"{where}: {k} differs at {int(bad.sum())} rows, first at t="
                               f"{ref['t'][bad][:3]} icao24={ref['icao24'][bad][:3]}")


@pytest.mark.parametrize("name", sorted(CORPORA))
def test_decided_states_are_the_reference_ones(name: str) -> None:
    pos = CORPORA[name]()
    for how, feed in iter_feeds(pos, seeds=1):
        # the reference at its default cadence (process_every_s 10 s) on the random splits:
        # its states do not depend on the cadence
        params = DetectParams() if how.startswith("random") else EVERY_CALL
        ref = sorted_rows(run_reference(feed, params).decided, ("state",))
        assert ref["t"].shape[0] > 100
        got = _compiled(feed, EVERY_CALL)
        _assert_same_states(ref, got, f"{name}/{how}")
        assert set(np.unique(got["state"]).tolist()) <= {0, 1}
