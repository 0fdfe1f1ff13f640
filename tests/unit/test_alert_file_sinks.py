"""File sinks write only inside the file sink directory (``alerts.file_sink_dir``, default
alerts/ in the data directory): in rules files, at delivery, and through the rules API."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _alert_helpers import doc_rule_files, rules_session

from tailwatch.alert.model import Alert
from tailwatch.alert.rules import load_rules
from tailwatch.alert.settings import AlertSettings
from tailwatch.alert.sinks import DeliveryError, FileSink, build_sinks, file_sink_path
from tailwatch.core.errors import ConfigError
from tailwatch.live import LiveSession

TOKEN = "tok-file-sinks-1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RULES = doc_rule_files()["squawk-7700-near-me.toml"]


def test_paths_inside_the_directory_only(tmp_path: Path) -> None:
    base = tmp_path / "sinks"
    base.mkdir()
    assert file_sink_path("alerts.jsonl", base) == (base / "alerts.jsonl").resolve()
    assert file_sink_path("team/a.jsonl", base) == (base / "team" / "a.jsonl").resolve()
    assert file_sink_path(str(base / "b.jsonl"), base) == (base / "b.jsonl").resolve()
    for bad in ("/etc/cron.d/x", "../escape.jsonl", "team/../../escape.jsonl", ".", str(base),
                str(tmp_path / "sinks2" / "x.jsonl")):
        with pytest.raises(ConfigError, match="outside the file sink directory"):
            file_sink_path(bad, base)
    (base / "out").symlink_to(tmp_path)  # a link leading out of the directory
    with pytest.raises(ConfigError):
        file_sink_path("out/x.jsonl", base)


def test_rules_files_and_delivery_are_checked(tmp_path: Path) -> None:
    rules = load_rules(RULES + '\n[sinks.f]\ntype = "file"\npath = "/tmp/anywhere.jsonl"\n')
    with pytest.raises(ConfigError, match="file sink 'f'"):
        build_sinks(rules, AlertSettings(), tmp_path / "data")
    ok = load_rules(RULES + '\n[sinks.f]\ntype = "file"\npath = "alerts.jsonl"\n')
    sink = build_sinks(ok, AlertSettings(), tmp_path / "data")["f"]
    assert isinstance(sink, FileSink)
    assert sink.path == (tmp_path / "data" / "alerts" / "alerts.jsonl").resolve()
    custom = AlertSettings(file_sink_dir=str(tmp_path / "mine"))
    sink = build_sinks(ok, custom, tmp_path / "data")["f"]
    assert sink.path == (tmp_path / "mine" / "alerts.jsonl").resolve()
    # a link swapped in after the check is refused at delivery, for good
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "alerts.jsonl").symlink_to(tmp_path / "victim.jsonl")
    alert = Alert(id="a1", rule_id="r", rule_name="r", severity="info", kind="position",
                  t=0.0, icao24="3c6444",
                  what="position", evidence={})
    with pytest.raises(DeliveryError) as e:
        sink.send(alert)
    assert e.value.permanent and not (tmp_path / "victim.jsonl").exists()


@pytest.fixture
def session(tmp_path: Path) -> Iterator[LiveSession]:
    with rules_session(tmp_path, RULES, TOKEN) as s:
        yield s


def test_the_rules_api_refuses_a_file_sink_outside(session: LiveSession,
                                                   tmp_path: Path) -> None:
    outside = {"sinks": {"f": {"type": "file", "path": str(tmp_path / "x.jsonl")}}}
    inside = {"sinks": {"f": {"type": "file", "path": "x.jsonl"}}}
    with httpx.Client(base_url=session.url, headers=AUTH, timeout=30) as c:
        for route, method in (("/api/rules/validate", "POST"), ("/api/rules", "PUT")):
            r = c.request(method, route, json=outside)
            assert r.status_code in (400, 422), (route, r.status_code, r.text)
            assert "outside the file sink directory" in r.text
        assert session.rules is not None
        assert "f" not in load_rules(session.rules.path).sinks  # nothing was saved
        r = c.put("/api/rules", json=inside)
        assert r.status_code == 200, r.text
    assert "f" in load_rules(session.rules.path).sinks
    assert not os.path.exists(tmp_path / "x.jsonl")


def test_alerts_check_names_a_file_sink_outside(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from tailwatch.cli.main import main

    rules = tmp_path / "r.toml"
    rules.write_text(RULES + '\n[sinks.f]\ntype = "file"\npath = "../../x.jsonl"\n')
    assert main(["alerts", "check", str(rules)]) == 1
    assert "outside the file sink directory" in " ".join(capsys.readouterr().err.split())
