"""Flights, take-offs, landings, stopovers, unseen legs and events from tracked positions.

::

    from tailwatch.detect import Detector, detect_flights
    flights, events = detect_flights(positions)          # a whole history
    det = Detector()                                      # live, re-analysis
    flights, events = det.update(batch); ...; det.flush()

``Detector`` is the compiled detector (:class:`~tailwatch.detect.compiled.detector.
CompiledDetector`: passes over whole batches) that ``run``, ``replay``, ``import`` and the demo
use; :class:`FlightDetector` is the reference it is proven identical to (tests/oracle).

Rules and thresholds: docs/events.md.
"""

from __future__ import annotations

from tailwatch.detect.columns import as_columns, from_traffic_records
from tailwatch.detect.flights import FlightDetector, detect_flights, flight_id_of, merge_flights
from tailwatch.detect.params import DetectParams

from tailwatch.detect.compiled.detector import CompiledDetector  # isort: skip

Detector = CompiledDetector
"""The detector the product uses."""

__all__ = [
    "CompiledDetector",
    "DetectParams",
    "Detector",
    "FlightDetector",
    "as_columns",
    "detect_flights",
    "flight_id_of",
    "from_traffic_records",
    "merge_flights",
]
