"""The compiled detector as a whole against the reference detector (``FlightDetector``): on
every corpus and feed, the same flights (every column of the last version of each
``flight_id``), the same events (times, places, evidence) and the same counters.

The candidate is ``tailwatch.detect.compiled.detector.CompiledDetector`` (skipped, with the
reason, while that module does not exist); ``TAILWATCH_ORACLE_CANDIDATE=module:Class`` picks
another class with the same constructor and public API, e.g.
``tailwatch.detect.flights:FlightDetector`` to check this harness against itself.

Tolerances: strings, integers and booleans exactly; floats to ``math.isclose(rel_tol=1e-9,
abs_tol=1e-6)`` with NaN equal to NaN; times (the flights' ``first_seen``, ``last_seen``,
``takeoff_t``, ``landing_t``, the events' ``t`` and every ``*_t`` key of the evidence) to
1e-6 s absolute only, since a relative 1e-9 of an epoch time (1.7e9 s) would let 1.7 s
through, more than the step between two positions. The evidence (``details``) is parsed
from its JSON text and compared key by key, so that a float printed with different last
digits is not a difference but an integer turned float (``3`` against ``3.0``) is.

Counters: the reference's reject counters (a key missing counts 0) and the per-reason
``hygiene()`` totals; a counter only the candidate has must stay 0
(:data:`COMPILED_OWN_REJECTS`). Flights still open after ``flush`` are a failure.

Besides the plain feeds, the same comparison with tracker rejects passed beside the batches
(``_oracle.with_tracker_rejects``), and a check that the reference's output does not
depend on its cadence (``process_every_s`` 0 s against 10 s). These two leave the heaviest
corpora out unless ``TAILWATCH_ORACLE_FULL=1``.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import os
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from _oracle import FEEDS, Output, corpora, detector_output, params_for, reference_output

from tailwatch.core.schema import FLIGHT_FIELDS
from tailwatch.detect.columns import Columns
from tailwatch.detect.params import DetectParams

CANDIDATE_ENV = "TAILWATCH_ORACLE_CANDIDATE"
CANDIDATE = "tailwatch.detect.compiled.detector:CompiledDetector"
REL_TOL = 1e-9
ABS_TOL = 1e-6
TIME_ABS_TOL_S = 1e-6
TIME_COLUMNS = frozenset({"first_seen", "last_seen", "takeoff_t", "landing_t"})
SHOW = 5  # differences listed in a failure message

COMPILED_OWN_REJECTS = frozenset({"compiled_lookback_overflow"})
"""Reject counters only the compiled detector has: its own bounds (positions a pass could
not look back over), which the reference does not have. They must stay at 0 on these
corpora: a count there means the compiled detector approximated, and its output is then
no longer the reference's."""


def candidate_class() -> Callable[[DetectParams], Any]:
    """The detector class under test (see the module docstring); skips the calling test
    while the class does not exist yet."""
    spec = os.environ.get(CANDIDATE_ENV, CANDIDATE)
    module_name, _, class_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module_name.startswith(exc.name):
            raise  # the module exists but one of its own imports is missing
        pytest.skip(f"candidate detector {spec}: module {exc.name} does not exist yet")
    cls = getattr(module, class_name, None)
    if cls is None:
        pytest.skip(f"candidate detector {spec}: {module_name} has no {class_name} yet")
    assert callable(cls), spec
    return cls  # type: ignore[no-any-return]


def candidate_output(name: str, how: str) -> Output:
    return detector_output(candidate_class(), name, how)


# --- comparing values ------------------------------------------------------------------------


def _is_number(x: object) -> bool:
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(
        x, bool | np.bool_)


