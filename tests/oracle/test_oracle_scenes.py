"""The oracle's purpose-built corpora keep their purpose, and the candidate detector's
constructor options (``military=``, ``types=``) give the reference's output.

``synthetic_go_arounds`` exists for the go-around rule (the compiled detector's go-around
watch decides which airborne aircraft near an airport may take the fast way): the
reference must report exactly the go-arounds its scenes were built for, or the
whole-detector comparison on it (test_oracle_detector.py) would no longer test that rule.
``sim_world_smoke`` exists for many take-offs, landings and cruising aircraft at once.
"""

from __future__ import annotations

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

from tailwatch.detect.params import DetectParams


def test_the_go_around_corpus_has_its_go_arounds() -> None:
    ev = reference_output("synthetic_go_arounds", "whole").events
    got = Counter(int(a) for a in ev["icao24"][ev["type"] == "go_around"])
    want = {a: n for a, n in EXPECTED_GO_AROUNDS.items()}
    assert {a: got.get(a, 0) for a in want} == want
    assert sum(got.values()) >= 6
    kinds = set(ev["type"].tolist())
    assert {"takeoff", "landing", "touch_and_go"} <= kinds, kinds


def test_the_go_around_corpus_confirms_a_climb_late() -> None:
    """One go-around's climb is confirmed minutes after its lowest point, so that it comes
    several batches later on the random splits and time slices."""
    import json

    ev = reference_output("synthetic_go_arounds", "whole").events
    ga = ev["type"] == "go_around"
    late = [json.loads(d)["climb_confirmed_t"] - t
            for t, d in zip(ev["t"][ga], ev["details"][ga], strict=True)]
    assert max(late) > 120.0, late
    assert len(feed_of("synthetic_go_arounds", "random0")) >= 10


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
