"""Position rules (watchlists, squawks) and event rules fire live in ``tailwatch replay`` and
``tailwatch run``, with and without ``--db``: the same alerts as ``tailwatch alerts test`` on
the same recording."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _alert_helpers import IL62, PARIS, T0

from tailwatch import encode
from tailwatch.cli.main import main
from tailwatch.reference.geo import destination_deg

AFR = Path(__file__).parent.parent / "data" / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz"
DE_7700 = 0x3C6444

WATCH = """
[[rules]]
id = "ra-86496-seen"
name = "RA-86496 seen"
cooldown = "6h"
[rules.match]
registration = "RA-86496"

[[rules]]
id = "squawk-7700"
cooldown = "10m"
[rules.match]
squawk = "7700"
"""

AFR_RULES = """
[[rules]]
id = "afr-low"
cooldown = "20m"
[rules.match]
all = [ { icao24 = "393322" }, { altitude_ft = { max = 3000 } } ]

[[rules]]
id = "afr-landing"
[rules.match]
all = [ { event = "landing" }, { icao24 = "393322" } ]
"""


def _flight(icao: int, start: tuple[float, float], squawk: int,
            n: int = 40) -> list[tuple[float, str]]:  # fmt: skip
    t = T0 + np.arange(n, dtype=np.float64)
    lat, lon = destination_deg(start[0], start[1], 0.0, 200.0 * (t - T0))
    pos = encode.airborne_position(icao, lat, lon, 30000.0, np.arange(n) % 2)
    ident = encode.identity_reply(icao, np.full(n // 2, squawk))
    return list(zip(t.tolist(), pos.hex(), strict=True)) + list(
        zip((t[::2] + 0.5).tolist(), ident.hex(), strict=True))


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    frames = sorted(_flight(IL62, (11.6, -66.99), 1234) + _flight(DE_7700, PARIS, 7700))
    p = tmp_path / "capture.csv"
    p.write_text("".join(f"{t:.6f},{h}\n" for t, h in frames))
    return p


def _annotations(tmp_path: Path) -> Path:
    p = tmp_path / "notes.toml"
    p.write_text('[[aircraft]]\nicao24 = "1551e0"\nregistration = "RA-86496"\n')
    return p


def _dry_run(capsys: pytest.CaptureFixture[str], rules: Path, rec: Path,
             *extra: str) -> set[tuple[str, str, float]]:  # fmt: skip
    capsys.readouterr()
    assert main(["alerts", "test", str(rules), "--replay", str(rec), "--json", *extra]) == 0
    out = capsys.readouterr().out
    return {(a["rule_id"], a["icao24"], round(a["t"], 3))
            for a in (json.loads(ln) for ln in out.splitlines() if ln.startswith("{"))}


def _live(monkeypatch: pytest.MonkeyPatch, data_dir: Path,
          argv: list[str]) -> set[tuple[str, str, float]]:  # fmt: skip
    """Run a command with its own data directory; the alerts it queued in the outbox."""
    from tailwatch.alert.outbox import Outbox

    monkeypatch.setenv("TAILWATCH_DATA_DIR", str(data_dir))
    assert main(argv) == 0
    path = data_dir / "alerts.sqlite"
    if not path.exists():
        return set()
    with Outbox(path) as ob:
        alerts: list[Any] = ob.alerts(limit=10_000)
    return {(a.rule_id, a.icao24, round(a.t, 3)) for a in alerts}


def test_watchlist_and_squawk_rules_fire_in_replay_and_run(
    tmp_path: Path, recording: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    rules = tmp_path / "watch.toml"
    rules.write_text(WATCH)
    notes = _annotations(tmp_path)
    expected = _dry_run(capsys, rules, recording, "--annotations", str(notes))
    assert sorted((r, a) for r, a, _ in expected) == [("ra-86496-seen", "1551e0"),
                                                      ("squawk-7700", "3c6444")]
    common = ["--rules", str(rules), "--annotations", str(notes)]
    no_db = _live(monkeypatch, tmp_path / "d1", ["replay", str(recording), "-q", *common])
    assert no_db == expected
    with_db = _live(monkeypatch, tmp_path / "d2", ["replay", str(recording), "-q", "--db",
                                                   str(tmp_path / "h.duckdb"), *common])
    assert with_db == expected
    run = _live(monkeypatch, tmp_path / "d3", [
        "run", "--source", f"file://{recording}?format=hexcsv&speed=max", "--duration", "20",
        "--log-level", "ERROR", *common])
    assert run == expected


def test_position_and_event_rules_on_a_real_flight_match_the_dry_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    rules = tmp_path / "afr.toml"
    rules.write_text(AFR_RULES)
    expected = _dry_run(capsys, rules, AFR)
    assert {r for r, _, _ in expected} == {"afr-low", "afr-landing"}
    no_db = _live(monkeypatch, tmp_path / "d1", ["replay", str(AFR), "-q", "--rules",
                                                 str(rules)])
    assert no_db == expected
    with_db = _live(monkeypatch, tmp_path / "d2", ["replay", str(AFR), "-q", "--rules",
                                                   str(rules), "--db",
                                                   str(tmp_path / "h.duckdb")])
    assert with_db == expected
