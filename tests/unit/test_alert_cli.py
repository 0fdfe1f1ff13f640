"""``tailwatch alerts``: a dry run on an encoded recording fires exactly the expected position
alerts; event rules run on an events file; check, enqueue, deliver and list work end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from _alert_helpers import IL62, PARIS, T0, write_doc_rules
from typer.testing import CliRunner

from tailwatch import encode
from tailwatch.cli.alerts_cmd import register
from tailwatch.reference.airports import airport
from tailwatch.reference.geo import destination_deg

DE_7700, FR_7600, ES_7700 = 0x3C6444, 0x3C4B26, 0x4CA123


def app() -> typer.Typer:
    a = typer.Typer()
    register(a)

    @a.callback()
    def _root() -> None:
        """test app"""

    return a


def flight(icao: int, start: tuple[float, float], squawk: int, n: int = 40,
           t0: float = T0) -> list[tuple[float, str]]:  # fmt: skip
    """(time, hex) frames: airborne positions every second (even/odd) and an identity reply
    with the squawk every 2 s, flying north at about 400 kt."""
    t = t0 + np.arange(n, dtype=np.float64)
    lat, lon = destination_deg(start[0], start[1], 0.0, 200.0 * (t - t0))
    pos = encode.airborne_position(icao, lat, lon, 30000.0, np.arange(n) % 2)
    ident = encode.identity_reply(icao, np.full(n // 2, squawk))
    return list(zip(t.tolist(), pos.hex(), strict=True)) + list(
        zip((t[::2] + 0.5).tolist(), ident.hex(), strict=True)
    )


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    svmi = airport("SVMI")
    frames = (
        flight(IL62, (svmi.lat_deg + 1.0, svmi.lon_deg), 1234)
        + flight(DE_7700, tuple(destination_deg(*PARIS, 90.0, 20 * 1852.0)), 7700)
        + flight(FR_7600, PARIS, 7600)
        + flight(ES_7700, (40.47, -3.56), 7700)  # Madrid: 7700 but far away
    )
    frames.sort()
    p = tmp_path / "capture.csv"
    p.write_text("".join(f"{t:.6f},{h}\n" for t, h in frames))
    return p


def test_dry_run_on_a_recording_fires_the_expected_alerts(
    tmp_path: Path, recording: Path
) -> None:
    docs = write_doc_rules(tmp_path)
    runner = CliRunner()
    fired = []
    for name in ("watch-ra-86496.yaml", "squawk-7700-near-me.toml",
                 "russian-military-latam.yaml"):  # fmt: skip
        res = runner.invoke(app(), ["alerts", "test", str(docs[name]), "--replay",
                                    str(recording), "--json"])  # fmt: skip
        assert res.exit_code == 0, res.output
        fired += [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
        if name == "russian-military-latam.yaml":
            # no landing in the recording; the CLI says whether a detector ran (the
            # product's detector, the compiled one)
            assert "events detected by" in res.stderr
            assert "CompiledDetector" in res.stderr
    assert sorted((a["rule_id"], a["icao24"]) for a in fired) == [
        ("emergency-near-me", "3c6444"),
        ("ra-86496-seen", "1551e0"),
    ]
    sq = next(a for a in fired if a["rule_id"] == "emergency-near-me")
    assert sq["evidence"]["row"]["squawk"] == "7700"
    assert abs(sq["t"] - T0) < 5.0
    lat, lon = sq["evidence"]["row"]["lat"], sq["evidence"]["row"]["lon"]
    assert abs(lat - PARIS[0]) < 0.2 and abs(lon - PARIS[1] - 0.5) < 0.1  # 20 NM east
    ra = next(a for a in fired if a["rule_id"] == "ra-86496-seen")
    assert ra["evidence"]["aircraft"]["registration"] == "RA-86496"


def test_event_rules_on_an_events_file_enqueue_deliver_and_list(tmp_path: Path) -> None:
    docs = write_doc_rules(tmp_path)
    latam = docs["russian-military-latam.yaml"].read_text()
    rules = tmp_path / "latam.yaml"
    out = tmp_path / "alerts.jsonl"
    # the documented rule, delivered to a file sink instead of the webhook
    rules.write_text(latam.replace(
        "sinks:\n  newsroom:\n    type: webhook\n"
        "    url: https://hooks.example.org/tailwatch\n"
        "    secret_env: TAILWATCH_WEBHOOK_SECRET     # whsec_... (Standard Webhooks)\n",
        f"sinks:\n  newsroom: {{type: file, path: '{out}'}}\n",
    ))  # fmt: skip
    annotations = tmp_path / "notes.toml"
    annotations.write_text('[[aircraft]]\nicao24 = "1551e0"\nmilitary = true\n'
                           'typecode = "IL62"\n')  # fmt: skip
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in [
        {"t": T0, "icao24": "1551e0", "type": "landing", "airport": "SVMI",
         "flight_id": "f1", "lat": 10.6, "lon": -67.0, "details": {}},
        {"t": "2025-06-15T18:00:00Z", "icao24": "1551e0", "type": "takeoff", "airport": "SVMI",
         "flight_id": "f1", "details": {}},
        {"t": T0 + 60, "icao24": "155001", "type": "landing", "airport": "MUHA",
         "flight_id": "f2", "details": {}},
    ]))  # fmt: skip
    runner = CliRunner(env={"XDG_CONFIG_HOME": str(tmp_path / "cfg"),
                            "XDG_DATA_HOME": str(tmp_path / "share"),
                            "TAILWATCH_ALERTS__FILE_SINK_DIR": str(tmp_path)})  # fmt: skip
    res = runner.invoke(app(), ["alerts", "check", str(rules)])
    assert res.exit_code == 0 and "ru-mil-latam: events" in res.stdout, res.output
    args = ["alerts", "test", str(rules), "--events", str(events), "--annotations",
            str(annotations), "--enqueue"]  # fmt: skip
    res = runner.invoke(app(), args)
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.stdout.splitlines() if "ru-mil-latam" in ln]
    assert len(lines) == 1 and "1551e0" in lines[0] and "SVMI" in lines[0]
    assert "queued 1 new alert" in res.stderr
    res = runner.invoke(app(), args)  # the same again: nothing new
    assert "queued 0 new alert" in res.stderr
    assert not out.exists()
    res = runner.invoke(app(), ["alerts", "deliver", str(rules), "--until-idle"])
    assert res.exit_code == 0, res.output
    (delivered,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert delivered["what"] == "landing" and delivered["evidence"]["aircraft"]["military"]
    res = runner.invoke(app(), ["alerts", "list"])
    assert "ru-mil-latam" in res.stdout and "newsroom delivered" in res.stdout


def test_usage_errors() -> None:
    runner = CliRunner()
    res = runner.invoke(app(), ["alerts", "test", "/no/such/rules.yaml"])
    assert res.exit_code != 0
