"""Flights, take-offs, landings, stopovers, unseen legs and events from tracked positions.

::

    from tailwatch.detect import FlightDetector, detect_flights
    flights, events = detect_flights(positions)          # a whole history
    det = FlightDetector()                                # live
    flights, events = det.update(batch); ...; det.flush()

Rules and thresholds: docs/events.md.
"""

from __future__ import annotations

from tailwatch.detect.columns import as_columns, from_traffic_records
from tailwatch.detect.flights import FlightDetector, detect_flights, flight_id_of, merge_flights
from tailwatch.detect.params import DetectParams

__all__ = [
    "DetectParams",
    "FlightDetector",
    "as_columns",
    "detect_flights",
    "flight_id_of",
    "from_traffic_records",
    "merge_flights",
]
