"""File readers: format detection, every committed sample, rejects, gzip, batching."""

from __future__ import annotations

import csv
import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest

from tailwatch.core.errors import FormatError
from tailwatch.core.frames import FrameBatch
from tailwatch.decode.crc import remainders
from tailwatch.ingest.avr import encode_avr
from tailwatch.ingest.beast import BYTE_COUNTERS
from tailwatch.ingest.files import detect_format, read_frames, read_sbs
from tailwatch.ingest.sbs import encode_sbs

DATA = Path(__file__).resolve().parents[1] / "data"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "raw_modes"

ADSB_CSV = DATA / "pymodes_sample_data_adsb.csv"
DF20_CSV = DATA / "pymodes_sample_data_commb_df20.csv"
DF21_CSV = DATA / "pymodes_sample_data_commb_df21.csv"
JSONL = DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz"
BEAST = DATA / "traffic_sample_dump1090.beast"


def _read(path: Path, fmt: str = "auto", **kw: int) -> FrameBatch:
    return FrameBatch.concat(list(read_frames(path, fmt, **kw)))  # type: ignore[arg-type]


def _frame_rejects(batch: FrameBatch) -> int:
    return sum(v for k, v in batch.rejects.items() if k not in BYTE_COUNTERS)


def _csv_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return [r for r in csv.reader(f) if r]


def _hexes(batch: FrameBatch) -> list[str]:
    return [batch.hex(i) for i in range(len(batch))]


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        (ADSB_CSV, "hexcsv"),
        (DF20_CSV, "hexcsv"),
        (DF21_CSV, "hexcsv"),
        (JSONL, "jsonl"),
        (BEAST, "beast"),
    ],
)
def test_detect_format_on_samples(path: Path, fmt: str) -> None:
    assert detect_format(path) == fmt


@pytest.mark.parametrize(
    "name",
    [
        "traffic_zurich_airport.json.gz",
        "traffic_noisy_landing.json.gz",
        "traffic_noisy_takeoff.json.gz",
        "LICENSE.traffic.MIT.txt",
    ],
)
def test_files_without_frames_are_format_errors(name: str) -> None:
    with pytest.raises(FormatError, match=name):
        detect_format(DATA / name)
    with pytest.raises(FormatError):
        list(read_frames(DATA / name))


def test_adsb_csv_quoted_hex_column_found_by_content() -> None:
    rows = _csv_rows(ADSB_CSV)  # ts,"hex","icao",tc
    batch = _read(ADSB_CSV)
    assert len(batch) == len(rows) == 2000
    assert not batch.rejects
    assert _hexes(batch) == [r[1].lower() for r in rows]
    np.testing.assert_array_equal(batch.t_rx, [float(r[0]) for r in rows])
    assert np.all(remainders(batch.raw, batch.nbytes) == 0)  # all DF17 with good CRC


@pytest.mark.parametrize("path", [DF20_CSV, DF21_CSV])
def test_commb_csv_with_bom_and_crlf(path: Path) -> None:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = _csv_rows(path)  # ts,icao,hex
    batch = _read(path)
    assert len(batch) == len(rows) == 5000
    assert not batch.rejects
    assert _hexes(batch) == [r[2].lower() for r in rows]
    np.testing.assert_array_equal(batch.t_rx, [float(r[0]) for r in rows])
    # Comm-B replies are address/parity: the remainder is the ICAO address of column 2
    rem = remainders(batch.raw, batch.nbytes)
    match = np.mean(rem == np.array([int(r[1], 16) for r in rows]))
    assert match > 0.99


def test_jsonl_sample_all_lines() -> None:
    with gzip.open(JSONL, "rt") as f:
        records = [json.loads(line) for line in f if line.strip()]
    batch = _read(JSONL)
    assert len(batch) == len(records) == 57793
    assert not batch.rejects
    want = FrameBatch.from_hex([r["frame"] for r in records])
    np.testing.assert_array_equal(batch.raw, want.raw)
    np.testing.assert_array_equal(batch.nbytes, want.nbytes)
    np.testing.assert_array_equal(batch.t_rx, [r["timestamp"] for r in records])


