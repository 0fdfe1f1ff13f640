"""Bad inputs on the command line give a one-line error and exit code 1 or 2, never a
traceback: directories, missing files, CSV with lone-CR line ends, truncated gzip; an empty
decode still creates (or truncates) its output file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tailwatch.cli.main import main
from tailwatch.core.errors import FormatError

DATA = Path(__file__).parent.parent / "data"
BEAST = DATA / "traffic_sample_dump1090.beast"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(argv)  # an unexpected exception would propagate here (a traceback)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("argv", [["decode", "{d}"], ["replay", "{d}", "-q"],
                                  ["alerts", "test", "{rules}", "--replay", "{d}"]])
def test_a_directory_instead_of_a_recording_is_a_usage_error(
    tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "captures"
    d.mkdir()
    rules = tmp_path / "r.toml"
    rules.write_text('[[rules]]\nid = "x"\n[rules.match]\nicao24 = "393322"\n')
    code, err = _run([a.format(d=d, rules=rules) for a in argv], capsys)
    assert code == 2
    assert "is a directory" in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["decode", "{m}"], ["replay", "{m}", "-q"],
                                  ["import", "{m}", "--db", "{db}"],
                                  ["decode", "{m}", "--out", "{o}"]])
def test_missing_files_are_usage_errors(
    tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    m = tmp_path / "nope.bin"
    code, err = _run([a.format(m=m, db=tmp_path / "h.duckdb", o=tmp_path / "o.jsonl")
                      for a in argv], capsys)
    assert code == 2 and "no such file" in err
    assert not (tmp_path / "o.jsonl").exists()


def test_read_frames_of_a_directory_raises_format_error(tmp_path: Path) -> None:
    from tailwatch.ingest.files import read_frames

    with pytest.raises(FormatError, match="is a directory"):
        list(read_frames(tmp_path))


def test_import_of_a_csv_with_lone_cr_line_ends(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = ["timestamp,icao24,latitude,longitude,altitude"] + [
        f"{1_700_000_000 + 10 * i},393322,{48.0 + 0.01 * i:.3f},2.500,{3000 + 100 * i}"
        for i in range(20)]
    csv_cr = tmp_path / "old_mac.csv"
    csv_cr.write_bytes("\r".join(rows).encode() + b"\r")
    code, err = _run(["import", str(csv_cr), "--db", str(tmp_path / "h.duckdb"), "--json",
                      "--no-detect"], capsys)
    assert code == 0, err
    from tailwatch.store import open_store

    store = open_store(str(tmp_path / "h.duckdb"))
    try:
        n = store.query("SELECT count(*) AS n FROM positions").to_pylist()[0]["n"]
    finally:
        store.close()
    assert n == 20


@pytest.mark.parametrize("name", ["track.csv.gz", "track.csv", "track.json.gz"])
def test_import_of_a_truncated_gzip_names_the_broken_gzip(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    body = "timestamp,icao24,latitude,longitude\n" + "".join(
        f"{1_700_000_000 + i},393322,{48 + i * 1e-4:.4f},2.5\n" for i in range(50_000))
    if name.endswith(".json.gz"):
        body = json.dumps([{"timestamp": 1.7e9 + i, "icao24": "393322", "latitude": 48.0,
                            "longitude": 2.5} for i in range(5000)])
    whole = gzip.compress(body.encode())
    p = tmp_path / name
    p.write_bytes(whole[: len(whole) // 2])
    code, err = _run(["import", str(p), "--db", str(tmp_path / "h.duckdb")], capsys)
    assert code == 1
    assert "gzip" in err and "binary" not in err and "Traceback" not in err


def test_a_gz_name_on_plain_bytes_is_named(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "track.csv.gz"
    p.write_bytes(b"\x00\x01\x02 not gzip at all" * 10)
    code, err = _run(["import", str(p), "--db", str(tmp_path / "h.duckdb")], capsys)
    assert code == 1 and "not gzip" in err


@pytest.mark.parametrize("output", ["jsonl", "csv", "parquet"])
def test_an_empty_decode_creates_or_truncates_the_output(
    tmp_path: Path, output: str, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    out = tmp_path / f"o.{output}"
    code, _ = _run(["decode", str(empty), "--output", output, "--out", str(out)], capsys)
    assert code == 0 and out.exists()
    if output == "parquet":
        assert pq.read_table(out).num_rows == 0
    else:
        assert out.read_text().count("\n") <= 1  # nothing, or the CSV header
    # a previous output is replaced, not left behind
    code, _ = _run(["decode", str(BEAST), "--output", output, "--out", str(out)], capsys)
    assert code == 0
    full = out.stat().st_size
    code, _ = _run(["decode", str(empty), "--output", output, "--out", str(out)], capsys)
    assert code == 0 and out.stat().st_size < full
    if output != "parquet":
        assert out.read_text().count("\n") <= 1


def test_an_unwritable_output_path_is_an_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--stats-json into a folder that does not exist: an OSError no command checks; main()'s
    safety net turns it into a one-line error and exit code 1."""
    target = tmp_path / "no" / "such" / "folder" / "stats.json"
    code, err = _run(["replay", str(BEAST), "-q", "--stats-json", str(target)], capsys)
    assert code == 1
    flat = "".join(err.split())  # rich wraps long paths
    assert err.startswith("error:") and "stats.json" in flat and "Traceback" not in err
