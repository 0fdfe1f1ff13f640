"""GNSS interference: per-aircraft jamming and spoofing, hexagon maps (docs/gnss.md)."""

from tailwatch.gnss.monitor import GnssMonitor, GnssStep, detect_gnss
from tailwatch.gnss.params import GnssParams

__all__ = ["GnssMonitor", "GnssParams", "GnssStep", "detect_gnss"]