def test_beast_sample_file() -> None:
    batch = _read(BEAST)
    assert len(batch) == 239 and not batch.rejects
    assert np.all(np.isnan(batch.t_rx))
    assert np.all(batch.ts_12mhz > 0)


@pytest.mark.parametrize(
    ("name", "rows"), [("rs1090_short_flights.csv", 486), ("pymodes_sample_data_adsb.csv", 2000)]
)
def test_shared_repository_samples(name: str, rows: int) -> None:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"{path} is not here (repository data, not committed)")
    batch = _read(path)
    assert len(batch) + _frame_rejects(batch) == rows
    assert len(batch) == rows


def test_gzip_is_opened_by_magic_not_by_name(tmp_path: Path) -> None:
    disguised = tmp_path / "capture.bin"
    disguised.write_bytes(gzip.compress(BEAST.read_bytes()))
    assert detect_format(disguised) == "beast"
    np.testing.assert_array_equal(_read(disguised).raw, _read(BEAST).raw)
    plain = tmp_path / "flight.jsonl"
    with gzip.open(JSONL) as f:
        plain.write_bytes(f.read())
    assert detect_format(plain) == "jsonl"
    assert len(_read(plain)) == 57793
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(JSONL.read_bytes()[:-100])
    with pytest.raises(FormatError, match="gzip"):
        _read(cut)


def test_batches_are_bounded_and_complete() -> None:
    batches = list(read_frames(JSONL, batch_size=10_000))
    assert all(len(b) <= 10_000 for b in batches)
    assert sum(len(b) for b in batches) == 57793
    beast = list(read_frames(BEAST, batch_size=50))
    assert [len(b) for b in beast] == [50, 50, 50, 50, 39]


def test_explicit_format_that_does_not_fit() -> None:
    with pytest.raises(FormatError, match="Beast"):
        list(read_frames(ADSB_CSV, "beast"))
    with pytest.raises(FormatError, match="AVR"):
        list(read_frames(BEAST, "avr"))
    with pytest.raises(FormatError, match="hex frames"):
        list(read_frames(JSONL, "hexcsv"))
    with pytest.raises(FormatError, match="frame"):
        list(read_frames(ADSB_CSV, "jsonl"))
    with pytest.raises(FormatError, match="unknown frame format"):
        list(read_frames(BEAST, "asterix"))  # type: ignore[arg-type]


def test_hexcsv_rejects_are_counted(tmp_path: Path) -> None:
    good = _csv_rows(ADSB_CSV)[:50]
    lines = ["timestamp,hexmsg,icao"]
    lines += [f'{r[0]},"{r[1]}",{r[2]}' for r in good]
    lines += [
        "1457996500,8D406B909945DE10000405999BEZ,406B90",  # bad hex
        "1457996501,8D406B909945DE10000405999B,406B90",  # 26 digits
        "yesterday,8D406B909945DE10000405999BE4,406B90",  # bad time
        "1457996502,8D406B909945DE10000405999BE4",  # missing field
        "",
        ",8D406B909945DE10000405999BE4,406B90",  # no time: kept, NaN
        "1457996503,*8D406B909945DE10000405999BE4;,406B90",  # AVR-wrapped hex
        "1457996504, 5D4840D6202CC3 ,4840D6",  # short frame, spaces
    ]
    path = tmp_path / "frames.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    assert detect_format(path) == "hexcsv"
    batch = _read(path)
    assert batch.rejects == {
        "hexcsv_bad_hex": 1,
        "hexcsv_bad_length": 1,
        "hexcsv_bad_time": 1,
        "hexcsv_bad_line": 1,
    }
    assert len(batch) + _frame_rejects(batch) == 50 + 7  # data lines, blank one skipped
    assert _hexes(batch)[:50] == [r[1].lower() for r in good]
    assert _hexes(batch)[50:] == [
        "8d406b909945de10000405999be4",
        "8d406b909945de10000405999be4",
        "5d4840d6202cc3",
    ]
    assert math.isnan(batch.t_rx[50]) and batch.t_rx[51] == 1457996503


