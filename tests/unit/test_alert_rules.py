"""Alert rules: the documented examples load as written, TOML/YAML/JSON agree, YAML pitfalls
are defused, and bad rules are refused with a useful message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _alert_helpers import write_doc_rules

from tailwatch.alert.rules import Rule, RuleSet, load_rules, parse_duration_s
from tailwatch.core.errors import ConfigError


def test_docs_show_the_three_examples_and_they_load(tmp_path: Path) -> None:
    files = write_doc_rules(tmp_path)
    assert set(files) == {
        "watch-ra-86496.yaml", "russian-military-latam.yaml", "squawk-7700-near-me.toml"
    }  # fmt: skip
    watch = load_rules(files["watch-ra-86496.yaml"])
    (r,) = watch.rules
    assert r.effective_stream == "positions" and r.cooldown_s == 6 * 3600
    assert watch.sinks_of(r) == ["phone"]

    latam = load_rules(files["russian-military-latam.yaml"])
    (r,) = latam.rules
    assert r.effective_stream == "events"
    assert r.match.event == ["landing", "stopover", "inferred_stop"]
    assert r.match.military is True
    assert "VE" in (r.match.airport_country or []) and "CU" in (r.match.airport_country or [])

    near = load_rules(files["squawk-7700-near-me.toml"])
    (r,) = near.rules
    assert r.effective_stream == "positions" and r.cooldown_s == 1800
    assert r.match.squawk == [7700] and r.match.within == "home"
    assert near.geofences["home"].radius_m == pytest.approx(60 * 1852)


def test_toml_yaml_json_give_the_same_rules(tmp_path: Path) -> None:
    yaml_text = """
geofences:
  caracas: {airport: svmi, radius_nm: 30}
rules:
  - id: r1
    cooldown: 90
    match:
      all:
        - {callsign: "RFF*"}
        - any: [{enters: caracas}, {squawk: ["7500", "7700"]}]
      not: {on_ground: true}
"""
    toml_text = """
[geofences.caracas]
airport = "svmi"
radius_nm = 30

[[rules]]
id = "r1"
cooldown = 90
[rules.match]
all = [{callsign = "RFF*"}, {any = [{enters = "caracas"}, {squawk = ["7500", "7700"]}]}]
not = {on_ground = true}
"""
    a = load_rules(yaml_text)
    b = load_rules(toml_text)
    c = load_rules(json.dumps(a.model_dump(mode="json", by_alias=True, exclude_none=True)))
    dumps = [x.model_dump(mode="json", by_alias=True, exclude_none=True) for x in (a, b, c)]
    assert dumps[0] == dumps[1] == dumps[2]
    assert a.geofences["caracas"].airport == "SVMI"
    # a file path as a string, by extension
    p = tmp_path / "r.toml"
    p.write_text(toml_text)
    assert load_rules(str(p)).model_dump() == b.model_dump()


def test_yaml_12_scalars_norway_octal_and_clock_times() -> None:
    rs = load_rules("""
rules:
  - id: a
    match:
      country: NO
      squawk: 0700
      time: {daily: {start: 22:00, end: 06:30}}
  - id: b
    match: {icao24: "0a1b2c", military: true}
