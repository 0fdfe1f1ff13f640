"""RuleService without a server: writing rules files back (TOML, YAML, JSON), atomically,
and a service with no engine (``tailwatch serve --rules``)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from _alert_helpers import doc_ruleset, write_doc_rules

from tailwatch.alert.rules import load_rules, rules_from_data
from tailwatch.alert.rules_out import dump_rules, file_format
from tailwatch.alert.service import RuleService
from tailwatch.core.errors import ConfigError

TRICKY = {
    "geofences": {
        "strait": {"polygon": [[26.9, 55.8], [27.2, 56.9], [26.2, 57.1], [25.9, 56.1]]},
        "home": {"lat": 48.8566, "lon": 2.3522, "radius_km": 100},
    },
    "sinks": {"w": {"type": "webhook", "url": 'https://x.example/h?a="b"',
                    "secret": "whsec_" + "A" * 44, "headers": {"x a": 'q\\"\n\x7f'}}},
    "rules": [
        {"id": "t", "name": "Ünïcode ✈ \t", "cooldown": "30m", "tags": ["a", "b"],
         "match": {"all": [{"country": "NO"}, {"squawk": "0700"},
                           {"callsign": {"regex": "^RSD\\d+$"}}],
                   "not": {"within": "strait"},
                   "time": {"after": "2025-03-01T00:00:00Z",
                            "daily": {"start": "22:00", "end": "06:00"},
                            "weekdays": ["sat"], "tz": "Europe/Paris"}}},
        {"id": "u", "enabled": False, "stream": "positions",
         "match": {"military": False, "enters": "home", "altitude_ft": {"max": 10000}}},
        {"id": "v", "match": {"event": ["landing", "stopover"], "airport": "SV*"}},
    ],
}  # fmt: skip


@pytest.mark.parametrize("fmt", ["toml", "yaml", "json"])
def test_written_rules_read_back_the_same(tmp_path: Path, fmt: str) -> None:
    for rs in (doc_ruleset(tmp_path), rules_from_data(TRICKY)):
        text = dump_rules(rs, fmt)  # type: ignore[arg-type]
        assert load_rules(text, format=fmt) == rs, text  # type: ignore[arg-type]


def test_toml_is_written_readably(tmp_path: Path) -> None:
    text = dump_rules(doc_ruleset(tmp_path), "toml")
    assert "[[rules]]\nid = \"emergency-near-me\"" in text
    assert '[rules.match]\nsquawk = ["7700"]\nwithin = "home"' in text
    assert "[geofences.home]" in text and "[geofences]\n" not in text


@pytest.mark.parametrize("name", ["watch-ra-86496.yaml", "russian-military-latam.yaml",
                                  "squawk-7700-near-me.toml"])
def test_a_file_keeps_its_format_and_permissions(tmp_path: Path, name: str) -> None:
    path = write_doc_rules(tmp_path)[name]
    path.chmod(0o640)
    svc = RuleService.open(path)
    svc.put("extra", {"match": {"squawk": "7500"}, "cooldown": "5m"})
    rs = load_rules(path, format=file_format(path))  # the same format as before
    assert [r.id for r in rs.rules][-1] == "extra" and rs.rule("extra").cooldown_s == 300
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left
    assert path.with_name(name + ".orig").exists()


def test_a_service_without_engine_creates_the_file(tmp_path: Path) -> None:
    path = tmp_path / "new.toml"
    with pytest.raises(ConfigError, match="no such file"):
        RuleService.open(path)
    svc = RuleService.open(path, missing_ok=True, outbox=tmp_path / "alerts.sqlite")
    assert not svc.live and svc.rules() == [] and svc.alerts() == []
    with pytest.raises(ConfigError, match="unknown airport"):
        svc.put("caracas", {"match": {"within": {"airport": "ZZZZ", "radius_nm": 5}}})
    assert not path.exists()
    rule, created = svc.put("caracas", {"match": {"within": {"airport": "SVMI",
                                                             "radius_nm": 5}}})
    assert created and rule.id == "caracas"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # new files hold secrets: owner only
    assert [r.id for r in load_rules(path).rules] == ["caracas"]
    with pytest.raises(KeyError):
        svc.delete("nope")
    svc.delete("caracas")
    assert load_rules(path).rules == []
    svc.close()
