"""replay/run with detection, alerts and the web view; `tailwatch serve` over the history."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tailwatch.cli.main import main

AFR = Path(__file__).parent.parent / "data" / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz"
RULES = """
[[rules]]
id = "afr-landing"
name = "393322 landed"
[rules.match]
all = [ { event = "landing" }, { icao24 = "393322" } ]
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TAILWATCH_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "rules.toml").write_text(RULES)
    return tmp_path


def test_replay_detects_stores_and_alerts(env: Path) -> None:
    db, stats = env / "h.duckdb", env / "stats.json"
    assert main(["replay", str(AFR), "--db", str(db), "--rules", str(env / "rules.toml"),
                 "-q", "--stats-json", str(stats)]) == 0
    res = json.loads(stats.read_text())
    assert res["flights"] == 1 and res["alerts"] == 1 and res["events"] >= 3
    from tailwatch.store import open_store

    store = open_store(str(db))
    try:
        flights = store.flights(icao24="393322").to_pylist()
    finally:
        store.close()
    assert [(f["origin"], f["destination"]) for f in flights] == [("LFPG", "LFBO")]
    # the alert was queued for delivery in the data directory's outbox
    assert (env / "data" / "alerts.sqlite").exists()


def test_run_from_a_file_source_detects_too(env: Path) -> None:
    db = env / "run.duckdb"
    assert main(["run", "--source", f"file://{AFR}?format=jsonl&speed=max", "--db", str(db),
                 "--duration", "30", "--log-level", "WARNING"]) == 0
    from tailwatch.store import open_store

    store = open_store(str(db))
    try:
        n = store.query("SELECT count(*) AS n FROM flights").to_pylist()[0]["n"]
    finally:
        store.close()
    assert n == 1


def test_live_session_serves_the_snapshot(env: Path) -> None:
    from tailwatch.config import load_settings
    from tailwatch.ingest.files import read_frames
    from tailwatch.live import LiveSession
    from tailwatch.pipeline import Pipeline

    session = LiveSession(load_settings(), None, web="127.0.0.1:0")
    try:
        p = Pipeline(on_snapshot=session.publish, snapshot_every_s=0.0)
        for fb in read_frames(AFR, "jsonl", batch_size=20000):
            p.process(fb)
        body = httpx.get(session.url + "/data/aircraft.json", timeout=10).json()
        assert [a["hex"] for a in body["aircraft"]] == ["393322"]
        assert body["aircraft"][0]["flight"].strip() == "AFR34ZG"
    finally:
        session.close()


def test_serve_command_answers_from_the_history(env: Path) -> None:
    db = env / "h.duckdb"
    assert main(["replay", str(AFR), "--db", str(db), "-q"]) == 0
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tailwatch.cli.main", "serve", "--db", str(db), "--port",
         str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                r = httpx.get(url + "/health", timeout=1)
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        r = httpx.get(url + "/api/flights", params={"icao24": "393322", "since": "1720224000",
                              "until": "1720310400"},
                      timeout=10)
        assert r.status_code == 200
        assert [f["destination"] for f in r.json()["flights"]] == ["LFBO"]
        assert httpx.get(url + "/", timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_run_publishes_per_source_counters_to_the_stats_endpoint(env: Path) -> None:
    """`tailwatch run --web`: /api/stats carries each source's ingest counters while it runs
    (frames, bytes, rejects), and they add up with what the pipeline decoded."""
    import asyncio
    import threading

    from tailwatch.cli.run_cmd import _main
    from tailwatch.config import load_settings
    from tailwatch.live import LiveSession

    session = LiveSession(load_settings(), None, web="127.0.0.1:0")
    seen: list[dict[str, object]] = []
    done = threading.Event()

    def poll() -> None:  # what a client of the running server sees
        while not done.is_set():
            with contextlib.suppress(httpx.HTTPError):
                body = httpx.get(session.url + "/api/stats", timeout=2).json()
                if body["ingest"]:
                    seen.append(body["ingest"])
            time.sleep(0.2)

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    try:
        outputs = {"serve_beast": [], "serve_avr": [], "serve_sbs": [], "push": [],
                   "ids": True}
        result = asyncio.run(_main([f"file://{AFR}?format=jsonl&speed=20"], None, 3.0,
                                   outputs, None, 0.0, 60.0, None, session))
    finally:
        done.set()
        t.join(timeout=5)
    assert seen, "the stats endpoint never showed ingest counters during the run"
    last = seen[-1]
    (name,) = [k for k in last if k != "(pipeline)"]
    src = last[name]
    assert isinstance(src, dict) and src["frames"] > 0 and "bytes" in src
    assert "rejects" in src and "reconnects" in src
    # at the end the state holds the final counters, equal to what the run returned
    final = session.state.ingest_counters if session.state is not None else {}
    assert final[name]["frames"] == result["sources"][0]["frames"]
    assert final["(pipeline)"]["pipeline"]["frames"] == result["pipeline"]["frames"]


def test_other_features_hook_into_a_live_session(env: Path) -> None:
    """Extra pipeline sinks, event consumers and closers (how GNSS or MLAT plug in), and a
    Receivers given to replay (a receivers file): no edit of live.py or replay needed."""
    from tailwatch.alert.rules import load_rules
    from tailwatch.cli.replay_cmd import replay_files
    from tailwatch.config import load_settings
    from tailwatch.ingest.net import Receivers
    from tailwatch.live import LiveSession

    load_rules(env / "rules.toml")  # the landing rule: events are detected without a store
    seen: dict[str, int] = {"positions": 0, "events": 0, "closed": 0}

    def sink(positions: object) -> None:
        seen["positions"] += len(positions)  # type: ignore[arg-type]

    def events(cols: dict[str, object]) -> None:
        seen["events"] += len(cols["t"])  # type: ignore[arg-type]

    session = LiveSession(load_settings(), None, rules=env / "rules.toml", sinks=[sink])
    session.add_event_consumer(events)
    session.add_closer(lambda: seen.__setitem__("closed", seen["closed"] + 1))
    receivers = Receivers()
    uid = receivers.add(AFR.name, None, (49.0, 2.5))
    res = replay_files([AFR], progress=False, session=session, receivers=receivers)
    assert seen["positions"] == res["pipeline"]["positions"] > 8000
    assert seen["events"] >= 3 and seen["closed"] == 1
    assert res["alerts"] == 1  # the landing, from the store-less detection
    assert list(receivers.names) == [uid]  # the file is the receiver given, not a new one
