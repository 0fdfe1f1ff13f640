"""History in and out of the store: imports (readsb traces, OpenSky state vectors, traffic
trajectories), exports (day-partitioned Parquet/CSV with traffic's column names), the aircraft
database kept in the store, query helpers, and flight detection over stored positions.
See docs/history.md."""

from __future__ import annotations

from tailwatch.history.detection import DetectionSink, detection_sink
from tailwatch.history.exporters import export_positions
from tailwatch.history.importers import ImportReport, import_files
from tailwatch.history.queries import parse_time

__all__ = [
    "DetectionSink",
    "ImportReport",
    "detection_sink",
    "export_positions",
    "import_files",
    "parse_time",
]
