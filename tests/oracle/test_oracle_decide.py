"""Pass 2 of the compiled detector (the air/ground hysteresis, with rows carried between
batches, time-outs and eviction) against the reference detector's decided states, row for
row, on every corpus and batching (the random splits at the reference's default cadence)."""

from __future__ import annotations

import numpy as np
import pytest
from _oracle import FEEDS, compiled, corpora, reference


@pytest.mark.parametrize("how", FEEDS)
@pytest.mark.parametrize("name", sorted(corpora()))
def test_decided_states_are_the_reference_ones(name: str, how: str) -> None:
    ref, got = reference(name, how).decided, compiled(name, how).decided
    assert ref["t"].shape[0] > 100
    assert ref["t"].shape == got["t"].shape, f"{name}/{how}"
    for k in ("icao24", "t", "state"):
        bad = np.asarray(ref[k]) != np.asarray(got[k])
        assert not bad.any(), (f"{name}/{how}: {k} differs at {int(bad.sum())} rows, first at "
                               f"t={ref['t'][bad][:3]} icao24={ref['icao24'][bad][:3]}")
    assert set(np.unique(got["state"]).tolist()) <= {0, 1}
