"""GNSS monitoring inside the live session (run/replay): the simulator's baltic_gnss
scenario through a LiveSession's sinks stores the hexagons and the gnss events, and the event
rules see them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tailwatch.config import load_settings
from tailwatch.live import LiveSession
from tailwatch.pipeline import Pipeline
from tailwatch.simulate import load_scenario, simulate

RULES = """
[geofences.gotland_se]
lat = 55.6
lon = 20.3
radius_nm = 150

[geofences.stockholm]
lat = 59.65
lon = 17.92
radius_nm = 40

[[rules]]
id = "spoofed"
name = "GNSS spoofing"
[rules.match]
event = "gnss_spoofing"

[[rules]]
id = "jammed-zone"
name = "GNSS interference high south-east of Gotland"
[rules.match]
all = [ { within = "gotland_se" }, { gnss_level = "high" } ]

[[rules]]
id = "stockholm-gnss"
name = "GNSS interference near Stockholm"
[rules.match]
all = [ { within = "stockholm" }, { gnss_level = "low" } ]

[[rules]]
id = "stockholm-any"
name = "Anything near Stockholm"
[rules.match]
within = "stockholm"
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("gnss_live")
    mp = pytest.MonkeyPatch()
    mp.setenv("TAILWATCH_DATA_DIR", str(tmp / "data"))
    mp.setenv("TAILWATCH_CONFIG", str(tmp / "config.toml"))
    (tmp / "config.toml").write_text("")
    (tmp / "rules.toml").write_text(RULES)
    from tailwatch.store import open_store

    store = open_store(str(tmp / "h.duckdb"))
    sim = simulate(load_scenario("baltic_gnss"))
    session = LiveSession(load_settings(), store, detect=False, rules=tmp / "rules.toml")
    pipe = Pipeline(sinks=session.sinks, on_snapshot=session.publish)
    n = len(sim.frames)
    for lo in range(0, n, 20_000):
        pipe.process(sim.frames.take(np.arange(lo, min(n, lo + 20_000))))
        session.publish(pipe.tracker.snapshot())
    session.close()
    try:
        events = store.events().to_pylist()
        cells = store.query("SELECT count(*) AS n FROM gnss_cells").to_pylist()[0]["n"]
    finally:
        store.close()
        mp.undo()
    return {"sim": sim, "session": session, "events": events, "cells": cells}


def test_live_session_stores_gnss_events_and_cells(run: dict[str, Any]) -> None:
    kinds = {e["type"] for e in run["events"]}
    assert {"gnss_jamming", "gnss_spoofing"} <= kinds
    spoofed = {int(e["icao24"], 16) for e in run["events"] if e["type"] == "gnss_spoofing"}
    truth = {e.icao24 for e in run["sim"].episodes if e.kind == "spoofing"}
    assert spoofed == truth
    assert run["cells"] > 0


def test_gnss_events_reach_the_event_rules(run: dict[str, Any]) -> None:
    fired = {a.icao24 for a in run["session"].alerts if a.rule_id == "spoofed"}
    truth = {f"{e.icao24:06x}" for e in run["sim"].episodes if e.kind == "spoofing"}
    assert fired == truth


def test_gnss_level_within_a_geofence(run: dict[str, Any]) -> None:
    def fired(rule: str) -> set[str]:
        return {a.icao24 for a in run["session"].alerts if a.rule_id == rule}

    # aircraft flying through the jamming zone once its hexagons are high
    jammed = {f"{e.icao24:06x}" for e in run["sim"].episodes if e.kind == "jamming"}
    assert len(fired("jammed-zone")) >= 3
    assert len(fired("jammed-zone") & jammed) >= 3
    # traffic near Stockholm, far from every zone: no GNSS level there
    assert fired("stockholm-any")
    assert not fired("stockholm-gnss")


def test_gnss_level_takes_low_or_high_only() -> None:
    from tailwatch.alert.rules import Condition

    assert Condition.model_validate({"gnss_level": "high"}).gnss_level == "high"
    with pytest.raises(ValueError):
        Condition.model_validate({"gnss_level": "none"})
