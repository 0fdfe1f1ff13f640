"""MLAT through the command line: ``tailwatch simulate mlat:…`` writes a multi-receiver Beast
recording (one file, the receivers' 64-bit ids inside) with its side file and the truth's
``receivers.json``; ``tailwatch replay`` must multilaterate the Mode S-only aircraft from the
side file, or from ``--receivers`` when there is no side file, and store those positions with
source ``mlat``. Without positioned receivers nothing is multilaterated."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tailwatch.cli.main import main


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, set[str]]:
    d = tmp_path_factory.mktemp("wiring_mlat")
    beast, truth = d / "x.beast", d / "T"
    assert main(["simulate", "mlat:16x5x2", "--out", str(beast), "--truth", str(truth),
                 "--seed", "3", "--quiet"]) == 0
    modes_only = {a["icao24"] for a in json.loads((truth / "aircraft.json").read_text())
                  if not a["adsb"]}
    assert modes_only, "the preset has Mode S-only aircraft"
    return beast, truth / "receivers.json", modes_only


def _mlat_positions(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as c:
        rows = c.execute("SELECT icao24, count(*) FROM positions WHERE source = 'mlat' "
                         "GROUP BY icao24").fetchall()
    return {str(k): int(n) for k, n in rows}


def test_replay_multilaterates_with_the_side_file(recording: tuple[Path, Path, set[str]],
                                                  tmp_path: Path) -> None:
    beast, _, modes_only = recording
    db = tmp_path / "d.duckdb"
    assert main(["replay", str(beast), "--db", str(db), "--no-detect", "-q"]) == 0
    got = _mlat_positions(db)
    assert modes_only <= set(got), (modes_only, got)
    assert sum(got.values()) > 50


def test_replay_multilaterates_with_receivers_file_and_not_without(
        recording: tuple[Path, Path, set[str]], tmp_path: Path) -> None:
    beast, receivers, modes_only = recording
    bare = tmp_path / "bare.beast"  # the same frames, no side file
    bare.write_bytes(beast.read_bytes())
    db0, db1 = tmp_path / "none.duckdb", tmp_path / "rx.duckdb"
    assert main(["replay", str(bare), "--db", str(db0), "--no-detect", "-q"]) == 0
    assert _mlat_positions(db0) == {}
    stats = tmp_path / "s.json"
    assert main(["replay", str(bare), "--db", str(db1), "--no-detect", "-q",
                 "--receivers", str(receivers), "--stats-json", str(stats)]) == 0
    got = _mlat_positions(db1)
    assert modes_only <= set(got), (modes_only, got)
    mlat = json.loads(stats.read_text())["pipeline"]["mlat"]
    assert mlat["sites"] == 5 and mlat["fixes"] > 0


def test_replay_refuses_a_bad_receivers_file(recording: tuple[Path, Path, set[str]],
                                             tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    beast, _, _ = recording
    bad = tmp_path / "r.json"
    bad.write_text('{"receivers": [{"lat": "x"}]}')
    assert main(["replay", str(beast), "--receivers", str(bad), "-q"]) == 1
    assert "numeric lat and lon" in capsys.readouterr().err


def test_run_multilaterates_a_file_source_with_receivers(
        recording: tuple[Path, Path, set[str]], tmp_path: Path) -> None:
    beast, receivers, _ = recording
    bare = tmp_path / "bare.beast"  # one source carrying five receivers, no side file
    bare.write_bytes(beast.read_bytes())
    stats = tmp_path / "r.json"
    assert main(["run", "-s", f"file://{bare}?speed=max", "--no-detect", "--duration", "60",
                 "--receivers", str(receivers), "--stats-json", str(stats),
                 "--log-level", "WARNING"]) == 0
    res = json.loads(stats.read_text())
    assert res["dedup"]["duplicates"] > 0  # several receivers in one source: de-duplicated
    mlat = res["pipeline"]["mlat"]
    assert mlat["sites"] == 5 and mlat["fixes"] > 0


def test_replay_gives_the_sites_to_the_live_session(
        recording: tuple[Path, Path, set[str]], tmp_path: Path) -> None:
    """The positioned receivers of a replay reach the live session: the GNSS monitor's radio
    horizon check gets every site (and the web view its receiver, see use_sites)."""
    from tailwatch.cli.replay_cmd import replay_files
    from tailwatch.config import load_settings
    from tailwatch.live import LiveSession

    beast, receivers, _ = recording
    session = LiveSession(load_settings(), None, detect=False)
    replay_files([beast], progress=False, session=session)
    sites = json.loads(receivers.read_text())
    got = session.gnss.monitor.receivers
    assert got.shape == (len(sites), 3)
    assert sorted(round(float(x), 4) for x in got[:, 0]) == sorted(
        round(float(s["lat"]), 4) for s in sites)
