"""The oracle harness: the reference detector (``tailwatch.detect.FlightDetector``, whatever
its current rules are) run over a corpus, with what its passes computed captured per
position, so that each compiled pass can be compared with it row for row.

The reference is used through a subclass that records the rows its per-aircraft steps
produce (``_derive``: the derived columns of the accepted positions; ``_consume``: the decided
air/ground state of each position). Pointing the harness at a corrected detector needs nothing
here as long as those two steps keep their names and column names; if they change, the
capture below is the one place to adapt.

Corpora (:func:`corpora`): the real trajectories in tests/data, those in ../shared/data
(skipped when absent), simulator scenarios decoded and tracked (one busy, ``_scenes``),
synthetic itineraries and synthetic approaches and go-arounds (``_scenes``).
Feeding (:func:`batches`): the whole history at once, random batch splits, and time slices.
"""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _scenes
import numpy as np

from tailwatch.detect import FlightDetector, from_traffic_records
from tailwatch.detect.columns import Columns, n_rows, take
from tailwatch.detect.params import DetectParams

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared" / "data" / "trajectories"

DERIVED = ("_v", "_trk", "_alt", "_eff", "_apt", "_aptd", "_h", "_step")


def reference_hygiene() -> dict[str, bool]:
    """Which data hygiene rules the reference detector has (tailwatch.detect.hygiene), as
    :class:`~tailwatch.detect.compiled.derive.DerivePass`'s switches."""
    try:
        from tailwatch.detect import hygiene
    except ImportError:
        return {"frozen": False, "interpolated": False, "track_mismatch": False}
    return {"frozen": hasattr(FlightDetector, "_drop_frozen"),
            "interpolated": hasattr(hygiene, "interpolated_rows"),
            "track_mismatch": hasattr(DetectParams(), "track_mismatch_deg")}


