"""Pass 1 of the compiled detector (accept, kinematics, airports, effective state) against
the reference detector: identical rows, values and counters on every corpus, whatever the
batching."""

from __future__ import annotations

import numpy as np
import pytest
from _oracle import DERIVED, FEEDS, compiled, corpora, reference, run_reference, sorted_rows

from tailwatch.detect.columns import Columns


def _assert_same(ref: Columns, got: Columns, where: str, keys: tuple[str, ...]) -> None:
    assert ref["t"].shape == got["t"].shape, f"{where}: {ref['t'].shape} != {got['t'].shape}"
    for k in ("icao24", "t", *keys):
        a, b = np.asarray(ref[k]), np.asarray(got[k])
        bad = a != b
        if a.dtype.kind == "f":
            bad &= ~(np.isnan(a) & np.isnan(b))
        assert not bad.any(), (f"{where}: column {k} differs at {int(bad.sum())} rows, first "
                               f"{np.flatnonzero(bad)[:5]}: {a[bad][:5]} != {b[bad][:5]}")


@pytest.mark.parametrize("how", FEEDS)
@pytest.mark.parametrize("name", sorted(corpora()))
def test_derived_rows_are_the_reference_ones(name: str, how: str) -> None:
    ref, got = reference(name, how), compiled(name, how)
    assert ref.derived["t"].shape[0] > 100
    _assert_same(ref.derived, got.derived, f"{name}/{how}", DERIVED)
    assert got.rejects.get("compiled_lookback_overflow", 0) == 0
    for key in ("detect_no_position", "detect_same_time", "detect_out_of_order",
                "detect_frozen_position"):
        assert got.rejects.get(key, 0) == ref.rejects.get(key, 0), (name, how, key)


def test_the_reference_rows_do_not_depend_on_the_batching() -> None:
    """What makes the comparisons above meaningful for any batching."""
    from _oracle import batches, corpus

    pos = corpus("zurich_airport")
    whole = sorted_rows(run_reference(batches(pos, "whole")).derived, DERIVED)
    split = sorted_rows(run_reference(batches(pos, "random", 3)).derived, DERIVED)
    _assert_same(whole, split, "reference whole vs random", DERIVED)
