"""Fuzzing every reader (hypothesis, bounded in examples and time): random bytes, truncated
real recordings, the wrong format forced, huge lines, directories and missing files. Each
gives frames with named reject counters (frames in = accepted + rejects) or a clear
TailwatchError, never another exception; on the command line, exit code 0, 1 or 2."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tailwatch.cli.main import main
from tailwatch.core.errors import FormatError, TailwatchError
from tailwatch.decode.api import decode_frames
from tailwatch.ingest.avr import parse_avr
from tailwatch.ingest.beast import parse_beast
from tailwatch.ingest.files import read_frames, read_sbs
from tailwatch.ingest.opensky import parse_states
from tailwatch.ingest.readsb_json import parse_aircraft_json
from tailwatch.ingest.sbs import parse_sbs

DATA = Path(__file__).parent.parent / "data"
SAMPLES = {
    "beast": DATA / "traffic_sample_dump1090.beast",
    "hexcsv": DATA / "pymodes_sample_data_adsb.csv",
    "jsonl": DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz",
}
FORMATS = ["auto", "beast", "avr", "hexcsv", "jsonl"]
FUZZ = settings(max_examples=25, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])  # fmt: skip

# text-ish bytes: the characters the text formats are made of, so the parsers get far
TEXTISH = st.lists(st.sampled_from(list(b"*;0123456789abcdefABCDEF,.:-@\n\r\t {}\"[]MSG")),
                   max_size=600).map(bytes)
BYTES = st.one_of(st.binary(max_size=2048), TEXTISH)


def _sample_head(name: str, n_bytes: int = 60_000) -> bytes:
    """The first bytes of a real recording (uncompressed)."""
    p = SAMPLES[name]
    if p.suffix != ".gz":
        return p.read_bytes()[:n_bytes]
    with gzip.open(p) as fh:
        return bytes(fh.read(n_bytes))


def _frames(path: Path, fmt: str) -> Iterator[Any]:
    return read_frames(path, fmt, batch_size=512)  # type: ignore[arg-type]


def _check_file(path: Path, fmt: str) -> None:
    """Reading gives batches whose decode accounts for every frame in, or a FormatError."""
    try:
        for fb in _frames(path, fmt):
            assert all(isinstance(k, str) and v >= 0 for k, v in fb.rejects.items())
            m = decode_frames(fb)
            assert m.n_in == len(m) + m.rejects.total_rejected()
            assert m.n_in >= len(fb)
    except FormatError as e:
        assert str(e)  # a message, for the operator


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(data=BYTES)
def test_random_bytes_in_every_forced_format(tmp_path: Path, fmt: str, data: bytes) -> None:
    p = tmp_path / "fuzz.bin"
    p.write_bytes(data)
    _check_file(p, fmt)


@pytest.mark.parametrize("name", sorted(SAMPLES))
@FUZZ
@given(cut=st.floats(0.0, 1.0), fmt=st.sampled_from(FORMATS), gz=st.booleans())
def test_truncated_real_recordings(tmp_path: Path, name: str, cut: float, fmt: str,
                                   gz: bool) -> None:  # fmt: skip
    raw = _sample_head(name)
    body = gzip.compress(raw) if gz else raw
    p = tmp_path / (name + (".gz" if gz else ""))
    p.write_bytes(body[: int(len(body) * cut)])
    _check_file(p, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(line_bytes=st.integers(1, 300_000), good=st.integers(0, 5),
       filler=st.sampled_from([b"0", b"\x00", b"A", b"{"]))
def test_huge_lines_are_dropped_and_counted(tmp_path: Path, fmt: str, line_bytes: int,
                                            good: int, filler: bytes) -> None:  # fmt: skip
    p = tmp_path / "huge.txt"
    p.write_bytes(b"*8D4840D6202CC371C32CE0576098;\n" * good + filler * line_bytes + b"\n"
                  + b"*8D4840D6202CC371C32CE0576098;\n")
    _check_file(p, fmt)
    if fmt == "avr" and line_bytes > 70_000:
        total = sum(fb.rejects.get("avr_line_too_long", 0) for fb in _frames(p, fmt))
        assert total == 1


@FUZZ
@given(data=BYTES)
def test_sbs_reader_and_parser(tmp_path: Path, data: bytes) -> None:
    for body in (data, b"\x1f\x8b" + data):  # also as a broken gzip
        p = tmp_path / "fuzz.sbs"
        p.write_bytes(body)
        try:
            for cols, rejects in read_sbs(p, batch_lines=64):
                n = len(cols["t"])
                assert all(len(v) == n for v in cols.values())
                assert all(v >= 0 for v in rejects.values())
        except FormatError as e:
            assert str(e)
    for final in (False, True):
        cols, consumed, _ = parse_sbs(data, final=final)
        assert 0 <= consumed <= len(data)


@FUZZ
@given(data=BYTES)
def test_beast_and_avr_parsers(data: bytes) -> None:
    fb, consumed, _ = parse_beast(data)
    assert 0 <= consumed <= len(data)
    assert len(fb) <= len(data) // 2 + 1
    for final in (False, True):
        fb, consumed = parse_avr(data, final=final)
        assert 0 <= consumed <= len(data)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=20) | st.dictionaries(
        st.sampled_from(["aircraft", "ac", "now", "hex", "lat", "lon", "states", "time",
                         "alt_baro", "flight", "x"]), inner, max_size=6),
    max_leaves=40)


@FUZZ
@given(doc=JSONISH, raw=st.binary(max_size=200))
def test_readsb_and_opensky_json(doc: Any, raw: bytes) -> None:
    for parse in (parse_aircraft_json, parse_states):
        for body in (json.dumps(doc), raw):
            try:
                _, rejects, _ = parse(body)
            except FormatError:
                continue
            assert all(v >= 0 for v in rejects.values())


@pytest.mark.parametrize("suffix", [".csv", ".json", ".csv.gz", ".parquet", ".jsonl"])
@settings(max_examples=10, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.one_of(st.binary(max_size=512), TEXTISH,
                      st.just(b"timestamp,icao24,latitude,longitude\r1,zz,x,\r")))
def test_history_import(tmp_path: Path, suffix: str, data: bytes) -> None:
    from tailwatch.history.importers import import_files
    from tailwatch.store import open_store

    p = tmp_path / f"h{suffix}"
    p.write_bytes(data)
    store = open_store(":memory:")
    try:
        report = import_files(store, [p], detect=False)
        assert report.positions_written <= report.rows_read
    except TailwatchError as e:
        assert str(e)
    finally:
        store.close()


# --------------------------------------------------------------------------- the commands


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(16)
    (d / "dir").mkdir()
    out = {"dir": d / "dir", "missing": d / "missing.bin"}
    for name, body in (("random", rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes()),
                       ("zeros", bytes(300_000)),
                       ("cut_gz", gzip.compress(_sample_head("jsonl"))[:5000]),
                       ("cut_beast", _sample_head("beast")[:1001])):
        (d / name).write_bytes(body)
        out[name] = d / name
    return out


@pytest.mark.parametrize("command", ["decode", "replay", "import", "alerts"])
@pytest.mark.parametrize("what", ["dir", "missing", "random", "zeros", "cut_gz", "cut_beast"])
def test_commands_exit_cleanly(inputs: dict[str, Path], tmp_path: Path, command: str,
                               what: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(inputs[what])
    rules = tmp_path / "r.toml"
    rules.write_text('[[rules]]\nid = "x"\n[rules.match]\nicao24 = "393322"\n')
    argv = {"decode": ["decode", path, "-f", "avr" if what == "zeros" else "auto",
                       "--out", str(tmp_path / "o.jsonl")],
            "replay": ["replay", path, "-q"],
            "import": ["import", path, "--db", str(tmp_path / "h.duckdb"), "--no-detect"],
            "alerts": ["alerts", "test", str(rules), "--replay", path]}[command]
    code = main(argv)  # anything but a TailwatchError or an exit would raise here
    err = capsys.readouterr().err
    assert code in (0, 1, 2), err
    assert "Traceback" not in err
    if what in ("dir", "missing") and not (what == "dir" and command == "import"):
        assert code == 2 and ("no such file" in err or "is a directory" in err), err
    if code != 0:
        assert "error:" in err
