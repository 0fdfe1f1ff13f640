"""Rules and alerts over HTTP (serve/rules_api.py, alert/service.py): a real server on
loopback with a token and a rules file, the live session's engine behind it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from _alert_helpers import DE_7700, IL62, doc_rule_files, rules_session, scenario, take

from tailwatch.alert.rules import load_rules
from tailwatch.config import ServeSettings
from tailwatch.live import LiveSession
from tailwatch.serve.server import ServerThread
from tailwatch.serve.state import LiveState

TOKEN = "tok-rules-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I="
RULES = doc_rule_files()["squawk-7700-near-me.toml"] + f"""
[sinks.hook]
type = "webhook"
url = "https://hooks.example.org/services/T000/B000/very-secret-path"
secret = "{SECRET}"
headers = {{ x-api-key = "header-secret" }}
"""
IL62_LANDING = {"name": "Il-62 landed at Caracas", "severity": "critical", "cooldown": "1h",
                "match": {"event": "landing", "icao24": "1551e0", "airport": "SVMI"}}


@pytest.fixture
def session(tmp_path: Path) -> Iterator[LiveSession]:
    with rules_session(tmp_path, RULES, TOKEN) as s:
        yield s


def _client(s: LiveSession, auth: bool = True) -> httpx.Client:
    return httpx.Client(base_url=s.url, headers=AUTH if auth else {}, timeout=30)


def _on_disk(s: LiveSession) -> list[str]:
    assert s.rules is not None
    return [r.id for r in load_rules(s.rules.path).rules]


# --------------------------------------------------------------------------- access


def test_every_route_needs_the_token(session: LiveSession) -> None:
    with _client(session, auth=False) as c:
        routes = [("GET", "/api/rules"), ("GET", "/api/rules/emergency-near-me"),
                  ("GET", "/api/alerts"), ("PUT", "/api/rules/x"),
                  ("DELETE", "/api/rules/emergency-near-me"), ("POST", "/api/rules/validate"),
                  ("PUT", "/api/rules")]  # fmt: skip
        for method, url in routes:
            r = c.request(method, url, json=IL62_LANDING)
            assert r.status_code == 401, (method, url)
            assert r.headers["www-authenticate"].startswith("Bearer")
            r = c.request(method, url, json=IL62_LANDING,
                          headers={"Authorization": "Bearer tok-rules-12"})
            assert r.status_code == 401, (method, url)
    assert _on_disk(session) == ["emergency-near-me"]  # nothing changed


def test_without_a_configured_token_rules_are_refused(tmp_path: Path) -> None:
    state = LiveState()
    with ServerThread(state, ServeSettings(host="127.0.0.1", port=0)) as url:
        r = httpx.get(f"{url}/api/rules", headers=AUTH)
        assert r.status_code == 403 and "no token" in r.json()["error"]


def test_a_server_without_rules_says_so(tmp_path: Path) -> None:
    state = LiveState()
    with ServerThread(state, ServeSettings(host="127.0.0.1", port=0, token=TOKEN)) as url:
        for method, path in (("GET", "/api/rules"), ("PUT", "/api/rules/x"),
                             ("GET", "/api/alerts")):
            r = httpx.request(method, f"{url}{path}", headers=AUTH, json=IL62_LANDING)
            assert r.status_code == 404 and "--rules" in r.json()["error"]


# --------------------------------------------------------------------------- editing


def test_list_add_replace_delete_change_the_file(session: LiveSession) -> None:
    with _client(session) as c:
        doc = c.get("/api/rules").json()
        assert doc["live"] is True and [r["id"] for r in doc["rules"]] == ["emergency-near-me"]
        assert doc["geofences"]["home"]["radius_nm"] == 60

        r = c.put("/api/rules/il62-svmi", json=IL62_LANDING)
        assert r.status_code == 201 and r.json()["status"] == "created"
        assert _on_disk(session) == ["emergency-near-me", "il62-svmi"]
        got = c.get("/api/rules/il62-svmi").json()
        assert got["id"] == "il62-svmi" and got["cooldown"] == 3600.0
        assert got["match"] == {"icao24": ["1551e0"], "event": ["landing"], "airport": ["SVMI"]}

        r = c.put("/api/rules/il62-svmi", json={**IL62_LANDING, "id": "il62-svmi",
                                                "severity": "warning"})
        assert r.status_code == 200 and r.json()["status"] == "replaced"
        assert load_rules(session.rules.path).rule("il62-svmi").severity == "warning"  # type: ignore[union-attr]

        assert c.delete("/api/rules/emergency-near-me").json() == {
            "status": "deleted", "id": "emergency-near-me"}
        assert _on_disk(session) == ["il62-svmi"]
        assert c.get("/api/rules/emergency-near-me").status_code == 404
        assert c.delete("/api/rules/emergency-near-me").status_code == 404

        # replace everything; sections left out (geofences, sinks) are kept
        r = c.put("/api/rules", json={"rules": [{"id": "near", "match": {
            "squawk": ["7500", "7600", "7700"], "within": "home"}}]})
        assert r.status_code == 200 and r.json() == {"status": "ok", "rules": 1}
        rs = load_rules(session.rules.path)  # type: ignore[union-attr]
        assert [x.id for x in rs.rules] == ["near"] and set(rs.sinks) == {"log", "hook"}
        assert rs.sinks["hook"].secret == SECRET  # type: ignore[union-attr]
    # the hand-written original is kept once, with its comments
    orig = session.rules.path.with_name("rules.toml.orig")  # type: ignore[union-attr]
    assert orig.read_text() == RULES


def test_secrets_are_not_shown(session: LiveSession) -> None:
    with _client(session) as c:
        r = c.get("/api/rules")
    hook = r.json()["sinks"]["hook"]
    assert hook["secret"] == "***" and hook["headers"] == {"x-api-key": "***"}
    assert hook["url"] == "https://hooks.example.org/***"
    for secret in (SECRET, "header-secret", "very-secret-path"):
        assert secret not in r.text


@pytest.mark.parametrize(
    ("body", "status", "needles"),
    [
        ({"match": {"squawk": "7800"}}, 422, ["rule bad", "match.squawk", "not a squawk"]),
        ({"match": {"within": "nowhere"}}, 422, ["rule bad", "unknown geofence"]),
        ({"match": {"squawk": "7700"}, "sinks": ["pager"]}, 422, ["unknown sink"]),
        ({"match": {"squawk": "7700"}, "cooldown": "soon"}, 422, ["cooldown", "not a duration"]),
        ({"match": {"squawk": "7700", "colour": "red"}}, 422, ["match.colour"]),
        ({"match": {}}, 422, ["empty condition"]),
        ({"id": "other", "match": {"squawk": "7700"}}, 422, ["differs"]),
        ([1, 2], 422, ["JSON object"]),
        ("not json {", 400, ["not JSON"]),
        ("", 400, ["empty"]),
    ],
)
def test_bad_rules_are_refused_with_the_reason(
    session: LiveSession, body: Any, status: int, needles: list[str]
) -> None:
    before = session.rules.path.read_bytes()  # type: ignore[union-attr]
    with _client(session) as c:
        if isinstance(body, str):
            r = c.put("/api/rules/bad", content=body.encode(),
                      headers={"content-type": "application/json"})
        else:
            r = c.put("/api/rules/bad", json=body)
    assert r.status_code == status, r.text
    for needle in needles:
        assert needle in r.json()["detail"]
    assert session.rules.path.read_bytes() == before  # type: ignore[union-attr]


def test_validate_applies_nothing(session: LiveSession) -> None:
    with _client(session) as c:
        r = c.post("/api/rules/validate", json={"id": "il62-svmi", **IL62_LANDING})
        assert r.status_code == 200 and r.json() == {"valid": True, "rules": 2}
        r = c.post("/api/rules/validate", json={"rules": [{"id": "a", "match": {
            "event": "landing", "enters": "home"}}]})
        assert r.status_code == 422 and "cannot be combined" in r.json()["detail"]
        r = c.post("/api/rules/validate", json={"rules": [
            {"id": "a", "match": {"squawk": "7700"}}, {"id": "b", "match": {"squawk": "77"}},
            {"id": "c", "match": {"squawk": "8"}}]})
        assert r.status_code == 422
        assert "rules.2.match.squawk (rule c)" in r.json()["detail"]
        assert c.get("/api/rules/il62-svmi").status_code == 404
    assert _on_disk(session) == ["emergency-near-me"]


def test_a_hand_edit_of_the_file_is_read_and_a_broken_one_blocks_edits(
    session: LiveSession,
) -> None:
    path = session.rules.path  # type: ignore[union-attr]
    path.write_text(RULES + '\n[[rules]]\nid = "by-hand"\nmatch = { squawk = "7600" }\n')
    with _client(session) as c:
        assert [r["id"] for r in c.get("/api/rules").json()["rules"]] == [
            "emergency-near-me", "by-hand"]
        path.write_text(RULES + '\n[[rules]]\nid = "by-hand"\nmatch = { squawk = "9" }\n')
        r = c.put("/api/rules/il62-svmi", json=IL62_LANDING)
        assert r.status_code == 409 and "not a squawk" in r.json()["detail"]
        assert "by-hand" in path.read_text() and "il62-svmi" not in path.read_text()
        # the engine kept the last good rules
        assert [x.id for x in session.engine.rules] == ["emergency-near-me", "by-hand"]  # type: ignore[union-attr]


# --------------------------------------------------------------------------- evaluation


def test_a_rule_added_through_the_api_fires_and_stops_after_delete(
    session: LiveSession,
) -> None:
    _, ev = scenario()
    landing = np.flatnonzero((ev["icao24"] == IL62) & (ev["type"] == "landing")
                             & (ev["airport"] == "SVMI"))  # fmt: skip
    session.on_events(ev)
    assert session.alerts == []  # no event rule yet
    with _client(session) as c:
        assert c.put("/api/rules/il62-svmi", json=IL62_LANDING).status_code == 201
        session.on_events(ev)  # what the pipeline thread calls with detected events
        assert [(a.rule_id, a.icao24, a.t) for a in session.alerts] == [
            ("il62-svmi", "1551e0", float(ev["t"][landing[0]]))]
        alerts = c.get("/api/alerts").json()["alerts"]
        assert [a["rule_id"] for a in alerts] == ["il62-svmi"]
        assert alerts[0]["evidence"]["row"]["airport"] == "SVMI"
        assert alerts[0]["deliveries"][0]["status"] == "pending"  # queued for its sinks
        assert {d["sink"] for d in alerts[0]["deliveries"]} == {"log", "hook"}
        assert c.get("/api/alerts", params={"rule": "nope"}).json() == {"alerts": []}

        assert c.delete("/api/rules/il62-svmi").status_code == 200
        later = take(ev, landing)
        later["t"] = later["t"] + 86400.0  # a new landing a day later: a new alert id
        session.on_events(later)
        assert len(session.alerts) == 1
        assert c.put("/api/rules/il62-svmi", json=IL62_LANDING).status_code == 201
        session.on_events(later)
        assert len(session.alerts) == 2


def test_cool_down_of_a_rule_survives_an_edit_unless_its_condition_changes(
    session: LiveSession,
) -> None:
    engine = session.engine
    assert engine is not None
    pos, _ = scenario()
    de = take(pos, pos["icao24"] == DE_7700)  # 7700 near Paris every 30 s for 50 min
    first, second = take(de, slice(0, 20)), take(de, slice(20, 40))  # 10 min each
    assert [a.icao24 for a in engine.evaluate_positions(first)] == [f"{DE_7700:06x}"]
    with _client(session) as c:
        assert c.put("/api/rules/il62-svmi", json=IL62_LANDING).status_code == 201
        renamed = {"name": "Mayday near me", "severity": "critical", "cooldown": "30m",
                   "match": {"squawk": "7700", "within": "home"}}
        assert c.put("/api/rules/emergency-near-me", json=renamed).status_code == 200
        assert engine.evaluate_positions(second) == []  # still within its 30 min
        assert engine.rules[0].title == "Mayday near me"
        changed = {**renamed, "match": {"squawk": ["7700", "7600"], "within": "home"}}
        assert c.put("/api/rules/emergency-near-me", json=changed).status_code == 200
    third = take(de, slice(40, 60))
    fired = engine.evaluate_positions(third)  # a new condition starts afresh
    assert [(a.rule_name, a.t) for a in fired] == [("Mayday near me", float(third["t"][0]))]


def test_editing_while_the_pipeline_evaluates(session: LiveSession) -> None:
    engine = session.engine
    assert engine is not None
    pos, ev = scenario()
    errors: list[BaseException] = []
    stop = threading.Event()
    batches = 0

    def pipeline() -> None:
        nonlocal batches
        k = 0
        try:
            while not stop.is_set():
                shift = 86400.0 * k  # fresh times: new alert ids each round
                p = {**pos, "t": pos["t"] + shift}
                e = {**ev, "t": ev["t"] + shift}
                engine.evaluate_positions(take(p, slice(0, 150)))
                session.on_events(e)
                engine.evaluate_positions(take(p, slice(150, None)))
                k += 1
                batches += 1
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=pipeline)
    t.start()
    try:
        with _client(session) as c:
            for i in range(15):
                body = {**IL62_LANDING, "name": f"edit {i}"}
                assert c.put("/api/rules/il62-svmi", json=body).status_code in (200, 201)
                assert c.put(f"/api/rules/tmp-{i}", json={"match": {
                    "enters": {"lat": 48.8566, "lon": 2.3522, "radius_nm": 30}}}).status_code == 201
                assert c.delete(f"/api/rules/tmp-{i - 1}" if i else "/api/rules/x").status_code \
                    == (200 if i else 404)
    finally:
        stop.set()
        t.join()
    assert errors == [] and batches >= 1
    assert _on_disk(session) == ["emergency-near-me", "il62-svmi", "tmp-14"]
    assert [r.id for r in engine.rules] == ["emergency-near-me", "il62-svmi", "tmp-14"]
    assert {a.rule_id for a in session.alerts} <= {"il62-svmi"}
