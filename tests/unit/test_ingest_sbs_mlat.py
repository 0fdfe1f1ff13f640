"""SBS ``MLAT`` lines (readsb, dump1090-fa and tailwatch's own SBS output write multilaterated
positions so): parsed like ``MSG`` lines, marked, and ranked by the tracker as MLAT."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tailwatch.core.schema import SOURCE_LABELS
from tailwatch.ingest.net import sbs_states
from tailwatch.ingest.sbs import mark_mlat, parse_sbs
from tailwatch.track.tracker import Tracker

MLAT, SBS = SOURCE_LABELS.index("mlat"), SOURCE_LABELS.index("sbs")


def _line(kind: str, hexid: str, sec: int, lat: float, lon: float) -> bytes:
    return (f"{kind},3,1,1,{hexid},1,2024/05/10,10:00:{sec:02d}.000,2024/05/10,"
            f"10:00:{sec:02d}.000,,21000,,,{lat:.5f},{lon:.5f},,,,,,0\r\n").encode()


def test_mlat_lines_are_parsed_not_rejected() -> None:
    buf = _line("MLAT", "4CA2D6", 0, 52.1, 5.2) + _line("MSG", "4CA2D7", 0, 52.2, 5.3)
    cols, consumed, rejects = parse_sbs(buf, final=True)
    assert consumed == len(buf) and not rejects
    assert cols["mlat"].tolist() == [True, False]
    assert cols["icao24"].tolist() == [0x4CA2D6, 0x4CA2D7]
    assert np.allclose(cols["lat"], [52.1, 52.2]) and np.allclose(cols["altitude_ft"], 21000)
    # a record type that only starts like MLAT is still a bad line
    _, _, rejects = parse_sbs(b"MLATX" + buf[4:], final=True)
    assert rejects.get("sbs_bad_line") == 1


def test_mlat_lines_become_mlat_positions_in_the_tracker() -> None:
    buf = b"".join(_line("MLAT", "4CA2D6", s, 52.1 + 0.01 * s / 10, 5.2) for s in range(0, 30, 5))
    buf += b"".join(_line("MSG", "4CA2D7", s, 52.3, 5.2 + 0.01 * s / 10) for s in range(0, 30, 5))
    cols, _, _ = parse_sbs(buf, final=True)
    sb = mark_mlat(sbs_states(cols, 0.0, feed_time=True), cols)
    pos = Tracker().update_states(sb.columns)
    src = dict(zip(pos.columns["icao24"].tolist(), pos.columns["source"].tolist(),
                   strict=False))
    assert src[0x4CA2D6] == MLAT and src[0x4CA2D7] == SBS
    assert set(pos.columns["source"][pos.columns["icao24"] == 0x4CA2D6].tolist()) == {MLAT}


def test_mlat_ranks_above_a_decoded_feed() -> None:
    """An MLAT position, then a decoded feed's (plain SBS) position of the same aircraft 2 s
    later: the feed's is outranked (MLAT is rank 4, a decoded feed 5), the live position stays
    the MLAT one."""
    buf = _line("MLAT", "4CA2D6", 0, 52.0, 5.0) + _line("MSG", "4CA2D6", 2, 52.002, 5.0)
    cols, _, _ = parse_sbs(buf, final=True)
    tr = Tracker()
    pos = tr.update_states(mark_mlat(sbs_states(cols, 0.0, feed_time=True), cols).columns)
    assert pos.columns["source"].tolist() == [MLAT]
    snap = tr.snapshot(2.0).columns
    i = int(np.flatnonzero(np.asarray(snap["icao24"]) == 0x4CA2D6)[0])
    assert np.isclose(snap["lat"][i], 52.0)


def test_sbs_states_marks_mlat_lines_itself() -> None:
    """The network and file readers call sbs_states only: the MLAT rows must come out marked."""
    buf = _line("MLAT", "4CA2D6", 0, 52.1, 5.2) + _line("MSG", "4CA2D7", 0, 52.2, 5.3)
    cols, _, _ = parse_sbs(buf, final=True)
    src = sbs_states(cols, 0.0, feed_time=True).columns["source"].tolist()
    assert src == [MLAT, SBS]


def test_a_file_of_mlat_lines_is_detected_as_sbs(tmp_path: Path) -> None:
    from tailwatch.ingest.files import detect_format

    path = tmp_path / "mlat.txt"
    path.write_bytes(b"".join(_line("MLAT", "4CA2D6", s, 52.1, 5.2) for s in range(20)))
    assert detect_format(path) == "sbs"