""")
    a, b = rs.rules
    assert a.match.country == ["NO"]  # Norway, not False
    assert a.match.squawk == [700]  # code 0700, not octal 448
    daily = a.match.time.daily if a.match.time else None
    assert daily is not None and (daily.start.hour, daily.end.minute) == (22, 30)
    assert b.match.icao24 == [0x0A1B2C] and b.match.military is True
    dumped = a.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert dumped["match"]["squawk"] == ["0700"]


def test_event_type_aliases() -> None:
    r = Rule.model_validate(
        {"id": "x", "match": {"event": ["Take-off", "inferred stop", "LANDING"]}}
    )
    assert r.match.event == ["takeoff", "inferred_stop", "landing"]
    assert r.effective_stream == "events"


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"rules": [{"id": "x", "match": {}}]}, "empty condition"),
        ({"rules": [{"id": "x", "match": {"squawk": "7800"}}]}, "not a squawk"),
        ({"rules": [{"id": "x", "match": {"event": "crash"}}]}, "unknown event type"),
        ({"rules": [{"id": "x", "match": {"country": False}}]}, "quote the value"),
        ({"rules": [{"id": "x", "match": {"icao24": 1551}}]}, "hex string"),
        ({"rules": [{"id": "x", "match": {"callsign": {"regex": "(("}}}]}, "regular expression"),
        ({"rules": [{"id": "x", "match": {"within": "nowhere"}}]}, "unknown geofence"),
        ({"rules": [{"id": "x", "match": {"within": {"airport": "ZZZZ", "radius_nm": 5}}}]},
         "unknown airport"),
        ({"rules": [{"id": "x", "match": {"within": {"lat": 1, "lon": 2}}}]}, "radius"),
        ({"rules": [{"id": "x", "match": {"within": {"polygon": [[0, 0], [1, 1]]}}}]},
         "3 vertices"),
        ({"rules": [{"id": "x", "match": {"event": "landing", "enters": {"lat": 0, "lon": 0,
                                                                         "radius_nm": 1}}}]},
         "cannot be combined"),
        ({"rules": [{"id": "x", "stream": "events", "match": {"on_ground": True}}]},
         "only apply to positions"),
        ({"rules": [{"id": "x", "match": {"squawk": "7700"}},
                    {"id": "x", "match": {"squawk": "7600"}}]}, "duplicate rule id"),
        ({"rules": [{"id": "x", "sinks": ["nope"], "match": {"squawk": "7700"}}]},
         "unknown sink"),
        ({"rules": [{"id": "x", "cooldown": "soon", "match": {"squawk": "7700"}}]},
         "not a duration"),
        ({"rules": [{"id": "x", "match": {"squawk": "7700", "colour": "red"}}]},
         "colour"),
        ({"sinks": {"h": {"type": "webhook", "url": "ftp://x/", "secret": "whsec_x"}}},
         "http(s)"),
        ({"sinks": {"h": {"type": "webhook", "url": "https://x/", "secret": "abc"}}},
         "whsec_"),
        ({"rules": [{"id": "x", "match": {"time": {"tz": "Mars/Olympus"}}}]},
         "unknown time zone"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(doc: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_rules(json.dumps(doc))
    assert needle in str(e.value)


def test_unparseable_text_names_both_formats() -> None:
    with pytest.raises(ConfigError, match="neither TOML nor YAML"):
        load_rules("rules: [\n  - id: x\n  oops: [")


def test_durations() -> None:
    assert parse_duration_s("90") == 90
    assert parse_duration_s("30m") == 1800
    assert parse_duration_s("6h") == 21600
    assert parse_duration_s("1.5d") == 129600
    assert parse_duration_s(0) == 0
    with pytest.raises(ValueError):
        parse_duration_s(-1)


def test_ruleset_from_a_bare_list_and_sink_defaults() -> None:
    rs = load_rules('[{"id": "a", "match": {"squawk": "7700"}}]')
    assert isinstance(rs, RuleSet) and rs.rules[0].id == "a"
    rs = load_rules("""
sinks:
  one: {type: console}
  two: {type: log}
rules:
  - {id: a, match: {squawk: "7700"}}
  - {id: b, sinks: [two], match: {squawk: "7600"}}
""")
    assert rs.sinks_of(rs.rule("a")) == ["one", "two"]
    assert rs.sinks_of(rs.rule("b")) == ["two"]


def test_docs_list_every_alert_setting_with_its_default() -> None:
    from tailwatch.alert.settings import AlertSettings

    text = (Path(__file__).parents[2] / "docs" / "alerts.md").read_text()
    for name, f in AlertSettings.model_fields.items():
        d = f.default
        shown = (str(d).lower() if isinstance(d, bool) else json.dumps(d) if isinstance(d, str)
                 else f"{d:g}")  # fmt: skip
        assert f"| `alerts.{name}` | `{shown}` |" in text, name