class CapturingDetector(FlightDetector):
    """The reference detector, recording its derived rows, decided states and events."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.derived: list[Columns] = []
        self.decided: list[Columns] = []
        self.events: list[Columns] = []
        self.flights: list[Columns] = []

    def _derive(self, ac: Any, new: Columns) -> None:
        n0 = n_rows(ac.buf)
        super()._derive(ac, new)
        b = ac.buf
        part = {k: np.array(b[k][n0:]) for k in ("t", *DERIVED)}
        part["icao24"] = np.full(part["t"].shape[0], ac.icao, np.uint32)
        self.derived.append(part)

    def _consume(self, ac: Any, lo: int, hi: int, states: np.ndarray) -> None:
        b = ac.buf
        self.decided.append({"icao24": np.full(hi - lo, ac.icao, np.uint32),
                             "t": np.array(b["t"][lo:hi]), "state": np.array(states)})
        super()._consume(ac, lo, hi, states)


def sorted_rows(parts: list[Columns], keys: tuple[str, ...]) -> Columns:
    """Rows of several captures in one table sorted by (icao24, t)."""
    parts = [p for p in parts if p["t"].shape[0]]
    if not parts:
        return {k: np.zeros(0) for k in ("icao24", "t", *keys)}
    cols = {k: np.concatenate([p[k] for p in parts]) for k in ("icao24", "t", *keys)}
    order = np.lexsort((cols["t"], cols["icao24"]))
    return take(cols, order)


def run_reference(feed: list[Columns], params: DetectParams | None = None
                  ) -> CapturingDetector:
    """The reference detector over ``feed`` (then flushed), capturing."""
    det = CapturingDetector(params)
    for part in feed:
        flights, events = det.update(part)
        det.flights.append(flights)
        det.events.append(events)
    flights, events = det.flush()
    det.flights.append(flights)
    det.events.append(events)
    return det


@dataclass(frozen=True)
class Output:
    """What a whole detector returned over one feed (``update`` per batch, then ``flush``):
    its flights merged (the last version of each ``flight_id``, as stores upsert them), its
    events in time order, its reject and hygiene counters and how many flights it still
    held open after the flush."""

    flights: Columns
    events: Columns
    rejects: dict[str, int]
    hygiene: dict[str, int]
    n_open: int
    open_per_call: tuple[Columns, ...] | None = None
    """With ``open_every_call``: ``open_flights()`` after each ``update``."""


@dataclass(frozen=True)
class Run:
    """What a detector computed over one feed: derived rows, decided states (sorted by
    (icao24, t)), events, reject counters (and, for the reference, its whole output)."""

    derived: Columns
    decided: Columns
    events: Columns
    rejects: dict[str, int]
    output: Output | None = None


FEEDS = ("whole", "random0", "slices0")


def params_for(how: str) -> DetectParams:
    """The reference at its default cadence (process_every_s 10 s) on the random splits, at
    every call elsewhere: its results do not depend on the cadence."""
    return DetectParams() if how.startswith("random") else DetectParams(process_every_s=0.0)


@functools.cache
def corpus(name: str) -> Columns:
    return corpora()[name]()


@functools.cache
def feed_of(name: str, how: str) -> list[Columns]:
    pos = corpus(name)
    if how == "whole":
        return batches(pos, "whole")
    kind, seed = how[:-1], int(how[-1])
    return batches(pos, kind, seed)


@functools.cache
def reference(name: str, how: str) -> Run:
    """The reference detector over a corpus fed one way (cached: every oracle test of the
    session reads the same run)."""
    from tailwatch.detect.flights import concat_events

    det = run_reference(feed_of(name, how), params_for(how))
    return Run(sorted_rows(det.derived, DERIVED), sorted_rows(det.decided, ("state",)),
               concat_events(det.events), dict(det.rejects),
               _output_of(det, det.flights, det.events))


def _output_of(det: Any, flights: list[Columns], events: list[Columns],
               open_per_call: list[Columns] | None = None) -> Output:
    from tailwatch.detect.output import concat_events, merge_flights, n_rows_flights

    return Output(merge_flights(flights), concat_events(events), dict(det.rejects),
                  dict(det.hygiene()), n_rows_flights(det.open_flights()),
                  None if open_per_call is None else tuple(open_per_call))


TrackerRejects = dict[int, dict[str, int]]
"""Positions the tracker rejected since the last call, per address and reason."""


def run_detector(cls: Callable[[DetectParams], Any], feed: list[Columns],
                 params: DetectParams, rejects: list[TrackerRejects] | None = None,
                 open_every_call: bool = False) -> Output:
    """Any detector with the reference's public API (``cls(params)``, ``update``, ``flush``,
    ``rejects``, ``hygiene()``, ``open_flights()``) over ``feed``, then flushed; ``rejects``:
    the tracker rejects passed with each batch (``update(batch, rejects=...)``);
    ``open_every_call``: keep ``open_flights()`` after each call."""
    det = cls(params)
    flights: list[Columns] = []
    events: list[Columns] = []
    open_per_call: list[Columns] | None = [] if open_every_call else None
    for k, part in enumerate(feed):
        fl, evs = det.update(part, rejects=rejects[k]) if rejects else det.update(part)
        flights.append(fl)
        events.append(evs)
        if open_per_call is not None:
            open_per_call.append(det.open_flights())
    fl, evs = det.flush()
    flights.append(fl)
    events.append(evs)
    return _output_of(det, flights, events, open_per_call)


def reference_output(name: str, how: str) -> Output:
    """The reference detector's whole output over a corpus fed one way (the cached
    :func:`reference` run)."""
    out = reference(name, how).output
    assert out is not None
    return out


@functools.cache
def detector_output(cls: Callable[[DetectParams], Any], name: str, how: str,
                    params: DetectParams | None = None, tracker_rejects: bool = False,
                    open_every_call: bool = False) -> Output:
    """:func:`run_detector` over a corpus fed one way, with ``params`` (default
    :func:`params_for` the feed), with the tracker rejects of :func:`with_tracker_rejects`
    or without, keeping the open flights after each call or not (cached per arguments)."""
    params = params if params is not None else params_for(how)
    if tracker_rejects:
        feed, rejects = with_tracker_rejects(name, how)
        return run_detector(cls, feed, params, rejects, open_every_call)
    return run_detector(cls, feed_of(name, how), params, None, open_every_call)


STRANGER = 0xA0F00D
"""An address :func:`with_tracker_rejects` gives tracker rejects and never a position."""


@functools.cache
def with_tracker_rejects(name: str, how: str, seed: int = 0
                         ) -> tuple[list[Columns], list[TrackerRejects]]:
    """The batches of a corpus fed one way with tracker rejects beside them, as the pipeline
    passes them (``update(batch, rejects=...)``): with each batch, rejects of up to three of
    its aircraft (one or two reasons, some counts 0) and now and then of an aircraft of an
    earlier batch or of :data:`STRANGER`; after every fifth batch a call without positions
    that brings rejects only."""
    from tailwatch.track.tracker import IMPLAUSIBLE_REJECTS

    rng = np.random.default_rng(seed + 1000)
    feed: list[Columns] = []
    rejects: list[TrackerRejects] = []
    seen: list[int] = []  # a few aircraft of earlier batches
    for k, part in enumerate(feed_of(name, how)):
        here = np.unique(part["icao24"]).tolist()
        chosen = rng.permutation(here)[:3].tolist() if here else []
        if seen and rng.random() < 0.2:
            chosen.append(seen[int(rng.integers(len(seen)))])
        if rng.random() < 0.3:
            chosen.append(STRANGER)
        counts = {int(a): {str(r): int(rng.integers(0, 4))
                           for r in rng.choice(IMPLAUSIBLE_REJECTS, int(rng.integers(1, 3)),
                                               replace=False)}
                  for a in chosen}
        feed.append(part)
        rejects.append(counts)
        if len(seen) < 100:
            seen += [a for a in here[:5] if a not in seen]
        if k % 5 == 4 and chosen:
            feed.append(take(part, slice(0, 0)))
            rejects.append({int(chosen[0]): {"speed": int(rng.integers(1, 3))}})
    return feed, rejects


@functools.cache
def compiled(name: str, how: str) -> Run:
    """The compiled passes over the same feed (cached)."""
    from tailwatch.detect.compiled import RowEventsPass, StatePasses
    from tailwatch.detect.compiled.orbits import OrbitPass
    from tailwatch.detect.flights import concat_events

    p = params_for(how)
    sp = StatePasses(p, **reference_hygiene())
    rp = RowEventsPass(p)
    op = OrbitPass(p)
    decided, events = [], []
    for part in [*feed_of(name, how), None]:
        rows = sp.update(part) if part is not None else sp.flush()
        decided.append(rows)
        rp.update(rows)
        op.update(rows)
        if part is not None and sp.evicted.size:
            rp.reset(sp.evicted)
            op.reset(sp.evicted)
        events += [rp.events.take(), op.events.take()]
    dec = sorted_rows([d for d in decided if d], ("state", *DERIVED))
    return Run({k: dec[k] for k in ("icao24", "t", *DERIVED)},
               {k: dec[k] for k in ("icao24", "t", "state")}, concat_events(events),
               dict(sp.derive.rejects))


# --- feeding --------------------------------------------------------------------------------


def batches(pos: Columns, how: str, seed: int = 0) -> list[Columns]:
    """``pos`` in time order cut into batches: ``whole``, ``random`` (random cut points, every
    batch 1 to a few thousand rows, rows of a batch shuffled) or ``slices`` (time slices of
    a random length between 1 s and 10 min)."""
    order = np.argsort(pos["t"], kind="stable")
    pos = take(pos, order)
    n = n_rows(pos)
    if how == "whole" or n == 0:
        return [pos]
    rng = np.random.default_rng(seed)
    if how == "random":
        cuts = np.unique(rng.integers(0, n, max(1, n // 500)))
        out = []
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, n], strict=True):
            if b > a:
                part = take(pos, slice(int(a), int(b)))
                out.append(take(part, rng.permutation(b - a)))
        return out
    if how == "slices":
        out = []
        t0 = float(pos["t"][0])
        end = float(pos["t"][-1])
        a = 0
        while t0 <= end:
            t0 += float(rng.uniform(1.0, 600.0))
            b = int(np.searchsorted(pos["t"], t0, side="left"))
            if b > a:
                out.append(take(pos, slice(a, b)))
            a = b
        if a < n:
            out.append(take(pos, slice(a, n)))
        return out
    raise ValueError(how)


# --- corpora --------------------------------------------------------------------------------


def _traffic(path: Path, max_aircraft: int | None = None) -> Columns:
    with gzip.open(path, "rt") as fh:
        cols = from_traffic_records(json.load(fh))
    if max_aircraft is not None:
        keep = np.unique(cols["icao24"])[:max_aircraft]
        cols = take(cols, np.isin(cols["icao24"], keep))
    return cols


@functools.cache
def simulated(name: str) -> Columns:
    """A built-in simulator scenario, decoded and tracked: the positions."""
    from tailwatch.simulate import load_scenario, simulate

    return _scenes.decoded_and_tracked(simulate(load_scenario(name)))


@functools.cache
def synthetic_itineraries() -> Columns:
    """Airport-to-airport flights of the synthetic module (take-offs, landings, taxi)."""
    from tailwatch.detect import synthetic as sy

    parts = []
    legs = [("LSZH", "14", "EGLL", "27L"), ("EGLL", "09R", "LFPG", "26R"),
            ("LFPG", "08L", "LSZH", "16")]
    for k, (a, ra, b, rb) in enumerate(legs):
        dense = sy.airport_to_airport(sy.runway_end(a, ra), sy.runway_end(b, rb),
                                      1.7e9 + 9000.0 * k)
        cols = sy.sample(dense, 0x4B0000 + k, f"SYN{k}", sample_s=1.0 + 2.0 * k, seed=k)
        parts.append(cols)
    return sy.merge(parts)


@functools.cache
def synthetic_anomalies() -> Columns:
    """The synthetic itineraries with what the event kernels look for: squawk changes (one
    garbled reply, then a real change, then 7700), an ADS-B emergency status, GNSS integrity
    drops and recoveries in the air, and positions jumping 20 NM away and back."""
    cols = {k: v.copy() for k, v in synthetic_itineraries().items()}
    rng = np.random.default_rng(11)
    n = n_rows(cols)
    cols["emergency"] = np.zeros(n, np.int8)
    for icao in np.unique(cols["icao24"]).tolist():
        rows = np.flatnonzero(cols["icao24"] == icao)
        m = rows.size
        cols["squawk"][rows[m // 5]] = 1234  # a single garbled reply: not a change
        cols["squawk"][rows[m // 4: m // 2]] = 4521
        cols["squawk"][rows[m // 2: m // 2 + 40]] = 7700
        cols["emergency"][rows[m // 2 + 5: m // 2 + 30]] = 1
        for lo in rng.integers(m // 6, m - 60, 4).tolist():
            cols["nic"][rows[lo: lo + int(rng.integers(1, 12))]] = 3
            cols["nacp"][rows[lo + 20: lo + 26]] = 4
        for j in rng.integers(m // 6, m - 2, 5).tolist():
            cols["lat"][rows[j]] += 0.33  # 20 NM north for one position
    return _concat_sorted([cols, _circling(0x4B7000, float(cols["t"][0]) + 600.0)])


def _circling(icao24: int, t0: float) -> Columns:
    """An aircraft flying 10 NM circles at 250 kt and FL250 for 70 minutes (five turns),
    after 10 minutes straight: an orbit (with a 5 % chance per position of a missing
    track)."""
    from tailwatch.core.schema import POSITION_FIELDS, empty_columns

    rng = np.random.default_rng(3)
    t = t0 + np.cumsum(rng.uniform(0.8, 1.2, 80 * 60 // 2) * 2.0)
    r_nm, v_kt = 10.0, 250.0
    lat0, lon0 = 47.9, 9.3
    circ = t - t0 >= 600.0
    ang = np.where(circ, (t - t0 - 600.0) * v_kt / 3600.0 / r_nm, 0.0)
    north = np.where(circ, r_nm * np.cos(ang), -(600.0 - (t - t0)) * v_kt / 3600.0 + r_nm)
    east = np.where(circ, r_nm * np.sin(ang), 0.0)
    n = t.shape[0]
    cols = empty_columns(POSITION_FIELDS, n)
    cols["t"] = t
    cols["icao24"] = np.full(n, icao24, np.uint32)
    cols["lat"] = lat0 + north / 60.0
    cols["lon"] = lon0 + east / 60.0 / np.cos(np.radians(lat0))
    trk = np.where(circ, (np.degrees(ang) + 90.0) % 360.0, 0.0)
    trk[rng.random(n) < 0.05] = np.nan
    cols["track_deg"] = trk.astype(np.float32)
    cols["altitude_ft"] = np.full(n, 25_000.0, np.float32)
    cols["gs_kt"] = np.full(n, v_kt, np.float32)
    cols["on_ground"] = np.zeros(n, np.int8)
    cols["squawk"] = np.full(n, 4701, np.int16)
    cols["callsign"] = np.full(n, b"ORB1", "S8")
    cols["emergency"] = np.zeros(n, np.int8)
    return cols


def _concat_sorted(parts: list[Columns]) -> Columns:
    keys = [k for k in parts[0] if all(k in p for p in parts)]
    cols = {k: np.concatenate([p[k] for p in parts]) for k in keys}
    return take(cols, np.argsort(cols["t"], kind="stable"))


@functools.cache
def corpora() -> dict[str, Callable[[], Columns]]:
    """Name → loader of every corpus available here (../shared ones only when present)."""
    out: dict[str, Callable[[], Columns]] = {
        "zurich_airport": lambda: _traffic(DATA / "traffic_zurich_airport.json.gz"),
        "noisy_landing": lambda: _traffic(DATA / "traffic_noisy_landing.json.gz"),
        "noisy_takeoff": lambda: _traffic(DATA / "traffic_noisy_takeoff.json.gz"),
        "sim_emergency": lambda: simulated("emergency"),
        "synthetic_itineraries": synthetic_itineraries,
        "synthetic_anomalies": synthetic_anomalies,
        "synthetic_go_arounds": _scenes.synthetic_go_arounds,
        "sim_world_smoke": _scenes.sim_world_smoke,
    }
    shared = {"shared_switzerland_day": ("traffic_switzerland_day.json.gz", 120),
              "shared_noisy_ground": ("traffic_noisy_ground.json.gz", None),
              "shared_noisy_time_issue": ("traffic_noisy_time_issue.json.gz", None),
              "shared_calfire_week": ("traffic_calfire_week.json.gz", 40),
              "shared_border_control": ("traffic_surveillance_border_control.json.gz", None),
              "shared_tv_relay": ("traffic_tv_relay_tour_de_france.json.gz", None)}
    for name, (file, cap) in shared.items():
        if (SHARED / file).exists():
            out[name] = functools.partial(_traffic, SHARED / file, cap)
    return out


def iter_feeds(pos: Columns, seeds: int = 2) -> Iterator[tuple[str, list[Columns]]]:
    yield "whole", batches(pos, "whole")
    for s in range(seeds):
        yield f"random{s}", batches(pos, "random", s)
        yield f"slices{s}", batches(pos, "slices", s)
