"""Data shipped with tailwatch (samples for the demo)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def sample_path(name: str) -> Path:
    """Path of a sample file shipped in tailwatch/data/samples."""
    return Path(str(resources.files("tailwatch.data") / "samples" / name))


AFR34ZG = "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz"