def test_hexcsv_iso_and_millisecond_times(tmp_path: Path) -> None:
    rows = _csv_rows(ADSB_CSV)[:20]
    iso = tmp_path / "iso.csv"
    iso.write_text(
        "hex,time\n"
        + "".join(f"{r[1]},2016-03-14T23:00:{i:02d}.250Z\n" for i, r in enumerate(rows))
        + f"{rows[0][1]},2016-03-15 01:00:00+02:00\n"
    )
    batch = _read(iso)
    assert len(batch) == 21 and not batch.rejects
    np.testing.assert_allclose(batch.t_rx[:20], 1457996400.25 + np.arange(20))
    assert batch.t_rx[20] == 1457996400.0
    ms = tmp_path / "ms.csv"
    ms.write_text("".join(f"{int(float(r[0]) * 1000) + 7},{r[1]}\n" for r in rows))
    np.testing.assert_allclose(_read(ms).t_rx, [float(r[0]) + 0.007 for r in rows])


def test_jsonl_rejects_are_counted(tmp_path: Path) -> None:
    lines = [
        '{"timestamp": 1720248189.5, "frame": "8f393322384a02aea63afc43dcba", "df": "17"}',
        '{"timestamp": 1720248190.0, "frame": "212800bf40f1ef7e5817e9cc428d"}',
        "not json at all",
        '{"timestamp": 1720248191.0}',  # no frame
        '{"timestamp": "yesterday", "frame": "212800bf40f1ef7e5817e9cc428d"}',
        '{"timestamp": 1720248192.0, "frame": "212800bf40f1ef7e5817e9cc42zz"}',
        '{"timestamp": 1720248193.0, "frame": "2128"}',  # 4 digits: Mode A/C
        '{"timestamp": 1720248194.0, "frame": "2128000"}',
        "",
        '{"frame": "5d4840d6202cc3"}',  # no timestamp: NaN
    ]
    path = tmp_path / "frames.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert detect_format(path) == "jsonl"
    batch = _read(path)
    assert batch.rejects == {
        "jsonl_bad_line": 2,
        "jsonl_no_frame": 1,
        "jsonl_bad_hex": 1,
        "jsonl_bad_length": 1,
    }
    assert _hexes(batch) == [
        "8f393322384a02aea63afc43dcba",
        "212800bf40f1ef7e5817e9cc428d",
        "2128",
        "5d4840d6202cc3",
    ]
    assert len(batch) + _frame_rejects(batch) == 9
    assert math.isnan(batch.t_rx[-1]) and batch.t_rx[0] == 1720248189.5


def test_avr_file_roundtrip(tmp_path: Path) -> None:
    frames = _read(JSONL)
    path = tmp_path / "capture.txt"
    path.write_bytes(encode_avr(frames, timestamps=True)[:-1])  # no final line end
    assert detect_format(path) == "avr"
    back = _read(path, batch_size=7000)
    np.testing.assert_array_equal(back.raw, frames.raw)
    np.testing.assert_array_equal(back.nbytes, frames.nbytes)
    assert not back.rejects


def test_truncated_beast_file_counts_its_tail(tmp_path: Path) -> None:
    path = tmp_path / "cut.beast"
    path.write_bytes(BEAST.read_bytes()[:-5])
    batch = _read(path)
    assert len(batch) == 238
    assert batch.rejects == {"beast_truncated_frames": 1}


def test_sbs_files(tmp_path: Path) -> None:
    cols = {
        "t": np.array([1553336101.123, 1553336102.0]),
        "icao24": np.array([0x1551E0, 0x154073], np.uint32),
        "callsign": np.array([b"RFF7091", b""], "S8"),
        "altitude_ft": np.array([33000.0, np.nan]),
    }
    path = tmp_path / "feed.sbs"
    path.write_bytes(b"CLK,,,\r\n" + encode_sbs(cols))
    assert detect_format(path) == "sbs"
    with pytest.raises(FormatError, match="read_sbs"):
        list(read_frames(path))
    ((got, rejects),) = list(read_sbs(path))
    assert got["icao24"].tolist() == [0x1551E0, 0x154073]
    assert got["callsign"].tolist() == [b"RFF7091", b""]
    assert got["sbs_type"].tolist() == [1, 8]
    assert rejects == {"sbs_clk": 1}


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.beast"
    path.write_bytes(b"")
    assert list(read_frames(path)) == []
    with pytest.raises(FormatError, match="empty"):
        detect_format(path)
