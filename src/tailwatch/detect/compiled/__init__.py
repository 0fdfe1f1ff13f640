"""The compiled detector: flight and event detection as passes over whole position batches
(numba kernels over per-aircraft state held in arrays), proven identical to the reference
:class:`~tailwatch.detect.flights.FlightDetector` pass by pass and as a whole (tests/oracle).

* :class:`~tailwatch.detect.compiled.derive.DerivePass` — accept (rejects, data hygiene),
  kinematics, the spike-free altitude, the nearest airport and the height above it (one grid
  look-up for the batch), the effective air/ground state;
* :class:`~tailwatch.detect.compiled.decide.DecidePass` — the air/ground hysteresis, rows
  carried between batches, time-outs; :class:`~tailwatch.detect.compiled.decide.StatePasses`
  runs both (with eviction);
* :mod:`~tailwatch.detect.compiled.walk` — the transitions walk: which aircraft take the fast
  way (flight sums in numba) and which the reference's flight logic, on rows from the
  :class:`~tailwatch.detect.compiled.store.RowStore`;
* :class:`~tailwatch.detect.compiled.rowevents.RowEventsPass` — first sight, squawk changes
  and emergency squawks, ADS-B emergency status, GNSS integrity drops, implausible jumps;
* :class:`~tailwatch.detect.compiled.orbits.OrbitPass` — orbits;
* :class:`~tailwatch.detect.compiled.detector.CompiledDetector` — all of them as the
  detector the product uses (``tailwatch.detect.Detector``).

See docs/architecture.md ("Flight detection at world scale").
"""

from __future__ import annotations

from tailwatch.detect.compiled.decide import DecidePass, StatePasses
from tailwatch.detect.compiled.derive import DERIVED, DerivePass
from tailwatch.detect.compiled.orbits import OrbitPass
from tailwatch.detect.compiled.rowevents import RowEventsPass
from tailwatch.detect.compiled.slots import Slots

__all__ = ["DERIVED", "DecidePass", "DerivePass", "OrbitPass", "RowEventsPass", "Slots",
           "StatePasses"]
