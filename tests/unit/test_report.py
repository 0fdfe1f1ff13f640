"""Evidence reports: every file exists, parses, and the pictures are real pictures."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np

from tailwatch import decode
from tailwatch.report.evidence import ReportInput, write_report
from tailwatch.track.tracker import Tracker

DATA = Path(__file__).parent.parent / "data"


def _afr_positions() -> dict[str, np.ndarray]:
    with gzip.open(DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz", "rt") as fh:
        recs = [json.loads(line) for line in fh]
    pos = Tracker().update(decode([r["frame"] for r in recs], times=[r["timestamp"] for r in recs]))
    return pos.columns


def _nontrivial(png: Path) -> None:
    img = mpimg.imread(png)
    assert img.shape[0] > 400 and img.shape[1] > 800
    flat = (img[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    colours = np.unique(flat, axis=0)
    assert len(colours) > 50  # lines, labels, anti-aliasing: not a blank canvas
    # the route colour (dark red) is present
    red = (flat[:, 0] > 150) & (flat[:, 1] < 90) & (flat[:, 2] < 90)
    assert red.sum() > 200


def test_report_files_exist_parse_and_hash(tmp_path: Path) -> None:
    cols = _afr_positions()
    # cut the cruise out to make an unseen gap, as over an ocean
    t = cols["t"]
    keep = (t < t[0] + 1800) | (t > t[0] + 3600)
    cols = {k: v[keep] for k, v in cols.items()}
    inp = ReportInput(
        "393322", cols,
        flights=[{"callsign": "AFR34ZG", "origin": "LFPG", "destination": "LFBO",
                  "takeoff_t": float(t[0]) + 700, "landing_t": float(t[-1]) - 300,
                  "takeoff_runway": "26R", "landing_runway": "32R"}],
        events=[{"t": float(t[0]) + 700, "type": "takeoff", "airport": "LFPG"},
                {"t": float(t[-1]) - 300, "type": "landing", "airport": "LFBO"}],
        identity={"registration": "F-TEST", "typecode": "A320", "country": "France"},
        receivers=["test"],
    )
    digests = write_report(inp, tmp_path)
    for name, digest in digests.items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest
    _nontrivial(tmp_path / "route.png")
    _nontrivial(tmp_path / "profile.png")
    gj = json.loads((tmp_path / "track.geojson").read_text())
    coords = gj["features"][0]["geometry"]["coordinates"]
    assert len(coords) == int(keep.sum())
    root = ET.fromstring((tmp_path / "track.kml").read_bytes())
    assert root.tag.endswith("kml")
    with open(tmp_path / "track.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == int(keep.sum()) and rows[0]["icao24"] == "393322"
    md = (tmp_path / "summary.md").read_text()
    assert "LFPG" in md and "LFBO" in md and "26R" in md and "32R" in md
    assert "not seen for 0.5 h" in md  # the gap is stated and explained
    for name, digest in digests.items():
        assert f"| {name} | {digest} |" in md
    html = (tmp_path / "summary.html").read_text()
    assert "<table>" in html and "route.png" in html
