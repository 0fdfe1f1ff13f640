"""The ``tailwatch`` command: help everywhere, exit codes, decode on every format."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tailwatch.cli.main import _register, app, main

DATA = Path(__file__).parent.parent / "data"
AFR = DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz"


def _commands() -> list[str]:
    _register()
    return sorted(c.name or "" for c in app.registered_commands)


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    names = _commands()
    assert {"decode", "config", "demo"} <= set(names)
    for name in names:
        assert main([name, "--help"]) == 0, name
        assert name in capsys.readouterr().out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--format", "nonsense", str(AFR)]) == 2
    assert main(["no-such-command"]) == 2
    assert main(["decode", "/no/such/file.bin"]) == 2
    capsys.readouterr()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("tailwatch ")


def test_decode_jsonl_of_the_afr34zg_flight(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", str(AFR)]) == 0
    out = capsys.readouterr()
    records = [json.loads(line) for line in out.out.splitlines()]
    assert len(records) == 57793
    assert {r["icao24"] for r in records} == {"393322"}
    assert "AFR34ZG" in {r.get("callsign") for r in records}
    assert all("t" in r and 1720248000 < r["t"] < 1720253000 for r in records)
    assert "decoded 57,793 of 57,793 frames" in out.err


def test_decode_beast_csv_and_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    beast = DATA / "traffic_sample_dump1090.beast"
    csv_out = tmp_path / "out.csv"
    assert main(["decode", str(beast), "--output", "csv", "--out", str(csv_out)]) == 0
    lines = csv_out.read_text().splitlines()
    assert lines[0].startswith('"t","icao24","df"')
    err = capsys.readouterr().err
    accepted = len(lines) - 1
    assert f"decoded {accepted:,} of 239 frames" in err
    pq_out = tmp_path / "out.parquet"
    assert main(["decode", str(beast), "-o", "parquet", "--out", str(pq_out), "-q"]) == 0
    table = pq.read_table(pq_out)
    assert table.num_rows == accepted
    assert table.schema.field("icao24").type == "string"


def test_decode_hexcsv_with_gzip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = DATA / "pymodes_sample_data_adsb.csv"
    gz = tmp_path / "sample.csv.gz"
    with open(src, "rb") as fh, gzip.open(gz, "wb") as out:
        shutil.copyfileobj(fh, out)
    assert main(["decode", str(gz), "--format", "hexcsv"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 2000 and records[0]["t"] == 1457996400


def test_decode_avr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    avr = tmp_path / "x.avr"
    avr.write_text("*8D4840D6202CC371C32CE0576098;\n*5D484FDEA248F5;\n*garbage;\n")
    assert main(["decode", str(avr)]) == 0
    out = capsys.readouterr()
    assert [json.loads(x)["icao24"] for x in out.out.splitlines()] == ["4840d6", "484fde"]
    assert "decoded 2 of 3 frames" in out.err


def test_bad_file_for_explicit_format_fails_with_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "x.bin"
    p.write_text("this is not beast at all\n" * 20)
    assert main(["decode", "--format", "beast", str(p)]) == 1
    assert main(["decode", "--format", "jsonl", str(p)]) == 1
    assert "error" in capsys.readouterr().err


def test_config_prints_settings_and_masks_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[serve]\nport = 9999\ntoken = "s3cret"\n')
    monkeypatch.setenv("TAILWATCH_LOG_LEVEL", "DEBUG")
    assert main(["config", "--config", str(cfg)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["serve"]["port"] == 9999 and data["serve"]["token"] == "***"
    assert data["log_level"] == "DEBUG"
    bad = tmp_path / "bad.toml"
    bad.write_text("[serve]\nport = 'x'\n")
    assert main(["config", "--config", str(bad)]) == 1
    assert main(["config", "--config", str(tmp_path / "missing.toml")]) == 1
