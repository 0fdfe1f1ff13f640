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


def test_report_shows_each_verdict_with_its_runner_up(tmp_path: Path) -> None:
    # the detector's own events on the AFR34ZG flight (seen take-off and landing) and an
    # unseen landing with a runway fit: every attributed airport and runway is listed with
    # its runner-up and why it lost
    from tailwatch.detect import detect_flights
    from tailwatch.report.evidence import alternative_rows

    cols = _afr_positions()
    _, events = detect_flights(cols)
    evs = [{k: events[k][i] for k in events} for i in range(len(events["t"]))]
    unseen = {"t": float(cols["t"][-1]), "type": "landing", "airport": "LFBO",
              "details": json.dumps({"seen": False, "runway": "14R", "confidence": 0.9,
                                     "runway_runner_up": {"airport": "LFBO", "runway": "14L",
                                                          "why_lost": "380 m off its "
                                                          "centreline against 10 m"}})}
    rows = alternative_rows([*evs, unseen])
    kinds = [(r[1], r[2], r[3], r[4]) for r in rows]
    assert ("takeoff", "LFPG", "26R", "yes") in kinds and ("landing", "LFBO", "32R", "yes") in kinds
    last = rows[-1]
    assert last[4] == "no" and last[6] == "LFBO 14L" and "380 m" in last[7]
    inp = ReportInput("393322", cols, flights=[], events=[*evs, unseen],
                      identity={}, receivers=[])
    write_report(inp, tmp_path)
    md = (tmp_path / "summary.md").read_text()
    assert "How sure" in md and "380 m off its centreline" in md
