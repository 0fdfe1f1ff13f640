"""The oracle's purpose-built corpora keep their purpose, and the candidate detector's
constructor options (``military=``, ``types=``) give the reference's output.

``synthetic_go_arounds`` exists for the go-around rule (the compiled detector's go-around
watch decides which airborne aircraft near an airport may take the fast way): the
reference must report exactly the go-arounds its scenes were built for, or the
whole-detector comparison on it (test_oracle_detector.py) would no longer test that rule.
``sim_world_smoke`` exists for many take-offs, landings and cruising aircraft at once.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import numpy as np
import pytest
from _oracle import corpus, feed_of, params_for, reference_output, run_detector
from _scenes import EXPECTED_GO_AROUNDS
from test_oracle_detector import (
    assert_same_counters,
    assert_same_events,
    assert_same_flights,
    candidate_class,
)

from tailwatch.detect.columns import Columns, n_rows, take
from tailwatch.detect.params import DetectParams


def test_the_go_around_corpus_has_its_go_arounds() -> None:
    ev = reference_output("synthetic_go_arounds", "whole").events
    got = Counter(int(a) for a in ev["icao24"][ev["type"] == "go_around"])
    want = {a: n for a, n in EXPECTED_GO_AROUNDS.items()}
    assert {a: got.get(a, 0) for a in want} == want
    assert sum(got.values()) >= 6
    kinds = set(ev["type"].tolist())
    assert {"takeoff", "landing", "touch_and_go"} <= kinds, kinds


def fine_batches(pos: Columns, how: str, seed: int = 0) -> list[Columns]:
    """``pos`` in time order cut finer than the common feeds: ``fine_slices`` (time slices
    of 5 to 60 s) or ``fine_random`` (random cut points every ~60 rows, rows of a batch
    shuffled)."""
    pos = take(pos, np.argsort(pos["t"], kind="stable"))
    n = n_rows(pos)
    rng = np.random.default_rng(seed + 50)
    if how == "fine_random":
        cuts = np.unique(rng.integers(1, n, n // 60))
        return [take(pos, a + rng.permutation(b - a))
                for a, b in zip(np.r_[0, cuts], np.r_[cuts, n], strict=True)]
    assert how == "fine_slices", how
    ends = pos["t"][0] + np.cumsum(rng.uniform(5.0, 60.0, int((pos["t"][-1] - pos["t"][0])
                                                             / 5.0) + 2))
    cuts = np.unique(np.searchsorted(pos["t"], ends, side="left"))
    cuts = cuts[(cuts > 0) & (cuts < n)]
    return [take(pos, slice(int(a), int(b)))
            for a, b in zip(np.r_[0, cuts], np.r_[cuts, n], strict=True)]


FINE = ("fine_random", "fine_slices")


def _batch_of(feed: list[Columns], icao24: int, t: float) -> int:
    return next(k for k, part in enumerate(feed)
                if ((part["icao24"] == icao24) & (np.abs(part["t"] - t) < 1e-6)).any())


@pytest.mark.parametrize("how", FINE)
def test_the_go_around_corpus_confirms_a_climb_batches_later(how: str) -> None:
    """A go-around's climb is confirmed minutes after its lowest point, two batches or more
    later on the fine feeds (on the common feeds, ~20 random splits or ~10 time slices over
    the whole corpus, it need not be: hence the comparison on the fine feeds below)."""
    ev = reference_output("synthetic_go_arounds", "whole").events
    feed = fine_batches(corpus("synthetic_go_arounds"), how)
    later = []
    for a, t, d in zip(ev["icao24"], ev["t"], ev["details"], strict=True):
        if d and "climb_confirmed_t" in (details := json.loads(d)):
            t_c = details["climb_confirmed_t"]
            later.append((t_c - t, _batch_of(feed, a, t_c) - _batch_of(feed, a, t)))
    assert any(dt_s > 120.0 and batches >= 2 for dt_s, batches in later), later


@pytest.mark.parametrize("process_every_s", [0.0, 10.0])
@pytest.mark.parametrize("how", FINE)
def test_go_arounds_over_fine_batches_give_the_reference_output(
        how: str, process_every_s: float) -> None:
    """The whole-detector comparison on synthetic_go_arounds fed in small batches: the
    lowest point of most go-arounds, their approach and their confirming climb then come
    in different calls (the compiled detector's go-around watch carries them over)."""
    from tailwatch.detect import FlightDetector

    feed = fine_batches(corpus("synthetic_go_arounds"), how)
    params = DetectParams(process_every_s=process_every_s)
    ref = run_detector(FlightDetector, feed, params)
    got = run_detector(candidate_class(), feed, params)
    assert (ref.events["type"] == "go_around").sum() >= sum(EXPECTED_GO_AROUNDS.values())
    where = f"synthetic_go_arounds/{how} at process_every_s {process_every_s}"
    assert_same_events(ref, got, where)
    assert_same_flights(ref, got, where)
    assert_same_counters(ref, got, where)


def test_the_busy_corpus_is_busy() -> None:
    pos = corpus("sim_world_smoke")
    assert np.unique(pos["icao24"]).size >= 250
    kinds = Counter(reference_output("sim_world_smoke", "whole").events["type"].tolist())
    assert kinds["takeoff"] >= 30 and kinds["landing"] >= 30, kinds


# --- constructor options ----------------------------------------------------------------------

OPTION_CORPORA = ("synthetic_go_arounds", "sim_world_smoke")
"""Corpora on which ``types=`` changes the reference's flights or events (runway needs:
the candidate airports of unseen take-offs and landings)."""
TYPES = ("B744", "A320", "C172", "AT76", "B77W", "E190")


def _options(name: str) -> dict[str, Any]:
    """A few addresses military (every other one of those with an airport in the
    reference's events, up to 8), every address a type designator."""
    addresses = np.unique(corpus(name)["icao24"]).tolist()
    ev = reference_output(name, "whole").events
    at_airports = np.unique(ev["icao24"][ev["airport"] != ""]).tolist()
    return {"military": [int(a) for a in at_airports[::2][:8]],
            "types": {int(a): TYPES[k % len(TYPES)] for k, a in enumerate(addresses)}}


def _with(cls: Any, **options: Any) -> Any:
    def make(params: DetectParams) -> Any:
        return cls(params, **options)
    return make


@pytest.mark.parametrize("name", OPTION_CORPORA)
def test_the_options_matter_on_these_corpora(name: str) -> None:
    """``military=`` brings military_at_civil_airport events, ``types=`` changes flights or
    events: the comparison below tests both options."""
    from test_oracle_detector import event_differences, flight_differences

    from tailwatch.detect import FlightDetector

    options = _options(name)
    feed, params = feed_of(name, "whole"), params_for("whole")
    plain = reference_output(name, "whole")
    military = run_detector(_with(FlightDetector, military=options["military"]), feed, params)
    both = run_detector(_with(FlightDetector, **options), feed, params)
    assert not (plain.events["type"] == "military_at_civil_airport").any()
    assert (military.events["type"] == "military_at_civil_airport").any()
    assert flight_differences(military.flights, both.flights) or any(
        event_differences(military.events, both.events))


@pytest.mark.parametrize(("name", "how"), [
    ("synthetic_go_arounds", "whole"), ("synthetic_go_arounds", "random0"),
    ("synthetic_go_arounds", "slices0"), ("sim_world_smoke", "whole"),
    ("sim_world_smoke", "slices0")])
def test_military_and_types_give_the_reference_output(name: str, how: str) -> None:
    """(sim_world_smoke's random splits left out: 12 s, the reference processing 300
    aircraft in each of ~300 batches.)"""
    from tailwatch.detect import FlightDetector

    options = _options(name)
    feed, params = feed_of(name, how), params_for(how)
    ref = run_detector(_with(FlightDetector, **options), feed, params)
    got = run_detector(_with(candidate_class(), **options), feed, params)
    assert (ref.events["type"] == "military_at_civil_airport").any()
    where = f"{name}/{how} with military= and types="
    assert_same_events(ref, got, where)
    assert_same_flights(ref, got, where)
    assert_same_counters(ref, got, where)
