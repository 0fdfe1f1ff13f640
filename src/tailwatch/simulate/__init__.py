"""The simulator: synthetic Mode S / ADS-B feeds with a known truth.

A scenario (TOML, see docs/simulator.md) declares aircraft and their legs, receivers with
their coverage, background traffic and noise. :func:`simulate` flies every aircraft, lists
what it transmits, encodes it for real (:mod:`tailwatch.encode`), decides which receiver
hears each message, adds the noise, and returns a :class:`Simulation`::

    from tailwatch.simulate import load_scenario, simulate, FeedWriter
    sim = simulate(load_scenario("emergency"))
    sim.frames            # FrameBatch, time ordered, with t_rx, receiver, 12 MHz counter
    sim.truth.positions   # what the tracker should find
    FeedWriter(sim, "beast").encode()   # bytes

Receivers may have their own clocks (``clock = "gps"`` or ``"free"``: exact slant-range
delays on a 12 MHz counter with offset, drift, jitter and resets, see
:mod:`tailwatch.simulate.clocks`) for multilateration, and ``[[interference]]`` zones jam or
spoof what aircraft report (:mod:`tailwatch.simulate.interference`).

``tailwatch simulate`` is the command-line front end.
"""

from __future__ import annotations

from tailwatch.simulate.feed import Simulation, simulate
from tailwatch.simulate.output import (
    FORMATS,
    FeedWriter,
    serve_beast,
    sidecar,
    write,
    write_sidecar,
)
from tailwatch.simulate.scenario import Scenario, builtin_scenarios, load_scenario, parse_scenario
from tailwatch.simulate.truth import Truth

__all__ = [
    "FORMATS",
    "FeedWriter",
    "Scenario",
    "Simulation",
    "Truth",
    "builtin_scenarios",
    "load_scenario",
    "parse_scenario",
    "serve_beast",
    "sidecar",
    "simulate",
    "write",
    "write_sidecar",
]
