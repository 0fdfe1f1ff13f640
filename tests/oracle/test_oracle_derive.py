"""Pass 1 of the compiled detector (accept, kinematics, airports, effective state) against
the reference detector: identical rows, values and counters on every corpus, whatever the
batching."""

from __future__ import annotations

import numpy as np
import pytest
from _oracle import (
    DERIVED,
    batches,
    corpora,
    iter_feeds,
    reference_has_frozen_rule,
    run_reference,
    sorted_rows,
)

from tailwatch.detect.columns import Columns
from tailwatch.detect.compiled.derive import DerivePass

CORPORA = corpora()


def _compiled(feed: list[Columns]) -> tuple[Columns, DerivePass]:
    d = DerivePass(frozen=reference_has_frozen_rule())
    parts = [d.update(p) for p in feed]
    return sorted_rows(parts, DERIVED), d


def _assert_same(ref: Columns, got: Columns, where: str) -> None:
    assert ref["t"].shape == got["t"].shape, f"{where}: {ref['t'].shape} != {got['t'].shape}"
    for k in ("icao24", "t", *DERIVED):
        a, b = np.asarray(ref[k]), np.asarray(got[k])
        bad = a != b
        if a.dtype.kind == "f":
            bad &= ~(np.isnan(a) & np.isnan(b))
        assert not bad.any(), (f"{where}: column {k} differs at {int(bad.sum())} rows, first "
                               f"{np.flatnonzero(bad)[:5]}: {a[bad][:5]} != {b[bad][:5]}")


@pytest.mark.parametrize("name", sorted(CORPORA))
def test_derived_rows_are_the_reference_ones(name: str) -> None:
    pos = CORPORA[name]()
    ref_det = run_reference(batches(pos, "whole"))
    ref = sorted_rows(ref_det.derived, DERIVED)
    assert ref["t"].shape[0] > 100
    for how, feed in iter_feeds(pos, seeds=1):
        got, d = _compiled(feed)
        _assert_same(ref, got, f"{name}/{how}")
        assert d.rejects.get("compiled_lookback_overflow", 0) == 0
        for key in ("detect_no_position", "detect_same_time", "detect_out_of_order",
                    "detect_frozen_position"):
            assert d.rejects.get(key, 0) == ref_det.rejects.get(key, 0), (name, how, key)


def test_reference_batched_like_the_compiled_pass_gives_the_same_rows() -> None:
    """The reference itself fed in random batches: its rows do not depend on the batching
    (what makes one comparison per corpus enough)."""
    pos = CORPORA["zurich_airport"]()
    whole = sorted_rows(run_reference(batches(pos, "whole")).derived, DERIVED)
    split = sorted_rows(run_reference(batches(pos, "random", 3)).derived, DERIVED)
    _assert_same(whole, split, "reference whole vs random")