def value_difference(a: object, b: object, path: str = "", is_time: bool = False
                     ) -> str | None:
    """Where ``b`` differs from ``a`` (``None`` when it does not), for plain values and the
    parsed JSON of the evidence (dicts and lists compared recursively)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return (f"{path or '.'}: keys {sorted(set(a) - set(b))} missing, "
                    f"{sorted(set(b) - set(a))} extra")
        for k in a:
            diff = value_difference(a[k], b[k], f"{path}.{k}", k.endswith("_t"))
            if diff is not None:
                return diff
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            diff = value_difference(x, y, f"{path}[{i}]", is_time)
            if diff is not None:
                return diff
        return None
    if (isinstance(a, float | np.floating) and isinstance(b, float | np.floating)):
        fa, fb = float(a), float(b)
        if math.isnan(fa) and math.isnan(fb):
            return None
        close = (math.isclose(fa, fb, rel_tol=0.0, abs_tol=TIME_ABS_TOL_S) if is_time else
                 math.isclose(fa, fb, rel_tol=REL_TOL, abs_tol=ABS_TOL))
        return None if close else f"{path}: {fa!r} != {fb!r}"
    if _is_number(a) and _is_number(b) and isinstance(a, float) != isinstance(b, float):
        return f"{path}: {a!r} != {b!r} (integer against float)"
    if type(a) is not type(b) or a != b:
        return f"{path}: {a!r} != {b!r}"
    return None


# --- flights ---------------------------------------------------------------------------------


def _flight_rows(flights: Columns) -> dict[str, dict[str, object]]:
    cols = {f.name: np.asarray(flights[f.name]).tolist() for f in FLIGHT_FIELDS}
    return {fid: {k: v[i] for k, v in cols.items()}
            for i, fid in enumerate(cols["flight_id"])}


def flight_differences(ref: Columns, got: Columns) -> list[str]:
    """Every difference between two merged flight tables, one line each: flights missing,
    flights extra, and per common flight each column that differs."""
    a, b = _flight_rows(ref), _flight_rows(got)
    out = [f"flight {fid} missing (n_positions {a[fid]['n_positions']})"
           for fid in sorted(set(a) - set(b))]
    out += [f"flight {fid} extra (n_positions {b[fid]['n_positions']})"
            for fid in sorted(set(b) - set(a))]
    for fid in sorted(set(a) & set(b)):
        for k in a[fid]:
            diff = value_difference(a[fid][k], b[fid][k], k, k in TIME_COLUMNS)
            if diff is not None:
                out.append(f"flight {fid}: {diff}")
    return out


# --- events ----------------------------------------------------------------------------------

Event = tuple[float, int, str, str, str, float, float, Any]


def _event_rows(events: Columns) -> list[Event]:
    cols = [np.asarray(events[k]).tolist()
            for k in ("t", "icao24", "type", "flight_id", "airport", "lat", "lon", "details")]
    return [(t, icao, typ, fid, apt, lat, lon, json.loads(det))
            for t, icao, typ, fid, apt, lat, lon, det in zip(*cols, strict=True)]


def _event_difference(a: Event, b: Event) -> str | None:
    for path, x, y, is_time in (("t", a[0], b[0], True), ("lat", a[5], b[5], False),
                                ("lon", a[6], b[6], False), ("details", a[7], b[7], False)):
        diff = value_difference(x, y, path, is_time)
        if diff is not None:
            return diff
    return None


def describe_event(e: Event) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(e[0])) if math.isfinite(e[0]) else "?"
    return (f"{e[2]} t={e[0]:.3f} ({stamp}Z) icao24={e[1] & 0xFFFFFF:06x} "
            f"flight={e[3] or '-'} airport={e[4] or '-'}")


def event_differences(ref: Columns, got: Columns) -> tuple[list[str], list[str]]:
    """The events of ``ref`` that ``got`` lacks and those it has in excess (as a multiset:
    events of one aircraft, type, flight and airport matched in time order when their
    times, places and evidence agree), one line each; a missing event with an extra one of
    the same aircraft, type, flight and airport near in time names the first difference."""
    groups: dict[tuple[int, str, str, str], tuple[list[Event], list[Event]]] = defaultdict(
        lambda: ([], []))
    for side, rows in enumerate((_event_rows(ref), _event_rows(got))):
        for e in rows:
            groups[(e[1], e[2], e[3], e[4])][side].append(e)
    missing: list[str] = []
    extra: list[str] = []
    for a_rows, b_rows in groups.values():
        left = sorted(b_rows, key=lambda e: e[0])
        unmatched: list[Event] = []
        for e in sorted(a_rows, key=lambda e: e[0]):
            j = next((j for j, o in enumerate(left) if _event_difference(e, o) is None), None)
            if j is None:
                unmatched.append(e)
            else:
                del left[j]
        for e in unmatched:
            near = min(left, key=lambda o: abs(o[0] - e[0]), default=None)
            why = ""
            if near is not None and abs(near[0] - e[0]) < 600.0:
                why = f" (the candidate's nearest one differs: {_event_difference(e, near)})"
            missing.append(describe_event(e) + why)
        extra += [describe_event(e) for e in left]
    return sorted(missing), sorted(extra)


# --- the tests -------------------------------------------------------------------------------


def _listed(lines: list[str]) -> str:
    more = f"\n  ... and {len(lines) - SHOW} more" if len(lines) > SHOW else ""
    return "".join(f"\n  {x}" for x in lines[:SHOW]) + more


def assert_same_flights(ref: Output, got: Output, where: str) -> None:
    diffs = flight_differences(ref.flights, got.flights)
    n = len(ref.flights["flight_id"])
    assert not diffs, f"{where}: {len(diffs)} differences over {n} flights:{_listed(diffs)}"


def assert_same_events(ref: Output, got: Output, where: str) -> None:
    missing, extra = event_differences(ref.events, got.events)
    assert not (missing or extra), (
        f"{where}: {len(missing)} of {len(ref.events['t'])} events missing:{_listed(missing)}"
        f"\n{len(extra)} extra:{_listed(extra)}")


def assert_same_counters(ref: Output, got: Output, where: str) -> None:
    for key, n in ref.rejects.items():
        assert got.rejects.get(key, 0) == n, f"{where}: rejects[{key!r}] {got.rejects} != {n}"
    own = {k: v for k, v in got.rejects.items() if v and k not in ref.rejects}
    assert not own, f"{where}: counters the reference does not have: {own}"
    nonzero = {k: v for k, v in ref.hygiene.items() if v}
    assert {k: v for k, v in got.hygiene.items() if v} == nonzero, f"{where}: hygiene()"
    assert (ref.n_open, got.n_open) == (0, 0), f"{where}: flights open after flush"


NAMES = sorted(corpora())


@pytest.mark.parametrize("how", FEEDS)
@pytest.mark.parametrize("name", NAMES)
def test_flights_are_the_reference_ones(name: str, how: str) -> None:
    got = candidate_output(name, how)
    assert_same_flights(reference_output(name, how), got, f"{name}/{how}")


@pytest.mark.parametrize("how", FEEDS)
@pytest.mark.parametrize("name", NAMES)
def test_events_are_the_reference_ones(name: str, how: str) -> None:
    got = candidate_output(name, how)
    ref = reference_output(name, how)
    assert ref.events["t"].shape[0] > 0
    assert_same_events(ref, got, f"{name}/{how}")


@pytest.mark.parametrize("how", FEEDS)
@pytest.mark.parametrize("name", NAMES)
def test_counters_are_the_reference_ones(name: str, how: str) -> None:
    got = candidate_output(name, how)
    assert_same_counters(reference_output(name, how), got, f"{name}/{how}")


FULL = os.environ.get("TAILWATCH_ORACLE_FULL") == "1"
HEAVY = frozenset({"shared_calfire_week", "shared_tv_relay", "sim_world_smoke"})
"""Corpora the extra matrices below leave out (but for the random splits with tracker
rejects) unless ``TAILWATCH_ORACLE_FULL=1``: their extra runs alone (two detectors over
time slices of a few thousand batches; for sim_world_smoke, the reference processing 300
aircraft at every one of ~300 random batches, 20 s) would take about as long as the rest
of this file."""


def _light(feeds: tuple[str, ...], heavy_feeds: tuple[str, ...]) -> list[tuple[str, str]]:
    """(corpus, feed) of ``feeds`` for every corpus, of ``heavy_feeds`` for the heavy ones
    (all of ``feeds`` with ``TAILWATCH_ORACLE_FULL=1``)."""
    return [(n, h) for n in NAMES for h in feeds
            if FULL or n not in HEAVY or h in heavy_feeds]


@pytest.mark.parametrize(("name", "how"), _light(("random0", "slices0"), ("random0",)))
def test_tracker_rejects_give_the_reference_output(name: str, how: str) -> None:
    """With the tracker's rejects passed beside the batches (``update(batch, rejects=...)``,
    some in calls without positions, some for aircraft not in the batch or never seen):
    the same ``implausible_position`` events (time, flight, accumulated counts) and the
    same everything else."""
    from tailwatch.detect import FlightDetector

    got = detector_output(candidate_class(), name, how, tracker_rejects=True)
    ref = detector_output(FlightDetector, name, how, tracker_rejects=True)
    assert (ref.events["type"] == "implausible_position").any()
    where = f"{name}/{how} with tracker rejects"
    assert_same_events(ref, got, where)
    assert_same_flights(ref, got, where)
    assert_same_counters(ref, got, where)


@pytest.mark.parametrize("name", [n for n in NAMES if FULL or n not in HEAVY])
def test_open_flights_after_every_call_are_the_reference_ones(name: str) -> None:
    """With both processing every aircraft at every call (``process_every_s`` 0, as on the
    time slices), the flights open after each call are the reference's. (At the default
    cadence they need not be: the reference holds an aircraft's positions back for up to
    10 s of data time, a candidate may show them at once.)"""
    from tailwatch.detect import FlightDetector

    how = "slices0"
    assert params_for(how).process_every_s == 0.0
    got = detector_output(candidate_class(), name, how, open_every_call=True).open_per_call
    ref = detector_output(FlightDetector, name, how, open_every_call=True).open_per_call
    assert ref is not None and got is not None and len(ref) == len(got)
    assert any(len(o["flight_id"]) for o in ref)
    for k, (a, b) in enumerate(zip(ref, got, strict=True)):
        diffs = flight_differences(a, b)
        assert not diffs, f"{name}/{how}, open flights after call {k}:{_listed(diffs)}"


# --- the harness itself ----------------------------------------------------------------------


def _other_cadence(how: str) -> DetectParams:
    p = params_for(how)
    return dataclasses.replace(p, process_every_s=0.0 if p.process_every_s else 10.0)


@pytest.mark.parametrize(("name", "how"), _light(("random0", "slices0"), ()))
def test_the_reference_does_not_depend_on_its_cadence(name: str, how: str) -> None:
    """The reference processing each aircraft at every call gives what it gives at its
    default cadence (every 10 s of data time) on the same batches: the property that lets
    a candidate be compared at either. (It does not hold at every cadence: the time-outs
    look at an aircraft's last processed position only, so from a cadence of 30 s on an
    aircraft is timed out, ``leave_coverage`` at that position, while a newer one waits for
    its turn, as in shared_calfire_week/slices0.)"""
    from tailwatch.detect import FlightDetector

    where = f"{name}/{how}, the reference at process_every_s {_other_cadence(how)}"
    ref = reference_output(name, how)
    got = detector_output(FlightDetector, name, how, _other_cadence(how))
    assert_same_flights(ref, got, where)
    assert_same_events(ref, got, where)
    assert_same_counters(ref, got, where)


def _perturbed(events: Columns, row: int, **changes: object) -> Columns:
    out = {k: np.array(v, copy=True) for k, v in events.items()}
    for k, v in changes.items():
        out[k][row] = v
    return out


def test_the_comparison_sees_what_matters_and_only_that() -> None:
    ref = reference_output("synthetic_anomalies", "whole")
    ev = ref.events
    i = int(np.flatnonzero(ev["type"] == "orbit")[0])
    details = json.loads(ev["details"][i])
    assert event_differences(ev, ev) == ([], [])
    assert event_differences(ev, _perturbed(ev, i, t=ev["t"][i] + 1e-7)) == ([], [])
    late = event_differences(ev, _perturbed(ev, i, t=ev["t"][i] + 1e-3))
    assert len(late[0]) == len(late[1]) == 1 and "orbit" in late[0][0], late
    wider = json.dumps(details | {"radius_nm": details["radius_nm"] * (1 + 1e-6)})
    missing, extra = event_differences(ev, _perturbed(ev, i, details=wider))
    assert "details.radius_nm" in missing[0] and len(extra) == 1, missing
    as_int = json.dumps(details | {"turn_deg": 720})
    assert event_differences({**ev, "details": np.array([as_int if k == i else d for k, d in
                                                         enumerate(ev["details"])], object)},
                             ev)[0], "an integer against a float is a difference"
    dropped = {k: np.delete(v, i) for k, v in ev.items()}
    assert event_differences(ev, dropped) == ([describe_event(_event_rows(ev)[i])], [])

    fl = ref.flights
    assert flight_differences(fl, fl) == []
    j = int(np.flatnonzero(np.isfinite(fl["distance_nm"]))[0])
    longer = _perturbed(fl, j, distance_nm=fl["distance_nm"][j] * 1.01)
    assert [d.split(":")[1].strip() for d in flight_differences(fl, longer)] == ["distance_nm"]
    nan_twice = _perturbed(fl, j, landing_t=np.nan)
    assert flight_differences(nan_twice, nan_twice) == []
    fewer = {k: np.delete(v, j) for k, v in fl.items()}
    assert flight_differences(fl, fewer) == [
        f"flight {fl['flight_id'][j]} missing (n_positions {fl['n_positions'][j]})"]
